//! Question expansion: the other ways the collection may write a question's words (a number
//! as a Roman numeral, British or American spelling, two words as one).
//!
//! An expansion is kept only when the collection holds it, so a question never searches for a
//! word no article has. Another spelling of a word counts as the word itself (an alternative of
//! its term); two words joined are a term of their own, weighted by its own rarity.

use super::question::{QueryTerm, Question, MAX_TERMS};
use crate::text::{self, Token};

/// Adds to `q` the other spellings of its words the collection uses. `weight` gives a stem's
/// weight, `None` for a stem no passage holds.
pub(super) fn expand(q: &mut Question, weight: &dyn Fn(&str) -> Option<f32>) {
    let tokens = text::tokenize(&q.text);
    roman_numerals(q, &tokens, weight);
    joined_words(q, &tokens, weight);
    spelling_variants(q, &tokens, weight);
}

/// Adds `stem` as a term of its own when the collection holds it and the question does not.
fn add_term(q: &mut Question, stem: String, weight: &dyn Fn(&str) -> Option<f32>) {
    if q.terms.len() >= MAX_TERMS || q.has(&stem) {
        return;
    }
    if let Some(idf) = weight(&stem) {
        q.terms.push(QueryTerm::new(stem, idf));
    }
}

/// A number the collection writes in Roman numerals ("ww2" → "wwii"): another spelling of the
/// same word.
fn roman_numerals(q: &mut Question, tokens: &[Token], weight: &dyn Fn(&str) -> Option<f32>) {
    for t in tokens {
        if let Some(roman) = with_roman_numeral(&t.lower) {
            add_alternative(q, &t.stem, text::stem(&roman), weight);
        }
    }
}

/// Adds `stem` as another spelling of the term `of` when the collection holds it.
fn add_alternative(q: &mut Question, of: &str, stem: String, weight: &dyn Fn(&str) -> Option<f32>) {
    if q.has(&stem) || weight(&stem).is_none() {
        return;
    }
    if let Some(term) = q.terms.iter_mut().find(|term| term.stem == of) {
        term.alternatives.push(stem);
    }
}

/// `word` with a trailing 1, 2 or 3 written as a Roman numeral, when at least two letters come
/// before it ("ww1" → "wwi").
fn with_roman_numeral(word: &str) -> Option<String> {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let letters = &word[..word.len() - digits.len()];
    let roman = match digits {
        "1" => "i",
        "2" => "ii",
        "3" => "iii",
        _ => return None,
    };
    (letters.len() >= 2).then(|| format!("{letters}{roman}"))
}

/// Two words the collection writes as one ("sado masochism" → "sadomasochism").
fn joined_words(q: &mut Question, tokens: &[Token], weight: &dyn Fn(&str) -> Option<f32>) {
    for w in tokens.windows(2) {
        if text::is_stop_word(&w[0].lower) || text::is_stop_word(&w[1].lower) {
            continue;
        }
        add_term(
            q,
            text::stem(&format!("{}{}", w[0].lower, w[1].lower)),
            weight,
        );
    }
}

/// Word endings spelled one way in American and another in British English. Both directions
/// are tried; only spellings the collection holds are kept.
const VARIANT_ENDINGS: &[(&str, &str)] = &[
    ("ter", "tre"),
    ("ters", "tres"),
    ("ber", "bre"),
    ("bers", "bres"),
    ("or", "our"),
    ("ors", "ours"),
    ("ored", "oured"),
    ("oring", "ouring"),
    ("orite", "ourite"),
    ("orites", "ourites"),
    ("orful", "ourful"),
    ("orable", "ourable"),
    ("ize", "ise"),
    ("izes", "ises"),
    ("ized", "ised"),
    ("izing", "ising"),
    ("ization", "isation"),
    ("izations", "isations"),
    ("yze", "yse"),
    ("yzed", "ysed"),
    ("yzing", "ysing"),
    ("og", "ogue"),
    ("ogs", "ogues"),
    ("ense", "ence"),
    ("enses", "ences"),
    ("eled", "elled"),
    ("eling", "elling"),
    ("eler", "eller"),
    ("elers", "ellers"),
];

/// The other spellings of `word` (lower-case) by [`VARIANT_ENDINGS`]; none for a word shorter
/// than five letters.
fn variants(word: &str) -> Vec<String> {
    if word.len() < 5 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &(a, b) in VARIANT_ENDINGS {
        for (from, to) in [(a, b), (b, a)] {
            if let Some(head) = word.strip_suffix(from) {
                if head.len() >= 2 {
                    out.push(format!("{head}{to}"));
                }
            }
        }
    }
    out
}

/// Another spelling of a question word counts as the word ("theater" finds "theatre").
fn spelling_variants(q: &mut Question, tokens: &[Token], weight: &dyn Fn(&str) -> Option<f32>) {
    for t in tokens {
        for v in variants(&t.lower) {
            add_alternative(q, &t.stem, text::stem(&v), weight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn british_and_american_endings() {
        let v = variants("theater");
        assert!(v.contains(&"theatre".to_string()), "{v:?}");
        assert!(variants("colour").contains(&"color".to_string()));
        assert!(variants("organise").contains(&"organize".to_string()));
        assert!(variants("defense").contains(&"defence".to_string()));
        assert!(variants("catalog").contains(&"catalogue".to_string()));
        // Short words and words with other letters have none.
        assert!(variants("tour").is_empty());
        assert!(variants("café").is_empty());
    }

    #[test]
    fn roman_numerals_need_two_letters() {
        assert_eq!(with_roman_numeral("ww1").as_deref(), Some("wwi"));
        assert_eq!(with_roman_numeral("wwii"), None);
        assert_eq!(with_roman_numeral("x2"), None);
        assert_eq!(with_roman_numeral("ww4"), None);
    }
}
