//! A [`Library`]: the articles, their passages, the tantivy index over them and the name index
//! for look-ups, built together and immutable afterwards. A reload builds a new one.
//!
//! Persistence: a persisted library lives in the index directory as `manifest.json` (format
//! version and fingerprint), `library.bin` (passages, warnings and every article's front matter
//! and section headings, with where each section's blocks and the takeaways lie in
//! `articles.bin`, postcard), `articles.bin` (each section's blocks and each article's
//! takeaways, each its own postcard record, read on first use: see [`content::Lazy`]) and
//! `tantivy/`.
//! The fingerprint covers every article file's path, size and modification time and the
//! settings that shape the index, so an unchanged collection is opened, not rebuilt.

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{ContentSettings, IndexLocation, Settings};
use crate::content::{self, Article, BodyFile, Lazy, Loaded, SourceFile, Warning};
pub use crate::index::{BuildProgress, NoProgress};
use crate::index::{SearchIndex, Target};
use crate::names::NameIndex;
use crate::text;

/// Bumped whenever the persisted layout, the way passages are cut or the analyzer changes.
const FORMAT_VERSION: u32 = 5;

/// The entries of an index folder, all written by [`Library`]'s build: nothing else in the
/// folder is ever written or removed.
const OWNED: &[&str] = &["manifest.json", "library.bin", "articles.bin", "tantivy"];

/// Why a folder named as the index folder is not written to: it is not the bot's own.
#[derive(Debug, thiserror::Error)]
#[error(
    "index folder {}: {problem}; refusing to write there. Choose an empty or new folder for \
     --index (or index.dir in config.toml)",
    path.display()
)]
pub struct IndexFolderError {
    pub path: PathBuf,
    pub problem: FolderProblem,
}

/// What makes a folder not an index folder.
#[derive(Debug, thiserror::Error)]
pub enum FolderProblem {
    #[error("it is a file, not a folder")]
    NotAFolder,
    #[error("it holds files that are not an articlebot index (e.g. {0})")]
    Foreign(String),
    #[error("its manifest.json is not an articlebot manifest")]
    ForeignManifest,
    #[error("it cannot be read ({0})")]
    Unreadable(std::io::Error),
}

/// Articles encoded together (in parallel) before they are written to `articles.bin`: bounds
/// the encoded bytes held at once while building.
const WRITE_BATCH: usize = 1024;

/// A window of consecutive blocks inside one section: the unit of retrieval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    pub article: u32,
    pub section: u32,
    /// Block indices inside the section.
    pub blocks: Range<u32>,
}

/// How a library came to be.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub fingerprint: String,
    /// `true` when a persisted index was opened instead of built.
    pub reused: bool,
    pub took: Duration,
}

/// Whether to reuse a persisted index when the fingerprint matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Reuse,
    Rebuild,
}

/// Articles, passages and their indexes.
#[derive(Debug)]
pub struct Library {
    pub articles: Vec<Article>,
    pub passages: Vec<Passage>,
    pub warnings: Vec<Warning>,
    pub index: SearchIndex,
    pub names: NameIndex,
    by_slug: HashMap<String, u32>,
    pub info: BuildInfo,
    /// Passage ids of each article, in order.
    article_passages: Vec<Range<u32>>,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    fingerprint: String,
    articles: usize,
    passages: usize,
}

/// `library.bin`: everything but the articles' bodies, which stay in `articles.bin` (the
/// articles' [`Lazy`] parts are stored as positions in it).
#[derive(Serialize, Deserialize)]
struct Snapshot {
    articles: Vec<Article>,
    passages: Vec<Passage>,
    warnings: Vec<Warning>,
    /// The length of `articles.bin`: a file cut short or replaced is noticed at open.
    bodies_len: u64,
}

