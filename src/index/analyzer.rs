//! The analyzer every text field is indexed with, and the accent folding [`crate::text`]
//! shares with it: kept beside the analyzer so that `index` is the only module that names
//! tantivy, and so that the two cannot drift apart.

use std::cell::RefCell;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
    TokenFilter, TokenStream, Tokenizer,
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

    fn token(&self) -> &tantivy::tokenizer::Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language, Stemmer as TantivyStemmer};

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
