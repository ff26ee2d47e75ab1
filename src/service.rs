//! The running service shared by the serving adapters (Discord gateway, HTTP interactions):
//! the engine, reloads, question statistics and uptime, behind one async API.
//!
//! Adapters translate their protocol into calls here and never touch the library, the index
//! or the statistics database themselves. CPU-bound work runs on tokio's blocking pool, at
//! most one command per core at a time: a burst of questions waits its turn instead of
//! starting hundreds of threads that all share two cores (and whose memory the allocator
//! keeps), and an adapter can learn that a command is waiting ([`watch_queue`]) to tell the
//! person at once that the answer is coming.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, Semaphore};

use crate::answer::{Answer, Choice, Command, Engine};
use crate::config::Settings;
use crate::conversation;
use crate::library::{BuildProgress, CheckReport, Library, OpenMode};
use crate::metrics::Metrics;
use crate::reload::{
    InstanceOutcome, InstanceStatus, InstancesReport, Outcome, ReloadReport, Reloader, WatchGuard,
};
use crate::stats::{Stats, StatsReport};

/// Who asked (defined beside the statistics that hash it, so `stats` needs nothing of `service`).
pub use crate::stats::Asker;

tokio::task_local! {
    /// Set by [`watch_queue`]: told when a command inside has to wait for a core.
    static QUEUED: Arc<Notify>;
}

/// Runs `work`; `queued` is notified when a command it runs through [`Service::execute`] has
/// to wait for a free core (the interaction layer then acknowledges at once rather than
/// after its defer window).
pub async fn watch_queue<F: Future>(queued: Arc<Notify>, work: F) -> F::Output {
    QUEUED.scope(queued, work).await
}

/// Shared state of a serving process.
pub struct Service {
    engine: Arc<Engine>,
    /// One permit per core: commands running on the blocking pool.
    cores: Arc<Semaphore>,
    core_count: usize,
    /// Whether a command waited for a core since the allocator last gave memory back.
    burst: AtomicBool,
    settings: Settings,
    reloader: Reloader,
    stats: Arc<Stats>,
    metrics: Arc<Metrics>,
    started: Instant,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    /// Opens the library the settings describe (a persisted index is reused while the content
    /// is unchanged) and starts the service over it.
    pub fn open(settings: Settings, progress: &dyn BuildProgress) -> anyhow::Result<Arc<Service>> {
        #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
        let mut library = Library::open(&settings, OpenMode::Reuse, progress)?;
        #[cfg(feature = "embeddings")]
        crate::embed::attach(&settings, &mut library, None)?;
        Service::new(settings, library)
    }

    /// Starts the service over an opened library. Opens the statistics store the settings
    /// name (in memory when none).
    pub fn new(settings: Settings, library: Library) -> anyhow::Result<Arc<Service>> {
        let stats = Stats::open(&settings.stats, &settings.state)?;
        Service::with_stats(settings, library, stats)
    }

    /// [`Service::new`] over statistics opened by the caller (tests give the key rather than
    /// set `ARTICLEBOT_STATS_KEY` in their shared environment).
    pub fn with_stats(
        settings: Settings,
        library: Library,
        stats: Stats,
    ) -> anyhow::Result<Arc<Service>> {
        let engine = Arc::new(Engine::new(library, settings.answer.clone()));
        let stats = Arc::new(stats);
        let reloader = Reloader::new(engine.clone(), settings.clone());
        let core_count = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Arc::new(Service {
            engine,
            cores: Arc::new(Semaphore::new(core_count)),
            core_count,
            burst: AtomicBool::new(false),
            settings,
            reloader,
            stats,
            metrics: Arc::new(Metrics::new()),
            started: Instant::now(),
        }))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Answers `command` and records the question in the statistics, both on the blocking
    /// pool (the record is a SQLite write), once a core is free (see [`Service::run_blocking`]).
    pub async fn execute(
        self: &Arc<Self>,
        command: Command,
        asker: Option<Asker>,
    ) -> anyhow::Result<Answer> {
        let (engine, stats) = (self.engine.clone(), self.stats.clone());
        let (metrics, weak) = (self.metrics.clone(), self.settings.stats.weak_score);
        let kind = crate::metrics::command_kind(&command);
        let asked = Instant::now();
        let answer = self
            .run_blocking(move || {
                let answer = engine.execute(&command)?;
                metrics.command(&command, &answer, weak, asked.elapsed());
                record(stats.record(&command, &answer, asker.as_ref()));
                Ok(answer)
            })
            .await
            .and_then(|answer| answer);
        if answer.is_err() {
            self.metrics.failed(kind, asked.elapsed());
        }
        answer
    }