/// A persisted library read back, before its fingerprint is compared with the content's.
struct Persisted {
    fingerprint: String,
    articles: Vec<Article>,
    passages: Vec<Passage>,
    warnings: Vec<Warning>,
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
        if let IndexLocation::Dir(dir) = &settings.index {
            check_index_folder(dir)?;
            remove_stale_staging(dir);
        }
        let reuse = match (&settings.index, mode) {
            (IndexLocation::Dir(dir), OpenMode::Reuse) => Some(dir),
            _ => None,
        };
        // The persisted library is read while the content folder is scanned: when nothing
        // changed (every start but the first) the two overlap, which is most of the time to
        // the first answer; when something changed the read is wasted and dropped.
        let (scanned, persisted) = std::thread::scope(|s| {
            let reader = reuse.map(|dir| s.spawn(|| Library::read_persisted(dir)));
            let scanned = content::scan(&settings.content.dir);
            let persisted =
                reader.map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            (scanned, persisted)
        });
        let (files, scan_warnings) = scanned?;
        let fingerprint = fingerprint(&settings.content, &files);
        if let (Some(dir), Some(persisted)) = (reuse, persisted) {
            match Library::open_persisted(dir, &fingerprint, persisted) {
                Ok(Some(mut lib)) => {
                    lib.info.took = start.elapsed();
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
        let loaded = content::load_files(&settings.content, &files, scan_warnings);
        progress.advance(files.len() as u64);
        let lib = Library::build(settings, loaded, fingerprint, progress)?;
        progress.finish();
        Ok(Library {
            info: BuildInfo {
                took: start.elapsed(),
                ..lib.info
            },
            ..lib
        })
    }

    /// Builds a library in memory from articles already loaded.
    pub fn from_loaded(settings: &ContentSettings, loaded: Loaded) -> anyhow::Result<Library> {
        let mut s = Settings::for_content(settings.dir.clone());
        s.content = settings.clone();
        let start = Instant::now();
        let lib = Library::build(&s, loaded, String::new(), &NoProgress)?;
        Ok(Library {
            info: BuildInfo {
                took: start.elapsed(),
                ..lib.info
            },
            ..lib
        })
    }

    fn build(
        settings: &Settings,
        loaded: Loaded,
        fingerprint: String,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<Library> {
        let Loaded { articles, warnings } = loaded;
        let passages = cut_passages(&articles, settings.content.passage_words);
        let index = match &settings.index {
            IndexLocation::Memory => SearchIndex::build(
                Target::Memory,
                &articles,
                &passages,
                settings.index_threads,
                progress,
            )?,
            IndexLocation::Dir(dir) => {
                let staging = staging_dir(dir)?;
                let tantivy_dir = staging.join("tantivy");
                std::fs::create_dir_all(&tantivy_dir)?;
                SearchIndex::build(
                    Target::Dir(&tantivy_dir),
                    &articles,
                    &passages,
                    settings.index_threads,
                    progress,
                )?;
                // From here on the library reads its bodies from the file, like a reopened
                // one: a serving process holds only the bodies it uses.
                let mut articles = articles;
                let bodies_len = write_articles(&staging.join("articles.bin"), &mut articles)?;
                let snapshot = Snapshot {
                    articles,
                    passages,
                    warnings,
                    bodies_len,
                };
                let bytes = postcard::to_stdvec(&snapshot).context("cannot encode the library")?;
                std::fs::write(staging.join("library.bin"), bytes)?;
                let manifest = Manifest {
                    format: FORMAT_VERSION,
                    fingerprint: fingerprint.clone(),
                    articles: snapshot.articles.len(),
                    passages: snapshot.passages.len(),
                };
                std::fs::write(
                    staging.join("manifest.json"),
                    serde_json::to_vec_pretty(&manifest)?,
                )?;
                swap_into_place(&staging, dir)?;
                let index = SearchIndex::open(&dir.join("tantivy"))?;
                let mut articles = snapshot.articles;
                attach_bodies(&dir.join("articles.bin"), &mut articles, bodies_len)?;
                return Ok(Library::assemble(
                    articles,
                    snapshot.passages,
                    snapshot.warnings,
                    index,
                    BuildInfo {
                        fingerprint,
                        reused: false,
                        took: Duration::ZERO,
                    },
                ));
            }
        };
        Ok(Library::assemble(
            articles,
            passages,
            warnings,
            index,
            BuildInfo {
                fingerprint,
                reused: false,
                took: Duration::ZERO,
            },
        ))
    }

    /// Reads the persisted library in `dir`: `None` when there is none or it has another
    /// format version. The articles' bodies are not read: each is read on first use.
    fn read_persisted(dir: &Path) -> anyhow::Result<Option<Persisted>> {
        let manifest = match std::fs::read(dir.join("manifest.json")) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let manifest: Manifest = serde_json::from_slice(&manifest).context("bad manifest")?;
        if manifest.format != FORMAT_VERSION {
            tracing::info!("the index was built by another version; rebuilding");
            return Ok(None);
        }
        let bytes = std::fs::read(dir.join("library.bin")).context("cannot read library.bin")?;
        let snapshot: Snapshot = postcard::from_bytes(&bytes).context("bad library.bin")?;
        let mut articles = snapshot.articles;
        attach_bodies(
            &dir.join("articles.bin"),
            &mut articles,
            snapshot.bodies_len,
        )?;
        if articles.len() != manifest.articles || snapshot.passages.len() != manifest.passages {
            anyhow::bail!("manifest and library.bin disagree on the article or passage count");
        }
        Ok(Some(Persisted {
            fingerprint: manifest.fingerprint,
            articles,
            passages: snapshot.passages,
            warnings: snapshot.warnings,
        }))
    }

    /// The library `persisted` (from [`Library::read_persisted`]) when it was built from
    /// content with this `fingerprint`.
    fn open_persisted(
        dir: &Path,
        fingerprint: &str,
        persisted: anyhow::Result<Option<Persisted>>,
    ) -> anyhow::Result<Option<Library>> {
        let Some(p) = persisted? else {
            return Ok(None);
        };
        if p.fingerprint != fingerprint {
            tracing::info!("content or settings changed since the index was built; rebuilding");
            return Ok(None);
        }
        let index = SearchIndex::open(&dir.join("tantivy"))?;
        if index.num_docs() != p.passages.len() as u64 {
            anyhow::bail!("index and library.bin disagree on the passage count");
        }
        Ok(Some(Library::assemble(
            p.articles,
            p.passages,
            p.warnings,
            index,
            BuildInfo {
                fingerprint: fingerprint.to_string(),
                reused: true,
                took: Duration::ZERO,
            },
        )))
    }

    fn assemble(
        articles: Vec<Article>,
        passages: Vec<Passage>,
        warnings: Vec<Warning>,
        index: SearchIndex,
        info: BuildInfo,
    ) -> Library {
        let by_slug = articles
            .iter()
            .enumerate()
            .map(|(i, a)| (a.slug.clone(), i as u32))
            .collect();
        // Passages are cut in article order, so each article's passages are one run.
        let mut article_passages: Vec<Range<u32>> = vec![0..0; articles.len()];
        for (i, p) in passages.iter().enumerate() {
            let i = i as u32;
            let r = &mut article_passages[p.article as usize];
            if r.start == r.end {
                *r = i..i + 1;
            } else {
                r.end = i + 1;
            }
        }
        let names = NameIndex::new(&articles);
        Library {
            articles,
            passages,
            warnings,
            index,
            names,
            by_slug,
            info,
            article_passages,
        }
    }

    /// The article with this exact slug.
    pub fn by_slug(&self, slug: &str) -> Option<u32> {
        self.by_slug.get(slug).copied()
    }

    /// Article `id`.
    pub fn article(&self, id: u32) -> &Article {
        &self.articles[id as usize]
    }

    /// The passage ids of article `id`.
    pub fn passages_of(&self, id: u32) -> Range<u32> {
        self.article_passages[id as usize].clone()
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

    /// Files rejected by the load that made this library.
    pub fn rejected(&self) -> usize {
        self.warnings.iter().filter(|w| w.rejected).count()
    }
}

/// Cuts each section into windows of consecutive blocks of about `target_words` words. A block
/// is never split; a long block is a passage of its own. Articles are cut in parallel (counting
/// words is a pass over the whole text), the passages come out in article order.
pub fn cut_passages(articles: &[Article], target_words: usize) -> Vec<Passage> {
    let per_article: Vec<Vec<Passage>> = articles
        .par_iter()
        .enumerate()
        .map(|(ai, a)| cut_article(ai as u32, a, target_words))
        .collect();
    per_article.concat()
}

fn cut_article(article: u32, a: &Article, target_words: usize) -> Vec<Passage> {
    let mut out = Vec::new();
    for (si, s) in a.sections.iter().enumerate() {
        let mut start = 0usize;
        let mut words = 0usize;
        for (bi, b) in s.blocks.iter().enumerate() {
            let w = text::word_count(&b.text);
            if words > 0 && words + w > target_words {
                out.push(Passage {
                    article,
                    section: si as u32,
                    blocks: start as u32..bi as u32,
                });
                start = bi;
                words = 0;
            }
            words += w;
        }
        if start < s.blocks.len() {
            out.push(Passage {
                article,
                section: si as u32,
                blocks: start as u32..s.blocks.len() as u32,
            });
        }
    }
    out
}

/// The fingerprint of a collection: format version, the settings that shape the index, and
/// every file's path, size and modification time.
pub fn fingerprint(settings: &ContentSettings, files: &[SourceFile]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&FORMAT_VERSION.to_le_bytes());
    h.update(settings.base_url.as_bytes());
    h.update(&[0]);
    h.update(&settings.max_file_bytes.to_le_bytes());
    h.update(&(settings.passage_words as u64).to_le_bytes());
    for t in &settings.takeaway_headings {
        h.update(t.as_bytes());
        h.update(&[0]);
    }
    h.update(&[1]);
    for f in files {
        h.update(f.rel.to_string_lossy().as_bytes());
        h.update(&[0]);
        h.update(&f.len.to_le_bytes());
        h.update(&f.mtime_ns.to_le_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Writes each section's blocks and each article's takeaways to `path`, one postcard record
/// each (encoded in parallel, [`WRITE_BATCH`] articles at a time), and turns them into
/// [`Lazy::stored`] parts at those positions (not yet attached to the file): an answer reads
/// the sections it cites, not the whole article. Returns the file's length.
fn write_articles(path: &Path, articles: &mut [Article]) -> anyhow::Result<u64> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut offset = 0u64;
    for batch in articles.chunks_mut(WRITE_BATCH) {
        let encoded: Vec<(Vec<Vec<u8>>, Vec<u8>)> = batch
            .par_iter()
            .map(|a| -> postcard::Result<_> {
                let sections = a
                    .sections
                    .iter()
                    .map(|s| postcard::to_stdvec(s.blocks.value()))
                    .collect::<Result<_, _>>()?;
                Ok((sections, postcard::to_stdvec(a.takeaways.value())?))
            })
            .collect::<Result<_, _>>()
            .context("cannot encode the articles")?;
        for (a, (sections, takeaways)) in batch.iter_mut().zip(encoded) {
            let mut put = |bytes: &[u8]| -> anyhow::Result<(u64, u32)> {
                file.write_all(bytes)?;
                let at = (offset, u32::try_from(bytes.len())?);
                offset += bytes.len() as u64;
                Ok(at)
            };
            for (s, blocks) in a.sections.iter_mut().zip(sections) {
                let (o, l) = put(&blocks)?;
                s.blocks = Lazy::stored(o, l);
            }
            let (o, l) = put(&takeaways)?;
            a.takeaways = Lazy::stored(o, l);
        }
    }
    file.flush()?;
    Ok(offset)
}

/// Opens `articles.bin` for the stored parts of `articles` to read from; fails when its length
/// is not the `expected` one or a part lies beyond its end.
fn attach_bodies(path: &Path, articles: &mut [Article], expected: u64) -> anyhow::Result<()> {
    let file = std::sync::Arc::new(
        BodyFile::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    if file.len() != expected {
        anyhow::bail!(
            "{} is {} bytes, library.bin expects {expected}",
            path.display(),
            file.len()
        );
    }
    for a in articles {
        let parts = a.sections.iter().map(|s| s.blocks.position());
        for (offset, len) in parts.chain([a.takeaways.position()]).flatten() {
            if offset + u64::from(len) > expected {
                anyhow::bail!("library.bin points past the end of {}", path.display());
            }
        }
        for s in &mut a.sections {
            s.blocks.attach(&file);
        }
        a.takeaways.attach(&file);
    }
    Ok(())
}

/// Fails unless `dir` is the bot's to write: absent, an empty folder, or a folder holding an
/// articlebot manifest and nothing but the index's own entries ([`OWNED`]). Anything else
/// (an article folder given by mistake, a config file, a folder with the user's notes) would
/// be replaced by the index, so it is refused and left as it is.
pub fn check_index_folder(dir: &Path) -> Result<(), IndexFolderError> {
    let refuse = |problem| IndexFolderError {
        path: dir.to_path_buf(),
        problem,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(FolderProblem::Unreadable(e))),
        Ok(m) if !m.is_dir() => return Err(refuse(FolderProblem::NotAFolder)),
        Ok(_) => {}
    }
    let entries = std::fs::read_dir(dir).map_err(|e| refuse(FolderProblem::Unreadable(e)))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| refuse(FolderProblem::Unreadable(e)))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    if let Some(foreign) = names.iter().find(|n| !OWNED.contains(&n.as_str())) {
        return Err(refuse(FolderProblem::Foreign(foreign.clone())));
    }
    /// The part of the manifest every format version has.
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Head {
        format: u32,
        fingerprint: String,
    }
    let manifest = match std::fs::read(dir.join("manifest.json")) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(FolderProblem::Foreign(names[0].clone())));
        }
        Err(e) => return Err(refuse(FolderProblem::Unreadable(e))),
    };
    match serde_json::from_slice::<Head>(&manifest) {
        Ok(_) => Ok(()),
        Err(_) => Err(refuse(FolderProblem::ForeignManifest)),
    }
}

/// Removes the folder `dir` the build made (a staging folder or an index moved aside): the
/// entries it owns ([`OWNED`]), then the folder if nothing else is left in it. A file the
/// build did not make stays where it is, with a warning.
fn remove_owned(dir: &Path) -> std::io::Result<()> {
    for name in OWNED {
        let path = dir.join(name);
        let removed = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        removed?;
    }
    std::fs::remove_dir(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("it holds files the index build did not make, left in place ({e})"),
        )
    })
}

