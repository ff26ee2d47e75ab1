//! The persisted form of a library, in the index folder: `manifest.json` (format version and
//! fingerprint), `library.bin` (every article's front matter and section headings, with where
//! each section's blocks and the takeaways lie in `articles.bin`, a postcard record each, then
//! passages, warnings and the rest: see [`Head`]), `vectors.bin` (the articles' term vectors for `related`, mapped at open and
//! decoded by the first `related` or update: [`super::vectors::RelatedVectors`]),
//! `articles.bin` (each section's blocks and each article's takeaways, each its own postcard
//! record, read on first use: see [`crate::content::Lazy`]), `counts.bin` and `counts.log`
//! (every article's weighted term counts, the related vectors' input, read only by an update)
//! and `tantivy/`.
//!
//! The fingerprint covers every article file's path, size and modification time and the
//! settings that shape the index, so an unchanged collection is opened, not rebuilt.
//! `library.bin` also lists each file's path, size and modification time, which is how an
//! update finds the files that changed.
//!
//! `articles.bin` only ever grows: an update appends the new articles' records to it (the
//! folder an update writes links the file), and the records of articles gone stay until a
//! full build ([`waste`] says how many bytes). A library reads only within the length its
//! `library.bin` names, so bytes appended after it (by an update that failed later) are
//! harmless.
//!
//! The term counts are kept the same way: `counts.bin` is a base written whole by a build
//! and never changed after, `counts.log` is appended to by updates (the counts of the articles
//! read again, and the stems they brought), and `library.bin` says where each article's counts
//! lie in the two ([`CountsPlaces`]) and how much of the log it reads. An update of one article
//! writes a few kilobytes instead of the whole counts (40 MB at 10,000 articles); when the log
//! grows past [`COMPACT_SHARE`] of the base, an update writes a new base whole and an empty
//! log (into its staging folder: the old folder's base is a link and stays as it was).
//! The base holds each stem's document frequency beside the entries, and is mapped rather
//! than decoded when an update reads it back ([`read_counts`]).

use std::borrow::Borrow;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ContentSettings;
use crate::content::{Article, BodyFile, Lazy, SourceFile, Warning};
use crate::index::FieldTokens;
use crate::passage::Passage;

use super::articles::{attach, Articles, Records};
use super::bytes::ByteReader;
use super::counting::{put_entry, SpilledCounts};
use super::vectors::{
    entry, ArticleVectors, Entries, EntriesRef, EntryBytes, RelatedVectors, TermCounts, ENTRY_BYTES,
};

/// A content file as the library was built from it: what an update compares with a new scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub rel: std::path::PathBuf,
    pub len: u64,
    pub mtime_ns: u128,
}

impl FileStamp {
    pub fn of(f: &SourceFile) -> FileStamp {
        FileStamp {
            rel: f.rel.clone(),
            len: f.len,
            mtime_ns: f.mtime_ns,
        }
    }
}

/// Bumped whenever the persisted layout, the way passages are cut or the analyzer changes.
pub(super) const FORMAT_VERSION: u32 = 13;

/// The entries of an index folder.
pub(super) const MANIFEST: &str = "manifest.json";
pub(super) const LIBRARY: &str = "library.bin";
pub(super) const VECTORS: &str = "vectors.bin";
pub(super) const ARTICLES: &str = "articles.bin";
pub(super) const COUNTS: &str = "counts.bin";
pub(super) const COUNTS_LOG: &str = "counts.log";
/// The file in the staging folder a build writes the term counts to as it counts them, removed
/// once `counts.bin` is made of it (an owned entry, so a build that died leaves nothing that
/// stops the next one from clearing its staging folder).
pub(super) const COUNTS_SPILL: &str = "counts.spill";
pub(super) const TANTIVY: &str = "tantivy";

/// Articles encoded together (in parallel) before they are written to `articles.bin`: bounds
/// the encoded bytes held at once while building.
pub(super) const WRITE_BATCH: usize = 1024;

/// When `counts.log` would grow past this share of `counts.bin`, an update writes the counts
/// whole again (a new base and an empty log) rather than appending: bounds what the first
/// update after a start reads beside the base, and the bytes of counts no article reads.
pub(super) const COMPACT_SHARE: u64 = 4;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    fingerprint: String,
    articles: usize,
    passages: usize,
}

/// `library.bin`: every article's front matter and headings, each its own postcard record
/// (an [`Article`] whose [`Lazy`] parts are positions in `articles.bin`, which holds the
/// bodies), then the records' lengths, then the rest ([`Head`]), then where the lengths and
/// the head begin (two little-endian `u64`s). The records are decoded on first use
/// ([`Articles`]): decoding them all at open was most of the time from start to the first
/// answer at 100,000 articles (BENCHMARKS.md, issue 18); the head holds what the open needs
/// of every article instead (the keys of their slugs).
#[derive(Serialize, Deserialize)]
struct Head {
    /// The BLAKE3 of the records and their lengths, sealed with the keys, `bodies_len` and
    /// where the records end ([`seal`]): a damaged record, or a damaged value its decoding
    /// relies on, is found at open, not when an answer first reads it.
    records_hash: [u8; 32],
    /// Each article's key ([`crate::index::article_key`] of its slug), in order: the index's
    /// [`crate::index::Layout`] without hashing every slug at open.
    keys: Vec<u64>,
    passages: Vec<Passage>,
    warnings: Vec<Warning>,
    files: Vec<FileStamp>,
    tokens: FieldTokens,
    /// The length of `articles.bin`: a file cut short or replaced is noticed at open.
    bodies_len: u64,
    /// Where the articles' term counts lie in `counts.bin` and `counts.log`.
    counts: CountsPlaces,
}

