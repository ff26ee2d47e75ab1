//! The entity parsers that fill pattern slots: article names (through the library's name
//! index, typos tolerated, or a reference to the current article), authors and tags.

use std::ops::Range;

use super::model::Model;
use crate::library::Library;
use crate::names::MatchKind;
use crate::text;

/// One word of a message as recognition sees it (here, beside the slots read from words, so
/// that `recognize` imports `entities` and not the other way round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// Where the word stands in the message (words a synonym adds share it).
    pub span: Range<usize>,
    pub lower: String,
    pub stem: String,
}

/// What an `{article}` slot holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ArticleSlot {
    /// Empty, or "it", "this article": the conversation's current article.
    Current,
    /// A named article.
    Named {
        id: u32,
        /// How sure the name is (1 for an exact name, less for a prefix or a typo).
        quality: f32,
        /// Said as an article ("the … article", "the piece on …"), not just a bare name.
        explicit: bool,
    },
    /// Said as an article, but no article goes by that name.
    Missing { query: String },
}

/// A fuzzy name match at least this similar names an article.
const FUZZY_ACCEPT: f32 = 0.8;
/// … and leads the next article's match by this much.
const FUZZY_LEAD: f32 = 0.05;

/// Reads the words `toks` (of `message`) as an article: a reference, a name, or nothing
/// (`None`: the words do not name an article and were not said as one).
pub(super) fn article(
    m: &Model,
    lib: &Library,
    message: &str,
    toks: &[Token],
) -> Option<ArticleSlot> {
    if toks.is_empty() || m.references.contains(&joined(toks)) {
        return Some(ArticleSlot::Current);
    }
    // Determiners off the front: "the stablecoins article".
    let mut start = 0;
    while start < toks.len() && m.determiners.contains(&toks[start].stem) {
        start += 1;
    }
    let had_determiner = start > 0;
    let rest = &toks[start..];
    if rest.is_empty() {
        return None;
    }
    if m.references.contains(&joined(rest)) {
        return Some(ArticleSlot::Current);
    }
    // A noun at the end ("… article", "… guide"), or "article about X" / "X article".
    let trailing_noun = m
        .nouns
        .iter()
        .find(|n| rest.len() > n.len() && ends_with(rest, n))
        .map(|n| n.len());
    let leading_noun = m
        .nouns
        .iter()
        .find(|n| {
            rest.len() > n.len() + 1
                && starts_with(rest, n)
                && m.about.contains(&rest[n.len()].stem)
        })
        .map(|n| n.len() + 1);
    let bare_noun = m
        .nouns
        .iter()
        .any(|n| rest.len() == n.len() && starts_with(rest, n));
    if bare_noun {
        // "the article", "that one": the current article.
        return Some(ArticleSlot::Current);
    }
    let explicit = trailing_noun.is_some() || leading_noun.is_some();
    // The variants tried, most literal first.
    let mut variants: Vec<&[Token]> = vec![rest];
    if let Some(n) = trailing_noun {
        variants.push(&rest[..rest.len() - n]);
    }
    if let Some(n) = leading_noun {
        variants.push(&rest[n..]);
    }
    // Exact names and prefixes of every variant before close spellings of any: "the sleep
    // one" is "sleep", not a typo of a longer name.
    let loose = explicit || had_determiner;
    for fuzzy in [false, true] {
        if fuzzy && !loose {
            break;
        }
        for v in &variants {
            let name = span(message, v);
            if let Some((id, quality)) = name_to_article(lib, name, fuzzy) {
                return Some(ArticleSlot::Named {
                    id,
                    quality,
                    explicit,
                });
            }
        }
    }
    if explicit {
        // Slug words and tags, only for something said as an article: "the cycling article".
        let words = variants.last().copied().unwrap_or(rest);
        if let Some(id) = by_slug_words(lib, words) {
            return Some(ArticleSlot::Named {
                id,
                quality: 0.7,
                explicit,
            });
        }
    }
    // Only words said as an article are a missing article; others ("the weather") are
    // no name at all, and the message is read another way.
    explicit.then(|| ArticleSlot::Missing {
        query: span(message, variants.last().copied().unwrap_or(rest)).to_string(),
    })
}

