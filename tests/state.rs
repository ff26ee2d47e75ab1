//! The state stores: one suite of statistics behaviour run against both (the embedded SQLite
//! store and PostgreSQL, a throwaway server per test: see `pg.rs`), then what only a shared
//! store does: instances that count together, a database that goes away while answers go
//! on, and two `serve-http` processes on one PostgreSQL.

use std::time::Duration;

use articlebot::answer::{Answer, Command, Engine, Scope};
use articlebot::config::{StateSettings, StatsSettings};
use articlebot::service::{Asker, Service};
use articlebot::stats::{Stats, StatsReport};

use crate::pg::Postgres;
use crate::util::Fixture;

const USER: &str = "80351110224678912";
const GUILD: u64 = 900_000_000_000_000_003;
const OTHER: u64 = 900_000_000_000_000_077;
/// Every instance's `ARTICLEBOT_STATS_KEY` in these tests.
const SECRET: &str = "a long random value shared by every instance";

/// Where a test keeps its statistics.
enum Store {
    Sqlite,
    Postgres(Postgres),
}

impl Store {
    fn postgres() -> Store {
        Store::Postgres(Postgres::start())
    }

    fn state(&self) -> StateSettings {
        match self {
            Store::Sqlite => StateSettings::default(),
            Store::Postgres(pg) => StateSettings::with_url(&pg.url(), "test").unwrap(),
        }
    }

    /// Opens the statistics of `f` (SQLite: its `data/stats.sqlite3`).
    fn open(&self, f: &Fixture, keep_questions: bool) -> Stats {
        Stats::open_with(&settings(f, keep_questions), &self.state(), Some(SECRET)).unwrap()
    }
}

fn settings(f: &Fixture, keep_questions: bool) -> StatsSettings {
    StatsSettings {
        enabled: true,
        keep_questions,
        retention_days: 30,
        weak_score: 1.3,
        db: Some(f.dir.path().join("data/stats.sqlite3")),
    }
}

fn ask(engine: &Engine, q: &str) -> (Command, Answer) {
    let cmd = Command::Ask {
        question: q.into(),
        scope: Scope::Collection,
    };
    let a = engine.execute(&cmd).unwrap();
    (cmd, a)
}

fn asker(user: &str) -> Asker {
    Asker::user(user).in_guild(Some(GUILD))
}

fn report(stats: &Stats, engine: &Engine, guild: u64) -> StatsReport {
    stats.report(&engine.library(), Duration::ZERO, guild)
}

fn swapped() -> articlebot::reload::ReloadReport {
    articlebot::reload::ReloadReport {
        outcome: articlebot::reload::Outcome::Swapped,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        warnings: Vec::new(),
        articles: 4,
        took: Duration::ZERO,
        coalesced: false,
        sources: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// The suite, for each store

/// Questions are counted per guild, grouped case-insensitively, gaps are the weak and empty
/// ones, and all of it survives a restart; a row past the retention window does not count;
/// look-ups and second pages are not questions.
fn questions_and_gaps_survive_a_restart(store: &Store) {
    let f = Fixture::standard();
    let engine = f.engine();
    {
        let stats = store.open(&f, true);
        for q in [
            "how long does composting take",
            "How long does composting take",
            "xylophone tuning",
        ] {
            let (c, a) = ask(&engine, q);
            stats.record(&c, &a, Some(&asker(USER))).unwrap();
        }
        let (c, a) = ask(&engine, "caffeine half-life");
        stats.record(&c, &a, Some(&asker("other"))).unwrap();
        let c = Command::Summary {
            article: "sleep".into(),
        };
        let a = engine.execute(&c).unwrap();
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
        let c = Command::Search {
            query: "compost".into(),
            page: 2,
            tag: None,
        };
        let a = engine.execute(&c).unwrap();
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
        let (c, a) = ask(&engine, "ancient question");
        stats.record_at(1, &c, &a, Some(&asker(USER))).unwrap();
        assert_eq!(
            report(&stats, &engine, GUILD).questions,
            4,
            "the old row is outside"
        );
    }
    let stats = store.open(&f, true);
    let r = report(&stats, &engine, GUILD);
    assert_eq!(r.questions, 4, "kept across the restart");
    assert_eq!(r.distinct_askers, 2);
    assert_eq!(r.top_questions[0].question, "how long does composting take");
    assert_eq!(r.top_questions[0].count, 2);
    let gaps: Vec<_> = r.gaps.iter().map(|g| g.question.as_str()).collect();
    assert_eq!(gaps, ["xylophone tuning"]);
    assert_eq!(report(&stats, &engine, OTHER).questions, 0);
    assert!(stats.health().up());
}

/// A guild sees its own questions only; the last reload is named only when it was a trigger
/// or one of the guild's moderators; without `keep_questions` no text is kept.
fn each_guild_sees_its_own(store: &Store) {
    let f = Fixture::standard();
    let engine = f.engine();
    let stats = store.open(&f, true);
    let record = |q: &str, asker: Option<Asker>| {
        let (c, a) = ask(&engine, q);
        stats.record(&c, &a, asker.as_ref()).unwrap();
    };
    record("how long does composting take", Some(asker(USER)));
    record("xylophone tuning", Some(asker("other")));
    record(
        "private question of another community",
        Some(Asker::user(USER).in_guild(Some(OTHER))),
    );
    record("a question in a direct message", Some(Asker::user(USER)));
    record("a question from the command line", None);
    stats.record_reload("mia", Some(OTHER), &swapped()).unwrap();
    let here = report(&stats, &engine, GUILD);
    assert_eq!((here.questions, here.distinct_askers), (2, 2));
    let asked: Vec<_> = here.top_questions.iter().map(|a| &a.question).collect();
    assert_eq!(asked, ["how long does composting take", "xylophone tuning"]);
    let last = here.last_reload.unwrap();
    assert_eq!(last.by, "a moderator of another server");
    assert!(last.outcome.starts_with("reloaded 4 articles"), "{last:?}");
    let there = report(&stats, &engine, OTHER);
    assert_eq!((there.questions, there.distinct_askers), (1, 1));
    assert_eq!(there.last_reload.unwrap().by, "mia");
    stats.record_reload("SIGHUP", None, &swapped()).unwrap();
    assert_eq!(
        report(&stats, &engine, GUILD).last_reload.unwrap().by,
        "SIGHUP"
    );
    drop(stats);

    let g = Fixture::standard();
    let quiet = store.open(&g, false);
    let (c, a) = ask(&engine, "a question whose text is not kept");
    quiet.record(&c, &a, Some(&asker(USER))).unwrap();
    let r = report(&quiet, &engine, GUILD);
    assert!(r.questions >= 1);
    assert!(
        r.top_questions
            .iter()
            .all(|q| q.question != "a question whose text is not kept"),
        "{r:?}"
    );
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::Store::Sqlite);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(&super::Store::postgres());
            })*
        }
    };
}