/// The bytes at the end of `library.bin`: where the records' lengths and the head begin.
const TRAILER: usize = 16;

/// A persisted library read back, before its fingerprint is compared with the content's.
pub(super) struct Persisted {
    pub fingerprint: String,
    pub articles: Articles,
    pub keys: Vec<u64>,
    pub passages: Vec<Passage>,
    pub vectors: RelatedVectors,
    pub warnings: Vec<Warning>,
    pub files: Vec<FileStamp>,
    pub tokens: FieldTokens,
    pub counts: CountsPlaces,
}

/// [`Head`] as written, borrowed (postcard encodes a slice as it encodes a `Vec`).
#[derive(Serialize)]
struct HeadRef<'a> {
    records_hash: [u8; 32],
    keys: &'a [u64],
    passages: &'a [Passage],
    warnings: &'a [Warning],
    files: &'a [FileStamp],
    tokens: FieldTokens,
    bodies_len: u64,
    counts: &'a CountsPlaces,
}

/// How the term counts are written: whole (a build, or an update that compacts), or already
/// appended to `counts.log` at these places ([`append_counts`]).
pub(super) enum CountsOut<'a> {
    Whole(Counts<'a>),
    Appended(CountsPlaces),
}

/// What [`write_rest`] writes beside the index, borrowed.
pub(super) struct Parts<'a> {
    /// The articles' keys, in order (the index's layout's).
    pub keys: &'a [u64],
    pub passages: &'a [Passage],
    pub vectors: &'a ArticleVectors,
    pub counts: CountsOut<'a>,
    pub warnings: &'a [Warning],
    pub files: &'a [FileStamp],
    pub tokens: FieldTokens,
    pub fingerprint: &'a str,
}

