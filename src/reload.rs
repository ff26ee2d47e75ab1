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
//! Every reload that swaps is published ([`Reloader::subscribe`]) with its news: the added
//! articles whose source had articles before. [`Announcer`] decides from it what to announce
//! (`discord.announce_channel_id`) and remembers what it has seen; the Discord adapter
//! (`discord::announce`) only posts.
//!
//! What every instance sharing the state made of a reload is an [`InstancesReport`], which
//! the service gathers (`Service::reload_from_guild`).
//!
//! Also the automatic triggers: SIGHUP and, with `content.watch`, file changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::answer::Engine;
use crate::config::Settings;
use crate::content::{Article, Warning};
use crate::library::{Library, NoProgress};
use crate::sources::{self, Limits, SourceReport};
use crate::state::{unix_now, AnnouncedStore};

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

/// What every instance sharing the state made of one reload, as the instance that was asked
/// for it gathered them (a `/reload` or SIGHUP reaches them all when they share `[state]
/// url`): this instance first, then the others by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstancesReport {
    pub instances: Vec<InstanceOutcome>,
    /// Why the other instances could not be listed, or their outcomes read (the shared store
    /// did not answer); they were told if the announcement got through, and reload on their
    /// own.
    pub unreachable: Option<String>,
    /// How long the alive instances were waited for, at most.
    #[serde(serialize_with = "millis")]
    pub waited: Duration,
}

/// One instance's part in a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceOutcome {
    /// What people call it (`ARTICLEBOT_INSTANCE`, else host and process id).
    pub name: String,
    /// The instance that was asked for the reload.
    pub this: bool,
    pub status: InstanceStatus,
}

/// What became of a reload on one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum InstanceStatus {
    /// The new content is in service there (what changed, as recorded).
    Applied(String),
    /// The old content stays there, for this reason.
    Failed(String),
    /// It was alive when the reload was asked for, and reported nothing while it was waited
    /// for.
    NoReport,
    /// It had not said it was alive for this many seconds (stopped, or cut off from the
    /// shared store): not waited for.
    NotSeenFor(u64),
}

/// A finished reload as its subscribers get it: the report, and the news among its additions
/// (the articles added to a source that had articles before the reload).
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub report: ReloadReport,
    pub news: Vec<String>,
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
    /// Every reload that swapped, for the subscribers (announcements).
    published: tokio::sync::broadcast::Sender<Reloaded>,
}

/// Reloads a subscriber may fall behind by before it misses some (it is told how many).
const PUBLISHED_BACKLOG: usize = 16;

impl Reloader {
    pub fn new(engine: Arc<Engine>, settings: Settings) -> Reloader {
        Reloader {
            engine,
            settings,
            gate: tokio::sync::Mutex::new(None),
            requested: AtomicU64::new(0),
            done: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            published: tokio::sync::broadcast::channel(PUBLISHED_BACKLOG).0,
        }
    }

