//! `ask`: the passages that best answer a question, each with an excerpt around its best
//! sentences, and the top article's takeaways.
//!
//! Retrieval is BM25 over the weighted passage fields (tantivy); the ranking of the retrieved
//! passages and the excerpt inside each come from the sentence scorer in [`super::excerpt`].
//! Limited to one article, every passage of the article is a candidate.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::excerpt::{self, Matcher, Sentence};
use super::expand;
use super::question::{QueryTerm, Question};
use super::{article_ref, articles, Answer, AskAnswer, AskResult, Scope};
use crate::config::AnswerSettings;
use crate::index::{idf, Query, Snapshot, WordQuery};
use crate::library::Library;
use crate::text;

/// Passages retrieved from the whole collection before re-ranking.
const CANDIDATES: usize = 24;
/// A result names at most this many passages of one article.
const PER_ARTICLE: usize = 2;
/// The passage's retrieval score, relative to the best retrieved passage, times this adds to
/// each of its sentences' scores (collection questions only).
const RETRIEVAL_WEIGHT: f32 = 1.0;
/// In `PreferArticle`, a best sentence weaker than this sends the question to the collection.
const PREFER_MIN_SCORE: f32 = 0.5;

/// One sentence of an article, ranked for a question.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedSentence {
    pub passage: u32,
    /// Block index inside the passage.
    pub block: usize,
    /// Byte range inside the block's text.
    pub range: Range<usize>,
    /// Position of the sentence in the article.
    pub position: usize,
    pub score: f32,
}

/// Caps `question` at `max_chars` characters.
pub(super) fn cap(question: &str, max_chars: usize) -> (String, bool) {
    let cleaned = text::clean_whitespace(question);
    if cleaned.chars().count() <= max_chars {
        return (cleaned, false);
    }
    (cleaned.chars().take(max_chars).collect(), true)
}

pub(super) fn analyse(lib: &Library, snap: &Snapshot, question: &str) -> Question {
    let n = snap.num_docs();
    let df = |stem: &str| lib.index.doc_freq(snap, stem);
    let mut q = Question::new(question, |stem| idf(df(stem), n));
    expand::expand(&mut q, &|stem: &str| {
        let d = df(stem);
        (d > 0).then(|| idf(d, n))
    });
    q
}

pub(super) fn ask(
    lib: &Library,
    snap: &Snapshot,
    settings: &AnswerSettings,
    question: &str,
    scope: &Scope,
) -> anyhow::Result<Answer> {
    let (capped, truncated) = cap(question, settings.max_question_chars);
    let mut answer = AskAnswer {
        question: capped.clone(),
        article: None,
        results: Vec::new(),
        takeaways: None,
        suggestions: Vec::new(),
        note: truncated.then(|| {
            format!(
                "the question was cut to its first {} characters",
                settings.max_question_chars
            )
        }),
    };
    let q = analyse(lib, snap, &capped);
    if q.terms.is_empty() {
        answer.note = Some(nothing_to_search(&capped));
        answer.suggestions = lib
            .names
            .lookup("", 5)
            .into_iter()
            .map(|m| article_ref(lib, m.article))
            .collect();
        return Ok(Answer::Ask(answer));
    }
    let (article, fallback) = match scope {
        Scope::Collection => (None, false),
        Scope::Article(a) | Scope::PreferArticle(a) => match articles::resolve(lib, a) {
            Ok((id, _)) => (Some(id), matches!(scope, Scope::PreferArticle(_))),
            Err(nf) if matches!(scope, Scope::PreferArticle(_)) => {
                tracing::debug!(article = %nf.query, "preferred article not found");
                (None, false)
            }
            Err(nf) => return Ok(Answer::NotFound(nf)),
        },
    };
    let mut ranked = match article {
        Some(id) => {
            answer.article = Some(lib.article(id).slug.clone());
            let ranked = rank_in_article(lib, &q, id)?;
            let weak = ranked.first().is_none_or(|r| r.score < PREFER_MIN_SCORE);
            if fallback && weak {
                answer.article = None;
                rank_in_collection(lib, snap, &q)?
            } else {
                ranked
            }
        }
        None => rank_in_collection(lib, snap, &q)?,
    };
    if answer.article.is_none() && !ranked.is_empty() {
        let unknown = unknown_terms(lib, snap, &q).len();
        if unknown > 0 {
            answer.note = Some(if unknown == q.terms.len() {
                "nothing matched exactly; these match similar spellings".into()
            } else {
                "some words matched only by similar spellings".into()
            });
        }
    }
    if ranked.is_empty() && article.is_none() {
        ranked = rank_fuzzy(lib, snap, &q)?;
        if !ranked.is_empty() {
            answer.note = Some("nothing matched exactly; these match similar spellings".into());
        }
    }
    let mut per_article: HashMap<u32, usize> = HashMap::new();
    // The text already shown: (passage, block, excerpt range) of each result. An excerpt grows
    // around its sentence, so two good sentences of one block can yield the same excerpt.
    let mut shown: Vec<(u32, usize, Range<usize>)> = Vec::new();
    for r in ranked {
        if answer.results.len() >= settings.results || r.score <= 0.0 {
            break;
        }
        let a = lib.passages[r.passage as usize].article;
        let n = per_article.entry(a).or_default();
        if *n >= PER_ARTICLE {
            continue;
        }
        let range = excerpt_range(lib, settings, &r);
        let repeats = shown.iter().any(|(p, b, seen)| {
            *p == r.passage && *b == r.block && seen.start < range.end && range.start < seen.end
        });
        let result = result(lib, settings, &q, &r, range.clone());
        if repeats || answer.results.iter().any(|o| o.excerpt == result.excerpt) {
            continue;
        }
        *n += 1;
        shown.push((r.passage, r.block, range));
        answer.results.push(result);
    }
    if let Some(top) = answer.results.first() {
        let id = lib
            .by_slug(&top.slug)
            .expect("results name library articles");
        let t = articles::takeaways(lib, id);
        if !t.takeaways.is_empty() {
            answer.takeaways = Some(t);
        }
    } else {
        answer.note = Some(match &answer.article {
            Some(slug) => format!("nothing in {slug} matched the question"),
            None => "nothing in the collection matched the question".into(),
        });
        answer.suggestions = lib
            .names
            .lookup(&capped, 5)
            .into_iter()
            .map(|m| article_ref(lib, m.article))
            .collect();
    }
    Ok(Answer::Ask(answer))
}

