//! `articlebot-eval reading FILE`: `ask` measured on a reading-comprehension set whose answers
//! are spans of whole articles (SQuAD v1.1/v2.0 JSON: the paragraphs of one title, in order,
//! are one article).
//!
//! Every article goes in as a plain-text file (title line, then its paragraphs separated by
//! blank lines) through `content::parse_article` and `Library::from_loaded`, the code
//! `content/` goes through; every answerable question goes through `Command::Ask` over the
//! whole collection with the default answer settings. Figures per question: the top excerpt
//! holds an answer (answer@1: the excerpt comes from the question's article and contains one
//! of the reference answers, compared after SQuAD's normalisation: lower case, no punctuation,
//! no articles, single spaces); one of the first three excerpts does (answer@3); the top
//! result is the question's article (article@1); and the top excerpt's length in characters.
//! Beside it, in the same run, plain BM25 (k1 1.2, b 0.75, stems of non-stop words) over
//! sliding windows of 1, 2 and 3 sentences inside a paragraph, and over whole paragraphs.
//!
//! The articles are split into two fixed halves by the first byte of blake3(title): weights
//! and rules may be chosen on the development half only; the untouched half is reported beside
//! it. Intervals: 95% percentile bootstrap over the questions of each half.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use articlebot::answer::{self, question, Answer, Command, Scope};
use articlebot::config::{AnswerSettings, ContentSettings};
use articlebot::content::{self, Format, Loaded};
use articlebot::library::Library;
use articlebot::text;

use crate::dense::Dense;
use crate::evaluate::SEED;
use crate::measures::{bootstrap_ci95, mean, SplitMix64};

/// One article of the set: its title and paragraphs in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RcArticle {
    pub title: String,
    pub paragraphs: Vec<String>,
}

/// One answerable question: its article and the reference answers' texts.
#[derive(Debug, Clone, PartialEq)]
pub struct RcQuestion {
    pub id: String,
    pub text: String,
    /// Index into [`ReadingSet::articles`].
    pub article: usize,
    /// Index of the paragraph the answer is in.
    pub paragraph: usize,
    pub answers: Vec<String>,
}

/// A parsed reading-comprehension set.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingSet {
    pub name: String,
    pub articles: Vec<RcArticle>,
    pub questions: Vec<RcQuestion>,
    /// Questions of the file without an answer (SQuAD 2.0's unanswerable ones): not asked.
    pub unanswerable: usize,
}

#[derive(Debug, Deserialize)]
struct RawSet {
    #[serde(default)]
    version: Option<String>,
    data: Vec<RawArticle>,
}

#[derive(Debug, Deserialize)]
struct RawArticle {
    title: String,
    paragraphs: Vec<RawParagraph>,
}

#[derive(Debug, Deserialize)]
struct RawParagraph {
    context: String,
    qas: Vec<RawQa>,
}

#[derive(Debug, Deserialize)]
struct RawQa {
    id: String,
    question: String,
    #[serde(default)]
    answers: Vec<RawAnswer>,
    #[serde(default)]
    is_impossible: bool,
}

#[derive(Debug, Deserialize)]
struct RawAnswer {
    text: String,
}

