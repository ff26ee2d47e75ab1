//! The shared store: PostgreSQL (`[state] url` or `DATABASE_URL`), the same tables for every
//! instance pointed at it. The schema is versioned SQL in `migrations/postgres/`, embedded at
//! build time and applied at connection by refinery (under an advisory lock, so instances
//! starting together apply it once).
//!
//! One thread owns the connection (the `postgres` client runs its own small runtime, which
//! must be neither used nor dropped on an async worker): every call is sent to it and waits
//! for its answer. A connection that broke is made again on the next call, so the store
//! comes back by itself when PostgreSQL does; a call while it cannot be made fails at once
//! with the reason (the writer retries, a report says the numbers are unavailable); for a
//! second after a failed connection, calls fail without trying again, so that a queue of
//! calls does not wait for one connection timeout each.
//!
//! Besides the statistics, the same tables hold every other kind of shared state
//! ([`super::kinds`]). Each instance keeps a copy in memory of what it reads on every answer
//! (curated answers, demotions, threads, conversations) and follows the others' writes:
//! every write of those kinds is announced on the [`STATE_CHANNEL`] (LISTEN/NOTIFY) by the
//! instance that made it, and [`watch`] hands the announcements to the owners of the copies,
//! with [`Change::Connected`] on every (re)connection, when they read everything again (what
//! was announced while an instance was cut off is never lost that way). Cooldowns and button
//! state are not copied: a cooldown is started by one statement, so that two instances never
//! both start it, and button state is read when a button is pressed (rarely, and on any
//! instance).
//!
//! Reloads are announced on their own channel ([`listen_reloads`]), whose listener also says
//! every few seconds that its instance is alive (the `instances` table); each instance told
//! of a reload records its outcome under the reload's id ([`InstanceStore`]), for the
//! instance that was asked for it. The articles seen for announcements are one table
//! ([`AnnouncedStore`]), so that a new article is posted by one instance only.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use postgres::{Client, Config, NoTls};