    /// Every reload that swaps a new library in from now on, with its news.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Reloaded> {
        self.published.subscribe()
    }

    /// Puts the sync's reports in, logs the report and tells the subscribers when the new
    /// library went into service.
    fn finish(
        &self,
        (mut report, news): (ReloadReport, Vec<String>),
        sources: Vec<SourceReport>,
    ) -> ReloadReport {
        report.sources = sources;
        report.log();
        if report.outcome == Outcome::Swapped {
            // No subscriber is no error: announcements are optional.
            let _ = self.published.send(Reloaded {
                report: report.clone(),
                news,
            });
        }
        report
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
        let report = self.finish(self.rebuild().await, synced.sources);
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
        Some(self.finish(self.rebuild().await, synced.sources))
    }

    /// The reload's report and its news (see [`Reloaded`]).
    async fn rebuild(&self) -> (ReloadReport, Vec<String>) {
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
                #[cfg_attr(not(feature = "embeddings"), allow(unused_mut))]
                let mut lib = Library::update(&settings, &serving, &NoProgress)?;
                // The layer reuses the serving library's model and the vectors of every text
                // that did not change: only the changed articles' passages are embedded.
                #[cfg(feature = "embeddings")]
                crate::embed::attach(&settings, &mut lib, Some(&serving))?;
                Ok(Ok(lib))
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
            Ok(Ok(Err((reason, warnings)))) => return (kept(reason, warnings), Vec::new()),
            Ok(Err(e)) => return (kept(format!("{e:#}"), Vec::new()), Vec::new()),
            Err(e) => {
                let reason = format!("the rebuild crashed: {e}");
                return (kept(reason, Vec::new()), Vec::new());
            }
        };
        // An update knows what it changed; otherwise every article is compared.
        let (added, removed, changed) = match &new.info.diff {
            Some(d) => (d.added.clone(), d.removed.clone(), d.changed.clone()),
            None => diff(&old.articles, &new.articles),
        };
        let warnings = new.warnings.clone();
        let articles = new.articles.len();
        let by_source = !self.settings.content.source_folders.is_empty();
        let news = news(&added, &old, &new, by_source);
        let replaced = self.engine.swap(new);
        let report = ReloadReport {
            outcome: Outcome::Swapped,
            added,
            removed,
            changed,
            warnings,
            articles,
            took: start.elapsed(),
            coalesced: false,
            sources: Vec::new(),
        };
        // These are usually the old library's last references: dropping it frees every
        // article, passage and index reader (about 0.1 G instructions at 10,000 articles, ten
        // times that at 100,000), work for a blocking thread, not for the async worker this
        // runs on, which has other members' messages to serve. (An answer still holding it
        // drops it on its own blocking thread.)
        tokio::task::spawn_blocking(move || {
            drop((old, replaced));
            crate::library::give_back_freed_memory();
        });
        (report, news)
    }
}

/// The slugs of `added` whose source had articles in `old`: the news among a reload's
/// additions. The first sync of a source (a new `[[sources]]` entry, a fresh bot's) brings
/// its back catalogue, which is not news. With `[[sources]]` (`by_source`) a source is the
/// first folder of an article's path (its name); without, the one content folder.
fn news(added: &[String], old: &Library, new: &Library, by_source: bool) -> Vec<String> {
    let source = |a: &Article| -> String {
        if !by_source {
            return String::new();
        }
        a.path
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let before: HashSet<String> = old.articles.iter().map(|a| source(a)).collect();
    added
        .iter()
        .filter(|slug| {
            new.by_slug(slug)
                .is_some_and(|id| before.contains(&source(new.article(id))))
        })
        .cloned()
        .collect()
}

/// A new article as an announcement names it (the adapter renders the rest from the library).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticle {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
}

/// What to post about the new articles of a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    /// One post per article.
    Each(Vec<NewArticle>),
    /// One post listing them all: more than `discord.announce_digest_over` came at once.
    Digest(Vec<NewArticle>),
}