/// Parses a SQuAD-format file. `path` only names the file in error messages.
pub fn parse_reading(path: &Path, source: &str) -> anyhow::Result<ReadingSet> {
    let at = path.display();
    let raw: RawSet = serde_json::from_str(source)
        .with_context(|| format!("{at}: not a SQuAD-format file (data[].paragraphs[].qas[])"))?;
    if raw.data.is_empty() {
        bail!("{at}: data: no articles");
    }
    let mut articles = Vec::new();
    let mut questions = Vec::new();
    let mut unanswerable = 0;
    let mut titles: HashMap<String, usize> = HashMap::new();
    for (ai, a) in raw.data.iter().enumerate() {
        let title = text::clean_whitespace(&a.title.replace('_', " "));
        if title.is_empty() {
            bail!("{at}: data[{ai}]: empty title");
        }
        if let Some(first) = titles.insert(title.clone(), ai) {
            bail!("{at}: data[{ai}]: title {title:?} is used twice (first in data[{first}])");
        }
        let mut paragraphs = Vec::new();
        for (pi, p) in a.paragraphs.iter().enumerate() {
            let context = text::clean_whitespace(&p.context);
            if context.is_empty() {
                bail!("{at}: data[{ai}].paragraphs[{pi}]: empty context");
            }
            for (qi, qa) in p.qas.iter().enumerate() {
                let answers: Vec<String> = qa
                    .answers
                    .iter()
                    .map(|r| r.text.clone())
                    .filter(|t| !normalize(t).is_empty())
                    .collect();
                if qa.is_impossible || answers.is_empty() {
                    unanswerable += 1;
                    continue;
                }
                if qa.question.trim().is_empty() {
                    bail!("{at}: data[{ai}].paragraphs[{pi}].qas[{qi}]: empty question");
                }
                questions.push(RcQuestion {
                    id: qa.id.clone(),
                    text: qa.question.clone(),
                    article: ai,
                    paragraph: pi,
                    answers,
                });
            }
            paragraphs.push(context);
        }
        if paragraphs.is_empty() {
            bail!("{at}: data[{ai}]: no paragraphs");
        }
        articles.push(RcArticle { title, paragraphs });
    }
    if questions.is_empty() {
        bail!("{at}: no answerable question");
    }
    let name = match raw.version {
        Some(v) => format!("{} (version {v})", path.display()),
        None => path.display().to_string(),
    };
    Ok(ReadingSet {
        name,
        articles,
        questions,
        unanswerable,
    })
}

/// SQuAD's answer normalisation: lower case, punctuation dropped, the articles "a", "an",
/// "the" dropped, words separated by one space.
pub fn normalize(s: &str) -> String {
    // Punctuation becomes a space in the answer and the excerpt alike ("anti-war": "anti war").
    let lower: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    lower
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `excerpt` holds one of `answers` (as whole words, after [`normalize`]).
pub fn holds_answer(excerpt: &str, answers: &[String]) -> bool {
    let hay = format!(" {} ", normalize(excerpt));
    answers.iter().any(|a| {
        let a = normalize(a);
        !a.is_empty() && hay.contains(&format!(" {a} "))
    })
}

/// Whether `excerpt` (perhaps cut short with an ellipsis) is text of `paragraph`.
fn in_paragraph(paragraph: &str, excerpt: &str) -> bool {
    let head = excerpt.trim_end_matches('…').trim_end();
    let head = text::floor_char_boundary(head, 60);
    !head.is_empty() && paragraph.contains(head)
}

/// The fixed half an article's questions belong to: development (true) or untouched, by the
/// first byte of the hash of its title (as the file spells it, underscores and all).
pub fn is_development(title: &str) -> bool {
    blake3::hash(title.as_bytes()).as_bytes()[0].is_multiple_of(2)
}

/// Which questions a run asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Half {
    /// Only the development half (for choosing weights: the untouched half stays unseen)
    Development,
    /// Only the untouched half
    Untouched,
    /// Both halves, reported side by side
    Both,
}

impl Half {
    fn asks(self, dev: bool) -> bool {
        match self {
            Half::Development => dev,
            Half::Untouched => !dev,
            Half::Both => true,
        }
    }
}

