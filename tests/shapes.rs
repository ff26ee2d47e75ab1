//! Plain-text articles in the shapes they arrive in (a newsletter platform's export, an email
//! digest, a blog page copied as text, the bundled collection's shape): the sections and
//! takeaways each must yield, and the note `check` gives when headings look missed.

use std::path::Path;

use articlebot::content::{self, Article, Format};

use crate::util::Fixture;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plain")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses `text` as the plain-text file `name` and returns the article and its notes.
fn parse(name: &str, text: &str) -> (Article, Vec<content::Warning>) {
    let f = Fixture::new();
    content::parse_with_notes(
        &f.settings().content,
        Path::new(name),
        Format::PlainText,
        text,
    )
    .unwrap_or_else(|w| panic!("{w}"))
}

fn headings(a: &Article) -> Vec<Option<&str>> {
    a.sections.iter().map(|s| s.heading.as_deref()).collect()
}

fn takeaways(a: &Article) -> Vec<&str> {
    a.takeaways.iter().map(|t| t.text.as_str()).collect()
}

/// Checks one file: its title, summary, section headings and takeaways, and that it gives no
/// note.
fn check(name: &str, title: &str, summary: &str, sections: &[&str], expected: &[&str]) {
    let (a, notes) = parse(name, &fixture(name));
    assert_eq!(a.title, title, "{name}");
    assert_eq!(a.summary.as_deref(), Some(summary), "{name}");
    let mut want = vec![None];
    want.extend(sections.iter().map(|s| Some(*s)));
    assert_eq!(headings(&a), want, "{name}");
    assert_eq!(takeaways(&a), expected, "{name}");
    assert!(notes.is_empty(), "{name}: {notes:?}");
}

#[test]
fn newsletter_export_headings_directly_above_their_paragraphs() {
    check(
        "newsletter.txt",
        "Solar Panels, Plainly",
        "What a rooftop system really makes, what it costs, and how to buy one without regret.",
        &[
            "How Much Power a Panel Makes",
            "What a System Costs",
            "The Takeaway for Homeowners",
            "Elsewhere This Week",
        ],
        &[
            "Get three quotes and compare the price per watt, not the monthly payment.",
            "Ask each installer for the panel's degradation rate and the length of the \
             workmanship warranty.",
        ],
    );
    let (a, _) = parse("newsletter.txt", &fixture("newsletter.txt"));
    // The dateline and the greeting are their own paragraphs, not glued to the next one.
    let intro: Vec<_> = a.sections[0]
        .blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect();
    assert_eq!(
        intro,
        [
            "What a rooftop system really makes, what it costs, and how to buy one without regret.",
            "The Home Energy Letter · Issue 42 · March 2025",
            "Hi friends,",
            "This week: how much power a rooftop panel makes, what a system costs after the tax \
             credit, and how to pick an installer.",
        ]
    );
    // Two paragraphs under "What a System Costs", one per line inside the block.
    assert_eq!(a.sections[2].blocks.len(), 2);
}

#[test]
fn email_digest_hard_wrapped_with_headings_above_paragraphs() {
    check(
        "digest.txt",
        "Riverside Community Garden Digest",
        "News from the plots, the tool shed and the committee, week of 14 April.",
        &[
            "Rain Barrels Are Back",
            "Tool Library Hours",
            "The Spring Plant Sale",
            "Key Takeaways",
            "Committee Notes",
        ],
        &[
            "Order a rain barrel before 30 April if you want one this season.",
            "The tool library now opens on Sundays too.",
            "Volunteers for the plant sale sign up at https://riverside-garden.example/sale.",
        ],
    );
    let (a, _) = parse("digest.txt", &fixture("digest.txt"));
    // Wrapped lines are joined, even where the next line starts with a capital ("on" /
    // "Wednesday evenings"): the word would not have fitted.
    let tools: Vec<_> = a.sections[2]
        .blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect();
    assert_eq!(
        tools,
        [
            "From May the tool library opens on Sundays from 10 to 2 as well as on Wednesday \
          evenings. Borrowed tools come back clean and dry within a week; the wheelbarrows \
          stay on site."
        ]
    );
    assert_eq!(
        a.takeaways[2].links[0].url,
        "https://riverside-garden.example/sale"
    );
}

