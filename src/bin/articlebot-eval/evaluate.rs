//! The WikiQA evaluation itself: every document indexed as a plain-text article by the
//! library's own code, each question's sentences ranked as `ask --article` ranks them, the
//! two baselines, and the report (JSON or a table).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::Serialize;

use articlebot::answer::{self, Answer, Command, Scope};
use articlebot::config::{AnswerSettings, ContentSettings, Settings};
use articlebot::content::{self, Format, Loaded};
use articlebot::library::Library;
use articlebot::text;

use crate::measures::{
    bootstrap_ci95, mean, rank_with_random_ties, Accumulator, Measure, SplitMix64,
};
use crate::reading;
use crate::related;
use crate::wikiqa::{parse_wikiqa, Dataset, Document};

/// The benchmarks `eval` knows.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Benchmark {
    /// WikiQA answer-sentence selection (MAP, MRR) and pooled document accuracy @1/@5
    Wikiqa {
        /// The WikiQA TSV file (QuestionID, Question, DocumentID, DocumentTitle, SentenceID,
        /// Sentence, Label)
        file: PathBuf,
    },
    /// `related` against human document-similarity judgements (NDCG@5, TF-IDF baseline,
    /// development and untouched halves)
    Related {
        /// The similarity set (JSON: documents with id, title, text, optional tags; judgements
        /// with a, b, score)
        file: PathBuf,
        /// Also measure a grid of vector weights (title weight × terms kept) on both halves,
        /// and with --embeddings a grid of dense weights and article vectors
        #[arg(long)]
        grid: bool,
        #[command(flatten)]
        dense: DenseArgs,
    },
    /// `ask` on a reading-comprehension set with answer spans in whole articles (answer in
    /// the top excerpt @1/@3, article@1, excerpt length; BM25 baselines over 1-, 2- and
    /// 3-sentence windows and paragraphs; development and untouched halves)
    Reading {
        /// The set, in SQuAD v1.1/v2.0 JSON (data[].title, paragraphs[].context,
        /// qas[].question, qas[].answers[].text); the paragraphs of one title are one article
        file: PathBuf,
        /// Which half's questions to ask: choose weights with `development` only
        #[arg(long, value_enum, default_value = "both")]
        half: reading::Half,
        #[command(flatten)]
        dense: DenseArgs,
        /// With --embeddings: also measure these dense weights for ask (comma-separated)
        #[arg(long, value_delimiter = ',', value_name = "W,…")]
        ask_weights: Vec<f32>,
    },
}

/// The optional sentence-embedding layer for `related` and `reading` (a build with
/// `--features embeddings`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DenseArgs {
    /// A local sentence-embedding model folder (config.json, tokenizer.json,
    /// model.safetensors): the commands use the embedding layer, and the same run reports
    /// them without it [default: the config's embeddings.model_dir]
    #[arg(long, value_name = "DIR")]
    pub embeddings: Option<PathBuf>,
    /// The dense weight (0-1) instead of the chosen default (related's or ask's)
    #[arg(long, value_name = "W")]
    pub dense_weight: Option<f32>,
    /// What an article's vector is made of: `passages` (their mean) or `head` (title and
    /// start of the body)
    #[arg(long, value_name = "KIND")]
    pub article_vector: Option<String>,
}

/// The seed of every random tie-break.
pub const SEED: u64 = 0x5eed_2015;

/// A document as indexed: its slug, its paragraph and the byte range of each labelled
/// sentence in the paragraph (empty for a sentence with no text).
struct Indexed {
    slug: String,
    paragraph: String,
    spans: Vec<Range<usize>>,
}

fn slug_of(doc_id: &str) -> String {
    text::slugify(doc_id)
}

/// The paragraph of a document and where each sentence stands in it.
fn paragraph(doc: &Document) -> (String, Vec<Range<usize>>) {
    let mut p = String::new();
    let mut spans = Vec::new();
    for s in &doc.sentences {
        let clean = text::clean_whitespace(s);
        if clean.is_empty() {
            spans.push(p.len()..p.len());
            continue;
        }
        if !p.is_empty() {
            p.push(' ');
        }
        spans.push(p.len()..p.len() + clean.len());
        p.push_str(&clean);
    }
    (p, spans)
}

