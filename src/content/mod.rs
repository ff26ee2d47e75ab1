//! The article collection: reads `content/`, parses Markdown and plain-text articles into
//! plain [`Article`] values, and reports every file it had to reject with the reason.
//!
//! A broken file never stops the load: it becomes a [`Warning`] and the rest is read.

mod front;
pub mod html;
mod lazy;
mod markdown;
mod plain;
mod scan;

pub use lazy::{BodyFile, Lazy};
pub use scan::scan;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ContentSettings;
use crate::text;

/// A link found in an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub text: String,
    pub url: String,
}

/// Whether a block was a paragraph or a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    Paragraph,
    Item,
}

/// A paragraph or list item: its text with white space collapsed, and its links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    pub links: Vec<Link>,
}

/// A heading and the blocks under it (up to the next heading).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// `None` for the text before the first heading.
    pub heading: Option<String>,
    /// Heading level (1-6); 0 for the text before the first heading.
    pub level: u8,
    /// GitHub-style anchor of the heading (Markdown only).
    pub anchor: Option<String>,
    /// In memory when just parsed; read on first use in a persisted library (see [`Lazy`]).
    pub blocks: Lazy<Vec<Block>>,
    /// Set when the heading (or a parent heading) names a takeaway section.
    pub takeaway: bool,
}

impl Section {
    /// The text before the first heading.
    fn intro() -> Section {
        Section {
            heading: None,
            level: 0,
            anchor: None,
            blocks: Lazy::loaded(Vec::new()),
            takeaway: false,
        }
    }

    /// An empty section under `heading` (anchors and takeaways are set after parsing).
    fn headed(heading: String, level: u8) -> Section {
        Section {
            heading: Some(heading),
            level,
            ..Section::intro()
        }
    }
}

/// One takeaway: a paragraph or bullet of a takeaway section, or a front-matter entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Takeaway {
    pub text: String,
    pub links: Vec<Link>,
}

/// The source format of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Markdown,
    PlainText,
}

/// One parsed article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub slug: String,
    pub title: String,
    /// The article's link: front-matter `url`, else `base_url` joined with the slug.
    pub url: Option<String>,
    /// Front-matter summary, else the standfirst of a plain-text article.
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub aliases: Vec<String>,
    pub sections: Vec<Section>,
    /// In memory when just parsed; read on first use in a persisted library (see [`Lazy`]).
    pub takeaways: Lazy<Vec<Takeaway>>,
    /// Path relative to the content directory.
    pub path: PathBuf,
    pub format: Format,
}

impl Article {
    /// The link to a section: the article link with the section's anchor.
    pub fn section_url(&self, section: usize) -> Option<String> {
        let url = self.url.as_ref()?;
        match self.sections.get(section).and_then(|s| s.anchor.as_ref()) {
            Some(anchor) if !anchor.is_empty() => Some(format!("{url}#{anchor}")),
            _ => Some(url.clone()),
        }
    }

    /// A copy whose parts read from `articles.bin` are read again on their first use, not
    /// copied (see [`Lazy::unread`]).
    pub fn unread(&self) -> Article {
        Article {
            sections: self
                .sections
                .iter()
                .map(|s| Section {
                    heading: s.heading.clone(),
                    level: s.level,
                    anchor: s.anchor.clone(),
                    blocks: s.blocks.unread(),
                    takeaway: s.takeaway,
                })
                .collect(),
            takeaways: self.takeaways.unread(),
            slug: self.slug.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            summary: self.summary.clone(),
            tags: self.tags.clone(),
            authors: self.authors.clone(),
            date: self.date.clone(),
            aliases: self.aliases.clone(),
            path: self.path.clone(),
            format: self.format,
        }
    }

    /// Number of words in the body.
    pub fn word_count(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|s| &s.blocks)
            .map(|b| text::word_count(&b.text))
            .sum()
    }
}

/// Why a file was rejected (or, for `Note`, kept with a remark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Path relative to the content directory; empty for a warning about the whole folder.
    pub path: PathBuf,
    /// 1-based line, where the problem has one.
    pub line: Option<usize>,
    pub reason: String,
    /// `true` when the file was skipped.
    pub rejected: bool,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A warning about the whole folder has an empty path.
        if !self.path.as_os_str().is_empty() {
            write!(f, "{}", self.path.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        let verdict = if self.rejected { "skipped" } else { "note" };
        write!(f, "{verdict}: {}", self.reason)
    }
}

