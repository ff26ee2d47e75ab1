//! The built binary: subcommands, JSON output, exit codes, config errors, chat.

use crate::util::{bin, chat_json, run, Fixture};

#[test]
fn ask_text_and_json() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    let (code, out, err) = run(dir, &["ask", "how", "long", "does", "composting", "take"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Home Composting Basics › How Long It Takes"),
        "{out}"
    );
    assert!(out.contains("two to three months"));
    assert!(out.contains("Takeaways from Home Composting Basics"));
    assert!(!out.contains("\x1b["), "no colour when not a terminal");

    let (code, out, _) = run(dir, &["--json", "ask", "how long does composting take"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["results"][0]["slug"], "guides-composting");
    assert_eq!(
        v["results"][0]["url"],
        "https://site.example/a/guides-composting#how-long-it-takes"
    );
    assert_eq!(
        v["takeaways"]["takeaways"][0]["links"][0]["url"],
        "https://example.org/ratios"
    );

    let (code, out, _) = run(dir, &["ask", "lights", "--article", "cycling"]);
    assert_eq!(code, 0);
    assert!(out.contains("Urban Cycling Safety"));
}

#[test]
fn each_subcommand_answers() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    let json = |args: &[&str]| {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let (code, out, err) = run(dir, &full);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (code, v)
    };
    let (code, v) = json(&["search", "sleep", "--page", "1"]);
    assert_eq!(code, 0);
    assert_eq!(v["results"][0]["slug"], "sleep");
    assert_eq!(v["page"], 1);
    let (_, v) = json(&["search", "--tag", "garden"]);
    assert_eq!(v["total"], 1);
    let (_, v) = json(&["summary", "compost", "guide"]);
    assert_eq!(v["source"], "front_matter");
    let (_, v) = json(&["takeaways", "stablecoins"]);
    assert_eq!(v["slug"], "stablecoins");
    assert_eq!(v["takeaways"].as_array().unwrap().len(), 2);
    let (_, v) = json(&["article", "why sleep matters"]);
    assert_eq!(v["slug"], "sleep");
    let (_, v) = json(&["related", "sleep"]);
    let related: Vec<&str> = v["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    // The similar article first, then every other one (fewer than `answer.related` exist).
    assert_eq!(related[0], "cycling");
    assert_eq!(related.len(), 3, "{related:?}");
    let (code, v) = json(&["article", "nonexistent thing"]);
    assert_eq!(code, 1, "not found exits 1");
    assert_eq!(v["error"], "not_found");
    let (code, v) = json(&["ask", "xylophone"]);
    assert_eq!(code, 1, "nothing matched exits 1");
    assert_eq!(v["results"].as_array().unwrap().len(), 0);
}

#[test]
fn index_reuses_and_rebuilds() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    let (code, out, _) = run(dir, &["--json", "index"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["articles"], 4);
    assert_eq!(v["reused"], false);
    let (_, out, _) = run(dir, &["--json", "index"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reused"], true);
    let (_, out, _) = run(dir, &["--json", "index", "--rebuild"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reused"], false);
    let (_, out, _) = run(dir, &["index", "--index", "memory"]);
    assert!(out.starts_with("indexed 4 article(s)"), "{out}");
}

#[test]
fn check_lists_warnings_and_exit_codes() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    let (code, out, _) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 article(s) indexed, 0 file(s) rejected"));
    f.write("broken.md", "+++\ntitle = \n+++\n");
    f.write_bytes("latin1.txt", b"Caf\xe9\n");
    let (code, out, _) = run(dir, &["check"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("broken.md:2: skipped: broken front matter"),
        "{out}"
    );
    assert!(
        out.contains("latin1.txt:1: skipped: not valid UTF-8"),
        "{out}"
    );
    assert!(out.contains("2 file(s) rejected"));
    let (code, out, _) = run(dir, &["--json", "check"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rejected"], 2);
    // The good articles still answer.
    let (code, _, err) = run(dir, &["ask", "caffeine"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("broken.md"),
        "rejected files are logged: {err}"
    );
}

#[test]
fn usage_and_config_errors_exit_2() {
    let f = Fixture::standard();
    let dir = f.dir.path();
    let (code, _, err) = run(dir, &["ask"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(dir, &["frobnicate"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = run(dir, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("chat"));
    f.config("[answer]\nresutls = 3\n");
    let (code, _, err) = run(dir, &["ask", "sleep"]);
    assert_eq!(code, 2);
    assert!(err.contains("resutls"), "names the unknown key: {err}");
    let (code, _, err) = run(dir, &["--config", "nope.toml", "ask", "sleep"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.toml"));
    f.config("");
    let (code, _, err) = run(
        dir,
        &["--content", "missing", "--index", "memory", "ask", "x"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
    let (code, _, _) = run(dir, &["search", "x", "--page", "0"]);
    assert_eq!(code, 2);
}

#[test]
fn json_output_is_not_mixed_with_logs() {
    let f = Fixture::standard();
    f.config("");
    f.write("bad.md", "");
    let out = bin()
        .current_dir(f.dir.path())
        .env("RUST_LOG", "debug")
        .args(["--json", "ask", "sleep"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is only JSON");
    assert!(v["results"].is_array());
    assert!(!out.stderr.is_empty(), "logs went to stderr");
}

#[test]
fn chat_runs_questions_and_commands() {
    let f = Fixture::standard();
    f.config("");
    let lines = chat_json(f.dir.path(), &[], "how long does composting take\n/search sleep\n/discuss sleep\nhow long is a cycle\n/takeaways cycling\n/quit\nnot reached\n");
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0]["results"][0]["slug"], "guides-composting");
    assert_eq!(lines[1]["query"], "sleep");
    assert_eq!(lines[2]["slug"], "sleep");
    assert_eq!(
        lines[3]["article"], "sleep",
        "questions go to the discussed article"
    );
    assert!(lines[3]["results"][0]["excerpt"]
        .as_str()
        .unwrap()
        .contains("ninety minutes"));
    assert_eq!(lines[4]["slug"], "cycling");
}

/// Every key of `fields` is in the object `v` (more may be added, none removed).
#[track_caller]
fn has_fields(v: &serde_json::Value, fields: &[&str], what: &str) {
    let object = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for field in fields {
        assert!(object.contains_key(*field), "{what}: no {field:?} in {v}");
    }
}

/// The README's JSON schema table, field by field, for every command.
#[test]
fn every_stable_json_field_is_there() {
    let f = Fixture::standard();
    f.config("");
    f.write("broken.md", "+++\ntitle = \n+++\n");
    let dir = f.dir.path();
    let json = |args: &[&str]| {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let (_, out, err) = run(dir, &full);
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap_or_else(|e| panic!("{e}: {out} {err}"))
    };
    let link = ["slug", "title", "url"];

    let v = json(&["ask", "how long does composting take"]);
    has_fields(
        &v,
        &[
            "question",
            "article",
            "results",
            "takeaways",
            "suggestions",
            "note",
        ],
        "ask",
    );
    has_fields(
        &v["results"][0],
        &[
            "slug",
            "title",
            "url",
            "article_url",
            "section",
            "excerpt",
            "highlights",
            "score",
        ],
        "ask result",
    );
    let (start, end) = (
        &v["results"][0]["highlights"][0][0],
        &v["results"][0]["highlights"][0][1],
    );
    assert!(start.as_u64().unwrap() < end.as_u64().unwrap(), "{v}");
    has_fields(
        &v["takeaways"],
        &["slug", "title", "url", "takeaways"],
        "ask takeaways",
    );
    // A question with no words to search for: the articles are suggested.
    let v = json(&["ask", "!!!"]);
    has_fields(&v["suggestions"][0], &link, "ask suggestion");

    let v = json(&["search", "sleep"]);
    has_fields(
        &v,
        &[
            "query", "tag", "total", "page", "pages", "per_page", "results", "note",
        ],
        "search",
    );
    has_fields(
        &v["results"][0],
        &[
            "slug",
            "title",
            "url",
            "snippet",
            "highlights",
            "tags",
            "score",
        ],
        "search result",
    );

    let v = json(&["summary", "sleep"]);
    has_fields(
        &v,
        &["slug", "title", "url", "summary", "source"],
        "summary",
    );
    assert_eq!(v["source"], "extractive");
    assert_eq!(json(&["summary", "stablecoins"])["source"], "standfirst");

    let v = json(&["takeaways", "composting"]);
    has_fields(&v, &["slug", "title", "url", "takeaways"], "takeaways");
    has_fields(&v["takeaways"][0], &["text", "links"], "a takeaway");
    has_fields(
        &v["takeaways"][0]["links"][0],
        &["text", "url"],
        "a takeaway link",
    );

    let v = json(&["article", "composting"]);
    has_fields(
        &v,
        &[
            "slug", "title", "url", "summary", "tags", "authors", "date", "aliases", "sections",
            "words", "related", "matched",
        ],
        "article",
    );
    has_fields(&v["related"][0], &link, "article related");

    let v = json(&["related", "stablecoins"]);
    has_fields(&v, &["slug", "title", "url", "related"], "related");
    has_fields(
        &v["related"][0],
        &["slug", "title", "url", "score"],
        "a related article",
    );

    let v = json(&["article", "Home Sleep Basics"]);
    has_fields(&v, &["error", "query", "suggestions"], "not found");
    assert_eq!(v["error"], "not_found");
    has_fields(&v["suggestions"][0], &link, "not found suggestion");

    let v = json(&["check"]);
    has_fields(&v, &["articles", "rejected", "warnings"], "check");
    has_fields(
        &v["warnings"][0],
        &["path", "line", "reason", "rejected"],
        "check warning",
    );

    let v = json(&["index"]);
    has_fields(
        &v,
        &[
            "articles",
            "passages",
            "rejected",
            "reused",
            "millis",
            "fingerprint",
        ],
        "index",
    );
}

/// "did you mean": a name that matches no article gets the close ones as suggestions.
#[test]
fn a_misspelt_article_gets_did_you_mean_suggestions() {
    let f = Fixture::standard();
    f.config("");
    let dir = f.dir.path();
    // Close enough to resolve on its own, and said so.
    let (code, out, _) = run(dir, &["--json", "article", "Why Slep Matters"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["slug"], "sleep");
    assert_eq!(
        v["matched"],
        "matched \"Why Slep Matters\" as \"Why Sleep Matters\""
    );
    // Not close enough: not found, with the close one suggested.
    let (code, out, _) = run(dir, &["--json", "article", "Home Sleep Basics"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"], "not_found");
    let slugs: Vec<&str> = v["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["guides-composting"], "{v}");
    let (code, out, _) = run(dir, &["article", "Home Sleep Basics"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "No article called \"Home Sleep Basics\".\nDid you mean:\n  - Home Composting Basics (guides-composting)\n"
    );
}

/// `chat`'s look-up commands: `/summary`, `/article`, `/related`.
#[test]
fn chat_summary_article_and_related() {
    let f = Fixture::standard();
    f.config("");
    let lines = chat_json(
        f.dir.path(),
        &[],
        "/summary compost guide\n/article why sleep matters\n/related stablecoins\n",
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["slug"], "guides-composting");
    assert_eq!(
        lines[0]["summary"],
        "Turn kitchen scraps into soil in a few months."
    );
    assert_eq!(lines[1]["slug"], "sleep");
    assert_eq!(lines[1]["title"], "Why Sleep Matters");
    assert_eq!(lines[2]["slug"], "stablecoins");
    let related: Vec<&str> = lines[2]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    // The most similar first, then the rest: `answer.related` (5) articles whenever the
    // collection has that many others (here 3).
    assert_eq!(related[0], "guides-composting");
    let mut rest = related[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, ["cycling", "sleep"]);
}