/// Builds the in-memory library of every document, through the content parser and indexer.
fn build_library(
    settings: &ContentSettings,
    data: &Dataset,
) -> anyhow::Result<(Library, Vec<Indexed>)> {
    let mut loaded = Loaded::default();
    let mut indexed = Vec::new();
    for doc in &data.documents {
        let (para, spans) = paragraph(doc);
        let title = text::clean_whitespace(&doc.title);
        let title = if title.is_empty() {
            doc.id.clone()
        } else {
            title
        };
        let rel = PathBuf::from(format!("{}.txt", doc.id));
        let source = format!("{title}\n\n{para}\n");
        let article = content::parse_article(settings, &rel, Format::PlainText, &source)
            .map_err(|w| anyhow::anyhow!("document {}: {w}", doc.id))?;
        indexed.push(Indexed {
            slug: article.slug.clone(),
            paragraph: para,
            spans,
        });
        loaded.articles.push(article);
    }
    let lib = Library::from_loaded(settings, loaded)?;
    for (doc, ix) in data.documents.iter().zip(&indexed) {
        if lib.by_slug(&ix.slug).is_none() {
            bail!("document {} is missing from the library", doc.id);
        }
        debug_assert_eq!(ix.slug, slug_of(&doc.id));
    }
    Ok((lib, indexed))
}

/// 95% bootstrap intervals of our figures over the answered questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intervals {
    pub map: [f64; 2],
    pub mrr: [f64; 2],
    pub doc_acc_at_1: [f64; 2],
}

/// The baselines' figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baselines {
    pub word_count: Measure,
    pub idf_word_count: Measure,
}

/// MAP, MRR and document accuracy@1 of the answered questions of one half.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HalfFigures {
    pub questions: usize,
    pub map: f64,
    pub mrr: f64,
    pub doc_acc_at_1: f64,
    pub map_ci95: [f64; 2],
}

/// The answered questions split in two fixed halves by the hash of their id: weights may be
/// chosen on the development half only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Halves {
    pub development: HalfFigures,
    pub untouched: HalfFigures,
}

/// The fixed half a WikiQA question belongs to: development (true) or untouched, by the first
/// byte of blake3 of its id.
pub fn is_development(question_id: &str) -> bool {
    blake3::hash(question_id.as_bytes()).as_bytes()[0].is_multiple_of(2)
}

/// Everything `eval wikiqa` reports (serializes as the documented JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Questions with at least one answer sentence (those MAP and MRR are over).
    pub questions: usize,
    pub map: f64,
    pub mrr: f64,
    /// Over the same questions, each asked against the whole pooled collection.
    pub doc_acc_at_1: f64,
    pub doc_acc_at_5: f64,
    pub baselines: Baselines,
    /// 95% bootstrap intervals of `map`, `mrr` and `doc_acc_at_1`.
    pub ci95: Intervals,
    /// The same figures on the development and the untouched half of the answered questions.
    pub halves: Halves,
    /// Document accuracy over every question of the file, answered or not.
    pub all_questions_doc_acc_at_1: f64,
    pub all_questions_doc_acc_at_5: f64,
    #[serde(skip)]
    pub all_questions: usize,
    #[serde(skip)]
    pub documents: usize,
}

/// Lower-cased non-stop words of `s` (the baselines' unit: words, not stems).
fn content_words(s: &str) -> HashSet<String> {
    text::tokenize(s)
        .into_iter()
        .map(|t| t.lower)
        .filter(|w| !text::is_stop_word(w))
        .collect()
}

