//! Excerpt selection: which sentences answer a question, and the excerpt built around them.
//!
//! A sentence scores by the IDF-weighted share of the question's stems it contains, where a
//! stem also in the article title counts less (every sentence of the article is about the
//! title) and so does a stem found in most of the candidate sentences (local IDF). A sentence
//! that opens with a pronoun or "the film"-like phrase counts part of the title's stems (it
//! refers back to the subject); irregular and related forms ("won"/"win", "die"/"death")
//! count half, and so does a stem found only in the heading of the sentence's section (the
//! section is about it). Adjacent question stems found adjacent add a phrase bonus (not two stems of
//! the title: the subject's own name); what the question asks for (a date for "when", a new
//! number for "how many", a name for "who", a place for "where") adds a bonus; a little of
//! the neighbours' scores is added (of the previous sentence's alone, for a sentence that
//! refers back). Position: the article's first sentence gets a bonus (larger when the
//! question names the title) and a floor score when it holds no question word; no other
//! position information is used. WikiQA figures for this code are in BENCHMARKS.md.

use std::collections::HashSet;
use std::ops::Range;

use super::question::MAX_TERMS;
// The question model lived here before it had a module of its own.
pub use super::question::{QueryTerm, Question, QuestionKind};
use crate::text::{self, Word};

/// A sentence to score, with the context the scorer uses.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub text: &'a str,
    /// Index of the sentence in its article (0 = the article's first sentence).
    pub position: usize,
}

/// Weights of the sentence scorer (chosen on WikiQA; see BENCHMARKS.md).
/// Adjacent question stems found adjacent, as a share of the question's pairs.
const PAIR_WEIGHT: f32 = 0.35;
/// A question stem that is also in the article title counts this much.
const TITLE_TERM_WEIGHT: f32 = 0.2;
/// A stem found in every sentence of the candidates counts `1 - LOCAL_WEIGHT` as much.
const LOCAL_WEIGHT: f32 = 0.5;
/// The sentence holds what the question asks for (a date, a number, a name, a place).
const KIND_BONUS: f32 = 0.12;
/// Share of the neighbours' mean score a matching sentence adds (of the previous sentence's
/// score alone for a sentence that refers back).
const NEIGHBOUR_WEIGHT: f32 = 0.1;
/// The article's first sentence: a bonus, plus more when the question names the title.
const FIRST_SENTENCE_BONUS: f32 = 0.2;
const FIRST_SENTENCE_TITLE_BONUS: f32 = 0.2;
/// Score of the article's first sentence when it holds no question word.
const FIRST_SENTENCE_FLOOR: f32 = 0.3;
/// A title stem counted in a sentence that refers back to the subject ("It", "He").
const ANAPHOR_WEIGHT: f32 = 0.5;
/// A stem counted through a related form ("die" for "death").
const RELATED_WEIGHT: f32 = 0.5;
/// A stem the sentence lacks but its section's heading holds: the section is about it
/// ("Temperature" over "The ideal range is 24 to 27 degrees Celsius").
const HEADING_WEIGHT: f32 = 1.0;

/// Scores each candidate sentence for `q`. `title_stems` are the stems of the article's title,
/// `heading_stems` those of the heading of the section the candidates are in (empty outside
/// one).
pub fn score_sentences(
    q: &Question,
    candidates: &[Candidate<'_>],
    title_stems: &HashSet<String>,
    heading_stems: &HashSet<String>,
) -> Vec<f32> {
    let sentences: Vec<Sentence> = candidates
        .iter()
        .map(|c| Sentence::new(c.text, c.position))
        .collect();
    score_tokenized(&Matcher::new(q), &sentences, title_stems, heading_stems)
}

/// A candidate sentence with its words, tokenized once for all the uses of a question.
#[derive(Debug, Clone)]
pub struct Sentence<'a> {
    pub text: &'a str,
    /// Index of the sentence in its article (0 = the article's first sentence).
    pub position: usize,
    pub words: Vec<Word>,
}

