//! The analyzer every text field is indexed with, and the accent folding [`crate::text`]
//! shares with it: kept beside the analyzer so that `index` is the only module that names
//! tantivy, and so that the two cannot drift apart.

use std::cell::RefCell;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use tantivy::tokenizer::{
    AsciiFoldingFilter, BoxTokenStream, LowerCaser, RawTokenizer, RemoveLongFilter,
    SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

use crate::text::cache::{HotWords, InlineWord};

/// The tokenizer of every text field, registered with every index under this name;
/// [`crate::text::tokenize`] mirrors it.
pub const TOKENIZER: &str = "articlebot_en";

/// Tokens of this many bytes or more are dropped (tantivy's `RemoveLongFilter` keeps a token
/// shorter than its limit; [`crate::text::too_long`]).
pub const MAX_TOKEN_BYTES: usize = 40;

/// The analyzer behind [`TOKENIZER`]: tantivy's `en_stem` with accents folded to ASCII between
/// lower-casing and stemming, so "pokemon" finds "Pokémon". Its stemmer is tantivy's (the
/// same Snowball English of `rust_stemmers`) with the stems each thread made remembered
/// ([`CachedStemmer`]).
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(CachedStemmer)
        .build()
}

/// The tokenizer registered under [`TOKENIZER`] with every index (`index::register_tokenizer`):
/// [`analyzer()`] for a text, and for a text already analysed ([`Stems`]) its tokens as they
/// were made, without analysing them again. A build analyses each text once, for the index
/// and for the related vectors' counts, and each article's title and meta fields once for all
/// of its passages (BENCHMARKS.md, issue 18: the index's analysis of every field of every
/// passage and the counting's second one were about a third of a build).
pub(crate) fn indexing_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(IndexTokenizer {
        plain: analyzer(),
        token: Token::default(),
    })
}

/// A word of a [`Stems`] the analyzer keeps: its stem follows, up to the next tag.
const KEPT: u8 = 0;
/// A word of a [`Stems`] the analyzer drops ([`MAX_TOKEN_BYTES`]): it still takes a position.
const DROPPED: u8 = 1;

/// A text as [`analyzer()`] analyses it: the stem of each word it keeps and the place of each
/// word it drops, in order, each behind a tag byte that no stem holds (a stem is made of a
/// word's alphanumeric characters, lower-cased and folded to printable ASCII or kept as they
/// are). Handed to the index as its text, it is replayed by [`indexing_analyzer`] into the
/// very tokens (stems and positions) the analyzer makes of the text. Several texts may be
/// written one after the other into one `Stems`: any range from one text's start to another's
/// is a text of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stems(String);

impl Stems {
    /// The next word, kept as `stem`.
    #[inline]
    pub fn push(&mut self, stem: &str) {
        debug_assert!(!stem.bytes().any(|b| b <= DROPPED), "{stem:?}");
        self.0.push(char::from(KEPT));
        self.0.push_str(stem);
    }

    /// The next word, dropped.
    #[inline]
    pub fn skip(&mut self) {
        self.0.push(char::from(DROPPED));
    }