/// The note for a question without a content word: what it lacks, with (a few of) its words.
pub(super) fn nothing_to_search(question: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for t in text::tokenize(question) {
        if !words.contains(&t.lower) {
            words.push(t.lower);
        }
    }
    if words.is_empty() {
        return "ask about something: the question has no words to search for".into();
    }
    let shown: Vec<String> = words.iter().take(3).map(|w| format!("{w:?}")).collect();
    let more = if words.len() > 3 { ", …" } else { "" };
    format!(
        "ask about something: the question has only common words ({}{more}), which match \
         every article; name a topic",
        shown.join(", ")
    )
}

/// The byte range, in its block, of the excerpt around the ranked sentence `r`.
fn excerpt_range(lib: &Library, settings: &AnswerSettings, r: &RankedSentence) -> Range<usize> {
    let block = &lib.passage_blocks(r.passage)[r.block].text;
    let sentences = text::sentences(block);
    let best = sentences.iter().position(|s| *s == r.range).unwrap_or(0);
    excerpt::excerpt_range(block, &sentences, best, settings.excerpt_max_chars)
}

/// The result for the ranked sentence `r`, its excerpt the `range` of its block (from
/// [`excerpt_range`]), cut to `excerpt_max_chars`.
fn result(
    lib: &Library,
    settings: &AnswerSettings,
    q: &Question,
    r: &RankedSentence,
    range: Range<usize>,
) -> AskResult {
    let p = &lib.passages[r.passage as usize];
    let a = lib.article(p.article);
    let section = &a.sections[p.section as usize];
    let block = &lib.passage_blocks(r.passage)[r.block].text;
    let mut excerpt = block[range].to_string();
    if excerpt.chars().count() > settings.excerpt_max_chars {
        excerpt = text::truncate(&excerpt, settings.excerpt_max_chars);
    }
    let highlights = excerpt::highlights(&excerpt, q);
    AskResult {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.section_url(p.section as usize),
        article_url: a.url.clone(),
        section: section.heading.clone(),
        excerpt,
        highlights,
        score: r.score,
    }
}

/// Ranks every sentence of article `id` for the question `question`, best first: the ranking
/// `ask --article` shows its excerpts from (and the WikiQA evaluation measures).
pub fn rank_article_sentences(
    lib: &Library,
    question: &str,
    id: u32,
) -> anyhow::Result<Vec<RankedSentence>> {
    let snap = lib.index.snapshot();
    let q = analyse(lib, &snap, question);
    rank_in_article(lib, &q, id)
}