/// Builds the library of the set's articles; returns it with each article's id.
fn build_library(
    settings: &ContentSettings,
    set: &ReadingSet,
) -> anyhow::Result<(Library, Vec<u32>)> {
    let mut loaded = Loaded::default();
    for (i, a) in set.articles.iter().enumerate() {
        let source = format!("{}\n\n{}\n", a.title, a.paragraphs.join("\n\n"));
        let rel = PathBuf::from(format!("{:04}-{}.txt", i, text::slugify(&a.title)));
        let article = content::parse_article(settings, &rel, Format::PlainText, &source)
            .map_err(|w| anyhow::anyhow!("article {:?}: {w}", a.title))?;
        loaded.articles.push(article);
    }
    let slugs: Vec<String> = loaded.articles.iter().map(|a| a.slug.clone()).collect();
    let lib = Library::from_loaded(settings, loaded)?;
    let ids = slugs
        .iter()
        .zip(&set.articles)
        .map(|(s, a)| {
            lib.by_slug(s)
                .with_context(|| format!("article {:?} is missing from the library", a.title))
        })
        .collect::<anyhow::Result<Vec<u32>>>()?;
    Ok((lib, ids))
}

/// What one system did on one question.
#[derive(Debug, Clone, Copy, Default)]
struct Outcome {
    at1: bool,
    at3: bool,
    article_at1: bool,
    /// The top excerpt comes from the paragraph the answer was written for.
    paragraph_at1: bool,
    /// Characters of the top excerpt (`None`: no result).
    chars: Option<usize>,
}

/// One system's figures on one half.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HalfFigures {
    pub questions: usize,
    pub answer_at_1: f64,
    pub answer_at_1_ci95: [f64; 2],
    pub answer_at_3: f64,
    pub answer_at_3_ci95: [f64; 2],
    pub article_at_1: f64,
    pub article_at_1_ci95: [f64; 2],
    /// The top excerpt comes from the paragraph the question was written on (a question can
    /// be answered from another paragraph too: a diagnostic, not a target).
    pub paragraph_at_1: f64,
    /// Mean characters of the top excerpt, over the questions that got one.
    pub mean_chars: f64,
    /// Questions with no result at all.
    pub unanswered: usize,
}

/// One system's figures on both halves (a half not asked has 0 questions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemFigures {
    pub system: String,
    pub development: HalfFigures,
    pub untouched: HalfFigures,
}

/// Everything `eval reading` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadingReport {
    pub set: String,
    pub articles: usize,
    pub development_articles: usize,
    pub untouched_articles: usize,
    /// Answerable questions of each half (asked or not).
    pub development_questions: usize,
    pub untouched_questions: usize,
    pub unanswerable_skipped: usize,
    /// `ask` first, then the BM25 baselines.
    pub systems: Vec<SystemFigures>,
    /// articlebot minus the best baseline by answer@1 on the development half, per question
    /// (answer@1), with paired intervals.
    pub difference: Option<Difference>,
    /// With `--embeddings`: what embedding the passages took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    /// Time per question of each `ask` measured (the machine's load included).
    pub timing: Vec<Timing>,
}

/// Mean time of one `ask` of a system, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub system: String,
    pub ms_per_question: f64,
}

/// articlebot's answer@1 minus a baseline's, per question, with its paired interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub baseline: String,
    pub development: f64,
    pub development_ci95: [f64; 2],
    pub untouched: f64,
    pub untouched_ci95: [f64; 2],
}

fn half_figures(outcomes: &[&Outcome], rng: &mut SplitMix64) -> HalfFigures {
    let flag = |f: fn(&Outcome) -> bool| -> Vec<f64> {
        outcomes.iter().map(|o| f64::from(u8::from(f(o)))).collect()
    };
    let at1 = flag(|o| o.at1);
    let at3 = flag(|o| o.at3);
    let art = flag(|o| o.article_at1);
    let para = flag(|o| o.paragraph_at1);
    let lens: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.chars.map(|c| c as f64))
        .collect();
    HalfFigures {
        questions: outcomes.len(),
        answer_at_1: mean(&at1),
        answer_at_1_ci95: bootstrap_ci95(&at1, rng),
        answer_at_3: mean(&at3),
        answer_at_3_ci95: bootstrap_ci95(&at3, rng),
        article_at_1: mean(&art),
        article_at_1_ci95: bootstrap_ci95(&art, rng),
        paragraph_at_1: mean(&para),
        mean_chars: mean(&lens),
        unanswered: outcomes.iter().filter(|o| o.chars.is_none()).count(),
    }
}

