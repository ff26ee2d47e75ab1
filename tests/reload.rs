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