    /// Answers `message` in the conversation `state` through the conversation layer (on the
    /// blocking pool, once a core is free), at `now` (seconds since the Unix epoch), and records the command the
    /// turn ran, if any, in the statistics.
    pub async fn converse(
        self: &Arc<Self>,
        state: conversation::State,
        message: String,
        now: u64,
        asker: Option<Asker>,
    ) -> anyhow::Result<(conversation::Turn, conversation::State)> {
        let engine = self.engine.clone();
        let stats = self.stats.clone();
        let settings = self.settings.conversation.clone();
        let (metrics, weak) = (self.metrics.clone(), self.settings.stats.weak_score);
        let asked = Instant::now();
        let turn = self
            .run_blocking(move || {
                let lib = engine.library();
                let (turn, state) = conversation::respond(
                    &lib,
                    engine.settings(),
                    &settings,
                    &state,
                    &message,
                    now,
                )?;
                count_turn(&metrics, &turn, weak, asked.elapsed());
                if let (Some(command), conversation::Response::Answer(answer)) =
                    (&turn.command, &turn.response)
                {
                    record(stats.record(command, answer, asker.as_ref()));
                }
                Ok((turn, state))
            })
            .await
            .and_then(|turn| turn);
        if turn.is_err() {
            self.metrics.failed("conversation", asked.elapsed());
        }
        turn
    }

    /// The best passage of section `section` of article `slug`, as a turn of the conversation
    /// `state` (a section button of a `/discuss` thread), on the blocking pool once a core is
    /// free.
    pub async fn section(
        self: &Arc<Self>,
        state: conversation::State,
        slug: String,
        section: usize,
        now: u64,
    ) -> anyhow::Result<(conversation::Turn, conversation::State)> {
        let engine = self.engine.clone();
        let settings = self.settings.conversation.clone();
        let (metrics, weak) = (self.metrics.clone(), self.settings.stats.weak_score);
        let asked = Instant::now();
        self.run_blocking(move || {
            let lib = engine.library();
            let (turn, state) = conversation::section(
                &lib,
                engine.settings(),
                &settings,
                &state,
                &slug,
                section,
                now,
            );
            count_turn(&metrics, &turn, weak, asked.elapsed());
            Ok((turn, state))
        })
        .await?
    }

    /// How many commands run at once: one per core.
    pub fn cores(&self) -> usize {
        self.core_count
    }

