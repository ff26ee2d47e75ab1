//! Intent recognition: a message's words (the index's own tokens, synonyms applied), then
//! the look-up of whole messages, then the patterns with their slots filled by the entity
//! parsers, then the fallback to a question. Pure and cheap: no engine call.

use std::collections::{HashMap, HashSet};

use super::entities::{self, ArticleSlot, AuthorSlot, Token};
use super::model::{Elem, Model, Pattern, Slot};
use super::Intent;
use crate::library::Library;
use crate::text;

/// A message is read for patterns only up to this many words: longer ones are questions.
pub(super) const MAX_PATTERN_WORDS: usize = 24;
/// Words of a message read at all (a 5,000-character message costs no more than this).
const MAX_WORDS: usize = 200;
/// Ways one pattern may match one message that are weighed (slots can split words
/// differently).
const MAX_MATCHES: usize = 32;
/// The confidence reported for a question nothing else claimed.
pub(super) const FALLBACK_CONFIDENCE: f32 = 0.6;

/// How a message was recognised.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// No words at all (empty, emoji, punctuation).
    NoWords,
    /// The whole message is one of the intent's phrases.
    Lookup,
    /// A pattern matched (as written in the data file).
    Pattern(String),
    /// Nothing matched: a question about content.
    Fallback,
    /// Nothing to recognise: a button said what it wants (a section of a `/discuss` thread).
    Button,
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            How::NoWords => write!(f, "no words"),
            How::Lookup => write!(f, "phrase"),
            How::Pattern(p) => write!(f, "pattern \"{p}\""),
            How::Fallback => write!(f, "question (no phrase or pattern matched)"),
            How::Button => write!(f, "button"),
        }
    }
}

/// What recognition found in a message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Understanding {
    pub intent: Intent,
    pub confidence: f32,
    pub how: How,
    pub article: Option<ArticleSlot>,
    pub topic: Option<String>,
    pub author: Option<AuthorSlot>,
    pub tag: Option<String>,
}

impl Understanding {
    fn plain(intent: Intent, confidence: f32, how: How) -> Understanding {
        Understanding {
            intent,
            confidence,
            how,
            article: None,
            topic: None,
            author: None,
            tag: None,
        }
    }
}

/// The words of `message`, synonyms applied.
pub(super) fn tokens(m: &Model, message: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for w in text::words(message).into_iter().take(MAX_WORDS) {
        match m.synonyms.get(&*w.lower) {
            Some(words) => out.extend(words.iter().map(|s| Token {
                span: w.span.clone(),
                lower: s.clone(),
                stem: text::stem(s),
            })),
            None => out.push(Token {
                span: w.span,
                lower: w.lower.to_string(),
                stem: w.stem.to_string(),
            }),
        }
    }
    out
}

fn key(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.stem.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `toks` without leading and trailing fillers ("can you", "please"), never down to nothing.
fn strip_fillers<'t>(m: &Model, mut toks: &'t [Token]) -> &'t [Token] {
    let starts = |toks: &[Token], f: &[String]| {
        toks.len() > f.len() && toks.iter().zip(f).all(|(t, w)| &t.stem == w)
    };
    let ends = |toks: &[Token], f: &[String]| {
        toks.len() > f.len()
            && toks[toks.len() - f.len()..]
                .iter()
                .zip(f)
                .all(|(t, w)| &t.stem == w)
    };
    loop {
        if let Some(f) = m.leading.iter().find(|f| starts(toks, f)) {
            toks = &toks[f.len()..];
        } else if let Some(f) = m.trailing.iter().find(|f| ends(toks, f)) {
            toks = &toks[..toks.len() - f.len()];
        } else {
            return toks;
        }
    }
}

/// Recognises `message`.
pub(super) fn recognize(m: &Model, lib: &Library, message: &str) -> Understanding {
    let toks = tokens(m, message);
    if toks.is_empty() {
        return Understanding::plain(Intent::Unclear, 1.0, How::NoWords);
    }
    if let Some(&intent) = m.lookup.get(&key(&toks)) {
        return Understanding::plain(intent, 1.0, How::Lookup);
    }
    let stripped = strip_fillers(m, &toks);
    if stripped.len() < toks.len() {
        if let Some(&intent) = m.lookup.get(&key(stripped)) {
            return Understanding::plain(intent, 1.0, How::Lookup);
        }
    }
    let mut best: Option<Candidate> = None;
    let mut cache = Cache::default();
    for words in [&toks[..], stripped] {
        if words.len() > MAX_PATTERN_WORDS || (words.len() == toks.len() && best.is_some()) {
            continue;
        }
        let present: HashSet<&str> = words.iter().map(|t| t.stem.as_str()).collect();
        for p in &m.patterns {
            if !p.required.iter().all(|w| present.contains(w.as_str())) {
                continue;
            }
            let mut matches = Vec::new();
            walk(&p.elems, &[], words, 0, 0, &mut Vec::new(), &mut matches);
            for found in matches {
                if let Some(c) = evaluate(m, lib, message, p, words, &found, &mut cache) {
                    if best.as_ref().is_none_or(|b| c.score > b.score) {
                        best = Some(c);
                    }
                }
            }
        }
        if words.len() == stripped.len() {
            break;
        }
    }
    match best {
        Some(c) => Understanding {
            how: How::Pattern(c.pattern.source.clone()),
            ..c.understanding
        },
        None => Understanding::plain(Intent::Ask, FALLBACK_CONFIDENCE, How::Fallback),
    }
}