/// Runs the whole evaluation on a parsed data set.
pub fn evaluate(content: &ContentSettings, data: &Dataset) -> anyhow::Result<Report> {
    let (lib, indexed) = build_library(content, data)?;

    // Baselines: IDF over the sentences of the file (each distinct sentence one document).
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut n_sentences = 0usize;
    let doc_words: Vec<Vec<HashSet<String>>> = data
        .documents
        .iter()
        .map(|d| d.sentences.iter().map(|s| content_words(s)).collect())
        .collect();
    for words in doc_words.iter().flatten() {
        n_sentences += 1;
        for w in words {
            *df.entry(w.clone()).or_default() += 1;
        }
    }
    let idf = |w: &str| {
        let d = df.get(w).copied().unwrap_or(0) as f64;
        ((n_sentences as f64 + 1.0) / (d + 1.0)).ln()
    };

    let mut ours = Accumulator::default();
    let mut wc = Accumulator::default();
    let mut iwc = Accumulator::default();
    let mut rng_ours = SplitMix64::new(SEED);
    let mut rng_wc = SplitMix64::new(SEED ^ 1);
    let mut rng_iwc = SplitMix64::new(SEED ^ 2);
    // Per answered question, in order: whether it is of the development half.
    let mut dev: Vec<bool> = Vec::new();
    for q in data.questions.iter().filter(|q| q.answered()) {
        dev.push(is_development(&q.id));
        let ix = &indexed[q.document];
        let id = lib.by_slug(&ix.slug).context("indexed document")?;
        let scores = sentence_scores(&lib, &q.text, id, ix)?;
        let order = rank_with_random_ties(&scores, &mut rng_ours);
        ours.add(&order, &q.labels);

        let qwords = content_words(&q.text);
        let words = &doc_words[q.document];
        let count: Vec<f64> = words
            .iter()
            .map(|s| qwords.iter().filter(|w| s.contains(*w)).count() as f64)
            .collect();
        let weighted: Vec<f64> = words
            .iter()
            .map(|s| {
                qwords
                    .iter()
                    .filter(|w| s.contains(*w))
                    .map(|w| idf(w))
                    .sum()
            })
            .collect();
        wc.add(&rank_with_random_ties(&count, &mut rng_wc), &q.labels);
        iwc.add(&rank_with_random_ties(&weighted, &mut rng_iwc), &q.labels);
    }

    // Document accuracy: `ask` over the whole collection, the distinct articles of its
    // results in order. Ten results with at most two per article name at least five articles.
    let settings = AnswerSettings {
        results: 10,
        ..AnswerSettings::default()
    };
    // [all questions, answered questions] × [@1, @5]
    let mut hits = [[0usize; 2]; 2];
    // 1.0 or 0.0 per answered question: its document first.
    let mut first: Vec<f64> = Vec::new();
    for q in data.questions.iter() {
        let answer = answer::execute(
            &lib,
            &settings,
            &Command::Ask {
                question: q.text.clone(),
                scope: Scope::Collection,
            },
        )?;
        let Answer::Ask(a) = answer else {
            bail!("ask gave an unexpected answer");
        };
        let mut slugs: Vec<&str> = Vec::new();
        for r in &a.results {
            if !slugs.contains(&r.slug.as_str()) {
                slugs.push(&r.slug);
            }
        }
        let want = indexed[q.document].slug.as_str();
        if q.answered() {
            first.push(f64::from(u8::from(slugs.first() == Some(&want))));
        }
        if let Some(pos) = slugs.iter().position(|s| *s == want) {
            for (set, counts) in hits.iter_mut().enumerate() {
                if set == 0 || q.answered() {
                    counts[0] += usize::from(pos == 0);
                    counts[1] += usize::from(pos < 5);
                }
            }
        }
    }
    let n_all = data.questions.len().max(1) as f64;
    let n = ours.ap.len().max(1) as f64;
    let m = ours.measure();
    let mut rng = SplitMix64::new(SEED ^ 3);
    let ci95 = Intervals {
        map: bootstrap_ci95(&ours.ap, &mut rng),
        mrr: bootstrap_ci95(&ours.rr, &mut rng),
        doc_acc_at_1: bootstrap_ci95(&first, &mut rng),
    };
    let mut half = |want: bool| {
        let pick = |values: &[f64]| -> Vec<f64> {
            values
                .iter()
                .zip(&dev)
                .filter(|(_, &d)| d == want)
                .map(|(&v, _)| v)
                .collect()
        };
        let ap = pick(&ours.ap);
        HalfFigures {
            questions: ap.len(),
            map: mean(&ap),
            mrr: mean(&pick(&ours.rr)),
            doc_acc_at_1: mean(&pick(&first)),
            map_ci95: bootstrap_ci95(&ap, &mut rng),
        }
    };
    let halves = Halves {
        development: half(true),
        untouched: half(false),
    };
    Ok(Report {
        questions: ours.ap.len(),
        map: m.map,
        mrr: m.mrr,
        doc_acc_at_1: hits[1][0] as f64 / n,
        doc_acc_at_5: hits[1][1] as f64 / n,
        all_questions_doc_acc_at_1: hits[0][0] as f64 / n_all,
        all_questions_doc_acc_at_5: hits[0][1] as f64 / n_all,
        baselines: Baselines {
            word_count: wc.measure(),
            idf_word_count: iwc.measure(),
        },
        ci95,
        halves,
        all_questions: data.questions.len(),
        documents: data.documents.len(),
    })
}