/// The article `name` names, with how surely: a slug, an exact title or alias, the only
/// article whose name starts with it, or (when `fuzzy`) a close spelling well ahead of the
/// next.
pub(super) fn name_to_article(lib: &Library, name: &str, fuzzy: bool) -> Option<(u32, f32)> {
    let name = name.trim();
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
        return None;
    }
    if let Some(id) = lib
        .by_slug(name)
        .or_else(|| lib.by_slug(&text::slugify(name)))
    {
        return Some((id, 1.0));
    }
    let matches = if fuzzy {
        // A close spelling is taken at FUZZY_ACCEPT, and only when the next one trails it by
        // FUZZY_LEAD: weaker ones change nothing, so the look-up need not look for them.
        // (A hair lower, so that rounding never drops one the old rule would have weighed.)
        lib.names
            .lookup_close(name, 2, FUZZY_ACCEPT - FUZZY_LEAD - 0.001)
    } else {
        lib.names.lookup_literal(name, 2)
    };
    let first = matches.first()?;
    let second = matches.get(1);
    match first.kind {
        MatchKind::Exact => Some((first.article, 1.0)),
        MatchKind::Prefix | MatchKind::WordPrefix => {
            let alone = second.is_none_or(|s| s.kind > first.kind);
            alone.then_some((
                first.article,
                if first.kind == MatchKind::Prefix {
                    0.9
                } else {
                    0.8
                },
            ))
        }
        MatchKind::Fuzzy => {
            let clear = first.similarity >= FUZZY_ACCEPT
                && second.is_none_or(|s| s.similarity + FUZZY_LEAD < first.similarity);
            (clear && fuzzy).then_some((first.article, 0.6 * first.similarity))
        }
    }
}

/// The one article whose slug or tags hold every content word of `words` ("cycling" for
/// `urban-cycling`).
fn by_slug_words(lib: &Library, words: &[Token]) -> Option<u32> {
    let wanted: Vec<&str> = words
        .iter()
        .filter(|t| !text::is_stop_word(&t.lower))
        .map(|t| t.stem.as_str())
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let directory = lib.names.directory(&lib.articles);
    let mut lists: Vec<&[u32]> = wanted
        .iter()
        .map(|w| directory.articles_with_word(w))
        .collect();
    // The shortest list first: its articles are the only candidates.
    lists.sort_by_key(|l| l.len());
    let mut found = None;
    for id in lists[0] {
        if lists[1..].iter().all(|l| l.binary_search(id).is_ok()) {
            if found.is_some() {
                return None;
            }
            found = Some(*id);
        }
    }
    found
}

/// What an `{author}` slot holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AuthorSlot {
    /// "her", "the author": the current article's.
    Current,
    Named(String),
}

/// Reads `toks` as an author: a reference, or a name some article carries (whole, or a first
/// or last name of at least three letters, or a close spelling).
pub(super) fn author(
    m: &Model,
    lib: &Library,
    message: &str,
    toks: &[Token],
) -> Option<AuthorSlot> {
    if toks.is_empty() {
        return None;
    }
    if m.author_references.contains(&joined(toks)) {
        return Some(AuthorSlot::Current);
    }
    let said = crate::names::normalize(span(message, toks));
    // (as written, folded) of the author found so far.
    let mut found: Option<(&str, &str)> = None;
    for (a, name) in lib.names.directory(&lib.articles).authors() {
        let hit = *name == said
            || (said.len() >= 3 && name.split_whitespace().any(|w| w == said))
            || strsim::jaro_winkler(name, &said) >= 0.92;
        if hit {
            match found {
                Some((f, folded)) if f != a.as_str() => {
                    // Two authors share that name: the whole name wins, else it is unclear.
                    if *name == said {
                        found = Some((a, name));
                    } else if folded != said {
                        return None;
                    }
                }
                _ => found = Some((a, name)),
            }
        }
    }
    found.map(|(a, _)| AuthorSlot::Named(a.to_string()))
}

/// Reads `toks` as a tag some article carries (same stems: "language" finds `languages`).
pub(super) fn tag(lib: &Library, toks: &[Token]) -> Option<String> {
    let stems: Vec<&str> = toks.iter().map(|t| t.stem.as_str()).collect();
    lib.names
        .directory(&lib.articles)
        .tag(&stems)
        .map(str::to_string)
}

fn joined(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.stem.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ends_with(toks: &[Token], words: &[String]) -> bool {
    toks.len() >= words.len()
        && toks[toks.len() - words.len()..]
            .iter()
            .zip(words)
            .all(|(t, w)| &t.stem == w)
}

fn starts_with(toks: &[Token], words: &[String]) -> bool {
    toks.len() >= words.len() && toks.iter().zip(words).all(|(t, w)| &t.stem == w)
}

/// The text of `message` the tokens cover, as written.
pub(super) fn span<'m>(message: &'m str, toks: &[Token]) -> &'m str {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => &message[a.span.start..b.span.end],
        _ => "",
    }
}
