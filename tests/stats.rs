//! Question statistics: kept across restarts, pruned, gaps found, nothing identifying stored.

use articlebot::answer::{Answer, Command, Engine, Scope};
use articlebot::config::StatsSettings;
use articlebot::render;
use articlebot::service::Asker;
use articlebot::stats::Stats;

use crate::util::Fixture;

pub(crate) fn settings(f: &Fixture, keep_questions: bool) -> StatsSettings {
    StatsSettings {
        enabled: true,
        keep_questions,
        retention_days: 30,
        weak_score: 1.3,
        db: Some(f.dir.path().join("data/stats.sqlite3")),
    }
}

pub(crate) fn ask(engine: &Engine, q: &str) -> (Command, Answer) {
    let cmd = Command::Ask {
        question: q.into(),
        scope: Scope::Collection,
    };
    let a = engine.execute(&cmd).unwrap();
    (cmd, a)
}

pub(crate) const USER: &str = "80351110224678912";
/// The guild the questions of these tests are asked in.
pub(crate) const GUILD: u64 = 900_000_000_000_000_003;

pub(crate) fn asker(user: &str) -> Asker {
    Asker::user(user).in_guild(Some(GUILD))
}

/// Opens the store with its key in `<db>.key`, whatever `ARTICLEBOT_STATS_KEY` says in the
/// environment of the test run.
fn open(settings: &StatsSettings) -> Stats {
    Stats::open_with_secret(settings, None).unwrap()
}

#[test]
fn stats_survive_a_restart_and_find_gaps() {
    let f = Fixture::standard();
    let engine = f.engine();
    let lib = engine.library();
    {
        let stats = open(&settings(&f, true));
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
        // Look-ups are not questions.
        let c = Command::Summary {
            article: "sleep".into(),
        };
        let a = engine.execute(&c).unwrap();
        stats.record(&c, &a, None).unwrap();
        // An old row, pruned at the next start.
        let (c, a) = ask(&engine, "ancient question");
        stats.record_at(1, &c, &a, None).unwrap();
    }
    let stats = open(&settings(&f, true));
    let report = stats.report(&lib, std::time::Duration::from_secs(90), GUILD);
    assert_eq!(
        report.questions, 4,
        "kept across the restart, old row pruned"
    );
    assert_eq!(report.distinct_askers, 2);
    assert_eq!(
        report.top_questions[0].question,
        "how long does composting take"
    );
    assert_eq!(report.top_questions[0].count, 2);
    let gaps: Vec<_> = report.gaps.iter().map(|g| g.question.as_str()).collect();
    assert_eq!(gaps, ["xylophone tuning"]);
    let text = render::stats_report(&report);
    assert!(text.contains("2× how long does composting take"), "{text}");
    assert!(text.contains("not answered well"));
    assert_eq!(report.articles, 4);
}

fn raw_bytes(f: &Fixture) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(f.dir.path().join("data"))
        .unwrap()
        .flatten()
    {
        all.extend(std::fs::read(entry.path()).unwrap());
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn nothing_identifying_is_written_in_the_clear() {
    let f = Fixture::standard();
    let engine = f.engine();
    {
        let stats = open(&settings(&f, false));
        let (c, a) = ask(&engine, "secretive pelican question");
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
        let report = stats.report(&engine.library(), std::time::Duration::ZERO, GUILD);
        assert_eq!(report.questions, 1);
        assert!(report.top_questions.is_empty(), "no text kept");
    }
    let bytes = raw_bytes(&f);
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, USER), "user id stored in the clear");
    assert!(
        !contains(&bytes, "pelican"),
        "question text stored despite keep_questions = false"
    );
    // The stored hash is keyed: the same id hashes differently under another key.
    let other = tempfile::tempdir().unwrap();
    let mut s2 = settings(&f, false);
    s2.db = Some(other.path().join("stats.sqlite3"));
    let a = open(&settings(&f, false)).hash_asker(&asker(USER));
    let b = open(&s2).hash_asker(&asker(USER));
    assert_ne!(a, b);
    assert_eq!(
        a,
        open(&settings(&f, false)).hash_asker(&asker(USER)),
        "stable key"
    );
    let unhashed = blake3::hash(USER.as_bytes());
    assert_ne!(&a, unhashed.as_bytes());
}

#[test]
fn turning_a_page_is_not_another_question() {
    let f = Fixture::standard();
    let engine = f.engine();
    let stats = open(&settings(&f, true));
    for page in [1, 2, 3] {
        let c = Command::Search {
            query: "sleep".into(),
            page,
            tag: None,
        };
        let a = engine.execute(&c).unwrap();
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
    }
    let report = stats.report(&engine.library(), std::time::Duration::ZERO, GUILD);
    assert_eq!(report.questions, 1);
    assert_eq!(report.top_questions[0].count, 1);
}