/// Our score of each labelled sentence of a document: the score of the sentence of ours that
/// overlaps it most (`-inf` for a sentence with no text).
fn sentence_scores(
    lib: &Library,
    question: &str,
    id: u32,
    ix: &Indexed,
) -> anyhow::Result<Vec<f64>> {
    let ranked = answer::rank_article_sentences(lib, question, id)?;
    // Where each block of the article starts in the paragraph.
    let mut offsets: HashMap<(u32, usize), usize> = HashMap::new();
    let mut cursor = 0usize;
    for pid in lib.passages_of(id) {
        for (bi, b) in lib.passage_blocks(pid).iter().enumerate() {
            let at = ix.paragraph[cursor..]
                .find(b.text.as_str())
                .map(|i| cursor + i)
                .with_context(|| {
                    format!(
                        "article {}: a block's text is not in the paragraph",
                        ix.slug
                    )
                })?;
            offsets.insert((pid, bi), at);
            cursor = at + b.text.len();
        }
    }
    let mut best: Vec<(usize, f64)> = vec![(0, f64::NEG_INFINITY); ix.spans.len()];
    for r in &ranked {
        let base = offsets[&(r.passage, r.block)];
        let ours = base + r.range.start..base + r.range.end;
        for (i, span) in ix.spans.iter().enumerate() {
            let overlap = ours
                .end
                .min(span.end)
                .saturating_sub(ours.start.max(span.start));
            if overlap > best[i].0 {
                best[i] = (overlap, f64::from(r.score));
            }
        }
    }
    Ok(best.into_iter().map(|(_, s)| s).collect())
}

