//! `articlebot-eval related FILE`: `related` measured against human similarity judgements.
//! Every document of the file becomes a plain-text article through the normal parser and
//! library build; each document with at least one judged pair above 0 is a query, its other
//! documents ranked by the `related` command; NDCG@5 against the judgements (linear gains,
//! unjudged pairs 0), beside plain TF-IDF cosine over whole documents and a random order,
//! computed in the same run, with percentile-bootstrap intervals over the queries. The
//! documents are split into two fixed halves by a hash of their id: weights may be chosen on
//! the development half only; the untouched half is reported beside it.
//!
//! File format (JSON): `{"name": "...", "documents": [{"id", "title", "text", "tags"?}],
//! "judgements": [{"a", "b", "score"}]}`; a pair judged several times takes the mean score.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use articlebot::answer::{self, Answer, Command};
use articlebot::config::{AnswerSettings, ContentSettings};
use articlebot::content::{self, Format, Loaded};
use articlebot::library::{ArticleVectors, Library, VectorWeights};
use articlebot::text;

use crate::dense::Dense;
use crate::evaluate::SEED;
use crate::measures::{bootstrap_ci95, mean, ndcg_at, rank_with_random_ties, SplitMix64};

/// Rank cut-off of the measure.
pub const K: usize = 5;

/// One document of a similarity set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimDocument {
    pub id: String,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One human judgement of a pair.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    pub a: String,
    pub b: String,
    pub score: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    judged_by: Option<String>,
    documents: Vec<SimDocument>,
    judgements: Vec<Judgement>,
}

/// A parsed similarity set: documents and, per pair of document indices (smaller first), the
/// mean judged score.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilaritySet {
    pub name: String,
    pub documents: Vec<SimDocument>,
    pub scores: HashMap<(usize, usize), f64>,
}

impl SimilaritySet {
    /// The judged score of documents `a` and `b` (0 when not judged).
    pub fn score(&self, a: usize, b: usize) -> f64 {
        let key = (a.min(b), a.max(b));
        self.scores.get(&key).copied().unwrap_or(0.0)
    }
}

/// Parses a similarity set. `path` only names the file in error messages.
pub fn parse_similarity(path: &Path, source: &str) -> anyhow::Result<SimilaritySet> {
    let at = path.display();
    let raw: RawSet = serde_json::from_str(source).with_context(|| format!("{at}"))?;
    if raw.documents.len() < 2 {
        bail!("{at}: a similarity set needs at least two documents");
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, d) in raw.documents.iter().enumerate() {
        if d.id.trim().is_empty() {
            bail!("{at}: documents[{i}]: empty id");
        }
        if index.insert(d.id.as_str(), i).is_some() {
            bail!("{at}: documents[{i}]: id {:?} is used twice", d.id);
        }
    }
    let mut sums: HashMap<(usize, usize), (f64, usize)> = HashMap::new();
    for (i, j) in raw.judgements.iter().enumerate() {
        let find = |id: &str| {
            index
                .get(id)
                .copied()
                .with_context(|| format!("{at}: judgements[{i}]: no document has the id {id:?}"))
        };
        let (a, b) = (find(&j.a)?, find(&j.b)?);
        if a == b {
            bail!("{at}: judgements[{i}]: a document judged against itself");
        }
        if !j.score.is_finite() || j.score < 0.0 {
            bail!(
                "{at}: judgements[{i}]: score must be a number of 0 or more, found {}",
                j.score
            );
        }
        let e = sums.entry((a.min(b), a.max(b))).or_default();
        e.0 += j.score;
        e.1 += 1;
    }
    let name = raw
        .name
        .or(raw.judged_by)
        .unwrap_or_else(|| path.display().to_string());
    Ok(SimilaritySet {
        name,
        documents: raw.documents,
        scores: sums
            .into_iter()
            .map(|(k, (s, n))| (k, s / n as f64))
            .collect(),
    })
}

/// The fixed half a document's queries belong to: development (true) or untouched, by the
/// first byte of the hash of its id.
pub fn is_development(id: &str) -> bool {
    blake3::hash(id.as_bytes()).as_bytes()[0].is_multiple_of(2)
}