/// Decides what to announce after each reload, and remembers every article it has seen in a
/// file of the data folder (`announced.json`, a list of slugs), so that a restart announces
/// nothing again.
///
/// An article is announced once, when a reload adds it, and only when its source already had
/// articles before that reload (see [`Reloaded::news`]). A fresh bot (no record yet) takes
/// every article it starts with as seen: no flood on the first run. A changed article is not
/// new. The record is written before anything is posted, so a post that fails is not tried
/// again: never twice rather than maybe twice.
///
/// Instances sharing a store (`[state] url`) each reload the same content and would each post
/// the same news: with [`Announcer::sharing`], an article is announced only by the instance
/// whose store statement saw it first ([`AnnouncedStore::see`]), besides being new to its own
/// record. While the store cannot be reached, the instance goes by its own record alone (a
/// post may then be made by two instances rather than by none).
pub struct Announcer {
    path: Option<PathBuf>,
    seen: BTreeSet<String>,
    digest_over: usize,
    shared: Option<Arc<dyn AnnouncedStore>>,
    /// The shared record could not be seeded yet (the store did not answer at start): tried
    /// again before each plan, or a second instance would take this one's back catalogue for
    /// news.
    unseeded: bool,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("path", &self.path)
            .field("seen", &self.seen.len())
            .field("digest_over", &self.digest_over)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Announcer {
    /// The announcer whose record is at `path` (`None`: in memory only). Without a readable
    /// record, every article of `library` is taken as seen and the record is written.
    pub fn open(path: Option<PathBuf>, library: &Library, digest_over: usize) -> Announcer {
        let read = path.as_ref().and_then(|p| match std::fs::read(p) {
            Ok(bytes) => match serde_json::from_slice::<Vec<String>>(&bytes) {
                Ok(slugs) => Some(slugs),
                Err(e) => {
                    tracing::warn!(
                        "{}: not a list of slugs ({e}); the articles in service are taken as \
                         announced",
                        p.display()
                    );
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(
                    "cannot read {} ({e}); the articles in service are taken as announced",
                    p.display()
                );
                None
            }
        });
        let fresh = read.is_none();
        let seen = match read {
            Some(slugs) => slugs.into_iter().collect(),
            None => library.articles.iter().map(|a| a.slug.clone()).collect(),
        };
        let announcer = Announcer {
            path,
            seen,
            digest_over,
            shared: None,
            unseeded: false,
        };
        if fresh {
            announcer.save();
        }
        announcer
    }

    /// What to announce after `reloaded` (`library`: the one in service now): its news not
    /// seen before, a post each or one digest over the threshold. Every article the reload
    /// added is seen from now on, news or not.
    pub fn plan(&mut self, reloaded: &Reloaded, library: &Library) -> Option<Announcement> {
        let mut news: Vec<&String> = reloaded
            .news
            .iter()
            .filter(|slug| !self.seen.contains(*slug))
            .collect();
        if let Some(store) = &self.shared {
            if self.unseeded {
                let slugs: Vec<String> = self.seen.iter().cloned().collect();
                self.unseeded = store.seed_seen(&slugs, unix_now()).is_err();
            }
            // Every added article is seen in one statement; of the news, the ones this
            // statement saw first are this instance's to post.
            match store.see(&reloaded.report.added, unix_now()) {
                Ok(first) => {
                    let first: HashSet<&String> = first.iter().collect();
                    news.retain(|slug| first.contains(slug));
                }
                Err(e) => tracing::warn!(
                    "announcements: the shared store did not answer ({e:#}); going by this \
                     instance's own record, so another instance may post the same news"
                ),
            }
        }
        let news: Vec<NewArticle> = news
            .into_iter()
            .filter_map(|slug| library.by_slug(slug))
            .map(|id| {
                let a = library.article(id);
                NewArticle {
                    slug: a.slug.clone(),
                    title: a.title.clone(),
                    url: a.url.clone(),
                }
            })
            .collect();
        let before = self.seen.len();
        self.seen.extend(reloaded.report.added.iter().cloned());
        if self.seen.len() != before {
            self.save();
        }
        match news.len() {
            0 => None,
            n if n > self.digest_over => Some(Announcement::Digest(news)),
            _ => Some(Announcement::Each(news)),
        }
    }

    /// This announcer, announcing only what the instances sharing `store` have not seen (see
    /// [`Announcer`]). A store that has seen nothing yet takes `library`'s articles as seen,
    /// as a fresh record does. Blocks on the store.
    pub fn sharing(mut self, store: Arc<dyn AnnouncedStore>, library: &Library) -> Announcer {
        let slugs: Vec<String> = library.articles.iter().map(|a| a.slug.clone()).collect();
        if let Err(e) = store.seed_seen(&slugs, unix_now()) {
            tracing::warn!(
                "announcements: the shared store did not answer ({e:#}); its record is made \
                 at the first reload it answers"
            );
            self.unseeded = true;
        }
        self.shared = Some(store);
        self
    }

    /// Writes the record whole to a temporary file, then renames it into place (a crash
    /// leaves the old record or the new one); a failure is logged.
    fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        if let Err(e) = crate::state::write_json_atomically(path, &self.seen) {
            tracing::warn!("cannot write {}: {e:#}", path.display());
        }
    }
}

/// Slugs added, removed and changed between two collections.
fn diff(old: &[Arc<Article>], new: &[Arc<Article>]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let old_by: HashMap<&str, &Article> = old.iter().map(|a| (a.slug.as_str(), &**a)).collect();
    let new_by: HashMap<&str, &Article> = new.iter().map(|a| (a.slug.as_str(), &**a)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A shared record in memory whose seeding fails while `down` is set.
    #[derive(Default)]
    struct Record {
        down: std::sync::atomic::AtomicBool,
        seen: Mutex<BTreeSet<String>>,
    }

    impl AnnouncedStore for Record {
        fn seed_seen(&self, slugs: &[String], _at: u64) -> anyhow::Result<bool> {
            if self.down.load(Ordering::Relaxed) {
                anyhow::bail!("the store is down");
            }
            let mut seen = self.seen.lock().unwrap();
            let empty = seen.is_empty();
            if empty {
                seen.extend(slugs.iter().cloned());
            }
            Ok(empty)
        }

        fn see(&self, slugs: &[String], _at: u64) -> anyhow::Result<Vec<String>> {
            let mut seen = self.seen.lock().unwrap();
            Ok(slugs
                .iter()
                .filter(|s| seen.insert(s.to_string()))
                .cloned()
                .collect())
        }
    }

    /// A shared record that could not be seeded at start is seeded with what this instance
    /// has seen before its first plan, so another instance never takes this one's back
    /// catalogue for news; the news itself is still this instance's to announce.
    #[test]
    fn a_record_the_store_missed_at_start_is_seeded_at_the_first_plan() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["old-one", "old-two"] {
            std::fs::write(
                dir.path().join(format!("{name}.md")),
                format!("# {name}\n\nText.\n"),
            )
            .unwrap();
        }
        let mut settings = Settings::for_content(dir.path());
        settings.index = crate::config::IndexLocation::Memory;
        let library =
            Library::open(&settings, crate::library::OpenMode::Reuse, &NoProgress).unwrap();
        let record = Arc::new(Record::default());
        record.down.store(true, Ordering::Relaxed);
        let mut announcer = Announcer::open(None, &library, 5).sharing(record.clone(), &library);
        assert!(
            record.seen.lock().unwrap().is_empty(),
            "not seeded while down"
        );
        record.down.store(false, Ordering::Relaxed);

        std::fs::write(dir.path().join("fresh.md"), "# fresh\n\nNew text.\n").unwrap();
        let library =
            Library::open(&settings, crate::library::OpenMode::Reuse, &NoProgress).unwrap();
        let reloaded = Reloaded {
            report: ReloadReport {
                outcome: Outcome::Swapped,
                added: vec!["fresh".into()],
                removed: Vec::new(),
                changed: Vec::new(),
                warnings: Vec::new(),
                articles: library.articles.len(),
                took: Duration::ZERO,
                coalesced: false,
                sources: Vec::new(),
            },
            news: vec!["fresh".into()],
        };
        let planned = announcer.plan(&reloaded, &library);
        let seen: Vec<String> = record.seen.lock().unwrap().iter().cloned().collect();
        assert_eq!(seen, ["fresh", "old-one", "old-two"]);
        match planned {
            Some(Announcement::Each(news)) => assert_eq!(news[0].slug, "fresh"),
            other => panic!("the news is this instance's to post: {other:?}"),
        }
    }
}
