//! Reloads: no lost or mixed answers under load, broken files, strict mode, coalescing,
//! a missing folder and the file watcher.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use articlebot::answer::{Answer, Command, Scope};
use articlebot::library::{Library, NoProgress, OpenMode};
use articlebot::reload::Outcome;
use articlebot::service::Service;

use crate::util::Fixture;

/// Writes generation `g` of a 6-article collection: every title and sentence names it.
fn write_generation(f: &Fixture, g: u32) {
    for k in 0..6 {
        f.write(
            &format!("topic{k}.md"),
            &format!(
                "# Topic {k} generation {g}\n\nThe lighthouse keeper of topic {k} wrote generation {g} notes. \
                 Generation {g} says the lamp burns oil number {k}.\n"
            ),
        );
    }
}

fn service(f: &Fixture, settings: articlebot::config::Settings) -> Arc<Service> {
    let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
    let _ = f;
    Service::new(settings, lib).unwrap()
}

fn generation_of(text: &str) -> Option<u32> {
    let at = text.find("generation ")?;
    text[at + "generation ".len()..]
        .chars()
        .next()?
        .to_digit(10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_concurrent_questions_loses_none_and_never_mixes() {
    let f = Fixture::new();
    write_generation(&f, 1);
    let svc = service(&f, f.persisted());
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let seen_two = Arc::new(AtomicBool::new(false));
    const ASKERS: usize = 16;
    let mut tasks = Vec::new();
    for i in 0..ASKERS {
        let (svc, stop, answered, seen_two) = (
            svc.clone(),
            stop.clone(),
            answered.clone(),
            seen_two.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) || n < 5 {
                let cmd = Command::Ask {
                    question: format!("lighthouse lamp oil generation topic {}", i % 6),
                    scope: Scope::Collection,
                };
                let Answer::Ask(a) = svc
                    .execute(cmd, None)
                    .await
                    .expect("every question is answered")
                else {
                    panic!("not an ask answer")
                };
                assert!(
                    !a.results.is_empty(),
                    "an answer during the reload is never empty"
                );
                let gens: Vec<u32> = a
                    .results
                    .iter()
                    .flat_map(|r| {
                        [
                            generation_of(&r.title),
                            generation_of(&r.excerpt.to_lowercase()),
                        ]
                    })
                    .map(|g| g.expect("names a generation"))
                    .collect();
                assert!(
                    gens.windows(2).all(|w| w[0] == w[1]),
                    "one answer, one library: {gens:?}"
                );
                if gens[0] == 2 {
                    seen_two.store(true, Ordering::SeqCst);
                }
                n += 1;
                answered.fetch_add(1, Ordering::SeqCst);
            }
            n
        }));
    }
    // Questions are running before the reload starts...
    assert!(wait_for(|| answered.load(Ordering::SeqCst) > 0).await);
    let before = answered.load(Ordering::SeqCst);
    write_generation(&f, 2);
    let report = svc.reload("test").await;
    assert_eq!(report.outcome, Outcome::Swapped);
    assert_eq!(
        report.changed.len(),
        6,
        "{}",
        articlebot::render::reload_report(&report)
    );
    // ...and go on until they have seen the new library.
    assert!(wait_for(|| seen_two.load(Ordering::SeqCst)).await);
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("no asker panicked");
    }
    assert_eq!(total, answered.load(Ordering::SeqCst), "no question lost");
    assert!(
        before > 0 && total > before,
        "questions ran before and during the reload"
    );
    assert!(seen_two.load(Ordering::SeqCst), "the new library went live");
    eprintln!("reload test: {ASKERS} concurrent askers, {total} questions answered");
}

