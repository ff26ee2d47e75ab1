//! Reading the collection: both formats, takeaways, links, slugs and every bad-file case.

use std::path::Path;

use articlebot::content::{self, BlockKind, Format};

use crate::util::Fixture;

fn load(f: &Fixture) -> content::Loaded {
    content::load(&f.settings().content).unwrap()
}

#[test]
fn standard_collection_loads_both_formats() {
    let f = Fixture::standard();
    let loaded = load(&f);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let slugs: Vec<_> = loaded.articles.iter().map(|a| a.slug.as_str()).collect();
    assert_eq!(
        slugs,
        ["cycling", "guides-composting", "sleep", "stablecoins"]
    );
    let formats: Vec<_> = loaded.articles.iter().map(|a| a.format).collect();
    assert_eq!(
        formats,
        [
            Format::Markdown,
            Format::Markdown,
            Format::Markdown,
            Format::PlainText
        ]
    );
}

#[test]
fn plain_text_takeaway_for_heading_one_paragraph_per_line() {
    let f = Fixture::standard();
    let loaded = load(&f);
    let a = loaded
        .articles
        .iter()
        .find(|a| a.slug == "stablecoins")
        .unwrap();
    assert_eq!(a.title, "Stablecoins and Their Pegs");
    assert_eq!(
        a.summary.as_deref(),
        Some("How dollar-pegged tokens hold their value.")
    );
    let headings: Vec<_> = a.sections.iter().map(|s| s.heading.as_deref()).collect();
    assert_eq!(
        headings,
        [
            None,
            Some("How Pegs Break"),
            Some("The Takeaway for Crypto Innovators")
        ]
    );
    let last = a.sections.last().unwrap();
    assert!(last.takeaway);
    assert_eq!(last.blocks.len(), 2, "one paragraph per line");
    assert_eq!(a.takeaways.len(), 2);
    assert!(a.takeaways[0]
        .text
        .starts_with("Publish monthly reserve attestations"));
    assert_eq!(a.takeaways[0].links[0].url, "https://example.org/audits");
    assert_eq!(a.url.as_deref(), Some("https://site.example/a/stablecoins"));
    assert!(!a.sections[1].takeaway);
}

#[test]
fn markdown_front_matter_sections_anchors_and_links() {
    let f = Fixture::standard();
    let loaded = load(&f);
    let a = loaded
        .articles
        .iter()
        .find(|a| a.slug == "guides-composting")
        .unwrap();
    assert_eq!(a.title, "Home Composting Basics");
    assert_eq!(a.tags, ["garden", "Soil"]);
    assert_eq!(a.aliases, ["compost guide"]);
    assert_eq!(a.date.as_deref(), Some("2024-04-02"));
    assert_eq!(a.authors, ["Ada"]);
    let anchors: Vec<_> = a.sections.iter().map(|s| s.anchor.as_deref()).collect();
    assert_eq!(
        anchors,
        [
            None,
            Some("greens-and-browns"),
            Some("how-long-it-takes"),
            Some("key-takeaways")
        ]
    );
    assert_eq!(
        a.section_url(2).as_deref(),
        Some("https://site.example/a/guides-composting#how-long-it-takes")
    );
    assert_eq!(a.sections[1].blocks[1].kind, BlockKind::Item);
    assert_eq!(a.takeaways.len(), 2);
    assert_eq!(a.takeaways[0].links[0].text, "ratio chart");
    assert_eq!(a.takeaways[0].links[0].url, "https://example.org/ratios");
    // Title from the first `#` heading when there is no front matter.
    let sleep = loaded.articles.iter().find(|a| a.slug == "sleep").unwrap();
    assert_eq!(sleep.title, "Why Sleep Matters");
    assert_eq!(
        sleep.takeaways[0].text,
        "Keep a regular schedule and a dark, cool bedroom."
    );
}

#[test]
fn front_matter_takeaways_slug_url_and_drafts() {
    let f = Fixture::new();
    f.write(
        "x/Some File.md",
        "+++\ntitle = \"T\"\nslug = \"Custom Slug\"\nurl = \"https://elsewhere.example/t\"\n\
         takeaways = [\"First from front matter, https://l.example/1\"]\n+++\n\n\
         Body.\n\n## TL;DR\n\nSecond from the section.\n",
    );
    f.write("y/Other File.md", "# Other\n\ntext\n");
    f.write("draft.md", "+++\ntitle = \"D\"\ndraft = true\n+++\ntext\n");
    f.write("notes.csv", "ignored,file\n");
    let loaded = load(&f);
    let slugs: Vec<_> = loaded.articles.iter().map(|a| a.slug.as_str()).collect();
    assert_eq!(slugs, ["custom-slug", "y-other-file"]);
    let t = &loaded.articles[0];
    assert_eq!(t.url.as_deref(), Some("https://elsewhere.example/t"));
    let texts: Vec<_> = t.takeaways.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "First from front matter, https://l.example/1",
            "Second from the section."
        ]
    );
    assert_eq!(t.takeaways[0].links[0].url, "https://l.example/1");
    // A draft is skipped with a note, not a rejection.
    assert_eq!(loaded.warnings.len(), 1);
    assert!(!loaded.warnings[0].rejected);
    assert!(loaded.warnings[0].reason.contains("draft"));
}

/// Loads a fixture holding one good article and `bad`, and returns the one warning.
fn rejected(name: &str, bad: &[u8], max: Option<u64>) -> content::Warning {
    let f = Fixture::standard();
    f.write_bytes(name, bad);
    let mut s = f.settings().content;
    if let Some(m) = max {
        s.max_file_bytes = m;
    }
    let loaded = content::load(&s).unwrap();
    // Everything else is still indexed.
    let good = loaded.articles.iter().filter(|a| a.slug != "bad").count();
    assert!(good >= 4, "the good articles are kept: {good}");
    let w: Vec<_> = loaded
        .warnings
        .iter()
        .filter(|w| w.rejected)
        .cloned()
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].path, Path::new(name));
    w[0].clone()
}