/// The key file: created on first use beside the database, 32 bytes, readable by the owner
/// only (mode 0600), and reused.
#[test]
fn the_key_file_is_private_and_kept() {
    let f = Fixture::standard();
    let s = settings(&f, false);
    let first = open(&s).hash_asker(&asker(USER));
    let key = f.dir.path().join("data/stats.sqlite3.key");
    let bytes = std::fs::read(&key).expect("the key file beside the database");
    assert_eq!(bytes.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    assert_eq!(open(&s).hash_asker(&asker(USER)), first);
    assert_eq!(std::fs::read(&key).unwrap(), bytes, "not rewritten");
}

/// `ARTICLEBOT_STATS_KEY`: the key is derived from the secret (the same secret gives the same
/// hashes for any database, another secret others), and no key file is written.
#[test]
fn a_secret_derives_the_key_and_writes_no_key_file() {
    let f = Fixture::standard();
    let other = tempfile::tempdir().unwrap();
    let mut elsewhere = settings(&f, false);
    elsewhere.db = Some(other.path().join("stats.sqlite3"));
    let asker = asker(USER);
    let hash = |s: &StatsSettings, secret| {
        Stats::open_with_secret(s, Some(secret))
            .unwrap()
            .hash_asker(&asker)
    };
    let a = hash(&settings(&f, false), "correct horse");
    assert_eq!(a, hash(&elsewhere, "correct horse"));
    assert_ne!(a, hash(&settings(&f, false), "battery staple"));
    assert_ne!(a, open(&settings(&f, false)).hash_asker(&asker));
    assert!(!other.path().join("stats.sqlite3.key").exists());
    assert_eq!(
        a,
        *blake3::keyed_hash(
            &blake3::derive_key("articlebot stats key v1", b"correct horse"),
            USER.as_bytes()
        )
        .as_bytes()
    );
}

/// `stats.enabled = false` records nothing and creates no file.
#[test]
fn disabled_statistics_record_nothing() {
    let f = Fixture::standard();
    let engine = f.engine();
    let mut s = settings(&f, true);
    s.enabled = false;
    let stats = open(&s);
    let (c, a) = ask(&engine, "how long does composting take");
    stats.record(&c, &a, Some(&asker(USER))).unwrap();
    let report = stats.report(&engine.library(), std::time::Duration::ZERO, GUILD);
    assert_eq!(report.questions, 0);
    assert!(report.top_questions.is_empty());
    assert!(!f.dir.path().join("data").exists(), "nothing on disk");
}

/// `/stats` in full: the collection, the last reload, the questions, the most asked and the
/// gaps, each on its line.
#[test]
fn the_report_text_lists_everything() {
    let f = Fixture::standard();
    let engine = f.engine();
    let lib = engine.library();
    let stats = open(&settings(&f, true));
    for q in [
        "how long does composting take",
        "how long does composting take",
        "xylophone tuning",
    ] {
        let (c, a) = ask(&engine, q);
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
    }
    let report = stats.report(&lib, std::time::Duration::from_secs(3 * 3600 + 120), GUILD);
    let text = render::stats_report(&report);
    let lines: Vec<&str> = text.lines().collect();
    let passages = lib.passages.len();
    assert!(passages >= 4, "{passages}");
    assert_eq!(
        lines[0],
        format!("4 articles, {passages} passages, index 0.0 MB, up 3h 2m"),
        "{text}"
    );
    assert_eq!(lines[1], "last reload: none since the statistics began");
    assert_eq!(lines[2], "last 30 days: 3 questions from 1 people");
    assert_eq!(
        &lines[3..],
        [
            "most asked:",
            "  2× how long does composting take",
            "  1× xylophone tuning",
            "not answered well (gaps):",
            "  1× xylophone tuning",
        ],
        "{text}"
    );
}

/// A key kept where earlier versions put it (`stats.key` beside `stats.sqlite3`) moves to
/// `stats.sqlite3.key`: the hashes already stored keep matching.
#[test]
fn a_key_from_the_old_place_moves_beside_the_database() {
    let f = Fixture::standard();
    let s = settings(&f, false);
    let data = f.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("stats.key"), [7u8; 32]).unwrap();
    let hash = open(&s).hash_asker(&asker(USER));
    assert_eq!(
        hash,
        *blake3::keyed_hash(&[7u8; 32], USER.as_bytes()).as_bytes()
    );
    assert_eq!(
        std::fs::read(data.join("stats.sqlite3.key")).unwrap(),
        [7u8; 32]
    );
    assert!(!data.join("stats.key").exists());
}

pub(crate) fn swapped() -> articlebot::reload::ReloadReport {
    articlebot::reload::ReloadReport {
        outcome: articlebot::reload::Outcome::Swapped,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        warnings: Vec::new(),
        articles: 4,
        took: std::time::Duration::ZERO,
        coalesced: false,
        sources: Vec::new(),
    }
}