    /// The bytes written so far: where the next text starts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` is a [`Stems`] (an empty one is the empty text either way).
fn is_stems(text: &str) -> bool {
    text.as_bytes().first().is_some_and(|&b| b <= DROPPED)
}

/// A text of a weighted field as the index is handed it: a plain text ([`IndexText::plain`])
/// or an analysed one ([`IndexText::stems`]). The only way a text reaches a document's
/// weighted fields, so that a plain text can never be replayed as a [`Stems`] by
/// [`indexing_analyzer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexText<'a>(std::borrow::Cow<'a, str>);

impl<'a> IndexText<'a> {
    /// `text` to be analysed: one that starts with a tag's control character gets a space in
    /// front, which the analyzer passes over (the same tokens at the same positions).
    pub(crate) fn plain(text: &'a str) -> IndexText<'a> {
        IndexText(if is_stems(text) {
            format!(" {text}").into()
        } else {
            text.into()
        })
    }

    /// The texts analysed into `stems[range]` (a range from one text's start to another's).
    pub(crate) fn stems(stems: &'a Stems, range: std::ops::Range<usize>) -> IndexText<'a> {
        IndexText(stems.as_str()[range].into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// [`indexing_analyzer`]'s tokenizer.
#[derive(Clone)]
struct IndexTokenizer {
    plain: TextAnalyzer,
    token: Token,
}

impl Tokenizer for IndexTokenizer {
    type TokenStream<'a> = IndexTokens<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IndexTokens<'a> {
        if is_stems(text) {
            self.token.reset();
            IndexTokens::Stems(Replay {
                text,
                at: 0,
                token: &mut self.token,
            })
        } else {
            IndexTokens::Plain(self.plain.token_stream(text))
        }
    }
}

/// The tokens of [`IndexTokenizer`].
enum IndexTokens<'a> {
    Plain(BoxTokenStream<'a>),
    Stems(Replay<'a>),
}

/// The tokens of a [`Stems`], replayed: each kept word's stem at the word's position.
struct Replay<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
}

impl TokenStream for Replay<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        while let Some(&tag) = bytes.get(self.at) {
            self.at += 1;
            self.token.position = self.token.position.wrapping_add(1);
            if tag == DROPPED {
                continue;
            }
            let end = bytes[self.at..]
                .iter()
                .position(|&b| b <= DROPPED)
                .map_or(bytes.len(), |n| self.at + n);
            self.token.text.clear();
            self.token.text.push_str(&self.text[self.at..end]);
            self.token.offset_from = self.at;
            self.token.offset_to = end;
            self.at = end;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

impl TokenStream for IndexTokens<'_> {
    fn advance(&mut self) -> bool {
        match self {
            IndexTokens::Plain(t) => t.advance(),
            IndexTokens::Stems(t) => t.advance(),
        }
    }

    fn token(&self) -> &Token {
        match self {
            IndexTokens::Plain(t) => t.token(),
            IndexTokens::Stems(t) => t.token(),
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self {
            IndexTokens::Plain(t) => t.token_mut(),
            IndexTokens::Stems(t) => t.token_mut(),
        }
    }
}

/// Words whose stems an indexing thread remembers before it starts over: a collection's
/// working vocabulary fits, and the memory stays bounded (a few megabytes per thread).
const STEMS_CACHED: usize = 100_000;

/// Each word (lower-cased, folded) a thread stemmed and its stem: nearly every word held
/// inline ([`InlineWord`]: a look-up compares where the table holds the key), longer ones on
/// the heap.
/// The common words are also kept in a small table of their own ([`HotWords`]) that stays in
/// the processor's cache.
#[derive(Default)]
struct StemCache {
    hot: HotWords<InlineWord>,
    short: FxHashMap<InlineWord, InlineWord>,
    long: FxHashMap<Box<str>, Box<str>>,
}

impl StemCache {
    /// Replaces `word` with its stem.
    fn stem_in_place(&mut self, word: &mut String) {
        let short = InlineWord::new(word);
        if let Some(key) = &short {
            let known = self.hot.get(key).or_else(|| {
                let stem = *self.short.get(key)?;
                self.hot.put(*key, stem);
                Some(stem)
            });
            if let Some(stem) = known {
                if stem != *key {
                    word.clear();
                    word.push_str(stem.as_str());
                }
                return;
            }
        } else if let Some(stem) = self.long.get(word.as_str()) {
            if **stem != **word {
                word.clear();
                word.push_str(stem);
            }
            return;
        }
        let stem: Box<str> = STEMMER.with(|s| s.stem(word).into());
        if self.short.len() + self.long.len() >= STEMS_CACHED {
            self.short.clear();
            self.long.clear();
        }
        match (short, InlineWord::new(&stem)) {
            (Some(key), Some(inline)) => {
                self.short.insert(key, inline);
                self.hot.put(key, inline);
                word.clear();
                word.push_str(&stem);
            }
            _ => {
                let word = std::mem::replace(word, String::from(&*stem));
                self.long.insert(word.into_boxed_str(), stem);
            }
        }
    }
}

thread_local! {
    static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
    // The stems this thread made. Snowball stemming of every token of every field was a fifth
    // of a build (BENCHMARKS.md, issue 18); a word of a collection recurs thousands of times,
    // and a look-up costs a fraction of stemming it again.
    static STEMS: RefCell<StemCache> = RefCell::new(StemCache::default());
}

/// tantivy's `Stemmer` filter for English, each word stemmed once per thread: a stem depends on
/// the word alone, so the tokens are the ones tantivy's filter gives (a test compares them).
#[derive(Clone, Copy, Debug, Default)]
pub struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter { inner: tokenizer }
    }
}

/// The tokenizer [`CachedStemmer`] wraps around the filters before it.
#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

/// The tokens of [`CachedStemmerFilter`], stemmed.
pub struct CachedStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &mut self.tail.token_mut().text;
        STEMS.with(|cache| cache.borrow_mut().stem_in_place(text));
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

thread_local! {
    // The analyzer's folding filter over a whole (already lower-cased) word.
    static FOLDER: RefCell<TextAnalyzer> = RefCell::new(
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(AsciiFoldingFilter)
            .build(),
    );
}

/// `lower` (a lower-cased word) with its accents folded to ASCII by the analyzer's own folding
/// table.
pub fn fold_accents(lower: &str) -> Option<String> {
    FOLDER.with(|f| {
        let mut f = f.borrow_mut();
        let mut stream = f.token_stream(lower);
        stream.next().map(|t| t.text.clone())
    })
}

/// [`Stems`] of `text` made from [`analyzer()`]'s own tokens, a word dropped wherever a
/// position has none: what an analysis of a text for the index must give (tests compare).
#[cfg(test)]
pub(crate) fn stems_by_the_analyzer(text: &str, stems: &mut Stems) {
    let mut next = 0;
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token();
        for _ in next..t.position {
            stems.skip();
        }
        stems.push(&t.text);
        next = t.position + 1;
    }
    // The words dropped at the end take their places too (a text written after this one in
    // the same `Stems` starts after them).
    let mut words = SimpleTokenizer::default();
    let mut stream = words.token_stream(text);
    let mut all = 0;
    while stream.advance() {
        all += 1;
    }
    for _ in next..all {
        stems.skip();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language, Stemmer as TantivyStemmer};

    fn tokens_at(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize)> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.position));
        }
        out
    }