#[test]
fn bad_files_are_named_and_skipped() {
    let w = rejected("bad.md", b"# Title\n\nfine line\n\xff\xfe broken\n", None);
    assert!(w.reason.contains("UTF-8"), "{w}");
    assert_eq!(w.line, Some(4));

    let w = rejected("bad.md", b"  \n\n", None);
    assert!(w.reason.contains("empty"), "{w}");

    let w = rejected(
        "bad.txt",
        "Title\nstandfirst.\n".repeat(300).as_bytes(),
        Some(2000),
    );
    assert!(w.reason.contains("larger than the maximum"), "{w}");

    let w = rejected(
        "bad.md",
        b"+++\ntitle = \"x\"\ntags = [unquoted]\n+++\nbody\n",
        None,
    );
    assert!(w.reason.contains("broken front matter"), "{w}");
    assert_eq!(w.line, Some(3));

    let w = rejected(
        "bad.md",
        b"+++\ntitle = \"x\"\ncolor = \"red\"\n+++\nbody\n",
        None,
    );
    assert!(w.reason.contains("color"), "{w}");

    let w = rejected("bad.md", b"+++\ntitle = \"x\"\nbody never closes\n", None);
    assert!(w.reason.contains("never closed"), "{w}");

    let w = rejected("bad.md", b"Just a paragraph with no heading.\n", None);
    assert!(w.reason.contains("no title"), "{w}");

    // The first file in path order keeps the slug.
    let w = rejected(
        "zz.md",
        b"+++\nslug = \"sleep\"\ntitle = \"Copy\"\n+++\ntext\n",
        None,
    );
    assert!(
        w.reason
            .contains("duplicate slug \"sleep\" (already used by sleep.md)"),
        "{w}"
    );
    assert!(w.to_string().starts_with("zz.md: skipped: duplicate slug"));
}

#[test]
fn unreadable_content_folder_is_an_error() {
    let f = Fixture::new();
    let mut s = f.settings().content;
    s.dir = f.dir.path().join("missing");
    let err = content::load(&s).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}

/// Hidden files and folders are skipped, `.markdown` is Markdown, other extensions are
/// ignored: none of them is a warning.
#[test]
fn hidden_files_are_skipped_and_markdown_has_two_extensions() {
    let f = Fixture::new();
    f.write("visible.md", "# Visible\n\ntext\n");
    f.write(
        "long-form.markdown",
        "# Long Form\n\nMarkdown under its long extension.\n",
    );
    f.write(".hidden.md", "# Hidden File\n\ntext\n");
    f.write(".drafts/secret.md", "# Hidden Folder\n\ntext\n");
    f.write("notes/.cache.txt", "Hidden Text\nstandfirst\n");
    f.write("image.png", "not an article");
    let loaded = load(&f);
    let titles: Vec<_> = loaded.articles.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, ["Long Form", "Visible"]);
    assert_eq!(loaded.articles[0].format, Format::Markdown);
    assert_eq!(loaded.articles[0].slug, "long-form");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// Plain-text list items: `-`, `*`, `•` and `1.` lines, each an item without its marker.
#[test]
fn plain_text_list_items() {
    let f = Fixture::new();
    f.write(
        "list.txt",
        "Packing for a Hike\n\
         What goes in the bag.\n\
         Pack light and check the weather before leaving home.\n\
         - a dash item about water\n\
         * a star item about snacks\n\
         • a bullet item about maps\n\
         1. a numbered item about boots\n\
         2. another numbered item about socks\n",
    );
    let loaded = load(&f);
    let a = &loaded.articles[0];
    let blocks: Vec<(BlockKind, &str)> = a
        .sections
        .iter()
        .flat_map(|s| s.blocks.iter())
        .map(|b| (b.kind, b.text.as_str()))
        .collect();
    assert_eq!(
        blocks,
        [
            (BlockKind::Paragraph, "What goes in the bag."),
            (
                BlockKind::Paragraph,
                "Pack light and check the weather before leaving home."
            ),
            (BlockKind::Item, "a dash item about water"),
            (BlockKind::Item, "a star item about snacks"),
            (BlockKind::Item, "a bullet item about maps"),
            (BlockKind::Item, "a numbered item about boots"),
            (BlockKind::Item, "another numbered item about socks"),
        ]
    );
}

/// A takeaway section's sub-sections are takeaways too; the next section at its level or
/// above ends it.
#[test]
fn takeaway_sub_sections() {
    let f = Fixture::new();
    f.write(
        "nested.md",
        "# Nested Takeaways\n\nIntro text.\n\n\
         ## Key Takeaways\n\nThe first takeaway.\n\n\
         ### For Beginners\n\nThe beginners' takeaway.\n\n\
         #### Even Deeper\n\nThe deepest takeaway.\n\n\
         ## Further Reading\n\nNot a takeaway.\n",
    );
    let loaded = load(&f);
    let a = &loaded.articles[0];
    let flags: Vec<(Option<&str>, bool)> = a
        .sections
        .iter()
        .map(|s| (s.heading.as_deref(), s.takeaway))
        .collect();
    assert_eq!(
        flags,
        [
            (None, false),
            (Some("Key Takeaways"), true),
            (Some("For Beginners"), true),
            (Some("Even Deeper"), true),
            (Some("Further Reading"), false),
        ]
    );
    let texts: Vec<&str> = a.takeaways.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "The first takeaway.",
            "The beginners' takeaway.",
            "The deepest takeaway."
        ]
    );
}
