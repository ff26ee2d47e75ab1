//! Text primitives shared by every part of the core: tokens and stems (the same ones the
//! index uses), sentences, slugs, stop words and length-safe truncation.
//!
//! The tokenizer here mirrors the index's analyzer ([`crate::index::analyzer()`]: split on
//! non-alphanumeric characters, drop tokens of 40 bytes or more, lower-case, fold accents to
//! ASCII, English Snowball stemmer), so a stem computed here is a term that exists in the index.
//! A test holds the two together.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use rust_stemmers::{Algorithm, Stemmer};

pub mod cache;

pub use crate::index::analyzer::MAX_TOKEN_BYTES;

/// Whether the index's analyzer drops a word of `len` bytes as written: tantivy's
/// `RemoveLongFilter` keeps a token only when it is shorter than its limit, so a word of
/// exactly [`MAX_TOKEN_BYTES`] bytes is dropped too.
pub fn too_long(len: usize) -> bool {
    len >= MAX_TOKEN_BYTES
}

/// One word of a text: where it stands, its lower-cased form and its stem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte range of the word in the text it came from.
    pub span: Range<usize>,
    /// Lower-cased word, accents folded to ASCII ("Pokémon" → "pokemon").
    pub lower: String,
    /// English stem of the lower-cased word (the indexed term).
    pub stem: String,
}

/// One word of a text with its forms shared (reference-counted) with the thread's word cache:
/// [`words`] allocates nothing per word it has seen before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte range of the word in the text it came from.
    pub span: Range<usize>,
    /// Lower-cased word, accents folded to ASCII.
    pub lower: Rc<str>,
    /// English stem of the lower-cased word (the indexed term).
    pub stem: Rc<str>,
}

/// Words whose stems a thread remembers before it starts over (a collection's working
/// vocabulary fits; memory stays bounded).
const STEM_CACHE_WORDS: usize = 50_000;

/// A word as written and its two forms.
type WordCache = FxHashMap<Box<str>, (Rc<str>, Rc<str>)>;

thread_local! {
    static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
    // Questions are scored against the same words again and again: a hash look-up costs far
    // less than Snowball stemming (see BENCHMARKS.md, `ask`).
    static STEMS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    // Every sentence of the candidate passages is tokenized for each question: keyed by the
    // word as written, a word seen before costs one hash look-up and no allocation.
    static WORDS: RefCell<WordCache> = RefCell::new(WordCache::default());
}

/// A `HashMap` with the Fx hash (rustc's): words and stems are short keys, which it hashes in
/// a few instructions where SipHash's set-up dominates the look-up (see BENCHMARKS.md, `ask`).
/// Every key comes from the collection or a question, never from a peer that could choose
/// colliding keys to slow the map down.
pub use rustc_hash::FxHashMap;

/// Stems one lower-cased word.
pub fn stem(lower: &str) -> String {
    STEMS.with(|cache| {
        if let Some(s) = cache.borrow().get(lower) {
            return s.clone();
        }
        let s = STEMMER.with(|st| st.stem(lower).into_owned());
        let mut cache = cache.borrow_mut();
        if cache.len() >= STEM_CACHE_WORDS {
            cache.clear();
        }
        cache.insert(lower.to_string(), s.clone());
        s
    })
}

/// `lower` with its accents folded to ASCII the way the index folds them (tantivy's own
/// folding table: people type "pokemon" and "cafe" for "Pokémon" and "café"). ASCII words,
/// nearly all of them, pass through untouched.
pub fn fold(lower: String) -> String {
    if lower.is_ascii() {
        return lower;
    }
    crate::index::analyzer::fold_accents(&lower).unwrap_or(lower)
}

/// The word `raw` (as written) lower-cased and folded as the index's analyzer makes it: each
/// character lower-cased on its own, as tantivy's `LowerCaser` does (`str::to_lowercase`
/// would end a word in a final sigma, "ΣΟΣ" → "σος", a term the index never holds), then
/// [`fold`]ed.
pub fn lower(raw: &str) -> String {
    if raw.is_ascii() {
        return raw.to_ascii_lowercase();
    }
    let mut lower = String::with_capacity(raw.len());
    for c in raw.chars() {
        lower.extend(c.to_lowercase());
    }
    fold(lower)
}

