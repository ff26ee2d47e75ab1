//! A [`Library`]: the articles, their passages, the tantivy index over them and the name index
//! for look-ups, built together and immutable afterwards. A reload builds a new one.
//!
//! Its jobs, one file each: this file is the model (what a library holds, how it is opened or
//! built, and the look-ups answers use); [`persist`] is the persisted form in the index folder
//! (manifest, `library.bin`, `articles.bin`, the fingerprint that decides reuse); [`staging`]
//! is the index folder's safety: which folder may be written, the staging folder a build
//! writes into, and the atomic swap into place. [`update`] is a reload's way to a new
//! library: the old one's files and indexes changed for the articles whose files changed.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::config::{ContentSettings, IndexLocation, Settings};
use crate::content::{self, Article, Loaded, Warning};
use anyhow::Context;

use crate::index::{article_key, indexing_threads, Indexer, Layout, SearchIndex, Target};
use crate::names::NameIndex;

mod articles;
mod bytes;
mod counting;
mod lock;
mod persist;
mod staging;
mod update;
mod vectors;

pub use crate::index::{BuildProgress, NoProgress};
pub use crate::passage::{cut_passages, Passage};
pub use articles::Articles;
use counting::CountingToFile;
pub use persist::fingerprint;
pub use persist::FileStamp;
pub use staging::{beside_index_folder, check_index_folder, FolderProblem, IndexFolderError};
// Only the embedding layer's `related` ranks outside `vectors`.
#[cfg(feature = "embeddings")]
pub(crate) use vectors::best_first;
pub use vectors::{ArticleVectors, RelatedVectors, TermCounts, VectorWeights};

/// How a library came to be.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub fingerprint: String,
    /// `true` when a persisted index was opened instead of built.
    pub reused: bool,
    /// `true` when the library was made by updating the previous one (see [`update`]).
    pub updated: bool,
    /// What the update changed (`None` for a build or an opened index: compare the articles).
    pub diff: Option<ArticleDiff>,
    pub took: Duration,
}

/// The slugs of the articles an update added, removed and changed, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// What a check of the content found: the articles a build would index and every file it
/// would reject or note, with the reason. Plain data: [`crate::render::check_report`] gives
/// its text.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub articles: usize,
    pub warnings: Vec<Warning>,
}

impl CheckReport {
    /// Reads the content as a build would, without indexing it.
    pub fn run(settings: &ContentSettings) -> anyhow::Result<CheckReport> {
        let loaded = content::load(settings)?;
        Ok(CheckReport {
            articles: loaded.articles.len(),
            warnings: loaded.warnings,
        })
    }

    /// Files rejected.
    pub fn rejected(&self) -> usize {
        self.warnings.iter().filter(|w| w.rejected).count()
    }
}

/// Whether to reuse a persisted index when the fingerprint matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Reuse,
    Rebuild,
}

/// Files parsed, cut, counted and indexed together by a streaming build: bounds the text
/// held at once to this many articles (and keeps every core busy parsing each batch).
const STREAM_BATCH: usize = 512;

/// What a build reads: the scanned files and what the scan noted.
struct Source<'a> {
    files: &'a [content::SourceFile],
    warnings: Vec<Warning>,
    fingerprint: String,
    stamps: Vec<FileStamp>,
}

/// A library's [`NameIndex`], made on a thread of its own from the articles' names while the
/// library starts serving, and read through `Deref` (a look-up before it is ready waits for
/// it). Making it was half of the instructions from start to the first answer at 10,000
/// articles (BENCHMARKS.md, issue 18), and a question needs it only for suggestions; an
/// update renumbers the old one and adds the changed articles' names (`NameIndex::updated`),
/// on a thread of its own too when the old one is still being made ([`Names::derived`]).
/// Clones share the index.
#[derive(Clone)]
pub struct Names(Arc<Making>);

struct Making {
    ready: OnceLock<NameIndex>,
    making: Mutex<Option<std::thread::JoinHandle<NameIndex>>>,
    /// The articles the thread reads (a start's): a look-up that must wait decodes what the
    /// thread has not yet, on every core at the caller's priority, instead of waiting for
    /// the thread to decode them alone at its low one.
    reads: Option<Articles>,
}

impl Names {
    fn spawn(articles: &Articles) -> Names {
        // The thread holds the articles it reads (their slugs, titles and aliases), shared: a
        // copy of every name was a third of the one-core stretch before the first answer at
        // 100,000 articles (BENCHMARKS.md, issue 18). It decodes the articles an opened
        // library has not decoded yet, on its own thread.
        let named = articles.clone();
        let mut names = Names::on_thread(move || NameIndex::new(named.all_in_turn()));
        if let Some(making) = Arc::get_mut(&mut names.0) {
            making.reads = Some(articles.clone());
        }
        names
    }

    /// The index `make` makes, on a thread of its own (in place when no thread can be had).
    fn on_thread(make: impl FnOnce() -> NameIndex + Send + 'static) -> Names {
        let (tx, rx) = std::sync::mpsc::channel();
        let made = std::thread::Builder::new()
            .name("name index".into())
            .spawn(move || {
                lower_this_threads_priority();
                let make: Box<dyn FnOnce() -> NameIndex + Send> = match rx.recv() {
                    Ok(make) => make,
                    Err(_) => return NameIndex::default(),
                };
                make()
            });
        let make: Box<dyn FnOnce() -> NameIndex + Send> = Box::new(make);
        match made {
            Ok(handle) => {
                // The thread exists: it makes the index (the receiver lives in it).
                let _ = tx.send(make);
                Names::from_thread(handle)
            }
            Err(e) => {
                tracing::debug!("no thread for the name index ({e}); made in place");
                Names::made(make())
            }
        }
    }

    fn from_thread(handle: std::thread::JoinHandle<NameIndex>) -> Names {
        Names(Arc::new(Making {
            ready: OnceLock::new(),
            making: Mutex::new(Some(handle)),
            reads: None,
        }))
    }

    /// A name index already made (an update's: see [`NameIndex::updated`]).
    fn made(index: NameIndex) -> Names {
        Names(Arc::new(Making {
            ready: OnceLock::from(index),
            making: Mutex::new(None),
            reads: None,
        }))
    }

    /// Whether the index is made (a look-up would not wait).
    fn is_ready(&self) -> bool {
        self.0.ready.get().is_some()
    }