/// The term counts `counts.bin` is written from: held in memory, or written to a file of their
/// own as a streamed build counted them.
#[derive(Clone, Copy)]
pub(super) enum Counts<'a> {
    Held(&'a TermCounts),
    Spilled(&'a SpilledCounts),
}

/// Writes the term counts (whole, or only `library.bin`'s places of counts already appended),
/// `library.bin`, `vectors.bin` and last the manifest into `dir`, for `articles` whose bodies are stored in
/// an `articles.bin` of `bodies_len` bytes. Returns where the counts lie.
pub(super) fn write_rest<A: Borrow<Article> + Sync>(
    dir: &Path,
    articles: &[A],
    parts: Parts<'_>,
    bodies_len: u64,
) -> anyhow::Result<CountsPlaces> {
    // `vectors.bin` is written beside the others: each of the files is tens of megabytes at
    // 100,000 articles (81 MB of vectors, 67 MB of `library.bin`), written whole by every
    // build and update, which waits for the last.
    let (places, vectors) = std::thread::scope(|s| {
        let vectors = s.spawn(|| write_vectors(dir, parts.vectors));
        let places = write_counts_and_library(dir, articles, &parts, bodies_len);
        let vectors = vectors
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (places, vectors)
    });
    let places = places?;
    vectors?;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        fingerprint: parts.fingerprint.to_string(),
        articles: articles.len(),
        passages: parts.passages.len(),
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(places)
}

/// Writes the term counts (see [`write_rest`]) and `library.bin`.
fn write_counts_and_library<A: Borrow<Article> + Sync>(
    dir: &Path,
    articles: &[A],
    parts: &Parts<'_>,
    bodies_len: u64,
) -> anyhow::Result<CountsPlaces> {
    match &parts.counts {
        CountsOut::Whole(counts) => {
            let counts = *counts;
            let places = CountsPlaces::whole(counts, parts.fingerprint);
            // The two files are encoded and written at once: each is tens of megabytes at
            // 10,000 articles, and a build waits for both.
            let written = std::thread::scope(|s| {
                let counts = s.spawn(|| write_counts_whole(dir, counts, parts.fingerprint));
                let library = write_library(dir, articles, parts, &places, bodies_len);
                let counts = counts
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                library.and(counts)
            });
            written?;
            Ok(places)
        }
        CountsOut::Appended(places) => {
            write_library(dir, articles, parts, places, bodies_len)?;
            Ok(places.clone())
        }
    }
}

/// Writes `library.bin`.
fn write_library<A: Borrow<Article> + Sync>(
    dir: &Path,
    articles: &[A],
    parts: &Parts<'_>,
    counts: &CountsPlaces,
    bodies_len: u64,
) -> anyhow::Result<()> {
    if parts.keys.len() != articles.len() {
        anyhow::bail!("{} keys for {} articles", parts.keys.len(), articles.len());
    }
    // Written as it is encoded, [`WRITE_BATCH`] records at a time: the bytes whole were 130
    // MB held at the end of a build of 100,000 articles (BENCHMARKS.md, issue 18).
    let path = dir.join(LIBRARY);
    let write = || -> anyhow::Result<()> {
        let file = std::fs::File::create(&path)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut hash = blake3::Hasher::new();
        let mut lens: Vec<u32> = Vec::with_capacity(articles.len());
        let mut at = 0u64;
        for batch in articles.chunks(WRITE_BATCH) {
            let records: Vec<Vec<u8>> = batch
                .par_iter()
                .map(|a| postcard::to_stdvec(a.borrow()))
                .collect::<Result<_, _>>()
                .context("cannot encode the articles")?;
            for r in records {
                out.write_all(&r)?;
                hash.update(&r);
                lens.push(u32::try_from(r.len())?);
                at += r.len() as u64;
            }
        }
        let lens_at = at;
        let lens = postcard::to_stdvec(&lens)?;
        out.write_all(&lens)?;
        hash.update(&lens);
        let head_at = lens_at + lens.len() as u64;
        seal(&mut hash, parts.keys, bodies_len, lens_at);
        let head = HeadRef {
            records_hash: *hash.finalize().as_bytes(),
            keys: parts.keys,
            passages: parts.passages,
            warnings: parts.warnings,
            files: parts.files,
            tokens: parts.tokens,
            bodies_len,
            counts,
        };
        let mut out = postcard::to_io(&head, out).context("cannot encode the library")?;
        out.write_all(&lens_at.to_le_bytes())?;
        out.write_all(&head_at.to_le_bytes())?;
        out.flush()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `vectors.bin` into `dir` (a new file: an update's staging folder holds no link to
/// the old one, which a library in service may have mapped).
fn write_vectors(dir: &Path, vectors: &ArticleVectors) -> anyhow::Result<()> {
    let path = dir.join(VECTORS);
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        vectors.write_to(&mut out)?;
        out.flush()
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Reads the persisted library in `dir`: `None` when there is none or it has another
/// format version. The articles' bodies are not read: each is read on first use; nor are the
/// related vectors (`vectors.bin` is mapped, and decoded by their first use).
pub(super) fn read(dir: &Path) -> anyhow::Result<Option<Persisted>> {
    let manifest = match std::fs::read(dir.join(MANIFEST)) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest: Manifest = serde_json::from_slice(&manifest).context("bad manifest")?;
    if manifest.format != FORMAT_VERSION {
        tracing::info!("the index was built by another version; rebuilding");
        return Ok(None);
    }
    let file = std::fs::File::open(dir.join(LIBRARY)).context("cannot open library.bin")?;
    // Mapped, not read into a buffer: the copy and the pages it took (132 MB at 100,000
    // articles) were a sixth of the time from start to the first answer (BENCHMARKS.md,
    // issue 18). SAFETY: `library.bin` is never written once made (each is written anew
    // into a staging folder and swapped in, and an open library's file is unlinked, never
    // overwritten; the index folder is the bot's own), and the mapping is only read: by the
    // check of the records' hash and by each record's decoding into owned values.
    let map = unsafe { memmap2::Mmap::map(&file) }.context("cannot map library.bin")?;
    let (records, lens, head) = split_library(&map).context("bad library.bin")?;
    // The records are checked whole (their hash) beside the head's decoding (1.6 M passages
    // at 100,000 articles); each is decoded by its first use ([`Articles`]).
    let (head, mut hash) = rayon::join(
        || postcard::from_bytes::<Head>(head),
        || {
            let mut h = blake3::Hasher::new();
            h.update(records);
            h
        },
    );
    let snapshot = head.context("bad library.bin")?;
    let lens_at: u64 = lens.iter().map(|&l| u64::from(l)).sum();
    seal(&mut hash, &snapshot.keys, snapshot.bodies_len, lens_at);
    if *hash.finalize().as_bytes() != snapshot.records_hash {
        anyhow::bail!("bad library.bin: its articles' records do not match their hash");
    }
    if lens.len() != manifest.articles
        || snapshot.keys.len() != manifest.articles
        || snapshot.passages.len() != manifest.passages
        || snapshot.counts.articles.len() != manifest.articles
    {
        anyhow::bail!(
            "manifest and library.bin disagree on the article, passage or term count count"
        );
    }
    let bodies = open_bodies(&dir.join(ARTICLES), snapshot.bodies_len)?;
    let articles = Articles::stored(Records::new(map, &lens, bodies, snapshot.bodies_len));
    let vectors = RelatedVectors::mapped(&dir.join(VECTORS), articles.len())?;
    Ok(Some(Persisted {
        fingerprint: manifest.fingerprint,
        articles,
        keys: snapshot.keys,
        passages: snapshot.passages,
        vectors,
        warnings: snapshot.warnings,
        files: snapshot.files,
        tokens: snapshot.tokens,
        counts: snapshot.counts,
    }))
}

/// Adds to the records' hash what their decoding on first use depends on beside their bytes:
/// the keys the layout is made of (a key that no longer matches its slug would leave the
/// article's documents without an article), the length of `articles.bin` their parts are
/// checked against, and where the records end. Writer and reader both seal through here.
fn seal(hash: &mut blake3::Hasher, keys: &[u64], bodies_len: u64, lens_at: u64) {
    let mut bytes = Vec::with_capacity(8 * (keys.len() + 2));
    for k in keys {
        bytes.extend_from_slice(&k.to_le_bytes());
    }
    bytes.extend_from_slice(&bodies_len.to_le_bytes());
    bytes.extend_from_slice(&lens_at.to_le_bytes());
    hash.update(&bytes);
}

/// The parts of `library.bin` (see [`Head`]): the articles' records followed by their
/// lengths, the lengths (checked against the records' bytes) and the head's bytes.
fn split_library(bytes: &[u8]) -> anyhow::Result<(&[u8], Vec<u32>, &[u8])> {
    let end = bytes.len().checked_sub(TRAILER).context("too short")?;
    let at = |k: usize| -> anyhow::Result<usize> {
        let n = u64::from_le_bytes(bytes[end + 8 * k..end + 8 * k + 8].try_into()?);
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= end)
            .context("a part past the end")
    };
    let (lens_at, head_at) = (at(0)?, at(1)?);
    if lens_at > head_at {
        anyhow::bail!("its parts out of order");
    }
    let lens: Vec<u32> = postcard::from_bytes(&bytes[lens_at..head_at])?;
    if lens.iter().map(|&l| l as u64).sum::<u64>() != lens_at as u64 {
        anyhow::bail!("its records' lengths do not add up");
    }
    // The records with their lengths: what their hash covers.
    Ok((&bytes[..head_at], lens, &bytes[head_at..end]))
}

/// A fingerprint's hasher fed its start: the format version and the settings that shape the
/// index.
fn fingerprint_head(settings: &ContentSettings) -> blake3::Hasher {
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
    h
}

/// The fingerprint of a collection: format version, the settings that shape the index, and
/// every file's path, size and modification time.
pub fn fingerprint(settings: &ContentSettings, files: &[SourceFile]) -> String {
    let mut h = fingerprint_head(settings);
    // The files' parts hashed a batch at a time, not each by itself: a hasher's update of a
    // few bytes costs hundreds of instructions, 116 M of them for 100,000 files, on the path
    // to the first answer (the same bytes in the same order: the same fingerprint).
    let mut batch: Vec<u8> = Vec::with_capacity(1 << 16);
    for f in files {
        batch.extend_from_slice(f.rel.to_string_lossy().as_bytes());
        batch.push(0);
        batch.extend_from_slice(&f.len.to_le_bytes());
        batch.extend_from_slice(&f.mtime_ns.to_le_bytes());
        if batch.len() >= 1 << 16 {
            h.update(&batch);
            batch.clear();
        }
    }
    h.update(&batch);
    h.finalize().to_hex().to_string()
}

/// Writes each section's blocks and each article's takeaways to `path`, one postcard record
/// each (encoded in parallel, [`WRITE_BATCH`] articles at a time), and turns them into
/// [`Lazy::stored`] parts at those positions (not yet attached to the file): an answer reads
/// the sections it cites, not the whole article. Returns the file's length.
///
/// From `start` on: 0 makes a new file; the length of an existing file appends to it (an
/// update writes the new articles after the records the old library reads).
pub(super) fn write_articles(
    path: &Path,
    articles: &mut [&mut Article],
    start: u64,
) -> anyhow::Result<u64> {
    let opened = if start == 0 {
        std::fs::File::create(path)
    } else {
        std::fs::OpenOptions::new().append(true).open(path)
    };
    let opened = opened.with_context(|| format!("cannot open {} to write", path.display()))?;
    if opened.metadata()?.len() != start {
        anyhow::bail!("{} is not {start} bytes long", path.display());
    }
    let mut file = std::io::BufWriter::new(opened);
    let mut offset = start;
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
///
/// `open`, when given, is a file already open that `path` may be (an updated library's
/// folder links the file of the library it updates and appends to it): then its handle is
/// shared instead of another one opened. Every update opening its own, kept alive by the
/// articles it read as long as any of them stays unchanged, held one more descriptor per
/// reload for the life of the process.
pub(super) fn attach_bodies<'a>(
    path: &Path,
    articles: impl IntoIterator<Item = &'a mut Article>,
    expected: u64,
    open: Option<&Arc<BodyFile>>,
) -> anyhow::Result<()> {
    let same = open.filter(|f| {
        f.is_file_at(path).unwrap_or(false) && f.current_len().is_ok_and(|len| len >= expected)
    });
    let file = match same {
        Some(f) => f.clone(),
        None => open_bodies(path, expected)?,
    };
    for a in articles {
        attach(&file, a, expected)?;
    }
    Ok(())
}

/// `articles.bin` at `path`, opened; fails when it is shorter than `expected`.
fn open_bodies(path: &Path, expected: u64) -> anyhow::Result<Arc<BodyFile>> {
    let file =
        Arc::new(BodyFile::open(path).with_context(|| format!("cannot open {}", path.display()))?);
    // Longer is fine: an update that failed after appending leaves bytes nobody reads.
    if file.len() < expected {
        anyhow::bail!(
            "{} is {} bytes, library.bin expects {expected}",
            path.display(),
            file.len()
        );
    }
    Ok(file)
}

/// The bytes of `articles.bin` (of `len` bytes) that no article of `articles` reads: records
/// of articles an update replaced or removed.
pub(super) fn waste(articles: &[Arc<Article>], len: u64) -> u64 {
    let used: u64 = articles
        .iter()
        .flat_map(|a| {
            a.sections
                .iter()
                .map(|s| s.blocks.position())
                .chain([a.takeaways.position()])
        })
        .flatten()
        .map(|(_, l)| u64::from(l))
        .sum();
    len.saturating_sub(used)
}

/// The first bytes of `counts.bin`.
const COUNTS_MAGIC: &[u8; 8] = b"abcounts";

/// Writes `counts` to `path` as fixed-width little-endian numbers (read back without decoding
/// each entry): magic, fingerprint, stems, their document frequencies, starts, entries.
/// Spilled counts' entries are already in this form: their file is copied.
///
/// A `counts.bin` is written once, into a folder of its own making (a staging folder), and
/// never written again: a library reads its entries where they lie, mapped in memory
/// ([`read_counts`]), for as long as it lives.
fn write_counts(path: &Path, counts: Counts<'_>, fingerprint: &str) -> anyhow::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        let (stems, df, lens): (&[String], &[u32], Vec<u32>) = match counts {
            Counts::Held(c) => (
                &c.stems,
                &c.df,
                (0..c.len()).map(|i| c.article(i).len() as u32).collect(),
            ),
            Counts::Spilled(s) => (&s.stems, &s.df, s.lens.clone()),
        };
        out.write_all(COUNTS_MAGIC)?;
        let put = |out: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8]| {
            out.write_all(&(bytes.len() as u32).to_le_bytes())?;
            out.write_all(bytes)
        };
        put(&mut out, fingerprint.as_bytes())?;
        out.write_all(&(stems.len() as u32).to_le_bytes())?;
        for s in stems {
            put(&mut out, s.as_bytes())?;
        }
        for d in df {
            out.write_all(&d.to_le_bytes())?;
        }
        out.write_all(&(lens.len() as u32 + 1).to_le_bytes())?;
        let mut start = 0u32;
        out.write_all(&start.to_le_bytes())?;
        for l in lens {
            start += l;
            out.write_all(&start.to_le_bytes())?;
        }
        match counts {
            Counts::Held(c) => {
                // A pass at a time, its stored pages given back after it (a compaction reads
                // every article's entries from the mapped base).
                c.passes(|ids| {
                    for e in ids.flat_map(|i| c.article(i).iter()) {
                        put_entry(&mut out, e)?;
                    }
                    Ok::<(), std::io::Error>(())
                })?;
            }
            Counts::Spilled(s) => {
                std::io::copy(&mut std::fs::File::open(&s.path)?, &mut out)?;
            }
        }
        out.flush()
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Where every article's term counts lie in `counts.bin` (the base) and `counts.log`, and
/// which stems the two hold: kept in `library.bin`, so that the counts of a library opened
/// from the folder are read back only by its first update, and an update appends only what
/// changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CountsPlaces {
    /// The tag at the head of `counts.bin` (the fingerprint of the library that wrote it): a
    /// base written by another library is not read.
    base: String,
    /// The stems of the base: term ids `0..base_stems`.
    base_stems: u32,
    /// The bytes of `counts.log` this library reads: what was appended after them (by an
    /// update that failed before its manifest) is never read.
    log_len: u64,
    /// The stems added after the base's, in term id order: runs in the log (byte position,
    /// how many stems).
    stems: Vec<(u64, u32)>,
    /// Each article's counts, by article id.
    articles: Vec<Place>,
}

/// Where one article's term counts lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Place {
    /// The base's article `k`.
    Base(u32),
    /// `n` entries at byte `at` of the log.
    Log { at: u64, n: u32 },
}

impl CountsPlaces {
    /// The places of `counts` written whole, as a base tagged `tag`.
    fn whole(counts: Counts<'_>, tag: &str) -> CountsPlaces {
        let (stems, articles) = match counts {
            Counts::Held(c) => (c.stems.len(), c.len()),
            Counts::Spilled(s) => (s.stems.len(), s.lens.len()),
        };
        CountsPlaces {
            base: tag.to_string(),
            base_stems: stems as u32,
            log_len: 0,
            stems: Vec::new(),
            articles: (0..articles as u32).map(Place::Base).collect(),
        }
    }

    /// The number of stems, the base's and the log's.
    fn stems(&self) -> usize {
        self.base_stems as usize + self.stems.iter().map(|&(_, n)| n as usize).sum::<usize>()
    }

    /// Whether these places can be appended to for counts that extend `old` (its stems are
    /// the ones these places name: counts read with them, or an update's made from such).
    pub(super) fn extend(&self, old: &TermCounts) -> bool {
        !self.base.is_empty() && self.articles.len() == old.len() && self.stems() == old.stems.len()
    }
}

/// Writes `counts` whole into `dir`: a new `counts.bin` tagged `tag` and an empty
/// `counts.log`. Entries of those names are removed first, not written through: in an
/// update's staging folder they are links to the files the old library reads.
fn write_counts_whole(dir: &Path, counts: Counts<'_>, tag: &str) -> anyhow::Result<()> {
    for name in [COUNTS, COUNTS_LOG] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot replace {name}")),
        }
    }
    write_counts(&dir.join(COUNTS), counts, tag)?;
    let log = dir.join(COUNTS_LOG);
    std::fs::write(&log, []).with_context(|| format!("cannot write {}", log.display()))
}