/// The folder that holds `dir`, and the name prefix of `dir`'s staging folders in it
/// (`.<name>.building-`; the full name adds `<pid>-<n>`, and `.old` for an index moved aside).
fn staging_place(dir: &Path) -> (&Path, String) {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map_or("index".into(), |n| n.to_string_lossy().into_owned());
    (parent, format!(".{name}.building-"))
}

/// A fresh, empty directory beside `dir` to build into, named after this process's id (see
/// [`remove_stale_staging`]).
fn staging_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let (parent, prefix) = staging_place(dir);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = parent.join(format!("{prefix}{}-{n}", std::process::id()));
    if staging.exists() {
        remove_owned(&staging)?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    Ok(staging)
}

/// How long a staging folder whose process is gone must have been left untouched before it
/// is removed. A live build writes into `tantivy/` all the time, so a folder this quiet is not
/// being written, even by a process in another pid namespace sharing the folder (a container
/// whose pids this host cannot see).
const STALE_IDLE: Duration = Duration::from_secs(15 * 60);

/// Where the owner cannot be checked (no `/proc`): a folder untouched this long is left over
/// from a crash. No build comes close to taking this long.
const STALE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Removes staging folders of `dir` that no build owns any more: left behind when a build
/// crashed (or was killed) before [`swap_into_place`], they would stay forever.
///
/// A staging folder is named `.<name>.building-<pid>-<n>` after the process that builds it
/// (`.old` appended for an index moved aside during the swap). On Linux, a folder is removed
/// when no process with that pid exists (`/proc/<pid>` is absent) and nothing in it changed
/// for [`STALE_IDLE`]: so a build running in another process, this one included, is never
/// touched. A reused pid only keeps a dead folder a little longer, which is harmless.
/// Elsewhere (or without `/proc`), only folders untouched for [`STALE_AGE`] are removed.
/// Pids name processes on one host: an index folder shared between hosts over a network file
/// system relies on the idle time alone. Failures are logged, never returned: a leftover
/// folder costs disk space, not correctness.
fn remove_stale_staging(dir: &Path) {
    let (parent, prefix) = staging_place(dir);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let can_check_pids = cfg!(target_os = "linux") && Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let path = entry.path();
        let idle = idle_for(&path);
        let stale = if can_check_pids {
            !Path::new(&format!("/proc/{pid}")).exists() && idle >= STALE_IDLE
        } else {
            idle >= STALE_AGE
        };
        if !stale {
            continue;
        }
        match remove_owned(&path) {
            Ok(()) => tracing::info!(
                path = %path.display(),
                pid,
                idle_s = idle.as_secs(),
                "removed a staging folder left by a build that is no longer running"
            ),
            Err(e) => tracing::warn!(
                "cannot remove the stale staging folder {}: {e}",
                path.display()
            ),
        }
    }
}

