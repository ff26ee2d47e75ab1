//! A reload's way to a new library: the content folders scanned again, their files compared
//! with the ones the old library was made of (path, size, modification time), and only the
//! files that changed read, cut and indexed (their articles' documents deleted and added in
//! one commit); the old name index is renumbered and the changed articles' names merged in,
//! and the related vectors are recomputed from the kept term counts only where their weights
//! can move (the changed articles, and those whose vector holds a word whose document
//! frequency changed or that such a word would now enter; every vector when an article is
//! added or removed, since the number of articles is in every weight). The result answers
//! exactly as a full build of the same files (`tests/reload.rs` compares the two).
//!
//! The old library serves until the new one is whole: the update writes into a staging
//! folder of links to the old index's files ([`staging::link_index`]) and swaps it into place
//! like a build; a failed update leaves the old folder and the old library as they were.
//!
//! A full build is made instead when an update is not the cheaper or the safe way: no library
//! to start from (or one made with other settings), a duplicate slug involved (which article
//! keeps it depends on every file), more than [`MAX_CHANGED_SHARE`] of the files changed,
//! `articles.bin` holding more bytes of replaced articles than of live ones, or a persisted
//! index that moved on under the library.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::{IndexLocation, Settings};
use crate::content::{self, Article};
use crate::index::{Change, SearchIndex};
use crate::passage::{cut_passages, Passage};

use super::lock;
use super::persist::{self, FileStamp};
use super::staging;
use super::vectors::{ArticleVectors, RelatedVectors, TermCounts, VectorWeights};
use super::{ArticleDiff, Articles, BuildInfo, BuildProgress, Library, Names, OpenMode};

/// When more than this share of the files changed, a full build is made instead.
pub const MAX_CHANGED_SHARE: f64 = 0.25;

/// What an update takes the settings to be: the settings part of the fingerprint (no files)
/// and the index's place. An update starts only from a library made with the same.
pub(super) fn shape(settings: &Settings) -> String {
    format!(
        "{:?} {}",
        settings.index,
        persist::fingerprint(&settings.content, &[])
    )
}

/// Where each article of the new library comes from.
#[derive(Clone, Copy)]
enum Origin {
    /// Article `id` of the old library, unchanged.
    Kept(u32),
    /// Read again from its file.
    Fresh,
}