fn rank_in_article(lib: &Library, q: &Question, id: u32) -> anyhow::Result<Vec<RankedSentence>> {
    let passages: Vec<(u32, f32)> = lib.passages_of(id).map(|p| (p, 0.0)).collect();
    let passages = tokenize_passages(lib, &passages);
    Ok(rank_sentences(lib, q, &passages, SentenceOrder::All))
}

fn rank_in_collection(
    lib: &Library,
    snap: &Snapshot,
    q: &Question,
) -> anyhow::Result<Vec<RankedSentence>> {
    let query = retrieval_query(lib, snap, q);
    let hits = lib.index.top_passages(snap, &query, CANDIDATES)?;
    #[cfg(feature = "embeddings")]
    let hits = match lib.embeddings() {
        Some(layer) => blend_dense(layer, q, hits),
        None => hits,
    };
    let unknown = unknown_terms(lib, snap, q);
    let hits = tokenize_passages(lib, &hits);
    if unknown.is_empty() {
        return Ok(rank_sentences(lib, q, &hits, SentenceOrder::BestPerPassage));
    }
    let corrected = correct_spellings(q, hit_stems(&hits), &unknown);
    Ok(rank_sentences(
        lib,
        &corrected,
        &hits,
        SentenceOrder::BestPerPassage,
    ))
}

/// The retrieved passages' scores blended with the embedding layer's: (1 - w) × BM25 relative
/// to the best retrieved + w × the cosine of the question's and the passage's vectors, w
/// being `layer.weights.ask`; best first. The sentence scorer then takes the passage's score
/// as it takes BM25's (relative to the best), so a passage the model finds closer to the
/// question lends its sentences more. A question the model fails on keeps the lexical order
/// (logged): the layer may only add to an answer, never take it away.
#[cfg(feature = "embeddings")]
fn blend_dense(
    layer: &crate::embed::layer::Embeddings,
    q: &Question,
    mut hits: Vec<(u32, f32)>,
) -> Vec<(u32, f32)> {
    let w = layer.weights.ask;
    // Weight 0 is the lexical order: no question to embed.
    if hits.is_empty() || w <= 0.0 {
        return hits;
    }
    let question = match layer.embed_query(&q.text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("the embedding model failed on a question ({e:#}); lexical order kept");
            return hits;
        }
    };
    let best = hits.iter().map(|h| h.1).fold(0.0f32, f32::max);
    for (p, s) in &mut hits {
        let lexical = if best > 0.0 { *s / best } else { 0.0 };
        let dense = crate::embed::layer::dot(&question, layer.passage(*p)).max(0.0);
        *s = (1.0 - w) * lexical + w * dense;
    }
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    hits
}

/// The stems of the words of `hits`, in order.
fn hit_stems<'a>(hits: &'a [PassageSentences<'_>]) -> impl Iterator<Item = &'a str> {
    hits.iter()
        .flat_map(|p| &p.sentences)
        .flat_map(|s| &s.words)
        .map(|w| &*w.stem)
}

/// `q` with the `stems` (of the passages found) that are close spellings of `terms` added as
/// alternatives of the terms they stand in for.
pub(super) fn correct_spellings<'w>(
    q: &Question,
    stems: impl Iterator<Item = &'w str>,
    terms: &[QueryTerm],
) -> Question {
    let mut corrected = q.clone();
    // (stem, its length in characters, the distance allowed) of the terms that can be corrected
    // (four letters or more).
    let terms: Vec<(&str, usize, usize)> = terms
        .iter()
        .map(|t| {
            let len = t.stem.chars().count();
            (t.stem.as_str(), len, if len >= 8 { 2 } else { 1 })
        })
        .filter(|&(_, len, _)| len >= 4)
        .collect();
    // A stem is judged once: the question only grows by stems judged close, which are then
    // skipped as the question's own. Fx-hashed, sized for the passages' few thousand words:
    // with SipHash and its growth, this set was two thirds of the work once the distances were
    // bounded by letters (the words are of the passages found for one question: few enough
    // that a bad hash spread cannot cost much).
    let mut seen: rustc_hash::FxHashSet<&str> =
        rustc_hash::FxHashSet::with_capacity_and_hasher(1024, Default::default());
    for word in stems {
        if !seen.insert(word) || corrected.has(word) {
            continue;
        }
        let len = word.chars().count();
        // The distance is at least the difference of the lengths, and at least half the
        // letters the two do not share: both are cheap, and most of the passages' words fail
        // them (the distance itself was a third of a misspelled question's work).
        let close = terms.iter().find(|&&(stem, term_len, max)| {
            len.abs_diff(term_len) <= max
                && !letters_too_far(stem, word, max)
                && strsim::damerau_levenshtein(stem, word) <= max
        });
        if let Some(&(stem, _, _)) = close {
            if let Some(term) = corrected.terms.iter_mut().find(|c| c.stem == stem) {
                term.alternatives.push(word.to_string());
            }
        }
    }
    corrected
}