/// Splits `text` into tokens the way the index does.
pub fn tokenize(text: &str) -> Vec<Token> {
    words(text)
        .into_iter()
        .map(|w| Token {
            span: w.span,
            lower: w.lower.to_string(),
            stem: w.stem.to_string(),
        })
        .collect()
}

/// Splits `text` into words the way the index does: [`tokenize`] without an allocation per
/// word (the forms come from the thread's word cache).
pub fn words(text: &str) -> Vec<Word> {
    WORDS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let mut out = Vec::new();
        for span in word_spans(text) {
            if too_long(span.len()) {
                continue;
            }
            let raw = &text[span.clone()];
            let (lower, stem) = match cache.get(raw) {
                Some((lower, stem)) => (lower.clone(), stem.clone()),
                None => {
                    let lower = self::lower(raw);
                    let stem: Rc<str> = self::stem(&lower).into();
                    let lower: Rc<str> = lower.into();
                    if cache.len() >= STEM_CACHE_WORDS {
                        cache.clear();
                    }
                    cache.insert(raw.into(), (lower.clone(), stem.clone()));
                    (lower, stem)
                }
            };
            out.push(Word { span, lower, stem });
        }
        out
    })
}

/// Byte ranges of the maximal runs of alphanumeric characters in `text`.
pub fn word_spans(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = loop {
            if at >= text.len() {
                return None;
            }
            let (alphanumeric, len) = char_at(text, at);
            at += len;
            if alphanumeric {
                break at - len;
            }
        };
        while at < text.len() {
            let (alphanumeric, len) = char_at(text, at);
            if !alphanumeric {
                break;
            }
            at += len;
        }
        Some(start..at)
    })
}

/// Whether the character at byte `i` of `text` (a character boundary) is alphanumeric, and
/// its length. Every text is split into words several times over during a build (passages,
/// counts, sentences): an ASCII byte, nearly every one, is answered without decoding a `char`.
#[inline]
fn char_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b.is_ascii() {
        return (b.is_ascii_alphanumeric(), 1);
    }
    let c = text[i..].chars().next().expect("a character at a boundary");
    (c.is_alphanumeric(), c.len_utf8())
}

/// Number of words in `text`: the number of [`word_spans`], counted in one pass over the
/// bytes (a build counts the words of every block to cut passages: as an iterator of spans it
/// was 3% of a build, BENCHMARKS.md, issue 18).
pub fn word_count(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut words = 0;
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let (alphanumeric, len) = char_at(text, i);
        words += usize::from(alphanumeric && !in_word);
        in_word = alphanumeric;
        i += len;
    }
    words
}

/// English function words that carry no topic on their own. Questions lose them before the
/// search; they still count for phrase matching inside a sentence.
pub fn is_stop_word(lower: &str) -> bool {
    STOP_WORDS.binary_search(&lower).is_ok()
}

// Sorted, so `binary_search` works; a test checks the order.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "during", "each", "else", "for", "from", "get", "got", "had", "has", "have", "having",
    "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "just", "let", "me", "might", "more", "most", "much", "must", "my", "no", "nor", "not", "of",
    "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "please",
    "same", "shall", "she", "should", "so", "some", "such", "tell", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "whose", "why", "will", "with", "would", "you", "your", "yours",
];