impl Library {
    /// The library for the content as it is now, made from `old` (the library in service):
    /// an update when one can be made, else what [`Library::open`] makes. Fails only as
    /// [`Library::open`] does; an update that fails is logged and a full build made instead.
    pub fn update(
        settings: &Settings,
        old: &Library,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<Library> {
        let start = Instant::now();
        match update(settings, old) {
            Ok(Some(mut lib)) => {
                lib.info.took = start.elapsed();
                tracing::info!(
                    articles = lib.articles.len(),
                    took_ms = lib.info.took.as_millis() as u64,
                    "updated the library for the files that changed"
                );
                Ok(lib)
            }
            Ok(None) => Library::open(settings, OpenMode::Reuse, progress),
            Err(e) => {
                tracing::warn!("the library could not be updated, building it whole: {e:#}");
                Library::open(settings, OpenMode::Reuse, progress)
            }
        }
    }
}

/// The updated library, or `None` when a full build (or a reuse of the persisted index, for
/// unchanged files) is the way.
fn update(settings: &Settings, old: &Library) -> anyhow::Result<Option<Library>> {
    if old.shape.is_empty() || old.shape != shape(settings) {
        return Ok(None);
    }
    // Held until the new library is in place (see `lock`); released before a full build is
    // made instead, which takes it again.
    let (dir, _lock) = match &settings.index {
        IndexLocation::Dir(dir) => {
            staging::check_index_folder(dir)?;
            let held = lock::lock(dir)?;
            staging::remove_stale_staging(dir);
            (Some(dir.as_path()), Some(held))
        }
        IndexLocation::Memory => (None, None),
    };
    let (files, scan_warnings) = content::scan_folders(&settings.content)?;
    let fingerprint = persist::fingerprint(&settings.content, &files);
    if dir.is_some() && fingerprint == old.info.fingerprint {
        // Nothing changed: the persisted library is opened as it is.
        return Ok(None);
    }

    // The files that changed (added or modified) and the paths gone.
    let before: FxHashMap<&[u8], &FileStamp> = old.files.iter().map(|f| (key(&f.rel), f)).collect();
    let now: FxHashSet<&[u8]> = files.iter().map(|f| key(&f.rel)).collect();
    let changed: Vec<content::SourceFile> = files
        .iter()
        .filter(|f| before.get(key(&f.rel)) != Some(&&FileStamp::of(f)))
        .cloned()
        .collect();
    let mut touched: FxHashSet<&[u8]> = changed.iter().map(|f| key(&f.rel)).collect();
    touched.extend(
        old.files
            .iter()
            .map(|f| key(&f.rel))
            .filter(|p| !now.contains(p)),
    );
    let total = files.len().max(old.files.len()).max(1);
    if touched.len() > 8 && touched.len() as f64 > MAX_CHANGED_SHARE * total as f64 {
        return Ok(None);
    }
    let duplicate = |w: &content::Warning| w.reason.starts_with("duplicate slug");
    if old.warnings.iter().any(duplicate) {
        return Ok(None);
    }
    let loaded = content::load_files(&settings.content, &changed, Vec::new());
    if loaded.warnings.iter().any(duplicate) {
        return Ok(None);
    }
    let held_elsewhere = loaded.articles.iter().any(|a| {
        old.by_slug(&a.slug)
            .is_some_and(|id| !touched.contains(key(&old.article(id).path)))
    });
    if held_elsewhere {
        return Ok(None);
    }
    let bodies = dir.map(|d| d.join(persist::ARTICLES));
    if let Some(path) = &bodies {
        let len = std::fs::metadata(path)?.len();
        if persist::waste(&old.articles, len) > len / 2 {
            tracing::info!("articles.bin is more than half replaced articles: building it whole");
            return Ok(None);
        }
    }

    // The new collection in path order (the order a build gives): the untouched articles of
    // the old one and the articles read again, merged.
    let mut origins: Vec<Origin> = Vec::with_capacity(old.articles.len() + loaded.articles.len());
    let mut articles: Vec<Arc<Article>> = Vec::with_capacity(origins.capacity());
    let mut fresh = loaded.articles.into_iter().peekable();
    let kept =
        (0..old.articles.len() as u32).filter(|&id| !touched.contains(key(&old.article(id).path)));
    for id in kept {
        let a = old.article(id);
        while let Some(f) = fresh.next_if(|f| f.path < a.path) {
            origins.push(Origin::Fresh);
            articles.push(Arc::new(f));
        }
        // The same article in both libraries: its bodies, read by either, are read once.
        origins.push(Origin::Kept(id));
        articles.push(old.articles[id as usize].clone());
    }
    for f in fresh {
        origins.push(Origin::Fresh);
        articles.push(Arc::new(f));
    }

    // Passages: the kept articles' as they were (renumbered), the fresh ones cut.
    let mut passages: Vec<Passage> = Vec::with_capacity(old.passages.len());
    for (id, (a, origin)) in articles.iter().zip(&origins).enumerate() {
        let id = id as u32;
        match *origin {
            Origin::Kept(o) => passages.extend(
                old.passages[old.passages_of(o).start as usize..old.passages_of(o).end as usize]
                    .iter()
                    .map(|p| Passage {
                        article: id,
                        ..p.clone()
                    }),
            ),
            Origin::Fresh => passages.extend(
                cut_passages(std::slice::from_ref(&**a), settings.content.passage_words)
                    .into_iter()
                    .map(|p| Passage { article: id, ..p }),
            ),
        }
    }

    let mut warnings = scan_warnings;
    warnings.extend(
        old.warnings
            .iter()
            .filter(|w| before.contains_key(key(&w.path)) && !touched.contains(key(&w.path)))
            .cloned(),
    );
    warnings.extend(loaded.warnings);
    warnings.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
    let stamps: Vec<FileStamp> = files.iter().map(FileStamp::of).collect();

    let gone: Vec<(&Article, &[Passage])> = (0..old.articles.len() as u32)
        .filter(|&id| touched.contains(key(&old.article(id).path)))
        .map(|id| {
            let r = old.passages_of(id);
            (
                old.article(id),
                &old.passages[r.start as usize..r.end as usize],
            )
        })
        .collect();
    let added: Vec<u32> = origins
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Origin::Fresh))
        .map(|(i, _)| i as u32)
        .collect();
    let change = Change {
        articles: &articles,
        passages: &passages,
        gone,
        added,
    };
    let info = BuildInfo {
        fingerprint: fingerprint.clone(),
        reused: false,
        updated: true,
        took: Duration::ZERO,
        diff: Some(diff(&change)),
    };

    let staging = match dir {
        Some(d) => Some(staging::staging_dir(d)?),
        None => None,
    };
    // The related vectors (the term counts read back by a first update, remixed, the vectors
    // whose weights moved weighed again) are made beside the name index and the index update,
    // which waits on the disk (tantivy's commit syncs its files): on two cores the first
    // update after a start took a third longer with its read of the counts in line.
    let (related, names, indexed) = std::thread::scope(|s| {
        let related = s.spawn(|| related_vectors(old, dir, &articles, &origins));
        let names = renamed(old, &articles, &origins);
        let indexed = match (dir, &staging) {
            (Some(dir), Some(staging)) => (|| {
                staging::link_index(dir, staging)?;
                old.index
                    .update_in(&staging.join(persist::TANTIVY), &change)
                    .map(Indexed::Dir)
            })(),
            _ => old
                .index
                .update(&change)
                .map(|i| Indexed::Memory(Box::new(i))),
        };
        let related = related
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (related, names, indexed)
    });
    drop(change);
    let both = related.and_then(|r| indexed.map(|i| (r, i)));
    let (related, indexed) = match (both, &staging) {
        (Ok(x), _) => x,
        (Err(e), Some(staging)) => return kept_or_discard(staging, Err(e)),
        (Err(e), None) => return Err(e),
    };
    let Related {
        counts,
        vectors,
        placed,
    } = related;
    let (dir, staging, tokens, layout) = match (dir, staging, indexed) {
        (Some(dir), Some(staging), Indexed::Dir((tokens, layout))) => {
            (dir, staging, tokens, layout)
        }
        (None, None, Indexed::Memory(index)) => {
            let mut lib = Library::assemble_named(
                Articles::held(articles),
                index.layout().clone(),
                passages,
                RelatedVectors::held(vectors),
                warnings,
                names,
                *index,
                info,
                stamps,
                Some(Arc::new(counts)),
            );
            lib.shape = old.shape.clone();
            return Ok(Some(lib));
        }
        _ => unreachable!("an index folder is updated in its staging folder, memory in place"),
    };

    let written = (|| -> anyhow::Result<(u64, persist::CountsPlaces, bool)> {
        let path = staging.join(persist::ARTICLES);
        let start = std::fs::metadata(&path)?.len();
        let mut fresh = fresh_articles(&mut articles, &origins);
        let bodies_len = persist::write_articles(&path, &mut fresh, start)?;
        let appended = appended_counts(&staging, old, placed, &counts, &origins)?;
        let whole = appended.is_none();
        let counts = match appended {
            Some(places) => persist::CountsOut::Appended(places),
            None => persist::CountsOut::Whole(persist::Counts::Held(&counts)),
        };
        let parts = persist::Parts {
            keys: layout.keys(),
            passages: &passages,
            vectors: &vectors,
            counts,
            warnings: &warnings,
            files: &stamps,
            tokens,
            fingerprint: &fingerprint,
        };
        let places = persist::write_rest(&staging, &articles, parts, bodies_len)?;
        staging::swap_into_place(&staging, dir)?;
        Ok((bodies_len, places, whole))
    })();
    let (bodies_len, count_places, whole) = kept_or_discard(&staging, written)?;
    let index = SearchIndex::open(&dir.join(persist::TANTIVY), layout.clone(), Some(tokens))?;
    // The kept articles read from the file they were read from (this one: linked, appended),
    // and the fresh ones from it too, through the same handle.
    persist::attach_bodies(
        &dir.join(persist::ARTICLES),
        fresh_articles(&mut articles, &origins),
        bodies_len,
        old.articles.body_file().as_ref(),
    )?;
    // The counts stay with the library: the next update in this process starts from them
    // instead of reading `counts.bin` and `counts.log` back (a library opened from the folder
    // holds none until its first update, which maps them). Not after the counts were written
    // whole: their stored entries lie in the base this update replaced, whose mapping would
    // keep the unlinked file (400 MB at 100,000 articles) on disk until the process ends; the
    // next update maps the new base instead.
    let counts = (!whole).then(|| Arc::new(counts));
    let vectors = RelatedVectors::held(vectors);
    let mut lib = Library::assemble_named(
        Articles::held(articles),
        layout,
        passages,
        vectors,
        warnings,
        names,
        index,
        info,
        stamps,
        counts,
    );
    lib.shape = old.shape.clone();
    lib.count_places = count_places;
    Ok(Some(lib))
}