#[test]
fn blog_page_copied_as_text_one_paragraph_per_line() {
    check(
        "blog-copy.txt",
        "How to Keep a Sourdough Starter Alive",
        // The byline is not the summary.
        "A starter is just flour, water and time, and it forgives far more than most new \
         bakers fear.",
        &[
            "Feeding on a Schedule",
            "When It Smells Like Nail Polish",
            "Storing It in the Fridge",
            "TL;DR",
            "Further Reading",
        ],
        &[
            "Feed daily at room temperature or weekly in the fridge.",
            "A sour, fruity smell is healthy; an acetone smell means it is hungry.",
        ],
    );
}

#[test]
fn the_bundled_shape_one_paragraph_per_line() {
    check(
        "seed-shaped.txt",
        "Heat Pumps for Cold Climates",
        "Modern heat pumps keep homes warm well below freezing, and the numbers now favour \
         them in most houses.",
        &[
            "How a Heat Pump Works",
            "Sizing Matters",
            "The Takeaway for Homeowners",
        ],
        &[
            "Ask for a room-by-room heat-loss calculation before accepting any quote.",
            "Choose a cold-climate model rated to keep working at the lowest temperature your \
             area sees.",
        ],
    );
}

#[test]
fn headings_that_look_missed_get_a_note() {
    let (a, notes) = parse("questions.txt", &fixture("questions.txt"));
    assert_eq!(headings(&a), [None]);
    let notes: Vec<_> = notes.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notes,
        [
            "questions.txt:4: note: read as one section, though lines such as \"Why does the \
          rate matter so much?\" look like headings: a heading is a short line with no final \
          punctuation (. ? ! : , ;) above its paragraph"
        ]
    );
    // A file with one such line, or with real sections, gets none.
    let (_, notes) = parse(
        "one.txt",
        "Title\nStandfirst here.\n\nWhy now?\n\nBecause the rates fell by a full point this \
         spring and may rise again.\n",
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn the_note_reaches_check() {
    let f = Fixture::new();
    f.write("questions.txt", &fixture("questions.txt"));
    let loaded = content::load(&f.settings().content).unwrap();
    assert_eq!(loaded.articles.len(), 1);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, Some(4));
    assert!(!loaded.warnings[0].rejected);
}

/// The bundled plain-text articles keep the sections they had before the newsletter layout
/// was read (their headings stand alone or sit one paragraph per line).
#[test]
fn bundled_plain_text_articles_keep_their_sections() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let expected: &[(&str, &[&str])] = &[
        (
            "houseplants.txt",
            &[
                "Overwatering Is the Top Killer",
                "Reading Your Light",
                "Easy Plants for Beginners",
                "Soil, Pots and Repotting",
                "Feeding and Humidity",
                "Do Plants Clean the Air",
                "Key Takeaways",
            ],
        ),
        (
            "index-funds.txt",
            &[
                "What an Index Fund Is",
                "Why Fees Matter So Much",
                "Most Active Managers Trail the Index",
                "A Simple Portfolio",
                "Before You Invest",
                "The Bottom Line",
            ],
        ),
        (
            "remote-work.txt",
            &[
                "What the Research Says",
                "Write It Down",
                "Protect Overlap Hours",
                "Meetings With a Purpose",
                "Set Up Your Workspace",
                "Bottom Line",
            ],
        ),
        (
            "stablecoins.txt",
            &[
                "What Is a Stablecoin Peg",
                "Three Designs",
                "When Pegs Break",
                "Attestations Versus Audits",
                "Regulation Arrives",
                "The Takeaway for Crypto Innovators",
            ],
        ),
        (
            "urban-cycling.txt",
            &[
                "Why People Switch",
                "Choosing a Bike",
                "Riding Position and the Door Zone",
                "Lights and Visibility",
                "Locking Up",
                "Lessons Learned",
            ],
        ),
    ];
    for (name, sections) in expected {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let (a, notes) = parse(name, &text);
        let got: Vec<_> = a
            .sections
            .iter()
            .filter_map(|s| s.heading.as_deref())
            .collect();
        assert_eq!(got, *sections, "{name}");
        assert!(notes.is_empty(), "{name}: {notes:?}");
    }
}
