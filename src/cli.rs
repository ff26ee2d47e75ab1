//! The command-line front end and the owner of the process: arguments (clap), settings,
//! logging, exit codes and, for the servers, the async runtime and signals (`serve`). Runs
//! one command and turns the outcome into an exit code; `chat` (`chat`, `session`) is the
//! Discord experience in a terminal.
//!
//! Exit codes: 0 answered, 1 nothing found or content rejected, 2 usage or configuration
//! error ([`Failure::Usage`]), 3 a failure while running ([`Failure::Run`]).

mod chat;
mod curate;
mod logs;
mod progress;
mod serve;
mod session;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::answer::{Answer, Command, Engine, Scope};
use crate::config::{Overrides, Settings, StateSettings};
use crate::library::{BuildProgress, Library, OpenMode};
use crate::render::{self, Style};

/// Exit code: answered.
pub const EXIT_OK: u8 = 0;
/// Exit code: nothing found, or content rejected (`check`).
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit code: usage or configuration error (arguments, config file, content or index folder,
/// token, key).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a failure while running (I/O such as a full disk, the index, the network).
pub const EXIT_FAILURE: u8 = 3;

/// Answers questions about a collection of articles, from a terminal or on Discord.
#[derive(Debug, Parser)]
#[command(
    name = "articlebot",
    version,
    about,
    long_about = None,
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// Configuration file [default: ./config.toml, optional]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// Article folder (overrides content.dir)
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub content: Option<PathBuf>,
    /// Index folder, or `memory` for an in-memory index (overrides index.dir)
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub index: Option<String>,
    /// Print answers as JSON (one object; one per input line in `chat`)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// Log lines on stderr as text, or as one JSON object each (for a log collector)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT",
          env = "ARTICLEBOT_LOG_FORMAT", help_heading = GLOBAL)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Cmd,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    // Plain comments: per-value help would turn every `--help` into the long format.
    // One line of text per event.
    Text,
    // One JSON object per line: timestamp, level, target, fields (message included).
    Json,
}

/// The heading the options every command takes are listed under.
const GLOBAL: &str = "Global options";

/// The exit codes, as `--help` lists them.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  answered
  1  nothing found, or content rejected (check)
  2  usage or configuration error (arguments, config file, content folder, token, key)
  3  failure while running (I/O such as a full disk, the index, the network)";

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Answer a question with the best passages and the top article's takeaways
    Ask {
        /// The question (several words may be given without quotes)
        #[arg(required = true, num_args = 1..)]
        question: Vec<String>,
        /// Only search this article: slug, title or alias; takes the words up to the next
        /// option (`ask how big --article rain barrel`)
        #[arg(long, value_name = "ARTICLE", num_args = 1..)]
        article: Option<Vec<String>>,
    },
    /// List the articles that match, a page at a time
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["query", "tag"])))]
    Search {
        /// Words to search for (may be left out with --tag)
        #[arg(num_args = 0..)]
        query: Vec<String>,
        /// Page number, from 1
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        page: u32,
        /// Only articles with this tag
        #[arg(long)]
        tag: Option<String>,
    },
    /// The summary of an article
    Summary {
        /// Slug, title or alias (several words need no quotes)
        #[arg(required = true, num_args = 1..)]
        article: Vec<String>,
    },
    /// The takeaways of an article, with their links
    Takeaways {
        /// Slug, title or alias (several words need no quotes)
        #[arg(required = true, num_args = 1..)]
        article: Vec<String>,
    },
    /// Look an article up by slug, title or alias (typos tolerated)
    Article {
        /// Slug, title or alias, typos tolerated (several words need no quotes)
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
    },
    /// The articles most similar to one
    Related {
        /// Slug, title or alias (several words need no quotes)
        #[arg(required = true, num_args = 1..)]
        article: Vec<String>,
    },
    /// Build the index (or reuse it when the content has not changed)
    Index {
        /// Rebuild even when the content has not changed
        #[arg(long)]
        rebuild: bool,
    },
    /// Check the content: list every rejected file with the reason; exit 1 if any
    Check,
    /// Fetch the feed, sitemap and git sources of config.toml into their folders; exit 1 if
    /// one failed (it keeps its last good articles)
    Sync,
    /// Ask questions interactively; `/help` lists the commands
    Chat,
    /// Curated answers: pin an article to a question (as /curate does on Discord)
    Curate {
        #[command(subcommand)]
        action: curate::CurateCmd,
    },
    /// Run the Discord bot over the gateway (token from DISCORD_TOKEN, see discord.token_env)
    Serve {
        /// Also serve GET /metrics (Prometheus) and GET /healthz on this address
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
    },
    /// Serve Discord interactions over HTTP (the application's Interactions Endpoint URL)
    ServeHttp {
        /// Address to listen on (overrides http.listen)
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The application's public key in hex (overrides DISCORD_PUBLIC_KEY and http.public_key)
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
}