/// The articles read again, which no other library shares.
fn fresh_articles<'a>(
    articles: &'a mut [Arc<Article>],
    origins: &[Origin],
) -> Vec<&'a mut Article> {
    articles
        .iter_mut()
        .zip(origins)
        .filter(|(_, o)| matches!(o, Origin::Fresh))
        .map(|(a, _)| Arc::get_mut(a).expect("an article read again is this library's alone"))
        .collect()
}

/// The places of `counts` once the fresh articles' counts are appended to `counts.log` in
/// `staging` (linked to the old folder's), or `None` when the counts are to be written whole
/// instead: the old library's counts were made again (`placed` false: their stems are
/// numbered otherwise than the persisted ones), or the log would grow past
/// [`persist::COMPACT_SHARE`] of the base.
fn appended_counts(
    staging: &Path,
    old: &Library,
    placed: bool,
    counts: &TermCounts,
    origins: &[Origin],
) -> anyhow::Result<Option<persist::CountsPlaces>> {
    if !placed {
        return Ok(None);
    }
    let base = std::fs::metadata(staging.join(persist::COUNTS))?.len();
    let log = std::fs::metadata(staging.join(persist::COUNTS_LOG))?.len();
    let fresh = origins
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Origin::Fresh))
        .map(|(i, _)| counts.article(i).len() as u64 * 8)
        .sum::<u64>();
    if (log + fresh) * persist::COMPACT_SHARE > base {
        tracing::info!("counts.log past its share of counts.bin: writing the counts whole");
        return Ok(None);
    }
    let order: Vec<Option<u32>> = origins
        .iter()
        .map(|o| match *o {
            Origin::Kept(id) => Some(id),
            Origin::Fresh => None,
        })
        .collect();
    persist::append_counts(staging, &old.count_places, counts, &order).map(Some)
}

