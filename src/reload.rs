//! Reloading the content without downtime: a new library is built off the async runtime and
//! off to the side, then swapped in whole; concurrent reloads coalesce into one rebuild; a
//! failed (or, with `strict_reload`, imperfect) reload keeps the old library serving.
//!
//! Every reload first syncs the feed, sitemap and git sources (see [`crate::sources`]), so
//! `/reload` brings in what was published since; a source that fails keeps its last good
//! articles and the report names it with the reason. [`Reloader::refresh`] syncs only the
//! sources a schedule (`refresh_minutes`) says are due, and rebuilds only when they changed.
//!
//! The new library is an update of the one in service ([`Library::update`]): only the files
//! that changed are read and indexed again, with answers identical to a full build's; every
//! trigger (`/reload`, `articlebot reload`'s signal, SIGHUP, the file watcher, the schedule)
//! comes through [`Reloader::rebuild`] and so takes that path.
//!
//! Also the automatic triggers: SIGHUP and, with `content.watch`, file changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::answer::Engine;
use crate::config::Settings;
use crate::content::{Article, Warning};
use crate::library::{Library, NoProgress};
use crate::sources::{self, Limits, SourceReport};

/// What became of a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Outcome {
    /// The new library is in service.
    Swapped,
    /// The old library is still in service, for this reason.
    KeptOld(String),
}

/// The report a moderator gets (and the log records).
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    pub outcome: Outcome,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub warnings: Vec<Warning>,
    /// Articles in service after the reload.
    pub articles: usize,
    #[serde(serialize_with = "millis")]
    pub took: Duration,
    /// `true` when this request was served by a rebuild another request started.
    pub coalesced: bool,
    /// What the sync before the rebuild did, source by source (empty without feed, sitemap
    /// or git sources).
    pub sources: Vec<SourceReport>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

impl ReloadReport {
    /// Logs the outcome (the text for people is [`crate::render::reload_report`]).
    fn log(&self) {
        let ms = self.took.as_millis() as u64;
        match &self.outcome {
            Outcome::Swapped => tracing::info!(
                articles = self.articles,
                added = ?self.added,
                removed = ?self.removed,
                changed = ?self.changed,
                warnings = self.warnings.len(),
                ms,
                "reload: the new content is in service"
            ),
            Outcome::KeptOld(reason) => tracing::warn!(
                warnings = self.warnings.len(),
                ms,
                "reload failed, the previous content stays in service: {reason}"
            ),
        }
        for w in &self.warnings {
            tracing::warn!("reload: {w}");
        }
    }
}

/// Rebuilds and swaps libraries for one engine.
pub struct Reloader {
    engine: Arc<Engine>,
    settings: Settings,
    /// Held while a rebuild runs; waiting here is how requests coalesce.
    gate: tokio::sync::Mutex<Option<ReloadReport>>,
    /// Number of reload requests made so far.
    requested: AtomicU64,
    /// Requests covered by the last finished rebuild.
    done: AtomicU64,
    /// Rebuilds run so far.
    rebuilds: AtomicU64,
}

impl Reloader {
    pub fn new(engine: Arc<Engine>, settings: Settings) -> Reloader {
        Reloader {
            engine,
            settings,
            gate: tokio::sync::Mutex::new(None),
            requested: AtomicU64::new(0),
            done: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
        }
    }

