//! Where the state behind a message's buttons lives (see [`super::super::buttons`]): in the
//! buttons' custom ids when the command fits, else in a [`ButtonStore`] for
//! `discord.button_timeout_seconds` (this process's memory, or with `[state] url` the shared
//! store, so that any instance answers the press); and the button row that carries it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serenity::builder::{CreateActionRow, CreateButton};
use serenity::model::application::ButtonStyle;

use super::super::buttons::{self, Action};
use super::super::render::{Card, Rendered};
use crate::answer::{Answer, Command, Scope};
use crate::state::ButtonStore;

/// Where the state behind a message's buttons lives.
#[derive(Debug, Clone)]
pub(super) enum Keep {
    /// In the buttons' custom ids: it survives restarts and works on every instance.
    Carried(Command),
    /// In the button store under this id, when the command does not fit in a custom id.
    Stored(u64),
}

/// What a message with buttons was made from, for paging and posting, when it is kept in the
/// button store ([`Keep::Stored`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored {
    pub(super) command: Command,
    pub(super) asker: u64,
    pub(super) rendered: Rendered,
    /// (page, pages) of a search.
    pub(super) paging: Option<(usize, usize)>,
}

/// Ids are 63-bit (PostgreSQL's `BIGINT` holds them as they are).
const ID_BITS: u64 = i64::MAX as u64;

/// The state of the messages with live buttons whose state does not fit in their custom
/// ids, by the id in their custom ids.
pub(super) struct ButtonState {
    store: Box<dyn ButtonStore>,
    next_id: AtomicU64,
    timeout: Duration,
}

impl ButtonState {
    /// State kept in `store` for `timeout`. Ids start at a random number, so that neither a
    /// restarted bot nor another instance sharing the store hands out the ids of buttons
    /// still on screen.
    pub(super) fn new(store: Box<dyn ButtonStore>, timeout: Duration) -> ButtonState {
        ButtonState {
            store,
            next_id: AtomicU64::new(random_seed() & ID_BITS),
            timeout,
        }
    }

    /// Keeps `s` under a new id. A store that fails is logged: the buttons will say they
    /// expired, the answer itself goes out.
    pub(super) fn store(&self, s: Stored) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) & ID_BITS;
        let state = Saved::of(&s.command, &s.rendered, s.paging).to_json();
        if let Err(e) = self.store.keep_buttons(id, s.asker, &state, self.timeout) {
            tracing::warn!("cannot keep the state of an answer's buttons: {e:#}");
        }
        id
    }

    /// The live state behind a button, or `None` when it expired (or was never kept where
    /// this instance can read it).
    pub(super) fn stored(&self, id: u64) -> Option<Stored> {
        let kept = match self.store.buttons(id, self.timeout) {
            Ok(kept) => kept?,
            Err(e) => {
                tracing::warn!("cannot read the state of a button: {e:#}");
                return None;
            }
        };
        match serde_json::from_str::<Saved>(&kept.state) {
            Ok(saved) => Some(saved.into_stored(kept.asker)),
            Err(e) => {
                tracing::warn!("a button's kept state is not readable ({e}): taken as expired");
                None
            }
        }
    }

    /// Where the buttons under `answer` (to `command` by `asker`) keep their state: in their
    /// custom ids when the command fits, else in the store.
    pub(super) fn keep(
        &self,
        command: Command,
        asker: u64,
        rendered: &Rendered,
        answer: &Answer,
    ) -> Keep {
        let fits = [Action::Prev, Action::Next, Action::Post]
            .into_iter()
            .all(|a| buttons::carried(a, asker, &command).is_some());
        if fits {
            return Keep::Carried(command);
        }
        Keep::Stored(self.store(Stored {
            command,
            asker,
            rendered: rendered.clone(),
            paging: paging(answer),
        }))
    }

    /// The page turned under the buttons kept as `id` (they live no longer for it).
    pub(super) fn update(&self, id: u64, command: Command, rendered: Rendered, answer: &Answer) {
        let state = Saved::of(&command, &rendered, paging(answer)).to_json();
        if let Err(e) = self.store.replace_buttons(id, &state, self.timeout) {
            tracing::warn!("cannot keep the new page of an answer's buttons: {e:#}");
        }
    }
}

/// A number no other process is likely to start from: the standard library's hasher keys
/// are drawn from the system's randomness once per process.
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