#[tokio::test]
async fn broken_file_strict_mode_and_missing_folder() {
    let f = Fixture::standard();
    let svc = service(&f, f.settings());
    f.write("zz-broken.md", "+++\ntitle = \"x\"\nbogus = 1\n+++\ntext\n");
    f.write(
        "new.md",
        "# Kayaks\n\nKayak paddles come in many lengths.\n",
    );
    std::fs::remove_file(f.content().join("cycling.md")).unwrap();
    let report = svc.reload("mod").await;
    assert_eq!(report.outcome, Outcome::Swapped);
    assert_eq!(report.added, ["new"]);
    assert_eq!(report.removed, ["cycling"]);
    assert_eq!(report.warnings.len(), 1);
    let text = articlebot::render::reload_report(&report);
    assert!(
        text.contains("zz-broken.md:3: skipped: broken front matter"),
        "{text}"
    );
    assert!(text.contains("added (1): new"));
    assert!(svc.engine().library().by_slug("new").is_some());

    // Strict: a rejected file keeps the old library.
    let mut strict = f.settings();
    strict.reload.strict = true;
    let svc = service(&f, strict);
    f.write("another.md", "# Another\n\ntext\n");
    let report = svc.reload("mod").await;
    assert!(
        matches!(&report.outcome, Outcome::KeptOld(r) if r.contains("strict_reload")),
        "{report:?}"
    );
    assert!(svc.engine().library().by_slug("another").is_none());
    assert_eq!(report.warnings.len(), 1);

    // A folder that cannot be read keeps the old library and says why.
    std::fs::rename(f.content(), f.dir.path().join("moved")).unwrap();
    let report = svc.reload("mod").await;
    match &report.outcome {
        Outcome::KeptOld(reason) => assert!(reason.contains("content folder"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        svc.engine().library().by_slug("new").is_some(),
        "old library still serves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_reloads_coalesce() {
    let f = Fixture::standard();
    let svc = service(&f, f.settings());
    f.write("new.md", "# New\n\ntext\n");
    let reports = futures_util::future::join_all((0..10).map(|_| svc.reload("mod"))).await;
    let rebuilds = svc.reloader().rebuilds();
    assert!(
        (1..=2).contains(&rebuilds),
        "10 requests, {rebuilds} rebuilds"
    );
    assert_eq!(
        reports.iter().filter(|r| !r.coalesced).count() as u64,
        rebuilds
    );
    assert!(reports.iter().all(|r| r.outcome == Outcome::Swapped));
    assert!(svc.engine().library().by_slug("new").is_some());
}

async fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

// SIGHUP is tested on the real binaries (`http::binary`, `discord::connection`), signalled as
// child processes: a signal sent to this test process would reach every rig of every test
// running beside it (each installs a SIGHUP listener) and reload them unasked.

#[tokio::test]
async fn watcher_debounces_a_burst_into_one_reload() {
    let f = Fixture::standard();
    let mut s = f.settings();
    s.reload.watch = true;
    s.reload.debounce = Duration::from_millis(400);
    let svc = service(&f, s);
    let _triggers = svc.start_reload_triggers().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..5 {
        f.write(&format!("burst{i}.md"), &format!("# Burst {i}\n\ntext\n"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        wait_for(|| (0..5).all(|i| svc
            .engine()
            .library()
            .by_slug(&format!("burst{i}"))
            .is_some()))
        .await
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let rebuilds = svc.reloader().rebuilds();
    assert!((1..=2).contains(&rebuilds), "5 writes, {rebuilds} rebuilds");
}

/// Words the generated articles are made of: a few topics' vocabularies that overlap, so that
/// document frequencies, BM25 and the related vectors all depend on the whole collection.
const WORDS: &[&str] = &[
    "harbour", "lantern", "ferry", "tide", "anchor", "gull", "pier", "beacon", "glacier",
    "moraine", "crevasse", "ice", "summit", "ridge", "rope", "valley", "orchard", "apple", "cider",
    "blossom", "pruning", "graft", "ladder", "frost", "battery", "voltage", "copper", "circuit",
    "charge", "current", "fuse", "solder", "ledger", "invoice", "audit", "tax", "receipt",
    "budget", "margin", "quarter", "keeper", "storm", "winter", "market", "river",
];

/// Article `i` of version `v`: a title, front matter with tags and a summary, sections of
/// sentences drawn from [`WORDS`] (a deterministic mix that depends on `i` and `v`).
fn generated(i: usize, v: usize) -> String {
    let w = |k: usize| WORDS[(i * 7 + v * 13 + k * k * 3 + k) % WORDS.len()];
    let mut s = format!(
        "+++\ntitle = \"The {} {} notes {i}\"\ntags = [\"{}\", \"t{}\"]\nsummary = \"On {} and {}.\"\n+++\n\n",
        w(1),
        w(2),
        w(3),
        i % 4,
        w(4),
        w(5)
    );
    for part in 0..(2 + (i + v) % 3) {
        s.push_str(&format!("## The {} part {part}\n\n", w(part + 6)));
        for n in 0..(3 + (i * part + v) % 4) {
            let words: Vec<&str> = (0..9).map(|k| w(part * 11 + n * 5 + k)).collect();
            s.push_str(&format!(
                "A {} sentence: {}.\n\n",
                w(n + part),
                words.join(" ")
            ));
        }
    }
    s
}

/// Every answer the engine gives for a set of commands, as JSON, plus autocompletion: what
/// an incremental reload must answer exactly as a full build.
fn answers(lib: &Library) -> Vec<serde_json::Value> {
    let settings = articlebot::config::Settings::for_content(".").answer;
    let mut commands = Vec::new();
    for (k, w) in WORDS.iter().enumerate() {
        let other = WORDS[(k * 5 + 3) % WORDS.len()];
        commands.push(Command::Ask {
            question: format!("what about the {w} and the {other}?"),
            scope: Scope::Collection,
        });
        commands.push(Command::Search {
            query: format!("{w} {other}"),
            page: 1,
            tag: None,
        });
        // A misspelling: close spellings score alike, so ties must be cut the same way.
        let typo: String = w.chars().rev().collect::<String>();
        commands.push(Command::Search {
            query: format!("{}x {typo}", &w[..w.len() - 1]),
            page: 1,
            tag: None,
        });
        commands.push(Command::Search {
            query: (*w).into(),
            page: 2,
            tag: Some(format!("t{}", k % 4)),
        });
    }
    for a in &lib.articles {
        commands.push(Command::Related {
            article: a.slug.clone(),
        });
        commands.push(Command::Article {
            query: a.title.clone(),
        });
        commands.push(Command::Summary {
            article: a.slug.clone(),
        });
        commands.push(Command::Takeaways {
            article: a.slug.clone(),
        });
        commands.push(Command::Ask {
            question: "what is the storm part about".into(),
            scope: Scope::Article(a.slug.clone()),
        });
    }
    let mut out: Vec<serde_json::Value> = commands
        .iter()
        .map(|c| {
            let answer = articlebot::answer::execute(lib, &settings, c).expect("an answer");
            serde_json::json!({ "command": format!("{c:?}"), "answer": answer })
        })
        .collect();
    for prefix in ["the", "the ha", "notes 1", "cider", "x"] {
        let choices: Vec<String> = articlebot::answer::autocomplete(lib, prefix, 25)
            .into_iter()
            .map(|c| format!("{} = {}", c.name, c.value))
            .collect();
        out.push(serde_json::json!({ "autocomplete": prefix, "choices": choices }));
    }
    let snap = lib.index.snapshot();
    for w in WORDS {
        out.push(serde_json::json!({ "df": w, "n": lib.index.doc_freq(&snap, w) }));
    }
    out
}

/// `v` with every fractional number (scores) rounded to 5 significant digits. tantivy's
/// union scorer adds a passage's clause scores in an order that depends on the segments'
/// layout (exhausted lists are swap-removed), so an updated index and a fresh build, with the
/// same statistics, can differ in a score's last bit (~1e-7 relative) — as two fresh builds
/// with different thread counts can. Everything else must be equal.
fn rounded(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap();
            if x == 0.0 {
                return v.clone();
            }
            let scale = 10f64.powi(4 - x.abs().log10().floor() as i32);
            serde_json::json!((x * scale).round() / scale)
        }
        Value::Array(a) => Value::Array(a.iter().map(rounded).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), rounded(v))).collect()),
        _ => v.clone(),
    }
}

/// Asserts that `updated` holds what `full` holds and answers every command as it does.
fn assert_same(step: &str, updated: &Library, full: &Library) {
    assert!(
        updated.info.updated,
        "{step}: the reload was not incremental"
    );
    assert!(!full.info.updated);
    assert_eq!(updated.articles, full.articles, "{step}: articles");
    assert_eq!(updated.passages, full.passages, "{step}: passages");
    assert_eq!(updated.vectors, full.vectors, "{step}: related vectors");
    assert!(*updated.names == *full.names, "{step}: name index");
    assert_eq!(updated.warnings, full.warnings, "{step}: warnings");
    assert_eq!(updated.index.num_docs(), full.index.num_docs(), "{step}");
    assert_eq!(
        updated.index.tokens(),
        full.index.tokens(),
        "{step}: tokens"
    );
    let (a, b) = (answers(updated), answers(full));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(rounded(x), rounded(y), "{step}: an answer differs");
    }
}

