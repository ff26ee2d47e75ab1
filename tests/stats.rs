//! Question statistics: kept across restarts, pruned, gaps found, nothing identifying stored.

use articlebot::answer::{Answer, Command, Engine, Scope};
use articlebot::config::StatsSettings;
use articlebot::service::Asker;
use articlebot::stats::Stats;

use crate::util::Fixture;

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

const USER: &str = "80351110224678912";

#[test]
fn stats_survive_a_restart_and_find_gaps() {
    let f = Fixture::standard();
    let engine = f.engine();
    let lib = engine.library();
    {
        let stats = Stats::open(&settings(&f, true)).unwrap();
        for q in [
            "how long does composting take",
            "How long does composting take",
            "xylophone tuning",
        ] {
            let (c, a) = ask(&engine, q);
            stats.record(&c, &a, Some(&Asker(USER.into()))).unwrap();
        }
        let (c, a) = ask(&engine, "caffeine half-life");
        stats.record(&c, &a, Some(&Asker("other".into()))).unwrap();
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
    let stats = Stats::open(&settings(&f, true)).unwrap();
    let report = stats.report(&lib, std::time::Duration::from_secs(90));
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
    let text = report.to_text();
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
        let stats = Stats::open(&settings(&f, false)).unwrap();
        let (c, a) = ask(&engine, "secretive pelican question");
        stats.record(&c, &a, Some(&Asker(USER.into()))).unwrap();
        let report = stats.report(&engine.library(), std::time::Duration::ZERO);
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
    let a = Stats::open(&settings(&f, false))
        .unwrap()
        .hash_asker(&Asker(USER.into()));
    let b = Stats::open(&s2).unwrap().hash_asker(&Asker(USER.into()));
    assert_ne!(a, b);
    assert_eq!(
        a,
        Stats::open(&settings(&f, false))
            .unwrap()
            .hash_asker(&Asker(USER.into())),
        "stable key"
    );
    let unhashed = blake3::hash(USER.as_bytes());
    assert_ne!(&a, unhashed.as_bytes());
}

#[test]
fn turning_a_page_is_not_another_question() {
    let f = Fixture::standard();
    let engine = f.engine();
    let stats = Stats::open(&settings(&f, true)).unwrap();
    for page in [1, 2, 3] {
        let c = Command::Search {
            query: "sleep".into(),
            page,
            tag: None,
        };
        let a = engine.execute(&c).unwrap();
        stats.record(&c, &a, None).unwrap();
    }
    let report = stats.report(&engine.library(), std::time::Duration::ZERO);
    assert_eq!(report.questions, 1);
    assert_eq!(report.top_questions[0].count, 1);
}