/// A retrieval unit of a baseline: its article, its text.
struct Unit {
    article: usize,
    text: String,
}

/// Plain BM25 over a set of units.
struct Bm25 {
    name: String,
    units: Vec<Unit>,
    postings: HashMap<String, Vec<(u32, f32)>>,
    lengths: Vec<f32>,
    avg_len: f32,
}

const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

/// Stems of the non-stop words of `s` (the baselines' terms).
fn stems(s: &str) -> Vec<String> {
    text::tokenize(s)
        .into_iter()
        .filter(|t| !text::is_stop_word(&t.lower))
        .map(|t| t.stem)
        .collect()
}

impl Bm25 {
    fn new(name: String, units: Vec<Unit>) -> Bm25 {
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            let words = stems(&u.text);
            lengths.push(words.len() as f32);
            let mut tf: HashMap<String, f32> = HashMap::new();
            for w in words {
                *tf.entry(w).or_default() += 1.0;
            }
            for (w, f) in tf {
                postings.entry(w).or_default().push((i as u32, f));
            }
        }
        let avg_len = mean(&lengths.iter().map(|&l| f64::from(l)).collect::<Vec<_>>()) as f32;
        Bm25 {
            name,
            units,
            postings,
            lengths,
            avg_len: avg_len.max(1.0),
        }
    }

    /// The best `k` units for `question`, best first (ties: the earlier unit).
    fn top(&self, question: &str, k: usize) -> Vec<usize> {
        let n = self.units.len() as f32;
        let mut terms: Vec<String> = text::tokenize(question)
            .into_iter()
            .filter(|t| question::is_content_word(&t.lower))
            .map(|t| t.stem)
            .collect();
        terms.sort();
        terms.dedup();
        let mut scores: HashMap<u32, f32> = HashMap::new();
        for t in &terms {
            let Some(list) = self.postings.get(t) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(u, f) in list {
                let norm = 1.0 - BM25_B + BM25_B * self.lengths[u as usize] / self.avg_len;
                *scores.entry(u).or_default() += idf * f * (BM25_K1 + 1.0) / (f + BM25_K1 * norm);
            }
        }
        let mut ranked: Vec<(u32, f32)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
            .into_iter()
            .take(k)
            .map(|(u, _)| u as usize)
            .collect()
    }
}

/// The baselines' units: sliding windows of `n` sentences inside each paragraph (a paragraph
/// of fewer sentences is one window), or whole paragraphs (`n` = 0).
fn units(set: &ReadingSet, n: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    for (ai, a) in set.articles.iter().enumerate() {
        for p in &a.paragraphs {
            let sentences = text::sentences(p);
            if n == 0 || sentences.len() <= n {
                out.push(Unit {
                    article: ai,
                    text: p.clone(),
                });
                continue;
            }
            for w in sentences.windows(n) {
                out.push(Unit {
                    article: ai,
                    text: p[w[0].start..w[n - 1].end].to_string(),
                });
            }
        }
    }
    out
}

