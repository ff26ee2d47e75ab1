//! The persisted index: reused while the content is unchanged, rebuilt when it changes or
//! when asked, and never left half-written.

use articlebot::library::{Library, OpenMode, Progress};

use crate::util::Fixture;

#[test]
fn unchanged_content_reopens_changed_content_rebuilds() {
    let f = Fixture::standard();
    let s = f.persisted();
    let first = Library::open(&s, OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(!first.info.reused);
    let dir = f.dir.path().join("index");
    assert!(dir.join("manifest.json").is_file());
    assert!(dir.join("tantivy").is_dir());
    drop(first);

    let second = Library::open(&s, OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(second.info.reused, "same content: reopened");
    assert_eq!(second.articles.len(), 4);
    let lookup = second.by_slug("sleep").unwrap();
    assert_eq!(second.article(lookup).title, "Why Sleep Matters");
    drop(second);

    let forced = Library::open(&s, OpenMode::Rebuild, Progress::Hidden).unwrap();
    assert!(!forced.info.reused, "--rebuild forces a build");
    drop(forced);

    f.write("new.md", "# New Article\n\nFresh text about kayaks.\n");
    let third = Library::open(&s, OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(!third.info.reused, "a new file changes the fingerprint");
    assert_eq!(third.articles.len(), 5);
    assert!(third.by_slug("new").is_some());

    // A setting that shapes the index changes the fingerprint too.
    let mut other = s.clone();
    other.content.base_url = "https://other.example".into();
    let fourth = Library::open(&other, OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(!fourth.info.reused);
    assert_eq!(
        fourth
            .article(fourth.by_slug("new").unwrap())
            .url
            .as_deref(),
        Some("https://other.example/new")
    );
    // No staging folders are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("building"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_corrupt_persisted_index_is_rebuilt() {
    let f = Fixture::standard();
    let s = f.persisted();
    drop(Library::open(&s, OpenMode::Reuse, Progress::Hidden).unwrap());
    std::fs::write(f.dir.path().join("index/library.bin"), b"garbage").unwrap();
    let lib = Library::open(&s, OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(!lib.info.reused);
    assert_eq!(lib.articles.len(), 4);
}

#[test]
fn persisted_and_memory_libraries_answer_alike() {
    use articlebot::answer::{execute, Command, Scope};
    let f = Fixture::standard();
    let mem = f.library();
    drop(Library::open(&f.persisted(), OpenMode::Reuse, Progress::Hidden).unwrap());
    let disk = Library::open(&f.persisted(), OpenMode::Reuse, Progress::Hidden).unwrap();
    assert!(disk.info.reused);
    let settings = f.settings().answer;
    let cmd = Command::Ask {
        question: "deep sleep repairs muscles".into(),
        scope: Scope::Collection,
    };
    assert_eq!(
        execute(&mem, &settings, &cmd).unwrap(),
        execute(&disk, &settings, &cmd).unwrap()
    );
}