/// Each guild's statistics are its own: the questions asked there, and who reloaded only when
/// it was one of its moderators or a trigger. Questions from outside any guild count nowhere.
#[test]
fn each_guild_sees_its_own_questions() {
    const OTHER: u64 = 900_000_000_000_000_077;
    let f = Fixture::standard();
    let engine = f.engine();
    let lib = engine.library();
    let stats = open(&settings(&f, true));
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

    let here = stats.report(&lib, std::time::Duration::ZERO, GUILD);
    assert_eq!((here.questions, here.distinct_askers), (2, 2));
    let asked: Vec<_> = here.top_questions.iter().map(|a| &a.question).collect();
    assert_eq!(
        asked,
        ["how long does composting take", "xylophone tuning"],
        "{here:?}"
    );
    let text = render::stats_report(&here);
    assert!(!text.contains("another community"), "{text}");
    assert!(!text.contains("direct message"), "{text}");
    assert!(
        !text.contains("mia"),
        "another guild's moderator named: {text}"
    );
    assert!(
        text.contains("by a moderator of another server: reloaded"),
        "{text}"
    );

    let there = stats.report(&lib, std::time::Duration::ZERO, OTHER);
    assert_eq!((there.questions, there.distinct_askers), (1, 1));
    assert_eq!(
        there.top_questions[0].question,
        "private question of another community"
    );
    assert!(
        render::stats_report(&there).contains("by mia: reloaded"),
        "{}",
        render::stats_report(&there)
    );

    // A trigger is named everywhere.
    stats.record_reload("SIGHUP", None, &swapped()).unwrap();
    let text = render::stats_report(&stats.report(&lib, std::time::Duration::ZERO, GUILD));
    assert!(text.contains("by SIGHUP: reloaded"), "{text}");
}

/// A database written before statistics had guilds (schema version 0) opens: its rows are
/// kept (counted in no guild, since where they were asked is unknown), the columns are added
/// once, and new rows are per guild. A database from a newer articlebot is refused by name.
#[test]
fn a_database_without_guilds_is_migrated() {
    let f = Fixture::standard();
    let engine = f.engine();
    let s = settings(&f, true);
    let db = s.db.clone().unwrap();
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    {
        let old = rusqlite::Connection::open(&db).unwrap();
        old.execute_batch(
            "CREATE TABLE questions (at INTEGER NOT NULL, kind TEXT NOT NULL, asker BLOB,
                 question TEXT, fate TEXT NOT NULL, score REAL);
             CREATE INDEX questions_at ON questions (at);
             CREATE TABLE reloads (at INTEGER NOT NULL, by TEXT NOT NULL, outcome TEXT NOT NULL);",
        )
        .unwrap();
        for q in ["an old question", "another old question"] {
            old.execute(
                "INSERT INTO questions VALUES (?1, 'ask', NULL, ?2, 'answered', 2.0)",
                rusqlite::params![now, q],
            )
            .unwrap();
        }
        old.execute(
            "INSERT INTO reloads VALUES (?1, 'old mod', 'reloaded 4 articles')",
            rusqlite::params![now],
        )
        .unwrap();
    }
    for _ in 0..2 {
        let stats = open(&s);
        let (c, a) = ask(&engine, "a new question");
        stats.record(&c, &a, Some(&asker(USER))).unwrap();
    }
    let stats = open(&s);
    let report = stats.report(&engine.library(), std::time::Duration::ZERO, GUILD);
    assert_eq!(report.questions, 2, "only the new rows are this guild's");
    assert_eq!(report.top_questions[0].question, "a new question");
    // The old reload keeps its name: it was made before guilds were recorded.
    assert!(render::stats_report(&report).contains("by old mod: reloaded 4 articles"));
    drop(stats);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, articlebot::stats::SCHEMA_VERSION);
    let old: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM questions WHERE guild IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 2, "the old rows are kept");

    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = format!("{:#}", Stats::open_with_secret(&s, None).err().unwrap());
    assert!(
        err.contains("schema version 99") && err.contains("stats.db"),
        "{err}"
    );
}

/// The database, its WAL and shared-memory files and the key are the owner's only (0600),
/// in a folder made for them readable by the owner only (0700); the files of an older
/// install, world-readable, are narrowed when the store opens.
#[cfg(unix)]
#[test]
fn statistics_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let f = Fixture::standard();
    let engine = f.engine();
    let mut s = settings(&f, true);
    let folder = f.dir.path().join("private/stats");
    s.db = Some(folder.join("stats.sqlite3"));
    let stats = open(&s);
    let (c, a) = ask(&engine, "how long does composting take");
    stats.record(&c, &a, Some(&asker(USER))).unwrap();
    // While the store is open, SQLite keeps its WAL and shared-memory files.
    let names = [
        "stats.sqlite3",
        "stats.sqlite3-wal",
        "stats.sqlite3-shm",
        "stats.sqlite3.key",
    ];
    for name in names {
        assert_eq!(mode(&folder.join(name)), 0o600, "{name}");
    }
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&f.dir.path().join("private")), 0o700);
    drop(stats);

    // An older install's files, world-readable: narrowed at the next open.
    let old = f.dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    rusqlite::Connection::open(old.join("stats.sqlite3")).unwrap();
    std::fs::set_permissions(
        old.join("stats.sqlite3"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    s.db = Some(old.join("stats.sqlite3"));
    let stats = open(&s);
    stats.record(&c, &a, Some(&asker(USER))).unwrap();
    for name in names {
        assert_eq!(mode(&old.join(name)), 0o600, "{name}");
    }
}
