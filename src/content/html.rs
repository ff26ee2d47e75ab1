//! HTML into the article model: a page's or a feed entry's HTML becomes the Markdown the
//! content folder already reads (headings → sections, paragraphs and list items → blocks,
//! links kept as links), and a page's metadata becomes front matter. Pure: no network, no
//! files; `sources` fetches and stores, this only translates.
//!
//! The HTML is parsed by scraper (html5ever underneath: a browser's parse of broken markup),
//! then walked once. Navigation, scripts, styles, forms, comments and the usual boilerplate
//! (headers, footers, sidebars, share and subscribe boxes, found by their element or their
//! `class`/`id`/`role`) are dropped; of a `<header>` only its headings are kept. A page's main text is its largest `<article>`, else its
//! `<main>`, else its body. Code blocks and images are dropped, as the Markdown parser drops
//! them in files.

use scraper::{ElementRef, Html, Node, Selector};
use serde::Serialize;
use url::Url;

/// What a page's metadata says about it (any part may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    pub title: Option<String>,
    pub authors: Vec<String>,
    /// `YYYY-MM-DD` when the page gives a date in that shape, else the text it gives.
    pub date: Option<String>,
    pub tags: Vec<String>,
    pub summary: Option<String>,
    /// `<link rel="canonical">`, resolved against the page's address.
    pub canonical: Option<String>,
}

/// A page: its metadata and its main text as Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub meta: PageMeta,
    pub markdown: String,
}

/// The front matter of an article file made from fetched HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrontMatter {
    pub title: String,
    pub slug: String,
    /// Where the article was read from (its link in answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// An article file in the content folder's format: `+++` TOML front matter, then the body.
pub fn article_file(front: &FrontMatter, markdown: &str) -> String {
    // Serializing a struct of strings and lists of strings cannot fail.
    let toml = toml::to_string(front).unwrap_or_default();
    format!("+++\n{toml}+++\n\n{markdown}")
}

/// A whole page: its metadata and its main text. `base` is its address (relative links are
/// resolved against it, or against `<base href>`).
pub fn page(html: &str, base: &Url) -> Page {
    let doc = Html::parse_document(html);
    let base = sel("base[href]")
        .and_then(|s| doc.select(&s).next())
        .and_then(|b| b.attr("href"))
        .and_then(|h| base.join(h).ok())
        .unwrap_or_else(|| base.clone());
    let meta = meta(&doc, &base);
    let root = main_root(&doc);
    let mut w = Writer::new(Some(&base));
    w.children(root);
    Page {
        meta,
        markdown: w.finish(),
    }
}

/// An HTML fragment (a feed entry's content) as Markdown; `base` resolves relative links.
pub fn fragment(html: &str, base: Option<&Url>) -> String {
    let doc = Html::parse_fragment(html);
    let mut w = Writer::new(base);
    w.children(doc.root_element());
    w.finish()
}

/// The plain text of an HTML fragment (a feed's summary), white space collapsed; scripts,
/// styles and comments dropped.
pub fn plain_text(html: &str) -> String {
    let doc = Html::parse_fragment(html);
    let mut out = String::new();
    for node in doc.root_element().descendants() {
        if let Node::Text(t) = node.value() {
            let hidden = node.ancestors().any(|a| {
                a.value()
                    .as_element()
                    .is_some_and(|e| matches!(e.name(), "script" | "style" | "template"))
            });
            if !hidden {
                out.push_str(t);
                out.push(' ');
            }
        }
    }
    collapse(&out)
}

