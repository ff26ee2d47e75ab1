//! The shared store: PostgreSQL (`[state] url` or `DATABASE_URL`), the same tables for every
//! instance pointed at it. The schema is versioned SQL in `migrations/postgres/`, embedded at
//! build time and applied at connection by refinery (under an advisory lock, so instances
//! starting together apply it once).
//!
//! One thread owns the connection (the `postgres` client runs its own small runtime, which
//! must be neither used nor dropped on an async worker): every call is sent to it and waits
//! for its answer. A connection that broke is made again on the next call, so the store
//! comes back by itself when PostgreSQL does; a call while it cannot be made fails at once
//! with the reason (the writer retries, a report says the numbers are unavailable).

use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use postgres::{Client, Config, NoTls};

use super::{
    guild_key, Announced, Asked, GuildCounts, LastReload, QuestionRow, ReloadRow, StatsStore,
};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// How long making a connection may take (unless the URL says `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A statement running longer is cancelled by the server: a stalled database cannot hold
/// the writer (or a `/stats`) for ever.
const STATEMENT_TIMEOUT_MS: u32 = 10_000;
/// Any number, the same in every instance: the advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x6172_7469_636c_6562; // "articleb"

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Statistics in PostgreSQL.
pub struct PgStore {
    jobs: mpsc::Sender<Job>,
}

/// The connection thread's state.
struct Connection {
    config: Config,
    client: Option<Client>,
}

impl Connection {
    /// The client, connected (and migrated) now if it was not or its connection broke.
    fn client(&mut self) -> anyhow::Result<&mut Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let mut client = self
                .config
                .connect(NoTls)
                .context("cannot connect to PostgreSQL")?;
            migrate(&mut client)?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs `f` on the connection; a failure that closed it drops it (the next call
    /// reconnects).
    fn with<T>(&mut self, f: impl FnOnce(&mut Client) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let result = f(self.client()?);
        if result.is_err() && self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        result
    }
}

/// Applies the embedded migrations that this database has not seen, one instance at a time.
fn migrate(client: &mut Client) -> anyhow::Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .context("cannot take the migration lock")?;
    let result = embedded::migrations::runner()
        .run(client)
        .context("cannot migrate the PostgreSQL schema");
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result.map(|_| ())
}

impl PgStore {
    /// A store for `url` (`postgres://user:password@host:port/database?…`). Only the URL is
    /// checked here; the first call connects, so a database that is down at start delays
    /// the statistics, not the bot.
    pub fn open(url: &str) -> anyhow::Result<PgStore> {
        let mut config = Config::from_str(url)
            .map_err(|e| anyhow::anyhow!("state.url is not a valid PostgreSQL URL: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let options = format!(
            "{} -c statement_timeout={STATEMENT_TIMEOUT_MS}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim());
        config.keepalives_idle(Duration::from_secs(30));
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("state-postgres".into())
            .spawn(move || {
                let mut conn = Connection {
                    config,
                    client: None,
                };
                for job in rx {
                    job(&mut conn);
                }
            })
            .context("cannot start the PostgreSQL thread")?;
        Ok(PgStore { jobs })
    }

    /// Runs `f` on the connection thread and waits for its result.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |conn: &mut Connection| {
                let _ = tx.send(conn.with(f));
            }))
            .map_err(|_| anyhow::anyhow!("the PostgreSQL thread has stopped"))?;
        rx.recv()
            .map_err(|_| anyhow::anyhow!("the PostgreSQL thread has stopped"))?
    }
}

