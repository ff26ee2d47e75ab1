//! Where a serving process keeps what outlives a request, one trait per kind of state, each
//! with an embedded implementation (this instance's own: the default) and [`postgres`]
//! (`[state] url`, shared by every instance pointed at it): the statistics rows
//! ([`StatsStore`]: [`sqlite`] embedded, so that `/stats` counts what all instances answered
//! when shared), and in [`kinds`] the curated answers, votes, `/discuss` threads, lasting
//! conversations, cooldowns and button state ([`memory`] holds the embedded cooldowns and
//! button state), and the instances sharing a store with their reloads' outcomes. [`Writer`] puts
//! the writes off the answers' path: a queue drained by one thread that retries a failing
//! write and drops what does not fit while the store is unreachable, and that says so
//! ([`Health`]).
//!
//! What is stored and how it is reported is decided by each kind's owner ([`crate::stats`],
//! [`crate::curate`], [`crate::feedback`], [`crate::conversation`], the Discord adapter); a
//! store only keeps rows and counts them. Nothing here knows of Discord or of the library.

pub mod kinds;
pub mod memory;
pub mod postgres;
pub mod sqlite;

pub use kinds::*;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A question as stored: when, what kind (`ask`/`search`), the asker's keyed hash, the text
/// (only while `stats.keep_questions`), how it fared, the best score, the guild.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRow {
    /// Random, chosen when the row is made: a write tried again after a try that committed
    /// but whose answer was lost (the connection broke) is not counted twice (PostgreSQL
    /// keeps it unique; an SQLite write cannot commit unseen).
    pub id: u64,
    pub at: u64,
    pub kind: &'static str,
    pub asker: Option<[u8; 32]>,
    pub question: Option<String>,
    /// `answered`, `weak` or `nothing`.
    pub fate: &'static str,
    pub score: Option<f32>,
    pub guild: Option<u64>,
}

/// A reload as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadRow {
    /// Random, as [`QuestionRow::id`].
    pub id: u64,
    pub at: u64,
    /// The trigger ("SIGHUP") or the moderator's display name.
    pub by: String,
    pub outcome: String,
    /// Where the moderator asked for it; `None` for the triggers.
    pub guild: Option<u64>,
}

/// The last reload, as `/stats` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LastReload {
    pub by: String,
    /// Seconds since the epoch.
    pub at: u64,
    pub outcome: String,
}

/// A question and how often it was asked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Asked {
    pub question: String,
    pub count: u64,
}

/// One guild's numbers since a time, as a store counts them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuildCounts {
    pub questions: u64,
    pub distinct_askers: u64,
    /// The ten most asked (lower-cased) questions, most asked first.
    pub top_questions: Vec<Asked>,
    /// The same, of the questions that found nothing or only weak matches.
    pub gaps: Vec<Asked>,
    /// The bot's last reload (any guild's or a trigger's: the content is shared), with `by`
    /// replaced by `another_guild` when it was a moderator of another guild.
    pub last_reload: Option<LastReload>,
}

/// A statistics store: rows in, counts out. Calls block (SQLite on disk, PostgreSQL over the
/// network): callers run them on a blocking thread, and the writes go through [`Writer`].
pub trait StatsStore: Send + Sync {
    fn add_question(&self, row: &QuestionRow) -> anyhow::Result<()>;
    fn add_reload(&self, row: &ReloadRow) -> anyhow::Result<()>;
    /// `guild`'s counts over the rows since `since` (seconds since the epoch).
    fn counts(&self, guild: u64, since: u64, another_guild: &str) -> anyhow::Result<GuildCounts>;
    /// Deletes the rows older than `before`; how many went.
    fn prune(&self, before: u64) -> anyhow::Result<u64>;
    /// Checks that the store answers (the writer asks when it has been idle).
    fn ping(&self) -> anyhow::Result<()>;
    /// `sqlite` or `postgres`, for logs and `/healthz`.
    fn kind(&self) -> &'static str;
    /// Tells the other instances sharing this store that instance `origin` reloaded, so
    /// that they reload too. A store of one's own has no one to tell.
    fn announce_reload(&self, _origin: &str, _reload: &Announced) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A reload another instance made: who asked for it and in which guild (so that the
/// statistics name them only where they may be named), and the reload's id, under which each
/// instance reports its outcome (see [`InstanceStore`]); `None` for a reload no one waits for
/// (the catch-up of an instance whose connection came back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub id: Option<String>,
    pub by: String,
    pub guild: Option<u64>,
}

impl Announced {
    /// As sent by instance `origin`: `origin[/id]<TAB>guild<TAB>by` (an empty guild for none);
    /// `by` last, so that it may hold any character. The id rides in the origin's field
    /// because an instance of an older version reads `origin<TAB>guild<TAB>by`: to it this
    /// is still an announcement from another instance, with the guild and the name in their
    /// places (a shifted field would show a moderator's name in every guild's `/stats`).
    pub fn encode(&self, origin: &str) -> String {
        let guild = self.guild.map(|g| g.to_string()).unwrap_or_default();
        match &self.id {
            Some(id) => format!("{origin}/{id}\t{guild}\t{}", self.by),
            None => format!("{origin}\t{guild}\t{}", self.by),
        }
    }

