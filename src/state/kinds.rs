//! The kinds of state beside the statistics, each behind a trait of its own with an
//! embedded implementation (this instance's: SQLite or memory) and the shared one
//! ([`super::postgres::PgStore`]): curated answers, votes, `/discuss` threads,
//! conversations and cooldowns. Rows in, rows out: what they mean is decided by their owners
//! (`curate`, `feedback`, `conversation`, the Discord adapter's cooldowns).

use std::time::Duration;

use serde::Serialize;

/// A pinned answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curated {
    /// Its number, unique in the store.
    pub id: i64,
    /// The guild it belongs to (0: none, the command line and direct messages).
    pub guild: u64,
    pub question: String,
    /// The article's slug.
    pub article: String,
    /// A section heading of the article, when one was chosen.
    pub section: Option<String>,
    pub note: Option<String>,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

/// What a moderator asks to pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCurated {
    pub guild: u64,
    pub question: String,
    pub article: String,
    pub section: Option<String>,
    pub note: Option<String>,
}

/// Where curated answers are kept. Every call may block (a database): adapters call it off
/// the async runtime.
pub trait CurateStore: Send + Sync {
    /// Stores `new` (already checked) and returns it with its id.
    fn add(&self, new: &NewCurated, created: u64) -> anyhow::Result<Curated>;
    /// Every curated answer, of every guild, oldest first.
    fn all(&self) -> anyhow::Result<Vec<Curated>>;
    /// Removes answer `id` of `guild`; whether there was one.
    fn remove(&self, guild: u64, id: i64) -> anyhow::Result<bool>;
}

/// Which way a vote goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Vote {
    Up,
    Down,
}

impl Vote {
    /// As stored: 1 up, -1 down.
    pub fn as_i64(self) -> i64 {
        match self {
            Vote::Up => 1,
            Vote::Down => -1,
        }
    }
}

/// One vote, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVote {
    pub guild: u64,
    /// The answer voted on (the Discord message).
    pub answer: u64,
    /// The voter's keyed hash (never the id).
    pub voter: [u8; 32],
    pub question: String,
    pub passage: String,
    pub vote: Vote,
}

/// The votes on one passage for one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub question_hash: String,
    /// The question as first voted on (cut), when questions may be kept.
    pub question: Option<String>,
    pub passage: String,
    pub up: u64,
    pub down: u64,
    /// Distinct members who voted.
    pub voters: u64,
}

/// Where votes are kept.
pub trait VoteStore: Send + Sync {
    /// Records `vote`, replacing the voter's earlier vote on the same answer.
    fn vote(&self, vote: &NewVote, question_text: Option<&str>, at: u64) -> anyhow::Result<()>;
    /// The tallies of a guild (every passage voted on, per question).
    fn tallies(&self, guild: u64) -> anyhow::Result<Vec<Tally>>;
    /// Every guild with votes.
    fn guilds(&self) -> anyhow::Result<Vec<u64>>;
    /// Forgets the votes on `passage` for `question_hash` in `guild` (a moderator's restore);
    /// how many.
    fn clear(&self, guild: u64, question_hash: &str, passage: &str) -> anyhow::Result<usize>;
}

/// The article of each `/discuss` thread. Calls block.
pub trait ThreadStore: Send + Sync {
    /// Remembers that `thread` discusses `slug` (a thread is opened once: the last word wins).
    fn remember_thread(&self, thread: u64, slug: &str) -> anyhow::Result<()>;
    /// The article `thread` discusses, if it is a `/discuss` thread.
    fn thread(&self, thread: u64) -> anyhow::Result<Option<String>>;
    /// Every thread and its article.
    fn threads(&self) -> anyhow::Result<Vec<(u64, String)>>;
}

