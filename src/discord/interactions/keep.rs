//! Where the state behind a message's buttons lives (see [`super::super::buttons`]): in the
//! buttons' custom ids when the command fits, else in this process's memory for
//! `discord.button_timeout_seconds`; and the button row that carries it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serenity::builder::{CreateActionRow, CreateButton};
use serenity::model::application::ButtonStyle;

use super::super::buttons::{self, Action};
use super::super::render::Rendered;
use crate::answer::{Answer, Command};

/// Messages with live buttons remembered at most (about 5 KB each).
const STORED_MAX: usize = 20_000;

/// Where the state behind a message's buttons lives.
#[derive(Debug, Clone)]
pub(super) enum Keep {
    /// In the buttons' custom ids: it survives restarts and works on every instance.
    Carried(Command),
    /// In this process's memory under this id, when the command does not fit in a custom id.
    Stored(u64),
}

/// What a message with buttons was made from, for paging, posting and expiry, when it is
/// kept in memory ([`Keep::Stored`]).
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) command: Command,
    pub(super) asker: u64,
    pub(super) created: Instant,
    pub(super) rendered: Rendered,
    /// (page, pages) of a search.
    pub(super) paging: Option<(usize, usize)>,
}

/// Messages with live buttons whose state does not fit in their custom ids, by the id in
/// their custom ids.
pub(super) struct Memory {
    stored: Mutex<HashMap<u64, Stored>>,
    next_id: AtomicU64,
    timeout: Duration,
}

impl Memory {
    /// An empty memory whose entries expire after `timeout`. Ids start from the clock, so that
    /// a restarted bot does not hand out the ids of buttons still on screen.
    pub(super) fn new(timeout: Duration) -> Memory {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        Memory {
            stored: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(seed),
            timeout,
        }
    }

    pub(super) fn store(&self, s: Stored) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut map = self.stored.lock().unwrap();
        // Expired entries go now and then, and the oldest (smallest id) when the bot is very
        // busy, so memory stays bounded without scanning on every answer.
        if id % 64 == 0 || map.len() >= STORED_MAX {
            let timeout = self.timeout;
            map.retain(|_, v| v.created.elapsed() <= timeout);
        }
        if map.len() >= STORED_MAX {
            if let Some(&oldest) = map.keys().min() {
                map.remove(&oldest);
            }
        }
        map.insert(id, s);
        id
    }

    /// The live state behind a button, or `None` when it expired (or the bot restarted).
    pub(super) fn stored(&self, id: u64) -> Option<Stored> {
        let map = self.stored.lock().unwrap();
        map.get(&id)
            .filter(|s| s.created.elapsed() <= self.timeout)
            .cloned()
    }

    /// Where the buttons under `answer` (to `command` by `asker`) keep their state: in their
    /// custom ids when the command fits, else in memory.
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
            created: Instant::now(),
            rendered: rendered.clone(),
            paging: paging(answer),
        }))
    }

    pub(super) fn update(&self, id: u64, command: Command, rendered: Rendered, answer: &Answer) {
        if let Some(s) = self.stored.lock().unwrap().get_mut(&id) {
            s.command = command;
            s.rendered = rendered;
            s.paging = paging(answer);
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
        // `Memory::keep` checked that every action's id fits.
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