    /// The index `NameIndex::updated` makes of `old` for an update (`moved`, `fresh`: see
    /// there): at once when `old` is made, else on a thread that waits for it, so that the
    /// first update after a start does not wait for the start's name index (2 G instructions
    /// at 100,000 articles, on its own thread: the worst reload of the bench; BENCHMARKS.md).
    pub(super) fn derived(
        old: &Names,
        moved: Vec<Option<u32>>,
        fresh: Vec<(u32, Arc<Article>)>,
    ) -> Names {
        let derive = move |old: &NameIndex| {
            let fresh: Vec<(u32, &Article)> = fresh.iter().map(|(id, a)| (*id, &**a)).collect();
            old.updated(&moved, &fresh)
        };
        if old.is_ready() {
            return Names::made(derive(old));
        }
        let old = old.clone();
        Names::on_thread(move || derive(&old))
    }
}

/// Lowers the calling thread's scheduling priority (Linux: a thread's own nice value), for
/// work that nothing waits for yet: the name index made at a start (2 G instructions at
/// 100,000 articles, with the articles it decodes) took a core from the first answers and
/// from the first update after the start, on 2 cores (BENCHMARKS.md, issue 18). A look-up
/// that needs it before it is done waits for it as before.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority of the calling thread's own id take no pointer and
    // change only that thread's nice value (raising it needs no privilege).
    // (The thread id by the system call, not glibc's `gettid`, which needs glibc 2.30.)
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

impl std::ops::Deref for Names {
    type Target = NameIndex;

