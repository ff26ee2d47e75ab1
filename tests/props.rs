//! Properties that hold for any input: parsing terminates without a panic (Markdown, plain
//! text, front matter), every excerpt and highlight range is a char boundary inside its text,
//! what the Discord render layer makes fits Discord's limits (content, embeds, autocomplete
//! choices, button ids), and no `@everyone`, `@here`, user, role or channel mention survives
//! rendering from article text or questions.
//!
//! Few cases each, so that the whole file runs in seconds in a debug build; the fuzz targets
//! (`fuzz/`, README "Fuzzing") search the same ground for hours.

use std::path::Path;
use std::sync::Arc;

use articlebot::answer::excerpt;
use articlebot::answer::question::Question;
use articlebot::answer::{self, Answer, Command, Scope};
use articlebot::config::Settings;
use articlebot::content::{self, Format, Loaded};
use articlebot::conversation::{self, State};
use articlebot::discord::buttons::{self, Action, SectionButton};
use articlebot::discord::interactions::{self, Bot, Reply};
use articlebot::discord::render::{self, limits};
use articlebot::library::Library;
use articlebot::service::Service;
use articlebot::text;
use proptest::prelude::*;
use serde_json::{json, Value};

/// `cases` per property; failures are not persisted to files (each fix gets a named test).
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Inputs

/// Pieces that mean something to the parsers, the renderer or Discord, and noise.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,9}( [a-z]{1,9}){0,4}[.?!,;:]? ?",
        2 => "\\PC{0,12}",
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z]{80,300}",
        3 => prop::sample::select(vec![
            "\n", "\n\n", "\r\n", "\t", " ", "# ", "## ", "###### ", "+++\n", "+++", "---\n",
            "- ", "* ", "• ", "1. ", "> ", "`", "```\n", "~~", "**", "_", "|", "| a | b |\n",
            "|---|---|\n", "[a](https://x.example/p)", "[", "](", ")", "<https://y.example>",
            "![i](https://i.example/p.png)", "@everyone", "@here", "@EveryOne", "<@123>",
            "<@!123>", "<@&456>", "<#789>", "<t:1:R>", "\\", "\u{feff}", "\u{200b}", "é", "€",
            "🦀", "\u{0301}", "title = \"T\"\n", "tags = [\"a\"]\n", "date = 2024-05-01\n",
            "bogus = = 1\n", "Key Takeaways\n", "## Key Takeaways\n", "TL;DR\n", ":", "\"",
        ])
        .prop_map(str::to_string),
    ]
}

/// Text made of [`piece`]s.
fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..max).prop_map(|p| p.concat())
}

/// An article: TOML front matter (title, aliases, tags and authors from `soup`, quoted as TOML
/// quotes them) or none, then a body.
fn article_text() -> impl Strategy<Value = String> {
    (
        prop::option::of((soup(6), prop::collection::vec(soup(4), 0..3))),
        soup(8),
        soup(60),
    )
        .prop_map(|(front, heading, body)| {
            let mut out = String::new();
            if let Some((title, names)) = front {
                #[derive(serde::Serialize)]
                struct Front {
                    title: String,
                    aliases: Vec<String>,
                    tags: Vec<String>,
                    authors: Vec<String>,
                }
                let front = Front {
                    title,
                    aliases: names.clone(),
                    tags: names.clone(),
                    authors: names,
                };
                out.push_str(&format!("+++\n{}+++\n", toml::to_string(&front).unwrap()));
            }
            out.push_str(&format!("# {}\n\n{body}", heading.replace('\n', " ")));
            out
        })
}

fn settings() -> Settings {
    let mut s = Settings::for_content("content");
    s.content.base_url = "https://site.example/a".into();
    s.discord.cooldown = std::time::Duration::ZERO;
    s
}

