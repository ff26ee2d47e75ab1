//! `search`: articles ranked by their best-matching passage, a page at a time, with a one-line
//! snippet each and the total number of matching articles.

use std::collections::{HashMap, HashSet};

use super::excerpt::{self, Candidate};
use super::question::Question;
use super::{SearchAnswer, SearchHit};
use crate::config::AnswerSettings;
use crate::index::{Query, Snapshot};
use crate::library::Library;
use crate::text;

/// A snippet is one line of at most this many characters.
const SNIPPET_CHARS: usize = 200;
/// Pages past this are not served (the collection is not a list to scroll through).
const MAX_PAGE: usize = 1000;

pub(super) fn search(
    lib: &Library,
    snap: &Snapshot,
    settings: &AnswerSettings,
    query: &str,
    page: usize,
    tag: Option<&str>,
) -> anyhow::Result<SearchAnswer> {
    let (query_text, cut) = super::ask::cap(query, settings.max_question_chars);
    let tag = tag.map(str::trim).filter(|t| !t.is_empty());
    let asked_page = page.max(1);
    let page = page.clamp(1, MAX_PAGE);
    let q = super::ask::analyse(lib, snap, &query_text);
    let mut answer = SearchAnswer {
        query: query_text.clone(),
        tag: tag.map(str::to_string),
        total: 0,
        page,
        pages: 0,
        per_page: settings.page_size,
        results: Vec::new(),
        note: None,
    };
    let mut notes: Vec<String> = Vec::new();
    if cut {
        notes.push(format!(
            "the query was cut to its first {} characters",
            settings.max_question_chars
        ));
    }
    // Words the collection does not have also match their close spellings, as in `ask`.
    let unknown = super::ask::unknown_terms(lib, snap, &q);
    let base: Query = if q.terms.is_empty() {
        if tag.is_none() {
            notes.push("give words to search for, or a tag".into());
            answer.note = Some(notes.join("; "));
            return Ok(answer);
        }
        lib.index.all()
    } else {
        super::ask::retrieval_query(lib, snap, &q)
    };
    let query = match tag {
        Some(t) => lib.index.with_tag(base, t),
        None => base,
    };
    // Words (and their close spellings) alone are counted from their posting lists; with a
    // tag, by a collector.
    let counted = match tag {
        None => lib.index.count_articles(snap, &query, lib.articles.len())?,
        Some(_) => None,
    };
    answer.total = match counted {
        Some(total) => total,
        None => lib
            .index
            .count_matching_articles(snap, &query, lib.articles.len())?,
    };
    answer.pages = answer.total.div_ceil(settings.page_size);
    if answer.total == 0 {
        notes.push(match tag {
            Some(t) if q.terms.is_empty() => format!("no article is tagged {t:?}"),
            Some(t) => format!("no article tagged {t:?} matched"),
            None => "no article matched".into(),
        });
        answer.note = Some(notes.join("; "));
        return Ok(answer);
    }
    let want = page * settings.page_size;
    // A query of words keeps the best articles as it searches; another query's passages are
    // fetched until enough distinct articles are ranked for this page.
    let mut limit = (want * 8).max(64);
    let ranked = match lib.index.top_articles(snap, &query, want)? {
        Some(ranked) => ranked,
        None => loop {
            let hits = lib.index.top_passages(snap, &query, limit)?;
            let exhausted = hits.len() < limit;
            let ranked = group_by_article(lib, &hits);
            if ranked.len() >= want || exhausted || ranked.len() >= answer.total {
                break ranked;
            }
            limit *= 4;
        },
    };
    let on_page: Vec<(u32, u32, f32)> = ranked
        .into_iter()
        .skip((page - 1) * settings.page_size)
        .take(settings.page_size)
        .collect();
    // Highlights and snippets need the spellings that matched: the words of the passages
    // shown that are close to a word the collection does not have.
    let q = if unknown.is_empty() || on_page.is_empty() {
        q
    } else {
        let words: Vec<text::Word> = on_page
            .iter()
            .flat_map(|&(_, p, _)| lib.passage_blocks(p))
            .flat_map(|b| text::words(&b.text))
            .collect();
        let corrected = super::ask::correct_spellings(&q, words.iter().map(|w| &*w.stem), &unknown);
        notes.push(if unknown.len() == q.terms.len() {
            "nothing matched exactly; these match similar spellings".into()
        } else {
            "some words matched only by similar spellings".into()
        });
        corrected
    };
    answer.results = on_page
        .into_iter()
        .map(|(article, passage, score)| hit(lib, &q, article, passage, score))
        .collect();
    if answer.results.is_empty() {
        notes.push(format!(
            "page {asked_page} is past the end: there {}",
            match answer.pages {
                1 => "is only 1 page".to_string(),
                n => format!("are only {n} pages"),
            }
        ));
    }
    answer.note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok(answer)
}

/// Articles in order of their best passage: (article, best passage, score).
fn group_by_article(lib: &Library, hits: &[(u32, f32)]) -> Vec<(u32, u32, f32)> {
    let mut best: HashMap<u32, (u32, f32)> = HashMap::new();
    let mut order = Vec::new();
    for &(p, s) in hits {
        let a = lib.passages[p as usize].article;
        best.entry(a).or_insert_with(|| {
            order.push(a);
            (p, s)
        });
    }
    order
        .into_iter()
        .map(|a| {
            let (p, s) = best[&a];
            (a, p, s)
        })
        .collect()
}

fn hit(lib: &Library, q: &Question, article: u32, passage: u32, score: f32) -> SearchHit {
    let a = lib.article(article);
    let (snippet, highlights) = snippet(lib, q, passage);
    SearchHit {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        snippet,
        highlights,
        tags: a.tags.clone(),
        score,
    }
}

/// The best sentence of the passage that holds a searched word (the best of all when none
/// does: the passage matched on its title or tags), cut to one line around the first word
/// found.
fn snippet(lib: &Library, q: &Question, passage: u32) -> (String, Vec<(usize, usize)>) {
    let blocks = lib.passage_blocks(passage);
    let sentences: Vec<&str> = blocks
        .iter()
        .flat_map(|b| {
            text::sentences(&b.text)
                .into_iter()
                .map(move |r| &b.text[r])
        })
        .collect();
    let candidates: Vec<Candidate> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| Candidate {
            text: s,
            position: i + 1,
        })
        .collect();
    let heading = super::ask::heading_stems(lib, passage);
    let scores = excerpt::score_sentences(q, &candidates, &HashSet::new(), &heading);
    let found: Vec<Vec<(usize, usize)>> = sentences
        .iter()
        .map(|s| excerpt::highlights(s, q))
        .collect();
    let any_found = found.iter().any(|h| !h.is_empty());
    let best = scores
        .iter()
        .enumerate()
        .filter(|&(i, _)| !any_found || !found[i].is_empty())
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(i, _)| i);
    let sentence = sentences.get(best).copied().unwrap_or("");
    let first = found
        .get(best)
        .and_then(|h| h.first())
        .map_or(0, |&(start, _)| start);
    let line = text::truncate_around(sentence, first, SNIPPET_CHARS);
    let highlights = excerpt::highlights(&line, q);
    (line, highlights)
}
