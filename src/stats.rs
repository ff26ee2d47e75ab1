//! Question statistics for moderators: what people ask, what found nothing or only weak
//! matches (the gaps in the collection), and the reloads, pruned after `retention_days`.
//! Questions are kept per guild and reported per guild: a guild's moderators see their own
//! community's questions only. This module decides what is kept and how it is reported; the
//! rows go to a [`crate::state`] store: SQLite in the data directory (the default, this
//! instance's own; private files, schema migrated at open) or PostgreSQL (`[state] url`,
//! shared by every instance, so `/stats` counts them all). Writes are queued off the
//! answers' path ([`crate::state::Writer`]).
//!
//! Privacy: no user id is stored in the clear. An asker is stored as a keyed BLAKE3 hash whose
//! key lives in a separate file beside the database (`<db>.key`, created on first use, mode
//! 0600) or comes from `ARTICLEBOT_STATS_KEY` (required with PostgreSQL: every instance must
//! hash a person alike). Question text is stored only when `stats.keep_questions` is true.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;

use crate::answer::{Answer, Command};
use crate::config::{StateSettings, StatsSettings};
use crate::library::Library;
use crate::reload::{Outcome, ReloadReport};
use crate::state::postgres::PgStore;
use crate::state::sqlite::SqliteStore;
use crate::state::unix_now as now;
use crate::state::{
    Announced, Health, Instance, InstanceReload, InstanceStore, QuestionRow, ReloadRow, StatsStore,
    Writer,
};

pub use crate::state::sqlite::SCHEMA_VERSION;
pub use crate::state::{Asked, LastReload};

/// Who asked, and where: an opaque, stable identifier of the person (a Discord user id as
/// text), only ever stored as a keyed hash (see [`Stats::hash_asker`]), and the guild the
/// question came from (`None`: a direct message or the command line). Statistics are kept
/// per guild, and `/stats` in a guild reports that guild's questions only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asker {
    pub user: String,
    pub guild: Option<u64>,
}

impl Asker {
    /// A person asking outside any guild.
    pub fn user(user: impl Into<String>) -> Asker {
        Asker {
            user: user.into(),
            guild: None,
        }
    }

    /// The same person, asking in `guild` (`None`: outside any guild).
    pub fn in_guild(self, guild: Option<u64>) -> Asker {
        Asker { guild, ..self }
    }
}

/// How an asked question fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Answered,
    Weak,
    Nothing,
}

impl Fate {
    fn as_str(self) -> &'static str {
        match self {
            Fate::Answered => "answered",
            Fate::Weak => "weak",
            Fate::Nothing => "nothing",
        }
    }
}

/// What `/stats` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub articles: usize,
    pub passages: usize,
    pub index_bytes: u64,
    pub uptime_secs: u64,
    pub last_reload: Option<LastReload>,
    /// Over the window.
    pub questions: u64,
    pub distinct_askers: u64,
    pub top_questions: Vec<Asked>,
    /// Questions that found nothing or only weak matches.
    pub gaps: Vec<Asked>,
    pub window_days: u32,
    pub keep_questions: bool,
}

/// How `/stats` names a moderator of another guild who reloaded.
const ANOTHER_GUILD: &str = "a moderator of another server";

/// How long a report waits for the questions asked just before it to be written.
const FLUSH_BEFORE_REPORT: Duration = Duration::from_secs(2);

/// The statistics: what to keep and how to report it, over a [`StatsStore`].
pub struct Stats {
    /// `None` when statistics are disabled.
    store: Option<Arc<dyn StatsStore>>,
    writer: Option<Writer>,
    health: Arc<Health>,
    key: [u8; 32],
    settings: StatsSettings,
    /// This process among those sharing the store (reload announcements skip their origin).
    instance: String,
    /// What people call this instance (`ARTICLEBOT_INSTANCE`, else host and process id).
    name: String,
    /// The PostgreSQL URL, to listen for other instances' reloads.
    shared: Option<String>,
    /// The instances sharing the store and their reloads' outcomes (PostgreSQL only).
    instances: Option<Arc<dyn InstanceStore>>,
}

impl Stats {
    /// Opens the store the settings name: PostgreSQL when `state.url` is set, else SQLite at
    /// `stats.db` (in memory when it names none); a disabled store records nothing.
    ///
    /// The hashing key is derived from `ARTICLEBOT_STATS_KEY` when that is set, else kept in
    /// `<db>.key`; see [`Stats::open_with`].
    pub fn open(settings: &StatsSettings, state: &StateSettings) -> anyhow::Result<Stats> {
        let secret = std::env::var("ARTICLEBOT_STATS_KEY").ok();
        Stats::open_with(settings, state, secret.as_deref())
    }