/// What a load produced: the good articles, sorted by path, and the warnings.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub articles: Vec<Article>,
    pub warnings: Vec<Warning>,
}

impl Loaded {
    /// Number of files that were skipped.
    pub fn rejected(&self) -> usize {
        self.warnings.iter().filter(|w| w.rejected).count()
    }
}

/// A file of the collection, found by [`scan()`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the content directory.
    pub rel: PathBuf,
    pub abs: PathBuf,
    pub len: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some(Format::Markdown),
        "txt" => Some(Format::PlainText),
        _ => None,
    }
}

/// Reads and parses every article of the folders the settings name, in parallel.
pub fn load(settings: &ContentSettings) -> anyhow::Result<Loaded> {
    let (files, warnings) = scan_folders(settings)?;
    Ok(load_files(settings, &files, warnings))
}

/// Lists the article files of every folder the settings name (see [`scan()`]), sorted by path;
/// the paths of a source's files start with the source's name (`blog/post.md`). A synced
/// source's folder that does not exist yet (never synced) is a note, not an error.
pub fn scan_folders(settings: &ContentSettings) -> anyhow::Result<(Vec<SourceFile>, Vec<Warning>)> {
    if settings.source_folders.is_empty() {
        return scan(&settings.dir);
    }
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for folder in &settings.source_folders {
        if folder.synced && !folder.dir.exists() {
            warnings.push(Warning {
                path: PathBuf::from(&folder.prefix),
                line: None,
                reason: "not synced yet: `articlebot sync` (or /reload) fetches it".into(),
                rejected: false,
            });
            continue;
        }
        let (mut found, mut noted) = scan(&folder.dir)?;
        let prefix = Path::new(&folder.prefix);
        for f in &mut found {
            f.rel = prefix.join(&f.rel);
        }
        for w in &mut noted {
            w.path = prefix.join(&w.path);
        }
        files.append(&mut found);
        warnings.append(&mut noted);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, warnings))
}

/// Parses the given files (from [`scan()`]) in parallel; `warnings` are the scan's.
pub fn load_files(
    settings: &ContentSettings,
    files: &[SourceFile],
    warnings: Vec<Warning>,
) -> Loaded {
    load_files_after(settings, files, warnings, &mut Default::default())
}

/// [`load_files`] for one batch of a collection loaded in batches (path order throughout):
/// `seen` holds the slugs earlier batches took (slug → the file that has it) and gets this
/// batch's, so that a slug taken in any earlier batch is refused as one taken earlier in this
/// batch is.
pub fn load_files_after(
    settings: &ContentSettings,
    files: &[SourceFile],
    mut warnings: Vec<Warning>,
    seen: &mut std::collections::HashMap<String, PathBuf>,
) -> Loaded {
    let parsed: Vec<Result<WithNotes, Warning>> = files
        .par_iter()
        .map(|file| read_article(settings, file))
        .collect();
    let mut articles: Vec<Article> = Vec::with_capacity(parsed.len());
    for result in parsed {
        match result {
            Ok((article, mut notes)) => {
                if let Some(first) = seen.get(&article.slug) {
                    warnings.push(Warning {
                        path: article.path.clone(),
                        line: None,
                        reason: format!(
                            "duplicate slug {:?} (already used by {})",
                            article.slug,
                            first.display()
                        ),
                        rejected: true,
                    });
                    continue;
                }
                seen.insert(article.slug.clone(), article.path.clone());
                articles.push(article);
                warnings.append(&mut notes);
            }
            Err(w) => warnings.push(w),
        }
    }
    warnings.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
    Loaded { articles, warnings }
}

/// An article and the notes about it (values dropped, headings that may have been missed).
type WithNotes = (Article, Vec<Warning>);

fn read_article(settings: &ContentSettings, file: &SourceFile) -> Result<WithNotes, Warning> {
    let reject = |line: Option<usize>, reason: String| Warning {
        path: file.rel.clone(),
        line,
        reason,
        rejected: true,
    };
    let bytes = scan::read_bounded(file, settings.max_file_bytes).map_err(|r| reject(None, r))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        reject(
            Some(line),
            format!("not valid UTF-8 (invalid byte at offset {offset})"),
        )
    })?;
    let format = format_of(&file.rel).unwrap_or(Format::PlainText);
    parse_with_notes(settings, &file.rel, format, &source)
}

