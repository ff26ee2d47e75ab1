//! What a new user hit in the engine (issues 20 and 11): questions of only common words,
//! typos in `search`, paging past the end, snippets without the searched word, long input,
//! repeated excerpts, and the reload report's one-line form.

use std::time::Duration;

use articlebot::answer::{Answer, Command, Engine, Scope, SearchAnswer};
use articlebot::reload::{Outcome, ReloadReport};
use articlebot::render::{self, Style};

use crate::util::{ask, run, Fixture};

fn search(engine: &Engine, query: &str, page: usize) -> SearchAnswer {
    match engine
        .execute(&Command::Search {
            query: query.into(),
            page,
            tag: None,
        })
        .unwrap()
    {
        Answer::Search(s) => s,
        other => panic!("expected a search answer, got {other:?}"),
    }
}

#[test]
fn a_question_of_only_common_words_gets_no_passages() {
    let engine = Fixture::standard().engine();
    for question in ["what is the of and", "the", "is it", "why", "What is it?"] {
        let answer = engine
            .execute(&Command::Ask {
                question: question.into(),
                scope: Scope::Collection,
            })
            .unwrap();
        assert!(!answer.found(), "{question}: {answer:?}");
        let Answer::Ask(a) = answer else {
            panic!("{question}: not an ask answer");
        };
        assert!(a.results.is_empty(), "{question}");
        let note = a.note.unwrap_or_default();
        assert!(
            note.starts_with("ask about something: "),
            "{question}: {note}"
        );
    }
    let a = ask(&engine, "what is the of and");
    assert_eq!(
        a.note.as_deref(),
        Some(
            "ask about something: the question has only common words (\"what\", \"is\", \
             \"the\", …), which match every article; name a topic"
        )
    );
    // One content word is enough.
    let a = ask(&engine, "what is caffeine");
    assert_eq!(a.results[0].slug, "sleep");
}