fn sel(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first non-empty `content` of the `<meta>` elements `css` selects.
fn meta_content(doc: &Html, css: &str) -> Option<String> {
    let s = sel(css)?;
    doc.select(&s)
        .filter_map(|m| m.attr("content"))
        .map(collapse)
        .find(|c| !c.is_empty())
}

fn meta_all(doc: &Html, css: &str) -> Vec<String> {
    let Some(s) = sel(css) else {
        return Vec::new();
    };
    doc.select(&s)
        .filter_map(|m| m.attr("content"))
        .map(collapse)
        .filter(|c| !c.is_empty())
        .collect()
}

/// `YYYY-MM-DD` from a date-time in that shape (`2024-05-01T10:00:00Z`), else the text.
pub fn day(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let b = t.as_bytes();
    let shaped = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    Some(if shaped {
        t[..10].to_string()
    } else {
        t.to_string()
    })
}

fn meta(doc: &Html, base: &Url) -> PageMeta {
    let title = meta_content(doc, r#"meta[property="og:title"]"#)
        .or_else(|| {
            sel("title")
                .and_then(|s| doc.select(&s).next())
                .map(|t| collapse(&t.text().collect::<String>()))
                .filter(|t| !t.is_empty())
        })
        .or_else(|| {
            sel("h1")
                .and_then(|s| doc.select(&s).next())
                .map(|t| collapse(&t.text().collect::<String>()))
                .filter(|t| !t.is_empty())
        });
    let mut authors = meta_all(doc, r#"meta[name="author"]"#);
    // `article:author` is often a profile URL: only names are authors.
    authors.extend(
        meta_all(doc, r#"meta[property="article:author"]"#)
            .into_iter()
            .filter(|a| !a.contains("://")),
    );
    dedup(&mut authors);
    let date = meta_content(doc, r#"meta[property="article:published_time"]"#)
        .or_else(|| meta_content(doc, r#"meta[name="date"]"#))
        .or_else(|| meta_content(doc, r#"meta[itemprop="datePublished"]"#))
        .or_else(|| {
            sel("time[datetime]")
                .and_then(|s| doc.select(&s).next())
                .and_then(|t| t.attr("datetime"))
                .map(str::to_string)
        })
        .and_then(|d| day(&d));
    let mut tags = meta_all(doc, r#"meta[property="article:tag"]"#);
    if tags.is_empty() {
        if let Some(k) = meta_content(doc, r#"meta[name="keywords"]"#) {
            tags = k
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
        }
    }
    dedup(&mut tags);
    let summary = meta_content(doc, r#"meta[name="description"]"#)
        .or_else(|| meta_content(doc, r#"meta[property="og:description"]"#));
    let canonical = sel(r#"link[rel="canonical"][href]"#)
        .and_then(|s| doc.select(&s).next())
        .and_then(|l| l.attr("href"))
        .and_then(|h| web_link(base, h));
    PageMeta {
        title,
        authors,
        date,
        tags,
        summary,
        canonical,
    }
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|x| seen.insert(x.to_lowercase()));
}

/// The element holding a page's main text: its largest `<article>` (by text length, so a
/// list of teasers loses to the post itself), else `<main>` or `role="main"`, else `<body>`.
fn main_root(doc: &Html) -> ElementRef<'_> {
    let text_len = |e: &ElementRef| e.text().map(|t| t.trim().len()).sum::<usize>();
    if let Some(s) = sel("article") {
        if let Some(best) = doc
            .select(&s)
            .filter(|e| !skipped(e))
            .max_by_key(|e| text_len(e))
        {
            return best;
        }
    }
    for css in ["main", r#"[role="main"]"#, "body"] {
        if let Some(found) = sel(css).and_then(|s| doc.select(&s).next()) {
            return found;
        }
    }
    doc.root_element()
}

/// Words of `class`/`id` values that mark boilerplate around the text.
const BOILERPLATE: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "breadcrumb",
    "breadcrumbs",
    "footer",
    "sidebar",
    "share",
    "sharing",
    "social",
    "comments",
    "related",
    "subscribe",
    "subscription",
    "newsletter",
    "cookie",
    "cookies",
    "advert",
    "ads",
    "promo",
    "skip",
];

/// Whether an element and everything in it is left out.
fn skipped(e: &ElementRef) -> bool {
    let el = e.value();
    if matches!(
        el.name(),
        "script"
            | "style"
            | "noscript"
            | "template"
            | "nav"
            | "aside"
            | "footer"
            | "form"
            | "iframe"
            | "svg"
            | "canvas"
            | "button"
            | "select"
            | "input"
            | "textarea"
            | "object"
            | "embed"
            | "video"
            | "audio"
            | "img"
            | "picture"
            | "pre"
            | "dialog"
            | "head"
            | "title"
            | "meta"
            | "link"
    ) {
        return true;
    }
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    if matches!(
        el.attr("role"),
        Some("navigation" | "banner" | "contentinfo" | "complementary" | "search")
    ) {
        return true;
    }
    let marked = |value: &str| {
        value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| BOILERPLATE.contains(&word.to_ascii_lowercase().as_str()))
    };
    el.classes().any(marked) || el.id().is_some_and(marked)
}

/// `href` resolved against `base`, when it is a web link.
fn web_link(base: &Url, href: &str) -> Option<String> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// Walks the tree once, writing Markdown: blocks are separated by a blank line, inline text
/// is gathered into the open block and escaped so that it stays text.
struct Writer<'b> {
    base: Option<&'b Url>,
    out: String,
    /// The open block's text (escaped Markdown, white space not yet collapsed).
    block: String,
    /// List items open around the current node.
    items: usize,
    /// Inside a link: blocks inside it are written as inline text.
    in_link: bool,
}

impl<'b> Writer<'b> {
    fn new(base: Option<&'b Url>) -> Self {
        Writer {
            base,
            out: String::new(),
            block: String::new(),
            items: 0,
            in_link: false,
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        self.out
    }

    fn children(&mut self, e: ElementRef) {
        for child in e.children() {
            match child.value() {
                Node::Text(t) => escape_into(&mut self.block, t),
                Node::Element(_) => {
                    if let Some(el) = ElementRef::wrap(child) {
                        self.element(el);
                    }
                }
                // Comments, doctypes, processing instructions.
                _ => {}
            }
        }
    }

    /// Ends the open block: a paragraph, or an item inside a list item.
    fn flush(&mut self) {
        let text = collapse(&self.block);
        self.block.clear();
        if text.is_empty() {
            return;
        }
        if self.items > 0 {
            self.out.push_str("- ");
        }
        self.out.push_str(&guard_start(&text));
        self.out.push_str("\n\n");
    }

    fn element(&mut self, e: ElementRef) {
        if skipped(&e) {
            return;
        }
        let name = e.value().name();
        if self.in_link {
            return match name {
                "br" => self.block.push(' '),
                _ => self.children(e),
            };
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name[1..].parse::<usize>().unwrap_or(2);
                let mut text = String::new();
                for t in e.text() {
                    escape_into(&mut text, t);
                }
                let text = collapse(&text);
                if !text.is_empty() {
                    self.out.push_str(&"#".repeat(level));
                    self.out.push(' ');
                    self.out.push_str(&text);
                    self.out.push_str("\n\n");
                }
            }
            // A header holds the title, byline and date (metadata, read elsewhere) around
            // its headings: only the headings are kept.
            "header" => {
                self.flush();
                for h in e.descendent_elements().filter(|d| {
                    matches!(d.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
                        && !d
                            .ancestors()
                            .any(|a| ElementRef::wrap(a).is_some_and(|a| skipped(&a)))
                }) {
                    self.element(h);
                }
            }
            "li" | "dd" | "dt" => {
                self.flush();
                self.items += 1;
                self.children(e);
                self.flush();
                self.items -= 1;
            }
            "br" => self.block.push(' '),
            "hr" => self.flush(),
            "td" | "th" => {
                self.children(e);
                self.block.push_str(" \\| ");
            }
            "tr" => {
                self.flush();
                self.children(e);
                let row = self.block.trim_end().trim_end_matches("\\|").to_string();
                self.block = row;
                self.flush();
            }
            "a" => {
                let url = e
                    .attr("href")
                    .and_then(|h| self.base.map_or_else(|| absolute(h), |b| web_link(b, h)));
                let Some(url) = url else {
                    return self.children(e);
                };
                let start = self.block.len();
                self.block.push('[');
                self.in_link = true;
                self.children(e);
                self.in_link = false;
                if self.block[start + 1..].trim().is_empty() {
                    self.block.truncate(start);
                } else {
                    self.block.push_str("](<");
                    self.block.push_str(&url);
                    self.block.push_str(">)");
                }
            }
            "p" | "div" | "section" | "article" | "main" | "blockquote" | "figure"
            | "figcaption" | "ul" | "ol" | "dl" | "table" | "thead" | "tbody" | "tfoot"
            | "details" | "summary" | "address" | "body" | "html" | "center" | "caption" => {
                self.flush();
                self.children(e);
                self.flush();
            }
            _ => self.children(e),
        }
    }
}

/// An absolute web link as it is (no base to resolve a relative one against).
fn absolute(href: &str) -> Option<String> {
    let url = Url::parse(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// Appends `text` with every character Markdown could read as markup escaped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '!' | '|' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A block whose start Markdown would read as a list, a heading underline or a rule
/// (`- `, `+ `, `1. `, `=`) gets that start escaped.
fn guard_start(text: &str) -> String {
    let first = text.chars().next().unwrap_or(' ');
    if matches!(first, '-' | '+' | '=') {
        return format!("\\{text}");
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && matches!(text.as_bytes().get(digits), Some(b'.' | b')')) {
        return format!("{}\\{}", &text[..digits], &text[digits..]);
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::content::{parse_article, Article, Format};

    fn base() -> Url {
        Url::parse("https://blog.example/posts/one").unwrap()
    }

    /// Reads Markdown made here as the content folder reads a file.
    fn article(front: &FrontMatter, markdown: &str) -> Article {
        let settings = Settings::for_content("/nowhere").content;
        let file = article_file(front, markdown);
        parse_article(
            &settings,
            std::path::Path::new("feed/x.md"),
            Format::Markdown,
            &file,
        )
        .unwrap_or_else(|w| panic!("{w}\n{file}"))
    }

    fn front(title: &str) -> FrontMatter {
        FrontMatter {
            title: title.into(),
            slug: "x".into(),
            ..FrontMatter::default()
        }
    }

    fn check(html: &str, expected: &str) {
        assert_eq!(fragment(html, Some(&base())), expected, "{html}");
    }

    #[test]
    fn blocks_headings_and_links() {
        check("<p>One <b>two</b></p><p>three</p>", "One two\n\nthree\n\n");
        check("<h2>Part</h2><p>x</p>", "## Part\n\nx\n\n");
        check(
            "<ul><li>a</li><li>b <a href='/c'>see</a></li></ul>",
            "- a\n\n- b [see](<https://blog.example/c>)\n\n",
        );
        check("<p><a href='javascript:alert(1)'>x</a> y</p>", "x y\n\n");
        check("<p><a href='/z'><img src=i.png></a>y</p>", "y\n\n");
        check(
            "text in a div<div>and more</div>",
            "text in a div\n\nand more\n\n",
        );
        check(
            "<section><header><h2>Part</h2><p class='byline'>by X, May 1</p></header><p>t</p></section>",
            "## Part\n\nt\n\n",
        );
        check(
            "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>",
            "a \\| b\n\n1 \\| 2\n\n",
        );
    }

    #[test]
    fn markup_in_text_stays_text() {
        check(
            "<p>a *b* [c](d) &lt;e&gt;</p>",
            "a \\*b\\* \\[c\\](d) \\<e\\>\n\n",
        );
        check(
            "<p>1. not a list</p><p>- nor this</p>",
            "1\\. not a list\n\n\\- nor this\n\n",
        );
        check("<p># not a heading</p>", "\\# not a heading\n\n");
    }

    #[test]
    fn noise_is_dropped() {
        check(
            "<nav><a href='/'>Home</a></nav><script>var x = 1;</script><style>p{}</style>\
             <!-- a comment --><p>Body</p><div class='share-buttons'>Share this</div>\
             <footer>© 2024</footer><pre>code()</pre><div hidden>secret</div>",
            "Body\n\n",
        );
    }

    #[test]
    fn a_page_gives_its_article_and_metadata() {
        let html = r#"<!doctype html><html><head>
            <title>Sleep well | The Blog</title>
            <meta property="og:title" content="Sleep well">
            <meta name="author" content="Ada Lovelace">
            <meta property="article:published_time" content="2024-05-01T08:00:00Z">
            <meta property="article:tag" content="health"><meta property="article:tag" content="sleep">
            <meta name="description" content="Why sleep matters.">
            <link rel="canonical" href="/posts/sleep-well">
            </head><body>
            <header class="site-header"><a href="/">The Blog</a><ul class="menu"><li>About</li></ul></header>
            <div class="sidebar"><article><p>A teaser</p></article></div>
            <main><article class="post">
              <h1>Sleep well</h1>
              <p>Adults need seven hours of sleep.</p>
              <h2>Key takeaways</h2>
              <ul><li>Sleep seven hours.</li><li>Keep a <a href="https://example.org/s">schedule</a>.</li></ul>
              <footer class="entry-footer">Tags: health</footer>
            </article></main>
            <footer>Copyright</footer></body></html>"#;
        let page = page(html, &base());
        assert_eq!(
            page.meta,
            PageMeta {
                title: Some("Sleep well".into()),
                authors: vec!["Ada Lovelace".into()],
                date: Some("2024-05-01".into()),
                tags: vec!["health".into(), "sleep".into()],
                summary: Some("Why sleep matters.".into()),
                canonical: Some("https://blog.example/posts/sleep-well".into()),
            }
        );
        let a = article(&front("Sleep well"), &page.markdown);
        assert_eq!(a.title, "Sleep well");
        let headings: Vec<Option<&str>> = a.sections.iter().map(|s| s.heading.as_deref()).collect();
        assert_eq!(headings, [None, Some("Key takeaways")], "{}", page.markdown);
        let intro: Vec<&str> = a.sections[0]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(intro, ["Adults need seven hours of sleep."]);
        // Takeaway detection reads these sections as it reads a file's.
        let takeaways = a.takeaways.value();
        assert_eq!(takeaways.len(), 2);
        assert_eq!(takeaways[1].text, "Keep a schedule.");
        assert_eq!(takeaways[1].links[0].url, "https://example.org/s");
        let all = a
            .sections
            .iter()
            .flat_map(|s| s.blocks.iter())
            .map(|b| b.text.clone());
        let all: Vec<String> = all.collect();
        for noise in ["The Blog", "About", "teaser", "Tags", "Copyright"] {
            assert!(!all.iter().any(|t| t.contains(noise)), "{noise}: {all:?}");
        }
    }

    #[test]
    fn a_page_without_an_article_uses_main_or_body() {
        let p = page("<body><nav>Menu</nav><p>Just text.</p></body>", &base());
        assert_eq!(p.markdown, "Just text.\n\n");
        assert_eq!(p.meta.title, None);
        let p = page(
            "<title>T</title><body><p>out</p><main><p>in</p></main></body>",
            &base(),
        );
        assert_eq!(p.markdown, "in\n\n");
        assert_eq!(p.meta.title.as_deref(), Some("T"));
    }

    #[test]
    fn front_matter_round_trips() {
        let f = FrontMatter {
            title: "Quotes \"and\" +++ lines".into(),
            slug: "quotes".into(),
            url: Some("https://blog.example/q".into()),
            summary: Some("S".into()),
            date: Some("2024-01-02".into()),
            authors: vec!["A".into()],
            tags: vec!["t1".into(), "t2".into()],
        };
        let a = article(&f, "Body text.\n\n");
        assert_eq!(a.title, f.title);
        assert_eq!(a.slug, "quotes");
        assert_eq!(a.url, f.url);
        assert_eq!(a.summary.as_deref(), Some("S"));
        assert_eq!(a.date.as_deref(), Some("2024-01-02"));
        assert_eq!(a.authors, ["A"]);
        assert_eq!(a.tags, ["t1", "t2"]);
    }

    #[test]
    fn plain_text_and_days() {
        assert_eq!(plain_text("<p>a <b>b</b></p><script>x</script>"), "a b");
        assert_eq!(
            day("2024-05-01T10:00:00+02:00").as_deref(),
            Some("2024-05-01")
        );
        assert_eq!(day("May 1, 2024").as_deref(), Some("May 1, 2024"));
        assert_eq!(day(" "), None);
    }
}