/// Byte ranges of the sentences of `text`, trimmed of surrounding white space.
///
/// A sentence ends at `.`, `!` or `?` (and any closing quotes or brackets after it) followed by
/// white space and then an upper-case letter, digit, quote or bracket. Common abbreviations and
/// single-letter initials ("e.g.", "Dr.", "J. R. R.") do not end a sentence.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'.' | b'!' | b'?') {
            let mut end = i + 1;
            while end < bytes.len()
                && matches!(bytes[end], b'.' | b'!' | b'?' | b'"' | b'\'' | b')' | b']')
            {
                end += 1;
            }
            // Closing curly quotes (3 bytes each in UTF-8).
            while text[end..].starts_with(['\u{201d}', '\u{2019}']) {
                end += text[end..].chars().next().map_or(1, char::len_utf8);
            }
            let rest = &text[end..];
            let ws = rest.len() - rest.trim_start().len();
            let next = rest.trim_start().chars().next();
            let boundary = ws > 0
                && next.is_some_and(|c| {
                    c.is_uppercase() || c.is_ascii_digit() || "\"'(\u{201c}\u{2018}[*".contains(c)
                })
                && !(b == b'.' && ends_with_abbreviation(&text[start..i]));
            if boundary || next.is_none() {
                push_trimmed(text, start..end, &mut out);
                start = end + ws;
                i = start;
                continue;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[range.clone()];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if !trimmed.is_empty() {
        let start = range.start + lead;
        out.push(start..start + trimmed.len());
    }
}

fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let core = word.trim_start_matches(['"', '\'']);
    // Single letters ("J."), and dotted forms such as "e.g" or "U.S".
    if core.chars().count() == 1 && core.chars().all(char::is_alphabetic) {
        return true;
    }
    if core.contains('.') && core.split('.').all(|p| p.chars().count() <= 2) {
        return true;
    }
    const ABBREVIATIONS: &[&str] = &[
        "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "inc", "ltd", "co", "jr", "sr", "no",
        "fig", "approx", "dept", "est", "mt", "gen", "col", "lt", "sgt", "rev", "jan", "feb",
        "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ca", "cf", "al",
    ];
    let lower = core.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// Lower-cases `s` and collapses every run of non-alphanumeric characters into one `-`,
/// trimming `-` from both ends: `Notes/My File.md` → `notes-my-file-md`.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// GitHub's heading anchor: lower-case, punctuation other than `-` and `_` removed, spaces
/// turned into `-`.
pub fn github_anchor(heading: &str) -> String {
    let heading = heading.trim();
    let mut out = String::with_capacity(heading.len());
    for c in heading.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.extend(c.to_lowercase());
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
}

/// Cuts `text` to at most `max` characters, at a sentence end when one falls in the last
/// half, else at a word boundary, and adds `…` when anything was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    // Leave room for the ellipsis.
    let limit = max - 1;
    let cut = text
        .char_indices()
        .nth(limit)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let sentence_end = head
        .rmatch_indices(['.', '!', '?'])
        .map(|(i, _)| i + 1)
        .find(|&i| head[i..].starts_with(char::is_whitespace) || i == head.len());
    if let Some(end) = sentence_end.filter(|&e| e * 2 >= head.len()) {
        return format!("{}…", head[..end].trim_end());
    }
    let word_end = head
        .rfind(char::is_whitespace)
        .filter(|&e| e * 2 >= head.len());
    let body = match word_end {
        Some(e) => head[..e].trim_end_matches(|c: char| c.is_whitespace() || ",;:-".contains(c)),
        None => head,
    };
    format!("{body}…")
}

/// Cuts `text` to at most `max` characters like [`truncate`], but so that the word starting
/// at byte `at` stays in view: when cutting from the start would lose it, the text starts a few
/// words before it, after a `…`.
pub fn truncate_around(text: &str, at: usize, max: usize) -> String {
    let head = truncate(text, max);
    if at >= text.len() || !text.is_char_boundary(at) || max < 2 {
        return head;
    }
    let word_end = text[at..]
        .find(|c: char| !c.is_alphanumeric())
        .map_or(text.len(), |e| at + e);
    if head.strip_suffix('…').unwrap_or(&head).len() >= word_end {
        return head;
    }
    // About a quarter of the line before the word, from a word's start.
    let lead = max / 4;
    let before = text[..at].chars().count();
    let from = text
        .char_indices()
        .nth(before.saturating_sub(lead))
        .map_or(0, |(i, _)| i);
    let from = text[from..at]
        .find(char::is_whitespace)
        .map_or(at, |w| from + w);
    format!("…{}", truncate(text[from..].trim_start(), max - 1))
}

