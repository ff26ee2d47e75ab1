//! The persisted index: reused while the content is unchanged, rebuilt when it changes or
//! when asked, and never left half-written.

use articlebot::library::{Library, NoProgress, OpenMode};

use crate::util::Fixture;

#[test]
fn unchanged_content_reopens_changed_content_rebuilds() {
    let f = Fixture::standard();
    let s = f.persisted();
    let first = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(!first.info.reused);
    let dir = f.dir.path().join("index");
    assert!(dir.join("manifest.json").is_file());
    assert!(dir.join("tantivy").is_dir());
    drop(first);

    let second = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(second.info.reused, "same content: reopened");
    assert_eq!(second.articles.len(), 4);
    let lookup = second.by_slug("sleep").unwrap();
    assert_eq!(second.article(lookup).title, "Why Sleep Matters");
    drop(second);

    let forced = Library::open(&s, OpenMode::Rebuild, &NoProgress).unwrap();
    assert!(!forced.info.reused, "--rebuild forces a build");
    drop(forced);

    f.write("new.md", "# New Article\n\nFresh text about kayaks.\n");
    let third = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(!third.info.reused, "a new file changes the fingerprint");
    assert_eq!(third.articles.len(), 5);
    assert!(third.by_slug("new").is_some());

    // A setting that shapes the index changes the fingerprint too.
    let mut other = s.clone();
    other.content.base_url = "https://other.example".into();
    let fourth = Library::open(&other, OpenMode::Reuse, &NoProgress).unwrap();
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

/// Article text is read from `articles.bin` on first use: a library opened before a rebuild
/// swapped the index directory must still read its own text, not the new file's.
#[test]
fn an_old_library_reads_its_own_text_after_a_rebuild_swaps_the_files() {
    let f = Fixture::new();
    f.write(
        "a.md",
        "# Alpha\n\n## One\n\nOld alpha text about otters.\n",
    );
    f.write("b.md", "# Beta\n\n## Two\n\nOld beta text about badgers.\n");
    let s = f.persisted();
    Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    // Reopened from the files: no section text decoded yet.
    let old = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(old.info.reused);

    f.write(
        "a.md",
        "# Alpha\n\n## One\n\nNew alpha text, longer, about river otters and their dens.\n",
    );
    f.write("c.md", "# Gamma\n\nA third article shifts every record.\n");
    let new = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(!new.info.reused);

    let text = |lib: &Library, slug: &str| -> String {
        let a = lib.article(lib.by_slug(slug).unwrap());
        a.sections
            .iter()
            .flat_map(|sec| sec.blocks.iter().map(|b| b.text.clone()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(text(&old, "a"), "Old alpha text about otters.");
    assert_eq!(text(&old, "b"), "Old beta text about badgers.");
    assert!(text(&new, "a").starts_with("New alpha text"));
    assert_eq!(text(&new, "b"), "Old beta text about badgers.");
}

#[test]
fn a_corrupt_persisted_index_is_rebuilt() {
    let f = Fixture::standard();
    let s = f.persisted();
    drop(Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap());
    std::fs::write(f.dir.path().join("index/library.bin"), b"garbage").unwrap();
    let lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(!lib.info.reused);
    assert_eq!(lib.articles.len(), 4);
}

#[test]
fn persisted_and_memory_libraries_answer_alike() {
    use articlebot::answer::{execute, Command, Scope};
    let f = Fixture::standard();
    let mem = f.library();
    drop(Library::open(&f.persisted(), OpenMode::Reuse, &NoProgress).unwrap());
    let disk = Library::open(&f.persisted(), OpenMode::Reuse, &NoProgress).unwrap();
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

/// Sets a folder's modification time `ago` in the past.
fn age(path: &std::path::Path, ago: std::time::Duration) {
    let when = std::time::SystemTime::now() - ago;
    std::fs::File::open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// A staging folder as a build leaves it, owned by `pid`.
fn staging(f: &Fixture, name: &str) -> std::path::PathBuf {
    let dir = f.dir.path().join(name);
    std::fs::create_dir_all(dir.join("tantivy")).unwrap();
    std::fs::write(dir.join("tantivy/segment.idx"), b"half-written").unwrap();
    std::fs::write(dir.join("articles.bin"), b"half-written").unwrap();
    dir
}

#[cfg(target_os = "linux")]
#[test]
fn staging_folders_of_crashed_builds_are_removed_live_ones_kept() {
    use articlebot::answer::Engine;
    let f = Fixture::standard();
    let s = f.persisted();
    drop(Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap());
    let day = std::time::Duration::from_secs(24 * 3600);
    // Linux pids never exceed 2^22, so this build's process is certainly gone.
    let dead = 99_999_999u32;
    let crashed = staging(&f, &format!(".index.building-{dead}-0"));
    let moved_aside = staging(&f, &format!(".index.building-{dead}-1.old"));
    // A build of a running process (this one), quiet for a day: kept.
    let live = staging(&f, &format!(".index.building-{}-77", std::process::id()));
    // A dead process's folder that changed a moment ago (a process this host cannot see,
    // in another container, may be writing it): kept until it has been quiet a while.
    let recent = staging(&f, &format!(".index.building-{dead}-2"));
    // Not a staging folder of this index.
    let other = staging(&f, &format!(".other.building-{dead}-0"));
    for dir in [&crashed, &moved_aside, &live, &other] {
        age(&dir.join("tantivy"), day);
        age(dir, day);
    }

    let lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    assert!(lib.info.reused, "the index itself is untouched");
    assert!(!crashed.exists(), "the crashed build's folder is removed");
    assert!(
        !moved_aside.exists(),
        "the old index moved aside is removed"
    );
    assert!(
        live.join("tantivy/segment.idx").exists(),
        "a live build is kept"
    );
    assert!(recent.exists(), "a folder written recently is kept");
    assert!(other.exists(), "another index's folder is not touched");

    // The index still answers.
    let engine = Engine::new(lib, s.answer.clone());
    let answer = crate::util::ask(&engine, "deep sleep repairs muscles");
    assert_eq!(answer.results[0].title, "Why Sleep Matters");
}