    /// Runs CPU-bound `work` on the blocking pool once one of the [`Service::cores`] is free.
    /// While it waits, the [`watch_queue`] around the caller (if any) is told.
    pub async fn run_blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = match self.cores.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.burst.store(true, Ordering::Relaxed);
                let _ = QUEUED.try_with(|queued| queued.notify_one());
                self.cores.clone().acquire_owned().await?
            }
        };
        let service = self.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let result = work();
            service.after_command();
            drop(permit);
            result
        })
        .await?)
    }

    /// Called by the last command of a burst as it ends: hands the memory the burst's answers
    /// used back to the system (the allocator otherwise keeps it for the process).
    fn after_command(&self) {
        let last = self.cores.available_permits() + 1 == self.core_count;
        if last && self.burst.swap(false, Ordering::Relaxed) {
            crate::library::give_back_freed_memory();
        }
    }

    /// Autocomplete choices. Cheap enough to run inline (a few binary searches).
    pub fn autocomplete(&self, prefix: &str, limit: usize) -> Vec<Choice> {
        self.engine.autocomplete(prefix, limit)
    }

    /// Re-reads the content and swaps the new library in (see [`Reloader::reload`]), here and
    /// on every instance sharing the state (each one's outcome is logged).
    /// `by` names who asked, for the report and `/stats`; the record (a SQLite write) is made
    /// on the blocking pool.
    pub async fn reload(&self, by: &str) -> ReloadReport {
        self.reload_everywhere(by, None).await.0
    }

    /// [`Service::reload`] asked for by a moderator of `guild` (named `by`), with what every
    /// instance sharing the state made of it (`None` without a shared store: this instance
    /// is the only one).
    pub async fn reload_from_guild(
        &self,
        by: &str,
        guild: u64,
    ) -> (ReloadReport, Option<InstancesReport>) {
        self.reload_everywhere(by, Some(guild)).await
    }

    /// Reloads here and tells the other instances sharing the state to reload, then waits
    /// (at most [`REPORTS_WAIT`] after this instance's own reload) for the outcomes of those
    /// that are alive ([`crate::state::postgres::ALIVE_WITHIN`]).
    async fn reload_everywhere(
        &self,
        by: &str,
        guild: Option<u64>,
    ) -> (ReloadReport, Option<InstancesReport>) {
        if !self.stats.shares_reloads() {
            return (self.reload_here(by, guild).await, None);
        }
        let id = crate::stats::random_hex(8);
        // Who was seen lately is read beside the announcement (two blocking tasks, in no
        // fixed order): an instance that starts in between may go unlisted, and is then not
        // waited for; it reloads all the same.
        let others = {
            let stats = self.stats.clone();
            tokio::task::spawn_blocking(move || stats.other_instances(INSTANCES_LISTED_WITHIN))
        };
        // Not awaited: with the database away the announcement waits for a connection, and
        // the report should not. The others reload while this one does.
        {
            let (stats, id, who) = (self.stats.clone(), id.clone(), by.to_string());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = stats.announce_reload(&id, &who, guild) {
                    tracing::warn!("cannot tell the other instances to reload: {e:#}");
                }
            });
        }
        let report = self.reload_here(by, guild).await;
        let here = InstanceOutcome {
            name: self.stats.instance_name().to_string(),
            this: true,
            status: status_of(
                report.outcome == Outcome::Swapped,
                crate::stats::outcome_text(&report),
            ),
        };
        let others = match others.await {
            Ok(Ok(others)) => others,
            Ok(Err(e)) => return (report, Some(unlisted(here, format!("{e:#}")))),
            Err(e) => return (report, Some(unlisted(here, e.to_string()))),
        };
        let everywhere = self.gather(&id, here, others).await;
        for i in &everywhere.instances {
            tracing::info!(instance = %i.name, status = ?i.status, "reload everywhere");
        }
        (report, Some(everywhere))
    }

    /// The outcomes of reload `id` on `others`: polled until every instance alive among them
    /// reported, or [`REPORTS_WAIT`] passed.
    async fn gather(
        &self,
        id: &str,
        here: InstanceOutcome,
        others: Vec<crate::state::Instance>,
    ) -> InstancesReport {
        let alive = |i: &crate::state::Instance| i.seen_ago <= crate::state::postgres::ALIVE_WITHIN;
        let others = one_per_name(others, &here.name, alive);
        let waited_for: Vec<&str> = others
            .iter()
            .filter(|i| alive(i))
            .map(|i| i.id.as_str())
            .collect();
        let started = tokio::time::Instant::now();
        let mut reported = Vec::new();
        // Why the outcomes could not be read, the last time they were not: said in the
        // reply, or a database that failed would read as instances that did not answer.
        let mut unreadable = None;
        while !waited_for.is_empty() {
            let (stats, reload) = (self.stats.clone(), id.to_string());
            match tokio::task::spawn_blocking(move || stats.reload_outcomes(&reload)).await {
                Ok(Ok(outcomes)) => {
                    reported = outcomes;
                    unreadable = None;
                }
                Ok(Err(e)) => unreadable = Some(format!("{e:#}")),
                Err(e) => unreadable = Some(e.to_string()),
            }
            let all_in = waited_for
                .iter()
                .all(|id| reported.iter().any(|r| r.instance == *id));
            if all_in || started.elapsed() >= REPORTS_WAIT {
                break;
            }
            tokio::time::sleep(REPORTS_POLL).await;
        }
        let mut instances: Vec<InstanceOutcome> = others
            .iter()
            .map(|i| {
                let status = match reported.iter().find(|r| r.instance == i.id) {
                    Some(r) => status_of(r.applied, r.outcome.clone()),
                    None if alive(i) => InstanceStatus::NoReport,
                    None => InstanceStatus::NotSeenFor(i.seen_ago.as_secs()),
                };
                InstanceOutcome {
                    name: i.name.clone(),
                    this: false,
                    status,
                }
            })
            .collect();
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        instances.insert(0, here);
        if let Some(why) = &unreadable {
            tracing::warn!("cannot read the reload's outcomes: {why}");
        }
        InstancesReport {
            instances,
            unreachable: unreadable.map(|why| format!("their outcomes could not be read: {why}")),
            waited: REPORTS_WAIT,
        }
    }

    /// Reloads this instance only and records it.
    async fn reload_here(&self, by: &str, guild: Option<u64>) -> ReloadReport {
        let report = self.reloader.reload().await;
        self.metrics.reload(
            matches!(report.outcome, crate::reload::Outcome::Swapped),
            report.took,
        );
        let (stats, by, recorded) = (self.stats.clone(), by.to_string(), report.clone());
        match tokio::task::spawn_blocking(move || stats.record_reload(&by, guild, &recorded)).await
        {
            Ok(result) => record(result),
            Err(e) => tracing::warn!("cannot record the reload: {e}"),
        }
        report
    }

    /// The content check report (`articlebot check` and `/check` share it).
    pub async fn check(&self) -> anyhow::Result<CheckReport> {
        let content = self.settings.content.clone();
        tokio::task::spawn_blocking(move || CheckReport::run(&content)).await?
    }

    /// The keyed hash `asker` is stored as (the statistics' key): what feedback keeps of a
    /// voter.
    pub fn hash_asker(&self, asker: &Asker) -> [u8; 32] {
        self.stats.hash_asker(asker)
    }

    /// What `/stats` shows in `guild` (that guild's questions only), read on the blocking
    /// pool (SQLite queries).
    pub async fn stats_report(&self, guild: u64) -> anyhow::Result<StatsReport> {
        let lib = self.engine.library();
        let stats = self.stats.clone();
        let uptime = self.started.elapsed();
        Ok(tokio::task::spawn_blocking(move || stats.report(&lib, uptime, guild)).await?)
    }

    /// How many articles the library being served holds (health checks, start-up lines).
    pub fn article_count(&self) -> usize {
        self.engine.library().articles.len()
    }

    /// The process's metrics (the adapters record what only they see: gateway shards).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// `GET /metrics`: every metric in the Prometheus text format
    /// ([`crate::metrics::CONTENT_TYPE`]), the article count read now.
    pub fn metrics_text(&self) -> String {
        self.metrics.articles(self.article_count());
        if let Some(kind) = self.stats.store_kind() {
            let health = self.stats.health();
            self.metrics
                .state(kind, health.up(), health.failures(), health.dropped());
        }
        self.metrics.encode()
    }

    /// Whether the state store answered its last request (`/healthz` says `degraded` when
    /// not: answers go on, statistics wait in a queue); `None` without statistics.
    pub fn state_health(&self) -> Option<(&'static str, bool)> {
        Some((self.stats.store_kind()?, self.stats.health().up()))
    }

    /// The state store's health, shared with the other kinds of state this process keeps
    /// there (the Discord side's), so that `/healthz` says degraded whichever one failed.
    pub fn state_health_handle(&self) -> Arc<crate::state::Health> {
        self.stats.health().clone()
    }

    /// The reloader (its counters show how many rebuilds ran).
    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

    /// Starts the automatic reloads: on SIGHUP, on file changes in the content folders when
    /// `content.watch` is set, and for each source with `refresh_minutes` when it is due;
    /// a source never synced yet is synced at once. All log the reload report. They stop when
    /// the returned guard is dropped.
    pub fn start_reload_triggers(self: &Arc<Self>) -> anyhow::Result<ReloadTriggers> {
        let mut tasks = Vec::new();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut hup = signal(SignalKind::hangup())?;
            let service = self.clone();
            tasks.push(tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the content");
                    service.reload("SIGHUP").await;
                }
            }));
        }
        if let Some(mut announced) = self.stats.reload_announcements()? {
            let service = self.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(reload) = announced.recv().await {
                    tracing::info!("reload announced ({}): reloading the content", reload.by);
                    let by = format!("{} (another instance)", reload.by);
                    let report = service.reload_here(&by, reload.guild).await;
                    // The instance that was asked for it waits for this.
                    if let Some(id) = &reload.id {
                        service.stats.report_reload_outcome(id, &report);
                    }
                }
            }));
        }
        let mut watchers = Vec::new();
        if self.settings.reload.watch {
            // The folders read in place; synced ones change only through a sync.
            for folder in self.settings.content.folders().iter().filter(|f| !f.synced) {
                let (guard, mut changes) = crate::reload::watch(&folder.dir)?;
                watchers.push(guard);
                let service = self.clone();
                let quiet = self.settings.reload.debounce;
                tasks.push(tokio::spawn(async move {
                    while crate::reload::debounced(&mut changes, quiet).await {
                        tracing::info!("content changed: reloading");
                        service.reload("file watcher").await;
                    }
                }));
            }
        }
        let sources = &self.settings.sources;
        let never_synced: Vec<String> = sources
            .synced()
            .filter(|s| !sources.folder_of(&s.name).exists())
            .map(|s| s.name.clone())
            .collect();
        let mut schedule = crate::sources::Schedule::new(sources, tokio::time::Instant::now());
        if !never_synced.is_empty() || schedule.next_due().is_some() {
            let service = self.clone();
            tasks.push(tokio::spawn(async move {
                if !never_synced.is_empty() {
                    tracing::info!(sources = ?never_synced, "first sync of new sources");
                    service.reloader.refresh(&never_synced).await;
                }
                while let Some(at) = schedule.next_due() {
                    tokio::time::sleep_until(at).await;
                    let due =
                        schedule.take_due(&service.settings.sources, tokio::time::Instant::now());
                    tracing::info!(sources = ?due, "scheduled sync");
                    service.reloader.refresh(&due).await;
                }
            }));
        }
        Ok(ReloadTriggers {
            tasks,
            _watchers: watchers,
            stats: self.stats.clone(),
        })
    }
}

