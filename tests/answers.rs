//! The command layer: each answer kind, scoping, suggestions and hostile questions.

use articlebot::answer::{Answer, Command, Scope, SummarySource};

use crate::util::{ask, Fixture};

fn run(f: &Fixture, cmd: Command) -> Answer {
    f.engine().execute(&cmd).unwrap()
}

#[test]
fn ask_finds_the_answering_passage_with_highlights_and_takeaways() {
    let f = Fixture::standard();
    let engine = f.engine();
    let a = ask(&engine, "How long does composting take?");
    let top = &a.results[0];
    assert_eq!(top.slug, "guides-composting");
    assert_eq!(top.section.as_deref(), Some("How Long It Takes"));
    assert!(
        top.excerpt.contains("two to three months"),
        "{}",
        top.excerpt
    );
    assert_eq!(
        top.url.as_deref(),
        Some("https://site.example/a/guides-composting#how-long-it-takes")
    );
    let marked: Vec<_> = top
        .highlights
        .iter()
        .map(|&(s, e)| top.excerpt[s..e].to_lowercase())
        .collect();
    assert!(
        marked.iter().any(|m| m.starts_with("compost")),
        "{marked:?}"
    );
    assert!(marked.iter().any(|m| m == "take"), "{marked:?}");
    let t = a.takeaways.expect("top article's takeaways");
    assert_eq!(t.slug, "guides-composting");
    assert_eq!(t.takeaways.len(), 2);
    assert!(a.results.len() <= 3);
}

#[test]
fn ask_picks_the_right_sentence_inside_a_passage() {
    let f = Fixture::standard();
    let engine = f.engine();
    let a = ask(&engine, "what is the half-life of caffeine");
    assert_eq!(a.results[0].slug, "sleep");
    assert!(a.results[0]
        .excerpt
        .starts_with("Caffeine has a half-life of about five hours"));
    let a = ask(&engine, "When did a stablecoin lose its peg?");
    assert_eq!(a.results[0].slug, "stablecoins");
    assert!(
        a.results[0].excerpt.contains("March 2023"),
        "{}",
        a.results[0].excerpt
    );
}