/// A length (u32) and the bytes.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Term count entries as `counts.bin` stores them ([`put_entry`]).
fn put_entries(out: &mut Vec<u8>, entries: EntriesRef<'_>) {
    for e in entries.iter() {
        put_entry(out, e).expect("a Vec takes every byte");
    }
}

/// Appends to `counts.log` in `dir` what `new` holds that `old` (the places of the counts it
/// was made from) does not: the stems past the old ones, and the counts of the articles of
/// `new` that `order` gives as fresh (`None`; `Some(id)` is old article `id`, kept). Returns
/// the places of `new`. Writes a few kilobytes per article changed, whatever the collection's
/// size.
pub(super) fn append_counts(
    dir: &Path,
    old: &CountsPlaces,
    new: &TermCounts,
    order: &[Option<u32>],
) -> anyhow::Result<CountsPlaces> {
    let path = dir.join(COUNTS_LOG);
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {} to append", path.display()))?;
    // Appended after whatever the file holds: bytes an update that failed left after
    // `old.log_len` are no article's and stay unread.
    let start = file.metadata()?.len();
    let mut out = Vec::new();
    let mut places = CountsPlaces {
        base: old.base.clone(),
        base_stems: old.base_stems,
        log_len: 0,
        stems: old.stems.clone(),
        articles: Vec::with_capacity(order.len()),
    };
    let known = old.stems();
    if new.stems.len() > known {
        places.stems.push((start, (new.stems.len() - known) as u32));
        for s in &new.stems[known..] {
            put_bytes(&mut out, s.as_bytes());
        }
    }
    for (id, o) in order.iter().enumerate() {
        let place = match *o {
            Some(k) => old.articles[k as usize],
            None => {
                let entries = new.article(id);
                let at = start + out.len() as u64;
                put_entries(&mut out, entries);
                Place::Log {
                    at,
                    n: entries.len() as u32,
                }
            }
        };
        places.articles.push(place);
    }
    let mut file = std::io::BufWriter::new(file);
    file.write_all(&out)?;
    file.flush()?;
    places.log_len = start + out.len() as u64;
    Ok(places)
}

