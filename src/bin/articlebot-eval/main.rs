//! `articlebot-eval`: answer quality measured on public benchmarks, a research tool kept out
//! of the product binary. `articlebot-eval wikiqa FILE` measures the excerpt selection and
//! retrieval of `ask` on the WikiQA answer-sentence benchmark (MAP, MRR, pooled document
//! accuracy), next to two baselines computed in the same run; `articlebot-eval related FILE`
//! measures `related` against human document-similarity judgements (NDCG@5, beside TF-IDF
//! cosine, on a development and an untouched half); `articlebot-eval reading FILE` measures
//! `ask`'s excerpts on a reading-comprehension set whose answers are spans of whole articles
//! (answer in the top excerpt, beside BM25 over sentence windows and paragraphs, on a
//! development and an untouched half).
//!
//! Every document of the file becomes a plain-text article (title line, then its sentences as
//! one paragraph) parsed by `content::parse_article` and indexed by `Library::from_loaded`: the
//! same code as `content/`. Sentences are ranked by `answer::rank_article_sentences`, the
//! ranking `ask QUESTION --article SLUG` shows its excerpts from; our sentence splitter may
//! cut differently from the labels, so each labelled sentence takes the score of the sentence
//! of ours it overlaps most. Exact ties (in our scores and the baselines') are broken at random
//! with a fixed seed, so no position information enters except what the scorer itself uses.
//!
//! Modules: [`wikiqa`] reads the file, [`measures`] holds the arithmetic, [`evaluate`] runs
//! the evaluation and renders the report, [`related`] is the `related` benchmark, [`reading`]
//! the reading-comprehension one.
//!
//! Exit codes: 0 measured, 2 usage error or an unreadable or malformed file or config.

mod dense;
mod evaluate;
mod measures;
mod reading;
mod related;
mod wikiqa;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use articlebot::config::{Overrides, Settings};

/// Measures answer quality on a public benchmark.
#[derive(Debug, Parser)]
#[command(name = "articlebot-eval", version, about, long_about = None)]
struct Cli {
    /// Configuration file whose content and index sections shape the articles [default:
    /// ./config.toml, optional]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print the figures as one JSON document
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    benchmark: evaluate::Benchmark,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let overrides = Overrides::default();
    let settings = match &cli.config {
        Some(path) => Settings::load(path, &overrides),
        None => Settings::load_or_defaults(std::path::Path::new("config.toml"), &overrides),
    };
    let result = settings.and_then(|settings| {
        evaluate::run(&cli.benchmark, &settings, cli.json, &mut std::io::stdout())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