    /// [`Stats::open_with`] for the embedded SQLite store.
    pub fn open_with_secret(
        settings: &StatsSettings,
        secret: Option<&str>,
    ) -> anyhow::Result<Stats> {
        Stats::open_with(settings, &StateSettings::default(), secret)
    }

    /// [`Stats::open`] with the key secret given rather than read from the environment (the
    /// process environment is shared by every test of a test binary): a non-empty `secret`
    /// derives the key, otherwise it is read from (or created in) `<db>.key`. With
    /// PostgreSQL a secret is required: instances that hashed a person differently would
    /// count them once each.
    pub fn open_with(
        settings: &StatsSettings,
        state: &StateSettings,
        secret: Option<&str>,
    ) -> anyhow::Result<Stats> {
        let health = Arc::new(Health::default());
        if !settings.enabled {
            return Ok(Stats {
                store: None,
                writer: None,
                health,
                key: [0; 32],
                settings: settings.clone(),
                instance: String::new(),
                name: String::new(),
                shared: None,
                instances: None,
            });
        }
        let secret = secret.filter(|s| !s.is_empty());
        let mut instances: Option<Arc<dyn InstanceStore>> = None;
        let (store, key): (Arc<dyn StatsStore>, [u8; 32]) = match (&state.url, &settings.db) {
            (Some(url), _) => {
                let Some(secret) = secret else {
                    anyhow::bail!(
                        "state.url (PostgreSQL) is set but ARTICLEBOT_STATS_KEY is not: give \
                         every instance the same long random value, so that a person is \
                         counted once whichever instance answered"
                    );
                };
                let store = Arc::new(PgStore::open(url)?);
                instances = Some(store.clone());
                (store, derive_key(secret))
            }
            (None, Some(path)) => {
                let store = SqliteStore::open(Some(path))?;
                (Arc::new(store), load_key(path, secret)?)
            }
            (None, None) => (
                Arc::new(SqliteStore::open(None)?),
                secret.map_or_else(random_key, derive_key),
            ),
        };
        let stats = Stats {
            writer: Some(Writer::new(store.clone(), health.clone())),
            store: Some(store),
            health,
            key,
            settings: settings.clone(),
            instance: random_hex(8),
            name: instance_name(),
            shared: state.url.clone(),
            instances,
        };
        // A store that is down at start delays the pruning, not the bot.
        if let Err(e) = stats.prune() {
            tracing::warn!("cannot prune the statistics: {e:#}");
        }
        Ok(stats)
    }