impl StatsStore for PgStore {
    fn add_question(&self, q: &QuestionRow) -> anyhow::Result<()> {
        let q = q.clone();
        self.run(move |client| {
            client.execute(
                "INSERT INTO questions (at, kind, asker, question, fate, score, guild) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &(q.at as i64),
                    &q.kind,
                    &q.asker.as_ref().map(|h| h.as_slice()),
                    &q.question,
                    &q.fate,
                    &q.score,
                    &q.guild.map(guild_key),
                ],
            )?;
            Ok(())
        })
    }

    fn add_reload(&self, r: &ReloadRow) -> anyhow::Result<()> {
        let r = r.clone();
        self.run(move |client| {
            client
                .execute(
                    "INSERT INTO reloads (at, \"by\", outcome, guild) VALUES ($1, $2, $3, $4)",
                    &[&(r.at as i64), &r.by, &r.outcome, &r.guild.map(guild_key)],
                )
                .context("cannot record the reload")?;
            Ok(())
        })
    }

    fn counts(&self, guild: u64, since: u64, another_guild: &str) -> anyhow::Result<GuildCounts> {
        let another = another_guild.to_string();
        self.run(move |client| {
            let (guild, since) = (guild_key(guild), since as i64);
            let last_reload = client
                .query_opt(
                    "SELECT CASE WHEN guild IS NULL OR guild = $1 THEN \"by\" ELSE $2 END, at, \
                     outcome FROM reloads ORDER BY at DESC, id DESC LIMIT 1",
                    &[&guild, &another],
                )?
                .map(|r| LastReload {
                    by: r.get(0),
                    at: r.get::<_, i64>(1) as u64,
                    outcome: r.get(2),
                });
            let row = client.query_one(
                "SELECT COUNT(*), COUNT(DISTINCT asker) FROM questions \
                 WHERE at >= $1 AND guild = $2",
                &[&since, &guild],
            )?;
            let (questions, distinct_askers): (i64, i64) = (row.get(0), row.get(1));
            let mut grouped = |fates: &[&str]| -> anyhow::Result<Vec<Asked>> {
                let fates: Vec<String> = fates.iter().map(|f| f.to_string()).collect();
                Ok(client
                    .query(
                        "SELECT lower(question) COLLATE \"C\" AS q, COUNT(*) AS n FROM questions \
                         WHERE at >= $1 AND guild = $2 AND question IS NOT NULL \
                         AND fate = ANY($3) GROUP BY q ORDER BY n DESC, q ASC LIMIT 10",
                        &[&since, &guild, &fates],
                    )?
                    .iter()
                    .map(|r| Asked {
                        question: r.get(0),
                        count: r.get::<_, i64>(1) as u64,
                    })
                    .collect())
            };
            let top_questions = grouped(&["answered", "weak", "nothing"])?;
            let gaps = grouped(&["weak", "nothing"])?;
            Ok(GuildCounts {
                questions: questions as u64,
                distinct_askers: distinct_askers as u64,
                top_questions,
                gaps,
                last_reload,
            })
        })
    }

    fn prune(&self, before: u64) -> anyhow::Result<u64> {
        self.run(move |client| {
            let before = before as i64;
            let n = client.execute("DELETE FROM questions WHERE at < $1", &[&before])?;
            let m = client.execute("DELETE FROM reloads WHERE at < $1", &[&before])?;
            Ok(n + m)
        })
    }

    fn ping(&self) -> anyhow::Result<()> {
        self.run(|client| {
            client.simple_query("SELECT 1")?;
            Ok(())
        })
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn announce_reload(&self, origin: &str, reload: &Announced) -> anyhow::Result<()> {
        let payload = format!("{origin}\t{}", reload.encode());
        self.run(move |client| {
            client.execute("SELECT pg_notify($1, $2)", &[&RELOAD_CHANNEL, &payload])?;
            Ok(())
        })
    }
}

/// The LISTEN/NOTIFY channel reloads are announced on; a payload is
/// `origin<TAB>guild<TAB>by` ([`Announced::encode`] after the origin).
const RELOAD_CHANNEL: &str = "articlebot_reload";

/// Listens for the reloads other instances announce on the database at `url` and sends
/// each to the returned receiver, skipping `origin`'s own. A connection of
/// its own, on a thread of its own, made again (every few seconds) while the database is
/// away: a reload announced meanwhile is missed, which an instance that was cut off makes
/// up for by reloading when the connection returns. Stops when the receiver is dropped.
pub fn listen_reloads(
    url: &str,
    origin: String,
) -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<Announced>> {
    let mut config = Config::from_str(url)
        .map_err(|e| anyhow::anyhow!("state.url is not a valid PostgreSQL URL: {e}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.keepalives_idle(Duration::from_secs(30));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("state-listen".into())
        .spawn(move || {
            let mut connected_before = false;
            while !tx.is_closed() {
                if let Ok(mut client) = config.connect(NoTls) {
                    if client
                        .batch_execute(&format!("LISTEN {RELOAD_CHANNEL}"))
                        .is_ok()
                    {
                        if connected_before {
                            // Announcements made while cut off are lost: catch up at once.
                            let catch_up = Announced {
                                by: "the shared state's return".into(),
                                guild: None,
                            };
                            if tx.send(catch_up).is_err() {
                                return;
                            }
                        }
                        connected_before = true;
                        listen(&mut client, &origin, &tx);
                    }
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        })
        .context("cannot start the PostgreSQL listener thread")?;
    Ok(rx)
}

/// Forwards notifications until the connection breaks or the receiver is gone.
fn listen(client: &mut Client, origin: &str, tx: &tokio::sync::mpsc::UnboundedSender<Announced>) {
    loop {
        {
            let mut notifications = client.notifications();
            // A short wait, so that a dropped receiver or a broken connection is noticed.
            let mut batch = notifications.timeout_iter(Duration::from_secs(5));
            loop {
                match postgres::fallible_iterator::FallibleIterator::next(&mut batch) {
                    Ok(Some(n)) => {
                        let (from, reload) = n.payload().split_once('\t').unwrap_or(("", ""));
                        if from != origin && tx.send(Announced::decode(reload)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
        }
        if tx.is_closed() || client.is_closed() {
            return;
        }
        // Nothing came within the wait: check the connection is alive.
        if client.simple_query("SELECT 1").is_err() {
            return;
        }
    }
}
