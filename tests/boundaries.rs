//! Boundaries ARCHITECTURE.md states, enforced on the source: only `index` names tantivy, and
//! only the command line draws on a terminal (indicatif).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as paths relative to the crate root with `/` separators.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}

/// `file:line` of every line of code (comments aside) under `src/` that uses the crate
/// `crate_name`, outside the files `allowed` accepts.
fn naming(crate_name: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &root.join("src"), &mut files);
    assert!(files.len() > 20, "src/ was found: {files:?}");
    let path_use = format!("{crate_name}::");
    let mut out = Vec::new();
    for (rel, path) in files {
        if allowed(&rel) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // A path into the crate (`tantivy::…`), or the crate itself brought in by `use` or
            // `extern crate` (a folder named "tantivy" in a string is no use of it).
            let mut words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let brought_in = (code.starts_with("use ") || code.starts_with("extern crate "))
                && code
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == crate_name);
            if brought_in || words.any(|w| w.starts_with(&path_use)) {
                out.push(format!("{rel}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn only_index_names_tantivy() {
    let outside = naming("tantivy", |rel| {
        rel == "src/index.rs" || rel.starts_with("src/index/")
    });
    assert!(
        outside.is_empty(),
        "tantivy outside src/index:\n{}",
        outside.join("\n")
    );
}

#[test]
fn only_the_command_line_draws_progress_bars() {
    let outside = naming("indicatif", |rel| {
        rel == "src/cli.rs" || rel.starts_with("src/cli/")
    });
    assert!(
        outside.is_empty(),
        "indicatif outside src/cli:\n{}",
        outside.join("\n")
    );
}

#[test]
fn the_checks_see_a_violation() {
    // The scan itself finds a use: `index` names tantivy, so with no file allowed it is found.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("src/index.rs")).unwrap();
    assert!(text.contains("use tantivy::"));
    assert!(!naming("tantivy", |_| false).is_empty());
}
