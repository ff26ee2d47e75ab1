//! The question model: a question analysed once into its content terms (stems with IDF
//! weights and the collection's other spellings of them), the pairs of adjacent terms, and the
//! kind of answer it wants. Retrieval ([`super::ask`], [`super::search`]), expansion
//! ([`super::expand`]) and sentence scoring ([`super::excerpt`]) all read it.

use std::collections::HashSet;

use crate::text::{self, Token};

/// What kind of answer a question wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    When,
    Where,
    Who,
    HowMany,
    HowMuch,
    HowOld,
    HowLong,
    Why,
    Definition,
    Other,
}

/// One question term: its stem and weight (IDF), and the other spellings of the same word
/// the collection uses ("theatre" for "theater"), which count as the term itself.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    pub stem: String,
    pub idf: f32,
    pub alternatives: Vec<String>,
}

impl QueryTerm {
    pub fn new(stem: String, idf: f32) -> QueryTerm {
        QueryTerm {
            stem,
            idf,
            alternatives: Vec::new(),
        }
    }

    /// The stem and its alternatives.
    pub fn stems(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.stem.as_str()).chain(self.alternatives.iter().map(String::as_str))
    }

    /// Whether `stems` hold the term (or one of its alternatives).
    pub fn found_in(&self, stems: &HashSet<String>) -> bool {
        self.stems().any(|s| stems.contains(s))
    }
}

/// A question, analysed once: its content stems with weights, stem pairs, and its kind.
#[derive(Debug, Clone)]
pub struct Question {
    pub text: String,
    pub terms: Vec<QueryTerm>,
    /// Consecutive content stems in the question, for phrase matches.
    pub pairs: Vec<(String, String)>,
    pub kind: QuestionKind,
}

/// Question words and auxiliaries that say what is asked, not what about.
const QUESTION_WORDS: &[&str] = &[
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "many",
    "much",
    "old",
    "long",
    "define",
    "definition",
    "mean",
    "meaning",
];

/// At most this many distinct stems of a question are searched.
pub const MAX_TERMS: usize = 32;

impl Question {
    /// Analyses `text`; `idf` gives a stem's weight.
    pub fn new(text: &str, idf: impl Fn(&str) -> f32) -> Question {
        let tokens = text::tokenize(text);
        let lower: Vec<&str> = tokens.iter().map(|t| t.lower.as_str()).collect();
        let kind = question_kind(&lower);
        // A question of stop words only ("what is it?") has no terms: it names no topic, and
        // its words match every article.
        let chosen: Vec<&Token> = tokens
            .iter()
            .filter(|t| is_content_word(&t.lower))
            .collect();
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        for t in &chosen {
            if seen.insert(t.stem.clone()) {
                terms.push(QueryTerm::new(t.stem.clone(), idf(&t.stem)));
            }
            if terms.len() >= MAX_TERMS {
                break;
            }
        }
        let pairs = chosen
            .windows(2)
            .map(|w| (w[0].stem.clone(), w[1].stem.clone()))
            .filter(|(a, b)| a != b)
            .take(MAX_TERMS)
            .collect();
        Question {
            text: text.to_string(),
            terms,
            pairs,
            kind,
        }
    }

    /// Whether `stem` is one of the question's terms (or an alternative of one).
    pub fn has(&self, stem: &str) -> bool {
        self.terms.iter().any(|t| t.stems().any(|s| s == stem))
    }
}

/// Whether a (lower-case) word of a question says what it is about: not a stop word, not a
/// word that only says what kind of answer is wanted ("what", "how", "many").
pub fn is_content_word(lower: &str) -> bool {
    !text::is_stop_word(lower) && !QUESTION_WORDS.contains(&lower)
}

fn question_kind(lower: &[&str]) -> QuestionKind {
    let first = lower.first().copied().unwrap_or("");
    let next = lower.get(1).copied().unwrap_or("");
    let has = |w: &str| lower.contains(&w);
    match (first, next) {
        ("how", "many") => QuestionKind::HowMany,
        ("how", "much") => QuestionKind::HowMuch,
        ("how", "old") => QuestionKind::HowOld,
        ("how", "long") => QuestionKind::HowLong,
        ("when", _) => QuestionKind::When,
        ("where", _) => QuestionKind::Where,
        ("who", _) | ("whom", _) | ("whose", _) => QuestionKind::Who,
        ("why", _) => QuestionKind::Why,
        ("what", "is" | "are" | "was" | "were") if lower.len() <= 5 => QuestionKind::Definition,
        _ if has("when") || (has("what") && (has("year") || has("date"))) => QuestionKind::When,
        _ if has("where") => QuestionKind::Where,
        _ if has("who") => QuestionKind::Who,
        _ if has("how") && has("many") => QuestionKind::HowMany,
        _ => QuestionKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Question {
        Question::new(text, |_| 1.0)
    }

    #[test]
    fn kinds() {
        assert_eq!(q("When was the bridge built?").kind, QuestionKind::When);
        assert_eq!(
            q("how many moons does Mars have").kind,
            QuestionKind::HowMany
        );
        assert_eq!(q("Who invented radio").kind, QuestionKind::Who);
        assert_eq!(q("what is a stablecoin").kind, QuestionKind::Definition);
        assert_eq!(q("bridge costs").kind, QuestionKind::Other);
    }

    #[test]
    fn terms_drop_stop_and_question_words() {
        let stems: Vec<_> = q("What are the risks of running bridges?")
            .terms
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, ["risk", "run", "bridg"]);
        // Only stop and question words: nothing to search for.
        for only_common in ["what is it", "what is the of and", "the", "is it", "why"] {
            assert!(q(only_common).terms.is_empty(), "{only_common}");
        }
        assert!(q("").terms.is_empty());
    }

    #[test]
    fn more_kinds() {
        assert_eq!(q("How much did the film gross").kind, QuestionKind::HowMuch);
        assert_eq!(q("how old was she").kind, QuestionKind::HowOld);
        assert_eq!(q("where is the tower").kind, QuestionKind::Where);
        assert_eq!(q("what year was it built").kind, QuestionKind::When);
        assert_eq!(q("why is the sky blue").kind, QuestionKind::Why);
    }
}
