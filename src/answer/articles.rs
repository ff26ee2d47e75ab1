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
    let related = related(lib, snap, id, 3)?
        .related
        .into_iter()
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

/// Terms of an article that make up its "more like this" query.
const RELATED_TERMS: usize = 16;

/// Articles most similar to `id`: a query of the article's most distinctive terms (TF-IDF),
/// ranked by each other article's best passage.
pub(super) fn related(
    lib: &Library,
    snap: &Snapshot,
    id: u32,
    limit: usize,
) -> anyhow::Result<RelatedAnswer> {
    let a = lib.article(id);
    let n = snap.num_docs();
    let mut tf: HashMap<String, f32> = HashMap::new();
    let mut add = |s: &str, w: f32| {
        for t in text::tokenize(s) {
            if t.lower.len() > 2
                && !text::is_stop_word(&t.lower)
                && !t.lower.chars().all(|c| c.is_ascii_digit())
            {
                *tf.entry(t.stem).or_default() += w;
            }
        }
    };
    add(&a.title, 3.0);
    for t in a.tags.iter().chain(&a.aliases) {
        add(t, 2.0);
    }
    for s in &a.sections {
        if let Some(h) = &s.heading {
            add(h, 1.5);
        }
        for b in &s.blocks {
            add(&b.text, 1.0);
        }
    }
    let mut weighted: Vec<(String, f32)> = tf
        .into_iter()
        .map(|(stem, f)| {
            let df = lib.index.doc_freq(snap, &stem);
            let w = (1.0 + f.ln()) * idf(df, n);
            (stem, w)
        })
        // A term found in nearly every passage relates everything to everything.
        .filter(|(_, w)| *w > 0.5)
        .collect();
    weighted.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    weighted.truncate(RELATED_TERMS);
    let mut out = RelatedAnswer {
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: a.url.clone(),
        related: Vec::new(),
    };
    if weighted.is_empty() {
        return Ok(out);
    }
    let max = weighted[0].1;
    let stems: Vec<(String, f32)> = weighted.into_iter().map(|(s, w)| (s, w / max)).collect();
    let query = lib.index.outside_article(lib.index.terms_query(&stems), id);
    let hits = lib.index.top_passages(snap, &query, 100)?;
    let mut seen = HashSet::new();
    for (p, score) in hits {
        let other = lib.passages[p as usize].article;
        if out.related.len() >= limit {
            break;
        }
        if seen.insert(other) {
            let o = lib.article(other);
            out.related.push(RelatedItem {
                slug: o.slug.clone(),
                title: o.title.clone(),
                url: o.url.clone(),
                score,
            });
        }
    }
    Ok(out)
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
