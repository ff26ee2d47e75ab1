//! A Markdown article with TOML front matter, parsed as a file of `content/` is: any text is
//! either an article or a warning naming why, never a panic, a hang or a blow-up.

#![no_main]

use std::path::Path;

use articlebot::content::{self, Format};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // The loader rejects a file that is not UTF-8 before parsing; lossy text reaches the
    // parser with the rest of the bytes' structure intact.
    let text = String::from_utf8_lossy(data);
    common::article(Path::new("fuzz.md"), Format::Markdown, &text);
    let _ = content::check_url(&text);
});
