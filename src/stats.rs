//! Question statistics for moderators: what people ask, what found nothing or only weak
//! matches (the gaps in the collection), and the reloads. Kept in SQLite (rusqlite, bundled)
//! in the data directory so a restart keeps them; pruned after `retention_days`. Questions
//! are kept per guild and reported per guild: a guild's moderators see their own community's
//! questions only. The database, its WAL files and the key are created 0600, a folder made
//! for them 0700; the schema is versioned and migrated at open ([`SCHEMA_VERSION`]).
//!
//! Privacy: no user id is stored in the clear. An asker is stored as a keyed BLAKE3 hash whose
//! key lives in a separate file beside the database (`<db>.key`, created on first use, mode
//! 0600) or comes from `ARTICLEBOT_STATS_KEY`. Question text is stored only when
//! `stats.keep_questions` is true.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::answer::{Answer, Command};
use crate::config::StatsSettings;
use crate::library::Library;
use crate::reload::{Outcome, ReloadReport};

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

/// The version of the database's schema this build writes (SQLite's `user_version`):
/// 0 had no guilds; 1 keys questions and reloads by guild.
pub const SCHEMA_VERSION: i64 = 1;

/// Brings a database of any earlier schema version to [`SCHEMA_VERSION`], in one transaction
/// (a new database goes through the same steps). Rows kept from version 0 have no guild: they
/// count in no guild's `/stats`, since where they were asked is not known.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "the statistics database has schema version {version}, newer than this \
             articlebot's ({SCHEMA_VERSION}); use a newer articlebot or another stats.db"
        );
    }
    let tx = conn.transaction()?;
    // Version 0, as first written.
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS questions (
             at INTEGER NOT NULL,
             kind TEXT NOT NULL,
             asker BLOB,
             question TEXT,
             fate TEXT NOT NULL,
             score REAL
         );
         CREATE INDEX IF NOT EXISTS questions_at ON questions (at);
         CREATE TABLE IF NOT EXISTS reloads (
             at INTEGER NOT NULL,
             by TEXT NOT NULL,
             outcome TEXT NOT NULL
         );",
    )?;
    if version < 1 {
        tx.execute_batch(
            "ALTER TABLE questions ADD COLUMN guild INTEGER;
             ALTER TABLE reloads ADD COLUMN guild INTEGER;
             CREATE INDEX IF NOT EXISTS questions_guild_at ON questions (guild, at);",
        )?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The statistics store.
pub struct Stats {
    conn: Option<Mutex<Connection>>,
    key: [u8; 32],
    settings: StatsSettings,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Stats {
    /// Opens (creating) the database the settings name, in memory when they name none; a
    /// disabled store records nothing.
    ///
    /// The hashing key is derived from `ARTICLEBOT_STATS_KEY` when that is set, else kept in
    /// `<db>.key`; see [`Stats::open_with_secret`].
    pub fn open(settings: &StatsSettings) -> anyhow::Result<Stats> {
        let secret = std::env::var("ARTICLEBOT_STATS_KEY").ok();
        Stats::open_with_secret(settings, secret.as_deref())
    }

    /// [`Stats::open`] with the key secret given rather than read from the environment (the
    /// process environment is shared by every test of a test binary): a non-empty `secret`
    /// derives the key, otherwise it is read from (or created in) `<db>.key`.
    pub fn open_with_secret(
        settings: &StatsSettings,
        secret: Option<&str>,
    ) -> anyhow::Result<Stats> {
        if !settings.enabled {
            return Ok(Stats {
                conn: None,
                key: [0; 32],
                settings: settings.clone(),
            });
        }
        let (mut conn, key) = match &settings.db {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    create_private_dir(parent)?;
                }
                create_private_file(path)?;
                let conn = Connection::open(path).with_context(|| {
                    format!("cannot open the statistics database {}", path.display())
                })?;
                (conn, load_key(path, secret)?)
            }
            None => (Connection::open_in_memory()?, random_key()),
        };
        let name = settings
            .db
            .as_ref()
            .map_or("(in memory)".into(), |p| p.display().to_string());
        conn.execute_batch("PRAGMA journal_mode = WAL;")
            .map_err(anyhow::Error::from)
            .and_then(|()| migrate(&mut conn))
            .with_context(|| format!("cannot prepare the statistics database {name}"))?;
        let stats = Stats {
            conn: Some(Mutex::new(conn)),
            key,
            settings: settings.clone(),
        };
        stats.prune()?;
        Ok(stats)
    }

    fn conn(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .as_ref()
            .map(|c| c.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The keyed hash an asker is stored as.
    pub fn hash_asker(&self, asker: &Asker) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, asker.user.as_bytes()).as_bytes()
    }

    /// Deletes rows older than the retention period.
    pub fn prune(&self) -> anyhow::Result<usize> {
        let Some(conn) = self.conn() else {
            return Ok(0);
        };
        let cutoff = now().saturating_sub(u64::from(self.settings.retention_days) * 86_400);
        let n = conn.execute("DELETE FROM questions WHERE at < ?1", params![cutoff])?;
        let m = conn.execute("DELETE FROM reloads WHERE at < ?1", params![cutoff])?;
        Ok(n + m)
    }

    /// Records an `ask` or `search` (other commands are look-ups, not questions).
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
        let Some(conn) = self.conn() else {
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
        let text = self.settings.keep_questions.then(|| {
            crate::text::clean_whitespace(text)
                .chars()
                .take(300)
                .collect::<String>()
        });
        let hash = asker.map(|a| self.hash_asker(a).to_vec());
        let guild = asker.and_then(|a| a.guild).map(guild_key);
        conn.execute(
            "INSERT INTO questions (at, kind, asker, question, fate, score, guild) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![at, kind, hash, text, fate.as_str(), score, guild],
        )?;
        Ok(())
    }

    /// Records a reload. `by` is what the adapter names the moderator with (a display name,
    /// never an id) or the trigger ("SIGHUP"); `guild` is where the moderator asked for it
    /// (`None` for the triggers and the command line).
    pub fn record_reload(&self, by: &str, guild: Option<u64>, report: &ReloadReport) {
        let Some(conn) = self.conn() else { return };
        let outcome = match &report.outcome {
            Outcome::Swapped => format!(
                "reloaded {} articles (+{} −{} ~{})",
                report.articles,
                report.added.len(),
                report.removed.len(),
                report.changed.len()
            ),
            Outcome::KeptOld(reason) => format!("kept the old content: {reason}"),
        };
        if let Err(e) = conn.execute(
            "INSERT INTO reloads (at, by, outcome, guild) VALUES (?1, ?2, ?3, ?4)",
            params![now(), by, outcome, guild.map(guild_key)],
        ) {
            tracing::warn!("cannot record the reload: {e}");
        }
    }

    /// The report for `guild` over the retention window: the questions asked there only. The
    /// last reload is the bot's (the content is shared), but who made it is named only when
    /// it was a trigger or a moderator of `guild`.
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
        let Some(conn) = self.conn() else {
            return report;
        };
        let since = now().saturating_sub(u64::from(self.settings.retention_days) * 86_400);
        let result: rusqlite::Result<()> = (|| {
            let guild = guild_key(guild);
            report.last_reload = conn
                .query_row(
                    "SELECT CASE WHEN guild IS NULL OR guild = ?1 THEN by ELSE ?2 END, at, \
                     outcome FROM reloads ORDER BY at DESC, rowid DESC LIMIT 1",
                    params![guild, ANOTHER_GUILD],
                    |r| {
                        Ok(LastReload {
                            by: r.get(0)?,
                            at: r.get(1)?,
                            outcome: r.get(2)?,
                        })
                    },
                )
                .ok();
            report.questions = conn.query_row(
                "SELECT COUNT(*) FROM questions WHERE at >= ?1 AND guild = ?2",
                params![since, guild],
                |r| r.get(0),
            )?;
            report.distinct_askers = conn.query_row(
                "SELECT COUNT(DISTINCT asker) FROM questions WHERE at >= ?1 AND guild = ?2",
                params![since, guild],
                |r| r.get(0),
            )?;
            let grouped = |fates: &str| -> rusqlite::Result<Vec<Asked>> {
                let sql = format!(
                    "SELECT lower(question) AS q, COUNT(*) AS n FROM questions \
                     WHERE at >= ?1 AND guild = ?2 AND question IS NOT NULL \
                     AND fate IN ({fates}) GROUP BY q ORDER BY n DESC, q ASC LIMIT 10"
                );
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params![since, guild], |r| {
                    Ok(Asked {
                        question: r.get(0)?,
                        count: r.get(1)?,
                    })
                })?;
                rows.collect()
            };
            report.top_questions = grouped("'answered', 'weak', 'nothing'")?;
            report.gaps = grouped("'weak', 'nothing'")?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!("cannot read statistics: {e}");
        }
        report
    }
}

/// How `/stats` names a moderator of another guild who reloaded.
const ANOTHER_GUILD: &str = "a moderator of another server";

/// A guild id as SQLite stores it (a signed 64-bit integer; snowflakes fit, bits unchanged).
fn guild_key(guild: u64) -> i64 {
    guild as i64
}

/// Creates `dir` and its missing parents readable by the owner only (0700). A folder that
/// already exists is left as it is: it may be shared (the index lives beside it by default).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Creates the database file readable by the owner only (0600) before SQLite opens it; SQLite
/// gives its WAL and shared-memory files the database file's mode. Files of an older
/// install, created with the umask's mode, are narrowed to 0600 too.
fn create_private_file(db: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)
            .with_context(|| format!("cannot create {}", db.display()))?;
        for suffix in ["", "-wal", "-shm"] {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            let path = std::path::PathBuf::from(path);
            match std::fs::metadata(&path) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("cannot make {} private", path.display()))?;
                }
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
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
    if let Some(secret) = secret {
        if !secret.is_empty() {
            return Ok(blake3::derive_key(
                "articlebot stats key v1",
                secret.as_bytes(),
            ));
        }
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
