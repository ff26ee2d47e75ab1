//! The embedded store: SQLite (rusqlite, bundled) in one file (`stats.db`) or in memory. The
//! database, its WAL files and the folder made for them are private (0600, 0700); the schema
//! carries its version ([`SCHEMA_VERSION`], SQLite's `user_version`) and older databases are
//! migrated at open, never refused.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{params, Connection};

use super::{guild_key, Asked, GuildCounts, LastReload, QuestionRow, ReloadRow, StatsStore};

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

/// Statistics in SQLite.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating, private) the database at `path`, or one in memory.
    pub fn open(path: Option<&Path>) -> anyhow::Result<SqliteStore> {
        let mut conn = match path {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    create_private_dir(parent)?;
                }
                create_private_file(path)?;
                Connection::open(path).with_context(|| {
                    format!("cannot open the statistics database {}", path.display())
                })?
            }
            None => Connection::open_in_memory()?,
        };
        let name = path.map_or("(in memory)".into(), |p| p.display().to_string());
        conn.execute_batch("PRAGMA journal_mode = WAL;")
            .map_err(anyhow::Error::from)
            .and_then(|()| migrate(&mut conn))
            .with_context(|| format!("cannot prepare the statistics database {name}"))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StatsStore for SqliteStore {
    fn add_question(&self, q: &QuestionRow) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO questions (at, kind, asker, question, fate, score, guild) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                q.at,
                q.kind,
                q.asker.map(|h| h.to_vec()),
                q.question,
                q.fate,
                q.score,
                q.guild.map(guild_key)
            ],
        )?;
        Ok(())
    }

    fn add_reload(&self, r: &ReloadRow) -> anyhow::Result<()> {
        self.conn()
            .execute(
                "INSERT INTO reloads (at, by, outcome, guild) VALUES (?1, ?2, ?3, ?4)",
                params![r.at, r.by, r.outcome, r.guild.map(guild_key)],
            )
            .context("cannot record the reload")?;
        Ok(())
    }

    fn counts(&self, guild: u64, since: u64, another_guild: &str) -> anyhow::Result<GuildCounts> {
        let conn = self.conn();
        let guild = guild_key(guild);
        let last_reload = conn
            .query_row(
                "SELECT CASE WHEN guild IS NULL OR guild = ?1 THEN by ELSE ?2 END, at, \
                 outcome FROM reloads ORDER BY at DESC, rowid DESC LIMIT 1",
                params![guild, another_guild],
                |r| {
                    Ok(LastReload {
                        by: r.get(0)?,
                        at: r.get(1)?,
                        outcome: r.get(2)?,
                    })
                },
            )
            .ok();
        let questions = conn.query_row(
            "SELECT COUNT(*) FROM questions WHERE at >= ?1 AND guild = ?2",
            params![since, guild],
            |r| r.get(0),
        )?;
        let distinct_askers = conn.query_row(
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
        Ok(GuildCounts {
            questions,
            distinct_askers,
            top_questions: grouped("'answered', 'weak', 'nothing'")?,
            gaps: grouped("'weak', 'nothing'")?,
            last_reload,
        })
    }

    fn prune(&self, before: u64) -> anyhow::Result<u64> {
        let conn = self.conn();
        let n = conn.execute("DELETE FROM questions WHERE at < ?1", params![before])?;
        let m = conn.execute("DELETE FROM reloads WHERE at < ?1", params![before])?;
        Ok((n + m) as u64)
    }

    fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

/// Creates `dir` and its missing parents readable by the owner only (0700). A folder that
/// already exists is left as it is: it may be shared (the index lives beside it by default).
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
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