/// The library of the articles among `texts` that parse (`None` when none does).
fn library(settings: &Settings, texts: &[String]) -> Option<Library> {
    let articles: Vec<_> = texts
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let rel = format!("a{i}.md");
            content::parse_article(&settings.content, Path::new(&rel), Format::Markdown, t).ok()
        })
        .collect();
    if articles.is_empty() {
        return None;
    }
    let loaded = Loaded {
        articles,
        warnings: Vec::new(),
    };
    Some(Library::from_loaded(&settings.content, loaded).expect("library"))
}

// ---------------------------------------------------------------------------------------
// Checks

/// No mention Discord would act on: `@everyone` and `@here` (any case), `<@id>`, `<@!id>`,
/// `<@&id>` and `<#id>`.
fn assert_inert(text: &str, what: &str) {
    let lower = text.to_lowercase();
    for ping in ["@everyone", "@here"] {
        assert!(!lower.contains(ping), "{what}: {ping} survived in {text:?}");
    }
    for (at, _) in text.match_indices('<') {
        let rest = &text[at + 1..];
        let rest = rest
            .strip_prefix("@!")
            .or_else(|| rest.strip_prefix("@&"))
            .or_else(|| rest.strip_prefix('@'))
            .or_else(|| rest.strip_prefix('#'));
        if let Some(rest) = rest {
            assert!(
                !rest.starts_with(|c: char| c.is_ascii_digit()),
                "{what}: a mention survived in {text:?}"
            );
        }
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// A message as Discord receives it (serialized): content, embeds and components within
/// Discord's limits, `allowed_mentions` allowing nothing, and no mention in any text.
fn assert_message_fits(message: &Value, what: &str) {
    let text = |v: &Value, part: &str| {
        if let Some(s) = v.as_str() {
            assert_inert(s, &format!("{what} {part}"));
        }
    };
    assert!(
        chars(&message["content"]) <= limits::CONTENT,
        "{what}: {message}"
    );
    text(&message["content"], "content");
    // Every message says that nothing may ping (serenity leaves the lists out when empty).
    let allowed = &message["allowed_mentions"];
    assert_eq!(allowed["parse"], json!([]), "{what}: {message}");
    for list in ["users", "roles"] {
        assert!(
            allowed[list].as_array().is_none_or(|l| l.is_empty()),
            "{what}: {message}"
        );
    }
    let embeds = message["embeds"].as_array().cloned().unwrap_or_default();
    assert!(embeds.len() <= limits::EMBEDS, "{what}");
    let mut total = 0;
    for e in &embeds {
        let (title, description) = (chars(&e["title"]), chars(&e["description"]));
        assert!(title <= limits::TITLE, "{what}: title {title}");
        assert!(
            description <= limits::DESCRIPTION,
            "{what}: description {description}"
        );
        text(&e["title"], "title");
        text(&e["description"], "description");
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.len() <= limits::FIELDS, "{what}");
        total += title + description + chars(&e["footer"]["text"]);
        assert!(chars(&e["footer"]["text"]) <= limits::FOOTER, "{what}");
        for f in &fields {
            let (name, value) = (chars(&f["name"]), chars(&f["value"]));
            assert!(
                (1..=limits::FIELD_NAME).contains(&name),
                "{what}: field name {name}"
            );
            assert!(
                (1..=limits::FIELD_VALUE).contains(&value),
                "{what}: field value {value}"
            );
            text(&f["name"], "field name");
            text(&f["value"], "field value");
            total += name + value;
        }
    }
    assert!(
        total <= limits::EMBED_TOTAL,
        "{what}: {total} characters in embeds"
    );
    let rows = message["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(rows.len() <= 5, "{what}: {} rows", rows.len());
    for row in &rows {
        let buttons = row["components"].as_array().cloned().unwrap_or_default();
        assert!(buttons.len() <= 5, "{what}");
        for b in &buttons {
            assert!(
                chars(&b["custom_id"]) <= buttons::CUSTOM_ID_MAX,
                "{what}: {b}"
            );
            assert!(chars(&b["label"]) <= 80, "{what}: {b}");
        }
    }
}

/// A rendered answer, checked as the message Discord receives.
fn assert_rendered_fits(r: &render::Rendered, what: &str) {
    let message = serde_json::to_value(r.message()).unwrap();
    assert_message_fits(&message, what);
}

/// Ranges inside their text, on its char boundaries.
fn assert_ranges(text: &str, ranges: &[(usize, usize)], what: &str) {
    for &(s, e) in ranges {
        assert!(s <= e && e <= text.len(), "{what}: {ranges:?} in {text:?}");
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{what}: {s}..{e} not on char boundaries of {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

proptest! {
    #![proptest_config(cases(256))]

    /// Any text is an article or a warning naming why, in both formats; an article has a
    /// title, a slug and blocks of text with http(s) links only.
    #[test]
    fn parsing_any_text_ends_in_an_article_or_a_warning(text in article_text(), raw in soup(40)) {
        let s = settings();
        for source in [&text, &raw] {
            for (rel, format) in [("a.md", Format::Markdown), ("a.txt", Format::PlainText)] {
                match content::parse_with_notes(&s.content, Path::new(rel), format, source) {
                    Ok((article, _)) => {
                        prop_assert!(!article.title.trim().is_empty());
                        prop_assert!(!article.slug.is_empty());
                        for block in article.sections.iter().flat_map(|s| &s.blocks) {
                            prop_assert!(!block.text.is_empty());
                            for link in &block.links {
                                prop_assert!(content::check_url(&link.url).is_ok());
                            }
                        }
                    }
                    Err(w) => prop_assert!(!w.reason.is_empty()),
                }
            }
        }
    }

    /// Sentences, words, excerpts and highlights of any text are ranges on its char
    /// boundaries.
    #[test]
    fn text_ranges_are_char_boundaries(text in soup(30), question in soup(8), max in 1usize..400) {
        let sentences = text::sentences(&text);
        let spans: Vec<(usize, usize)> = sentences.iter().map(|r| (r.start, r.end)).collect();
        assert_ranges(&text, &spans, "sentences");
        for span in text::word_spans(&text) {
            prop_assert!(text.get(span.clone()).is_some(), "{span:?} of {text:?}");
        }
        for best in 0..sentences.len().min(4) {
            let r = excerpt::excerpt_range(&text, &sentences, best, max);
            prop_assert!(text.get(r.clone()).is_some(), "{r:?} of {text:?}");
        }
        let q = Question::new(&question, |_| 1.0);
        assert_ranges(&text, &excerpt::highlights(&text, &q), "highlights");
    }

    /// Notices and reports (errors, refusals, `/stats`, reload reports) fit a message's
    /// content and ping nobody, whatever text they carry.
    #[test]
    fn notices_and_reports_fit_and_ping_nobody(
        // Report titles are the bot's own short words ("Reload", "Statistics").
        title in "[A-Za-z @<>#&!*_]{0,40}",
        body in soup(200),
    ) {
        let notice = render::notice(&body);
        prop_assert!(notice.chars().count() <= limits::CONTENT);
        assert_inert(&notice, "notice");
        let report = render::report(&title, &body);
        prop_assert!(report.chars().count() <= limits::CONTENT);
        assert_inert(&report, "report");
        let inert = render::inert(&body);
        assert_inert(&inert, "inert");
    }

    /// `fit` stays within its budget, and ranges given with the text never break it.
    #[test]
    fn fitted_text_stays_within_its_budget(text in soup(60), max in 20usize..1200, cut in 0usize..64) {
        let spans: Vec<(usize, usize)> = text::word_spans(&text)
            .map(|r| (r.start, r.end))
            .filter(|&(s, _)| s % 3 == cut % 3)
            .collect();
        let link = Some("https://site.example/a/x");
        let fitted = render::fit(&text, &spans, max, link);
        prop_assert!(fitted.chars().count() <= max, "{} > {max}: {fitted:?}", fitted.chars().count());
        assert_inert(&fitted, "fit");
    }

    /// Button ids: what the bot writes is at most 100 characters and reads back as the
    /// command it was written for.
    #[test]
    fn button_ids_fit_and_read_back(
        a in soup(4),
        b in soup(12),
        page in 1usize..=10_000,
        asker in any::<u64>(),
        n in any::<usize>(),
        kind in 0u8..7,
    ) {
        // A scoped question always names its article (the option is required).
        let article = format!("x{a}");
        let command = match kind {
            0 => Command::Search { query: b, page, tag: Some(a.clone()).filter(|a| !a.is_empty()) },
            1 => Command::Ask { question: b, scope: Scope::Collection },
            2 => Command::Ask { question: b, scope: Scope::Article(article) },
            3 => Command::Ask { question: b, scope: Scope::PreferArticle(article) },
            4 => Command::Summary { article: b },
            5 => Command::Takeaways { article: b },
            _ => Command::Related { article: b },
        };
        for action in [Action::Prev, Action::Next, Action::Post] {
            if let Some(id) = buttons::carried(action, asker, &command) {
                prop_assert!(id.chars().count() <= buttons::CUSTOM_ID_MAX);
                prop_assert_eq!(
                    buttons::parse(&id),
                    Some(buttons::ButtonId::Carried { action, asker, command: Some(command.clone()) })
                );
            }
        }
        // Slugs are never empty.
        let slug = format!("s{}", text::slugify(&a));
        for button in [
            SectionButton::Show { section: n, slug: Some(slug.clone()) },
            SectionButton::More { from: n, slug: Some(slug) },
        ] {
            let id = button.custom_id();
            prop_assert!(id.chars().count() <= buttons::CUSTOM_ID_MAX, "{}", id);
            let back = buttons::parse_section(&id);
            prop_assert!(back.is_some(), "{}", id);
            // The slug is left out only when it does not fit.
            if back.as_ref().and_then(|b| b.slug()).is_none() {
                let slug = button.slug().unwrap().chars().count();
                prop_assert!(id.chars().count() + 1 + slug > buttons::CUSTOM_ID_MAX, "{}", id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Answers and their rendering, on libraries of generated articles

/// Every command on the library, every range of every answer, every rendering.
fn check_answers(lib: &Library, settings: &Settings, question: &str) {
    let first = lib.article(0).slug.clone();
    let commands = [
        Command::Ask {
            question: question.to_string(),
            scope: Scope::Collection,
        },
        Command::Ask {
            question: question.to_string(),
            scope: Scope::Article(first.clone()),
        },
        Command::Search {
            query: question.to_string(),
            page: 1,
            tag: None,
        },
        Command::Summary {
            article: question.to_string(),
        },
        Command::Summary {
            article: first.clone(),
        },
        Command::Takeaways {
            article: first.clone(),
        },
        Command::Article {
            query: question.to_string(),
        },
        Command::Related { article: first },
    ];
    for command in &commands {
        let answer = answer::execute(lib, &settings.answer, command).expect("answered");
        match &answer {
            Answer::Ask(a) => {
                for r in &a.results {
                    assert_ranges(&r.excerpt, &r.highlights, "ask excerpt");
                }
            }
            Answer::Search(s) => {
                for hit in &s.results {
                    assert_ranges(&hit.snippet, &hit.highlights, "search snippet");
                }
            }
            _ => {}
        }
        assert_rendered_fits(&render::answer(&answer), &format!("{command:?}"));
    }
    let state = State::default();
    for message in [question.to_string(), format!("tell me about {question}")] {
        let (turn, _) = conversation::respond(
            lib,
            &settings.answer,
            &settings.conversation,
            &state,
            &message,
            1_700_000_000,
        )
        .expect("a turn");
        assert_rendered_fits(&render::turn(&turn), &format!("turn {message:?}"));
    }
}

/// An autocomplete interaction while `typed` is in the `article` option of `/summary`.
fn autocomplete(typed: &str) -> Value {
    json!({
        "id": "1300000000000000001",
        "application_id": "900000000000000001",
        "type": 4,
        "data": {
            "id": "1180000000000000007", "name": "summary", "type": 1,
            "options": [{"name": "article", "type": 3, "value": typed, "focused": true}]
        },
        "channel_id": "900000000000000004",
        "user": {
            "id": "1180000000000000004", "username": "reader", "discriminator": "0",
            "global_name": "reader", "avatar": null, "bot": false, "public_flags": 0, "flags": 0,
            "banner": null, "accent_color": null, "avatar_decoration_data": null,
            "collectibles": null, "primary_guild": null
        },
        "token": "token",
        "version": 1,
        "app_permissions": "2251799813685247",
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 1,
        "attachment_size_limit": 10485760
    })
}

/// The choices the interaction layer answers an autocomplete with: at most 25, names of
/// 1-100 characters, values of at most 100.
fn check_autocomplete(runtime: &tokio::runtime::Runtime, bot: &Arc<Bot>, typed: &str) {
    let interaction = serde_json::from_value(autocomplete(typed)).expect("an interaction");
    let Reply::Now(response) = runtime.block_on(interactions::handle(bot, interaction)) else {
        panic!("autocomplete is answered at once");
    };
    let response = serde_json::to_value(&response).unwrap();
    assert_eq!(response["type"], 8, "{response}");
    let choices = response["data"]["choices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(choices.len() <= limits::CHOICES, "{}", choices.len());
    for c in &choices {
        assert!((1..=limits::CHOICE).contains(&chars(&c["name"])), "{c}");
        assert!(chars(&c["value"]) <= limits::CHOICE, "{c}");
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// For any collection and any question: excerpt and snippet highlights are char
    /// boundaries inside their text, and every answer, conversation turn and autocomplete
    /// the Discord layer renders fits Discord's limits and pings nobody.
    #[test]
    fn answers_render_within_discords_limits(
        texts in prop::collection::vec(article_text(), 1..4),
        questions in prop::collection::vec(soup(10), 1..3),
    ) {
        let settings = settings();
        let Some(lib) = library(&settings, &texts) else {
            return Ok(());
        };
        for q in &questions {
            check_answers(&lib, &settings, q);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let bot = Bot::new(Service::new(settings.clone(), lib).unwrap());
        for q in &questions {
            check_autocomplete(&runtime, &bot, q);
            let prefix: String = q.chars().take(3).collect();
            check_autocomplete(&runtime, &bot, &prefix);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The question's words and the index's terms

/// The index's own tokens of `text`: (byte range, term).
fn analyzer_tokens(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    use tantivy::tokenizer::TokenStream;
    let mut analyzer = articlebot::index::analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push((t.offset_from..t.offset_to, t.text.clone()));
    }
    out
}

proptest! {
    #![proptest_config(cases(256))]

    /// A stem the core computes for a word is the term the index holds for it, whatever the
    /// script, case or length: otherwise a question's word never finds the passages that hold
    /// it, and the related vectors count terms no search can reach.
    #[test]
    fn any_text_tokenizes_as_the_index_does(
        text in "(\\PC|[ \\-'.,]){0,60}",
        long in 36usize..44,
        letter in "[a-z]",
        words in proptest::collection::vec("[a-zA-ZéÉΣσςßİıŉǅﬁ]{1,12}", 0..6),
    ) {
        let word = letter.repeat(long);
        let words = words.join(" ");
        for t in [text.clone(), format!("{text} {word} {text}"), words] {
            let ours: Vec<_> = text::tokenize(&t).into_iter().map(|w| (w.span, w.stem)).collect();
            prop_assert_eq!(ours, analyzer_tokens(&t), "text {:?}", t);
        }
    }
}
