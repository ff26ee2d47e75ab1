//! The analyzer every text field is indexed with, and the accent folding [`crate::text`]
//! shares with it: kept beside the analyzer so that `index` is the only module that names
//! tantivy, and so that the two cannot drift apart.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, TextAnalyzer,
};

/// The tokenizer of every text field, registered with every index under this name;
/// [`crate::text::tokenize`] mirrors it.
pub const TOKENIZER: &str = "articlebot_en";

/// Tokens longer than this many bytes are dropped (tantivy's `RemoveLongFilter`).
pub const MAX_TOKEN_BYTES: usize = 40;

/// The analyzer behind [`TOKENIZER`]: tantivy's `en_stem` with accents folded to ASCII between
/// lower-casing and stemming, so "pokemon" finds "Pokémon".
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

thread_local! {
    // The analyzer's folding filter over a whole (already lower-cased) word.
    static FOLDER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(
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