/// Conversations (a member's in a channel, a `/discuss` thread's) as their owner serialises
/// them (JSON text): the store does not read them. Calls block.
pub trait ConversationStore: Send + Sync {
    /// Keeps `state` under `key`, as of `at` (seconds since the epoch).
    fn save_conversation(&self, key: &str, state: &str, at: u64) -> anyhow::Result<()>;
    /// The state kept under `key`.
    fn conversation(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Every conversation seen since `since` (seconds since the epoch), by key.
    fn conversations(&self, since: u64) -> anyhow::Result<Vec<(String, String)>>;
}

/// Per-user cooldowns, by scope (`ask`, `post`): starting one is a single step, so that two
/// instances asked at once by the same member start it once. Calls block.
pub trait CooldownStore: Send + Sync {
    /// Starts `user`'s cooldown of `length` in `scope`, unless one started less than
    /// `length` ago: then `Some(how long is left)`, and nothing changes.
    fn start_cooldown(
        &self,
        scope: &str,
        user: u64,
        length: Duration,
    ) -> anyhow::Result<Option<Duration>>;
}

/// The state behind a message's buttons when it does not fit in their custom ids, as the
/// Discord adapter serialises it (JSON text: the store does not read it), under an id the
/// adapter chose. It lives `timeout` from when it was kept (the adapter's
/// `discord.button_timeout_seconds`); replacing it (a page turned) does not make it live
/// longer. Calls block.
pub trait ButtonStore: Send + Sync {
    /// Keeps `state`, of `asker`'s buttons, under `id` from now on (replacing anything kept
    /// there before).
    fn keep_buttons(
        &self,
        id: u64,
        asker: u64,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<()>;
    /// Replaces the state under `id` while it lives; whether it did.
    fn replace_buttons(&self, id: u64, state: &str, timeout: Duration) -> anyhow::Result<bool>;
    /// The state under `id` and whose buttons they are, unless it was kept more than
    /// `timeout` ago (or never).
    fn buttons(&self, id: u64, timeout: Duration) -> anyhow::Result<Option<KeptButtons>>;
}

/// Button state as kept (see [`ButtonStore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptButtons {
    /// Who the buttons answer (only they may page or post).
    pub asker: u64,
    pub state: String,
}

/// A serving instance among those sharing a store, as [`InstanceStore::instances`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its id: random, one per process.
    pub id: String,
    /// What people call it (`ARTICLEBOT_INSTANCE`, else host and process id).
    pub name: String,
    /// How long ago it last said it was alive (by the store's clock).
    pub seen_ago: Duration,
}

/// What an instance made of a reload, as it reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceReload {
    pub instance: String,
    pub name: String,
    /// Whether the new content went into service.
    pub applied: bool,
    /// What it did (`reloaded 5 articles (+1 −0 ~0)`) or why not.
    pub outcome: String,
}

/// The serving instances sharing a store, and what each made of a reload one of them
/// announced, so that the instance asked for it can say. Calls block.
pub trait InstanceStore: Send + Sync {
    /// Says that instance `id` (named `name`) is alive now.
    fn heartbeat(&self, id: &str, name: &str) -> anyhow::Result<()>;
    /// Forgets instance `id` (it stops).
    fn leave(&self, id: &str) -> anyhow::Result<()>;
    /// The instances that said they were alive within `within`, most recently seen first.
    fn instances(&self, within: Duration) -> anyhow::Result<Vec<Instance>>;
    /// Records an instance's outcome of reload `reload`.
    fn report_reload(&self, reload: &str, outcome: &InstanceReload) -> anyhow::Result<()>;
    /// The outcomes reported for `reload` so far.
    fn reload_outcomes(&self, reload: &str) -> anyhow::Result<Vec<InstanceReload>>;
}

/// The articles the instances sharing a store have seen (announced, or taken as not news), so
/// that each new article is announced by one of them only: seeing a slug is one statement,
/// and the instance whose statement saw it first is the one to post. Calls block.
pub trait AnnouncedStore: Send + Sync {
    /// Takes `slugs` as seen if the store has seen nothing yet (the articles of the first
    /// instance to start are its back catalogue, not news); whether it did.
    fn seed_seen(&self, slugs: &[String], at: u64) -> anyhow::Result<bool>;
    /// Takes `slugs` as seen, as of `at` (seconds since the epoch); returns those no instance
    /// had seen before, in `slugs`' order: the caller's to announce.
    fn see(&self, slugs: &[String], at: u64) -> anyhow::Result<Vec<String>>;
}