use super::{
    guild_key, Announced, AnnouncedStore, Asked, ButtonStore, ConversationStore, CooldownStore,
    CurateStore, Curated, GuildCounts, Instance, InstanceReload, InstanceStore, KeptButtons,
    LastReload, NewCurated, NewVote, QuestionRow, ReloadRow, StatsStore, Tally, ThreadStore,
    VoteStore,
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

/// Conversations not seen for this long are deleted from the shared store.
const CONVERSATIONS_KEPT_SECS: u64 = 30 * 86_400;
/// After a failed connection, calls fail at once for this long rather than trying again.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// How long a call on an answer's path (a cooldown check, button state) waits for the
/// database before the caller falls back on its own memory.
pub const ON_ANSWER_PATIENCE: Duration = Duration::from_millis(500);

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The state in PostgreSQL: a handle on one connection thread (clones share it).
#[derive(Clone)]
pub struct PgStore {
    jobs: mpsc::Sender<Job>,
    /// This process among those sharing the database: its announcements name it, and
    /// [`watch`] skips them.
    origin: String,
}

/// The connection thread's state.
struct Connection {
    config: Config,
    client: Option<Client>,
    /// When the last connection attempt failed (see [`RECONNECT_PAUSE`]).
    failed: Option<(Instant, String)>,
}

impl Connection {
    /// The client, connected (and migrated) now if it was not or its connection broke.
    fn client(&mut self) -> anyhow::Result<&mut Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            if let Some((at, reason)) = &self.failed {
                if at.elapsed() < RECONNECT_PAUSE {
                    anyhow::bail!("cannot connect to PostgreSQL: {reason}");
                }
            }
            let connected = self
                .config
                .connect(NoTls)
                .context("cannot connect to PostgreSQL")
                .and_then(|mut client| migrate(&mut client).map(|()| client));
            match connected {
                Ok(client) => {
                    self.failed = None;
                    self.client = Some(client);
                }
                Err(e) => {
                    self.failed = Some((Instant::now(), format!("{e:#}")));
                    return Err(e);
                }
            }
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
    /// Keeps button state under `id` unless a state is kept there already: the retry of a
    /// keep whose first try timed out on the answer's path, which may have committed all the
    /// same (a page turned since, on any instance, must not be put back to the first).
    pub fn keep_buttons_unless_kept(&self, id: u64, asker: u64, state: &str) -> anyhow::Result<()> {
        let state = state.to_string();
        self.run(move |client| {
            client.execute(
                &format!(
                    "INSERT INTO buttons (id, asker, state, created) VALUES ($1, $2, $3, \
                     {CLOCK_MS}) ON CONFLICT (id) DO NOTHING"
                ),
                &[&guild_key(id), &guild_key(asker), &state],
            )?;
            Ok(())
        })
    }

    /// A store for `url` (`postgres://user:password@host:port/database?…`). Only the URL is
    /// checked here; the first call connects, so a database that is down at start delays
    /// the statistics, not the bot.
    pub fn open(url: &str) -> anyhow::Result<PgStore> {
        let mut config = client_config(url)?;
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
                    failed: None,
                };
                for job in rx {
                    job(&mut conn);
                }
            })
            .context("cannot start the PostgreSQL thread")?;
        Ok(PgStore {
            jobs,
            origin: new_origin(),
        })
    }

    /// This process's name in its announcements.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Runs `f` on the connection thread and waits for its result at most `patience`; a call
    /// still waiting for its turn by then is not run at all.
    fn run_within<T: Send + 'static>(
        &self,
        patience: Duration,
        f: impl FnOnce(&mut Client) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + patience;
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |conn: &mut Connection| {
                if Instant::now() < deadline {
                    let _ = tx.send(conn.with(f));
                }
            }))
            .map_err(|_| anyhow::anyhow!("the PostgreSQL thread has stopped"))?;
        rx.recv_timeout(patience).map_err(|_| {
            anyhow::anyhow!(
                "PostgreSQL did not answer within {} ms",
                patience.as_millis()
            )
        })?
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
                "INSERT INTO questions (at, kind, asker, question, fate, score, guild, \
                 write_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (write_id) DO NOTHING",
                &[
                    &(q.at as i64),
                    &q.kind,
                    &q.asker.as_ref().map(|h| h.as_slice()),
                    &q.question,
                    &q.fate,
                    &q.score,
                    &q.guild.map(guild_key),
                    &(q.id as i64),
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
                    "INSERT INTO reloads (at, \"by\", outcome, guild, write_id) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (write_id) DO NOTHING",
                    &[
                        &(r.at as i64),
                        &r.by,
                        &r.outcome,
                        &r.guild.map(guild_key),
                        &(r.id as i64),
                    ],
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
        let payload = reload.encode(origin);
        self.run(move |client| {
            client.execute("SELECT pg_notify($1, $2)", &[&RELOAD_CHANNEL, &payload])?;
            Ok(())
        })
    }
}

/// The LISTEN/NOTIFY channel reloads are announced on; a payload is
/// `origin[/id]<TAB>guild<TAB>by` ([`Announced::encode`]).
const RELOAD_CHANNEL: &str = "articlebot_reload";

/// How often an instance's reload listener says the instance is alive (see [`ALIVE_WITHIN`]).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// An instance is alive while its reload listener is connected and says so: it did within
/// this long (three heartbeats, so that one late heartbeat on a busy host does not count it
/// out). Only alive instances are waited for when a reload's outcomes are gathered.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(15);
/// Instances not seen for this long are forgotten (one that stops cleanly leaves at once).
const INSTANCES_KEPT_MS: i64 = 86_400_000;
/// Reload outcomes are read within seconds of being reported; older ones go.
const OUTCOMES_KEPT_MS: i64 = 3_600_000;
/// How long a call about instances and reload outcomes waits for the database.
const INSTANCES_PATIENCE: Duration = Duration::from_secs(2);