both_stores!(
    questions_and_gaps_survive_a_restart,
    each_guild_sees_its_own
);

// ---------------------------------------------------------------------------------------
// Only a shared store

/// Two instances on one PostgreSQL count together: each one's report has the other's
/// questions, and a person who asked both is one asker (same key).
#[test]
fn two_instances_on_postgres_count_together() {
    let store = Store::postgres();
    let (f, g) = (Fixture::standard(), Fixture::standard());
    let engine = f.engine();
    let (a, b) = (store.open(&f, true), store.open(&g, true));
    let (c, ans) = ask(&engine, "how long does composting take");
    a.record(&c, &ans, Some(&asker(USER))).unwrap();
    b.record(&c, &ans, Some(&asker(USER))).unwrap();
    let (c, ans) = ask(&engine, "xylophone tuning");
    b.record(&c, &ans, Some(&asker("other"))).unwrap();
    b.flush();
    for stats in [&a, &b] {
        let r = report(stats, &engine, GUILD);
        assert_eq!((r.questions, r.distinct_askers), (3, 2), "{r:?}");
        assert_eq!(r.top_questions[0].count, 2);
    }
    a.record_reload("SIGHUP", None, &swapped()).unwrap();
    a.flush();
    assert_eq!(report(&b, &engine, GUILD).last_reload.unwrap().by, "SIGHUP");
}

/// PostgreSQL without `ARTICLEBOT_STATS_KEY` is refused with the reason: instances with keys
/// of their own would count a person once each.
#[test]
fn postgres_needs_a_shared_stats_key() {
    let f = Fixture::standard();
    let state = StateSettings::with_url("postgres://nobody@127.0.0.1:1/none", "test").unwrap();
    let err = Stats::open_with(&settings(&f, true), &state, None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("ARTICLEBOT_STATS_KEY"), "{err}");
    let err = StateSettings::with_url("mysql://x@y/z", "state.url")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("state.url: expected a PostgreSQL URL"),
        "{err}"
    );
}

/// PostgreSQL stops while the bot serves: questions are still answered at once, the store
/// is reported down (`/healthz` degraded, the metric at 0), and when PostgreSQL is back the
/// queued statistics are written: nothing was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_on_while_postgres_is_down_and_statistics_catch_up() {
    let pg = Postgres::start();
    let store = Store::Postgres(pg);
    let f = Fixture::standard();
    let mut s = f.settings();
    s.state = store.state();
    let library = articlebot::library::Library::open(
        &s,
        articlebot::library::OpenMode::Reuse,
        &articlebot::library::NoProgress,
    )
    .unwrap();
    let stats = Stats::open_with(&s.stats, &s.state, Some(SECRET)).unwrap();
    let service = Service::with_stats(s, library, stats).unwrap();
    let question = || Command::Ask {
        question: "how long does composting take".into(),
        scope: Scope::Collection,
    };
    let who = Some(asker(USER));
    service.execute(question(), who.clone()).await.unwrap();
    assert_eq!(service.state_health(), Some(("postgres", true)));

    let Store::Postgres(pg) = &store else {
        unreachable!()
    };
    pg.halt();
    for _ in 0..3 {
        let answer = service.execute(question(), who.clone()).await.unwrap();
        assert!(answer.found(), "answered with the database down");
    }
    // The writer finds out at its first write (or its next check of an idle store).
    let mut waited = 0;
    while service.state_health() != Some(("postgres", false)) {
        assert!(waited < 600, "the store is never reported down");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let metrics = service.metrics_text();
    assert!(
        metrics.contains("articlebot_state_store_up{store=\"postgres\"} 0"),
        "{metrics}"
    );
    pg.resume();
    let mut waited = 0;
    while service.state_health() != Some(("postgres", true)) {
        assert!(waited < 600, "the store never comes back:\n{}", pg.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let svc = service.clone();
    let r = svc.stats_report(GUILD).await.unwrap();
    assert_eq!(
        r.questions, 4,
        "the questions asked during the outage were written"
    );
    assert!(service
        .metrics_text()
        .contains("articlebot_state_store_up{store=\"postgres\"} 1"));
}
