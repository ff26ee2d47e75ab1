//! The index folder is the bot's own: it writes only into a new or empty folder or one that
//! holds its index, never removes a file it did not make, and refuses anything else (exit 2,
//! the path and the reason on stderr).

use std::path::Path;

use articlebot::library::{FolderProblem, IndexFolderError, Library, NoProgress, OpenMode};

use crate::util::{run, Fixture, STANDARD};

/// Every file of the standard collection, still there with its text.
fn assert_articles_intact(f: &Fixture) {
    for (rel, text) in STANDARD {
        let path = f.content().join(rel);
        let now = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} is gone: {e}", path.display()));
        assert_eq!(now, *text, "{} changed", path.display());
    }
}

#[test]
fn the_content_folder_given_as_index_is_refused_and_kept() {
    let f = Fixture::standard();
    f.config("");
    let (code, out, err) = run(
        f.dir.path(),
        &["--index", "content", "ask", "rain", "barrel"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("index folder"), "{err}");
    assert!(err.contains("content"), "{err}");
    // The first of the folder's own entries, by name, is named as the example.
    assert!(
        err.contains("holds files that are not an articlebot index (e.g. cycling.md)"),
        "{err}"
    );
    assert!(out.is_empty(), "no answer from a refused index: {out}");
    assert_articles_intact(&f);
    let mut names: Vec<String> = std::fs::read_dir(f.content())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["cycling.md", "guides", "sleep.md", "stablecoins.txt"]
    );
    // Nothing was staged beside it either.
    let staged = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".building-")
        })
        .count();
    assert_eq!(staged, 0);
}

#[test]
fn a_folder_of_notes_keeps_its_notes() {
    let f = Fixture::standard();
    f.config("");
    let docs = f.dir.path().join("mydocs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("notes.txt"), "my notes").unwrap();
    let (code, _, err) = run(f.dir.path(), &["--index", "mydocs", "ask", "compost"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mydocs"), "{err}");
    assert!(err.contains("(e.g. notes.txt)"), "{err}");
    assert_eq!(
        std::fs::read_to_string(docs.join("notes.txt")).unwrap(),
        "my notes"
    );
    assert_eq!(std::fs::read_dir(&docs).unwrap().count(), 1);
}

#[test]
fn a_file_given_as_index_stays_a_file() {
    let f = Fixture::standard();
    let config = f.config("");
    let before = std::fs::read_to_string(&config).unwrap();
    let (code, _, err) = run(f.dir.path(), &["--index", "config.toml", "ask", "compost"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("config.toml"), "{err}");
    assert!(err.contains("it is a file, not a folder"), "{err}");
    assert!(config.is_file());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
}

#[test]
fn another_tools_manifest_is_not_taken_for_the_index() {
    let f = Fixture::standard();
    let mut s = f.persisted();
    let web = f.dir.path().join("web");
    std::fs::create_dir(&web).unwrap();
    std::fs::write(web.join("manifest.json"), r#"{"name": "my app"}"#).unwrap();
    s.index = articlebot::config::IndexLocation::Dir(web.clone());
    let e = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap_err();
    let e = e.downcast_ref::<IndexFolderError>().expect("a typed error");
    assert_eq!(e.path, web);
    assert!(matches!(e.problem, FolderProblem::ForeignManifest), "{e}");
    assert_eq!(
        std::fs::read_to_string(web.join("manifest.json")).unwrap(),
        r#"{"name": "my app"}"#
    );
}

#[test]
fn a_new_an_empty_and_an_existing_index_folder_are_used() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    let json = |args: &[&str]| {
        let (code, out, err) = run(dir, args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    // New: created.
    let v = json(&["--json", "--index", "fresh", "index"]);
    assert_eq!(v["reused"], false);
    assert!(dir.join("fresh/manifest.json").is_file());
    // Existing: reused as it is.
    let v = json(&["--json", "--index", "fresh", "index"]);
    assert_eq!(v["reused"], true);
    // And rebuilt in place on request.
    let v = json(&["--json", "--index", "fresh", "index", "--rebuild"]);
    assert_eq!(v["reused"], false);
    // Empty: filled.
    std::fs::create_dir(dir.join("empty")).unwrap();
    let v = json(&["--json", "--index", "empty", "index"]);
    assert_eq!(v["articles"], 4);
    assert!(dir.join("empty/tantivy").is_dir());
    assert_articles_intact(&f);
}

#[test]
fn a_rebuild_never_removes_a_file_put_in_the_index_folder() {
    let f = Fixture::standard();
    let s = f.persisted();
    drop(Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap());
    let index = f.dir.path().join("index");
    std::fs::write(index.join("notes.txt"), "kept").unwrap();
    // Changed content would rebuild (and swap the folder): refused instead.
    f.write("new.md", "# New\n\nText about kayaks.\n");
    for mode in [OpenMode::Reuse, OpenMode::Rebuild] {
        let e = Library::open(&s, mode, &NoProgress).unwrap_err();
        let e = e.downcast_ref::<IndexFolderError>().expect("a typed error");
        assert!(
            matches!(&e.problem, FolderProblem::Foreign(n) if n == "notes.txt"),
            "{e}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(index.join("notes.txt")).unwrap(),
        "kept"
    );
    assert!(index.join("manifest.json").is_file(), "the old index stays");
    // Taken out again, the folder is the index's and rebuilds.
    std::fs::remove_file(index.join("notes.txt")).unwrap();
    let lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert_eq!(lib.articles.len(), 5);
}

/// Sets the modification time of `path` (a file or a folder) to a day ago.
fn age(path: &Path) {
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    std::fs::File::open(path)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
}

#[test]
fn a_stale_staging_folder_loses_only_what_the_build_made() {
    let f = Fixture::standard();
    let s = f.persisted();
    // A crashed build's leftover (no process has this pid: Linux pids stay below 2^22), with
    // a file someone put there.
    let staging = f.dir.path().join(".index.building-4000000000-0");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("library.bin"), "partial").unwrap();
    std::fs::write(staging.join("notes.txt"), "kept").unwrap();
    age(&staging);
    drop(Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap());
    if cfg!(target_os = "linux") {
        assert!(
            !staging.join("library.bin").exists(),
            "the build's own file is removed"
        );
    }
    assert_eq!(
        std::fs::read_to_string(staging.join("notes.txt")).unwrap(),
        "kept"
    );
}