    /// The keyed hash an asker is stored as.
    pub fn hash_asker(&self, asker: &Asker) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, asker.user.as_bytes()).as_bytes()
    }

    /// Whether the store answered its last request, and what was lost while it did not.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// `sqlite` or `postgres`; `None` when statistics are disabled.
    pub fn store_kind(&self) -> Option<&'static str> {
        self.store.as_ref().map(|s| s.kind())
    }

    /// Deletes rows older than the retention period.
    pub fn prune(&self) -> anyhow::Result<u64> {
        let Some(store) = &self.store else {
            return Ok(0);
        };
        let cutoff = now().saturating_sub(u64::from(self.settings.retention_days) * 86_400);
        let result = store.prune(cutoff);
        self.health.record(&result);
        result
    }

    /// Records an `ask` or `search` (other commands are look-ups, not questions). The row is
    /// queued and written by the store's writer: this never waits for the database.
    pub fn record(
        &self,
        command: &Command,
        answer: &Answer,
        asker: Option<&Asker>,
    ) -> anyhow::Result<()> {
        self.record_at(now(), command, answer, asker)
    }

    /// [`Stats::record`] with an explicit time (tests of pruning).
    pub fn record_at(
        &self,
        at: u64,
        command: &Command,
        answer: &Answer,
        asker: Option<&Asker>,
    ) -> anyhow::Result<()> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let (kind, text, fate, score) = match (command, answer) {
            (Command::Ask { question, .. }, Answer::Ask(a)) => {
                let top = a.results.first().map(|r| r.score);
                let fate = match top {
                    None => Fate::Nothing,
                    Some(s) if s < self.settings.weak_score => Fate::Weak,
                    Some(_) => Fate::Answered,
                };
                ("ask", question, fate, top)
            }
            // Turning a page is not another question.
            (Command::Search { page, .. }, _) if *page > 1 => return Ok(()),
            (Command::Search { query, .. }, Answer::Search(s)) => {
                let fate = if s.total == 0 {
                    Fate::Nothing
                } else {
                    Fate::Answered
                };
                ("search", query, fate, None)
            }
            _ => return Ok(()),
        };
        let question = self.settings.keep_questions.then(|| {
            crate::text::clean_whitespace(text)
                .chars()
                .take(300)
                .collect::<String>()
        });
        writer.question(QuestionRow {
            id: crate::state::unique_id(),
            at,
            kind,
            asker: asker.map(|a| self.hash_asker(a)),
            question,
            fate: fate.as_str(),
            score,
            guild: asker.and_then(|a| a.guild),
        });
        Ok(())
    }

    /// Records a reload. `by` is what the adapter names the moderator with (a display name,
    /// never an id) or the trigger ("SIGHUP"); `guild` is where the moderator asked for it
    /// (`None` for the triggers and the command line). Queued like the questions.
    pub fn record_reload(
        &self,
        by: &str,
        guild: Option<u64>,
        report: &ReloadReport,
    ) -> anyhow::Result<()> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let outcome = outcome_text(report);
        writer.reload(ReloadRow {
            id: crate::state::unique_id(),
            at: now(),
            by: by.to_string(),
            outcome,
            guild,
        });
        Ok(())
    }

    /// Tells the instances sharing the store that this one reloaded at `by`'s request, so
    /// that they reload too and report their outcome under `id` (PostgreSQL NOTIFY; nothing
    /// with a store of one's own).
    pub fn announce_reload(&self, id: &str, by: &str, guild: Option<u64>) -> anyhow::Result<()> {
        let reload = Announced {
            id: Some(id.to_string()),
            by: by.to_string(),
            guild,
        };
        match &self.store {
            Some(store) => store.announce_reload(&self.instance, &reload),
            None => Ok(()),
        }
    }

    /// Who asked for each reload another instance announces, as they come; `None` with a
    /// store of one's own. While the receiver lives, this instance says every few seconds
    /// that it is alive ([`crate::state::postgres::HEARTBEAT_EVERY`]).
    pub fn reload_announcements(
        &self,
    ) -> anyhow::Result<Option<tokio::sync::mpsc::UnboundedReceiver<Announced>>> {
        match (&self.shared, &self.store) {
            (Some(url), Some(_)) => Ok(Some(crate::state::postgres::listen_reloads(
                url,
                self.instance.clone(),
                self.name.clone(),
            )?)),
            _ => Ok(None),
        }
    }

    /// Whether this instance shares its reloads with others (and can gather their outcomes).
    pub fn shares_reloads(&self) -> bool {
        self.instances.is_some()
    }

    /// What people call this instance.
    pub fn instance_name(&self) -> &str {
        &self.name
    }

    /// The other instances seen alive within `within` (blocks, a bounded time).
    pub fn other_instances(&self, within: Duration) -> anyhow::Result<Vec<Instance>> {
        let Some(instances) = &self.instances else {
            return Ok(Vec::new());
        };
        let mut all = instances.instances(within)?;
        all.retain(|i| i.id != self.instance);
        Ok(all)
    }

    /// Records this instance's outcome of the reload another announced as `id` (queued and
    /// retried like the statistics).
    pub fn report_reload_outcome(&self, id: &str, report: &ReloadReport) {
        let (Some(instances), Some(writer)) = (&self.instances, &self.writer) else {
            return;
        };
        let (instances, id) = (instances.clone(), id.to_string());
        let outcome = InstanceReload {
            instance: self.instance.clone(),
            name: self.name.clone(),
            applied: report.outcome == Outcome::Swapped,
            outcome: outcome_text(report),
        };
        writer.run(move || instances.report_reload(&id, &outcome));
    }

    /// The outcomes reported so far for reload `id` (blocks, a bounded time).
    pub fn reload_outcomes(&self, id: &str) -> anyhow::Result<Vec<InstanceReload>> {
        match &self.instances {
            Some(instances) => instances.reload_outcomes(id),
            None => Ok(Vec::new()),
        }
    }

    /// Says this instance stops: it is not waited for from now on (blocks, a bounded time).
    pub fn leave(&self) {
        if let Some(instances) = &self.instances {
            if let Err(e) = instances.leave(&self.instance) {
                tracing::debug!("cannot remove this instance from the shared list: {e:#}");
            }
        }
    }

    /// Waits (a bounded time) until the rows recorded so far are written.
    pub fn flush(&self) -> bool {
        self.writer
            .as_ref()
            .is_none_or(|w| w.flush(FLUSH_BEFORE_REPORT))
    }

    /// The report for `guild` over the retention window: the questions asked there only. The
    /// last reload is the bot's (the content is shared), but who made it is named only when
    /// it was a trigger or a moderator of `guild`. With the store unreachable, the counts
    /// are left empty (and a warning logged).
    pub fn report(&self, lib: &Library, uptime: Duration, guild: u64) -> StatsReport {
        let mut report = StatsReport {
            articles: lib.articles.len(),
            passages: lib.passages.len(),
            index_bytes: lib.index.size_on_disk(),
            uptime_secs: uptime.as_secs(),
            last_reload: None,
            questions: 0,
            distinct_askers: 0,
            top_questions: Vec::new(),
            gaps: Vec::new(),
            window_days: self.settings.retention_days,
            keep_questions: self.settings.keep_questions,
        };
        let Some(store) = &self.store else {
            return report;
        };
        self.flush();
        let since = now().saturating_sub(u64::from(self.settings.retention_days) * 86_400);
        let result = store.counts(guild, since, ANOTHER_GUILD);
        self.health.record(&result);
        match result {
            Ok(counts) => {
                report.last_reload = counts.last_reload;
                report.questions = counts.questions;
                report.distinct_askers = counts.distinct_askers;
                report.top_questions = counts.top_questions;
                report.gaps = counts.gaps;
            }
            Err(e) => tracing::warn!("cannot read statistics: {e:#}"),
        }
        report
    }
}

