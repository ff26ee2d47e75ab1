//! Links checked when articles load: a front-matter `url` that is not a plain http(s) URL is
//! reported and dropped (the article stays, linked from `base_url`); body links with other
//! schemes or of absurd length keep their text and lose their target.

use articlebot::content::{self, MAX_URL_CHARS};

use crate::util::{run, Fixture};

/// Loads a fixture with one Markdown article whose front matter sets `url` to `url_toml` (a
/// TOML value), and returns the article's URL and the load's warnings as text.
fn with_url(url_toml: &str) -> (Option<String>, Vec<String>) {
    let f = Fixture::new();
    f.write(
        "solar.md",
        &format!("+++\ntitle = \"Solar\"\nurl = {url_toml}\n+++\n\nPanels make power.\n"),
    );
    let loaded = content::load(&f.settings().content).unwrap();
    assert_eq!(loaded.articles.len(), 1, "the article stays");
    let warnings = loaded.warnings.iter().map(|w| w.to_string()).collect();
    (loaded.articles[0].url.clone(), warnings)
}

const FALLBACK: &str = "https://site.example/a/solar";

#[test]
fn a_javascript_url_is_dropped_and_reported() {
    let (url, warnings) = with_url("\"javascript://%0Aalert(1)\"");
    assert_eq!(url.as_deref(), Some(FALLBACK));
    assert_eq!(
        warnings,
        [
            "solar.md:3: note: front matter `url` ignored: not an http(s) URL \
          (\"javascript://%0Aalert(1)\")"
        ]
    );
}

#[test]
fn a_url_with_a_newline_is_dropped_and_reported() {
    // The newline would end a Markdown link and put a mention into every answer.
    let (url, warnings) = with_url("\"https://ok.example/a)\\n[@everyone](https://evil.example\"");
    assert_eq!(url.as_deref(), Some(FALLBACK));
    assert_eq!(
        warnings,
        [
            "solar.md:3: note: front matter `url` ignored: contains white space or a control \
          character (\"https://ok.example/a)\\n[@everyone](https://evil.example\")"
        ]
    );
    let (_, warnings) = with_url("\"https://ok.example/a b\"");
    assert!(warnings[0].contains("contains white space"), "{warnings:?}");
    let (_, warnings) = with_url("\"https://ok.example/\\u0007\"");
    assert!(warnings[0].contains("control character"), "{warnings:?}");
}

#[test]
fn a_very_long_url_is_dropped_and_reported_in_short() {
    let long = format!("https://long.example/{}", "a".repeat(5000 - 21));
    assert_eq!(long.len(), 5000);
    let (url, warnings) = with_url(&format!("\"{long}\""));
    assert_eq!(url.as_deref(), Some(FALLBACK));
    assert_eq!(
        warnings,
        [format!(
            "solar.md:3: note: front matter `url` ignored: 5000 characters long, more than the \
             {MAX_URL_CHARS} allowed (\"https://long.example/{}\"…)",
            "a".repeat(39)
        )]
    );
    // At the limit it is kept.
    let edge = format!("https://long.example/{}", "a".repeat(MAX_URL_CHARS - 21));
    let (url, warnings) = with_url(&format!("\"{edge}\""));
    assert_eq!(url.as_deref(), Some(edge.as_str()));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn other_bad_front_matter_urls() {
    for (value, reason) in [
        ("\"example.org/page\"", "not an http(s) URL"),
        ("\"ftp://example.org/file\"", "not an http(s) URL"),
        ("\"data:text/html,hi\"", "not an http(s) URL"),
        ("\"https://\"", "no host"),
        ("\"http:///path\"", "no host"),
    ] {
        let (url, warnings) = with_url(value);
        assert_eq!(url.as_deref(), Some(FALLBACK), "{value}");
        assert_eq!(warnings.len(), 1, "{value}: {warnings:?}");
        assert!(
            warnings[0].contains(&format!("`url` ignored: {reason} (")),
            "{value}: {warnings:?}"
        );
    }
    // Upper-case schemes are fine.
    let (url, warnings) = with_url("\"HTTPS://Example.org/Page\"");
    assert_eq!(url.as_deref(), Some("HTTPS://Example.org/Page"));
    assert!(warnings.is_empty());
}

#[test]
fn without_base_url_a_dropped_url_leaves_no_link() {
    let f = Fixture::new();
    f.write(
        "solar.md",
        "+++\ntitle = \"Solar\"\nurl = \"javascript:alert(1)\"\n+++\n\nPanels.\n",
    );
    let mut s = f.settings().content;
    s.base_url = String::new();
    let loaded = content::load(&s).unwrap();
    assert_eq!(loaded.articles[0].url, None);
}

#[test]
fn body_links_with_other_schemes_keep_only_their_text() {
    let f = Fixture::new();
    f.write(
        "links.md",
        "# Links\n\nRead [the guide](javascript:alert(document.cookie)), the \
         [data](data:text/html;base64,PHNjcmlwdD4=) page and the [real one](https://ok.example/guide).\n",
    );
    let long = format!("https://long.example/{}", "b".repeat(600));
    f.write(
        "plain.txt",
        &format!("Plain\nStandfirst.\nSee {long} and https://ok.example/short for more.\n"),
    );
    let loaded = content::load(&f.settings().content).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let md = &loaded.articles[0];
    let block = &md.sections[0].blocks[0];
    assert_eq!(
        block.text,
        "Read the guide, the data page and the real one."
    );
    let links: Vec<_> = block
        .links
        .iter()
        .map(|l| (l.text.as_str(), l.url.as_str()))
        .collect();
    assert_eq!(links, [("real one", "https://ok.example/guide")]);
    let txt = &loaded.articles[1];
    let urls: Vec<_> = txt.sections[0]
        .blocks
        .iter()
        .flat_map(|b| &b.links)
        .map(|l| l.url.as_str())
        .collect();
    assert_eq!(urls, ["https://ok.example/short"]);
}

#[test]
fn check_names_the_file_and_the_key() {
    let f = Fixture::new();
    f.write(
        "solar.md",
        "+++\ntitle = \"Solar\"\nurl = \"javascript://%0Aalert(1)\"\n+++\n\nPanels make power.\n",
    );
    f.config("");
    let (_, out, err) = run(f.dir.path(), &["check"]);
    assert!(
        out.contains("solar.md:3: note: front matter `url` ignored: not an http(s) URL"),
        "{out}\n{err}"
    );
    assert!(out.contains("1 article(s) indexed"), "{out}");
}