impl<'a> Sentence<'a> {
    pub fn new(text: &'a str, position: usize) -> Sentence<'a> {
        Sentence {
            text,
            position,
            words: text::words(text),
        }
    }
}

/// What one stem is to a question: the terms it stands for (itself or an alternative), the
/// terms it is a related form of, and its id as a word of a phrase pair (0: none).
#[derive(Debug, Default, Clone, Copy)]
struct StemRole {
    terms: u64,
    related: u64,
    part: u16,
}

// Term sets are bit masks.
const _: () = assert!(MAX_TERMS <= 64);

/// A question prepared to score many sentences: every stem that can count for it, with its
/// role, found by one look-up per word.
#[derive(Debug)]
pub struct Matcher<'q> {
    q: &'q Question,
    roles: text::FxHashMap<&'q str, StemRole>,
    /// `q.pairs` as the ids of their two words.
    pairs: Vec<(u16, u16)>,
}

impl<'q> Matcher<'q> {
    pub fn new(q: &'q Question) -> Matcher<'q> {
        let mut roles: text::FxHashMap<&'q str, StemRole> = Default::default();
        for (i, t) in q.terms.iter().enumerate() {
            for s in t.stems() {
                roles.entry(s).or_default().terms |= 1 << i;
            }
            for r in related(&t.stem) {
                roles.entry(r).or_default().related |= 1 << i;
            }
        }
        let mut next = 0u16;
        let mut id = |s: &'q str| {
            let role = roles.entry(s).or_default();
            if role.part == 0 {
                next += 1;
                role.part = next;
            }
            role.part
        };
        let pairs = q.pairs.iter().map(|(a, b)| (id(a), id(b))).collect();
        Matcher { q, roles, pairs }
    }

    fn role(&self, stem: &str) -> StemRole {
        self.roles.get(stem).copied().unwrap_or_default()
    }

    /// The terms whose stems (or alternatives) are in `stems`.
    fn terms_in(&self, stems: &HashSet<String>) -> u64 {
        let mut mask = 0;
        for (i, t) in self.q.terms.iter().enumerate() {
            if t.found_in(stems) {
                mask |= 1 << i;
            }
        }
        mask
    }
}