/// Runs the evaluation on the questions of `half`.
/// `ask`'s outcome on every question of `asked`.
fn run_ask(
    lib: &Library,
    set: &ReadingSet,
    ids: &[u32],
    asked: &[&RcQuestion],
) -> anyhow::Result<Vec<Outcome>> {
    let answer_settings = AnswerSettings::default();
    let mut ours: Vec<Outcome> = Vec::with_capacity(asked.len());
    for q in asked {
        let answer = answer::execute(
            lib,
            &answer_settings,
            &Command::Ask {
                question: q.text.clone(),
                scope: Scope::Collection,
            },
        )?;
        let Answer::Ask(a) = answer else {
            bail!("ask gave an unexpected answer to question {}", q.id);
        };
        let want = &lib.article(ids[q.article]).slug;
        let right = |r: &answer::AskResult| &r.slug == want && holds_answer(&r.excerpt, &q.answers);
        ours.push(Outcome {
            at1: a.results.first().is_some_and(right),
            at3: a.results.iter().take(3).any(right),
            article_at1: a.results.first().is_some_and(|r| &r.slug == want),
            paragraph_at1: a.results.first().is_some_and(|r| {
                &r.slug == want
                    && in_paragraph(&set.articles[q.article].paragraphs[q.paragraph], &r.excerpt)
            }),
            chars: a.results.first().map(|r| r.excerpt.chars().count()),
        });
    }
    Ok(ours)
}