    /// The sender's origin and the reload, from a payload [`Announced::encode`] made.
    pub fn decode(text: &str) -> (&str, Announced) {
        let mut parts = text.splitn(3, '\t');
        let (from, guild, by) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let (origin, id) = match from.split_once('/') {
            Some((origin, id)) => (origin, Some(id.to_string()).filter(|id| !id.is_empty())),
            None => (from, None),
        };
        let reload = Announced {
            id,
            by: by.to_string(),
            guild: guild.parse().ok(),
        };
        (origin, reload)
    }
}

/// Seconds since the Unix epoch (0 for a clock set before it): the time every kind of state
/// is stamped with.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A number no other call, in this process or another, gives (but by a chance of about one in
/// 2^64 per pair): the time in nanoseconds, the process id, a count of the calls and where
/// this process's stack lies (placed at random by the system), hashed. Names a process among
/// those sharing a store, and each statistics row written to it.
pub fn unique_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static MADE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let here = 0u8;
    let mut h = blake3::Hasher::new();
    h.update(&nanos.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&MADE.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(&(std::ptr::addr_of!(here) as usize).to_le_bytes());
    let bytes = h.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Writes `value` as JSON to `path` whole or not at all (a temporary file beside it, renamed
/// over it), creating its folder: the embedded form of the state kept in JSON files (lasting
/// conversations, `/discuss` threads, announced articles).
pub fn write_json_atomically<T: serde::Serialize + ?Sized>(
    path: &std::path::Path,
    value: &T,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(value)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// A guild id as both stores keep it: a signed 64-bit integer (snowflakes fit, bits
/// unchanged).
pub fn guild_key(guild: u64) -> i64 {
    guild as i64
}

/// Whether the store answered its last request, and what was lost while it did not.
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    /// Writes dropped because the queue was full while the store was unreachable.
    dropped: AtomicU64,
    /// Writes that failed (each retry counts).
    failures: AtomicU64,
}

impl Health {
    /// `false` from a failed request until one succeeds.
    pub fn up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    /// Writes dropped since the process started (the queue was full).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Failed requests since the process started.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Records the outcome of a request to the store.
    pub fn record<T>(&self, result: &anyhow::Result<T>) {
        match result {
            Ok(_) => self.down.store(false, Ordering::Relaxed),
            Err(_) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.down.store(true, Ordering::Relaxed);
            }
        }
    }
}

enum Op {
    Question(QuestionRow),
    Reload(ReloadRow),
    /// A write of another kind of state (see [`Writer::run`]): run again while it fails.
    Job(Box<dyn Fn() -> anyhow::Result<()> + Send>),
    /// Answered once every write queued before it was made (or given up).
    Flush(SyncSender<()>),
}

/// How many writes wait at most while the store is unreachable: past that, new ones are
/// dropped (and counted) rather than holding memory without bound.
pub const QUEUE: usize = 10_000;

/// A failing write is retried after this long at first, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// An idle writer checks the store this often, so that `/healthz` sees an outage without
/// waiting for a write.
const PING_EVERY: Duration = Duration::from_secs(5);
/// How long a process that is stopping waits for its queued writes.
const DRAIN_AT_EXIT: Duration = Duration::from_secs(5);

/// The writes of one store, made in order by one thread so that answering never waits for
/// them: a write that fails is retried (with a growing pause) until the store answers again,
/// so a short outage loses nothing; while it lasts, at most [`QUEUE`] writes wait and later
/// ones are dropped with a warning. Dropping the writer writes what is queued (for a bounded
/// time).
pub struct Writer {
    tx: Option<SyncSender<Op>>,
    thread: Option<std::thread::JoinHandle<()>>,
    health: Arc<Health>,
    /// Set when dropped: the thread stops retrying after [`DRAIN_AT_EXIT`].
    closing: Arc<AtomicBool>,
}

impl Writer {
    pub fn new(store: Arc<dyn StatsStore>, health: Arc<Health>) -> Writer {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let thread = {
            let (health, closing) = (health.clone(), closing.clone());
            std::thread::Builder::new()
                .name("state-writer".into())
                .spawn(move || drain(&*store, &health, &closing, rx))
                .expect("cannot start the state writer thread")
        };
        Writer {
            tx: Some(tx),
            thread: Some(thread),
            health,
            closing,
        }
    }

    pub fn question(&self, row: QuestionRow) {
        self.send(Op::Question(row));
    }

    pub fn reload(&self, row: ReloadRow) {
        self.send(Op::Reload(row));
    }

    /// Queues `write` (a write of another kind of state: a thread, a conversation), made in
    /// order with the others and retried like them while it fails.
    pub fn run(&self, write: impl Fn() -> anyhow::Result<()> + Send + 'static) {
        self.send(Op::Job(Box::new(write)));
    }

    fn send(&self, op: Op) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(op) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // One warning per thousand, not one per question, during a long outage.
                if self
                    .health
                    .dropped
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(1000)
                {
                    tracing::warn!(
                        "the state store is unreachable and {QUEUE} writes are waiting: \
                         statistics are being dropped ({} so far)",
                        self.health.dropped() + 1
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("the state writer has stopped: a state write was dropped");
            }
        }
    }

    /// Waits (at most `patience`) until every write queued so far has been made: a report
    /// then counts the questions asked just before it. `false` when it gave up.
    pub fn flush(&self, patience: Duration) -> bool {
        let Some(tx) = &self.tx else { return true };
        let (done, wait) = mpsc::sync_channel(1);
        let deadline = Instant::now() + patience;
        // The queue may be full during an outage: keep offering until the deadline.
        let mut op = Op::Flush(done);
        loop {
            match tx.try_send(op) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    op = back;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => return false,
            }
        }
        wait.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: each write in order, retried while it fails.
fn drain(store: &dyn StatsStore, health: &Health, closing: &AtomicBool, rx: Receiver<Op>) {
    loop {
        let op = match rx.recv_timeout(PING_EVERY) {
            Ok(op) => op,
            Err(RecvTimeoutError::Timeout) => {
                let result = store.ping();
                if let Err(e) = &result {
                    if health.up() {
                        tracing::warn!(
                            "the state store ({}) does not answer: {e:#}; answers go on, \
                             statistics wait in a queue",
                            store.kind()
                        );
                    }
                }
                health.record(&result);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let write = |op: &Op| match op {
            Op::Question(row) => store.add_question(row),
            Op::Reload(row) => store.add_reload(row),
            Op::Job(write) => write(),
            Op::Flush(done) => {
                let _ = done.try_send(());
                Ok(())
            }
        };
        let mut pause = RETRY_FIRST;
        let mut closing_since: Option<Instant> = None;
        loop {
            let result = write(&op);
            let was_up = health.up();
            health.record(&result);
            match result {
                Ok(()) => {
                    if !was_up {
                        tracing::info!(
                            "the state store ({}) answers again: queued statistics are being \
                             written ({} dropped while it was unreachable)",
                            store.kind(),
                            health.dropped()
                        );
                    }
                    break;
                }
                Err(e) => {
                    if was_up {
                        tracing::warn!(
                            "cannot write to the state store ({}): {e:#}; retrying, answers \
                             go on",
                            store.kind()
                        );
                    }
                    if closing.load(Ordering::Relaxed) {
                        let since = *closing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > DRAIN_AT_EXIT {
                            let lost = 1 + rx.try_iter().count();
                            tracing::warn!(
                                "stopping with the state store unreachable: {lost} statistics \
                                 row(s) lost"
                            );
                            return;
                        }
                    }
                    // The write stays first in line: rows keep their order.
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_reload_reads_back_as_sent() {
        for reload in [
            Announced {
                id: Some("0a1b".into()),
                by: "mia\twith a tab".into(),
                guild: Some(900_000_000_000_000_003),
            },
            Announced {
                id: None,
                by: "SIGHUP".into(),
                guild: None,
            },
        ] {
            assert_eq!(
                Announced::decode(&reload.encode("c0ffee")),
                ("c0ffee", reload)
            );
        }
        // What an instance of the version before reload ids sent still reads right.
        let (origin, old) = Announced::decode("c0ffee\t42\tmia");
        assert_eq!(origin, "c0ffee");
        assert_eq!(
            (old.id, old.guild, old.by.as_str()),
            (None, Some(42), "mia")
        );
    }
}