/// Builds the library of the set's documents (plain-text articles; tags as front matter).
fn build_library(
    settings: &ContentSettings,
    set: &SimilaritySet,
) -> anyhow::Result<(Library, Vec<u32>)> {
    let mut loaded = Loaded::default();
    for d in &set.documents {
        let title = text::clean_whitespace(&d.title);
        let title = if title.is_empty() {
            d.id.clone()
        } else {
            title
        };
        let front = if d.tags.is_empty() {
            String::new()
        } else {
            let tags =
                toml::Value::Array(d.tags.iter().cloned().map(toml::Value::String).collect());
            format!("+++\ntags = {tags}\n+++\n")
        };
        let source = format!("{front}{title}\n\n{}\n", d.text.trim());
        let rel = PathBuf::from(format!("{}.txt", d.id));
        let article = content::parse_article(settings, &rel, Format::PlainText, &source)
            .map_err(|w| anyhow::anyhow!("document {}: {w}", d.id))?;
        loaded.articles.push(article);
    }
    let slugs: Vec<String> = loaded.articles.iter().map(|a| a.slug.clone()).collect();
    let lib = Library::from_loaded(settings, loaded)?;
    let ids = slugs
        .iter()
        .zip(&set.documents)
        .map(|(s, d)| {
            lib.by_slug(s)
                .with_context(|| format!("document {} is missing from the library", d.id))
        })
        .collect::<anyhow::Result<Vec<u32>>>()?;
    Ok((lib, ids))
}

/// NDCG@5 of one system on the two halves and the whole, with intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    pub development: f64,
    pub untouched: f64,
    pub all: f64,
    pub development_ci95: [f64; 2],
    pub untouched_ci95: [f64; 2],
}

/// Per-query NDCG values of one system, in query order.
struct PerQuery(Vec<f64>);

/// Everything `eval related` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedReport {
    pub set: String,
    pub documents: usize,
    pub development_queries: usize,
    pub untouched_queries: usize,
    pub k: usize,
    /// The `related` command.
    pub articlebot: Figures,
    /// TF-IDF cosine over whole documents (raw counts of lower-cased non-stop words × ln(N/df)).
    pub tfidf: Figures,
    /// A random order (fixed seed).
    pub random: Figures,
    /// articlebot minus TF-IDF, per query, with its interval.
    pub difference: Figures,
    /// Queries whose `related` answer held fewer than `k` articles (the collection has more).
    pub short_answers: usize,
    /// Vector weights tried (`--grid`): each with its figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grid: Vec<GridRow>,
    /// With `--embeddings`: the lexical `related` (no layer) of the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical_only: Option<Figures>,
    /// With `--embeddings`: what the layer cost and the recipe measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingCost>,
    /// With `--embeddings --grid`: dense weights and article vectors tried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dense_grid: Vec<DenseRow>,
}

/// The embedding layer's cost in a run and the recipe measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingCost {
    /// Texts embedded (passages, and article heads when a recipe used them).
    pub texts: usize,
    pub seconds: f64,
    pub weight: f32,
    pub article: String,
}

/// One dense setting of `related` and its NDCG@5 on both halves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DenseRow {
    pub article: String,
    pub weight: f32,
    pub development: f64,
    pub untouched: f64,
}

/// One setting of the vector weights and its NDCG@5 on both halves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRow {
    pub title: f32,
    pub terms: usize,
    pub development: f64,
    pub untouched: f64,
}

fn figures(values: &PerQuery, dev: &[bool], rng: &mut SplitMix64) -> Figures {
    let pick = |want: bool| -> Vec<f64> {
        values
            .0
            .iter()
            .zip(dev)
            .filter(|(_, &d)| d == want)
            .map(|(&v, _)| v)
            .collect()
    };
    let (d, u) = (pick(true), pick(false));
    Figures {
        development: mean(&d),
        untouched: mean(&u),
        all: mean(&values.0),
        development_ci95: bootstrap_ci95(&d, rng),
        untouched_ci95: bootstrap_ci95(&u, rng),
    }
}

/// Lower-cased non-stop words of a document with their counts (the baseline's unit).
fn word_counts(d: &SimDocument) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for t in text::tokenize(&format!("{}\n{}", d.title, d.text)) {
        if !text::is_stop_word(&t.lower) {
            *m.entry(t.lower).or_default() += 1.0;
        }
    }
    m
}