/// The index an update made: a new in-memory one, or the tokens and layout of the one
/// written into the staging folder.
enum Indexed {
    Memory(Box<SearchIndex>),
    Dir((crate::index::FieldTokens, crate::index::Layout)),
}

/// The new library's term counts and related vectors, and whether the counts extend the
/// persisted ones of `old` (see [`appended_counts`]).
struct Related {
    counts: TermCounts,
    vectors: ArticleVectors,
    placed: bool,
}

/// The related vectors of `articles` (from `origins`), from the kept counts and the fresh
/// articles' own.
fn related_vectors(
    old: &Library,
    dir: Option<&Path>,
    articles: &[Arc<Article>],
    origins: &[Origin],
) -> anyhow::Result<Related> {
    let weights = VectorWeights::default();
    let old_counts = match (&old.counts, dir) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(d)) => match persist::read_counts(d, &old.count_places)? {
            Some(c) if c.len() == old.articles.len() => Some(Arc::new(c)),
            _ => None,
        },
        (None, None) => None,
    };
    // Counts made again here number their stems otherwise than the persisted ones: the
    // update then writes the counts whole rather than appending to those.
    let placed = old_counts
        .as_ref()
        .is_some_and(|c| old.count_places.extend(c));
    let old_counts = old_counts.unwrap_or_else(|| {
        tracing::info!("term counts missing or stale: counting every article again");
        Arc::new(TermCounts::of(&old.articles, &weights))
    });
    let order: Vec<Result<u32, &Article>> = articles
        .iter()
        .zip(origins)
        .map(|(a, o)| match *o {
            Origin::Kept(id) => Ok(id),
            Origin::Fresh => Err(&**a),
        })
        .collect();
    let counts = old_counts.remix(&order, &weights);
    drop(order);
    // The vectors of the kept articles stay when every article keeps its id (edits only):
    // see `ArticleVectors::updated`.
    let same_ids = origins.len() == old.articles.len()
        && origins.iter().enumerate().all(|(i, o)| match *o {
            Origin::Kept(id) => id as usize == i,
            Origin::Fresh => true,
        });
    let vectors = if same_ids {
        let fresh: Vec<u32> = (0..origins.len() as u32)
            .filter(|&i| matches!(origins[i as usize], Origin::Fresh))
            .collect();
        old.vectors.updated(&old_counts, &counts, &fresh, &weights)
    } else {
        ArticleVectors::from_counts(&counts, &weights)
    };

    Ok(Related {
        counts,
        vectors,
        placed,
    })
}