/// A change to the content folder.
type Step<'a> = Box<dyn Fn() + 'a>;

/// An incremental reload (persisted and in memory) answers exactly as a full build of the
/// same files, and holds the same related vectors and name index: after edits, deletes, adds (before every other article, so that every id
/// shifts), a rejected file, and several updates in a row (deleted documents accumulate in the
/// index's segments).
#[test]
fn incremental_reload_answers_as_a_full_build() {
    let f = Fixture::new();
    for i in 0..40 {
        f.write(&format!("n{i:02}.md"), &generated(i, 0));
    }
    let persisted = f.persisted();
    let memory = f.settings();
    let mut full_settings = f.settings();
    full_settings.index = articlebot::config::IndexLocation::Dir(f.dir.path().join("full-index"));
    let mut lib = Library::open(&persisted, OpenMode::Reuse, &NoProgress).unwrap();
    let mut mem = Library::open(&memory, OpenMode::Reuse, &NoProgress).unwrap();
    let content = f.content();
    let steps: Vec<(&str, Step<'_>)> = vec![
        (
            "an edit",
            Box::new(|| {
                f.write("n07.md", &generated(7, 1));
            }),
        ),
        (
            "a delete",
            Box::new(|| std::fs::remove_file(content.join("n12.md")).unwrap()),
        ),
        (
            "an add before every article",
            Box::new(|| {
                f.write("a00.md", &generated(100, 2));
            }),
        ),
        (
            "an add, an edit and a delete at once, and a rejected file",
            Box::new(|| {
                f.write("n20b.md", &generated(101, 3));
                f.write("n03.md", &generated(3, 4));
                std::fs::remove_file(content.join("n30.md")).unwrap();
                f.write("n31.md", "+++\ntitle = \"x\"\nbogus = 1\n+++\ntext\n");
            }),
        ),
        (
            "two edits and nothing else (the articles keep their ids: only the vectors whose \
             weights moved are weighed again)",
            Box::new(|| {
                f.write("n05.md", &generated(5, 6));
                f.write("n33.md", &generated(33, 7));
            }),
        ),
        (
            "the rejected file mended, the same edit again",
            Box::new(|| {
                f.write("n31.md", &generated(31, 5));
                f.write("n07.md", &format!("{}\nOne more line.\n", generated(7, 1)));
            }),
        ),
    ];
    for (step, apply) in steps {
        apply();
        let updated = Library::update(&persisted, &lib, &NoProgress).unwrap();
        let full = Library::open(&full_settings, OpenMode::Rebuild, &NoProgress).unwrap();
        assert_same(step, &updated, &full);
        let mem_updated = Library::update(&memory, &mem, &NoProgress).unwrap();
        assert_same(&format!("{step} (in memory)"), &mem_updated, &full);
        // The persisted update opens again as it was left.
        let reopened = Library::open(&persisted, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(reopened.info.reused, "{step}: the updated index is reused");
        assert_eq!(
            rounded(&answers(&reopened).into()),
            rounded(&answers(&full).into()),
            "{step}: reopened"
        );
        drop(reopened);
        // The old library still answers from its own files.
        assert!(!answers(&lib).is_empty());
        lib = updated;
        mem = mem_updated;
    }
    let d = lib.info.diff.clone().unwrap();
    assert_eq!(d.changed, ["n07"], "{d:?}");
}

/// Asserts that `lib` holds the articles, passages, related vectors and names `full` holds,
/// and answers `related` for every article as it does: what the term counts decide. (The
/// other answers come from the tantivy index, which the counts do not touch: after many
/// updates its segments can order two passages of equal score otherwise than a fresh build,
/// by a score's last bit, so they are compared in `incremental_reload_answers_as_a_full_build`
/// over fewer updates.)
fn assert_same_related(step: &str, lib: &Library, full: &Library) {
    assert_eq!(lib.articles, full.articles, "{step}: articles");
    assert_eq!(lib.passages, full.passages, "{step}: passages");
    assert_eq!(lib.vectors, full.vectors, "{step}: related vectors");
    assert!(*lib.names == *full.names, "{step}: name index");
    let settings = articlebot::config::Settings::for_content(".").answer;
    for a in &full.articles {
        let related = Command::Related {
            article: a.slug.clone(),
        };
        let answer = |l: &Library| {
            let answer = articlebot::answer::execute(l, &settings, &related).expect("an answer");
            rounded(&serde_json::json!(answer))
        };
        assert_eq!(answer(lib), answer(full), "{step}: related to {}", a.slug);
    }
}

/// The term counts an update keeps in the index folder (`counts.bin`, a base written whole,
/// and `counts.log`, the changed articles' counts appended): every update here starts from
/// the library reopened from the folder, so it reads its counts back from the base and the
/// log, and must hold the related vectors and names of a full build and answer `related` as it
/// does. On
/// the way: edits that bring new stems (appended to the log), an add and a delete (every id
/// shifts: the places move with the articles), bytes left after the log's end by an update
/// that died before its manifest (never read), and the log grown past its share of the base
/// (the counts written whole again, the log emptied).
#[test]
fn term_counts_read_back_from_base_and_log_answer_as_a_full_build() {
    let f = Fixture::new();
    for i in 0..40 {
        f.write(&format!("n{i:02}.md"), &generated(i, 0));
    }
    let persisted = f.persisted();
    let mut full_settings = f.settings();
    full_settings.index = articlebot::config::IndexLocation::Dir(f.dir.path().join("full-index"));
    Library::open(&persisted, OpenMode::Reuse, &NoProgress).unwrap();
    let index = f.dir.path().join("index");
    let log_len = || std::fs::metadata(index.join("counts.log")).unwrap().len();
    let base = || std::fs::read(index.join("counts.bin")).unwrap();
    assert_eq!(log_len(), 0, "a build writes the counts whole");
    let first_base = base();
    let novel = [
        "quokka", "narwhal", "axolotl", "pangolin", "okapi", "tapir", "dugong", "kinkajou", "fossa",
    ];
    let (mut appended, mut compacted) = (0, 0);
    for (k, word) in novel.iter().enumerate() {
        // The library in service, opened from the folder the last update left: it holds no
        // counts, its update reads them back.
        let reopened = Library::open(&persisted, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(
            reopened.info.reused,
            "step {k}: the folder opens as it was left"
        );
        if k > 0 {
            let full = Library::open(&full_settings, OpenMode::Reuse, &NoProgress).unwrap();
            assert_same_related(&format!("step {k}: reopened"), &reopened, &full);
        }
        for i in [(k * 7 + 3) % 40, (k * 7 + 23) % 40] {
            let text = format!(
                "{}\nA {word} sentence: the {word} keeper.\n",
                generated(i, k + 1)
            );
            f.write(&format!("n{i:02}.md"), &text);
        }
        if k == 3 {
            f.write("a00.md", &generated(200, k));
        }
        if k == 6 {
            std::fs::remove_file(f.content().join("n09.md")).unwrap();
        }
        if k == 4 {
            // An update that appended its counts and died before its manifest: the bytes
            // after the log's end belong to no article.
            let mut log = std::fs::OpenOptions::new()
                .append(true)
                .open(index.join("counts.log"))
                .unwrap();
            std::io::Write::write_all(&mut log, &[0xff; 100]).unwrap();
        }
        let before = log_len();
        let updated = Library::update(&persisted, &reopened, &NoProgress).unwrap();
        assert!(
            updated.info.updated,
            "step {k}: the reload was not incremental"
        );
        let full = Library::open(&full_settings, OpenMode::Rebuild, &NoProgress).unwrap();
        assert_same_related(&format!("step {k} ({word})"), &updated, &full);
        if log_len() > before {
            appended += 1;
        } else {
            assert_eq!(log_len(), 0, "step {k}: the log grows or is emptied");
            assert_ne!(base(), first_base, "step {k}: a new base");
            compacted += 1;
        }
    }
    assert!(appended >= 5, "updates appended to the log: {appended}");
    assert!(
        compacted >= 1,
        "the log was written whole again: {compacted}"
    );
}

/// The diff an update reports: articles added, removed and changed, and a file touched but
/// unchanged in content is not changed.
#[test]
fn an_update_reports_what_it_added_removed_and_changed() {
    let f = Fixture::new();
    for i in 0..6 {
        f.write(&format!("n{i:02}.md"), &generated(i, 0));
    }
    let settings = f.persisted();
    let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
    f.write("n00.md", &generated(0, 1));
    f.write("n01.md", &format!("{}\n", generated(1, 0)));
    std::fs::remove_file(f.content().join("n02.md")).unwrap();
    f.write("n09.md", &generated(9, 0));
    let updated = Library::update(&settings, &lib, &NoProgress).unwrap();
    assert!(updated.info.updated);
    let d = updated.info.diff.clone().unwrap();
    assert_eq!(d.added, ["n09"]);
    assert_eq!(d.removed, ["n02"]);
    assert_eq!(d.changed, ["n00"]);
}
