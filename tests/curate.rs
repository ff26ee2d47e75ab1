//! `articlebot curate add|list|remove|match`: the curated answers from the terminal, kept in
//! `curate.db` between runs, with the same rules as `/curate`.

use crate::util::{run, Fixture};

#[test]
fn curate_from_the_command_line() {
    let f = Fixture::standard();
    let config = f.config("");
    let config = config.to_str().unwrap();
    let dir = f.dir.path();
    let (code, out, err) = run(
        dir,
        &[
            "--config",
            config,
            "curate",
            "add",
            "how",
            "long",
            "does",
            "compost",
            "take",
            "--article",
            "Home",
            "Composting",
            "Basics",
            "--section",
            "how long it takes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "#1 \"how long does compost take\" -> Home Composting Basics > How Long It Takes"
    );
    assert!(dir.join("data/curated.sqlite3").is_file(), "durable");
    // A close question (another form, a typo) matches in a later run; another guild's does not.
    let (code, out, _) = run(
        dir,
        &[
            "--config", config, "curate", "match", "How", "long", "do", "composts", "take?",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("#1 "), "{out}");
    let (code, _, _) = run(
        dir,
        &[
            "--config", config, "curate", "match", "how", "long", "does", "compost", "take",
            "--guild", "7",
        ],
    );
    assert_eq!(code, 1);
    let (code, out, _) = run(dir, &["--config", config, "--json", "curate", "list"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["article"], "guides-composting");
    assert_eq!(list[0]["missing"], false);
    // Abuse: a 5,000-character question, an article that does not exist.
    let long = "compost?".repeat(625);
    let (code, _, err) = run(
        dir,
        &[
            "--config",
            config,
            "curate",
            "add",
            &long,
            "--article",
            "sleep",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("5000 characters") && err.contains("at most 300"),
        "{err}"
    );
    let (code, _, err) = run(
        dir,
        &[
            "--config",
            config,
            "curate",
            "add",
            "volcanoes",
            "--article",
            "zzzz qqqq",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no article is called"), "{err}");
    // The article goes away: the pin is kept and marked, and not used.
    std::fs::remove_file(f.content().join("guides/composting.md")).unwrap();
    let (_, out, _) = run(dir, &["--config", config, "curate", "list"]);
    assert!(out.contains("article missing"), "{out}");
    let (code, _, _) = run(
        dir,
        &[
            "--config", config, "curate", "match", "how", "long", "does", "compost", "take",
        ],
    );
    assert_eq!(code, 1, "not used while its article is gone");
    let (code, out, _) = run(dir, &["--config", config, "curate", "remove", "1"]);
    assert_eq!((code, out.trim()), (0, "removed #1"));
    let (code, _, _) = run(dir, &["--config", config, "curate", "remove", "1"]);
    assert_eq!(code, 1);
}