/// [`Stored`] as kept (JSON), without the asker (the store keeps it beside): the command and
/// the cards in a form of their own, so that the engine's and the renderer's types stay free
/// of serialisation.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    command: SavedCommand,
    cards: Vec<SavedCard>,
    paging: Option<(usize, usize)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SavedCommand {
    Ask {
        question: String,
        scope: SavedScope,
    },
    Search {
        query: String,
        page: usize,
        tag: Option<String>,
    },
    Summary {
        article: String,
    },
    Takeaways {
        article: String,
    },
    Article {
        query: String,
    },
    Related {
        article: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SavedScope {
    Collection,
    Article(String),
    PreferArticle(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedCard {
    title: String,
    url: Option<String>,
    description: String,
    fields: Vec<(String, String, bool)>,
    footer: Option<String>,
    color: u32,
}

impl Saved {
    fn of(command: &Command, rendered: &Rendered, paging: Option<(usize, usize)>) -> Saved {
        let command = match command.clone() {
            Command::Ask { question, scope } => SavedCommand::Ask {
                question,
                scope: match scope {
                    Scope::Collection => SavedScope::Collection,
                    Scope::Article(a) => SavedScope::Article(a),
                    Scope::PreferArticle(a) => SavedScope::PreferArticle(a),
                },
            },
            Command::Search { query, page, tag } => SavedCommand::Search { query, page, tag },
            Command::Summary { article } => SavedCommand::Summary { article },
            Command::Takeaways { article } => SavedCommand::Takeaways { article },
            Command::Article { query } => SavedCommand::Article { query },
            Command::Related { article } => SavedCommand::Related { article },
        };
        let cards = rendered
            .cards
            .iter()
            .map(|c| SavedCard {
                title: c.title.clone(),
                url: c.url.clone(),
                description: c.description.clone(),
                fields: c.fields.clone(),
                footer: c.footer.clone(),
                color: c.color,
            })
            .collect();
        Saved {
            command,
            cards,
            paging,
        }
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain strings and numbers serialise")
    }

    fn into_stored(self, asker: u64) -> Stored {
        let command = match self.command {
            SavedCommand::Ask { question, scope } => Command::Ask {
                question,
                scope: match scope {
                    SavedScope::Collection => Scope::Collection,
                    SavedScope::Article(a) => Scope::Article(a),
                    SavedScope::PreferArticle(a) => Scope::PreferArticle(a),
                },
            },
            SavedCommand::Search { query, page, tag } => Command::Search { query, page, tag },
            SavedCommand::Summary { article } => Command::Summary { article },
            SavedCommand::Takeaways { article } => Command::Takeaways { article },
            SavedCommand::Article { query } => Command::Article { query },
            SavedCommand::Related { article } => Command::Related { article },
        };
        // The cards were within Discord's limits when kept: taken as they are.
        let cards = self
            .cards
            .into_iter()
            .map(|c| Card {
                title: c.title,
                url: c.url,
                description: c.description,
                fields: c.fields,
                footer: c.footer,
                color: c.color,
            })
            .collect();
        Stored {
            command,
            asker,
            rendered: Rendered { cards },
            paging: self.paging,
        }
    }
}

/// (page, pages) of a search answer.
pub(super) fn paging(answer: &Answer) -> Option<(usize, usize)> {
    match answer {
        Answer::Search(s) => Some((s.page, s.pages)),
        _ => None,
    }
}

/// Which buttons go under an answer: Previous/Next for a search, then "Post to channel"
/// (ephemeral) or "Delete" (public).
pub(super) fn buttons(
    keep: &Keep,
    asker: u64,
    paging: Option<(usize, usize)>,
    public: bool,
) -> Vec<CreateActionRow> {
    let id = |action| match keep {
        // `ButtonState::keep` checked that every action's id fits.
        Keep::Carried(command) => buttons::carried(action, asker, command).unwrap_or_default(),
        Keep::Stored(id) => buttons::stored(action, *id, asker),
    };
    let mut row = Vec::new();
    if let Some((page, pages)) = paging {
        row.push(
            CreateButton::new(id(Action::Prev))
                .label("Previous")
                .style(ButtonStyle::Secondary)
                .disabled(page <= 1),
        );
        row.push(
            CreateButton::new(id(Action::Next))
                .label("Next")
                .style(ButtonStyle::Secondary)
                .disabled(page >= pages),
        );
    }
    if public {
        row.push(
            CreateButton::new(buttons::delete(asker))
                .label("Delete")
                .style(ButtonStyle::Danger),
        );
    } else {
        row.push(
            CreateButton::new(id(Action::Post))
                .label("Post to channel")
                .style(ButtonStyle::Primary),
        );
    }
    vec![CreateActionRow::Buttons(row)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::memory::MemoryButtons;

    fn card(title: &str) -> Card {
        Card {
            title: title.into(),
            url: Some("https://site.example/a#b".into()),
            description: "**bold** and \"quoted\"\nlines".into(),
            fields: vec![("name".into(), "value".into(), true)],
            footer: Some("Page 2 of 3".into()),
            color: 0x5865F2,
        }
    }

    /// Every command, its cards and its paging come back from the store as they went in.
    #[test]
    fn every_command_is_kept_and_read_back_whole() {
        let state = ButtonState::new(Box::new(MemoryButtons::default()), Duration::from_secs(60));
        let long = "a question far too long for a custom id ".repeat(3);
        let commands = [
            Command::Ask {
                question: long.clone(),
                scope: Scope::Collection,
            },
            Command::Ask {
                question: long.clone(),
                scope: Scope::Article("sleep".into()),
            },
            Command::Ask {
                question: long.clone(),
                scope: Scope::PreferArticle("sleep: science".into()),
            },
            Command::Search {
                query: long.clone(),
                page: 2,
                tag: Some("health".into()),
            },
            Command::Search {
                query: long.clone(),
                page: 1,
                tag: None,
            },
            Command::Summary {
                article: long.clone(),
            },
            Command::Takeaways {
                article: long.clone(),
            },
            Command::Article {
                query: long.clone(),
            },
            Command::Related { article: long },
        ];
        for (i, command) in commands.into_iter().enumerate() {
            let stored = Stored {
                command,
                asker: 900_000_000_000_000_000 + i as u64,
                rendered: Rendered {
                    cards: vec![card("one"), card("two")],
                },
                paging: (i % 2 == 0).then_some((2, 3)),
            };
            let id = state.store(stored.clone());
            assert_eq!(state.stored(id), Some(stored));
        }
        assert_eq!(state.stored(12), None, "never kept");
    }
}
