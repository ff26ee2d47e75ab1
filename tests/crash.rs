//! Crash safety: a build killed with SIGKILL halfway leaves the previous library whole, and the
//! next start serves (tests that really kill a child process).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use articlebot::library::{Library, NoProgress, OpenMode};

use crate::util::{bin, run, Fixture};

/// Writes `n` generated articles of a few hundred words each.
fn generate(f: &Fixture, n: usize) {
    let words = [
        "river", "garden", "battery", "ledger", "harbour", "lantern", "meadow", "copper", "signal",
        "orchard", "glacier", "compass", "thimble", "quarry", "saddle", "beacon",
    ];
    for i in 0..n {
        let mut body = format!("# Generated Article {i}\n\n");
        for p in 0..6 {
            body.push_str(&format!("## Part {p}\n\n"));
            for s in 0..5 {
                let sentence: Vec<&str> = (0..10)
                    .map(|k| words[(i * 7 + p * 5 + s * 3 + k * 11) % words.len()])
                    .collect();
                body.push_str(&format!(
                    "Sentence {s} of article {i}: {}.\n",
                    sentence.join(" ")
                ));
            }
            body.push('\n');
        }
        f.write(&format!("gen/a{i:05}.md"), &body);
    }
}

/// A staging folder of the index (`.index.building-…`), if one exists.
fn staging(dir: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".index.building-"))
        })
}

/// Starts `index --rebuild` and kills it with SIGKILL as soon as its staging folder appears.
/// Returns whether it was killed mid-build (false when the build finished first).
fn kill_mid_build(f: &Fixture) -> bool {
    let mut child = bin()
        .current_dir(f.dir.path())
        .args(["index", "--rebuild"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A hang guard only: the build of the generated collection takes seconds.
    let start = Instant::now();
    loop {
        if staging(f.dir.path()).is_some() {
            child.kill().unwrap(); // SIGKILL on Unix
            let status = child.wait().unwrap();
            // Killed (no exit code) and its half-built folder is still there.
            return status.code().is_none() && staging(f.dir.path()).is_some();
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the build neither started nor ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_build_killed_halfway_leaves_the_previous_library_whole() {
    let f = Fixture::standard();
    f.config("");
    let (code, _, err) = run(f.dir.path(), &["index"]);
    assert_eq!(code, 0, "{err}");
    let manifest = std::fs::read(f.dir.path().join("index/manifest.json")).unwrap();

    // A larger collection takes the next build long enough to be killed halfway; grow it
    // until the kill lands mid-build.
    let mut n = 500;
    let mut killed = false;
    for _ in 0..4 {
        generate(&f, n);
        if kill_mid_build(&f) {
            killed = true;
            break;
        }
        n *= 2;
    }
    assert!(killed, "no build could be killed halfway ({n} articles)");

    // The previous library is untouched...
    assert_eq!(
        std::fs::read(f.dir.path().join("index/manifest.json")).unwrap(),
        manifest
    );
    // ...and the next start serves from a whole library: the content changed, so it builds
    // the new one beside the leftover staging folder and answers from it.
    let (code, out, err) = run(
        f.dir.path(),
        &["--json", "ask", "compost", "greens", "browns"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("guides-composting"), "{out}");
    let (code, out, err) = run(f.dir.path(), &["--json", "index"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"reused\":true"), "{out}");
    let lib = Library::open(&f.persisted(), OpenMode::Reuse, &NoProgress).unwrap();
    assert_eq!(lib.articles.len(), 4 + n);
    assert!(lib.by_slug("gen-a00000").is_some());
}
