//! The state stores: one suite of statistics behaviour run against both (the embedded SQLite
//! store and PostgreSQL, a throwaway server per test: see `pg.rs`), then what only a shared
//! store does: instances that count together, a database that goes away while answers go
//! on, and two `serve-http` processes on one PostgreSQL.

use std::time::Duration;

use articlebot::answer::{Command, Engine, Scope};
use articlebot::config::StateSettings;
use articlebot::service::{Asker, Service};
use articlebot::stats::{Stats, StatsReport};

use crate::pg::Postgres;
use crate::stats::{ask, asker, settings, swapped, GUILD, USER};
use crate::util::Fixture;

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

fn report(stats: &Stats, engine: &Engine, guild: u64) -> StatsReport {
    stats.report(&engine.library(), Duration::ZERO, guild)
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

// ---------------------------------------------------------------------------------------
// The other kinds of state: one suite, both stores (SQLite or memory, and PostgreSQL)

mod kinds {
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    use articlebot::curate::{CurateStore, NewCurated};
    use articlebot::feedback::{NewVote, Vote, VoteStore};
    use articlebot::state::memory::{MemoryButtons, MemoryCooldowns};
    use articlebot::state::postgres::{listen_reloads, watch, Change, PgStore};
    use articlebot::state::{
        Announced, AnnouncedStore, ButtonStore, ConversationStore, CooldownStore, InstanceReload,
        InstanceStore, KeptButtons, QuestionRow, ReloadRow, StatsStore, ThreadStore,
    };

    use crate::pg::Postgres;

    /// Two handles on one store of each kind, as two instances would hold them (SQLite: two
    /// connections to one file; memory: one map, which is what an instance shares with
    /// itself; PostgreSQL: two connections).
    struct Handles {
        curated: [Box<dyn CurateStore>; 2],
        votes: [Box<dyn VoteStore>; 2],
        cooldowns: [Arc<dyn CooldownStore>; 2],
        buttons: [Arc<dyn ButtonStore>; 2],
        _keep: Keep,
    }

    #[allow(dead_code)]
    enum Keep {
        Dir(tempfile::TempDir),
        Pg(Postgres),
    }

    fn embedded() -> Handles {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("curated.sqlite3");
        let curated = |_| -> Box<dyn CurateStore> {
            Box::new(articlebot::curate::SqliteStore::open(Some(&db)).unwrap())
        };
        let votes = |_| -> Box<dyn VoteStore> {
            Box::new(articlebot::feedback::SqliteVotes::open(Some(&db)).unwrap())
        };
        let cooldowns: Arc<dyn CooldownStore> = Arc::new(MemoryCooldowns::default());
        let buttons: Arc<dyn ButtonStore> = Arc::new(MemoryButtons::default());
        Handles {
            curated: [0, 1].map(curated),
            votes: [0, 1].map(votes),
            cooldowns: [cooldowns.clone(), cooldowns],
            buttons: [buttons.clone(), buttons],
            _keep: Keep::Dir(dir),
        }
    }

    fn postgres() -> Handles {
        let pg = Postgres::start();
        let open = || PgStore::open(&pg.url()).unwrap();
        Handles {
            curated: [Box::new(open()), Box::new(open())],
            votes: [Box::new(open()), Box::new(open())],
            cooldowns: [Arc::new(open()), Arc::new(open())],
            buttons: [Arc::new(open()), Arc::new(open())],
            _keep: Keep::Pg(pg),
        }
    }

    fn pin(guild: u64, question: &str) -> NewCurated {
        NewCurated {
            guild,
            question: question.into(),
            article: "guides-composting".into(),
            section: Some("How Long It Takes".into()),
            note: None,
        }
    }

    fn curated_answers_are_seen_by_every_handle(h: Handles) {
        let [a, b] = &h.curated;
        let first = a.add(&pin(1, "how long does compost take"), 100).unwrap();
        let second = b.add(&pin(2, "what goes with peels"), 101).unwrap();
        assert_ne!(first.id, second.id);
        let all = a.all().unwrap();
        assert_eq!(
            all,
            [first.clone(), second.clone()],
            "oldest first, both handles'"
        );
        assert_eq!(all[0].section.as_deref(), Some("How Long It Takes"));
        assert!(!b.remove(2, first.id).unwrap(), "another guild's id");
        assert!(b.remove(1, first.id).unwrap());
        assert!(!a.remove(1, first.id).unwrap(), "already gone");
        assert_eq!(a.all().unwrap(), [second]);
    }

    fn ballot(voter: u8, answer: u64, vote: Vote) -> NewVote {
        NewVote {
            guild: 7,
            answer,
            voter: [voter; 32],
            question: "q1".into(),
            passage: "guides-composting#how-long-it-takes".into(),
            vote,
        }
    }

    fn votes_replace_and_add_up(h: Handles) {
        let [a, b] = &h.votes;
        a.vote(&ballot(1, 10, Vote::Down), Some("how long"), 100)
            .unwrap();
        // The same member on the same answer, through the other handle: replaced.
        b.vote(&ballot(1, 10, Vote::Up), Some("how long"), 101)
            .unwrap();
        b.vote(&ballot(2, 10, Vote::Down), None, 102).unwrap();
        a.vote(&ballot(3, 11, Vote::Down), None, 103).unwrap();
        let t = b.tallies(7).unwrap();
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!((t[0].up, t[0].down, t[0].voters), (1, 2, 3), "{t:?}");
        assert_eq!(t[0].question.as_deref(), Some("how long"));
        assert_eq!(a.guilds().unwrap(), [7]);
        assert!(a.tallies(8).unwrap().is_empty(), "another guild");
        assert_eq!(
            b.clear(7, "q1", "guides-composting#how-long-it-takes")
                .unwrap(),
            3
        );
        assert!(a.tallies(7).unwrap().is_empty());
    }

    fn cooldowns_hold_on_every_handle_and_end(h: Handles) {
        let [a, b] = &h.cooldowns;
        let length = Duration::from_millis(1500);
        assert_eq!(a.start_cooldown("ask", 1, length).unwrap(), None);
        let wait = b.start_cooldown("ask", 1, length).unwrap().expect("held");
        assert!(wait > Duration::ZERO && wait <= length, "{wait:?}");
        assert_eq!(
            b.start_cooldown("ask", 2, length).unwrap(),
            None,
            "per user"
        );
        assert_eq!(
            b.start_cooldown("post", 1, length).unwrap(),
            None,
            "per scope"
        );
        // A refused start does not restart it: once it ends, the next one starts.
        std::thread::sleep(length + Duration::from_millis(200));
        assert_eq!(b.start_cooldown("ask", 1, length).unwrap(), None, "ended");
        assert!(a.start_cooldown("ask", 1, length).unwrap().is_some());
    }

    /// Button state kept through one handle is read and replaced through the other, by id,
    /// with whose buttons they are; it lives its timeout from when it was kept (a replacement
    /// does not extend it), and after that it is neither read nor replaced.
    fn button_state_is_kept_replaced_and_expires(h: Handles) {
        let [a, b] = &h.buttons;
        let hour = Duration::from_secs(3600);
        let (id, other) = (4_611_686_018_427_387_904, 12); // 2^62: ids use 63 bits
        a.keep_buttons(id, 77, r#"{"page":1}"#, hour).unwrap();
        a.keep_buttons(other, 78, "{}", hour).unwrap();
        let kept = |id| b.buttons(id, hour).unwrap();
        let page = |n: u8| KeptButtons {
            asker: 77,
            state: format!(r#"{{"page":{n}}}"#),
        };
        assert_eq!(kept(id), Some(page(1)));
        assert_eq!(kept(13), None, "never kept");
        assert!(b.replace_buttons(id, r#"{"page":2}"#, hour).unwrap());
        assert_eq!(
            a.buttons(id, hour).unwrap(),
            Some(page(2)),
            "the last page wins"
        );
        assert!(
            !a.replace_buttons(13, "{}", hour).unwrap(),
            "nothing to replace"
        );
        assert_eq!(kept(13), None, "a replacement makes nothing");
        assert_eq!(kept(other).unwrap().asker, 78);

        // Expiry: a state lives its timeout from when it was kept.
        let short = Duration::from_secs(3);
        a.keep_buttons(5, 79, r#"{"page":1}"#, short).unwrap();
        std::thread::sleep(Duration::from_secs(1));
        assert!(
            b.replace_buttons(5, r#"{"page":2}"#, short).unwrap(),
            "still live"
        );
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(
            b.buttons(5, short).unwrap(),
            None,
            "expired, page turned or not"
        );
        assert!(
            !a.replace_buttons(5, "{}", short).unwrap(),
            "an expired state stays so"
        );
        // Kept again under the same id, it lives from then.
        a.keep_buttons(5, 80, "{}", short).unwrap();
        assert_eq!(b.buttons(5, short).unwrap().map(|k| k.asker), Some(80));
    }

    macro_rules! both {
        ($($name:ident),* $(,)?) => {
            mod embedded {
                $(#[test]
                fn $name() {
                    super::$name(super::embedded());
                })*
            }
            mod postgres {
                $(#[test]
                fn $name() {
                    super::$name(super::postgres());
                })*
            }
        };
    }

    both!(
        curated_answers_are_seen_by_every_handle,
        votes_replace_and_add_up,
        cooldowns_hold_on_every_handle_and_end,
        button_state_is_kept_replaced_and_expires,
    );

    /// Threads and conversations on PostgreSQL (their embedded form is the process's memory
    /// and a JSON file, tested with `Conversations` and the bot): kept, read back, and each
    /// write announced to the other instances' watches, never to the writer's own.
    #[test]
    fn threads_and_conversations_are_kept_and_announced() {
        let pg = Postgres::start();
        let (a, b) = (
            PgStore::open(&pg.url()).unwrap(),
            PgStore::open(&pg.url()).unwrap(),
        );
        let (tx, heard) = mpsc::channel();
        // `b`'s watch: hears `a`'s writes, not its own; it stops when the test ends.
        let alive = Arc::new(());
        let test_runs = Arc::downgrade(&alive);
        watch(&pg.url(), b.origin().to_string(), move |change| {
            test_runs.upgrade().is_some() && change.is_none_or(|c| tx.send(c).is_ok())
        })
        .unwrap();
        let next = || heard.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(next(), Change::Connected);
        b.remember_thread(99, "sleep-science").unwrap();
        a.remember_thread(7, "guides-composting").unwrap();
        assert_eq!(
            next(),
            Change::Thread(7),
            "b's own write is not announced to b"
        );
        assert_eq!(b.thread(7).unwrap().as_deref(), Some("guides-composting"));
        assert_eq!(b.thread(8).unwrap(), None);
        let mut all = a.threads().unwrap();
        all.sort();
        assert_eq!(
            all,
            [
                (7, String::from("guides-composting")),
                (99, String::from("sleep-science"))
            ]
        );
        a.save_conversation("thread:7", r#"{"home":"guides-composting"}"#, 1_000)
            .unwrap();
        a.save_conversation("member:1:2", "{}", 10).unwrap();
        assert_eq!(next(), Change::Conversation("thread:7".into()));
        assert_eq!(next(), Change::Conversation("member:1:2".into()));
        a.save_conversation("thread:7", r#"{"home":"x"}"#, 1_001)
            .unwrap();
        assert_eq!(
            b.conversation("thread:7").unwrap().as_deref(),
            Some(r#"{"home":"x"}"#),
            "the last write wins"
        );
        let recent = b.conversations(500).unwrap();
        assert_eq!(
            recent,
            [("thread:7".to_string(), r#"{"home":"x"}"#.to_string())]
        );
        a.add(
            &NewCurated {
                guild: 1,
                question: "q".into(),
                article: "a".into(),
                section: None,
                note: None,
            },
            1,
        )
        .unwrap();
        assert_eq!(next(), Change::Conversation("thread:7".into()));
        assert_eq!(next(), Change::Curated);
        // PostgreSQL restarted: the watch says it is back (copies are read again then).
        pg.halt();
        pg.resume();
        assert_eq!(next(), Change::Connected);
        drop(alive);
    }

    fn outcome(instance: &str, name: &str, applied: bool) -> InstanceReload {
        InstanceReload {
            instance: instance.into(),
            name: name.into(),
            applied,
            outcome: if applied {
                "reloaded 5 articles (+1 −0 ~0)".into()
            } else {
                "kept the old content: the content folder is missing".into()
            },
        }
    }

    /// The instances sharing PostgreSQL (the embedded store is one instance's: nothing to
    /// list): each says it is alive, is listed while it did so within the window asked for,
    /// and leaves; each reports its outcome of a reload under the reload's id (the last word
    /// wins). An instance's reload listener says it is alive from the moment it listens,
    /// hears the others' announcements with their id (not its own), and once dropped, leaves.
    /// The retry of a keep whose first try timed out (but may have committed) never puts
    /// an older page back: a page turned since, through another handle, stays.
    #[test]
    fn a_retried_keep_never_puts_back_an_older_page() {
        let pg = Postgres::start();
        let (a, b) = (
            PgStore::open(&pg.url()).unwrap(),
            PgStore::open(&pg.url()).unwrap(),
        );
        let timeout = Duration::from_secs(60);
        a.keep_buttons(7, 1, "page 1", timeout).unwrap();
        assert!(b.replace_buttons(7, "page 2", timeout).unwrap());
        a.keep_buttons_unless_kept(7, 1, "page 1").unwrap();
        let kept = b.buttons(7, timeout).unwrap().expect("kept");
        assert_eq!((kept.state.as_str(), kept.asker), ("page 2", 1));
        // Where the first try did not commit, the retry keeps it.
        a.keep_buttons_unless_kept(8, 2, "page 1").unwrap();
        assert_eq!(
            b.buttons(8, timeout).unwrap().expect("kept").state,
            "page 1"
        );
    }

    /// A statistics write tried again after a try that committed unseen (the connection
    /// broke before its answer) is counted once: the row's id is unique in PostgreSQL. Two
    /// rows alike but for their id are two questions.
    #[test]
    fn a_statistics_write_made_twice_is_counted_once() {
        let pg = Postgres::start();
        let store = PgStore::open(&pg.url()).unwrap();
        let row = |id: u64| QuestionRow {
            id,
            at: articlebot::state::unix_now(),
            kind: "ask",
            asker: Some([7; 32]),
            question: Some("how long does composting take".into()),
            fate: "answered",
            score: Some(1.0),
            guild: Some(42),
        };
        store.add_question(&row(1)).unwrap();
        store.add_question(&row(1)).unwrap();
        store.add_question(&row(2)).unwrap();
        let reload = ReloadRow {
            id: 3,
            at: articlebot::state::unix_now(),
            by: "SIGHUP".into(),
            outcome: "reloaded".into(),
            guild: None,
        };
        store.add_reload(&reload).unwrap();
        store.add_reload(&reload).unwrap();
        let counts = store.counts(42, 0, "another guild").unwrap();
        assert_eq!(counts.questions, 2);
        assert_eq!(counts.top_questions[0].count, 2);
        assert_eq!(
            store
                .counts(42, 0, "x")
                .unwrap()
                .last_reload
                .map(|r| r.outcome),
            Some("reloaded".to_string())
        );
        assert_ne!(
            articlebot::state::unique_id(),
            articlebot::state::unique_id()
        );
    }

    /// The articles seen for announcements: the first seeding of an empty store takes its
    /// slugs, a later one nothing; seeing slugs returns, in the order asked, those no handle
    /// saw before, so two instances seeing the same news split it and never both get one.
    #[test]
    fn each_announced_article_is_seen_first_by_one_instance() {
        let pg = Postgres::start();
        let (a, b) = (
            PgStore::open(&pg.url()).unwrap(),
            PgStore::open(&pg.url()).unwrap(),
        );
        let slugs = |s: &[&str]| -> Vec<String> { s.iter().map(|s| s.to_string()).collect() };
        assert!(a.seed_seen(&slugs(&["old-1", "old-2"]), 1).unwrap());
        assert!(
            !b.seed_seen(&slugs(&["old-3"]), 2).unwrap(),
            "seeded already"
        );
        assert_eq!(b.see(&slugs(&["old-1", "old-3"]), 3).unwrap(), ["old-3"]);
        assert_eq!(b.see(&[], 3).unwrap(), Vec::<String>::new());
        let news = slugs(&["z-new", "a-new", "old-2", "m-new"]);
        let first = a.see(&news, 4).unwrap();
        assert_eq!(first, ["z-new", "a-new", "m-new"], "in the order asked");
        assert_eq!(b.see(&news, 5).unwrap(), Vec::<String>::new());
        // Two handles seeing the same slugs at once: each slug goes to exactly one.
        let many: Vec<String> = (0..200).map(|i| format!("n{i}")).collect();
        let (x, y) = std::thread::scope(|s| {
            let x = s.spawn(|| a.see(&many, 6).unwrap());
            let y = s.spawn(|| b.see(&many, 6).unwrap());
            (x.join().unwrap(), y.join().unwrap())
        });
        let mut both: Vec<String> = x.into_iter().chain(y).collect();
        both.sort();
        let mut expected = many.clone();
        expected.sort();
        assert_eq!(both, expected);
    }

    #[test]
    fn instances_say_they_are_alive_report_reloads_and_leave() {
        let pg = Postgres::start();
        let (a, b) = (
            PgStore::open(&pg.url()).unwrap(),
            PgStore::open(&pg.url()).unwrap(),
        );
        let names = |within: Duration| {
            let mut listed: Vec<String> = b
                .instances(within)
                .unwrap()
                .into_iter()
                .map(|i| {
                    assert!(i.seen_ago <= within, "{i:?}");
                    i.name
                })
                .collect();
            listed.sort();
            listed
        };
        a.heartbeat("i-a", "alpha").unwrap();
        b.heartbeat("i-b", "beta").unwrap();
        assert_eq!(names(Duration::from_secs(60)), ["alpha", "beta"]);
        std::thread::sleep(Duration::from_millis(1500));
        a.heartbeat("i-a", "alpha").unwrap();
        assert_eq!(
            names(Duration::from_secs(1)),
            ["alpha"],
            "beta was seen too long ago"
        );

        a.report_reload("r1", &outcome("i-a", "alpha", false))
            .unwrap();
        b.report_reload("r1", &outcome("i-b", "beta", true))
            .unwrap();
        b.report_reload("r2", &outcome("i-b", "beta", false))
            .unwrap();
        assert_eq!(
            a.reload_outcomes("r1").unwrap(),
            [outcome("i-a", "alpha", false), outcome("i-b", "beta", true)]
        );
        a.report_reload("r1", &outcome("i-a", "alpha", true))
            .unwrap();
        assert!(b.reload_outcomes("r1").unwrap()[0].applied, "replaced");
        assert!(a.reload_outcomes("r3").unwrap().is_empty());

        a.leave("i-a").unwrap();
        assert_eq!(names(Duration::from_secs(60)), ["beta"]);

        // A listener: alive as soon as it returns, hearing the others' reloads only.
        let mut heard = listen_reloads(&pg.url(), "i-c".into(), "gamma".into()).unwrap();
        assert_eq!(names(Duration::from_secs(60)), ["beta", "gamma"]);
        let reload = |id: &str| Announced {
            id: Some(id.into()),
            by: "mia".into(),
            guild: Some(3),
        };
        b.announce_reload("i-c", &reload("own")).unwrap();
        b.announce_reload("i-b", &reload("r4")).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let first = loop {
            match heard.try_recv() {
                Ok(a) => break a,
                Err(_) => {
                    assert!(std::time::Instant::now() < deadline, "nothing heard");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        assert_eq!(first, reload("r4"), "its own announcement is skipped");
        drop(heard);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while names(Duration::from_secs(60)).contains(&"gamma".to_string()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the dropped listener's instance never left"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
