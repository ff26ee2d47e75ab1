//! What a line of `chat` means: one function, [`Session::interpret`], takes a line and the
//! session's state and returns a [`Turn`], what to show. A line that is not a `/command` goes
//! through the conversation layer ([`crate::conversation`]), the same one the Discord front
//! ends use, so "summarize the stablecoins article", "tell me more" or "who wrote it?" mean
//! the same thing everywhere. Reading lines (a line editor or a pipe) and printing turns (text
//! or JSON) live in `super::chat`.

use serde::Serialize;

use crate::answer::{Answer, Command, Engine, SummaryAnswer, TakeawaysAnswer};
use crate::conversation;

/// The commands `/help` lists.
pub const HELP: &str = "\
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
enum Line {
    Run(Command),
    /// A message for the conversation layer (a plain line, or `/ask …`).
    Say(String),
    Discuss(Option<String>),
    Help,
    Quit,
    Empty,
    Unknown(String),
}

/// The state a chat keeps between lines: the conversation's (the article being talked about,
/// what was shown of it, the `/discuss` article).
#[derive(Debug, Default)]
pub struct Session {
    conversation: conversation::State,
    settings: conversation::Settings,
}

/// What a line produced.
#[derive(Debug)]
pub enum Turn {
    /// An answer to a `/command`.
    Answer(Answer),
    /// What the conversation layer made of a message.
    Said(Box<conversation::Turn>),
    /// `/discuss ARTICLE` found the article: its summary and takeaways.
    Discussing(Discussion),
    /// `/discuss` alone: questions go to the whole collection again.
    Undiscussed,
    /// `/help`.
    Help,
    /// A line with nothing on it.
    Empty,
    /// `/name` that is not a command.
    Unknown(String),
    /// `/quit`: the chat ends.
    Quit,
}

/// `/discuss ARTICLE`: the article questions now go to first. Serializes as the summary's
/// fields plus `"discussing"` (the slug) and `"takeaways"` (the takeaways answer or null).
#[derive(Debug, Serialize)]
pub struct Discussion {
    pub discussing: String,
    #[serde(flatten)]
    pub summary: SummaryAnswer,
    pub takeaways: Option<TakeawaysAnswer>,
}

impl Session {
    /// A new chat whose conversation starts over after `settings.idle_seconds` of silence.
    pub fn new(settings: conversation::Settings) -> Session {
        Session {
            conversation: conversation::State::default(),
            settings,
        }
    }

    /// The article being discussed (the prompt shows it).
    pub fn focus(&self) -> Option<&str> {
        self.conversation.home.as_deref()
    }

    /// Interprets `line`: runs what it asks on `engine` and says what to show.
    pub fn interpret(&mut self, engine: &Engine, line: &str) -> anyhow::Result<Turn> {
        Ok(match parse(line) {
            Line::Run(command) => Turn::Answer(engine.execute(&command)?),
            Line::Say(message) => {
                let lib = engine.library();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let (turn, state) = conversation::respond(
                    &lib,
                    engine.settings(),
                    &self.settings,
                    &self.conversation,
                    &message,
                    now,
                )?;
                self.conversation = state;
                Turn::Said(Box::new(turn))
            }
            Line::Discuss(None) => {
                self.conversation = conversation::State::default();
                Turn::Undiscussed
            }
            Line::Discuss(Some(name)) => {
                match engine.execute(&Command::Summary { article: name })? {
                    Answer::Summary(summary) => {
                        self.conversation = conversation::State::discussing(&summary.slug);
                        let takeaways = match engine.execute(&Command::Takeaways {
                            article: summary.slug.clone(),
                        })? {
                            Answer::Takeaways(t) => Some(t),
                            _ => None,
                        };
                        Turn::Discussing(Discussion {
                            discussing: summary.slug.clone(),
                            summary,
                            takeaways,
                        })
                    }
                    other => Turn::Answer(other),
                }
            }
            Line::Help => Turn::Help,
            Line::Quit => Turn::Quit,
            Line::Empty => Turn::Empty,
            Line::Unknown(name) => Turn::Unknown(name),
        })
    }
}

fn parse(line: &str) -> Line {
    let line = line.trim();
    if line.is_empty() {
        return Line::Empty;
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Line::Say(line.to_string());
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
            Line::Run(Command::Search {
                query: words.join(" "),
                page,
                tag,
            })
        }
        "ask" => Line::Say(arg),
        "summary" => Line::Run(Command::Summary { article: arg }),
        "takeaways" => Line::Run(Command::Takeaways { article: arg }),
        "article" => Line::Run(Command::Article { query: arg }),
        "related" => Line::Run(Command::Related { article: arg }),
        "discuss" => Line::Discuss((!arg.is_empty()).then_some(arg)),
        "help" | "?" => Line::Help,
        "quit" | "exit" | "q" => Line::Quit,
        other => Line::Unknown(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_lines() {
        assert_eq!(
            parse("/search risk --page 2 --tag defi"),
            Line::Run(Command::Search {
                query: "risk".into(),
                page: 2,
                tag: Some("defi".into())
            })
        );
        assert_eq!(parse("why?"), Line::Say("why?".into()));
        assert_eq!(parse("/ask why?"), Line::Say("why?".into()));
        assert_eq!(parse("/discuss"), Line::Discuss(None));
        assert_eq!(parse("/nope x"), Line::Unknown("nope".into()));
        assert_eq!(parse("   "), Line::Empty);
    }
}