/// How long [`listen_reloads`] waits for its first connection, so that an instance that
/// starts says it is alive and hears reloads before it serves (unless the database is away).
const LISTENING_PATIENCE: Duration = Duration::from_secs(3);

/// Listens for the reloads other instances announce on the database at `url` and sends
/// each to the returned receiver, skipping `origin`'s own; says every [`HEARTBEAT_EVERY`] that
/// instance `origin` (named `name`) is alive (see [`InstanceStore::instances`]), only while it
/// listens: alive means told of every reload. A connection of its own, on a thread of its
/// own, made again (every few seconds) while the database is away. A reload announced
/// meanwhile is missed, which an instance that was cut off makes up for by reloading when the
/// connection returns. Returns once it listens (or after [`LISTENING_PATIENCE`]); stops when
/// the receiver is dropped.
pub fn listen_reloads(
    url: &str,
    origin: String,
    name: String,
) -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<Announced>> {
    let config = client_config(url)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (listening, first) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("state-listen".into())
        .spawn(move || {
            let mut connected_before = false;
            while !tx.is_closed() {
                if let Ok(mut client) = config.connect(NoTls) {
                    // The heartbeat's table may be newer than this database's schema.
                    if let Err(e) = migrate(&mut client) {
                        tracing::debug!("the reload listener cannot migrate: {e:#}");
                    }
                    if client
                        .batch_execute(&format!("LISTEN {RELOAD_CHANNEL}"))
                        .is_ok()
                    {
                        if connected_before {
                            // Announcements made while cut off are lost: catch up at once.
                            let catch_up = Announced {
                                id: None,
                                by: "the shared state's return".into(),
                                guild: None,
                            };
                            if tx.send(catch_up).is_err() {
                                return;
                            }
                        }
                        connected_before = true;
                        if let Err(e) = heartbeat(&mut client, &origin, &name) {
                            tracing::debug!("the reload listener's heartbeat failed: {e:#}");
                        }
                        let _ = listening.try_send(());
                        listen(&mut client, (&origin, &name), &tx);
                    }
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        })
        .context("cannot start the PostgreSQL listener thread")?;
    if first.recv_timeout(LISTENING_PATIENCE).is_err() {
        tracing::warn!(
            "not listening for the other instances' reloads yet (PostgreSQL does not answer): \
             trying again in the background"
        );
    }
    Ok(rx)
}

/// Forwards notifications until the connection breaks or the receiver is gone, saying that
/// the instance is alive every [`HEARTBEAT_EVERY`] meanwhile.
fn listen(
    client: &mut Client,
    (origin, name): (&str, &str),
    tx: &tokio::sync::mpsc::UnboundedSender<Announced>,
) {
    loop {
        if tx.is_closed() {
            // The instance stops (it may already have left: this keeps it gone).
            let _ = client.execute("DELETE FROM instances WHERE instance = $1", &[&origin]);
            return;
        }
        // Also the check that the connection is alive.
        let beat = heartbeat(client, origin, name);
        if client.is_closed() {
            return;
        }
        if let Err(e) = beat {
            tracing::debug!("the reload listener's heartbeat failed: {e:#}");
        }
        let beaten = Instant::now();
        let mut notifications = client.notifications();
        // A short wait, so that a dropped receiver or a broken connection is noticed.
        let mut batch = notifications.timeout_iter(HEARTBEAT_EVERY);
        while beaten.elapsed() < HEARTBEAT_EVERY {
            match postgres::fallible_iterator::FallibleIterator::next(&mut batch) {
                Ok(Some(n)) => {
                    let (from, reload) = Announced::decode(n.payload());
                    if from != origin && tx.send(reload).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// Says on `client` that instance `id` (named `name`) is alive now, and forgets the
/// instances gone for a day.
fn heartbeat(client: &mut Client, id: &str, name: &str) -> anyhow::Result<()> {
    client.execute(
        &format!(
            "INSERT INTO instances (instance, name, seen) VALUES ($1, $2, {CLOCK_MS}) \
             ON CONFLICT (instance) DO UPDATE SET name = excluded.name, seen = excluded.seen"
        ),
        &[&id, &name],
    )?;
    client.execute(
        &format!("DELETE FROM instances WHERE seen < {CLOCK_MS} - $1"),
        &[&INSTANCES_KEPT_MS],
    )?;
    Ok(())
}

impl InstanceStore for PgStore {
    fn heartbeat(&self, id: &str, name: &str) -> anyhow::Result<()> {
        let (id, name) = (id.to_string(), name.to_string());
        self.run_within(INSTANCES_PATIENCE, move |client| {
            heartbeat(client, &id, &name)
        })
    }

    fn leave(&self, id: &str) -> anyhow::Result<()> {
        let id = id.to_string();
        self.run_within(INSTANCES_PATIENCE, move |client| {
            client.execute("DELETE FROM instances WHERE instance = $1", &[&id])?;
            Ok(())
        })
    }

    fn instances(&self, within: Duration) -> anyhow::Result<Vec<Instance>> {
        let within_ms = within.as_millis() as i64;
        self.run_within(INSTANCES_PATIENCE, move |client| {
            Ok(client
                .query(
                    &format!(
                        "SELECT instance, name, GREATEST({CLOCK_MS} - seen, 0) FROM instances \
                         WHERE seen >= {CLOCK_MS} - $1 ORDER BY seen DESC, instance"
                    ),
                    &[&within_ms],
                )?
                .iter()
                .map(|r| Instance {
                    id: r.get(0),
                    name: r.get(1),
                    seen_ago: Duration::from_millis(r.get::<_, i64>(2) as u64),
                })
                .collect())
        })
    }

    fn report_reload(&self, reload: &str, outcome: &InstanceReload) -> anyhow::Result<()> {
        let (reload, o) = (reload.to_string(), outcome.clone());
        self.run_within(INSTANCES_PATIENCE, move |client| {
            client.execute(
                &format!(
                    "INSERT INTO reload_outcomes (reload, instance, name, applied, outcome, at) \
                     VALUES ($1, $2, $3, $4, $5, {CLOCK_MS}) ON CONFLICT (reload, instance) \
                     DO UPDATE SET applied = excluded.applied, outcome = excluded.outcome, \
                     at = excluded.at"
                ),
                &[&reload, &o.instance, &o.name, &o.applied, &o.outcome],
            )?;
            client.execute(
                &format!("DELETE FROM reload_outcomes WHERE at < {CLOCK_MS} - $1"),
                &[&OUTCOMES_KEPT_MS],
            )?;
            Ok(())
        })
    }

    fn reload_outcomes(&self, reload: &str) -> anyhow::Result<Vec<InstanceReload>> {
        let reload = reload.to_string();
        self.run_within(INSTANCES_PATIENCE, move |client| {
            Ok(client
                .query(
                    "SELECT instance, name, applied, outcome FROM reload_outcomes \
                     WHERE reload = $1 ORDER BY name, instance",
                    &[&reload],
                )?
                .iter()
                .map(|r| InstanceReload {
                    instance: r.get(0),
                    name: r.get(1),
                    applied: r.get(2),
                    outcome: r.get(3),
                })
                .collect())
        })
    }
}

/// The client configuration `url` names, with a connection timeout (unless the URL sets
/// one) and TCP keep-alives, so that a vanished server is noticed.
fn client_config(url: &str) -> anyhow::Result<Config> {
    let mut config = Config::from_str(url)
        .map_err(|e| anyhow::anyhow!("state.url is not a valid PostgreSQL URL: {e}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.keepalives_idle(Duration::from_secs(30));
    Ok(config)
}

/// A name for this process among those sharing the database: random, made once per store.
fn new_origin() -> String {
    format!("{:016x}", super::unique_id())
}

/// The LISTEN/NOTIFY channel changes of the shared state are announced on; a payload is
/// `origin<TAB>kind<TAB>argument` (see [`Change`]).
pub const STATE_CHANNEL: &str = "articlebot_state";

/// Announces a change to the other instances; sent on the connection that made the write,
/// after it, so that whoever hears it reads the new rows.
fn notify(client: &mut Client, origin: &str, kind: &str, arg: &str) -> anyhow::Result<()> {
    let payload = format!("{origin}\t{kind}\t{arg}");
    client.execute("SELECT pg_notify($1, $2)", &[&STATE_CHANNEL, &payload])?;
    Ok(())
}

/// A change another instance made to the shared state, as [`watch`] hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The watch (re)connected: announcements made while it was away are lost, so every copy
    /// is read again. Also the first thing a watch hands over.
    Connected,
    /// The curated answers changed (any guild).
    Curated,
    /// The votes of this guild changed.
    Votes(u64),
    /// This `/discuss` thread was opened.
    Thread(u64),
    /// The conversation under this key changed.
    Conversation(String),
}

impl Change {
    fn decode(kind: &str, arg: &str) -> Option<Change> {
        match kind {
            "curated" => Some(Change::Curated),
            "votes" => arg.parse().ok().map(Change::Votes),
            "thread" => arg.parse().ok().map(Change::Thread),
            "conversation" => Some(Change::Conversation(arg.to_string())),
            _ => None,
        }
    }
}

/// Follows the changes other instances make to the shared state at `url` (skipping
/// `origin`'s own) on a thread of its own with a connection of its own: `on` gets each
/// change, and `None` every few seconds when nothing came; the watch stops when `on` returns
/// `false`. While the database is away it tries again every two seconds, and hands over
/// [`Change::Connected`] when it is back.
pub fn watch(
    url: &str,
    origin: String,
    mut on: impl FnMut(Option<Change>) -> bool + Send + 'static,
) -> anyhow::Result<()> {
    let config = client_config(url)?;
    std::thread::Builder::new()
        .name("state-watch".into())
        .spawn(move || loop {
            if let Ok(mut client) = config.connect(NoTls) {
                if client
                    .batch_execute(&format!("LISTEN {STATE_CHANNEL}"))
                    .is_ok()
                {
                    if !on(Some(Change::Connected)) {
                        return;
                    }
                    let going = follow(&mut client, |payload| {
                        let mut parts = payload.splitn(3, '\t');
                        let (from, kind, arg) = (
                            parts.next().unwrap_or(""),
                            parts.next().unwrap_or(""),
                            parts.next().unwrap_or(""),
                        );
                        match Change::decode(kind, arg) {
                            Some(change) if from != origin => on(Some(change)),
                            _ => on(None),
                        }
                    });
                    if !going {
                        return;
                    }
                }
            }
            if !on(None) {
                return;
            }
            std::thread::sleep(Duration::from_secs(2));
        })
        .context("cannot start the PostgreSQL watch thread")?;
    Ok(())
}

/// Hands each notification's payload to `on` until the connection breaks (`true`) or `on`
/// returns `false` (`false`); `on` gets an empty payload every few seconds of silence.
fn follow(client: &mut Client, mut on: impl FnMut(&str) -> bool) -> bool {
    loop {
        {
            let mut notifications = client.notifications();
            let mut batch = notifications.timeout_iter(Duration::from_secs(5));
            loop {
                match postgres::fallible_iterator::FallibleIterator::next(&mut batch) {
                    Ok(Some(n)) => {
                        if !on(n.payload()) {
                            return false;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => return true,
                }
            }
        }
        if !on("") {
            return false;
        }
        if client.is_closed() || client.simple_query("SELECT 1").is_err() {
            return true;
        }
    }
}

impl CurateStore for PgStore {
    fn add(&self, new: &NewCurated, created: u64) -> anyhow::Result<Curated> {
        let (new, origin) = (new.clone(), self.origin.clone());
        self.run(move |client| {
            let row = client.query_one(
                "INSERT INTO curated (guild, question, article, section, note, created) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &guild_key(new.guild),
                    &new.question,
                    &new.article,
                    &new.section,
                    &new.note,
                    &(created as i64),
                ],
            )?;
            notify(client, &origin, "curated", "")?;
            Ok(Curated {
                id: row.get(0),
                guild: new.guild,
                question: new.question,
                article: new.article,
                section: new.section,
                note: new.note,
                created,
            })
        })
    }

    fn all(&self) -> anyhow::Result<Vec<Curated>> {
        self.run(|client| {
            Ok(client
                .query(
                    "SELECT id, guild, question, article, section, note, created FROM curated \
                     ORDER BY id",
                    &[],
                )?
                .iter()
                .map(|r| Curated {
                    id: r.get(0),
                    guild: r.get::<_, i64>(1) as u64,
                    question: r.get(2),
                    article: r.get(3),
                    section: r.get(4),
                    note: r.get(5),
                    created: r.get::<_, i64>(6) as u64,
                })
                .collect())
        })
    }

    fn remove(&self, guild: u64, id: i64) -> anyhow::Result<bool> {
        let origin = self.origin.clone();
        self.run(move |client| {
            let n = client.execute(
                "DELETE FROM curated WHERE guild = $1 AND id = $2",
                &[&guild_key(guild), &id],
            )?;
            if n > 0 {
                notify(client, &origin, "curated", "")?;
            }
            Ok(n > 0)
        })
    }
}

impl VoteStore for PgStore {
    fn vote(&self, v: &NewVote, question_text: Option<&str>, at: u64) -> anyhow::Result<()> {
        let (v, text, origin) = (
            v.clone(),
            question_text.map(str::to_string),
            self.origin.clone(),
        );
        self.run(move |client| {
            client.execute(
                "INSERT INTO votes (guild, answer, voter, question_hash, question, passage, \
                 vote, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (guild, answer, voter) \
                 DO UPDATE SET vote = excluded.vote, at = excluded.at",
                &[
                    &guild_key(v.guild),
                    &(v.answer as i64),
                    &&v.voter[..],
                    &v.question,
                    &text,
                    &v.passage,
                    &(v.vote.as_i64() as i16),
                    &(at as i64),
                ],
            )?;
            notify(client, &origin, "votes", &v.guild.to_string())
        })
    }

    fn tallies(&self, guild: u64) -> anyhow::Result<Vec<Tally>> {
        self.run(move |client| {
            Ok(client
                .query(
                    "SELECT question_hash, MIN(question), passage, \
                            COUNT(*) FILTER (WHERE vote > 0), COUNT(*) FILTER (WHERE vote < 0), \
                            COUNT(DISTINCT voter) \
                     FROM votes WHERE guild = $1 GROUP BY question_hash, passage",
                    &[&guild_key(guild)],
                )?
                .iter()
                .map(|r| Tally {
                    question_hash: r.get(0),
                    question: r.get(1),
                    passage: r.get(2),
                    up: r.get::<_, i64>(3) as u64,
                    down: r.get::<_, i64>(4) as u64,
                    voters: r.get::<_, i64>(5) as u64,
                })
                .collect())
        })
    }

    fn guilds(&self) -> anyhow::Result<Vec<u64>> {
        self.run(|client| {
            Ok(client
                .query("SELECT DISTINCT guild FROM votes", &[])?
                .iter()
                .map(|r| r.get::<_, i64>(0) as u64)
                .collect())
        })
    }

    fn clear(&self, guild: u64, question_hash: &str, passage: &str) -> anyhow::Result<usize> {
        let (hash, passage, origin) = (
            question_hash.to_string(),
            passage.to_string(),
            self.origin.clone(),
        );
        self.run(move |client| {
            let n = client.execute(
                "DELETE FROM votes WHERE guild = $1 AND question_hash = $2 AND passage = $3",
                &[&guild_key(guild), &hash, &passage],
            )?;
            notify(client, &origin, "votes", &guild.to_string())?;
            Ok(n as usize)
        })
    }
}

impl ThreadStore for PgStore {
    fn remember_thread(&self, thread: u64, slug: &str) -> anyhow::Result<()> {
        let (slug, origin) = (slug.to_string(), self.origin.clone());
        self.run(move |client| {
            client.execute(
                "INSERT INTO threads (thread, slug) VALUES ($1, $2) \
                 ON CONFLICT (thread) DO UPDATE SET slug = excluded.slug",
                &[&guild_key(thread), &slug],
            )?;
            notify(client, &origin, "thread", &thread.to_string())
        })
    }

    fn thread(&self, thread: u64) -> anyhow::Result<Option<String>> {
        self.run(move |client| {
            Ok(client
                .query_opt(
                    "SELECT slug FROM threads WHERE thread = $1",
                    &[&guild_key(thread)],
                )?
                .map(|r| r.get(0)))
        })
    }

    fn threads(&self) -> anyhow::Result<Vec<(u64, String)>> {
        self.run(|client| {
            Ok(client
                .query("SELECT thread, slug FROM threads", &[])?
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
                .collect())
        })
    }
}

impl AnnouncedStore for PgStore {
    fn seed_seen(&self, slugs: &[String], at: u64) -> anyhow::Result<bool> {
        let slugs = slugs.to_vec();
        self.run(move |client| {
            let mut tx = client.transaction()?;
            // Two fresh instances starting at once both find the table empty: each inserts
            // its articles, and a slug both hold goes in once.
            let empty = tx
                .query_opt("SELECT 1 FROM announced LIMIT 1", &[])?
                .is_none();
            if empty {
                tx.execute(
                    "INSERT INTO announced (slug, at) SELECT unnest($1::text[]), $2 \
                     ON CONFLICT (slug) DO NOTHING",
                    &[&slugs, &(at as i64)],
                )?;
            }
            tx.commit()?;
            Ok(empty)
        })
    }

    fn see(&self, slugs: &[String], at: u64) -> anyhow::Result<Vec<String>> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let asked = slugs.to_vec();
        let fresh: HashSet<String> = self.run(move |client| {
            Ok(client
                .query(
                    "INSERT INTO announced (slug, at) SELECT unnest($1::text[]), $2 \
                     ON CONFLICT (slug) DO NOTHING RETURNING slug",
                    &[&asked, &(at as i64)],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })?;
        Ok(slugs
            .iter()
            .filter(|s| fresh.contains(*s))
            .cloned()
            .collect())
    }
}

impl ConversationStore for PgStore {
    fn save_conversation(&self, key: &str, state: &str, at: u64) -> anyhow::Result<()> {
        let (key, state, origin) = (key.to_string(), state.to_string(), self.origin.clone());
        self.run(move |client| {
            client.execute(
                "INSERT INTO conversations (key, state, at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET state = excluded.state, at = excluded.at",
                &[&key, &state, &(at as i64)],
            )?;
            // Now and then, the conversations idle for a month go (a member's is kept a few
            // minutes; a thread's returns to its article, which `threads` keeps).
            if at.is_multiple_of(64) {
                client.execute(
                    "DELETE FROM conversations WHERE at < $1",
                    &[&(at.saturating_sub(CONVERSATIONS_KEPT_SECS) as i64)],
                )?;
            }
            notify(client, &origin, "conversation", &key)
        })
    }

    fn conversation(&self, key: &str) -> anyhow::Result<Option<String>> {
        let key = key.to_string();
        self.run(move |client| {
            Ok(client
                .query_opt("SELECT state FROM conversations WHERE key = $1", &[&key])?
                .map(|r| r.get(0)))
        })
    }

    fn conversations(&self, since: u64) -> anyhow::Result<Vec<(String, String)>> {
        self.run(move |client| {
            Ok(client
                .query(
                    "SELECT key, state FROM conversations WHERE at >= $1",
                    &[&(since as i64)],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
    }
}

impl CooldownStore for PgStore {
    /// One statement on the database's clock: the row is replaced only when its cooldown
    /// has ended (the row lock orders two instances starting it at once), and the old start
    /// is read from the statement's snapshot to say how long is left.
    fn start_cooldown(
        &self,
        scope: &str,
        user: u64,
        length: Duration,
    ) -> anyhow::Result<Option<Duration>> {
        let scope = scope.to_string();
        let length_ms = length.as_millis() as i64;
        self.run_within(ON_ANSWER_PATIENCE, move |client| {
            let row = client.query_one(
                "WITH clock AS ( \
                     SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms), \
                 started AS ( \
                     INSERT INTO cooldowns (scope, user_id, started) \
                     SELECT $1::text, $2::bigint, ms FROM clock \
                     ON CONFLICT (scope, user_id) DO UPDATE SET started = excluded.started \
                     WHERE cooldowns.started <= excluded.started - $3::bigint \
                     RETURNING started) \
                 SELECT (SELECT started FROM started), \
                        (SELECT started FROM cooldowns \
                         WHERE scope = $1::text AND user_id = $2::bigint), \
                        (SELECT ms FROM clock)",
                &[&scope, &guild_key(user), &length_ms],
            )?;
            let (new, old, now): (Option<i64>, Option<i64>, i64) =
                (row.get(0), row.get(1), row.get(2));
            if new.is_some() {
                // Now and then, the cooldowns that ended go (a few rows per active member).
                if now % 64 == 0 {
                    client.execute(
                        "DELETE FROM cooldowns WHERE started < $1",
                        &[&(now - length_ms)],
                    )?;
                }
                return Ok(None);
            }
            let left = length_ms - (now - old.unwrap_or(now));
            Ok(Some(Duration::from_millis(left.clamp(1, length_ms) as u64)))
        })
    }
}

/// The database's clock in milliseconds since the epoch, in SQL: cooldowns and button state
/// are timed by it, so that instances whose clocks differ agree.
const CLOCK_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

impl ButtonStore for PgStore {
    fn keep_buttons(
        &self,
        id: u64,
        asker: u64,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let state = state.to_string();
        let timeout_ms = timeout.as_millis() as i64;
        self.run_within(ON_ANSWER_PATIENCE, move |client| {
            client.execute(
                &format!(
                    "INSERT INTO buttons (id, asker, state, created) VALUES ($1, $2, $3, \
                     {CLOCK_MS}) ON CONFLICT (id) DO UPDATE SET asker = excluded.asker, \
                     state = excluded.state, created = excluded.created"
                ),
                &[&guild_key(id), &guild_key(asker), &state],
            )?;
            // Now and then (ids are random), the expired states go.
            if id.is_multiple_of(64) {
                client.execute(
                    &format!("DELETE FROM buttons WHERE created < {CLOCK_MS} - $1"),
                    &[&timeout_ms],
                )?;
            }
            Ok(())
        })
    }

    fn replace_buttons(&self, id: u64, state: &str, timeout: Duration) -> anyhow::Result<bool> {
        let state = state.to_string();
        let timeout_ms = timeout.as_millis() as i64;
        self.run_within(ON_ANSWER_PATIENCE, move |client| {
            let n = client.execute(
                &format!(
                    "UPDATE buttons SET state = $2 WHERE id = $1 AND created >= {CLOCK_MS} - $3"
                ),
                &[&guild_key(id), &state, &timeout_ms],
            )?;
            Ok(n > 0)
        })
    }

    fn buttons(&self, id: u64, timeout: Duration) -> anyhow::Result<Option<KeptButtons>> {
        let timeout_ms = timeout.as_millis() as i64;
        self.run_within(ON_ANSWER_PATIENCE, move |client| {
            Ok(client
                .query_opt(
                    &format!(
                        "SELECT asker, state FROM buttons WHERE id = $1 \
                         AND created >= {CLOCK_MS} - $2"
                    ),
                    &[&guild_key(id), &timeout_ms],
                )?
                .map(|r| KeptButtons {
                    asker: r.get::<_, i64>(0) as u64,
                    state: r.get(1),
                }))
        })
    }
}