    /// How many rebuilds have run (coalesced requests share one).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(Ordering::SeqCst)
    }

    /// Re-reads the content and swaps the new library in. Requests that arrive while a
    /// rebuild runs wait for it and share the next one: any number of simultaneous requests
    /// cost at most two rebuilds, and each request sees a rebuild that started after it.
    pub async fn reload(&self) -> ReloadReport {
        let mine = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut last = self.gate.lock().await;
        if self.done.load(Ordering::SeqCst) >= mine {
            if let Some(report) = last.as_ref() {
                let mut shared = report.clone();
                shared.coalesced = true;
                return shared;
            }
        }
        let covers = self.requested.load(Ordering::SeqCst);
        let synced = sources::sync_all(
            &self.settings.sources,
            &Limits::of(&self.settings.sources.sync),
        )
        .await;
        self.rebuilds.fetch_add(1, Ordering::SeqCst);
        let mut report = self.rebuild().await;
        report.sources = synced.sources;
        report.log();
        self.done.store(covers, Ordering::SeqCst);
        *last = Some(report.clone());
        report
    }

    /// Syncs the sources named (those a schedule says are due) and, when their articles
    /// changed, rebuilds and swaps; `None` when nothing changed (no rebuild). Waits for a
    /// reload in progress, and a reload waits for it.
    pub async fn refresh(&self, names: &[String]) -> Option<ReloadReport> {
        let _gate = self.gate.lock().await;
        let synced = sources::sync_some(
            &self.settings.sources,
            &Limits::of(&self.settings.sources.sync),
            |s| names.contains(&s.name),
        )
        .await;
        if !synced.changed_anything() {
            return None;
        }
        self.rebuilds.fetch_add(1, Ordering::SeqCst);
        let mut report = self.rebuild().await;
        report.sources = synced.sources;
        report.log();
        Some(report)
    }

    async fn rebuild(&self) -> ReloadReport {
        let start = Instant::now();
        let settings = self.settings.clone();
        let strict = self.settings.reload.strict;
        let serving = self.engine.library();
        let built = tokio::task::spawn_blocking(
            move || -> anyhow::Result<Result<Library, (String, Vec<Warning>)>> {
                if strict {
                    // Check first so that a rejected file never reaches the persisted index.
                    let loaded = crate::content::load(&settings.content)?;
                    if loaded.rejected() > 0 {
                        return Ok(Err((
                            format!(
                                "{} file(s) rejected and strict_reload is on",
                                loaded.rejected()
                            ),
                            loaded.warnings,
                        )));
                    }
                }
                Ok(Ok(Library::update(&settings, &serving, &NoProgress)?))
            },
        )
        .await;
        let old = self.engine.library();
        let kept = |reason: String, warnings: Vec<Warning>| ReloadReport {
            outcome: Outcome::KeptOld(reason),
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            warnings,
            articles: old.articles.len(),
            took: start.elapsed(),
            coalesced: false,
            sources: Vec::new(),
        };
        let new = match built {
            Ok(Ok(Ok(lib))) => lib,
            Ok(Ok(Err((reason, warnings)))) => return kept(reason, warnings),
            Ok(Err(e)) => return kept(format!("{e:#}"), Vec::new()),
            Err(e) => return kept(format!("the rebuild crashed: {e}"), Vec::new()),
        };
        // An update knows what it changed; otherwise every article is compared.
        let (added, removed, changed) = match &new.info.diff {
            Some(d) => (d.added.clone(), d.removed.clone(), d.changed.clone()),
            None => diff(&old.articles, &new.articles),
        };
        let warnings = new.warnings.clone();
        let articles = new.articles.len();
        self.engine.swap(new);
        ReloadReport {
            outcome: Outcome::Swapped,
            added,
            removed,
            changed,
            warnings,
            articles,
            took: start.elapsed(),
            coalesced: false,
            sources: Vec::new(),
        }
    }
}

/// Slugs added, removed and changed between two collections.
fn diff(old: &[Article], new: &[Article]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let old_by: HashMap<&str, &Article> = old.iter().map(|a| (a.slug.as_str(), a)).collect();
    let new_by: HashMap<&str, &Article> = new.iter().map(|a| (a.slug.as_str(), a)).collect();
    let mut added: Vec<String> = new_by
        .keys()
        .filter(|s| !old_by.contains_key(*s))
        .map(|s| s.to_string())
        .collect();
    let mut removed: Vec<String> = old_by
        .keys()
        .filter(|s| !new_by.contains_key(*s))
        .map(|s| s.to_string())
        .collect();
    let mut changed: Vec<String> = new_by
        .iter()
        .filter(|(s, a)| old_by.get(*s).is_some_and(|o| o != *a))
        .map(|(s, _)| s.to_string())
        .collect();
    added.sort();
    removed.sort();
    changed.sort();
    (added, removed, changed)
}

/// Watches `dir` recursively for changes to files (creations, writes, renames, removals;
/// reads are ignored, so the reload's own reading never triggers another). The receiver gets
/// one message per change event; [`debounced`] turns a burst into one.
pub fn watch(
    dir: &std::path::Path,
) -> anyhow::Result<(WatchGuard, tokio::sync::mpsc::UnboundedReceiver<()>)> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
            Ok(event) => {
                if matches!(
                    event.kind,
                    EventKind::Create(_)
                        | EventKind::Modify(_)
                        | EventKind::Remove(_)
                        | EventKind::Any
                ) {
                    let _ = tx.send(());
                }
            }
            Err(e) => tracing::warn!("content watcher: {e}"),
        })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok((
        WatchGuard {
            _watcher: Box::new(watcher),
        },
        rx,
    ))
}

/// Waits for the next change, then until no change has come for `quiet`: a burst of writes
/// becomes one wake-up. Returns `false` when the watcher is gone.
pub async fn debounced(
    changes: &mut tokio::sync::mpsc::UnboundedReceiver<()>,
    quiet: Duration,
) -> bool {
    if changes.recv().await.is_none() {
        return false;
    }
    loop {
        match tokio::time::timeout(quiet, changes.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) => return false,
            Err(_) => return true,
        }
    }
}

/// Keeps a content watcher alive.
pub struct WatchGuard {
    _watcher: Box<dyn std::any::Any + Send>,
}