/// Whether two ASCII words differ in more letters than `max` edits can make: an insertion or
/// a deletion changes the count of one letter by one, a substitution two counts by one each,
/// a transposition none, so the edit distance is at least half the sum of the differences of
/// the counts. Words with other characters are never judged too far here.
fn letters_too_far(a: &str, b: &str, max: usize) -> bool {
    if !a.is_ascii() || !b.is_ascii() {
        return false;
    }
    let mut counts = [0i16; 128];
    for c in a.bytes() {
        counts[usize::from(c)] += 1;
    }
    for c in b.bytes() {
        counts[usize::from(c)] -= 1;
    }
    let differ: usize = counts.iter().map(|c| c.unsigned_abs() as usize).sum();
    differ > 2 * max
}

/// The edit distance at which a word of `len` characters may be misspelled: none under four
/// letters, one, two from eight.
fn spelling_distance(len: usize) -> Option<u8> {
    match len {
        0..4 => None,
        4..8 => Some(1),
        _ => Some(2),
    }
}

/// Whether no passage holds `t` (nor another spelling of it): a word to try close spellings
/// of, when it is long enough to have them.
fn is_unknown(lib: &Library, snap: &Snapshot, t: &QueryTerm) -> bool {
    t.alternatives.is_empty() && lib.index.doc_freq(snap, &t.stem) == 0
}

/// The question's words (of four letters or more) that no passage holds: candidates for a
/// spelling correction.
pub(super) fn unknown_terms(lib: &Library, snap: &Snapshot, q: &Question) -> Vec<QueryTerm> {
    q.terms
        .iter()
        .filter(|t| t.stem.chars().count() >= 4 && is_unknown(lib, snap, t))
        .cloned()
        .collect()
}

/// BM25 over the weighted fields, each question stem once per field; a stem no passage holds
/// also matches its close spellings.
pub(super) fn retrieval_query(lib: &Library, snap: &Snapshot, q: &Question) -> Query {
    let words: Vec<WordQuery> = q
        .terms
        .iter()
        .map(|t| WordQuery {
            stems: t.stems().collect(),
            // A word the collection does not know may be a spelling of one it does.
            fuzzy: spelling_distance(t.stem.chars().count()).filter(|_| is_unknown(lib, snap, t)),
        })
        .collect();
    lib.index.words_query(&words)
}

/// Retries a question that matched nothing with each term's close spellings.
fn rank_fuzzy(lib: &Library, snap: &Snapshot, q: &Question) -> anyhow::Result<Vec<RankedSentence>> {
    let words: Vec<(&str, u8)> = q
        .terms
        .iter()
        .filter_map(|t| Some((t.stem.as_str(), spelling_distance(t.stem.chars().count())?)))
        .collect();
    let Some(query) = lib.index.spellings_query(&words) else {
        return Ok(Vec::new());
    };
    let hits = lib.index.top_passages(snap, &query, CANDIDATES)?;
    let hits = tokenize_passages(lib, &hits);
    // The sentence scorer needs the spellings that matched: the passages' own words that are
    // close to a question term stand in for it.
    let corrected = correct_spellings(q, hit_stems(&hits), &q.terms);
    Ok(rank_sentences(
        lib,
        &corrected,
        &hits,
        SentenceOrder::BestPerPassage,
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SentenceOrder {
    /// Every sentence, best first.
    All,
    /// The best sentence of each passage, best first.
    BestPerPassage,
}

/// The sentences of one candidate passage, tokenized once for the spelling correction and
/// the scorer.
struct PassageSentences<'l> {
    passage: u32,
    retrieval: f32,
    /// Block index and byte range in the block of each sentence.
    refs: Vec<(usize, Range<usize>)>,
    sentences: Vec<Sentence<'l>>,
}

/// Cuts `passages` (each with its retrieval score) into tokenized sentences.
fn tokenize_passages<'l>(lib: &'l Library, passages: &[(u32, f32)]) -> Vec<PassageSentences<'l>> {
    passages
        .iter()
        .map(|&(pid, retrieval)| {
            let first_position = sentence_offset(lib, pid);
            let blocks = lib.passage_blocks(pid);
            let mut refs = Vec::new();
            for (bi, b) in blocks.iter().enumerate() {
                for r in text::sentences(&b.text) {
                    refs.push((bi, r));
                }
            }
            let sentences = refs
                .iter()
                .enumerate()
                .map(|(i, (bi, r))| Sentence::new(&blocks[*bi].text[r.clone()], first_position + i))
                .collect();
            PassageSentences {
                passage: pid,
                retrieval,
                refs,
                sentences,
            }
        })
        .collect()
}