    fn deref(&self) -> &NameIndex {
        self.0.ready.get_or_init(|| {
            if let Some(articles) = &self.0.reads {
                let _every_one_decoded = &**articles;
            }
            let handle = self
                .0
                .making
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            // A thread that panicked leaves the library without names (no suggestions, no
            // articles found by name) rather than without answers: re-raising its panic here
            // would panic every look-up and every reload after it.
            match handle.map(std::thread::JoinHandle::join) {
                Some(Ok(names)) => names,
                Some(Err(_)) | None => {
                    tracing::error!("the name index could not be made; names are not looked up");
                    NameIndex::default()
                }
            }
        })
    }
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Names")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// Articles, passages and their indexes.
#[derive(Debug)]
pub struct Library {
    /// Shared with the libraries an update makes from this one: an article whose file did
    /// not change is the same allocation in both (a copy of every article's front matter and
    /// headings was 156 MB of a reload's peak at 100,000 articles). An opened library decodes
    /// each on first use (see [`Articles`]).
    pub articles: Articles,
    pub passages: Vec<Passage>,
    pub warnings: Vec<Warning>,
    pub index: SearchIndex,
    /// The name index for look-ups and autocomplete, made beside the first answers (see
    /// [`Names`]).
    pub names: Names,
    /// Each article's term vector, for `related` (read from the index folder by the first
    /// use in a library opened from it).
    pub vectors: RelatedVectors,
    pub info: BuildInfo,
    /// Each article's key and passages (the index's own, shared): a slug's article, found
    /// without a map of every slug (which would decode every article of an opened library).
    layout: Layout,
    /// The content files the library was made of: what an update compares a new scan with.
    files: Vec<FileStamp>,
    /// The articles' term counts, kept for the next update: by an in-memory library and by a
    /// persisted one made by an update (a persisted library built or opened keeps them only in
    /// `counts.bin` and `counts.log`, which its first update reads).
    counts: Option<Arc<TermCounts>>,
    /// Where the term counts lie in the index folder (`counts.bin`, `counts.log`): what an
    /// update appends to, and reads back when `counts` is `None` (empty in memory).
    count_places: persist::CountsPlaces,
    /// The settings the library was made with, as [`update::shape`] sums them up (empty for
    /// a library made from articles in hand, which is never updated).
    shape: String,
    /// The optional sentence-embedding layer, given by `embed::attach` after a build or an
    /// update (never by the library's own code).
    #[cfg(feature = "embeddings")]
    embeddings: Option<Arc<crate::embed::layer::Embeddings>>,
}

impl Library {
    /// Opens the library the settings describe: reuses a persisted index whose fingerprint
    /// matches (unless `mode` is `Rebuild`), else reads the content and builds.
    ///
    /// Fails only when the content folder cannot be read or the index cannot be written; bad
    /// files become warnings.
    pub fn open(
        settings: &Settings,
        mode: OpenMode,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<Library> {
        let start = Instant::now();
        // Held until the library is made: another process building or updating the folder
        // finishes first (see `lock`). Taken once the folder is known to be ours, so that no
        // lock file is made beside a folder that is refused.
        let _lock = match &settings.index {
            IndexLocation::Dir(dir) => {
                staging::check_index_folder(dir)?;
                let held = lock::lock(dir)?;
                staging::remove_stale_staging(dir);
                Some(held)
            }
            IndexLocation::Memory => None,
        };
        let reuse = match (&settings.index, mode) {
            (IndexLocation::Dir(dir), OpenMode::Reuse) => Some(dir),
            _ => None,
        };
        // The persisted library is read while the content folder is scanned: when nothing
        // changed (every start but the first) the two overlap, which is most of the time to
        // the first answer; when something changed the read is wasted and dropped.
        let (scanned, persisted) = std::thread::scope(|s| {
            let reader = reuse.map(|dir| s.spawn(|| persist::read(dir)));
            let scanned = content::scan_folders(&settings.content);
            let persisted =
                reader.map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            (scanned, persisted)
        });
        let (files, scan_warnings) = scanned?;
        let fingerprint = persist::fingerprint(&settings.content, &files);
        if let (Some(dir), Some(persisted)) = (reuse, persisted) {
            match Library::open_persisted(dir, &fingerprint, persisted) {
                Ok(Some(mut lib)) => {
                    lib.info.took = start.elapsed();
                    lib.shape = update::shape(settings);
                    tracing::info!(
                        dir = %dir.display(),
                        articles = lib.articles.len(),
                        took_ms = lib.info.took.as_millis() as u64,
                        "opened the persisted index (content unchanged)"
                    );
                    return Ok(lib);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("persisted index unusable, rebuilding: {e:#}"),
            }
        }
        progress.start(files.len() as u64 * 2);
        let stamps: Vec<FileStamp> = files.iter().map(FileStamp::of).collect();
        let lib = match &settings.index {
            IndexLocation::Dir(dir) => {
                let source = Source {
                    files: &files,
                    warnings: scan_warnings,
                    fingerprint,
                    stamps,
                };
                Library::build_streaming(settings, dir, source, progress)?
            }
            IndexLocation::Memory => {
                let loaded = content::load_files(&settings.content, &files, scan_warnings);
                progress.advance(files.len() as u64);
                Library::build(settings, loaded, fingerprint, stamps, progress)?
            }
        };
        progress.finish();
        Ok(Library {
            info: BuildInfo {
                took: start.elapsed(),
                ..lib.info
            },
            shape: update::shape(settings),
            ..lib
        })
    }

    /// Builds a library in memory from articles already loaded.
    pub fn from_loaded(settings: &ContentSettings, loaded: Loaded) -> anyhow::Result<Library> {
        let mut s = Settings::for_content(settings.dir.clone());
        s.content = settings.clone();
        let start = Instant::now();
        let lib = Library::build(&s, loaded, String::new(), Vec::new(), &NoProgress)?;
        Ok(Library {
            info: BuildInfo {
                took: start.elapsed(),
                ..lib.info
            },
            ..lib
        })
    }

    /// Builds a library in memory from articles already loaded (bodies held, index in RAM).
    fn build(
        settings: &Settings,
        loaded: Loaded,
        fingerprint: String,
        files: Vec<FileStamp>,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<Library> {
        let Loaded { articles, warnings } = loaded;
        let passages = cut_passages(&articles, settings.content.passage_words);
        let counts = TermCounts::of(&articles, &VectorWeights::default());
        let vectors = ArticleVectors::from_counts(&counts, &VectorWeights::default());
        let info = BuildInfo {
            fingerprint,
            reused: false,
            updated: false,
            took: Duration::ZERO,
            diff: None,
        };
        let index = SearchIndex::build(
            Target::Memory,
            &articles,
            &passages,
            settings.index_threads,
            progress,
        )?;
        Ok(Library::assemble(
            Articles::held(articles.into_iter().map(Arc::new).collect()),
            index.layout().clone(),
            passages,
            RelatedVectors::held(vectors),
            warnings,
            index,
            info,
            files,
            Some(Arc::new(counts)),
        ))
    }

    /// Builds the library of `source` into the index folder `dir`, streaming: the files are
    /// read, parsed, cut into passages, counted, indexed and their bodies written to
    /// `articles.bin` [`STREAM_BATCH`] at a time, and only each article's front matter and
    /// headings are kept past its batch; the term counts go to a file as they are made (the
    /// vectors are weighed from it at the end, `counts.bin` is a copy of it). The memory a
    /// build takes is then the index writer's (bounded,
    /// [`crate::index::WRITER_BYTES_PER_THREAD`] per thread), the stems and their document
    /// frequencies, and the library a reopened index holds, not the text or the counts of the
    /// whole collection.
    ///
    /// The result is the one a build of every article at once gives: the same articles in
    /// the same order (a slug taken by an earlier file, in this batch or a previous one, is
    /// refused with the same warning), the same passages, counts and documents in the same
    /// order.
    fn build_streaming(
        settings: &Settings,
        dir: &Path,
        source: Source<'_>,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<Library> {
        let info = BuildInfo {
            fingerprint: source.fingerprint.clone(),
            reused: false,
            updated: false,
            took: Duration::ZERO,
            diff: None,
        };
        let staging = staging::staging_dir(dir)?;
        let tantivy_dir = staging.join(persist::TANTIVY);
        std::fs::create_dir_all(&tantivy_dir)?;
        let bodies_path = staging.join(persist::ARTICLES);
        std::fs::File::create(&bodies_path)
            .with_context(|| format!("cannot create {}", bodies_path.display()))?;
        let mut bodies_len = 0u64;
        let mut warnings = source.warnings;
        let mut articles: Vec<Arc<Article>> = Vec::new();
        let mut passages: Vec<Passage> = Vec::new();
        // The articles' term counts go to a file as they are counted (see `CountingToFile`),
        // which `counts.bin` is then made of.
        let spill_path = staging.join(persist::COUNTS_SPILL);
        let mut counting = CountingToFile::create(&spill_path, VectorWeights::default())?;
        let mut seen: HashMap<String, std::path::PathBuf> = HashMap::new();
        let mut indexer: Option<Indexer> = None;
        let files = source.files;
        for batch in files.chunks(STREAM_BATCH) {
            let Loaded {
                articles: mut fresh,
                warnings: batch_warnings,
            } = content::load_files_after(&settings.content, batch, Vec::new(), &mut seen);
            progress.advance(batch.len() as u64);
            warnings.extend(batch_warnings);
            let base = articles.len() as u32;
            let cut = cut_passages(&fresh, settings.content.passage_words);
            // The threads are chosen for the collection's passages, estimated from the first
            // batch (exact when it is the whole collection).
            let indexer = match &mut indexer {
                Some(i) => i,
                None => {
                    let estimate = cut.len() * files.len() / batch.len().max(1);
                    let threads = indexing_threads(settings.index_threads, estimate);
                    indexer.insert(Indexer::new(Target::Dir(&tantivy_dir), threads)?)
                }
            };
            // Each text is analysed once, for the counts and the index.
            let texts = counting.add_analysed(&fresh)?;
            let mut start = 0;
            for (i, (a, texts)) in fresh.iter().zip(&texts).enumerate() {
                let end = start
                    + cut[start..]
                        .iter()
                        .take_while(|p| p.article == i as u32)
                        .count();
                indexer.add_analysed(a, &cut[start..end], texts)?;
                start = end;
                progress.advance(1);
            }
            drop(texts);
            passages.extend(cut.into_iter().map(|p| Passage {
                article: base + p.article,
                ..p
            }));
            let mut refs: Vec<&mut Article> = fresh.iter_mut().collect();
            bodies_len = persist::write_articles(&bodies_path, &mut refs, bodies_len)?;
            articles.extend(fresh.into_iter().map(Arc::new));
        }
        warnings.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        let indexer = match indexer {
            Some(i) => i,
            None => Indexer::new(Target::Dir(&tantivy_dir), 1)?,
        };
        let layout = Layout::new(&articles, &passages)?;
        let built = indexer.finish(layout.clone())?;
        let tokens = built.tokens();
        drop(built);
        let counts = counting.finish()?;
        let vectors = counts.vectors(&VectorWeights::default())?;
        let parts = persist::Parts {
            keys: layout.keys(),
            passages: &passages,
            vectors: &vectors,
            counts: persist::CountsOut::Whole(persist::Counts::Spilled(&counts)),
            warnings: &warnings,
            files: &source.stamps,
            tokens,
            fingerprint: &source.fingerprint,
        };
        let count_places = persist::write_rest(&staging, &articles, parts, bodies_len)?;
        drop(counts);
        std::fs::remove_file(&spill_path)
            .with_context(|| format!("cannot remove {}", spill_path.display()))?;
        staging::swap_into_place(&staging, dir)?;
        let index = SearchIndex::open(&dir.join(persist::TANTIVY), layout.clone(), Some(tokens))?;
        persist::attach_bodies(
            &dir.join(persist::ARTICLES),
            articles
                .iter_mut()
                .map(|a| Arc::get_mut(a).expect("the build's own")),
            bodies_len,
            None,
        )?;
        Ok(Library {
            count_places,
            ..Library::assemble(
                Articles::held(articles),
                layout,
                passages,
                RelatedVectors::held(vectors),
                warnings,
                index,
                info,
                source.stamps,
                None,
            )
        })
    }

    /// The library `persisted` (from [`persist::read`]) when it was built from
    /// content with this `fingerprint`.
    fn open_persisted(
        dir: &Path,
        fingerprint: &str,
        persisted: anyhow::Result<Option<persist::Persisted>>,
    ) -> anyhow::Result<Option<Library>> {
        let Some(p) = persisted? else {
            return Ok(None);
        };
        if p.fingerprint != fingerprint {
            tracing::info!("content or settings changed since the index was built; rebuilding");
            return Ok(None);
        }
        let layout = Layout::of_keys(p.keys, &p.passages)?;
        let index = SearchIndex::open(&dir.join(persist::TANTIVY), layout.clone(), Some(p.tokens))?;
        if index.num_docs() != p.passages.len() as u64 {
            anyhow::bail!("index and library.bin disagree on the passage count");
        }
        Ok(Some(Library {
            count_places: p.counts,
            ..Library::assemble(
                p.articles,
                layout,
                p.passages,
                p.vectors,
                p.warnings,
                index,
                BuildInfo {
                    fingerprint: fingerprint.to_string(),
                    reused: true,
                    updated: false,
                    took: Duration::ZERO,
                    diff: None,
                },
                p.files,
                None,
            )
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        articles: Articles,
        layout: Layout,
        passages: Vec<Passage>,
        vectors: RelatedVectors,
        warnings: Vec<Warning>,
        index: SearchIndex,
        info: BuildInfo,
        files: Vec<FileStamp>,
        counts: Option<Arc<TermCounts>>,
    ) -> Library {
        let names = Names::spawn(&articles);
        Library::assemble_named(
            articles, layout, passages, vectors, warnings, names, index, info, files, counts,
        )
    }

    /// [`Library::assemble`] with the name index in hand (an update renumbers the old one's).
    #[allow(clippy::too_many_arguments)]
    fn assemble_named(
        articles: Articles,
        layout: Layout,
        passages: Vec<Passage>,
        vectors: RelatedVectors,
        warnings: Vec<Warning>,
        names: Names,
        index: SearchIndex,
        info: BuildInfo,
        files: Vec<FileStamp>,
        counts: Option<Arc<TermCounts>>,
    ) -> Library {
        Library {
            articles,
            passages,
            warnings,
            index,
            names,
            vectors,
            info,
            layout,
            files,
            counts,
            count_places: persist::CountsPlaces::default(),
            shape: String::new(),
            #[cfg(feature = "embeddings")]
            embeddings: None,
        }
    }

    /// The article with this exact slug.
    pub fn by_slug(&self, slug: &str) -> Option<u32> {
        // Two slugs of one key are refused when the layout is made, so only a slug that is
        // no article's can find another's article here.
        let id = self.layout.article_of(article_key(slug))?;
        (self.articles[id as usize].slug == slug).then_some(id)
    }

    /// Article `id`.
    pub fn article(&self, id: u32) -> &Article {
        &self.articles[id as usize]
    }

    /// The passage ids of article `id`.
    pub fn passages_of(&self, id: u32) -> Range<u32> {
        self.layout.passages_of(id)
    }

    /// The blocks' text of passage `id`, one block per line.
    pub fn passage_text(&self, id: u32) -> String {
        self.passage_blocks(id)
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The blocks of passage `id`.
    pub fn passage_blocks(&self, id: u32) -> &[content::Block] {
        let p = &self.passages[id as usize];
        let s = &self.articles[p.article as usize].sections[p.section as usize];
        &s.blocks[p.blocks.start as usize..p.blocks.end as usize]
    }

    /// The sentence-embedding layer, when one is attached.
    #[cfg(feature = "embeddings")]
    pub fn embeddings(&self) -> Option<&crate::embed::layer::Embeddings> {
        self.embeddings.as_deref()
    }

    #[cfg(feature = "embeddings")]
    pub fn set_embeddings(&mut self, layer: Option<Arc<crate::embed::layer::Embeddings>>) {
        self.embeddings = layer;
    }

    /// Lets go of every article body read from `articles.bin` (the next use reads it again):
    /// for work that reads them all once, such as embedding every passage, after which a
    /// serving process should hold only the bodies its questions touch.
    pub fn unload_bodies(&mut self) {
        // The name index's thread shares the articles until it is done.
        let _ = &*self.names;
        let mut articles = self.articles.to_vec();
        self.articles = Articles::held(Vec::new());
        for shared in &mut articles {
            match Arc::get_mut(shared) {
                Some(a) => {
                    for s in &mut a.sections {
                        s.blocks.unload();
                    }
                    a.takeaways.unload();
                }
                // Also the article of the library this one was updated from (which keeps
                // what it read): this library's own copy reads its bodies anew.
                None => *shared = Arc::new(shared.unread()),
            }
        }
        self.articles = Articles::held(articles);
    }

    /// Files rejected by the load that made this library.
    pub fn rejected(&self) -> usize {
        self.warnings.iter().filter(|w| w.rejected).count()
    }
}

/// Gives the memory the allocator holds free back to the system (after a reload and after a
/// burst of answers: `service`): what a library dropped by a reload freed (glibc keeps it in
/// the arenas of the threads that allocated it) would stay in a serving process's RSS until
/// allocations of the same threads reuse it. (Not at the start
/// of an update: the updates' peak at 100,000 articles was no lower for it, 618-665 MB with
/// against 609-611 MB without, once the kept articles were shared; BENCHMARKS.md, issue 18.)
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_whose_thread_panicked_are_empty_not_a_panic() {
        let handle = std::thread::spawn(|| -> NameIndex { panic!("made to fail") });
        let names = Names::from_thread(handle);
        // Every look-up, the first and the ones after it, finds nothing and goes on.
        assert!(names.lookup("anything", 2).is_empty());
        assert!(names.lookup("again", 2).is_empty());
    }

    #[test]
    fn the_name_index_made_aside_answers_as_one_made_in_place() {
        let settings = Settings::for_content(".").content;
        let articles: Vec<Article> = [
            (
                "bees",
                "+++\ntitle = \"Honey bees\"\naliases = [\"apis\"]\n+++\nBees.\n",
            ),
            ("night-trains", "# Night trains\n\nSleeper trains.\n"),
        ]
        .iter()
        .map(|(name, source)| {
            content::parse_article(
                &settings,
                Path::new(&format!("{name}.md")),
                content::Format::Markdown,
                source,
            )
            .unwrap()
        })
        .collect();
        let shared: Vec<Arc<Article>> = articles.iter().cloned().map(Arc::new).collect();
        let aside = Names::spawn(&Articles::held(shared));
        let in_place = NameIndex::new(&articles);
        for q in ["honey", "apis", "night-trains", "nigth trains", "", "zebra"] {
            assert_eq!(aside.lookup(q, 5), in_place.lookup(q, 5), "{q:?}");
        }
        assert_eq!(aside.lookup("apis", 1)[0].article, 0);
        assert!(format!("{aside:?}").contains("ready: true"));
    }

    #[test]
    fn a_persisted_library_of_several_batches_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir(&content).unwrap();
        let n = persist::WRITE_BATCH + 7;
        for i in 0..n {
            std::fs::write(
                content.join(format!("a{i:04}.md")),
                format!("# Article {i}\n\nFirst paragraph {i}.\n\n## Part\n\n- item {i}\n"),
            )
            .unwrap();
        }
        // Two files whose slug an earlier batch's file has (one with a note of its own, which
        // goes with it), and a file the build refuses: warned about as a whole load warns.
        assert!(n > STREAM_BATCH);
        std::fs::write(
            content.join("b-copy.md"),
            "+++\nslug = \"a0003\"\ntitle = \"Copy\"\nurl = \"ftp://x\"\n+++\ntext\n",
        )
        .unwrap();
        std::fs::write(
            content.join("b-copy2.md"),
            "+++\nslug = \"a0600\"\ntitle = \"Copy\"\n+++\ntext\n",
        )
        .unwrap();
        std::fs::write(content.join("b-empty.md"), "").unwrap();
        let settings = indexed_in(&content, &dir.path().join("index"));
        let built = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(!built.info.reused);
        let whole = content::load(&settings.content).unwrap();
        assert_eq!(built.warnings, whole.warnings);
        assert_eq!(
            built
                .warnings
                .iter()
                .filter(|w| w.reason.starts_with("duplicate slug"))
                .count(),
            2
        );
        let reopened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(reopened.info.reused);
        assert_eq!(reopened.articles.len(), n);
        let unread = |a: &Arc<Article>| a.sections.iter().all(|s| !s.blocks.is_loaded());
        assert!(reopened.articles.iter().all(unread));
        assert_eq!(reopened.articles, built.articles);
        assert_eq!(reopened.passages, built.passages);
        // Compared with the parsed articles by their bytes, the bodies are not read...
        let parsed = content::load(&settings.content).unwrap().articles;
        let parsed: Vec<Arc<Article>> = parsed.into_iter().map(Arc::new).collect();
        assert_eq!(reopened.articles, parsed);
        // The counts the build wrote to a file as it went are the ones counted whole, and
        // the vectors weighed from them too; the file is gone from the index folder.
        let w = VectorWeights::default();
        let index_dir = dir.path().join("index");
        let counts = persist::read_counts(&index_dir, &built.count_places)
            .unwrap()
            .unwrap();
        assert_eq!(counts, TermCounts::of(&parsed, &w));
        assert_eq!(built.vectors, ArticleVectors::from_counts(&counts, &w));
        // The vectors are read by their first use, not at open, and are the built ones.
        assert!(built.vectors.is_loaded());
        assert!(!reopened.vectors.is_loaded());
        assert_eq!(reopened.vectors, built.vectors);
        assert!(reopened.vectors.is_loaded());
        assert_eq!(reopened.vectors.nearest(3, 5), built.vectors.nearest(3, 5));
        assert!(!index_dir.join(persist::COUNTS_SPILL).exists());
        assert!(reopened.articles.iter().all(unread));
        // ...and read on first use, they are the parsed ones.
        for (a, p) in reopened.articles.iter().zip(&parsed) {
            for (s, t) in a.sections.iter().zip(&p.sections) {
                assert_eq!(s.blocks.value(), t.blocks.value());
            }
            assert_eq!(a.takeaways.value(), p.takeaways.value());
        }
        assert!(reopened
            .articles
            .iter()
            .all(|a| a.sections[0].blocks.is_loaded()));
        let id = reopened.by_slug("a0003").unwrap();
        assert_eq!(reopened.passage_text(id * 2), "First paragraph 3.");
        assert_eq!(reopened.passage_blocks(id * 2 + 1)[0].text, "item 3");
        let last = reopened.by_slug(&format!("a{:04}", n - 1)).unwrap();
        assert_eq!(reopened.article(last).title, format!("Article {}", n - 1));
        // A file of bodies cut short is noticed, and the library is rebuilt. (The libraries
        // open on it were cut short too: their last article now reads as empty.)
        let bin = dir.path().join("index/articles.bin");
        let len = std::fs::metadata(&bin).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&bin)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let rebuilt = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(!rebuilt.info.reused);
        assert!(rebuilt.articles == parsed);
        assert!(built.article(last).takeaways.is_empty());
        assert!(built.article(last).sections[1].blocks.is_empty());
    }

    /// The document frequencies of each stem, by stem.
    fn frequencies(c: &TermCounts) -> HashMap<&str, u32> {
        c.stems
            .iter()
            .zip(&c.df)
            .filter(|(_, &d)| d > 0)
            .map(|(s, &d)| (s.as_str(), d))
            .collect()
    }

    /// An empty content folder in `dir`.
    pub(super) fn content_folder(dir: &Path) -> std::path::PathBuf {
        let content = dir.join("content");
        std::fs::create_dir(&content).unwrap();
        content
    }

    /// A content folder in `dir` of `n` short articles `a00`, `a01`, ... ("Honey note i.").
    pub(super) fn honey_notes(dir: &Path, n: usize) -> std::path::PathBuf {
        let content = content_folder(dir);
        for i in 0..n {
            write_article(&content, &format!("a{i:02}"), &format!("Honey note {i}."));
        }
        content
    }

    /// The settings for `content` with its index in the folder `index`.
    pub(super) fn indexed_in(content: &Path, index: &Path) -> Settings {
        let mut settings = Settings::for_content(content);
        settings.index = IndexLocation::Dir(index.to_path_buf());
        settings
    }

    /// Writes article `name` (a heading, then `words`) into `content`.
    pub(super) fn write_article(content: &Path, name: &str, words: &str) {
        std::fs::write(
            content.join(format!("{name}.md")),
            format!("# {name}\n\n{words}\n"),
        )
        .unwrap()
    }

    /// An update holds the articles whose files did not change as the library it was made
    /// from holds them (the same allocations, bodies read by either read once), and the
    /// articles read again as its own; reopened from the folder, it is the collection's.
    /// An update of a library whose name index is still being made does not wait for it: its
    /// own is made from it on a thread once it is ready, and is the index made whole, for an
    /// edit that keeps every name and for an added article.
    #[test]
    fn an_update_does_not_wait_for_the_name_index_it_updates() {
        let dir = tempfile::tempdir().unwrap();
        let content = honey_notes(dir.path(), 20);
        let settings = indexed_in(&content, &dir.path().join("index"));
        Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let mut lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(lib.info.reused);
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let named = lib.articles.clone();
        lib.names = Names::from_thread(std::thread::spawn(move || {
            let _ = wait.recv_timeout(Duration::from_secs(60));
            NameIndex::new(named.all_in_turn())
        }));
        let held = lib.names.clone();
        write_article(&content, "a03", "Honey note three, edited.");
        let edited = Library::update(&settings, &lib, &NoProgress).unwrap();
        write_article(&content, "a20", "A new note on nectar.");
        let added = Library::update(&settings, &edited, &NoProgress).unwrap();
        assert!(edited.info.updated && added.info.updated);
        assert!(
            !held.is_ready() && !edited.names.is_ready(),
            "an update waited for the name index"
        );
        go.send(()).unwrap();
        for updated in [&edited, &added] {
            let whole = NameIndex::new(&updated.articles);
            for q in ["a03", "a2", "a20", "a07", "honey", "a1"] {
                assert_eq!(updated.names.lookup(q, 5), whole.lookup(q, 5), "{q:?}");
            }
        }
        assert_eq!(added.names.lookup("a20", 1)[0].article, 20);
    }

    /// An opened library's articles are decoded one at a time on first use, each into one
    /// `Arc` that every later reader (one article, or all of them) shares; they read as the
    /// built ones, and a slug finds its article without a map of every slug.
    #[test]
    fn an_opened_librarys_articles_are_decoded_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let content = honey_notes(dir.path(), 30);
        let index_dir = dir.path().join("index");
        let settings = indexed_in(&content, &index_dir);
        let built = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let read = persist::read(&index_dir).unwrap().unwrap();
        let articles = read.articles;
        assert_eq!(articles.len(), 30);
        assert_eq!(articles.decoded_count(), 0);
        let seventh = articles[7].clone();
        assert_eq!(articles.decoded_count(), 1);
        assert_eq!(*seventh, *built.articles[7]);
        assert!(seventh.sections.iter().all(|s| !s.blocks.is_loaded()));
        assert_eq!(articles, built.articles);
        assert_eq!(articles.decoded_count(), 30);
        assert!(Arc::ptr_eq(&seventh, &articles[7]));
        assert!(Arc::ptr_eq(&seventh, &articles.to_vec()[7]));
        assert_eq!(read.keys, built.layout.keys());

        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(opened.info.reused);
        for (i, a) in built.articles.iter().enumerate() {
            assert_eq!(opened.by_slug(&a.slug), Some(i as u32));
            assert_eq!(opened.passages_of(i as u32), built.passages_of(i as u32));
        }
        assert_eq!(opened.by_slug("a07-not"), None);
        assert_eq!(opened.by_slug(""), None);
    }

    #[test]
    fn an_update_shares_the_articles_it_kept_with_the_library_it_updates() {
        let dir = tempfile::tempdir().unwrap();
        let content = honey_notes(dir.path(), 12);
        let settings = indexed_in(&content, &dir.path().join("index"));
        Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(opened.info.reused);
        // A body read by the library in service before the update.
        assert_eq!(
            opened.passage_text(opened.passages_of(3).start),
            "Honey note 3."
        );
        write_article(&content, "a05", "Honey note five, edited.");
        write_article(&content, "a12", "A new note of honey.");
        let updated = Library::update(&settings, &opened, &NoProgress).unwrap();
        assert!(updated.info.updated);
        assert_eq!(updated.articles.len(), 13);
        for (id, a) in updated.articles.iter().enumerate() {
            let old = opened
                .by_slug(&a.slug)
                .map(|o| &opened.articles[o as usize]);
            let shared = old.is_some_and(|o| Arc::ptr_eq(o, a));
            assert_eq!(shared, a.slug != "a05" && a.slug != "a12", "{}", a.slug);
            // Read by the library in service: read in this one too.
            let read = a.sections.iter().any(|s| s.blocks.is_loaded());
            assert_eq!(read, a.slug == "a03", "{}", a.slug);
            assert_eq!(updated.article(id as u32).slug, a.slug);
        }
        let text = |lib: &Library, slug: &str| {
            lib.passage_text(lib.passages_of(lib.by_slug(slug).unwrap()).start)
        };
        assert_eq!(text(&updated, "a05"), "Honey note five, edited.");
        assert_eq!(text(&updated, "a07"), "Honey note 7.");
        assert_eq!(text(&updated, "a12"), "A new note of honey.");
        // One handle on the bodies' file, the opened library's, whatever updated an article:
        // not one more per update for the life of the process.
        let opened_file = articles::body_file(&opened.articles)
            .expect("stored bodies")
            .clone();
        let files = |lib: &Library| -> Vec<Arc<content::BodyFile>> {
            lib.articles
                .iter()
                .flat_map(|a| a.sections.iter().filter_map(|s| s.blocks.file().cloned()))
                .collect()
        };
        assert_eq!(files(&updated).len(), 13);
        assert!(files(&updated).iter().all(|f| Arc::ptr_eq(f, &opened_file)));
        write_article(&content, "a06", "Honey note six, edited.");
        let again = Library::update(&settings, &updated, &NoProgress).unwrap();
        assert!(again.info.updated);
        assert!(files(&again).iter().all(|f| Arc::ptr_eq(f, &opened_file)));
        assert_eq!(text(&again, "a06"), "Honey note six, edited.");
        drop(again);
        // The library in service goes, the updated one reads on (the records it shares lie
        // in the same file, linked into the new folder).
        drop(opened);
        assert_eq!(text(&updated, "a09"), "Honey note 9.");
        let updated = Library::update(&settings, &updated, &NoProgress).unwrap();
        assert!(updated.info.reused, "nothing changed: reopened");
        let parsed: Vec<Arc<Article>> = content::load(&settings.content)
            .unwrap()
            .articles
            .into_iter()
            .map(Arc::new)
            .collect();
        assert_eq!(updated.articles, parsed);
    }

    /// `library.bin`'s articles are records decoded in parallel, placed by a table of lengths
    /// and a trailer: a file whose parts do not fit together is refused at open (and the
    /// library built again), never read out of place.
    #[test]
    fn a_library_file_whose_parts_do_not_fit_is_refused_and_built_again() {
        let dir = tempfile::tempdir().unwrap();
        let content = honey_notes(dir.path(), 40);
        let settings = indexed_in(&content, &dir.path().join("index"));
        let built = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let path = dir.path().join("index").join(persist::LIBRARY);
        let good = std::fs::read(&path).unwrap();
        let n = good.len();
        let put = |bytes: &[u8]| {
            // Written anew, never through: a library may map it.
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, bytes).unwrap();
        };
        let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let (lens_at, head_at) = (u64_at(&good, n - 16), u64_at(&good, n - 8));
        assert!(0 < lens_at && lens_at < head_at && head_at < n as u64 - 16);
        let mut shifted = good.clone();
        shifted[n - 16..n - 8].copy_from_slice(&(lens_at - 1).to_le_bytes());
        let mut past = good.clone();
        past[n - 8..].copy_from_slice(&(n as u64).to_le_bytes());
        let mut record = good.clone();
        record[0] ^= 0xff;
        for (what, bytes) in [
            ("cut short", &good[..n - 3]),
            ("lengths moved", &shifted[..]),
            ("head past the end", &past[..]),
            ("a record damaged", &record[..]),
        ] {
            put(bytes);
            let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
            assert!(!lib.info.reused, "{what}");
            assert_eq!(lib.articles, built.articles, "{what}");
            let reopened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
            assert!(reopened.info.reused, "{what}: the rebuilt file reads");
            assert_eq!(reopened.articles, built.articles, "{what}");
        }
    }

    #[test]
    fn counts_read_where_they_lie_after_updates_are_the_counts_made_whole() {
        let dir = tempfile::tempdir().unwrap();
        let content = content_folder(dir.path());
        let write = |name: &str, words: &str| write_article(&content, name, words);
        write("bees", "Bees make honey from nectar in the hive.");
        write("wasps", "Wasps build paper nests and make no honey.");
        write("trains", "Sleeper trains cross Europe at night.");
        // Enough other articles that the updates' counts go to the log, not a new base.
        for i in 0..40 {
            write(
                &format!("other{i:02}"),
                &format!("Other article {i} of honey, nests, trains and gauges, number {i}."),
            );
        }
        let index_dir = dir.path().join("index");
        let settings = indexed_in(&content, &index_dir);
        let w = VectorWeights::default();
        Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        // Each article's entries by stem, and each stem's document frequency.
        let by_stem = |c: &TermCounts| {
            let articles: Vec<Vec<(String, u32)>> = (0..c.len())
                .map(|i| {
                    let mut v: Vec<(String, u32)> = c
                        .article(i)
                        .iter()
                        .map(|(t, f)| (c.stems[t as usize].clone(), f.to_bits()))
                        .collect();
                    v.sort();
                    v
                })
                .collect();
            let df: HashMap<String, u32> = frequencies(c)
                .into_iter()
                .map(|(s, d)| (s.to_string(), d))
                .collect();
            (articles, df)
        };
        let whole = || {
            let parsed = content::load(&settings.content).unwrap().articles;
            by_stem(&TermCounts::of(&parsed, &w))
        };
        // Edits that drop a stem ("nectar") and bring new ones, an article added and one
        // removed: the base's frequencies less the replaced articles' and plus the log's must
        // be the collection's.
        let steps: [&dyn Fn(); 3] = [
            &|| write("bees", "Bees make honey in the hive; a glacier of honey."),
            &|| write("rails", "Trains in Spain ran on a broad gauge."),
            &|| std::fs::remove_file(content.join("wasps.md")).unwrap(),
        ];
        for (k, step) in steps.iter().enumerate() {
            // The library in service opened from the folder the last update left: its
            // update reads the counts back from the base and the log.
            let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
            assert!(opened.info.reused && opened.counts.is_none(), "step {k}");
            let read = persist::read_counts(&index_dir, &opened.count_places)
                .unwrap()
                .unwrap();
            let stored = read
                .articles
                .iter()
                .filter(|e| matches!(e, vectors::Entries::Stored { .. }))
                .count();
            match k {
                0 => assert_eq!(stored, read.len(), "a build's counts are all in the base"),
                _ => assert!(stored < read.len(), "step {k}: the log holds some"),
            }
            assert_eq!(by_stem(&read), whole(), "step {k}: read back");
            step();
            let lib = Library::update(&settings, &opened, &NoProgress).unwrap();
            assert!(lib.info.updated, "step {k}");
            let kept = lib.counts.clone().unwrap();
            assert_eq!(by_stem(&kept), whole(), "step {k}: kept");
        }
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let read = persist::read_counts(&index_dir, &opened.count_places)
            .unwrap()
            .unwrap();
        let parsed = content::load(&settings.content).unwrap().articles;
        assert_eq!(
            frequencies(&read),
            frequencies(&TermCounts::of(&parsed, &w))
        );
    }

    /// The kilobytes of this process's memory that map files named `name` below `dir`
    /// (`/proc/self/smaps`).
    #[cfg(target_os = "linux")]
    fn resident_kb(dir: &Path, name: &str) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let dir = dir.to_string_lossy();
        let mut inside = false;
        let mut kb = 0;
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            match fields.next() {
                // A mapping's first line: its addresses, then (for a file) the file's path.
                Some(first) if first.contains('-') && !first.ends_with(':') => {
                    inside = line.contains(dir.as_ref()) && line.contains(name);
                }
                Some("Rss:") if inside => kb += fields.next().unwrap().parse::<u64>().unwrap(),
                _ => {}
            }
        }
        kb
    }