/// Parses one article from its text. `rel` is its path below the content folder.
pub fn parse_article(
    settings: &ContentSettings,
    rel: &Path,
    format: Format,
    source: &str,
) -> Result<Article, Warning> {
    parse_with_notes(settings, rel, format, source).map(|(article, _)| article)
}

/// [`parse_article`], with the notes `check` reports about a kept article.
pub fn parse_with_notes(
    settings: &ContentSettings,
    rel: &Path,
    format: Format,
    source: &str,
) -> Result<WithNotes, Warning> {
    let reject = |line: Option<usize>, reason: String| Warning {
        path: rel.to_path_buf(),
        line,
        reason,
        rejected: true,
    };
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if source.trim().is_empty() {
        return Err(reject(None, "file is empty".into()));
    }
    let (front, body, body_line) = front::split(source).map_err(|(line, r)| reject(line, r))?;
    if body.trim().is_empty() && front.title.is_none() {
        return Err(reject(None, "no content after the front matter".into()));
    }
    let parsed = match format {
        Format::Markdown => markdown::parse(body),
        Format::PlainText => plain::parse(body),
    };
    let title = front
        .title
        .clone()
        .or(parsed.title)
        .map(|t| text::clean_whitespace(&t))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            reject(
                Some(body_line),
                match format {
                    Format::Markdown => {
                        "no title (add `title` to the front matter or a `# Heading`)".into()
                    }
                    Format::PlainText => "no title (the first non-empty line is the title)".into(),
                },
            )
        })?;
    if draft(&front) {
        return Err(Warning {
            path: rel.to_path_buf(),
            line: None,
            reason: "draft (draft = true), not published".into(),
            rejected: false,
        });
    }
    let slug = match &front.slug {
        Some(s) => {
            let s = text::slugify(s);
            if s.is_empty() {
                return Err(reject(
                    Some(1),
                    "front matter `slug` has no letters or digits".into(),
                ));
            }
            s
        }
        None => {
            let stem = rel.with_extension("");
            let s = text::slugify(&stem.to_string_lossy());
            if s.is_empty() {
                return Err(reject(
                    None,
                    "the file name gives an empty slug; set `slug`".into(),
                ));
            }
            s
        }
    };
    let url = front.url.clone().or_else(|| {
        (!settings.base_url.is_empty())
            .then(|| format!("{}/{}", settings.base_url.trim_end_matches('/'), slug))
    });
    let mut sections = parsed.sections;
    mark_takeaways(&mut sections, &settings.takeaway_headings);
    if format == Format::Markdown {
        assign_anchors(&mut sections);
    }
    let mut takeaways: Vec<Takeaway> = front
        .takeaways
        .iter()
        .map(|t| Takeaway {
            text: text::clean_whitespace(t),
            links: plain::find_links(t),
        })
        .filter(|t| !t.text.is_empty())
        .collect();
    takeaways.extend(
        sections
            .iter()
            .filter(|s| s.takeaway)
            .flat_map(|s| &s.blocks)
            .map(|b| Takeaway {
                text: b.text.clone(),
                links: b.links.clone(),
            }),
    );
    let summary = front
        .summary
        .clone()
        .or(parsed.standfirst)
        .map(|s| text::clean_whitespace(&s))
        .filter(|s| !s.is_empty());
    let note = |line: usize, reason: String| Warning {
        path: rel.to_path_buf(),
        line: Some(line),
        reason,
        rejected: false,
    };
    let mut notes: Vec<Warning> = front
        .dropped
        .iter()
        .map(|(line, reason)| note(*line, reason.clone()))
        .collect();
    if let Some((at, line)) = &parsed.unread_heading {
        notes.push(note(
            body_line + at,
            format!(
                "read as one section, though lines such as {} look like headings: a heading \
                 is a short line with no final punctuation (. ? ! : , ;) above its paragraph",
                quote_start(line)
            ),
        ));
    }
    let article = Article {
        slug,
        title,
        url,
        summary,
        tags: front.tags.clone(),
        authors: front.authors.clone(),
        date: front.date.clone(),
        aliases: front.aliases.clone(),
        sections,
        takeaways: Lazy::loaded(takeaways),
        path: rel.to_path_buf(),
        format,
    };
    Ok((article, notes))
}