/// [`score_sentences`] for sentences already tokenized, with the question prepared.
pub fn score_tokenized(
    m: &Matcher<'_>,
    sentences: &[Sentence<'_>],
    title_stems: &HashSet<String>,
    heading_stems: &HashSet<String>,
) -> Vec<f32> {
    let q = m.q;
    let roles: Vec<Vec<StemRole>> = sentences
        .iter()
        .map(|s| s.words.iter().map(|w| m.role(&w.stem)).collect())
        .collect();
    let found: Vec<u64> = roles
        .iter()
        .map(|r| r.iter().fold(0, |acc, role| acc | role.terms))
        .collect();
    let in_title = m.terms_in(title_stems);
    let in_heading = m.terms_in(heading_stems);
    let bit = |mask: u64, i: usize| mask & (1 << i) != 0;
    let n = sentences.len().max(1) as f32;
    let local_factor: Vec<f32> = (0..q.terms.len())
        .map(|i| {
            let df = found.iter().filter(|&&f| bit(f, i)).count() as f32;
            1.0 - LOCAL_WEIGHT * df / n
        })
        .collect();
    let weight_i = |i: usize| {
        let t = &q.terms[i];
        let w = if bit(in_title, i) {
            t.idf * TITLE_TERM_WEIGHT
        } else {
            t.idf
        };
        w * local_factor[i]
    };
    let weights: Vec<f32> = (0..q.terms.len()).map(weight_i).collect();
    let total: f32 = weights.iter().copied().sum::<f32>().max(1e-6);
    let raw_total: f32 = q.terms.iter().map(|t| t.idf).sum::<f32>().max(1e-6);
    let title_share: f32 = q
        .terms
        .iter()
        .enumerate()
        .filter(|&(i, _)| bit(in_title, i))
        .map(|(_, t)| t.idf)
        .sum::<f32>()
        / raw_total;
    let first_bonus = FIRST_SENTENCE_BONUS + FIRST_SENTENCE_TITLE_BONUS * title_share;
    // A pair of title stems (the subject's own name) is no phrase evidence: most sentences of
    // the article name it.
    let pairs: Vec<(u16, u16)> = q
        .pairs
        .iter()
        .zip(&m.pairs)
        .filter(|((a, b), _)| !(title_stems.contains(a) && title_stems.contains(b)))
        .map(|(_, &ids)| ids)
        .collect();
    let raw: Vec<f32> = sentences
        .iter()
        .zip(&roles)
        .zip(&found)
        .map(|((s, roles), &found)| {
            let anaphoric = refers_back(&s.words);
            let related = roles.iter().fold(0, |acc, role| acc | role.related);
            let mut matched = 0.0f32;
            for (i, &w) in weights.iter().enumerate() {
                if bit(found, i) {
                    matched += w;
                } else if anaphoric && bit(in_title, i) {
                    matched += ANAPHOR_WEIGHT * w;
                } else if bit(related, i) {
                    matched += RELATED_WEIGHT * w;
                } else if bit(in_heading, i) {
                    matched += HEADING_WEIGHT * w;
                }
            }
            let mut score = matched / total;
            if score == 0.0 {
                return 0.0;
            }
            let phrase = pairs
                .iter()
                .filter(|&&(a, b)| roles.windows(2).any(|w| w[0].part == a && w[1].part == b))
                .count();
            if !q.pairs.is_empty() {
                score += PAIR_WEIGHT * phrase as f32 / q.pairs.len() as f32;
            }
            if answers_kind(q.kind, s.text, &s.words, |j| roles[j].terms != 0) {
                score += KIND_BONUS;
            }
            if s.position == 0 {
                score += first_bonus;
            }
            score
        })
        .collect();
    // The article's opening sentence usually says what the subject is: it stays a (weak)
    // candidate even without a question word of its own.
    let mut raw = raw;
    for (r, s) in raw.iter_mut().zip(sentences) {
        if *r == 0.0 && s.position == 0 {
            *r = FIRST_SENTENCE_FLOOR;
        }
    }
    (0..raw.len())
        .map(|i| {
            let prev = if i > 0 { raw[i - 1] } else { 0.0 };
            let next = raw.get(i + 1).copied().unwrap_or(0.0);
            if raw[i] > 0.0 {
                // A sentence that refers back continues the one before it.
                if refers_back(&sentences[i].words) {
                    raw[i] + NEIGHBOUR_WEIGHT * prev
                } else {
                    raw[i] + NEIGHBOUR_WEIGHT * 0.5 * (prev + next)
                }
            } else {
                0.0
            }
        })
        .collect()
}

/// Whether a sentence opens with a word that stands for the article's subject ("It", "He",
/// "The film"): it is about the title even when it does not name it.
fn refers_back(tokens: &[Word]) -> bool {
    const PRONOUNS: &[&str] = &[
        "it", "its", "he", "his", "she", "her", "they", "their", "this", "these",
    ];
    const NOUNS: &[&str] = &[
        "film",
        "movie",
        "company",
        "city",
        "town",
        "band",
        "song",
        "album",
        "book",
        "novel",
        "series",
        "show",
        "game",
        "term",
        "word",
        "state",
        "country",
        "river",
        "species",
        "disease",
        "group",
        "team",
        "character",
        "school",
        "university",
        "station",
        "building",
        "church",
        "county",
        "island",
        "party",
        "organization",
        "program",
        "system",
        "device",
        "war",
        "battle",
        "act",
        "law",
        "product",
        "network",
        "region",
        "area",
        "process",
        "constitution",
        "stadium",
        "bridge",
        "club",
        "player",
        "singer",
        "actor",
        "actress",
    ];
    match tokens {
        [first, ..] if PRONOUNS.contains(&&*first.lower) => true,
        [first, second, ..] if &*first.lower == "the" => NOUNS.contains(&&*second.lower),
        _ => false,
    }
}

/// Stems closely related to `stem`: irregular forms the stemmer does not join, and a few
/// words that ask and answer the same thing ("die" / "death"). A stem can be in several groups
/// ("found": of "find" and of "establish"): every group that holds it counts.
fn related(stem: &str) -> impl Iterator<Item = &'static str> + '_ {
    const GROUPS: &[&[&str]] = &[
        &["die", "death", "dead", "kill", "assassin", "murder"],
        &["born", "birth", "bear"],
        &["win", "won", "winner"],
        &["write", "wrote", "written", "writer", "author"],
        &["begin", "began", "begun", "start"],
        &["build", "built", "construct"],
        &["make", "made", "produc", "manufactur"],
        &["sell", "sold", "sale"],
        &["pay", "paid"],
        &["grow", "grew", "grown"],
        &["take", "took", "taken"],
        &["fight", "fought"],
        &["buy", "bought", "purchas"],
        &["find", "found", "discov"],
        &["found", "establish", "creat", "form"],
        &["invent", "inventor", "develop"],
        &["cost", "price"],
        &["gross", "earn", "revenu"],
        &["locat", "situat"],
        &["lead", "led", "leader"],
        &["mean", "refer", "defin", "stand", "stood"],
        &["play", "star", "portray"],
        &["leav", "left"],
        &["sing", "sang", "sung", "singer"],
        &["speak", "spoke", "spoken", "languag"],
        &["live", "resid", "home"],
        &["big", "largest", "larg"],
        &["compos", "consist", "contain", "made"],
        &["caus", "result", "due", "lead"],
    ];
    GROUPS
        .iter()
        .filter(move |g| g.contains(&stem))
        .flat_map(|g| g.iter().copied())
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether the sentence `text` (its words `tokens`) holds what a question of `kind` asks for;
/// `known(i)` tells whether word `i` is a question term.
fn answers_kind(
    kind: QuestionKind,
    text: &str,
    tokens: &[Word],
    known: impl Fn(usize) -> bool,
) -> bool {
    let is_year = |t: &Word| {
        t.lower.len() == 4
            && t.lower.chars().all(|c| c.is_ascii_digit())
            && matches!(t.lower.as_bytes()[0], b'1' | b'2')
    };
    // A number that is not a year and not in the question.
    let has_number = || {
        tokens.iter().enumerate().any(|(i, t)| {
            !known(i)
                && ((t.lower.chars().any(|c| c.is_ascii_digit()) && !is_year(t))
                    || NUMBER_WORDS.contains(&&*t.lower))
        })
    };
    // Capitalised words that are not at the sentence start and not in the question.
    let new_names = || {
        tokens
            .iter()
            .enumerate()
            .skip(1)
            .any(|(i, t)| text[t.span.clone()].starts_with(char::is_uppercase) && !known(i))
    };
    match kind {
        QuestionKind::When => {
            tokens
                .iter()
                .enumerate()
                .any(|(i, t)| (is_year(t) && !known(i)) || MONTHS.contains(&&*t.lower))
                || tokens.iter().any(|t| &*t.lower == "century")
        }
        QuestionKind::HowMany | QuestionKind::HowLong => has_number(),
        QuestionKind::HowMuch => {
            has_number()
                || text.contains(['$', '£', '€'])
                || tokens
                    .iter()
                    .any(|t| matches!(&*t.lower, "million" | "billion" | "percent"))
        }
        QuestionKind::HowOld => {
            has_number() || tokens.iter().any(|t| &*t.lower == "born" || is_year(t))
        }
        QuestionKind::Who => new_names(),
        QuestionKind::Where => {
            new_names()
                && tokens
                    .iter()
                    .any(|t| matches!(&*t.lower, "in" | "at" | "near" | "located" | "from"))
        }
        QuestionKind::Why => tokens.iter().any(|t| {
            matches!(
                &*t.lower,
                "because" | "due" | "since" | "cause" | "caused" | "reason" | "so"
            )
        }),
        QuestionKind::Definition => tokens
            .iter()
            .take(12)
            .any(|t| matches!(&*t.lower, "is" | "are" | "was" | "were" | "refers")),
        QuestionKind::Other => false,
    }
}

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "hundred", "thousand", "million", "billion", "dozen",
];

/// Byte ranges of the words of `text` whose stems are question terms, adjacent ones merged.
pub fn highlights(text: &str, q: &Question) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for t in text::tokenize(text) {
        if !q.has(&t.stem) || (text::is_stop_word(&t.lower) && q.terms.len() > 1) {
            continue;
        }
        match out.last_mut() {
            Some(last) if text[last.1..t.span.start].chars().all(char::is_whitespace) => {
                last.1 = t.span.end;
            }
            _ => out.push((t.span.start, t.span.end)),
        }
    }
    out
}