#[test]
fn a_question_of_only_common_words_exits_1() {
    let f = Fixture::standard();
    f.config("");
    let (code, out, err) = run(f.dir.path(), &["ask", "is", "it"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("ask about something"), "{out}");
}

#[test]
fn search_tolerates_a_typo_and_says_so() {
    let engine = Fixture::standard().engine();
    let s = search(&engine, "compst", 1);
    assert_eq!(s.results[0].slug, "guides-composting");
    assert_eq!(s.total, 1);
    assert_eq!(
        s.note.as_deref(),
        Some("nothing matched exactly; these match similar spellings")
    );
    // The snippet marks the word as spelled in the article.
    let h = &s.results[0];
    let marked: Vec<&str> = h
        .highlights
        .iter()
        .map(|&(a, b)| &h.snippet[a..b])
        .collect();
    assert!(
        marked
            .iter()
            .any(|m| m.to_lowercase().starts_with("compost")),
        "{h:?}"
    );
    // Spelled right, no note.
    assert_eq!(search(&engine, "compost", 1).note, None);
}

/// `n` articles that all mention water.
fn watery(n: usize) -> Fixture {
    let f = Fixture::new();
    for i in 0..n {
        f.write(
            &format!("w{i:02}.md"),
            &format!("# Pond {i}\n\nPond {i} holds rain water for the garden.\n"),
        );
    }
    f
}

#[test]
fn paging_past_the_end_says_how_many_pages_there_are() {
    // Five results a page: six articles make two pages.
    let engine = watery(6).engine();
    let s = search(&engine, "water", 99);
    assert_eq!((s.total, s.pages), (6, 2));
    assert!(s.results.is_empty());
    assert_eq!(
        s.note.as_deref(),
        Some("page 99 is past the end: there are only 2 pages")
    );
    let text = render::text(&Answer::Search(s), Style::Plain);
    assert!(!text.contains("page 99 of"), "{text}");
    assert!(text.contains("6 article(s) match \"water\""), "{text}");
    assert!(text.contains("there are only 2 pages"), "{text}");
    // One page: said in the singular.
    let engine = watery(2).engine();
    assert_eq!(
        search(&engine, "water", 3).note.as_deref(),
        Some("page 3 is past the end: there is only 1 page")
    );
    // The last page itself is served.
    let engine = watery(6).engine();
    assert_eq!(search(&engine, "water", 2).results.len(), 1);
}

#[test]
fn a_snippet_holds_the_searched_word() {
    let f = Fixture::new();
    // Under a "Water" heading every sentence is about water; the one that says it is shown.
    f.write(
        "barrels.md",
        "# Rain Barrels\n\n## Water\n\nA barrel sits under the downspout and fills quickly in \
         a storm. Screens keep mosquitoes and leaves out of the barrel. Use the stored water on \
         flower beds, never for drinking.\n",
    );
    // The word comes late in a sentence longer than a snippet.
    f.write(
        "ponds.md",
        &format!(
            "# Garden Ponds\n\nA pond {} and in the end it needs fresh rainwater and clean \
             runoff.\n",
            "attracts frogs, dragonflies, birds and many other visitors ".repeat(5)
        ),
    );
    let engine = f.engine();
    let s = search(&engine, "water", 1);
    let barrels = s.results.iter().find(|h| h.slug == "barrels").unwrap();
    assert_eq!(
        barrels.snippet,
        "Use the stored water on flower beds, never for drinking."
    );
    let s = search(&engine, "runoff", 1);
    let ponds = &s.results[0];
    assert_eq!(ponds.slug, "ponds");
    assert!(ponds.snippet.contains("runoff"), "{}", ponds.snippet);
    assert!(ponds.snippet.starts_with('…'), "{}", ponds.snippet);
    assert!(ponds.snippet.chars().count() <= 200);
    let (a, b) = ponds.highlights[0];
    assert_eq!(&ponds.snippet[a..b], "runoff");
}

#[test]
fn a_long_query_is_cut_with_a_note() {
    let engine = Fixture::standard().engine();
    let long = format!("sleep {}", "x".repeat(2000));
    let s = search(&engine, &long, 1);
    assert_eq!(s.query.chars().count(), 1000);
    assert_eq!(s.results[0].slug, "sleep");
    assert_eq!(
        s.note.as_deref(),
        Some("the query was cut to its first 1000 characters")
    );
}

#[test]
fn a_name_not_found_is_echoed_cut() {
    let engine = Fixture::standard().engine();
    for command in [
        Command::Article {
            query: "q".repeat(100_000),
        },
        Command::Summary {
            article: "q".repeat(100_000),
        },
    ] {
        let Answer::NotFound(nf) = engine.execute(&command).unwrap() else {
            panic!("a name of 100,000 characters names no article");
        };
        assert_eq!(nf.query, format!("{}…", "q".repeat(99)));
        let text = render::text(&Answer::NotFound(nf), Style::Plain);
        assert!(text.len() < 300, "{text}");
    }
}

#[test]
fn no_answer_repeats_an_excerpt() {
    let f = Fixture::new();
    // A block of three sentences: an excerpt of any one of them grows to all three.
    f.write(
        "remote.md",
        "# Remote Work\n\nRemote work saves the commute. Remote work needs a quiet desk. Teams \
         meet online each morning.\n\n## Tools\n\nA shared calendar helps remote teams.\n",
    );
    f.write("other.md", "# Gardening\n\nDig the beds in spring.\n");
    let engine = f.engine();
    for scope in [
        Scope::PreferArticle("remote work".into()),
        Scope::Article("remote work".into()),
        Scope::Collection,
    ] {
        let Answer::Ask(a) = engine
            .execute(&Command::Ask {
                question: "what about remote work".into(),
                scope: scope.clone(),
            })
            .unwrap()
        else {
            panic!("not an ask answer");
        };
        let excerpts: Vec<&str> = a.results.iter().map(|r| r.excerpt.as_str()).collect();
        assert_eq!(
            excerpts,
            [
                "Remote work saves the commute. Remote work needs a quiet desk. Teams meet \
                 online each morning.",
                "A shared calendar helps remote teams.",
            ],
            "{scope:?}"
        );
    }
}

#[test]
fn the_reload_report_is_data_with_one_rendering() {
    let mut report = ReloadReport {
        outcome: Outcome::Swapped,
        added: vec!["new".into()],
        removed: Vec::new(),
        changed: vec!["a".into(), "b".into()],
        warnings: Vec::new(),
        articles: 3,
        took: Duration::from_millis(19),
        coalesced: false,
        sources: Vec::new(),
    };
    assert_eq!(
        render::reload_report(&report),
        "Reloaded: 3 article(s) in service (19 ms).\nadded (1): new\nchanged (2): a, b\n"
    );
    report.outcome = Outcome::KeptOld("2 file(s) rejected".into());
    report.added.clear();
    report.changed.clear();
    assert_eq!(
        render::reload_report(&report),
        "Reload failed, the previous content stays in service: 2 file(s) rejected (19 ms).\n\
         no article changed\n"
    );
}