/// Runs the evaluation; with `dense`, `ask` with the embedding layer (at its weight, and at
/// each of `ask_weights`) beside the lexical `ask` of the same run.
pub fn evaluate(
    settings: &ContentSettings,
    set: &ReadingSet,
    half: Half,
    dense: Option<&Dense>,
    #[cfg_attr(not(feature = "embeddings"), allow(unused_variables))] ask_weights: &[f32],
) -> anyhow::Result<ReadingReport> {
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let (mut lib, ids) = build_library(settings, set)?;
    let dev_article: Vec<bool> = set
        .articles
        .iter()
        .map(|a| is_development(&a.title))
        .collect();
    let asked: Vec<&RcQuestion> = set
        .questions
        .iter()
        .filter(|q| half.asks(dev_article[q.article]))
        .collect();
    let dev: Vec<bool> = asked.iter().map(|q| dev_article[q.article]).collect();

    let start = std::time::Instant::now();
    let lexical = run_ask(&lib, set, &ids, &asked)?;
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let mut timing = vec![Timing {
        system: "ask, lexical only".into(),
        ms_per_question: start.elapsed().as_secs_f64() * 1000.0 / asked.len().max(1) as f64,
    }];
    let mut systems_outcomes: Vec<(String, Vec<Outcome>)> = Vec::new();
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let mut embedding = None;
    match dense {
        None => systems_outcomes.push(("articlebot (ask)".to_string(), lexical)),
        #[cfg(not(feature = "embeddings"))]
        Some(_) => bail!("--embeddings needs a build with the `embeddings` feature"),
        #[cfg(feature = "embeddings")]
        Some(d) => {
            use crate::dense::{recipe, Session};
            let mut session = Session::open(d)?;
            let r = recipe(d, true);
            session.attach(&mut lib, &r)?;
            embedding = Some(format!(
                "{} passages embedded in {:.1} s",
                session.texts,
                session.embedding.as_secs_f64()
            ));
            let layer = lib.embeddings().expect("attached").with_weights(r.weights);
            let mut weights = vec![r.weights.ask];
            weights.extend(ask_weights.iter().filter(|&&w| w != r.weights.ask));
            for w in weights {
                lib.set_embeddings(Some(std::sync::Arc::new(layer.with_weights(
                    articlebot::embed::Weights {
                        ask: w,
                        ..r.weights
                    },
                ))));
                let start = std::time::Instant::now();
                let outcomes = run_ask(&lib, set, &ids, &asked)?;
                let name = format!("ask + dense {w:.2}");
                timing.push(Timing {
                    system: name.clone(),
                    ms_per_question: start.elapsed().as_secs_f64() * 1000.0
                        / asked.len().max(1) as f64,
                });
                systems_outcomes.push((name, outcomes));
            }
            systems_outcomes.push(("ask, lexical only".to_string(), lexical));
        }
    }
    let baselines_from = systems_outcomes.len();

    for (name, n) in [
        ("BM25, 1-sentence windows", 1),
        ("BM25, 2-sentence windows", 2),
        ("BM25, 3-sentence windows", 3),
        ("BM25, whole paragraphs", 0),
    ] {
        let bm25 = Bm25::new(name.to_string(), units(set, n));
        let outcomes = asked
            .iter()
            .map(|q| {
                let top = bm25.top(&q.text, 3);
                let right = |&u: &usize| {
                    let unit = &bm25.units[u];
                    unit.article == q.article && holds_answer(&unit.text, &q.answers)
                };
                Outcome {
                    at1: top.first().is_some_and(right),
                    at3: top.iter().any(right),
                    article_at1: top
                        .first()
                        .is_some_and(|&u| bm25.units[u].article == q.article),
                    paragraph_at1: top.first().is_some_and(|&u| {
                        bm25.units[u].article == q.article
                            && in_paragraph(
                                &set.articles[q.article].paragraphs[q.paragraph],
                                &bm25.units[u].text,
                            )
                    }),
                    chars: top.first().map(|&u| bm25.units[u].text.chars().count()),
                }
            })
            .collect();
        systems_outcomes.push((bm25.name, outcomes));
    }

    let mut rng = SplitMix64::new(SEED ^ 0x21);
    fn split<'o>(outcomes: &'o [Outcome], dev: &[bool], want: bool) -> Vec<&'o Outcome> {
        outcomes
            .iter()
            .zip(dev)
            .filter(|(_, &d)| d == want)
            .map(|(o, _)| o)
            .collect()
    }
    let systems: Vec<SystemFigures> = systems_outcomes
        .iter()
        .map(|(name, outcomes)| SystemFigures {
            system: name.clone(),
            development: half_figures(&split(outcomes, &dev, true), &mut rng),
            untouched: half_figures(&split(outcomes, &dev, false), &mut rng),
        })
        .collect();

    // The paired difference against the strongest baseline (chosen on the development half,
    // or on what was asked when only the untouched half was).
    let key = |s: &SystemFigures| {
        if s.development.questions > 0 {
            s.development.answer_at_1
        } else {
            s.untouched.answer_at_1
        }
    };
    let best = (baselines_from..systems.len())
        .max_by(|&a, &b| key(&systems[a]).total_cmp(&key(&systems[b])));
    let difference = best.map(|b| {
        let diff: Vec<f64> = systems_outcomes[0]
            .1
            .iter()
            .zip(&systems_outcomes[b].1)
            .map(|(o, base)| f64::from(u8::from(o.at1)) - f64::from(u8::from(base.at1)))
            .collect();
        let pick = |want: bool| -> Vec<f64> {
            diff.iter()
                .zip(&dev)
                .filter(|(_, &d)| d == want)
                .map(|(&v, _)| v)
                .collect()
        };
        let (d, u) = (pick(true), pick(false));
        Difference {
            baseline: systems[b].system.clone(),
            development: mean(&d),
            development_ci95: bootstrap_ci95(&d, &mut rng),
            untouched: mean(&u),
            untouched_ci95: bootstrap_ci95(&u, &mut rng),
        }
    });
    let count = |want: bool| {
        set.questions
            .iter()
            .filter(|q| dev_article[q.article] == want)
            .count()
    };
    Ok(ReadingReport {
        set: set.name.clone(),
        articles: set.articles.len(),
        development_articles: dev_article.iter().filter(|&&d| d).count(),
        untouched_articles: dev_article.iter().filter(|&&d| !d).count(),
        development_questions: count(true),
        untouched_questions: count(false),
        unanswerable_skipped: set.unanswerable,
        systems,
        difference,
        embedding,
        timing,
    })
}

