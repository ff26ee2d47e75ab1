//! Question analysis (`answer::Question`: tokens, stems, terms, pairs, kind) and the
//! conversation's recognition of a message (look-up, patterns with article and author slots,
//! fallback) against a small library: any text a user types is analysed without a panic, a
//! hang or a blow-up.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use articlebot::answer::question::{Question, MAX_TERMS};
use articlebot::content::{self, Format, Loaded};
use articlebot::conversation;
use articlebot::library::Library;
use articlebot::text;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// Articles with titles, aliases, authors and tags, for the recognition's slots to find.
const ARTICLES: &[(&str, &str)] = &[
    (
        "bridges.md",
        "+++\ntitle = \"How Bridges Fail\"\nauthors = [\"Ada Lovelace\"]\ntags = [\"engineering\"]\n\
         aliases = [\"bridge failures\"]\n+++\nBridges fail when pegs break.\n\n## Key Takeaways\n\n\
         - Inspect the pegs.\n",
    ),
    (
        "compost.md",
        "+++\ntitle = \"Composting at Home\"\nauthors = [\"Grace Hopper\"]\ntags = [\"garden\"]\n+++\n\
         Mix greens and browns. Turn the pile every week.\n\n## Why it works\n\nMicrobes need air.\n",
    ),
    (
        "notes.txt",
        "Notes on Lighthouses\nA short history.\n\nThe first lighthouse burned wood.\n",
    ),
];

fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let settings = common::settings();
        let articles = ARTICLES
            .iter()
            .map(|(path, text)| {
                let format = if path.ends_with(".md") {
                    Format::Markdown
                } else {
                    Format::PlainText
                };
                content::parse_article(settings, Path::new(path), format, text).expect("article")
            })
            .collect();
        let loaded = Loaded {
            articles,
            warnings: Vec::new(),
        };
        Library::from_loaded(settings, loaded).expect("library")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let q = Question::new(&text, |stem| stem.len() as f32);
    assert!(q.terms.len() <= MAX_TERMS);
    assert!(q.pairs.len() <= MAX_TERMS);
    for token in text::tokenize(&text) {
        assert!(
            text.get(token.span.clone()).is_some(),
            "a token's span is in its text"
        );
    }
    let (_, confidence, _) = conversation::understand(library(), &text);
    assert!((0.0..=1.0).contains(&confidence), "{confidence}");
});