    /// A pass over every article's stored counts (the check of counts read back, an update's
    /// look for the vectors that can move) gives their mapped pages back as it goes: the
    /// process holds little of `counts.bin` after either, where it held all of it.
    #[cfg(target_os = "linux")]
    #[test]
    fn passes_over_the_stored_counts_leave_few_of_their_pages_resident() {
        let dir = tempfile::tempdir().unwrap();
        let content = content_folder(dir.path());
        // Words of letters only (a term is no number), 150 of 3,000 an article: enough
        // entries to tell pages held from pages given back.
        let word = |mut i: usize| {
            let mut w = String::from("q");
            for _ in 0..3 {
                w.push((b'a' + (i % 26) as u8) as char);
                i /= 26;
            }
            w
        };
        for a in 0..400 {
            let words: Vec<String> = (0..150).map(|k| word((a * 151 + k * 7) % 3000)).collect();
            write_article(&content, &format!("a{a:03}"), &words.join(" "));
        }
        let index_dir = dir.path().join("index");
        let settings = indexed_in(&content, &index_dir);
        Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(opened.info.reused);
        let before = resident_kb(dir.path(), persist::COUNTS);
        let read = persist::read_counts(&index_dir, &opened.count_places)
            .unwrap()
            .unwrap();
        let entries_kb = (0..read.len())
            .map(|i| read.article(i).len() * vectors::ENTRY_BYTES)
            .sum::<usize>() as u64
            / 1024;
        assert!(
            entries_kb > 400,
            "{entries_kb} kB of entries: too few to tell"
        );
        let held = resident_kb(dir.path(), persist::COUNTS).saturating_sub(before);
        assert!(
            held * 4 < entries_kb,
            "{held} kB resident after the check of {entries_kb} kB of entries"
        );
        drop(read);
        write_article(&content, "a007", "A new word for an old article: qzzzz.");
        let lib = Library::update(&settings, &opened, &NoProgress).unwrap();
        assert!(lib.info.updated && lib.counts.is_some());
        let held = resident_kb(dir.path(), persist::COUNTS).saturating_sub(before);
        assert!(
            held * 4 < entries_kb,
            "{held} kB resident after an update's pass over {entries_kb} kB of entries"
        );
        // An added article changes every weight: every vector is weighed again from the
        // stored counts, a pass at a time as well.
        write_article(&content, "a400", "A new article of qzzzz and qyyyy.");
        let lib = Library::update(&settings, &lib, &NoProgress).unwrap();
        assert!(lib.info.updated && lib.articles.len() == 401);
        let held = resident_kb(dir.path(), persist::COUNTS).saturating_sub(before);
        assert!(
            held * 4 < entries_kb,
            "{held} kB resident after an added article's weighing of {entries_kb} kB of entries"
        );
        // Pages given back read as they did: the counts are the collection's.
        let parsed = content::load(&settings.content).unwrap().articles;
        let w = VectorWeights::default();
        let whole = TermCounts::of(&parsed, &w);
        assert_eq!(
            frequencies(lib.counts.as_ref().unwrap()),
            frequencies(&whole)
        );
        assert_eq!(lib.vectors, ArticleVectors::from_counts(&whole, &w));
    }