/// `counts.bin` mapped in memory: what the stored entries of counts read back point into.
#[derive(Debug)]
struct MappedCounts(memmap2::Mmap);

impl EntryBytes for MappedCounts {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    #[cfg(unix)]
    fn let_go(&self, range: std::ops::Range<usize>) {
        let len = range.end.saturating_sub(range.start);
        // SAFETY: a read-only shared mapping of a file never written once made (see
        // `read_counts`): the pages let go hold nothing but the file's bytes, which the next
        // read of them maps again. (memmap2 rounds the start down to a page.)
        let given = unsafe {
            self.0
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, len)
        };
        if let Err(e) = given {
            tracing::debug!("counts.bin: pages not given back: {e}");
        }
    }
}

/// What errors call the counts' files.
const COUNTS_FILES: &str = "counts.bin or counts.log";

/// Reads the term counts `places` names back from `counts.bin` and `counts.log` of `dir`:
/// `None` when the base is missing or was written by another library (its tag). The base is
/// mapped in memory and its articles' entries read where they lie (decoding them was most of
/// the first update's extra time after a start, and 40 MB of memory at 10,000 articles held
/// by every library made from it); the stems and their frequencies are read, and the log up
/// to the length the places name, its articles' entries decoded.
pub(super) fn read_counts(dir: &Path, places: &CountsPlaces) -> anyhow::Result<Option<TermCounts>> {
    let path = dir.join(COUNTS);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    // SAFETY: a mapped file changed by another process under the mapping would change these
    // bytes; `counts.bin` is never written once made (`write_counts`: each is written anew
    // into a staging folder, and replaced by unlinking, which leaves a mapping its inode), and
    // the index folder is the bot's own (`staging::check_index_folder`). tantivy maps its
    // segment files in the same folder on the same terms.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("cannot map {}", path.display()))?;
    let bytes: &[u8] = &map;
    let mut r = ByteReader::new(bytes, 0, COUNTS_FILES);
    if r.take(8)? != COUNTS_MAGIC {
        anyhow::bail!("{} is not a file of term counts", path.display());
    }
    let n = r.u32()? as usize;
    if places.base.is_empty() || r.take(n)? != places.base.as_bytes() {
        return Ok(None);
    }
    let stems_len = r.u32()? as usize;
    if stems_len != places.base_stems as usize {
        anyhow::bail!(
            "{} holds {stems_len} stems, library.bin expects {}",
            path.display(),
            places.base_stems
        );
    }
    // A hint from library.bin, bounded by the file (each stem takes at least its 4-byte
    // length), so a damaged count cannot ask for gigabytes.
    let mut stems = Vec::with_capacity(places.stems().min(bytes.len() / 4));
    for _ in 0..stems_len {
        stems.push(r.string()?);
    }
    let mut df: Vec<u32> = r.u32s(stems_len)?;
    let starts_len = r.u32()? as usize;
    let starts: Vec<u32> = r.u32s(starts_len)?;
    if starts.first().is_some_and(|&s| s != 0) || starts.windows(2).any(|w| w[0] > w[1]) {
        anyhow::bail!(
            "the term counts' positions in {} are out of order",
            path.display()
        );
    }
    let entries_at = r.at;
    let entries_len = starts.last().copied().unwrap_or(0) as usize;
    r.take(entries_len.saturating_mul(ENTRY_BYTES))?;

    let log = read_log(&dir.join(COUNTS_LOG), places.log_len)?;
    for &(at, n) in &places.stems {
        let mut r = ByteReader::new(&log, usize::try_from(at)?, COUNTS_FILES);
        for _ in 0..n {
            stems.push(r.string()?);
        }
    }
    df.resize(stems.len(), 0);
    let mut articles = Vec::with_capacity(places.articles.len());
    for place in &places.articles {
        let entries = match *place {
            Place::Base(k) => {
                let (s, e) = (starts.get(k as usize), starts.get(k as usize + 1));
                let (Some(&s), Some(&e)) = (s, e) else {
                    anyhow::bail!(
                        "library.bin names an article {} does not hold",
                        path.display()
                    );
                };
                Entries::Stored {
                    at: entries_at + s as usize * ENTRY_BYTES,
                    n: e - s,
                }
            }
            Place::Log { at, n } => {
                let bytes = usize::try_from(at)
                    .ok()
                    .and_then(|at| log.get(at..at.checked_add(n as usize * ENTRY_BYTES)?))
                    .context("library.bin points past the end of counts.log")?;
                Entries::Held(bytes.chunks_exact(ENTRY_BYTES).map(entry).collect())
            }
        };
        articles.push(entries);
    }
    // The base's frequencies count its own articles: those an update replaced or removed (no
    // place names them) are taken out, and the log's articles put in.
    let mut named = vec![false; starts.len().saturating_sub(1)];
    for place in &places.articles {
        if let Place::Base(k) = *place {
            named[k as usize] = true;
        }
    }
    for (k, _) in named.iter().enumerate().filter(|(_, n)| !**n) {
        let s = entries_at + starts[k] as usize * ENTRY_BYTES;
        let e = entries_at + starts[k + 1] as usize * ENTRY_BYTES;
        for (t, _) in bytes[s..e].chunks_exact(ENTRY_BYTES).map(entry) {
            let d = df
                .get_mut(t as usize)
                .with_context(|| format!("{}: a term count names no stem", path.display()))?;
            // A frequency lower than the articles holding its stem is a damaged file, not
            // something to round away (the vectors would be weighed with a wrong IDF).
            *d = d.checked_sub(1).with_context(|| {
                format!(
                    "{}: a stem's document frequency is lower than its articles",
                    path.display()
                )
            })?;
        }
    }
    for entries in &articles {
        if let Entries::Held(e) = entries {
            for &(t, _) in e.iter() {
                *df.get_mut(t as usize)
                    .context("counts.log: a term count names no stem")? += 1;
            }
        }
    }
    // Before format 10 the frequencies were summed from the entries and could not disagree
    // with them; stored, they are checked: an article's entries name distinct stems, so the
    // frequencies add up to the entries of the articles named, and none passes their number.
    let entries: u64 = articles
        .iter()
        .map(|a| match a {
            Entries::Stored { n, .. } => u64::from(*n),
            Entries::Held(e) => e.len() as u64,
        })
        .sum();
    let most = places.articles.len() as u64;
    if df.iter().map(|&d| u64::from(d)).sum::<u64>() != entries
        || df.iter().any(|&d| u64::from(d) > most)
    {
        anyhow::bail!(
            "{}: the stems' document frequencies do not match the term counts",
            path.display()
        );
    }
    let counts = TermCounts {
        stems,
        df,
        articles,
        stored: Some(Arc::new(MappedCounts(map))),
    };
    Ok(Some(counts.checked()?))
}