/// The longest link kept, in characters. Real article links stay well below it (tracking
/// parameters included); a longer one crowds every answer that lists it out of Discord's
/// limits (five such links fill a 4,096-character embed description), so it is dropped.
pub const MAX_URL_CHARS: usize = 512;

/// Whether `url` may be shown as a link: `http` or `https` with a host, no white space or
/// control character (which would break out of a Markdown `[text](url)`), at most
/// [`MAX_URL_CHARS`]. The error is the reason, for a warning.
pub fn check_url(url: &str) -> Result<(), String> {
    let chars = url.chars().count();
    if chars > MAX_URL_CHARS {
        return Err(format!(
            "{chars} characters long, more than the {MAX_URL_CHARS} allowed"
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains white space or a control character".into());
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err("not an http(s) URL".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with('@') || host.starts_with(':') {
        return Err("no host".into());
    }
    Ok(())
}

/// The start of `s`, quoted with escapes (a newline shows as `\n`), for a warning.
fn quote_start(s: &str) -> String {
    const SHOWN: usize = 60;
    match s.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

fn draft(front: &front::FrontMatter) -> bool {
    front.draft.unwrap_or(false)
}

/// Marks the sections whose heading contains a takeaway phrase as a whole word, and their
/// sub-sections.
fn mark_takeaways(sections: &mut [Section], phrases: &[String]) {
    let mut open_level: Option<u8> = None;
    for s in sections.iter_mut() {
        if let Some(level) = open_level {
            if s.level > level {
                s.takeaway = true;
                continue;
            }
            open_level = None;
        }
        if let Some(h) = &s.heading {
            if is_takeaway_heading(h, phrases) {
                s.takeaway = true;
                open_level = Some(s.level);
            }
        }
    }
}

/// Whether `heading` contains one of `phrases`, case-insensitive, as whole words.
pub fn is_takeaway_heading(heading: &str, phrases: &[String]) -> bool {
    let h = heading.to_lowercase();
    phrases.iter().any(|p| {
        let p = p.trim();
        // Every heading of every article is asked about every phrase: a phrase already in
        // lower case (the configured ones are) is not copied each time.
        if p.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            contains_whole(&h, p)
        } else {
            contains_whole(&h, &p.to_lowercase())
        }
    })
}

fn contains_whole(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    haystack.match_indices(needle).any(|(i, m)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// GitHub-style anchors, with `-1`, `-2` … for repeated headings.
fn assign_anchors(sections: &mut [Section]) {
    let mut used: std::collections::HashMap<String, usize> = Default::default();
    for s in sections.iter_mut() {
        let Some(h) = &s.heading else { continue };
        let base = text::github_anchor(h);
        let n = used.entry(base.clone()).or_insert(0);
        s.anchor = Some(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
}

/// What a format parser returns before front matter is applied.
#[derive(Debug, Default)]
struct Parsed {
    title: Option<String>,
    standfirst: Option<String>,
    sections: Vec<Section>,
    /// Plain text only: a line (0-based, in the body) that looks like a heading in a file
    /// that yielded no section, for a note.
    unread_heading: Option<(usize, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases() -> Vec<String> {
        crate::config::DEFAULT_TAKEAWAY_HEADINGS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn takeaway_headings() {
        let p = phrases();
        for yes in [
            "The Takeaway for Crypto Innovators",
            "Key Takeaways",
            "TL;DR",
            "Lessons Learned from the Outage",
            "So, what it means for you",
            "In Summary:",
        ] {
            assert!(is_takeaway_heading(yes, &p), "{yes}");
        }
        for no in [
            "Takeaway-free zone?",
            "Conclusions",
            "Summary",
            "Lessonsplan",
        ] {
            // "Takeaway-free" still contains "takeaway" as a whole word: '-' is a boundary.
            if no.starts_with("Takeaway") {
                assert!(is_takeaway_heading(no, &p));
            } else {
                assert!(!is_takeaway_heading(no, &p), "{no}");
            }
        }
    }

    #[test]
    fn a_configured_phrase_matches_whatever_its_case_and_spaces() {
        let p = vec!["  What We LEARNED ".to_string(), "ǅemal".to_string()];
        assert!(is_takeaway_heading("what we learned today", &p));
        assert!(is_takeaway_heading("What We Learned", &p));
        // A title-case letter is not upper case, yet has a lower-case form.
        assert!(is_takeaway_heading("Notes on ǆemal", &p));
        assert!(!is_takeaway_heading("what we learnedx", &p));
    }
}
