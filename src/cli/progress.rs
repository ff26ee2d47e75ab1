//! The terminal's view of a library build: an indicatif bar on stderr, drawn only for builds
//! long enough to need one and only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::library::BuildProgress;

/// Builds with fewer steps than this finish in well under a second: a bar would only flicker.
const MIN_STEPS: u64 = 400;

/// A progress bar on stderr, made when the build starts (its length is known only then).
#[derive(Debug, Default)]
pub struct Bar {
    hidden: bool,
    bar: OnceLock<indicatif::ProgressBar>,
}

impl Bar {
    /// A bar, or none at all when `hidden` (e.g. `--json` output, where stderr is for logs).
    pub fn new(hidden: bool) -> Bar {
        Bar {
            hidden,
            bar: OnceLock::new(),
        }
    }
}

impl BuildProgress for Bar {
    fn start(&self, total: u64) {
        let bar = if self.hidden || total < MIN_STEPS || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} ({eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message("reading");
            bar
        };
        // A second build through the same bar keeps the first one's length: harmless.
        let _ = self.bar.set(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.get() {
            bar.inc(n);
            // The first half of the steps reads the files, the second indexes them.
            if bar.length().is_some_and(|len| bar.position() * 2 >= len) {
                bar.set_message("indexing");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