/// How long since `path` or its `tantivy/` folder (where a build writes most) last changed;
/// zero when that cannot be told, so that an unreadable folder is never taken for stale.
fn idle_for(path: &Path) -> Duration {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest = [modified(path), modified(&path.join("tantivy"))]
        .into_iter()
        .flatten()
        .max();
    newest
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::ZERO)
}

/// Moves the finished `staging` directory to `dir`, replacing what was there. Readers that
/// hold the old files open keep reading them (they are unlinked, not overwritten).
fn swap_into_place(staging: &Path, dir: &Path) -> anyhow::Result<()> {
    // Checked again: something may have been put there while the index was built.
    if let Err(e) = check_index_folder(dir) {
        let _ = remove_owned(staging);
        return Err(e.into());
    }
    if dir.exists() {
        let mut old = staging.as_os_str().to_owned();
        old.push(".old");
        let old = PathBuf::from(old);
        std::fs::rename(dir, &old)
            .with_context(|| format!("cannot move the old index {} aside", dir.display()))?;
        std::fs::rename(staging, dir)
            .with_context(|| format!("cannot move the new index into {}", dir.display()))?;
        if let Err(e) = remove_owned(&old) {
            tracing::warn!("cannot remove the old index {}: {e}", old.display());
        }
    } else {
        std::fs::rename(staging, dir)
            .with_context(|| format!("cannot move the new index into {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persisted_library_of_several_batches_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir(&content).unwrap();
        let n = WRITE_BATCH + 7;
        for i in 0..n {
            std::fs::write(
                content.join(format!("a{i:04}.md")),
                format!("# Article {i}\n\nFirst paragraph {i}.\n\n## Part\n\n- item {i}\n"),
            )
            .unwrap();
        }
        let mut settings = Settings::for_content(&content);
        settings.index = IndexLocation::Dir(dir.path().join("index"));
        let built = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(!built.info.reused);
        let reopened = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        assert!(reopened.info.reused);
        assert_eq!(reopened.articles.len(), n);
        let unread = |a: &Article| a.sections.iter().all(|s| !s.blocks.is_loaded());
        assert!(reopened.articles.iter().all(unread));
        assert_eq!(reopened.articles, built.articles);
        assert_eq!(reopened.passages, built.passages);
        // Compared with the parsed articles by their bytes, the bodies are not read...
        let parsed = content::load(&settings.content).unwrap().articles;
        assert_eq!(reopened.articles, parsed);
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
}
