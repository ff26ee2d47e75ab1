//! The command-line front end: parses arguments (clap), builds the engine, runs one command
//! and turns the outcome into an exit code. `chat` is the Discord experience in a terminal.
//!
//! Exit codes: 0 answered, 1 nothing found or content rejected, 2 usage or configuration
//! error.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::answer::{Answer, Command, Engine, Scope};
use crate::config::{Overrides, Settings};
use crate::library::{BuildProgress, Library, OpenMode};
use crate::render::{self, Style};

mod progress;

/// Exit code: answered.
pub const EXIT_OK: u8 = 0;
/// Exit code: nothing found, or content rejected (`check`).
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// Answers questions about a collection of articles, from a terminal or on Discord.
#[derive(Debug, Parser)]
#[command(name = "articlebot", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file [default: ./config.toml, optional]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Article folder (overrides content.dir)
    #[arg(long, global = true, value_name = "DIR")]
    pub content: Option<PathBuf>,
    /// Index folder, or `memory` for an in-memory index (overrides index.dir)
    #[arg(long, global = true, value_name = "DIR")]
    pub index: Option<String>,
    /// Print answers as JSON (one object; one per line in `chat`)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Answer a question with the best passages and the top article's takeaways
    Ask {
        /// The question (several words may be given without quotes)
        #[arg(required = true, num_args = 1..)]
        question: Vec<String>,
        /// Only search this article (slug, title or alias)
        #[arg(long, value_name = "ARTICLE")]
        article: Option<String>,
    },
    /// List the articles that match, a page at a time
    Search {
        /// Words to search for (may be empty with --tag)
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
        /// Slug, title or alias
        #[arg(required = true, num_args = 1..)]
        article: Vec<String>,
    },
    /// The takeaways of an article, with their links
    Takeaways {
        #[arg(required = true, num_args = 1..)]
        article: Vec<String>,
    },
    /// Look an article up by slug, title or alias (typos tolerated)
    Article {
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
    },
    /// The articles most similar to one
    Related {
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
    /// Ask questions interactively; `/help` lists the commands
    Chat,
    /// Run the Discord bot over the gateway (token from DISCORD_TOKEN, see discord.token_env)
    Serve,
    /// Measure answer quality on a public benchmark (`eval wikiqa FILE`)
    Eval {
        #[command(subcommand)]
        benchmark: crate::eval::Benchmark,
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
        Cmd::Serve | Cmd::ServeHttp { .. } => "info",
        _ => "warn",
    };
    init_tracing(default_level);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Sets up logging to stderr, filtered by `RUST_LOG` (else `default`).
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads the settings the global options name.
pub fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let overrides = Overrides {
        content: cli.content.clone(),
        index: cli.index.clone(),
    };
    match &cli.config {
        Some(path) => Settings::load(path, true, &overrides),
        None => Settings::load(std::path::Path::new("config.toml"), false, &overrides),
    }
}

fn progress(cli: &Cli) -> progress::Bar {
    progress::Bar::new(cli.json)
}