/// One way a pattern matched: the words it consumed and its slots' token ranges.
#[derive(Debug, Clone)]
struct Match {
    words: usize,
    slots: Vec<(Slot, usize, usize)>,
}

/// Matches `seq` then the continuations in `cont` (innermost last) against `toks[ti..]`.
fn walk<'p>(
    seq: &'p [Elem],
    cont: &[&'p [Elem]],
    toks: &[Token],
    ti: usize,
    words: usize,
    slots: &mut Vec<(Slot, usize, usize)>,
    out: &mut Vec<Match>,
) {
    if out.len() >= MAX_MATCHES {
        return;
    }
    let Some((first, tail)) = seq.split_first() else {
        match cont.split_last() {
            Some((next, rest)) => walk(next, rest, toks, ti, words, slots, out),
            None if ti == toks.len() => out.push(Match {
                words,
                slots: slots.clone(),
            }),
            None => {}
        }
        return;
    };
    match first {
        Elem::Word(w) => {
            if toks.get(ti).is_some_and(|t| &t.stem == w) {
                walk(tail, cont, toks, ti + 1, words + 1, slots, out);
            }
        }
        Elem::Group(alts) => {
            let mut inner: Vec<&'p [Elem]> = cont.to_vec();
            inner.push(tail);
            for alt in alts {
                walk(alt, &inner, toks, ti, words, slots, out);
            }
        }
        Elem::Slot(slot) => {
            // An article may go unsaid ("summarize" = the current one); the others need words.
            let min = if *slot == Slot::Article { 0 } else { 1 };
            for end in (ti + min)..=toks.len() {
                slots.push((*slot, ti, end));
                walk(tail, cont, toks, end, words, slots, out);
                slots.pop();
            }
        }
    }
}

/// Slot readings already made for this message, by the words' byte range: the same words
/// are offered to many patterns, and reading an article name costs a name-index look-up.
#[derive(Default)]
struct Cache {
    articles: HashMap<(usize, usize, usize), Option<ArticleSlot>>,
    authors: HashMap<(usize, usize, usize), Option<AuthorSlot>>,
    tags: HashMap<(usize, usize, usize), Option<String>>,
}

/// The key of slot words: the byte range they cover and their number (empty slots: their
/// token position).
fn byte_range(words: &[Token], start: usize) -> (usize, usize, usize) {
    match (words.first(), words.last()) {
        // With the count: words a synonym adds share their word's range.
        (Some(a), Some(b)) => (a.span.start, b.span.end, words.len()),
        _ => (usize::MAX, start, 0),
    }
}

struct Candidate<'m> {
    score: f32,
    pattern: &'m Pattern,
    understanding: Understanding,
}