/// How long the instance asked for a reload waits, after its own reload, for the outcomes
/// of the other alive instances (they reload at the same time, so a few seconds cover a
/// reload of an unchanged or slightly changed collection; a slower one shows as not
/// reported, and goes on).
pub const REPORTS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// How often the outcomes are read meanwhile.
const REPORTS_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// The instances listed in a reload's report: seen within this long (those not alive are
/// listed as not seen, and not waited for).
const INSTANCES_LISTED_WITHIN: std::time::Duration = std::time::Duration::from_secs(600);

fn status_of(applied: bool, outcome: String) -> InstanceStatus {
    if applied {
        InstanceStatus::Applied(outcome)
    } else {
        InstanceStatus::Failed(outcome)
    }
}

/// `others` with one row per name: a replica that restarted (or was killed) left the row of
/// its earlier process, which is not this instance (`here`) nor one alive under the same name
/// now; of several such rows, the one seen last stands for the name. Alive rows all stay.
fn one_per_name(
    mut others: Vec<crate::state::Instance>,
    here: &str,
    alive: impl Fn(&crate::state::Instance) -> bool,
) -> Vec<crate::state::Instance> {
    others.sort_by(|a, b| a.name.cmp(&b.name).then(a.seen_ago.cmp(&b.seen_ago)));
    let live_names: std::collections::HashSet<String> = others
        .iter()
        .filter(|i| alive(i))
        .map(|i| i.name.clone())
        .chain([here.to_string()])
        .collect();
    let mut named = std::collections::HashSet::new();
    others.retain(|i| alive(i) || (!live_names.contains(&i.name) && named.insert(i.name.clone())));
    others
}