/// Opens the library for a command, reporting rejected files as log warnings.
pub fn open_library(
    settings: &Settings,
    mode: OpenMode,
    progress: &dyn BuildProgress,
) -> anyhow::Result<Library> {
    let lib = Library::open(settings, mode, progress)?;
    for w in lib.warnings.iter().filter(|w| w.rejected) {
        tracing::warn!("{w}");
    }
    Ok(lib)
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let settings = settings(&cli)?;
    let command = match &cli.command {
        Cmd::Ask { question, article } => Command::Ask {
            question: question.join(" "),
            scope: article.clone().map_or(Scope::Collection, Scope::Article),
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
        Cmd::Eval { benchmark } => {
            return crate::eval::run(
                benchmark,
                &settings.content,
                cli.json,
                &mut std::io::stdout(),
            )
        }
        Cmd::ServeHttp { listen, public_key } => {
            return crate::http::run(
                &settings,
                listen.as_deref(),
                public_key.as_deref(),
                &progress(&cli),
            )
        }
        Cmd::Serve => return crate::discord::gateway::run_cli(&settings, &progress(&cli)),
        Cmd::Chat => {
            let lib = open_library(&settings, OpenMode::Reuse, &progress(&cli))?;
            let engine = Engine::new(lib, settings.answer.clone());
            return chat(
                &engine,
                cli.json,
                std::io::stdin().lock(),
                &mut std::io::stdout(),
            );
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

fn print_answer(answer: &Answer, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, answer)?;
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

fn index(cli: &Cli, settings: &Settings, rebuild: bool) -> anyhow::Result<u8> {
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
        println!("{}", serde_json::to_string(&report)?);
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

#[derive(serde::Serialize)]
struct CheckJson<'a> {
    articles: usize,
    rejected: usize,
    warnings: &'a [crate::content::Warning],
}

fn check(cli: &Cli, settings: &Settings) -> anyhow::Result<u8> {
    let report = crate::library::CheckReport::run(&settings.content)?;
    if cli.json {
        let json = CheckJson {
            articles: report.articles,
            rejected: report.rejected(),
            warnings: &report.warnings,
        };
        println!("{}", serde_json::to_string(&json)?);
    } else {
        print!("{}", render::check_report(&report));
    }
    Ok(if report.rejected() > 0 {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}

const CHAT_HELP: &str = "\
Type a question, or one of:
  /search WORDS        ranked articles (/search WORDS --page N, /search --tag T)
  /summary ARTICLE     the article's summary
  /takeaways ARTICLE   the article's takeaways
  /article NAME        an article card
  /related ARTICLE     similar articles
  /discuss ARTICLE     answer the next questions from this article first (/discuss alone stops)
  /help, /quit";

/// One line of chat, parsed.
#[derive(Debug, PartialEq, Eq)]
enum ChatLine {
    Run(Command),
    Discuss(Option<String>),
    Help,
    Quit,
    Empty,
    Unknown(String),
}

fn parse_chat(line: &str, focus: Option<&str>) -> ChatLine {
    let line = line.trim();
    if line.is_empty() {
        return ChatLine::Empty;
    }
    let Some(rest) = line.strip_prefix('/') else {
        return ChatLine::Run(Command::Ask {
            question: line.to_string(),
            scope: focus.map_or(Scope::Collection, |f| Scope::PreferArticle(f.to_string())),
        });
    };
    let (name, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let arg = arg.trim().to_string();
    match name {
        "search" => {
            let mut words = Vec::new();
            let mut page = 1;
            let mut tag = None;
            let mut it = arg.split_whitespace();
            while let Some(w) = it.next() {
                match w {
                    "--page" => page = it.next().and_then(|p| p.parse().ok()).unwrap_or(1),
                    "--tag" => tag = it.next().map(str::to_string),
                    _ => words.push(w),
                }
            }
            ChatLine::Run(Command::Search {
                query: words.join(" "),
                page,
                tag,
            })
        }
        "ask" => ChatLine::Run(Command::Ask {
            question: arg,
            scope: focus.map_or(Scope::Collection, |f| Scope::PreferArticle(f.to_string())),
        }),
        "summary" => ChatLine::Run(Command::Summary { article: arg }),
        "takeaways" => ChatLine::Run(Command::Takeaways { article: arg }),
        "article" => ChatLine::Run(Command::Article { query: arg }),
        "related" => ChatLine::Run(Command::Related { article: arg }),
        "discuss" => ChatLine::Discuss((!arg.is_empty()).then_some(arg)),
        "help" | "?" => ChatLine::Help,
        "quit" | "exit" | "q" => ChatLine::Quit,
        other => ChatLine::Unknown(other.to_string()),
    }
}

/// The interactive loop: reads lines from `input` until end of input or `/quit`.
pub fn chat(
    engine: &Engine,
    json: bool,
    input: impl BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let interactive = std::io::stdin().is_terminal() && !json;
    if interactive {
        writeln!(
            out,
            "articlebot chat — {} articles. /help for commands, /quit to leave.",
            engine.library().articles.len()
        )?;
    }
    let mut focus: Option<String> = None;
    let prompt = |out: &mut dyn Write, focus: &Option<String>| -> std::io::Result<()> {
        if interactive {
            match focus {
                Some(f) => write!(out, "[{f}] > ")?,
                None => write!(out, "> ")?,
            }
            out.flush()?;
        }
        Ok(())
    };
    prompt(out, &focus)?;
    for line in input.lines() {
        let line = line?;
        match parse_chat(&line, focus.as_deref()) {
            ChatLine::Run(cmd) => {
                let answer = engine.execute(&cmd)?;
                print_answer(&answer, json, out)?;
            }
            ChatLine::Discuss(None) => {
                focus = None;
                if !json {
                    writeln!(out, "Questions now go to the whole collection.")?;
                }
            }
            ChatLine::Discuss(Some(name)) => {
                match engine.execute(&Command::Summary { article: name })? {
                    Answer::Summary(s) => {
                        focus = Some(s.slug.clone());
                        if json {
                            print_answer(&Answer::Summary(s), true, out)?;
                        } else {
                            writeln!(out, "Discussing {} — questions go to it first.", s.title)?;
                            let t = engine.execute(&Command::Takeaways {
                                article: s.slug.clone(),
                            })?;
                            print_answer(&Answer::Summary(s), false, out)?;
                            print_answer(&t, false, out)?;
                        }
                    }
                    other => print_answer(&other, json, out)?,
                }
            }
            ChatLine::Help => writeln!(out, "{CHAT_HELP}")?,
            ChatLine::Quit => break,
            ChatLine::Empty => {}
            ChatLine::Unknown(name) => {
                writeln!(out, "unknown command /{name}; /help lists the commands")?;
            }
        }
        prompt(out, &focus)?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines() {
        assert_eq!(
            parse_chat("/search risk --page 2 --tag defi", None),
            ChatLine::Run(Command::Search {
                query: "risk".into(),
                page: 2,
                tag: Some("defi".into())
            })
        );
        assert_eq!(
            parse_chat("why?", Some("a")),
            ChatLine::Run(Command::Ask {
                question: "why?".into(),
                scope: Scope::PreferArticle("a".into())
            })
        );
        assert_eq!(parse_chat("/discuss", None), ChatLine::Discuss(None));
        assert_eq!(
            parse_chat("/nope x", None),
            ChatLine::Unknown("nope".into())
        );
        assert_eq!(parse_chat("   ", None), ChatLine::Empty);
    }
}