/// Plain TF-IDF vectors (raw count × ln(N/df)), L2-normalised.
fn tfidf_vectors(set: &SimilaritySet) -> Vec<HashMap<String, f64>> {
    let counts: Vec<HashMap<String, f64>> = set.documents.iter().map(word_counts).collect();
    let mut df: HashMap<&str, f64> = HashMap::new();
    for c in &counts {
        for w in c.keys() {
            *df.entry(w.as_str()).or_default() += 1.0;
        }
    }
    let n = counts.len() as f64;
    counts
        .iter()
        .map(|c| {
            let mut v: HashMap<String, f64> = c
                .iter()
                .map(|(w, &f)| (w.clone(), f * (n / df[w.as_str()]).ln()))
                .collect();
            let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.values_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect()
}

fn cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    a.iter().filter_map(|(w, x)| b.get(w).map(|y| x * y)).sum()
}

/// NDCG@K of each query for a ranking given as candidate document indices, best first.
fn ndcg_of(set: &SimilaritySet, q: usize, ranked: &[usize]) -> f64 {
    let gains: Vec<f64> = (0..set.documents.len())
        .map(|d| if d == q { 0.0 } else { set.score(q, d) })
        .collect();
    ndcg_at(K, ranked, &gains).unwrap_or(0.0)
}

/// The `related` answer's NDCG of every query, and the number of answers shorter than `K`.
fn run_related(
    lib: &Library,
    set: &SimilaritySet,
    ids: &[u32],
    queries: &[usize],
) -> anyhow::Result<(PerQuery, usize)> {
    let doc_of: HashMap<u32, usize> = ids.iter().enumerate().map(|(d, &id)| (id, d)).collect();
    let n = set.documents.len();
    let answer_settings = AnswerSettings {
        related: K,
        ..AnswerSettings::default()
    };
    let mut values = PerQuery(Vec::new());
    let mut short_answers = 0;
    for &q in queries {
        let answer = answer::execute(
            lib,
            &answer_settings,
            &Command::Related {
                article: lib.article(ids[q]).slug.clone(),
            },
        )?;
        let Answer::Related(r) = answer else {
            bail!(
                "related gave an unexpected answer for {}",
                set.documents[q].id
            );
        };
        if r.related.len() < K.min(n - 1) {
            short_answers += 1;
        }
        let ranked: Vec<usize> = r
            .related
            .iter()
            .map(|item| doc_of[&lib.by_slug(&item.slug).expect("a slug of the library")])
            .collect();
        values.0.push(ndcg_of(set, q, &ranked));
    }
    Ok((values, short_answers))
}

/// Runs the evaluation; with `grid`, also every vector weight setting of the grid; with
/// `dense`, `related` with the embedding layer, beside the lexical `related` of the same run.
pub fn evaluate(
    settings: &ContentSettings,
    set: &SimilaritySet,
    grid: bool,
    dense: Option<&Dense>,
) -> anyhow::Result<RelatedReport> {
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let (mut lib, ids) = build_library(settings, set)?;
    let doc_of: HashMap<u32, usize> = ids.iter().enumerate().map(|(d, &id)| (id, d)).collect();
    let n = set.documents.len();
    let queries: Vec<usize> = (0..n)
        .filter(|&q| (0..n).any(|d| d != q && set.score(q, d) > 0.0))
        .collect();
    let dev: Vec<bool> = queries
        .iter()
        .map(|&q| is_development(&set.documents[q].id))
        .collect();
    let tfidf = tfidf_vectors(set);
    let (lexical, lexical_short) = run_related(&lib, set, &ids, &queries)?;
    let mut base = PerQuery(Vec::new());
    let mut random = PerQuery(Vec::new());
    let mut rng_base = SplitMix64::new(SEED ^ 0x11);
    let mut rng_random = SplitMix64::new(SEED ^ 0x12);
    for &q in &queries {
        let others: Vec<usize> = (0..n).filter(|&d| d != q).collect();
        let sims: Vec<f64> = others
            .iter()
            .map(|&d| cosine(&tfidf[q], &tfidf[d]))
            .collect();
        let order: Vec<usize> = rank_with_random_ties(&sims, &mut rng_base)
            .into_iter()
            .map(|i| others[i])
            .collect();
        base.0.push(ndcg_of(set, q, &order));
        let zeros = vec![0.0; others.len()];
        let order: Vec<usize> = rank_with_random_ties(&zeros, &mut rng_random)
            .into_iter()
            .map(|i| others[i])
            .collect();
        random.0.push(ndcg_of(set, q, &order));
    }
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let mut dense_rows = Vec::new();
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let mut cost = None;
    let (ours, short_answers) = match dense {
        None => (PerQuery(lexical.0.clone()), lexical_short),
        #[cfg(not(feature = "embeddings"))]
        Some(_) => bail!("--embeddings needs a build with the `embeddings` feature"),
        #[cfg(feature = "embeddings")]
        Some(d) => {
            use crate::dense::{recipe, ArticleVector, Session};
            use articlebot::embed::Weights;
            let mut session = Session::open(d)?;
            if grid {
                for article in [ArticleVector::Passages, ArticleVector::Head] {
                    for w in [0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
                        let r = articlebot::embed::Recipe {
                            article: article.into(),
                            weights: Weights {
                                related: w,
                                ..Weights::default()
                            },
                        };
                        session.attach(&mut lib, &r)?;
                        let (values, _) = run_related(&lib, set, &ids, &queries)?;
                        let f = figures(&values, &dev, &mut SplitMix64::new(SEED));
                        dense_rows.push(DenseRow {
                            article: format!("{article:?}").to_lowercase(),
                            weight: w,
                            development: f.development,
                            untouched: f.untouched,
                        });
                    }
                }
            }
            let r = recipe(d, false);
            session.attach(&mut lib, &r)?;
            cost = Some(EmbeddingCost {
                texts: session.texts,
                seconds: session.embedding.as_secs_f64(),
                weight: r.weights.related,
                article: format!("{:?}", r.article),
            });
            run_related(&lib, set, &ids, &queries)?
        }
    };
    let diff = PerQuery(ours.0.iter().zip(&base.0).map(|(a, b)| a - b).collect());
    let mut rng = SplitMix64::new(SEED ^ 0x13);
    let mut rows = Vec::new();
    if grid {
        for title in [1.0, 2.0, 3.0, 5.0, 8.0] {
            for terms in [25, 50, 100, 200, 400, 100_000] {
                let w = VectorWeights {
                    title,
                    terms,
                    ..VectorWeights::default()
                };
                let v = ArticleVectors::build(&lib.articles, &w);
                let values = PerQuery(
                    queries
                        .iter()
                        .map(|&q| {
                            let ranked: Vec<usize> = v
                                .nearest(ids[q], K)
                                .into_iter()
                                .map(|(a, _)| doc_of[&a])
                                .collect();
                            ndcg_of(set, q, &ranked)
                        })
                        .collect(),
                );
                let f = figures(&values, &dev, &mut SplitMix64::new(SEED));
                rows.push(GridRow {
                    title,
                    terms,
                    development: f.development,
                    untouched: f.untouched,
                });
            }
        }
    }
    Ok(RelatedReport {
        set: set.name.clone(),
        documents: n,
        development_queries: dev.iter().filter(|&&d| d).count(),
        untouched_queries: dev.iter().filter(|&&d| !d).count(),
        k: K,
        articlebot: figures(&ours, &dev, &mut rng),
        tfidf: figures(&base, &dev, &mut rng),
        random: figures(&random, &dev, &mut rng),
        difference: figures(&diff, &dev, &mut rng),
        lexical_only: dense.is_some().then(|| figures(&lexical, &dev, &mut rng)),
        embedding: cost,
        short_answers,
        grid: rows,
        dense_grid: dense_rows,
    })
}

/// The report as a table.
pub fn render(r: &RelatedReport) -> String {
    let row = |name: &str, f: &Figures| {
        format!(
            "{name:<28} {:.4} ({:.3}-{:.3})   {:.4} ({:.3}-{:.3})   {:.4}\n",
            f.development,
            f.development_ci95[0],
            f.development_ci95[1],
            f.untouched,
            f.untouched_ci95[0],
            f.untouched_ci95[1],
            f.all
        )
    };
    let mut out = format!(
        "related: {set}, {docs} documents; queries: {dq} development, {uq} untouched\n\n\
         NDCG@{k}                       development           untouched             all\n",
        set = r.set,
        docs = r.documents,
        dq = r.development_queries,
        uq = r.untouched_queries,
        k = r.k,
    );
    match &r.embedding {
        Some(e) => {
            out += &row(&format!("related + dense {:.2}", e.weight), &r.articlebot);
            if let Some(l) = &r.lexical_only {
                out += &row("related, lexical only", l);
            }
        }
        None => out += &row("articlebot (related)", &r.articlebot),
    }
    out += &row("TF-IDF cosine (same run)", &r.tfidf);
    out += &row("random order", &r.random);
    out += &row("articlebot - TF-IDF", &r.difference);
    out += &format!(
        "(95% intervals: bootstrap over queries; answers with fewer than {} articles: {})\n",
        r.k, r.short_answers
    );
    if let Some(e) = &r.embedding {
        out += &format!(
            "embedding layer: article vectors {}, {} texts embedded in {:.1} s\n",
            e.article, e.texts, e.seconds
        );
    }
    if !r.dense_grid.is_empty() {
        out += "\ndense weights (choose on development only)\narticle    weight  development  untouched\n";
        for g in &r.dense_grid {
            out += &format!(
                "{:<10} {:<7} {:.4}       {:.4}\n",
                g.article, g.weight, g.development, g.untouched
            );
        }
    }
    if !r.grid.is_empty() {
        out += "\nvector weights (choose on development only)\ntitle  terms   development  untouched\n";
        for g in &r.grid {
            out += &format!(
                "{:<6} {:<7} {:.4}       {:.4}\n",
                g.title, g.terms, g.development, g.untouched
            );
        }
    }
    out
}
