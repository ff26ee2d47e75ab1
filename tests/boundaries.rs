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

/// The file a module path names: `src/a/b.rs` or `src/a/b/mod.rs` (`src/lib.rs` for none),
/// for the longest prefix of `path` that is a file.
fn file_of(files: &std::collections::HashSet<String>, path: &[&str]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let stem = path[..n].join("/");
        [format!("src/{stem}.rs"), format!("src/{stem}/mod.rs")]
            .into_iter()
            .find(|f| files.contains(f))
    })
}

/// The module path of a source file: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// No two files of `src/` import each other, directly or through others (`crate::` and
/// `super::` paths in code, comments aside; binaries under `src/bin/` and the crate root
/// aside). A cycle is how layers stop being layers.
#[test]
fn no_import_cycles_among_source_files() {
    use std::collections::{BTreeMap, BTreeSet, HashSet};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &root.join("src"), &mut files);
    files.retain(|(rel, _)| {
        !rel.starts_with("src/bin/") && rel != "src/lib.rs" && rel != "src/main.rs"
    });
    let names: HashSet<String> = files.iter().map(|(rel, _)| rel.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, path) in &files {
        let module = module_of(rel);
        let text = std::fs::read_to_string(path).unwrap();
        // Unit tests sit at the end of a file, in a module whose `super` is the file itself.
        for line in text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")) {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
            for word in words {
                let segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
                let target: Vec<&str> = match segments.first() {
                    Some(&"crate") => segments[1..].to_vec(),
                    Some(&"super") => {
                        // `super` of `a::b` (a.rs's child b.rs, or b/mod.rs) is `a`.
                        let mut base: Vec<&str> = module.iter().map(String::as_str).collect();
                        let mut rest = &segments[..];
                        while rest.first() == Some(&"super") {
                            base.pop();
                            rest = &rest[1..];
                        }
                        base.extend_from_slice(rest);
                        base
                    }
                    _ => continue,
                };
                if let Some(to) = file_of(&names, &target) {
                    if &to != rel {
                        edges.entry(rel.clone()).or_default().insert(to);
                    }
                }
            }
        }
    }
    // A depth-first search that reports the first cycle it meets, as a path of files.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    assert!(edges.len() > 20, "imports were found: {edges:?}");
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("import cycle among source files: {}", cycle.join(" -> "));
        }
    }
}