/// The report as a table.
pub fn render(r: &ReadingReport) -> String {
    let mut out = format!(
        "reading: {set}\n{arts} articles ({da} development, {ua} untouched); answerable \
         questions: {dq} development, {uq} untouched ({skip} without an answer skipped)\n",
        set = r.set,
        arts = r.articles,
        da = r.development_articles,
        ua = r.untouched_articles,
        dq = r.development_questions,
        uq = r.untouched_questions,
        skip = r.unanswerable_skipped,
    );
    for (label, pick) in [
        (
            "development",
            (|s: &SystemFigures| s.development) as fn(&SystemFigures) -> HalfFigures,
        ),
        ("untouched", |s: &SystemFigures| s.untouched),
    ] {
        let asked = r.systems.first().map_or(0, |s| pick(s).questions);
        if asked == 0 {
            out += &format!("\n{label}: not asked\n");
            continue;
        }
        out += &format!(
            "\n{label} ({asked} questions)         answer@1              answer@3              \
             article@1             paragraph@1  top excerpt\n"
        );
        for s in &r.systems {
            let f = pick(s);
            out += &format!(
                "{:<28} {:.4} ({:.3}-{:.3})   {:.4} ({:.3}-{:.3})   {:.4} ({:.3}-{:.3})   {:.4}       {:>5.0} chars\n",
                s.system,
                f.answer_at_1,
                f.answer_at_1_ci95[0],
                f.answer_at_1_ci95[1],
                f.answer_at_3,
                f.answer_at_3_ci95[0],
                f.answer_at_3_ci95[1],
                f.article_at_1,
                f.article_at_1_ci95[0],
                f.article_at_1_ci95[1],
                f.paragraph_at_1,
                f.mean_chars,
            );
        }
    }
    if let Some(d) = &r.difference {
        out += &format!(
            "\narticlebot - {} (answer@1, per question): development {:+.4} ({:+.3} to {:+.3}), \
             untouched {:+.4} ({:+.3} to {:+.3})\n",
            d.baseline,
            d.development,
            d.development_ci95[0],
            d.development_ci95[1],
            d.untouched,
            d.untouched_ci95[0],
            d.untouched_ci95[1],
        );
    }
    out += "(answer@k: one of the first k excerpts comes from the question's article and holds a \
            reference answer; 95% intervals: bootstrap over questions)\n";
    if let Some(e) = &r.embedding {
        out += &format!("embedding layer: {e}\n");
    }
    for t in &r.timing {
        out += &format!(
            "{:<28} {:.1} ms per question\n",
            t.system, t.ms_per_question
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_after_squad_normalisation() {
        assert_eq!(normalize("The  Anti-War, movement!"), "anti war movement");
        let answers = vec!["the Denver Broncos".to_string(), "Broncos".to_string()];
        assert!(holds_answer("Won by Denver Broncos (AFC).", &answers));
        assert!(holds_answer("the broncos won", &answers));
        // Whole words only: "Bronco" is not "Broncos", "1874" is not in "18745".
        assert!(!holds_answer("A bronco won.", &answers));
        assert!(!holds_answer("In 18745.", &["1874".to_string()]));
        assert!(holds_answer("lit in 1874.", &["1874".to_string()]));
        // An answer of only an article or punctuation matches nothing.
        assert!(!holds_answer("the end", &["The".to_string()]));
    }

    #[test]
    fn windows_of_sentences_stay_inside_a_paragraph() {
        let set = ReadingSet {
            name: "t".into(),
            articles: vec![RcArticle {
                title: "T".into(),
                paragraphs: vec![
                    "The cat sat down. The dog ran off. The bird sang.".into(),
                    "The fox slept.".into(),
                ],
            }],
            questions: Vec::new(),
            unanswerable: 0,
        };
        let texts = |n| {
            units(&set, n)
                .into_iter()
                .map(|u| u.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts(1),
            [
                "The cat sat down.",
                "The dog ran off.",
                "The bird sang.",
                "The fox slept."
            ]
        );
        assert_eq!(
            texts(2),
            [
                "The cat sat down. The dog ran off.",
                "The dog ran off. The bird sang.",
                "The fox slept."
            ]
        );
        assert_eq!(
            texts(0),
            [
                "The cat sat down. The dog ran off. The bird sang.",
                "The fox slept."
            ]
        );
    }
}