/// `articlebot-eval …`: runs a benchmark and prints its figures. Errors (an unreadable or
/// malformed file) name the file and line; `main` turns them into exit code 2.
pub fn run(
    benchmark: &Benchmark,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let content = &settings.content;
    let read = |file: &PathBuf| {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
    };
    match benchmark {
        Benchmark::Wikiqa { file } => {
            let data = parse_wikiqa(file, &read(file)?)?;
            let report = evaluate(content, &data)?;
            if json {
                serde_json::to_writer(&mut *out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", render(&report))?;
            }
        }
        Benchmark::Reading {
            file,
            half,
            dense,
            ask_weights,
        } => {
            let set = reading::parse_reading(file, &read(file)?)?;
            let dense = crate::dense::Dense::resolve(dense, settings)?;
            let report = reading::evaluate(content, &set, *half, dense.as_ref(), ask_weights)?;
            if json {
                serde_json::to_writer(&mut *out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", reading::render(&report))?;
            }
        }
        Benchmark::Related { file, grid, dense } => {
            let set = related::parse_similarity(file, &read(file)?)?;
            let dense = crate::dense::Dense::resolve(dense, settings)?;
            let report = related::evaluate(content, &set, *grid, dense.as_ref())?;
            if json {
                serde_json::to_writer(&mut *out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", related::render(&report))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The report as a table.
pub fn render(r: &Report) -> String {
    let b = &r.baselines;
    format!(
        "WikiQA: {q} questions with an answer sentence ({all} questions, {docs} documents)\n\
         \n\
         answer-sentence selection      MAP     MRR\n\
         articlebot (ask --article)  {map:.4}  {mrr:.4}  (95% intervals {ml:.3}-{mh:.3}, {rl:.3}-{rh:.3})\n\
         word count                  {wm:.4}  {wr:.4}\n\
         IDF-weighted word count     {im:.4}  {ir:.4}\n\
         (exact ties broken at random, seed {SEED:#x}; intervals: bootstrap over questions)\n\
         \n\
         right document, pooled collection:\n\
         \x20 the {q} questions above   @1 {a1:.4}  @5 {a5:.4}  (@1 95% interval {al:.3}-{ah:.3})\n\
         \x20 all {all} questions       @1 {b1:.4}  @5 {b5:.4}\n\
         \n\
         halves of the {q} (by blake3 of the question id)  questions  MAP     MRR     document@1\n\
         \x20 development                                   {dq:>5}      {dm:.4}  {dr:.4}  {dd:.4}  (MAP 95% interval {dml:.3}-{dmh:.3})\n\
         \x20 untouched                                     {uq:>5}      {um:.4}  {ur:.4}  {ud:.4}  (MAP 95% interval {uml:.3}-{umh:.3})\n",
        q = r.questions,
        all = r.all_questions,
        docs = r.documents,
        map = r.map,
        mrr = r.mrr,
        wm = b.word_count.map,
        wr = b.word_count.mrr,
        im = b.idf_word_count.map,
        ir = b.idf_word_count.mrr,
        a1 = r.doc_acc_at_1,
        ml = r.ci95.map[0],
        mh = r.ci95.map[1],
        rl = r.ci95.mrr[0],
        rh = r.ci95.mrr[1],
        al = r.ci95.doc_acc_at_1[0],
        ah = r.ci95.doc_acc_at_1[1],
        a5 = r.doc_acc_at_5,
        b1 = r.all_questions_doc_acc_at_1,
        b5 = r.all_questions_doc_acc_at_5,
        dq = r.halves.development.questions,
        dm = r.halves.development.map,
        dr = r.halves.development.mrr,
        dd = r.halves.development.doc_acc_at_1,
        dml = r.halves.development.map_ci95[0],
        dmh = r.halves.development.map_ci95[1],
        uq = r.halves.untouched.questions,
        um = r.halves.untouched.map,
        ur = r.halves.untouched.mrr,
        ud = r.halves.untouched.doc_acc_at_1,
        uml = r.halves.untouched.map_ci95[0],
        umh = r.halves.untouched.map_ci95[1],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::average_precision;

    #[test]
    fn bootstrap_interval_brackets_the_mean() {
        let mut rng = SplitMix64::new(SEED);
        let [lo, hi] = bootstrap_ci95(&[0.7; 50], &mut rng);
        assert!(
            (lo - 0.7).abs() < 1e-12 && (hi - 0.7).abs() < 1e-12,
            "{lo} {hi}"
        );
        // 400 coin flips, half heads: the mean's standard error is 0.025, so the interval is
        // about 0.45-0.55.
        let flips: Vec<f64> = (0..400).map(|i| f64::from(i % 2 == 0)).collect();
        let [lo, hi] = bootstrap_ci95(&flips, &mut rng);
        assert!(lo < 0.5 && 0.5 < hi, "{lo} {hi}");
        assert!(
            (0.43..0.47).contains(&lo) && (0.53..0.57).contains(&hi),
            "{lo} {hi}"
        );
        assert_eq!(bootstrap_ci95(&[], &mut rng), [0.0, 0.0]);
    }

    #[test]
    fn average_precision_arithmetic() {
        // Answer at rank 2: AP 0.5, RR 0.5.
        assert_eq!(
            average_precision(&[0, 1, 2], &[false, true, false]),
            Some((0.5, 0.5))
        );
        // Answers at ranks 1 and 3: AP (1 + 2/3) / 2, RR 1.
        let (ap, rr) = average_precision(&[2, 0, 1], &[false, true, true]).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(rr, 1.0);
        assert_eq!(average_precision(&[0, 1], &[false, false]), None);
    }

    #[test]
    fn ties_are_random_but_seeded() {
        let scores = [1.0; 16];
        let a = rank_with_random_ties(&scores, &mut SplitMix64::new(7));
        let b = rank_with_random_ties(&scores, &mut SplitMix64::new(7));
        let c = rank_with_random_ties(&scores, &mut SplitMix64::new(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..16).collect::<Vec<_>>());
        // Scores still order.
        let order = rank_with_random_ties(&[0.1, 0.9, 0.5], &mut SplitMix64::new(1));
        assert_eq!(order, [1, 2, 0]);
    }

    #[test]
    fn paragraph_spans() {
        let doc = Document {
            id: "D1".into(),
            title: "T".into(),
            sentences: vec!["A  b.".into(), "".into(), "C d.".into()],
        };
        let (p, spans) = paragraph(&doc);
        assert_eq!(p, "A b. C d.");
        assert_eq!(spans, [0..4, 4..4, 5..9]);
    }
}