    /// `vectors.bin` is mapped at open and read by the first use: an update of a library
    /// opened from its folder reads them there, and the library it makes (and the one opened
    /// after it) holds the vectors a build gives. A file of another size is refused at open
    /// (a rebuild); one damaged after the open gives no vectors, not a panic.
    #[test]
    fn vectors_read_on_first_use_are_the_built_ones_across_updates() {
        let dir = tempfile::tempdir().unwrap();
        let content = content_folder(dir.path());
        let write = |name: &str, words: &str| write_article(&content, name, words);
        for i in 0..30 {
            write(
                &format!("a{i:02}"),
                &format!(
                    "Honey, nests and trains, note {i}; bees {} and gauges.",
                    i % 4
                ),
            );
        }
        let index_dir = dir.path().join("index");
        let settings = indexed_in(&content, &index_dir);
        let w = VectorWeights::default();
        let whole = || {
            let parsed = content::load(&settings.content).unwrap().articles;
            ArticleVectors::build(&parsed, &w)
        };
        Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(opened.info.reused && !opened.vectors.is_loaded());
        write("a07", "Glaciers and honey: an edited note on trains.");
        let updated = Library::update(&settings, &opened, &NoProgress).unwrap();
        assert!(updated.info.updated);
        assert!(
            opened.vectors.is_loaded(),
            "the update read the old vectors"
        );
        assert_eq!(updated.vectors, whole());
        let reopened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(reopened.info.reused && !reopened.vectors.is_loaded());
        assert_eq!(reopened.vectors, whole());
        assert_eq!(
            reopened.vectors.nearest(7, 3),
            updated.vectors.nearest(7, 3)
        );

        // Cut short (a crash while it was written): refused at open, and built again.
        let path = index_dir.join(persist::VECTORS);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let rebuilt = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(!rebuilt.info.reused);
        assert_eq!(rebuilt.vectors, whole());

        // Damaged after the open, its length kept (written anew: the file is never written
        // through; here the last entry's term id out of range): no vectors, and the next
        // update weighs them all again.
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - vectors::ENTRY_BYTES;
        bytes[last..last + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let broken = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(broken.info.reused);
        assert!(broken.vectors.is_empty() && broken.vectors.nearest(0, 3).is_empty());
        assert_eq!(
            opened.vectors,
            whole(),
            "a mapping keeps the file it mapped"
        );
        write("a08", "Another edit, of bees this time.");
        let updated = Library::update(&settings, &broken, &NoProgress).unwrap();
        assert_eq!(updated.vectors, whole());
        // Of another collection's size: refused at open, and the library built again.
        let other =
            ArticleVectors::build(&content::load(&settings.content).unwrap().articles[..3], &w);
        let mut bytes = Vec::new();
        other.write_to(&mut bytes).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let rebuilt = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(!rebuilt.info.reused);
        assert_eq!(rebuilt.vectors, whole());
    }

    /// A damaged document frequency in `counts.bin` (stored since format 10, no longer summed
    /// from the entries) is an error when the counts are read, so the reload builds whole
    /// instead of weighing every later vector with a wrong IDF.
    #[test]
    fn a_damaged_document_frequency_is_refused_and_the_reload_builds_whole() {
        let dir = tempfile::tempdir().unwrap();
        let content = content_folder(dir.path());
        let write = |name: &str, words: &str| write_article(&content, name, words);
        for i in 0..12 {
            write(
                &format!("a{i:02}"),
                &format!("Honey, nests and trains, note {i}."),
            );
        }
        let index_dir = dir.path().join("index");
        let settings = indexed_in(&content, &index_dir);
        let opened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(persist::read_counts(&index_dir, &opened.count_places).is_ok());
        // The frequencies follow the magic, the tag and the stems (each a length, then bytes).
        let path = index_dir.join(persist::COUNTS);
        let mut bytes = std::fs::read(&path).unwrap();
        let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let mut at = 8;
        at += 4 + u32_at(&bytes, at) as usize;
        let stems = u32_at(&bytes, at) as usize;
        at += 4;
        for _ in 0..stems {
            at += 4 + u32_at(&bytes, at) as usize;
        }
        let df = u32_at(&bytes, at);
        bytes[at..at + 4].copy_from_slice(&(df + 1).to_le_bytes());
        // Written anew (the file is never written through: a library may map it).
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let err = persist::read_counts(&index_dir, &opened.count_places).unwrap_err();
        assert!(
            format!("{err:#}").contains("document frequencies"),
            "{err:#}"
        );
        write("a00", "Honey, nests and trains, note zero, edited.");
        let lib = Library::update(&settings, &opened, &NoProgress).unwrap();
        assert!(
            !lib.info.updated,
            "a full build, not an update on damaged counts"
        );
        assert_eq!(lib.articles.len(), 12);
    }
}