/// Removes control characters and collapses white space into single spaces.
pub fn clean_whitespace(text: &str) -> String {
    // Every block of every article passes through here (most of a Markdown parse's
    // instructions once): a run of printable ASCII, what most text is, is found by a plain
    // byte loop and copied whole; only other bytes are classed one character at a time.
    let bytes = text.as_bytes();
    if is_clean_ascii(bytes) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    // A blank was seen since the last kept character (written only between kept ones).
    let mut space = false;
    let mut at = 0;
    while at < bytes.len() {
        let run = bytes[at..]
            .iter()
            .position(|&b| b <= b' ' || b >= 0x7f)
            .unwrap_or(bytes.len() - at);
        let len = if run > 0 {
            run
        } else if bytes[at].is_ascii() {
            // ASCII white space and control characters: every byte up to the space, and DEL.
            space = true;
            at += 1;
            continue;
        } else {
            let c = text[at..]
                .chars()
                .next()
                .expect("a character at a boundary");
            if c.is_whitespace() || c.is_control() {
                space = true;
                at += c.len_utf8();
                continue;
            }
            c.len_utf8()
        };
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push_str(&text[at..at + len]);
        at += len;
    }
    out
}

/// Printable ASCII with single spaces between words and none at either end: what
/// [`clean_whitespace`] leaves as it is, and what most blocks of text already are.
fn is_clean_ascii(bytes: &[u8]) -> bool {
    // The start counts as a space: a leading space is not clean.
    let mut after_space = true;
    for &b in bytes {
        if b == b' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if !(b' '..0x7f).contains(&b) {
            return false;
        } else {
            after_space = false;
        }
    }
    !after_space || bytes.is_empty()
}