#[test]
fn ask_inside_one_article() {
    let f = Fixture::standard();
    let a = match run(
        &f,
        Command::Ask {
            question: "light".into(),
            scope: Scope::Article("Urban Cycling Safety".into()),
        },
    ) {
        Answer::Ask(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.article.as_deref(), Some("cycling"));
    assert!(a.results.iter().all(|r| r.slug == "cycling"));
    assert!(a.results[0].excerpt.contains("front light"));
    // An unknown article is a not-found answer with suggestions, not an error.
    match run(
        &f,
        Command::Ask {
            question: "light".into(),
            scope: Scope::Article("cyclng".into()),
        },
    ) {
        Answer::Ask(a) => assert_eq!(a.article.as_deref(), Some("cycling"), "typo resolved"),
        other => panic!("{other:?}"),
    }
    match run(
        &f,
        Command::Ask {
            question: "light".into(),
            scope: Scope::Article("qqqq".into()),
        },
    ) {
        Answer::NotFound(nf) => assert_eq!(nf.query, "qqqq"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn prefer_article_falls_back_to_the_collection() {
    let f = Fixture::standard();
    let cmd = |q: &str| Command::Ask {
        question: q.into(),
        scope: Scope::PreferArticle("sleep".into()),
    };
    let Answer::Ask(a) = run(&f, cmd("how much caffeine lingers")) else {
        panic!()
    };
    assert_eq!(a.article.as_deref(), Some("sleep"));
    assert_eq!(a.results[0].slug, "sleep");
    let Answer::Ask(a) = run(&f, cmd("stablecoin reserves treasury")) else {
        panic!()
    };
    assert_eq!(a.article, None, "fell back to the collection");
    assert_eq!(a.results[0].slug, "stablecoins");
}

#[test]
fn hostile_questions_get_answers_not_errors() {
    let f = Fixture::standard();
    let engine = f.engine();
    let long = "compost ".repeat(2000);
    let cases = [
        "",
        "   ",
        "\"unbalanced quote",
        "title:(sleep AND -cycling) OR [1 TO 5] ^3 ~2 *",
        "🚲🚲🚲 🦀",
        "@everyone <@123> ```code```",
        "\u{0}\u{7}\u{202e}control",
        long.as_str(),
    ];
    for q in cases {
        let a = ask(&engine, q);
        assert!(a.question.chars().count() <= 1000, "capped");
        if a.results.is_empty() {
            assert!(a.note.is_some(), "an empty answer says why: {q:?}");
        }
    }
    let a = ask(&engine, &long);
    assert_eq!(a.results[0].slug, "guides-composting");
    assert!(a.note.unwrap().contains("cut"));
    let a = ask(&engine, "");
    assert!(a.results.is_empty());
    assert_eq!(a.suggestions.len(), 4, "suggests articles");
    let a = ask(&engine, "\"unbalanced quote sleep");
    assert_eq!(a.results[0].slug, "sleep");
}

#[test]
fn nothing_matched_suggests_and_spelling_is_relaxed() {
    let f = Fixture::standard();
    let engine = f.engine();
    let a = ask(&engine, "xylophone quartet");
    assert!(a.results.is_empty());
    assert!(a.note.unwrap().contains("nothing"));
    let a = ask(&engine, "stablecoinz attestatons");
    assert_eq!(a.results[0].slug, "stablecoins", "{a:?}");
    assert!(a.note.unwrap().contains("similar spellings"));
}

/// Questions written the way people type: without accents, in the other English spelling, a
/// number where the article writes a Roman numeral. Each article also holds a decoy that shares
/// the question's plain words, so only the other spelling can pick the right one.
#[test]
fn other_spellings_of_a_question_word_find_the_article() {
    let f = Fixture::new();
    f.write(
        "pokemon.md",
        "# Pokémon\n\nPokémon was first released in 1996 as a pair of Game Boy games.\n",
    );
    f.write(
        "games.md",
        "# Handheld games\n\nMany handheld games were first released in the 1990s.\n",
    );
    f.write(
        "theatre.md",
        "# Stage\n\nThe Globe Theatre in London was built in 1599 for a playing company.\n",
    );
    f.write(
        "globe.md",
        "# Globes\n\nA globe in London shows the Earth, built to scale.\n",
    );
    f.write(
        "war.md",
        "# The Great War\n\nWWI ended with the armistice of 11 November 1918.\n",
    );
    f.write(
        "ended.md",
        "# Endings\n\nThe story ended when the war of words did.\n",
    );
    let engine = f.engine();

    let a = ask(&engine, "when was pokemon first released");
    assert_eq!(a.results[0].slug, "pokemon", "{a:?}");
    assert!(
        a.note.is_none(),
        "no spelling note for a folded accent: {a:?}"
    );
    let marked: Vec<&str> = a.results[0]
        .highlights
        .iter()
        .map(|&(s, e)| &a.results[0].excerpt[s..e])
        .collect();
    assert!(marked.contains(&"Pokémon"), "{marked:?}");

    let a = ask(&engine, "when was the globe theater in london built");
    assert_eq!(a.results[0].slug, "theatre", "{a:?}");
    assert!(a.note.is_none(), "theater is a spelling, not a typo: {a:?}");

    let a = ask(&engine, "when did ww1 end");
    assert_eq!(a.results[0].slug, "war", "{a:?}");
    assert!(a.results[0].excerpt.contains("1918"));

    // Autocomplete folds accents too.
    let c = engine.autocomplete("pokemon", 25);
    assert_eq!(c[0].value, "pokemon");
    assert_eq!(c[0].name, "Pokémon");
}

#[test]
fn search_pages_counts_and_tags() {
    let f = Fixture::new();
    for i in 0..12 {
        f.write(
            &format!("n{i:02}.md"),
            &format!(
                "+++\ntitle = \"Note {i}\"\ntags = [\"{}\"]\n+++\n\nThe river note number {i} talks about rivers.\n",
                if i % 2 == 0 { "even" } else { "odd" }
            ),
        );
    }
    f.write("other.md", "# Other\n\nNothing to see.\n");
    let engine = f.engine();
    let search = |q: &str, page, tag: Option<&str>| match engine
        .execute(&Command::Search {
            query: q.into(),
            page,
            tag: tag.map(Into::into),
        })
        .unwrap()
    {
        Answer::Search(s) => s,
        other => panic!("{other:?}"),
    };
    let p1 = search("rivers", 1, None);
    assert_eq!((p1.total, p1.pages, p1.results.len()), (12, 3, 5));
    let p3 = search("rivers", 3, None);
    assert_eq!(p3.results.len(), 2);
    let mut all: Vec<String> = (1..=3)
        .flat_map(|p| search("rivers", p, None).results)
        .map(|h| h.slug)
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12, "pages do not repeat articles");
    assert!(p1.results[0].snippet.contains("river"));
    assert!(!p1.results[0].highlights.is_empty());
    let even = search("rivers", 1, Some("EVEN"));
    assert_eq!(even.total, 6);
    assert!(even.results.iter().all(|h| h.tags == ["even"]));
    let tag_only = search("", 2, Some("odd"));
    assert_eq!((tag_only.total, tag_only.results.len()), (6, 1));
    let past = search("rivers", 9, None);
    assert!(past.results.is_empty());
    assert!(past.note.unwrap().contains("only 3 pages"));
    let none = search("zzzz", 1, None);
    assert_eq!(none.total, 0);
}

#[test]
fn summaries_from_front_matter_standfirst_and_extraction() {
    let f = Fixture::standard();
    let summary = |a: &str| match run(&f, Command::Summary { article: a.into() }) {
        Answer::Summary(s) => s,
        other => panic!("{other:?}"),
    };
    let s = summary("compost guide");
    assert_eq!(s.source, SummarySource::FrontMatter);
    assert_eq!(s.summary, "Turn kitchen scraps into soil in a few months.");
    let s = summary("stablecoins");
    assert_eq!(s.source, SummarySource::Standfirst);
    let s = summary("Why Sleep Matters");
    assert_eq!(s.source, SummarySource::Extractive);
    // Extractive sentences come from the article body, in document order.
    assert_eq!(
        s.summary,
        "Adults need seven to nine hours of sleep each night to stay healthy. Each night the \
         brain moves through four or five cycles of light, deep and REM sleep, each lasting \
         about ninety minutes. Deep sleep repairs muscles, while REM sleep consolidates memories."
    );
    assert!(
        !s.summary.contains("Keep a regular schedule"),
        "takeaways are not the summary"
    );
}

#[test]
fn takeaways_article_card_related_and_not_found() {
    let f = Fixture::standard();
    let Answer::Takeaways(t) = run(
        &f,
        Command::Takeaways {
            article: "stablecoins".into(),
        },
    ) else {
        panic!()
    };
    assert_eq!(t.takeaways.len(), 2);
    assert_eq!(t.url.as_deref(), Some("https://site.example/a/stablecoins"));
    assert_eq!(t.takeaways[0].links[0].url, "https://example.org/audits");

    let Answer::Article(c) = run(
        &f,
        Command::Article {
            query: "home compostng basics".into(),
        },
    ) else {
        panic!()
    };
    assert_eq!(c.slug, "guides-composting");
    assert!(c.matched.is_some(), "a typo match says so");
    assert_eq!(c.tags, ["garden", "Soil"]);
    assert_eq!(
        c.sections,
        ["Greens and Browns", "How Long It Takes", "Key Takeaways"]
    );

    match run(
        &f,
        Command::Article {
            query: "quantum".into(),
        },
    ) {
        Answer::NotFound(nf) => assert_eq!(nf.error, "not_found"),
        other => panic!("{other:?}"),
    }
    match run(
        &f,
        Command::Summary {
            article: "sle".into(),
        },
    ) {
        // The only article whose name starts with "sle".
        Answer::Summary(s) => assert_eq!(s.slug, "sleep"),
        other => panic!("{other:?}"),
    }
    let Answer::Related(r) = run(
        &f,
        Command::Related {
            article: "sleep".into(),
        },
    ) else {
        panic!()
    };
    let related: Vec<&str> = r.related.iter().map(|x| x.slug.as_str()).collect();
    assert_eq!(related[0], "cycling");
    assert!(r.related[0].score > 0.0);
    assert!(!related.contains(&"sleep"), "never the article itself");
}

#[test]
fn related_prefers_the_similar_article() {
    let f = Fixture::standard();
    f.write(
        "reserves.md",
        "# Auditing Stablecoin Reserves\n\nAn auditor checks that stablecoin reserves of treasury bills and cash back every token, so the peg holds.\n",
    );
    let Answer::Related(r) = run(
        &f,
        Command::Related {
            article: "stablecoins".into(),
        },
    ) else {
        panic!()
    };
    assert_eq!(r.related[0].slug, "reserves");
}

/// Slugs of `related` for `article` from `engine`, with their scores.
fn related_of(engine: &articlebot::answer::Engine, article: &str) -> Vec<(String, f32)> {
    let cmd = Command::Related {
        article: article.into(),
    };
    let Answer::Related(r) = engine.execute(&cmd).unwrap() else {
        panic!("not a related answer")
    };
    r.related.into_iter().map(|x| (x.slug, x.score)).collect()
}

#[test]
fn related_always_names_as_many_articles_as_configured() {
    let f = Fixture::new();
    f.write(
        "a1.md",
        "# Bees\n\nHoney bees keep a hive and make honey from nectar.\n",
    );
    f.write(
        "a2.md",
        "# Wasps\n\nWasps build paper nests; unlike bees they make no honey.\n",
    );
    f.write(
        "a3.md",
        "# Trains\n\nSleeper trains cross Europe at night.\n",
    );
    f.write(
        "a4.md",
        "# Gauges\n\nBroad gauge rails in Spain, standard gauge elsewhere.\n",
    );
    f.write("a5.md", "# Clouds\n\nCumulus forms on warm afternoons.\n");
    let mut settings = f.settings();
    for limit in [1, 3, 4, 10] {
        settings.answer.related = limit;
        let engine = articlebot::answer::Engine::new(f.library(), settings.answer.clone());
        let got = related_of(&engine, "a1");
        // Four other articles: all of them when more are asked for.
        assert_eq!(got.len(), limit.min(4), "limit {limit}: {got:?}");
        assert_eq!(got[0].0, "a2", "the article on the same subject first");
        assert!(got.iter().all(|(s, _)| s != "a1"));
        // Similar ones first; the rest, sharing no term, after them at score 0.
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "{got:?}");
        if limit >= 4 {
            assert!(got[1..].iter().all(|(_, score)| *score == 0.0), "{got:?}");
        }
    }
}

#[test]
fn persisted_vectors_answer_related_as_a_fresh_build() {
    let f = Fixture::standard();
    let s = f.persisted();
    let open = || {
        articlebot::library::Library::open(
            &s,
            articlebot::library::OpenMode::Reuse,
            &articlebot::library::NoProgress,
        )
        .unwrap()
    };
    let built = open();
    assert!(!built.info.reused);
    let reopened = open();
    assert!(reopened.info.reused, "opened from library.bin");
    assert_eq!(reopened.vectors, built.vectors);
    let memory = f.library();
    let (a, b, c) = (
        articlebot::answer::Engine::new(built, s.answer.clone()),
        articlebot::answer::Engine::new(reopened, s.answer.clone()),
        articlebot::answer::Engine::new(memory, s.answer.clone()),
    );
    for slug in ["sleep", "stablecoins", "cycling", "guides-composting"] {
        let want = related_of(&c, slug);
        assert_eq!(related_of(&a, slug), want, "{slug}");
        assert_eq!(related_of(&b, slug), want, "{slug}");
    }
}

#[test]
fn autocomplete_ranks_within_the_limit_asked() {
    let f = Fixture::standard();
    let long_title = "A".repeat(30) + &" very long title".repeat(20);
    f.write(
        "long.md",
        &format!("+++\ntitle = \"{long_title}\"\n+++\ntext\n"),
    );
    for i in 0..40 {
        f.write(
            &format!("many/s{i}.md"),
            &format!("# Sleep Note {i}\n\ntext\n"),
        );
    }
    let engine = f.engine();
    let c = engine.autocomplete("sle", 25);
    assert_eq!(c.len(), 25);
    assert_eq!(engine.autocomplete("sle", 3).len(), 3);
    let c = engine.autocomplete("why sleep", 25);
    assert_eq!(c[0].value, "sleep");
    let c = engine.autocomplete("compost g", 25);
    assert_eq!(c[0].name, "compost guide");
    assert_eq!(c[0].value, "guides-composting");
    // The core gives the whole title; each front end cuts it to its own limits (Discord's:
    // tests/discord/commands.rs, autocomplete_offers_at_most_25_short_choices).
    let c = engine.autocomplete("aaaa", 25);
    assert_eq!(c[0].name, long_title);
    let c = engine.autocomplete("urbn cycling", 25);
    assert_eq!(c[0].value, "cycling");
    assert!(engine.autocomplete(&"x".repeat(5000), 25).is_empty());
}

#[test]
fn json_schema_of_answers() {
    let f = Fixture::standard();
    let engine = f.engine();
    let a = engine
        .execute(&Command::Ask {
            question: "how long does compost take".into(),
            scope: Scope::Collection,
        })
        .unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["question"], "how long does compost take");
    let r = &v["results"][0];
    for key in [
        "slug",
        "title",
        "url",
        "section",
        "excerpt",
        "score",
        "highlights",
    ] {
        assert!(r.get(key).is_some(), "results[].{key}");
    }
    for key in ["slug", "title", "url", "takeaways"] {
        assert!(v["takeaways"].get(key).is_some(), "takeaways.{key}");
    }
    assert!(v["takeaways"]["takeaways"][0]["links"][0]["url"].is_string());
    let s = engine
        .execute(&Command::Search {
            query: "sleep".into(),
            page: 1,
            tag: None,
        })
        .unwrap();
    let v = serde_json::to_value(&s).unwrap();
    for key in ["query", "total", "page", "results"] {
        assert!(v.get(key).is_some(), "search.{key}");
    }
}