/// The new library's name index, from the old one's: the kept articles' names renumbered,
/// the fresh articles' added ([`crate::names::NameIndex::updated`]).
fn renamed(old: &Library, articles: &[Arc<Article>], origins: &[Origin]) -> Names {
    let mut moved: Vec<Option<u32>> = vec![None; old.articles.len()];
    let mut fresh: Vec<(u32, Arc<Article>)> = Vec::new();
    for (id, (a, origin)) in articles.iter().zip(origins).enumerate() {
        match *origin {
            Origin::Kept(o) => moved[o as usize] = Some(id as u32),
            Origin::Fresh => fresh.push((id as u32, Arc::new(names_of(a)))),
        }
    }
    Names::derived(&old.names, moved, fresh)
}

/// What the name index reads of an article (its slug, title and aliases), for a thread that
/// may outlive the update's hold on the article (whose stored parts it then sets alone).
fn names_of(a: &Article) -> Article {
    Article {
        slug: a.slug.clone(),
        title: a.title.clone(),
        aliases: a.aliases.clone(),
        url: None,
        summary: None,
        tags: Vec::new(),
        authors: Vec::new(),
        date: None,
        sections: Vec::new(),
        takeaways: content::Lazy::loaded(Vec::new()),
        path: a.path.clone(),
        format: a.format,
    }
}

/// A path as the key of the maps an update compares files by: its bytes. Every path compared
/// comes from a scan (the files, their stamps, the articles' and warnings' paths), which
/// gives one path one spelling; hashing a `Path` (by its components) for each of the
/// collection's files, several times over, was 2-3% of the samples of three updates at
/// 100,000 articles (BENCHMARKS.md, issue 18).
fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// The slugs an update added, removed and changed: the articles of the files that changed,
/// compared by slug with the old library's articles of those files (an article read again
/// but equal is not changed).
fn diff(change: &Change<'_>) -> ArticleDiff {
    let gone: HashMap<&str, &Article> = change
        .gone
        .iter()
        .map(|(a, _)| (a.slug.as_str(), *a))
        .collect();
    let mut d = ArticleDiff::default();
    let mut fresh = HashSet::new();
    for &id in &change.added {
        let a: &Article = &change.articles[id as usize];
        fresh.insert(a.slug.as_str());
        match gone.get(a.slug.as_str()) {
            None => d.added.push(a.slug.clone()),
            Some(o) if *o != a => d.changed.push(a.slug.clone()),
            Some(_) => {}
        }
    }
    d.removed = gone
        .keys()
        .filter(|s| !fresh.contains(*s))
        .map(|s| s.to_string())
        .collect();
    d.added.sort();
    d.removed.sort();
    d.changed.sort();
    d
}

/// `result`, with the staging folder removed when it is an error.
fn kept_or_discard<T>(staging: &Path, result: anyhow::Result<T>) -> anyhow::Result<T> {
    if result.is_err() {
        staging::discard(staging);
    }
    result
}