/// The first `len` bytes of the log at `path` (none when `len` is 0 and there is no file).
fn read_log(path: &Path, len: u64) -> anyhow::Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // The length comes from library.bin: checked against the file before it sizes a buffer, so
    // a damaged number is an error (and a full build), not an allocation that aborts.
    let on_disk = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if on_disk < len {
        anyhow::bail!(
            "{} holds {on_disk} bytes where library.bin expects {len}",
            path.display()
        );
    }
    let mut bytes = vec![0u8; usize::try_from(len)?];
    std::io::Read::read_exact(&mut file, &mut bytes)
        .with_context(|| format!("{} is shorter than library.bin expects", path.display()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint hashes the files' parts in batches: the same as one update per part
    /// (what it was defined as), across batch boundaries.
    #[test]
    fn the_fingerprint_is_its_part_by_part_definition() {
        let settings = crate::config::Settings::for_content("content").content;
        let files: Vec<SourceFile> = (0..3000u64)
            .map(|i| SourceFile {
                rel: std::path::PathBuf::from(format!("part-{}/article-{i:05}.md", i % 7)),
                abs: std::path::PathBuf::new(),
                len: i * 37,
                mtime_ns: u128::from(i) * 1_000_000_007,
            })
            .collect();
        let by_part = |files: &[SourceFile]| {
            let mut h = fingerprint_head(&settings);
            for f in files {
                h.update(f.rel.to_string_lossy().as_bytes());
                h.update(&[0]);
                h.update(&f.len.to_le_bytes());
                h.update(&f.mtime_ns.to_le_bytes());
            }
            h.finalize().to_hex().to_string()
        };
        for n in [0, 1, 1500, 3000] {
            assert_eq!(
                fingerprint(&settings, &files[..n]),
                by_part(&files[..n]),
                "{n}"
            );
        }
    }

    /// What the records' decoding relies on beside their bytes (the keys, the length of
    /// `articles.bin`) is sealed into their hash: a library.bin with one of them changed is
    /// refused at open and the library built again, not opened to fail at first use.
    #[test]
    fn a_damaged_key_or_bodies_length_is_refused_at_open() {
        use crate::index::NoProgress;
        use crate::library::tests::{honey_notes, indexed_in};
        use crate::library::{Library, OpenMode};
        let dir = tempfile::tempdir().unwrap();
        let content = honey_notes(dir.path(), 12);
        let index = dir.path().join("index");
        let settings = indexed_in(&content, &index);
        let built = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
        let path = index.join(LIBRARY);
        let good = std::fs::read(&path).unwrap();
        let n = good.len();
        let head_at = u64::from_le_bytes(good[n - 8..].try_into().unwrap()) as usize;
        let head: Head = postcard::from_bytes(&good[head_at..n - TRAILER]).unwrap();
        let with_head = |change: &dyn Fn(&mut Head)| {
            let mut h: Head = postcard::from_bytes(&good[head_at..n - TRAILER]).unwrap();
            change(&mut h);
            let mut bytes = good[..head_at].to_vec();
            bytes.extend(postcard::to_stdvec(&h).unwrap());
            bytes.extend_from_slice(&good[n - TRAILER..]);
            bytes
        };
        assert!(head.bodies_len > 0 && !head.keys.is_empty());
        for (what, bytes) in [
            ("the head as it was", with_head(&|_| {})),
            ("a key changed", with_head(&|h| h.keys[3] ^= 1)),
            (
                "articles.bin's length smaller",
                with_head(&|h| h.bodies_len -= 1),
            ),
        ] {
            // Written anew, never through: a library may map it.
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            let unchanged = what == "the head as it was";
            assert_eq!(read(&index).is_ok(), unchanged, "{what}");
            let lib = Library::open(&settings, OpenMode::Reuse, &NoProgress).unwrap();
            assert_eq!(lib.info.reused, unchanged, "{what}");
            assert_eq!(lib.articles, built.articles, "{what}");
        }
    }

    /// A stored part whose end does not fit in a `u64` lies past the file, as any other does:
    /// refused, not wrapped around (and not a panic in a debug build).
    #[test]
    fn a_part_past_the_end_of_the_numbers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ARTICLES);
        std::fs::write(&path, [0u8; 64]).unwrap();
        let file = Arc::new(BodyFile::open(&path).unwrap());
        let article = |offset: u64, len: u32| Article {
            slug: "a".into(),
            title: "A".into(),
            url: None,
            summary: None,
            tags: vec![],
            authors: vec![],
            date: None,
            aliases: vec![],
            sections: vec![],
            takeaways: Lazy::stored(offset, len),
            path: "a.md".into(),
            format: crate::content::Format::Markdown,
        };
        assert!(attach(&file, &mut article(0, 64), 64).is_ok());
        assert!(attach(&file, &mut article(1, 64), 64).is_err());
        assert!(attach(&file, &mut article(u64::MAX - 8, 16), 64).is_err());
    }
}
