//! `articlebot curate add|list|remove|match`: the curated answers of a guild (0, the default:
//! the command line's own) from the terminal, the same store and rules as `/curate`.

use clap::Subcommand;

use super::{open_library, progress, Cli, Failure, EXIT_NOT_FOUND, EXIT_OK};
use crate::answer::Engine;
use crate::config::Settings;
use crate::curate::{Curation, NewCurated};
use crate::library::OpenMode;

#[derive(Debug, Subcommand)]
pub enum CurateCmd {
    /// Pin an article (or one of its sections) to a question
    Add {
        /// The question (several words may be given without quotes)
        #[arg(required = true, num_args = 1..)]
        question: Vec<String>,
        /// The article: slug, title or alias (the words up to the next option)
        #[arg(long, required = true, num_args = 1..)]
        article: Vec<String>,
        /// Only this section of the article (its heading)
        #[arg(long)]
        section: Option<String>,
        /// A short note shown with the answer
        #[arg(long)]
        note: Option<String>,
        /// The Discord server (guild id); 0 is the command line's own
        #[arg(long, default_value_t = 0)]
        guild: u64,
    },
    /// List the curated answers (those whose article is gone are marked)
    List {
        /// The Discord server (guild id); 0 is the command line's own
        #[arg(long, default_value_t = 0)]
        guild: u64,
    },
    /// Remove a curated answer by its number
    Remove {
        /// Its number, as `list` shows it
        id: i64,
        /// The Discord server (guild id); 0 is the command line's own
        #[arg(long, default_value_t = 0)]
        guild: u64,
    },
    /// Which curated answer a question would get; exit 1 when none
    Match {
        /// The question (several words may be given without quotes)
        #[arg(required = true, num_args = 1..)]
        question: Vec<String>,
        /// The Discord server (guild id); 0 is the command line's own
        #[arg(long, default_value_t = 0)]
        guild: u64,
    },
}

fn open(settings: &Settings) -> Result<Curation, Failure> {
    Curation::configured(&settings.curate, &settings.state).map_err(Failure::Run)
}

pub(super) fn run(cli: &Cli, settings: &Settings, cmd: &CurateCmd) -> Result<u8, Failure> {
    let curation = open(settings)?;
    let lib = open_library(settings, OpenMode::Reuse, &progress(cli))?;
    let exists = |slug: &str| lib.by_slug(slug).is_some();
    match cmd {
        CurateCmd::Add {
            question,
            article,
            section,
            note,
            guild,
        } => {
            let new = NewCurated {
                guild: *guild,
                question: question.join(" "),
                article: article.join(" "),
                section: section.clone(),
                note: note.clone(),
            };
            let engine = Engine::new(lib, settings.answer.clone());
            // A refused pin is the user's to fix: exit 2 with the reason.
            let pinned = crate::curate::pin(&engine, &curation, new).map_err(Failure::Usage)?;
            if cli.json {
                println!("{}", serde_json::to_string(&pinned).unwrap_or_default());
            } else {
                println!(
                    "#{} \"{}\" -> {}{}",
                    pinned.curated.id,
                    pinned.curated.question,
                    pinned.title,
                    pinned
                        .curated
                        .section
                        .map(|s| format!(" > {s}"))
                        .unwrap_or_default()
                );
            }
            Ok(EXIT_OK)
        }
        CurateCmd::List { guild } => {
            let list = curation.list(*guild);
            if cli.json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|c| {
                        let mut v = serde_json::to_value(c).unwrap_or_default();
                        v["missing"] = serde_json::Value::Bool(!exists(&c.article));
                        v
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                println!("no curated answers");
            } else {
                for c in &list {
                    let missing = if exists(&c.article) {
                        ""
                    } else {
                        " (article missing: not used until it returns)"
                    };
                    let section = c.section.as_deref().map(|s| format!(" > {s}"));
                    println!(
                        "#{} \"{}\" -> {}{}{missing}",
                        c.id,
                        c.question,
                        c.article,
                        section.unwrap_or_default()
                    );
                }
            }
            Ok(EXIT_OK)
        }
        CurateCmd::Remove { id, guild } => {
            if curation.remove(*guild, *id).map_err(Failure::Run)? {
                println!("removed #{id}");
                Ok(EXIT_OK)
            } else {
                eprintln!("no curated answer #{id} (guild {guild})");
                Ok(EXIT_NOT_FOUND)
            }
        }
        CurateCmd::Match { question, guild } => {
            let found = curation.find(*guild, &question.join(" "), exists);
            if cli.json {
                println!("{}", serde_json::to_string(&found).unwrap_or_default());
            } else {
                match &found {
                    Some(m) => println!(
                        "#{} \"{}\" -> {} (similarity {:.2})",
                        m.curated.id, m.curated.question, m.curated.article, m.similarity
                    ),
                    None => println!("no curated answer matches"),
                }
            }
            Ok(if found.is_some() {
                EXIT_OK
            } else {
                EXIT_NOT_FOUND
            })
        }
    }
}
