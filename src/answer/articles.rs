//! Answers about one article: resolving a typed name, `summary`, `takeaways`, the article
//! card, `related`, and autocomplete.

use std::collections::{HashMap, HashSet};

use super::{
    article_ref, ArticleCard, Choice, NotFound, RelatedAnswer, RelatedItem, SummaryAnswer,
    SummarySource, TakeawayItem, TakeawaysAnswer,
};
use crate::config::AnswerSettings;
use crate::index::{idf, Snapshot};
use crate::library::Library;
use crate::names::MatchKind;
use crate::text;

/// Bytes of a typed name that are looked up (titles and aliases are far shorter).
const NAME_MAX_BYTES: usize = 400;
/// A name not found is echoed back cut to this many characters.
const NAME_ECHO_CHARS: usize = 100;

/// A fuzzy name match at least this similar resolves on its own.
const FUZZY_ACCEPT: f32 = 0.85;
/// A fuzzy match that has no rival resolves from this similarity.
const FUZZY_ACCEPT_ALONE: f32 = 0.7;

/// Resolves a slug, title or alias (typos tolerated) to an article. On success also says how
/// the name matched when it was not exact; otherwise up to 5 suggestions.
pub(super) fn resolve(lib: &Library, query: &str) -> Result<(u32, Option<String>), NotFound> {
    // No name is this long: a longer input is cut, for the look-up and for the echo.
    let q = text::floor_char_boundary(query.trim(), NAME_MAX_BYTES).trim_end();
    if let Some(id) = lib.by_slug(q).or_else(|| lib.by_slug(&text::slugify(q))) {
        return Ok((id, None));
    }
    let matches = lib.names.lookup(q, 5);
    let accept = match matches.as_slice() {
        [first, ..] if first.kind == MatchKind::Exact => true,
        // The only article whose name starts with what was typed, or the only one close.
        [only] if only.kind != MatchKind::Fuzzy => true,
        [only] => only.similarity >= FUZZY_ACCEPT_ALONE,
        [first, rest @ ..] if first.kind == MatchKind::Fuzzy => {
            first.similarity >= FUZZY_ACCEPT
                && rest
                    .first()
                    .is_none_or(|r| r.similarity + 0.05 < first.similarity)
        }
        _ => false,
    };
    if accept && !q.is_empty() {
        let m = &matches[0];
        let how = (m.kind != MatchKind::Exact).then(|| format!("matched {:?} as {:?}", q, m.name));
        return Ok((m.article, how));
    }
    Err(NotFound {
        error: "not_found",
        query: text::truncate(q, NAME_ECHO_CHARS),
        suggestions: matches
            .iter()
            .map(|m| article_ref(lib, m.article))
            .collect(),
    })
}

pub(super) fn summary(
    lib: &Library,
    snap: &Snapshot,
    settings: &AnswerSettings,
    id: u32,
) -> SummaryAnswer {
    let a = lib.article(id);
    let (summary, source) = match &a.summary {
        Some(s) => {
            let source = if a.format == crate::content::Format::PlainText
                && a.sections
                    .first()
                    .and_then(|s| s.blocks.first())
                    .is_some_and(|b| &b.text == s)
            {
                SummarySource::Standfirst
            } else {
                SummarySource::FrontMatter
            };
            (text::truncate(s, settings.summary_max_chars), source)
        }
        None => (
            extractive_summary(lib, snap, settings, id),
            SummarySource::Extractive,
        ),
    };
    SummaryAnswer {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        summary,
        source,
    }
}