/// Why a command could not run; the variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The arguments, the config file, a folder named by them, or the environment (token,
    /// key) are wrong: exit [`EXIT_USAGE`].
    #[error(transparent)]
    Usage(anyhow::Error),
    /// Something failed while running (I/O such as a full disk, the index, the network):
    /// exit [`EXIT_FAILURE`].
    #[error(transparent)]
    Run(#[from] anyhow::Error),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Run(_) => EXIT_FAILURE,
        }
    }
}

/// Sorts an error from opening the library: a refused index folder is the user's to fix
/// (exit 2); anything else failed while running (exit 3).
fn classify(e: anyhow::Error) -> Failure {
    if e.downcast_ref::<crate::library::IndexFolderError>()
        .is_some()
    {
        Failure::Usage(e)
    } else {
        Failure::Run(e)
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    // Servers report start-up, reloads and shutdown; one-shot commands only what went wrong.
    let default_level = match cli.command {
        Cmd::Serve { .. } | Cmd::ServeHttp { .. } => "info",
        _ => "warn",
    };
    init_tracing(default_level, cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let (Failure::Usage(e) | Failure::Run(e)) = &failure;
            eprintln!("error: {e:#}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Sets up logging to stderr, filtered by `RUST_LOG` (else `default`). Colours only when
/// stderr is a terminal and `NO_COLOR` is unset (<https://no-color.org>), so logs redirected
/// to a file or a service's journal carry no escape codes.
///
/// Whatever the filter, no token reaches the log: every line is redacted, and serenity's
/// targets that quote whole gateway payloads are held to errors (see `cli::logs`).
///
/// `LogFormat::Json` writes one JSON object per event (tracing-subscriber's JSON formatter),
/// through the same redacting writer.
pub fn init_tracing(default: &str, format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(default)));
    for quiet in logs::QUIET_TARGETS {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(logs::Redacting);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(colour_logs(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// The log filter without `RUST_LOG`: `level` for everything but tantivy, whose INFO lines (one
/// per segment commit and merge) say nothing a user can act on. `RUST_LOG` replaces all of
/// it, so `RUST_LOG=info` shows them again.
fn default_filter(level: &str) -> String {
    format!("{level},tantivy=warn")
}

/// Whether logs are coloured: on a terminal, unless `NO_COLOR` holds a non-empty value.
fn colour_logs(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Loads the settings the global options name, and checks that the content folder they name
/// is there: both are the user's to fix (exit 2).
pub fn settings(cli: &Cli) -> Result<Settings, Failure> {
    let overrides = Overrides {
        content: cli.content.clone(),
        index: cli.index.clone(),
    };
    let settings = match &cli.config {
        Some(path) => Settings::load(path, &overrides),
        None => Settings::load_or_defaults(std::path::Path::new("config.toml"), &overrides),
    }
    .map_err(Failure::Usage)?;
    let mut settings = settings;
    if settings.state.url.is_none() {
        if let Some(url) = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            settings.state =
                StateSettings::with_url(&url, "DATABASE_URL").map_err(Failure::Usage)?;
        }
    }
    // A synced source's folder appears with its first sync; any other must be there.
    for folder in settings.content.folders().iter().filter(|f| !f.synced) {
        let dir = &folder.dir;
        if !dir.is_dir() {
            let whose = if folder.prefix.is_empty() {
                "content.dir in the config, or --content DIR".to_string()
            } else {
                format!("the folder of source {:?} in the config", folder.prefix)
            };
            return Err(Failure::Usage(anyhow::anyhow!(
                "content folder {} {} ({whose})",
                dir.display(),
                if dir.exists() {
                    "is not a folder"
                } else {
                    "does not exist"
                }
            )));
        }
    }
    Ok(settings)
}

fn progress(cli: &Cli) -> progress::Bar {
    progress::Bar::new(cli.json)
}

/// Opens the library for a command. Rejected files are warned about one by one when the
/// library is built, and in one line when a persisted one is reused (the build warned about
/// them already, and `check` lists them); an empty content folder is named as the problem.
pub fn open_library(
    settings: &Settings,
    mode: OpenMode,
    progress: &dyn BuildProgress,
) -> Result<Library, Failure> {
    #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
    let mut lib = Library::open(settings, mode, progress).map_err(classify)?;
    #[cfg(feature = "embeddings")]
    crate::embed::attach(settings, &mut lib, None).map_err(classify)?;
    report_content(settings, &lib);
    Ok(lib)
}

/// Warns about the content: rejected files (one by one after a build, in one line when the
/// index was reused) and an empty content folder.
fn report_content(settings: &Settings, lib: &Library) {
    let rejected = lib.rejected();
    if lib.info.reused {
        if rejected > 0 {
            tracing::warn!("{rejected} file(s) rejected: run `articlebot check` for the reasons");
        }
    } else {
        for w in lib.warnings.iter().filter(|w| w.rejected) {
            tracing::warn!("{w}");
        }
    }
    if lib.articles.is_empty() && rejected == 0 {
        tracing::warn!(
            "content folder {} holds no .md/.txt articles",
            settings.content.dir.display()
        );
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let settings = settings(&cli)?;
    if let Ok(token) = std::env::var(&settings.discord.token_env) {
        logs::keep_secret(&token);
    }
    if let Some(password) = settings
        .state
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.password().map(str::to_string))
    {
        logs::keep_secret(&password);
    }
    let command = match &cli.command {
        Cmd::Ask { question, article } => Command::Ask {
            question: question.join(" "),
            scope: article
                .as_ref()
                .map_or(Scope::Collection, |words| Scope::Article(words.join(" "))),
        },
        Cmd::Search { query, page, tag } => Command::Search {
            query: query.join(" "),
            page: *page as usize,
            tag: tag.clone(),
        },
        Cmd::Summary { article } => Command::Summary {
            article: article.join(" "),
        },
        Cmd::Takeaways { article } => Command::Takeaways {
            article: article.join(" "),
        },
        Cmd::Article { query } => Command::Article {
            query: query.join(" "),
        },
        Cmd::Related { article } => Command::Related {
            article: article.join(" "),
        },
        Cmd::Index { rebuild } => return index(&cli, &settings, *rebuild),
        Cmd::Check => return check(&cli, &settings),
        Cmd::Curate { action } => return curate::run(&cli, &settings, action),
        Cmd::Sync => return sync(&cli, &settings),
        Cmd::ServeHttp { listen, public_key } => {
            return serve::http(
                &settings,
                listen.as_deref(),
                public_key.as_deref(),
                &progress(&cli),
            )
        }
        Cmd::Serve { metrics } => {
            return serve::gateway(&settings, metrics.as_deref(), &progress(&cli))
        }
        Cmd::Chat => {
            let lib = open_library(&settings, OpenMode::Reuse, &progress(&cli))?;
            let engine = Engine::new(lib, settings.answer.clone());
            return Ok(chat::run(&engine, &settings.conversation, cli.json)?);
        }
    };
    let lib = open_library(&settings, OpenMode::Reuse, &progress(&cli))?;
    let engine = Engine::new(lib, settings.answer.clone());
    let answer = engine.execute(&command)?;
    print_answer(&answer, cli.json, &mut std::io::stdout())?;
    // The process exits next: freeing a large library piece by piece would only delay the
    // exit (a fifth of a one-shot `ask` at 10k articles). Nothing in it needs flushing.
    std::mem::forget(engine);
    Ok(if answer.found() {
        EXIT_OK
    } else {
        EXIT_NOT_FOUND
    })
}

/// An answer's JSON document: its own fields plus `kind` (what it is: answer, summary,
/// takeaways, facts, list, related, not_found), the same word the conversation layer uses.
pub(crate) fn answer_json(answer: &Answer) -> serde_json::Value {
    let mut value = serde_json::to_value(answer).unwrap_or_default();
    if let serde_json::Value::Object(fields) = &mut value {
        let kind = serde_json::to_value(crate::conversation::kind_of(answer)).unwrap_or_default();
        fields.insert("kind".into(), kind);
    }
    value
}

fn print_answer(answer: &Answer, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &answer_json(answer))?;
        writeln!(out)?;
    } else {
        let style = if std::io::stdout().is_terminal() {
            Style::Ansi
        } else {
            Style::Plain
        };
        write!(out, "{}", render::text(answer, style))?;
    }
    out.flush()?;
    Ok(())
}

#[derive(serde::Serialize)]
struct IndexReport<'a> {
    articles: usize,
    passages: usize,
    rejected: usize,
    reused: bool,
    millis: u128,
    fingerprint: &'a str,
}

fn index(cli: &Cli, settings: &Settings, rebuild: bool) -> Result<u8, Failure> {
    let mode = if rebuild {
        OpenMode::Rebuild
    } else {
        OpenMode::Reuse
    };
    let lib = open_library(settings, mode, &progress(cli))?;
    let report = IndexReport {
        articles: lib.articles.len(),
        passages: lib.passages.len(),
        rejected: lib.rejected(),
        reused: lib.info.reused,
        millis: lib.info.took.as_millis(),
        fingerprint: &lib.info.fingerprint,
    };
    if cli.json {
        println!(
            "{}",
            serde_json::to_string(&report).context("cannot write JSON")?
        );
    } else {
        println!(
            "{} {} article(s), {} passage(s) in {} ms ({} file(s) rejected)",
            if report.reused {
                "reused the index of"
            } else {
                "indexed"
            },
            report.articles,
            report.passages,
            report.millis,
            report.rejected
        );
    }
    Ok(EXIT_OK)
}

/// `sync`: fetches every synced source (the next start, `index` or `/reload` reads them).
fn sync(cli: &Cli, settings: &Settings) -> Result<u8, Failure> {
    if settings.sources.synced().next().is_none() {
        return Err(Failure::Usage(anyhow::anyhow!(
            "no feed, sitemap or git source to sync: add [[sources]] tables to config.toml"
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(crate::sources::sync_all(
        &settings.sources,
        &crate::sources::Limits::of(&settings.sources.sync),
    ));
    if cli.json {
        println!(
            "{}",
            serde_json::to_string(&report).context("cannot write JSON")?
        );
    } else {
        print!("{}", render::sync_report(&report));
    }
    Ok(if report.failed().next().is_some() {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}

#[derive(serde::Serialize)]
struct CheckJson<'a> {
    articles: usize,
    rejected: usize,
    warnings: &'a [crate::content::Warning],
}

fn check(cli: &Cli, settings: &Settings) -> Result<u8, Failure> {
    let report = crate::library::CheckReport::run(&settings.content)?;
    if cli.json {
        let json = CheckJson {
            articles: report.articles,
            rejected: report.rejected(),
            warnings: &report.warnings,
        };
        println!(
            "{}",
            serde_json::to_string(&json).context("cannot write JSON")?
        );
    } else {
        print!("{}", render::check_report(&report));
    }
    Ok(if report.rejected() > 0 {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colour_logs(true, None));
        assert!(
            colour_logs(true, Some("".into())),
            "an empty NO_COLOR counts as unset"
        );
        assert!(!colour_logs(true, Some("1".into())));
        assert!(!colour_logs(false, None));
    }
}