/// Builds an excerpt of at most `max_chars` characters from the sentences of one block,
/// centred on sentence `best`: the sentence itself, then the next, then the previous, up to
/// three sentences. Returns the excerpt (a slice range of `block`).
pub fn excerpt_range(
    block: &str,
    sentences: &[Range<usize>],
    best: usize,
    max_chars: usize,
) -> Range<usize> {
    let Some(first) = sentences.get(best) else {
        return 0..0;
    };
    let mut range = first.clone();
    let chars = |r: &Range<usize>| block[r.clone()].chars().count();
    let mut taken = 1;
    let mut next = best + 1;
    let mut prev = best;
    while taken < 3 {
        let mut grew = false;
        if let Some(s) = sentences.get(next) {
            let cand = range.start..s.end;
            if chars(&cand) <= max_chars {
                range = cand;
                next += 1;
                taken += 1;
                grew = true;
            }
        }
        if taken < 3 && prev > 0 {
            let cand = sentences[prev - 1].start..range.end;
            if chars(&cand) <= max_chars {
                range = cand;
                prev -= 1;
                taken += 1;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentences outside any section.
    fn score(q: &Question, c: &[Candidate<'_>], title: &HashSet<String>) -> Vec<f32> {
        score_sentences(q, c, title, &HashSet::new())
    }

    fn q(text: &str) -> Question {
        Question::new(text, |_| 1.0)
    }

    #[test]
    fn scoring_prefers_matching_and_typed_sentences() {
        let question = q("When was the Golden Gate Bridge opened?");
        let cands = [
            Candidate {
                text: "The bridge is painted orange.",
                position: 0,
            },
            Candidate {
                text: "The Golden Gate Bridge opened in May 1937.",
                position: 1,
            },
            Candidate {
                text: "Fog is common.",
                position: 2,
            },
        ];
        let scores = score(&question, &cands, &HashSet::new());
        assert!(scores[1] > scores[0], "{scores:?}");
        assert_eq!(scores[2], 0.0);
    }

    fn cands<'a>(texts: &[&'a str]) -> Vec<Candidate<'a>> {
        texts
            .iter()
            .enumerate()
            .map(|(position, text)| Candidate { text, position })
            .collect()
    }

    fn title(words: &[&str]) -> HashSet<String> {
        words.iter().map(|w| text::stem(w)).collect()
    }

    #[test]
    fn answer_kinds_need_a_new_value() {
        let answers = |q: &Question, t: &str| {
            let words = text::words(t);
            answers_kind(q.kind, t, &words, |i| q.has(&words[i].stem))
        };
        let how_many = q("how many moons does Mars have");
        assert!(answers(&how_many, "Mars has two moons."));
        // A year is not a count.
        assert!(!answers(&how_many, "Mars was observed in 1877."));
        let how_much = q("how much did the stadium cost");
        assert!(answers(&how_much, "The price tag was $1.5 billion."));
        // A year the question already names is no answer to "when".
        let when = q("when did the 1967 season end");
        assert!(!answers(&when, "The 1967 season was long."));
    }

    #[test]
    fn pronoun_sentences_count_the_title() {
        // "It" stands for the subject: the sentence gets part of the title word's weight.
        let question = q("what colour is the bridge painted");
        let scores = score(
            &question,
            &cands(&[
                "The bridge spans the strait.",
                "Fog is common here.",
                "It is painted orange.",
                "Orange paint is painted on walls.",
            ]),
            &title(&["bridge"]),
        );
        assert!(scores[2] > scores[3], "{scores:?}");
    }

    #[test]
    fn title_pairs_are_no_phrase_evidence() {
        // "golden gate" is the subject's name: naming it is no phrase match, "opened traffic"
        // is. Without the title, the pair "golden gate" counts as a phrase.
        let question = q("golden gate opened traffic");
        let texts = ["Golden Gate is red.", "Golden and gate opened traffic."];
        let with_title = score(&question, &cands(&texts), &title(&["golden", "gate"]));
        let without = score(&question, &cands(&texts), &HashSet::new());
        assert!(with_title[1] > with_title[0], "{with_title:?}");
        // Position 0 gets the first-sentence bonus in both; the phrase bonus only without title.
        assert!(
            without[0] - with_title[0] > PAIR_WEIGHT / 3.0 - 1e-6,
            "{without:?} {with_title:?}"
        );
    }

    #[test]
    fn a_section_heading_counts_for_its_sentences() {
        let question = q("what temperature suits a starter");
        let texts = [
            "A starter needs feeding at room temperature.",
            "A starter is slow in a cold kitchen.",
        ];
        // A section in the middle of an article: no first-sentence bonus.
        let cands: Vec<Candidate> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| Candidate {
                text,
                position: 10 + i,
            })
            .collect();
        let outside = score_sentences(&question, &cands, &HashSet::new(), &HashSet::new());
        let heading = title(&["temperature"]);
        let inside = score_sentences(&question, &cands, &HashSet::new(), &heading);
        // Outside a section the sentence that says "temperature" wins; under a
        // "Temperature" heading both say it, and neither scores less than before.
        assert!(outside[0] > outside[1], "{outside:?}");
        assert!(inside[1] > outside[1], "{inside:?} {outside:?}");
        assert!((inside[1] - inside[0]).abs() < 1e-6, "{inside:?}");
    }

    #[test]
    fn related_forms_match() {
        let question = q("how did the president die");
        let scores = score(
            &question,
            &cands(&[
                "The president served two terms.",
                "Many people visit the museum.",
                "He was assassinated in Dallas.",
            ]),
            &title(&["president"]),
        );
        assert!(scores[2] > 0.0, "{scores:?}");
        assert_eq!(scores[1], 0.0);
    }

    #[test]
    fn words_in_every_sentence_and_title_weigh_less() {
        // "kiwi" is in the title and in every sentence; "eggs" only in one: that one wins.
        let question = q("kiwi eggs");
        let scores = score(
            &question,
            &cands(&[
                "A kiwi is a bird of New Zealand with a long beak and small wings.",
                "The kiwi lays eggs.",
                "Kiwi numbers fall.",
            ]),
            &title(&["kiwi"]),
        );
        assert!(scores[1] > scores[0], "{scores:?}");
        assert!(scores[1] > scores[2], "{scores:?}");
    }

    #[test]
    fn first_sentence_prior_and_floor() {
        // Equal matches: the article's first sentence wins.
        let question = q("river delta");
        let s = score(
            &question,
            &cands(&["The river has a delta.", "The river has a delta."]),
            &HashSet::new(),
        );
        assert!(s[0] > s[1], "{s:?}");
        // Without a question word the opening sentence keeps a weak floor; others score 0.
        let s = score(
            &question,
            &cands(&[
                "Egypt is a country.",
                "Cairo is big.",
                "A river delta forms.",
            ]),
            &HashSet::new(),
        );
        assert!(s[0] > 0.0 && s[0] < s[2], "{s:?}");
        assert_eq!(s[1], 0.0);
        // Position 0 is the article's first sentence only, not a passage's.
        let later = [Candidate {
            text: "Egypt is a country.",
            position: 3,
        }];
        assert_eq!(score(&question, &later, &HashSet::new()), [0.0]);
    }

    #[test]
    fn highlight_ranges() {
        let question = q("golden bridges");
        let t = "The Golden Gate Bridge, golden bridge.";
        let h = highlights(t, &question);
        let words: Vec<_> = h.iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(words, ["Golden", "Bridge", "golden bridge"]);
    }

    #[test]
    fn excerpt_grows_around_best() {
        let block = "One. Two is here. Three. Four.";
        let s = text::sentences(block);
        let r = excerpt_range(block, &s, 1, 100);
        assert_eq!(&block[r], "One. Two is here. Three.");
        let r = excerpt_range(block, &s, 1, 12);
        assert_eq!(&block[r], "Two is here.");
    }

    #[test]
    fn a_stem_in_several_groups_relates_to_all_of_them() {
        let of = |stem: &str| related(stem).collect::<HashSet<_>>();
        // "found" is a form of "find" and a word of founding.
        assert!(of("found").contains("discov") && of("found").contains("establish"));
        // "made" is a form of "make" and a word of composition; "lead" leads and causes.
        assert!(of("made").contains("make") && of("made").contains("compos"));
        assert!(of("lead").contains("leader") && of("lead").contains("caus"));
        assert!(of("stood").contains("stand") && of("stood").contains("mean"));
        assert_eq!(related("cost").filter(|s| *s == "cost").count(), 1);
        assert_eq!(related("zebra").count(), 0);
    }
}