    #[test]
    fn stems_are_replayed_as_the_analyzers_tokens() {
        let long = "a".repeat(MAX_TOKEN_BYTES);
        let texts = [
            "Running runners ran; the Pokémon CAFÉS, ΣΊΣΥΦΟΣ naïveté 1999".to_string(),
            format!("{long} starts, {long} between and ends {long}"),
            long.clone(),
            String::new(),
            "  ,;  ".to_string(),
        ];
        let mut indexing = indexing_analyzer();
        for text in &texts {
            let expected = tokens_at(&mut analyzer(), text);
            let mut stems = Stems::default();
            stems_by_the_analyzer(text, &mut stems);
            assert_eq!(
                tokens_at(&mut indexing, stems.as_str()),
                expected,
                "{text:?}"
            );
            // A plain text is analysed as it always was.
            assert_eq!(tokens_at(&mut indexing, text), expected, "{text:?}");
        }
        // Two texts written one after the other: the second one's range is a text of its own,
        // and the whole the words of both.
        let mut stems = Stems::default();
        stems_by_the_analyzer(&texts[1], &mut stems);
        let at = stems.len();
        stems_by_the_analyzer(&texts[0], &mut stems);
        assert_eq!(
            tokens_at(&mut indexing, &stems.as_str()[at..]),
            tokens_at(&mut analyzer(), &texts[0])
        );
        let joined = format!("{}\n{}", texts[1], texts[0]);
        assert_eq!(
            tokens_at(&mut indexing, stems.as_str()),
            tokens_at(&mut analyzer(), &joined)
        );
        // A plain text that starts with a tag's character is handed over behind a space.
        for text in ["\u{0}zero day", "\u{1}one word"] {
            let expected = tokens_at(&mut analyzer(), text);
            assert_eq!(expected.len(), 2);
            assert_eq!(
                tokens_at(&mut indexing, IndexText::plain(text).as_str()),
                expected
            );
            assert_ne!(tokens_at(&mut indexing, text), expected);
        }
    }

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn the_cached_stemmer_gives_tantivys_tokens() {
        let mut uncached = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(TantivyStemmer::new(Language::English))
            .build();
        let mut cached = analyzer();
        let text = "Running runners ran; the Pokémon CAFÉS were generously organised, \
                    relational relations relate. Flies flying 1999 x ΣΊΣΥΦΟΣ naïveté \
                    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \
                    internationalisational internationalisationally \
                    internationalisationalities";
        let expected = tokens(&mut uncached, text);
        assert!(expected.iter().any(|t| t.0 == "run"), "{expected:?}");
        // The first pass stems and remembers, the second reads what was remembered, and a
        // second analyzer (another field's) shares the thread's stems.
        assert_eq!(tokens(&mut cached, text), expected);
        assert_eq!(tokens(&mut cached, text), expected);
        assert_eq!(tokens(&mut analyzer(), text), expected);
        // On another thread (its own stems), the same.
        let other = std::thread::spawn(move || tokens(&mut analyzer(), text));
        assert_eq!(other.join().unwrap(), expected);
    }
}