/// Cuts `s` at a character boundary so that it is at most `max_bytes` long.
pub fn floor_char_boundary(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn stop_words_are_sorted() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn tokens_and_stems() {
        let toks = tokenize("Running dogs, it's   Ünïcode!");
        let stems: Vec<_> = toks.iter().map(|t| t.stem.as_str()).collect();
        // Accents fold before stemming, so "Ünïcode" stems like "unicode".
        assert_eq!(stems, ["run", "dog", "it", "s", "unicod"]);
        assert_eq!(toks[4].lower, "unicode");
        assert_eq!(toks[1].span, 8..12);
    }

    #[test]
    fn words_share_the_forms_of_tokens() {
        let text = "Running RUNNING running Pokémon, café 1937";
        // The second pass reads every word from the cache.
        for _ in 0..2 {
            let words = words(text);
            let forms: Vec<(&str, &str)> = words.iter().map(|w| (&*w.lower, &*w.stem)).collect();
            assert_eq!(
                forms,
                [
                    ("running", "run"),
                    ("running", "run"),
                    ("running", "run"),
                    ("pokemon", "pokemon"),
                    ("cafe", "cafe"),
                    ("1937", "1937")
                ]
            );
            assert_eq!(words[3].span, 24..32);
            let tokens: Vec<(Range<usize>, String, String)> = tokenize(text)
                .into_iter()
                .map(|t| (t.span, t.lower, t.stem))
                .collect();
            let from_words: Vec<(Range<usize>, String, String)> = words
                .into_iter()
                .map(|w| (w.span, w.lower.to_string(), w.stem.to_string()))
                .collect();
            assert_eq!(tokens, from_words);
        }
    }

    #[test]
    fn sentence_split() {
        assert_eq!(
            sents("Dr. Smith came. He left! Did he? Yes, e.g. today. 3 more."),
            [
                "Dr. Smith came.",
                "He left!",
                "Did he?",
                "Yes, e.g. today.",
                "3 more."
            ]
        );
        assert_eq!(
            sents("The U.S. Army won. Next"),
            ["The U.S. Army won.", "Next"]
        );
        assert_eq!(sents("version 1.2 is out. ok"), ["version 1.2 is out. ok"]);
        assert_eq!(sents("  "), Vec::<&str>::new());
        assert_eq!(
            sents("He said \"stop.\" Then he went."),
            ["He said \"stop.\"", "Then he went."]
        );
    }

    #[test]
    fn slugs_and_anchors() {
        assert_eq!(slugify("Notes/My File  (v2).md"), "notes-my-file-v2-md");
        assert_eq!(slugify("--Hello--"), "hello");
        assert_eq!(
            github_anchor("The Takeaway: What's next?"),
            "the-takeaway-whats-next"
        );
        assert_eq!(github_anchor("TL;DR"), "tldr");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("short", 10), "short");
        let t = truncate("One sentence here. Another sentence that is long.", 30);
        assert_eq!(t, "One sentence here.…");
        let t = truncate("alpha beta gamma delta epsilon", 14);
        assert_eq!(t, "alpha beta…");
        assert!(t.chars().count() <= 14);
        let emoji = "😀".repeat(50);
        assert_eq!(truncate(&emoji, 10).chars().count(), 10);
    }

    proptest::proptest! {
        #[test]
        fn an_anchor_is_the_heading_lowered_char_by_char(heading in "(\\PC|[ _-]){0,30}") {
            // GitHub's definition, one character at a time.
            let by_char: String = heading
                .trim()
                .chars()
                .filter_map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        Some(c.to_lowercase().collect::<String>())
                    } else if c == ' ' {
                        Some("-".to_string())
                    } else {
                        None
                    }
                })
                .collect();
            proptest::prop_assert_eq!(github_anchor(&heading), by_char);
        }
    }

    #[test]
    fn whitespace() {
        assert_eq!(clean_whitespace("  a\n\tb \u{7} c "), "a b c");
        assert_eq!(floor_char_boundary("héllo", 2), "h");
    }

    /// The definitions the byte-wise fast paths of [`word_spans`] and [`clean_whitespace`]
    /// must keep: `char` by `char`.
    fn spans_by_char(text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        out.extend(start.map(|s| s..text.len()));
        out
    }

    fn clean_by_char(text: &str) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in text.chars() {
            if c.is_whitespace() || c.is_control() {
                space = !out.is_empty();
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn byte_wise_splitting_and_cleaning_keep_the_char_wise_definitions() {
        let samples = [
            "",
            "   ",
            "a",
            "Pokémon, CAFÉ\u{a0}naïve\u{85}x\u{2003}y \u{7f}z\u{b}w\u{c}v",
            "ΣΊΣΥΦΟΣ 1937—٣٤ 漢字かな ﬁnal\u{200b}zero-width\tend\r\n",
            "trailing  ",
            "\u{1F600}emoji\u{1F600} mixed42abc",
        ];
        for text in samples {
            assert_eq!(
                word_spans(text).collect::<Vec<_>>(),
                spans_by_char(text),
                "{text:?}"
            );
            assert_eq!(word_count(text), spans_by_char(text).len(), "{text:?}");
            assert_eq!(clean_whitespace(text), clean_by_char(text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_splits_and_cleans_as_char_by_char(text in "(\\PC|[ \t\n\u{b}\u{c}\r\u{7f}\u{85}\u{a0}\u{2003}]){0,40}") {
            proptest::prop_assert_eq!(word_spans(&text).collect::<Vec<_>>(), spans_by_char(&text));
            proptest::prop_assert_eq!(word_count(&text), spans_by_char(&text).len());
            proptest::prop_assert_eq!(clean_whitespace(&text), clean_by_char(&text));
        }
    }

    #[test]
    fn truncation_keeps_a_late_word_in_view() {
        let text = format!("{} water at the end.", "filler words here ".repeat(20));
        let at = text.find("water").unwrap();
        let cut = truncate_around(&text, at, 80);
        assert!(cut.starts_with('…') && cut.contains("water"), "{cut}");
        assert!(cut.chars().count() <= 80, "{cut}");
        // A word already in view: the plain cut.
        assert_eq!(truncate_around(&text, 0, 80), truncate(&text, 80));
        assert_eq!(truncate_around("short text", 6, 80), "short text");
    }
}