/// The report when the other instances could not be listed.
fn unlisted(here: InstanceOutcome, why: String) -> InstancesReport {
    InstancesReport {
        instances: vec![here],
        unreachable: Some(format!("the instances could not be listed: {why}")),
        waited: std::time::Duration::ZERO,
    }
}

/// Counts a conversation turn: under its command's kind when it ran one, else its own kind
/// (`facts`, `list`, `more`, `reply`, `not_found`).
fn count_turn(metrics: &Metrics, turn: &conversation::Turn, weak: f32, took: std::time::Duration) {
    match (&turn.command, &turn.response) {
        (Some(command), conversation::Response::Answer(answer)) => {
            metrics.command(command, answer, weak, took)
        }
        _ => {
            let kind = match turn.kind() {
                conversation::Kind::Facts => "facts",
                conversation::Kind::List => "list",
                conversation::Kind::More => "more",
                conversation::Kind::Reply => "reply",
                conversation::Kind::NotFound => "not_found",
                _ => "conversation",
            };
            let outcome = if turn.kind() == conversation::Kind::NotFound {
                "nothing"
            } else {
                "answered"
            };
            metrics.question(kind, outcome, took)
        }
    }
}

/// Logs a statistics row that could not even be queued; answers go on without it.
fn record(result: anyhow::Result<()>) {
    if let Err(e) = result {
        tracing::warn!("cannot record statistics: {e:#}");
    }
}

/// Keeps the automatic reload triggers running; dropping it stops them, and this instance
/// leaves the list of instances sharing the state (it is no longer waited for).
pub struct ReloadTriggers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _watchers: Vec<WatchGuard>,
    stats: Arc<Stats>,
}

impl Drop for ReloadTriggers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.stats.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_restarted_instance_is_listed_once() {
        let row = |id: &str, name: &str, ago: u64| crate::state::Instance {
            id: id.into(),
            name: name.into(),
            seen_ago: Duration::from_secs(ago),
        };
        let alive = |i: &crate::state::Instance| i.seen_ago <= Duration::from_secs(15);
        let others = vec![
            // http-2 restarted: its old process's row and the new one's.
            row("a", "http-2", 40),
            row("b", "http-2", 1),
            // This instance's own earlier process.
            row("c", "http-1", 300),
            // A replica that stopped twice: its latest row stands for it.
            row("d", "gateway", 900),
            row("e", "gateway", 60),
            // Two alive under one name (misconfigured): both are waited for.
            row("f", "worker", 2),
            row("g", "worker", 3),
        ];
        let kept: Vec<String> = one_per_name(others, "http-1", alive)
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(kept, ["e", "b", "f", "g"]);
    }
}
