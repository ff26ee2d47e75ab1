//! The bundled `content/`: it must load cleanly and show off every feature it documents.

use std::path::Path;

use articlebot::answer::{Answer, Command, Engine, Scope};
use articlebot::config::Settings;
use articlebot::content::{self, Format};
use articlebot::library::{Library, NoProgress, OpenMode};

fn bundled() -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config.toml")).unwrap();
    let mut s = Settings::from_toml(&text, root).expect("the bundled config.toml is valid");
    s.index = articlebot::config::IndexLocation::Memory;
    s
}

#[test]
fn bundled_content_loads_cleanly_with_takeaways_everywhere() {
    let s = bundled();
    let loaded = content::load(&s.content).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded.articles.len() >= 12);
    let md = loaded
        .articles
        .iter()
        .filter(|a| a.format == Format::Markdown)
        .count();
    let txt = loaded
        .articles
        .iter()
        .filter(|a| a.format == Format::PlainText)
        .count();
    assert!(md >= 4 && txt >= 4, "both formats: {md} md, {txt} txt");
    for a in &loaded.articles {
        assert!(!a.takeaways.is_empty(), "{} has no takeaways", a.slug);
        assert!(a.url.is_some(), "{} has no link", a.slug);
    }
    let with_links = loaded
        .articles
        .iter()
        .filter(|a| a.takeaways.iter().any(|t| !t.links.is_empty()))
        .count();
    assert!(with_links >= 3, "links inside takeaways: {with_links}");
    let crypto = loaded
        .articles
        .iter()
        .find(|a| {
            a.sections.last().and_then(|s| s.heading.as_deref())
                == Some("The Takeaway for Crypto Innovators")
        })
        .expect("the plain-text article ending in 'The Takeaway for Crypto Innovators'");
    assert_eq!(crypto.format, Format::PlainText);
    assert!(crypto.sections.last().unwrap().takeaway);
}

#[test]
fn bundled_content_answers_its_own_questions() {
    let s = bundled();
    let lib = Library::open(&s, OpenMode::Reuse, &NoProgress).unwrap();
    let engine = Engine::new(lib, s.answer.clone());
    // Each question's answering sentence names something only that article says.
    for (question, expected) in [
        ("how much water does a rain barrel hold", "55 gallons"),
        (
            "how many hours of sleep do adults need",
            "seven to nine hours",
        ),
        (
            "how long does creating a sourdough starter take",
            "seven to fourteen days",
        ),
        ("what is the bus factor", "bus factor"),
        // Only the section heading says "Temperature"; the answer sentence does not.
        (
            "what temperature does a sourdough starter like",
            "24 to 27 degrees Celsius",
        ),
    ] {
        let Answer::Ask(a) = engine
            .execute(&Command::Ask {
                question: question.into(),
                scope: Scope::Collection,
            })
            .unwrap()
        else {
            panic!()
        };
        assert!(
            a.results[0].excerpt.contains(expected),
            "{question}: {:?}",
            a.results[0].excerpt
        );
    }
}