/// Scores the sentences of `passages`.
fn rank_sentences(
    lib: &Library,
    q: &Question,
    passages: &[PassageSentences<'_>],
    order: SentenceOrder,
) -> Vec<RankedSentence> {
    let top_retrieval = passages.iter().map(|p| p.retrieval).fold(0.0f32, f32::max);
    let matcher = Matcher::new(q);
    let mut out = Vec::new();
    let mut title_cache: HashMap<u32, HashSet<String>> = HashMap::new();
    for ps in passages {
        let pid = ps.passage;
        let p = &lib.passages[pid as usize];
        let title_stems = title_cache.entry(p.article).or_insert_with(|| {
            text::tokenize(&lib.article(p.article).title)
                .into_iter()
                .map(|t| t.stem)
                .collect()
        });
        let heading_stems = heading_stems(lib, pid);
        let scores = excerpt::score_tokenized(&matcher, &ps.sentences, title_stems, &heading_stems);
        // The passage's retrieval score, relative to the best retrieved, adds to every
        // sentence: it carries the title, section and article fields the sentence lacks.
        let prior = if top_retrieval > 0.0 {
            RETRIEVAL_WEIGHT * ps.retrieval / top_retrieval
        } else {
            0.0
        };
        let mut ranked: Vec<RankedSentence> = ps
            .refs
            .iter()
            .zip(&ps.sentences)
            .zip(scores)
            .map(|(((block, range), sentence), s)| RankedSentence {
                passage: pid,
                block: *block,
                range: range.clone(),
                position: sentence.position,
                score: s + prior,
            })
            .collect();
        match order {
            SentenceOrder::All => out.extend(ranked),
            SentenceOrder::BestPerPassage => {
                ranked.sort_by(|a, b| {
                    b.score
                        .total_cmp(&a.score)
                        .then(a.position.cmp(&b.position))
                });
                if let Some(best) = ranked.into_iter().next().filter(|r| r.score > 0.0) {
                    out.push(best);
                }
            }
        }
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.passage.cmp(&b.passage))
            .then(a.position.cmp(&b.position))
    });
    out
}

/// Stems of the heading of the section passage `pid` is in (none outside a section).
pub(super) fn heading_stems(lib: &Library, pid: u32) -> HashSet<String> {
    let p = &lib.passages[pid as usize];
    lib.article(p.article).sections[p.section as usize]
        .heading
        .as_deref()
        .map(|h| text::tokenize(h).into_iter().map(|t| t.stem).collect())
        .unwrap_or_default()
}

/// Position of passage `pid`'s first sentence in its article: unique and ordered within the
/// article, 0 for the article's first sentence (no passage holds 1,000 sentences).
fn sentence_offset(lib: &Library, pid: u32) -> usize {
    let first = lib.passages_of(lib.passages[pid as usize].article).start;
    (pid - first) as usize * 1000
}

#[cfg(test)]
mod tests {
    use super::letters_too_far;

    proptest::proptest! {
        #[test]
        fn words_judged_too_far_by_their_letters_are(a in "[a-e]{0,9}", b in "[a-e]{0,9}", max in 1usize..=2) {
            // Few letters, so that many pairs are close: the bound is checked where it is tight.
            if letters_too_far(&a, &b, max) {
                proptest::prop_assert!(strsim::damerau_levenshtein(&a, &b) > max);
            }
        }
    }

    #[test]
    fn letters_tell_far_words_from_close_ones() {
        assert!(letters_too_far("ocean", "tiger", 1));
        assert!(letters_too_far("photosynthesis", "photograph", 2));
        // A transposition, a substitution, an insertion: within reach.
        assert!(!letters_too_far("recieve", "receive", 1));
        assert!(!letters_too_far("colour", "colout", 1));
        assert!(!letters_too_far("cycling", "cyclings", 1));
        // Not ASCII: never judged here.
        assert!(!letters_too_far("café", "tiger", 1));
    }
}