/// The most central sentences of the article (closest to the article's own IDF-weighted term
/// profile), in document order, within `summary_max_chars`.
fn extractive_summary(
    lib: &Library,
    snap: &Snapshot,
    settings: &AnswerSettings,
    id: u32,
) -> String {
    let a = lib.article(id);
    let n = snap.num_docs();
    let mut idf_cache: HashMap<String, f32> = HashMap::new();
    let mut weight = |stem: &str| -> f32 {
        if let Some(w) = idf_cache.get(stem) {
            return *w;
        }
        let w = idf(lib.index.doc_freq(snap, stem), n);
        idf_cache.insert(stem.to_string(), w);
        w
    };
    // Takeaway sections already have their own command; the summary comes from the body.
    let body: Vec<&str> = a
        .sections
        .iter()
        .filter(|s| !s.takeaway)
        .flat_map(|s| &s.blocks)
        .map(|b| b.text.as_str())
        .collect();
    let sentences: Vec<&str> = body
        .iter()
        .flat_map(|b| text::sentences(b).into_iter().map(move |r| &b[r]))
        .filter(|s| text::word_count(s) >= 5)
        .collect();
    if sentences.is_empty() {
        return text::truncate(
            body.first().copied().unwrap_or(""),
            settings.summary_max_chars,
        );
    }
    let vectors: Vec<HashMap<String, f32>> = sentences
        .iter()
        .map(|s| {
            let mut v: HashMap<String, f32> = HashMap::new();
            for t in text::tokenize(s) {
                if text::is_stop_word(&t.lower) {
                    continue;
                }
                let w = weight(&t.stem);
                *v.entry(t.stem).or_default() += w;
            }
            v
        })
        .collect();
    let mut centroid: HashMap<&str, f32> = HashMap::new();
    for v in &vectors {
        for (k, w) in v {
            *centroid.entry(k.as_str()).or_default() += w;
        }
    }
    let cnorm = centroid
        .values()
        .map(|w| w * w)
        .sum::<f32>()
        .sqrt()
        .max(1e-6);
    let mut scored: Vec<(usize, f32)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let dot: f32 = v
                .iter()
                .map(|(k, w)| w * centroid.get(k.as_str()).copied().unwrap_or(0.0))
                .sum();
            let norm = v.values().map(|w| w * w).sum::<f32>().sqrt().max(1e-6);
            // A slight lead for early sentences, which tend to state the subject.
            let position = 1.0 / (1.0 + i as f32 * 0.05);
            (i, dot / (norm * cnorm) * (0.85 + 0.15 * position))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = Vec::new();
    let mut chars = 0;
    for (i, _) in scored {
        if chosen.len() >= settings.summary_sentences {
            break;
        }
        let len = sentences[i].chars().count() + 1;
        if chars + len > settings.summary_max_chars {
            continue;
        }
        chars += len;
        chosen.push(i);
    }
    if chosen.is_empty() {
        return text::truncate(sentences[0], settings.summary_max_chars);
    }
    chosen.sort_unstable();
    chosen
        .iter()
        .map(|&i| sentences[i])
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn takeaways(lib: &Library, id: u32) -> TakeawaysAnswer {
    let a = lib.article(id);
    TakeawaysAnswer {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        takeaways: a
            .takeaways
            .iter()
            .map(|t| TakeawayItem {
                text: t.text.clone(),
                links: t.links.clone(),
            })
            .collect(),
    }
}

pub(super) fn card(
    lib: &Library,
    snap: &Snapshot,
    settings: &AnswerSettings,
    id: u32,
    matched: Option<String>,
) -> anyhow::Result<ArticleCard> {
    let a = lib.article(id);
    // The card names only articles that share something with this one (no score-0 filler).
    let related = related(lib, id, 3)
        .related
        .into_iter()
        .filter(|r| r.score > 0.0)
        .map(|r| super::ArticleRef {
            slug: r.slug,
            title: r.title,
            url: r.url,
        })
        .collect();
    Ok(ArticleCard {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        summary: summary(lib, snap, settings, id).summary,
        tags: a.tags.clone(),
        authors: a.authors.clone(),
        date: a.date.clone(),
        aliases: a.aliases.clone(),
        sections: a
            .sections
            .iter()
            .filter_map(|s| s.heading.clone())
            .collect(),
        words: a.word_count(),
        related,
        matched,
    })
}

/// The `limit` articles most similar to `id`: the nearest by the cosine of their term vectors
/// (built with the library, see [`crate::library::ArticleVectors`]). When fewer than `limit`
/// share a term with it, the rest of the collection follows in collection order with score 0,
/// so the answer holds `limit` articles whenever the collection has that many others.
pub(super) fn related(lib: &Library, id: u32, limit: usize) -> RelatedAnswer {
    let a = lib.article(id);
    #[cfg(feature = "embeddings")]
    let mut picked = match lib.embeddings() {
        Some(layer) => nearest_blended(lib, layer, id, limit),
        None => lib.vectors.nearest(id, limit),
    };
    #[cfg(not(feature = "embeddings"))]
    let mut picked = lib.vectors.nearest(id, limit);
    if picked.len() < limit {
        let have: HashSet<u32> = picked.iter().map(|&(o, _)| o).collect();
        let rest = (0..lib.articles.len() as u32).filter(|&o| o != id && !have.contains(&o));
        picked.extend(rest.take(limit - picked.len()).map(|o| (o, 0.0)));
    }
    RelatedAnswer {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        related: picked
            .into_iter()
            .map(|(o, score)| {
                let o = lib.article(o);
                RelatedItem {
                    slug: o.slug.clone(),
                    title: o.title.clone(),
                    url: o.url.clone(),
                    score,
                }
            })
            .collect(),
    }
}

/// The `limit` articles nearest to `id` by a blend of the term vectors' cosine and the
/// embedding layer's (`layer.weights.related` on the dense side), best first (ties by id).
/// Every other article has a dense cosine, so the answer is full whenever the collection is.
#[cfg(feature = "embeddings")]
fn nearest_blended(
    lib: &Library,
    layer: &crate::embed::layer::Embeddings,
    id: u32,
    limit: usize,
) -> Vec<(u32, f32)> {
    let w = layer.weights.related;
    let mut scores: Vec<f32> = layer
        .article_similarities(id)
        .into_iter()
        .map(|d| w * d)
        .collect();
    // Every article sharing a term (the term vectors' cosine is 0 for the others).
    for (o, lexical) in lib.vectors.nearest(id, lib.articles.len()) {
        scores[o as usize] += (1.0 - w) * lexical;
    }
    let hits: Vec<(u32, f32)> = scores
        .into_iter()
        .enumerate()
        .map(|(o, s)| (o as u32, s))
        .filter(|&(o, _)| o != id)
        .collect();
    crate::library::best_first(hits, limit)
}

pub(super) fn autocomplete(lib: &Library, prefix: &str, limit: usize) -> Vec<Choice> {
    // A name being typed is short: a longer input is looked up from its start.
    let prefix = text::floor_char_boundary(prefix, NAME_MAX_BYTES);
    lib.names
        .lookup(prefix, limit)
        .into_iter()
        .map(|m| Choice {
            name: m.name.clone(),
            value: lib.article(m.article).slug.clone(),
        })
        .collect()
}