/// Fills the slots of a match; `None` when one cannot be filled (the words there name no
/// article, author or tag).
fn evaluate<'m>(
    m: &Model,
    lib: &Library,
    message: &str,
    p: &'m Pattern,
    toks: &[Token],
    found: &Match,
    cache: &mut Cache,
) -> Option<Candidate<'m>> {
    let mut u = Understanding::plain(p.intent, 0.0, How::Fallback);
    let mut bonus = 0.0f32;
    // Words of the message accounted for: the pattern's own and those of filled slots.
    let mut covered = found.words as f32;
    let mut quality = 1.0f32;
    for &(slot, start, end) in &found.slots {
        let words = &toks[start..end];
        match slot {
            Slot::Article => {
                let a = cache
                    .articles
                    .entry(byte_range(words, start))
                    .or_insert_with(|| entities::article(m, lib, message, words))
                    .clone()?;
                match &a {
                    ArticleSlot::Current if words.is_empty() => bonus += 0.5,
                    ArticleSlot::Current => {
                        bonus += 1.0;
                        covered += words.len() as f32;
                    }
                    ArticleSlot::Named {
                        quality: q,
                        explicit,
                        ..
                    } => {
                        if p.intent == Intent::Ask && !explicit {
                            // A question put to a bare name is too easily a question about
                            // a topic: "in winter, how often …".
                            return None;
                        }
                        bonus += 1.0 + q;
                        quality = *q;
                        covered += words.len() as f32;
                    }
                    ArticleSlot::Missing { .. } => {
                        if p.intent == Intent::Ask {
                            return None;
                        }
                        bonus += 0.5;
                        quality = 0.5;
                        covered += words.len() as f32;
                    }
                }
                u.article = Some(a);
            }
            Slot::Topic => {
                let topic = entities::span(message, words);
                covered += words.len() as f32 * 0.5;
                u.topic = Some(topic.to_string());
            }
            Slot::Author => {
                let a = cache
                    .authors
                    .entry(byte_range(words, start))
                    .or_insert_with(|| entities::author(m, lib, message, words))
                    .clone()?;
                bonus += 2.0;
                covered += words.len() as f32;
                u.author = Some(a);
            }
            Slot::Tag => {
                let tag = cache
                    .tags
                    .entry(byte_range(words, start))
                    .or_insert_with(|| entities::tag(lib, words))
                    .clone()?;
                u.tag = Some(tag);
                bonus += 2.0;
                covered += words.len() as f32;
            }
        }
    }
    u.confidence = (covered / toks.len().max(1) as f32).min(1.0) * quality;
    Some(Candidate {
        score: found.words as f32 + bonus,
        pattern: p,
        understanding: u,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::content::{self, Format, Loaded};

    /// A model of three intents, in the data file's format.
    fn tiny_model() -> Model {
        let replies: String = [
            "greeting",
            "thanks",
            "help",
            "unclear",
            "need_article",
            "more_without_article",
            "no_more",
            "no_author",
            "no_date",
            "no_tags",
            "no_link",
            "no_section",
        ]
        .iter()
        .map(|k| format!("{k} = \"{k}\"\n"))
        .collect();
        Model::from_toml(&format!(
            r#"
[synonyms]
s = "is"
[fillers]
leading = ["please", "can you"]
trailing = ["thanks"]
[article]
references = ["it", "this one"]
determiners = ["the"]
nouns = ["article", "guide"]
about = ["about", "on"]
follow_words = ["it"]
[author]
references = ["her"]
[replies]
{replies}
[[intent]]
name = "greeting"
phrases = ["hello there"]
[[intent]]
name = "facts.author"
patterns = ["who (wrote|is the author of) {{article}}"]
[[intent]]
name = "list.topic"
patterns = ["anything (about|on) {{topic}}"]
"#
        ))
        .unwrap()
    }

    fn tiny_library() -> Library {
        let s = Settings::for_content(std::path::PathBuf::from("content")).content;
        let articles = [
            (
                "tide-pools.md",
                "+++\ntitle = \"Tide Pools for Beginners\"\naliases = [\"tide pool guide\"]\n+++\n\nAnemones close when the tide goes out.\n",
            ),
            ("kites.md", "# Kites\n\nA kite flies on a steady wind.\n"),
        ];
        let mut loaded = Loaded::default();
        for (path, source) in articles {
            let a = content::parse_article(&s, path.as_ref(), Format::Markdown, source).unwrap();
            loaded.articles.push(a);
        }
        Library::from_loaded(&s, loaded).unwrap()
    }

    fn check(message: &str) -> Understanding {
        recognize(&tiny_model(), &tiny_library(), message)
    }

    #[test]
    fn a_whole_phrase_is_looked_up() {
        let u = check("Hello there!");
        assert_eq!(
            (u.intent, u.confidence, u.how),
            (Intent::Greeting, 1.0, How::Lookup)
        );
    }

    #[test]
    fn a_pattern_fills_its_article_slot_from_the_name_index() {
        // Given a name said with fillers around it, a typo, or a reference.
        let named = check("can you please who wrote the tide pool guide thanks");
        assert_eq!(named.intent, Intent::FactsAuthor);
        assert_eq!(
            named.how,
            How::Pattern("who (wrote|is the author of) {article}".into())
        );
        assert!(matches!(
            named.article,
            Some(ArticleSlot::Named { id: 0, .. })
        ));
        let typo = check("who is the author of the tide pols article");
        assert!(
            matches!(
                typo.article,
                Some(ArticleSlot::Named {
                    id: 0,
                    explicit: true,
                    ..
                })
            ),
            "{typo:?}"
        );
        assert!(typo.confidence < named.confidence);
        let it = check("who wrote this one");
        assert_eq!(it.article, Some(ArticleSlot::Current));
        // An article said as one that does not exist is missing, not guessed.
        let missing = check("who wrote the volcano article");
        assert_eq!(
            missing.article,
            Some(ArticleSlot::Missing {
                query: "volcano".into()
            })
        );
    }

    #[test]
    fn words_that_name_no_article_leave_the_message_a_question() {
        let u = check("who wrote a letter to santa");
        assert_eq!((u.intent, u.how), (Intent::Ask, How::Fallback));
        assert_eq!(u.confidence, FALLBACK_CONFIDENCE);
    }

    #[test]
    fn a_topic_slot_takes_any_words() {
        let u = check("anything on steady winds?");
        assert_eq!(u.intent, Intent::ListTopic);
        assert_eq!(u.topic.as_deref(), Some("steady winds"));
    }

    #[test]
    fn no_words_is_unclear() {
        for message in ["", "🙂", "?!"] {
            assert_eq!(check(message).intent, Intent::Unclear);
        }
    }
}