/// The text a reload's outcome is recorded as: what it did, or why the old content stays.
pub fn outcome_text(report: &ReloadReport) -> String {
    match &report.outcome {
        Outcome::Swapped => format!(
            "reloaded {} articles (+{} −{} ~{})",
            report.articles,
            report.added.len(),
            report.removed.len(),
            report.changed.len()
        ),
        Outcome::KeptOld(reason) => format!("kept the old content: {reason}"),
    }
}

/// `bytes` random bytes as hex.
pub fn random_hex(bytes: usize) -> String {
    random_key()[..bytes.min(32)]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What this instance is called in reload reports: `ARTICLEBOT_INSTANCE` when set (a replica's
/// name in a deployment), else the host's name and the process id.
fn instance_name() -> String {
    if let Some(name) = std::env::var("ARTICLEBOT_INSTANCE")
        .ok()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
    {
        return name.chars().take(64).collect();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!("{host}:{}", std::process::id())
}

fn random_key() -> [u8; 32] {
    use std::io::Read;
    let mut key = [0u8; 32];
    let urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if urandom.is_err() {
        // No /dev/urandom: fresh process entropy, hashed. Unguessable enough for a pseudonym.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut h = blake3::Hasher::new();
        h.update(&nanos.to_le_bytes());
        h.update(&std::process::id().to_le_bytes());
        key = *h.finalize().as_bytes();
    }
    key
}

/// The hashing key: derived from `secret` (`ARTICLEBOT_STATS_KEY`), else `<db>.key` (created
/// on first use).
fn load_key(db: &Path, secret: Option<&str>) -> anyhow::Result<[u8; 32]> {
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        return Ok(derive_key(secret));
    }
    let path = key_path(db);
    // Before, the key sat at `<db stem>.key` (`stats.key` beside `stats.sqlite3`), not where
    // the documentation says; a key kept there moves, so the stored hashes keep matching.
    let legacy = db.with_extension("key");
    if legacy != path && legacy.exists() && !path.exists() {
        std::fs::rename(&legacy, &path)
            .with_context(|| format!("cannot move {} to {}", legacy.display(), path.display()))?;
    }
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == 32 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(&bytes);
            Ok(key)
        }
        Ok(_) => anyhow::bail!("{}: not a 32-byte key", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The hashing key a secret (`ARTICLEBOT_STATS_KEY`) stands for.
fn derive_key(secret: &str) -> [u8; 32] {
    blake3::derive_key("articlebot stats key v1", secret.as_bytes())
}

/// `<db>.key`: `data/stats.sqlite3.key` beside `data/stats.sqlite3`.
fn key_path(db: &Path) -> std::path::PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    path.into()
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
