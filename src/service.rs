//! The running service shared by the serving adapters (Discord gateway, HTTP interactions):
//! the engine, reloads, question statistics and uptime, behind one async API.
//!
//! Adapters translate their protocol into calls here and never touch the library, the index
//! or the statistics database themselves. CPU-bound work runs on tokio's blocking pool.

use std::sync::Arc;
use std::time::Instant;

use crate::answer::{Answer, Choice, Command, Engine};
use crate::config::Settings;
use crate::conversation;
use crate::library::{BuildProgress, CheckReport, Library, OpenMode};
use crate::reload::{ReloadReport, Reloader, WatchGuard};
use crate::stats::{Stats, StatsReport};

/// Who asked (defined beside the statistics that hash it, so `stats` needs nothing of `service`).
pub use crate::stats::Asker;

/// Shared state of a serving process.
pub struct Service {
    engine: Arc<Engine>,
    settings: Settings,
    reloader: Reloader,
    stats: Arc<Stats>,
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
        let library = Library::open(&settings, OpenMode::Reuse, progress)?;
        Service::new(settings, library)
    }

    /// Starts the service over an opened library. Opens the statistics store the settings
    /// name (in memory when none).
    pub fn new(settings: Settings, library: Library) -> anyhow::Result<Arc<Service>> {
        let engine = Arc::new(Engine::new(library, settings.answer.clone()));
        let stats = Arc::new(Stats::open(&settings.stats)?);
        let reloader = Reloader::new(engine.clone(), settings.clone());
        Ok(Arc::new(Service {
            engine,
            settings,
            reloader,
            stats,
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
    /// pool (the record is a SQLite write).
    pub async fn execute(&self, command: Command, asker: Option<Asker>) -> anyhow::Result<Answer> {
        let engine = self.engine.clone();
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || {
            let answer = engine.execute(&command)?;
            if let Err(e) = stats.record(&command, &answer, asker.as_ref()) {
                tracing::warn!("cannot record statistics: {e:#}");
            }
            Ok(answer)
        })
        .await?
    }

    /// Answers `message` in the conversation `state` through the conversation layer (on the
    /// blocking pool), at `now` (seconds since the Unix epoch), and records the command the
    /// turn ran, if any, in the statistics.
    pub async fn converse(
        &self,
        state: conversation::State,
        message: String,
        now: u64,
        asker: Option<Asker>,
    ) -> anyhow::Result<(conversation::Turn, conversation::State)> {
        let engine = self.engine.clone();
        let stats = self.stats.clone();
        let settings = self.settings.conversation.clone();
        tokio::task::spawn_blocking(move || {
            let lib = engine.library();
            let (turn, state) =
                conversation::respond(&lib, engine.settings(), &settings, &state, &message, now)?;
            if let (Some(command), conversation::Response::Answer(answer)) =
                (&turn.command, &turn.response)
            {
                if let Err(e) = stats.record(command, answer, asker.as_ref()) {
                    tracing::warn!("cannot record statistics: {e:#}");
                }
            }
            Ok((turn, state))
        })
        .await?
    }

    /// The best passage of section `section` of article `slug`, as a turn of the conversation
    /// `state` (a section button of a `/discuss` thread), on the blocking pool.
    pub async fn section(
        &self,
        state: conversation::State,
        slug: String,
        section: usize,
        now: u64,
    ) -> anyhow::Result<(conversation::Turn, conversation::State)> {
        let engine = self.engine.clone();
        let settings = self.settings.conversation.clone();
        tokio::task::spawn_blocking(move || {
            let lib = engine.library();
            Ok(conversation::section(
                &lib,
                engine.settings(),
                &settings,
                &state,
                &slug,
                section,
                now,
            ))
        })
        .await?
    }

    /// Autocomplete choices. Cheap enough to run inline (a few binary searches).
    pub fn autocomplete(&self, prefix: &str, limit: usize) -> Vec<Choice> {
        self.engine.autocomplete(prefix, limit)
    }

    /// Re-reads the content and swaps the new library in (see [`Reloader::reload`]).
    /// `by` names who asked, for the report and `/stats`; the record (a SQLite write) is made
    /// on the blocking pool.
    pub async fn reload(&self, by: &str) -> ReloadReport {
        self.reload_recorded(by, None).await
    }

    /// [`Service::reload`] asked for by a moderator of `guild` (named `by`).
    pub async fn reload_from_guild(&self, by: &str, guild: u64) -> ReloadReport {
        self.reload_recorded(by, Some(guild)).await
    }

    async fn reload_recorded(&self, by: &str, guild: Option<u64>) -> ReloadReport {
        let report = self.reloader.reload().await;
        let (stats, by, recorded) = (self.stats.clone(), by.to_string(), report.clone());
        if let Err(e) =
            tokio::task::spawn_blocking(move || stats.record_reload(&by, guild, &recorded)).await
        {
            tracing::warn!("cannot record the reload: {e}");
        }
        report
    }

    /// The content check report (`articlebot check` and `/check` share it).
    pub async fn check(&self) -> anyhow::Result<CheckReport> {
        let content = self.settings.content.clone();
        tokio::task::spawn_blocking(move || CheckReport::run(&content)).await?
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

    /// The reloader (its counters show how many rebuilds ran).
    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

    /// Starts the automatic reloads: on SIGHUP, and on file changes when `content.watch` is
    /// set. Both log the reload report. They stop when the returned guard is dropped.
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
        let mut watcher = None;
        if self.settings.reload.watch {
            let (guard, mut changes) = crate::reload::watch(&self.settings.content.dir)?;
            watcher = Some(guard);
            let service = self.clone();
            let quiet = self.settings.reload.debounce;
            tasks.push(tokio::spawn(async move {
                while crate::reload::debounced(&mut changes, quiet).await {
                    tracing::info!("content changed: reloading");
                    service.reload("file watcher").await;
                }
            }));
        }
        Ok(ReloadTriggers {
            tasks,
            _watcher: watcher,
        })
    }
}

/// Keeps the automatic reload triggers running; dropping it stops them.
pub struct ReloadTriggers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _watcher: Option<WatchGuard>,
}

impl Drop for ReloadTriggers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
