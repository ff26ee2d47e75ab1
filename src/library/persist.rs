//! The persisted form of a library, in the index folder: `manifest.json` (format version and
//! fingerprint), `library.bin` (passages, warnings and every article's front matter and
//! section headings, with where each section's blocks and the takeaways lie in `articles.bin`,
//! and the articles' term vectors for `related`, postcard), `articles.bin` (each section's blocks and each article's takeaways, each its own
//! postcard record, read on first use: see [`crate::content::Lazy`]), `counts.bin` (every
//! article's weighted term counts, the related vectors' input, read only by an update) and
//! `tantivy/`.
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

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ContentSettings;
use crate::content::{Article, BodyFile, Lazy, SourceFile, Warning};
use crate::index::FieldTokens;
use crate::passage::Passage;

use super::vectors::{put_entry, ArticleVectors, SpilledCounts, TermCounts};

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
pub(super) const FORMAT_VERSION: u32 = 8;

/// The entries of an index folder.
pub(super) const MANIFEST: &str = "manifest.json";
pub(super) const LIBRARY: &str = "library.bin";
pub(super) const ARTICLES: &str = "articles.bin";
pub(super) const COUNTS: &str = "counts.bin";
pub(super) const TANTIVY: &str = "tantivy";

/// Articles encoded together (in parallel) before they are written to `articles.bin`: bounds
/// the encoded bytes held at once while building.
pub(super) const WRITE_BATCH: usize = 1024;

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
    vectors: ArticleVectors,
    warnings: Vec<Warning>,
    files: Vec<FileStamp>,
    tokens: FieldTokens,
    /// The length of `articles.bin`: a file cut short or replaced is noticed at open.
    bodies_len: u64,
}

/// A persisted library read back, before its fingerprint is compared with the content's.
pub(super) struct Persisted {
    pub fingerprint: String,
    pub articles: Vec<Article>,
    pub passages: Vec<Passage>,
    pub vectors: ArticleVectors,
    pub warnings: Vec<Warning>,
    pub files: Vec<FileStamp>,
    pub tokens: FieldTokens,
}

/// `library.bin` as written: the same fields as [`Snapshot`], borrowed (postcard encodes a
/// slice as it encodes a `Vec`).
#[derive(Serialize)]
struct SnapshotRef<'a> {
    articles: &'a [Article],
    passages: &'a [Passage],
    vectors: &'a ArticleVectors,
    warnings: &'a [Warning],
    files: &'a [FileStamp],
    tokens: FieldTokens,
    bodies_len: u64,
}

/// What [`write`] writes beside the index, borrowed.
pub(super) struct Parts<'a> {
    pub passages: &'a [Passage],
    pub vectors: &'a ArticleVectors,
    pub counts: Counts<'a>,
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

/// Writes `counts.bin`, `library.bin` and last the manifest into `dir`, for `articles` whose
/// bodies are stored in an `articles.bin` of `bodies_len` bytes.
pub(super) fn write_rest(
    dir: &Path,
    articles: &[Article],
    parts: &Parts<'_>,
    bodies_len: u64,
) -> anyhow::Result<()> {
    // The two files are encoded and written at once: each is tens of megabytes at 10,000
    // articles, and a reload waits for both.
    let written = std::thread::scope(|s| {
        let counts = s.spawn(|| write_counts(&dir.join(COUNTS), parts.counts, parts.fingerprint));
        let library = write_library(dir, articles, parts, bodies_len);
        let counts = counts
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        library.and(counts)
    });
    written?;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        fingerprint: parts.fingerprint.to_string(),
        articles: articles.len(),
        passages: parts.passages.len(),
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}

/// Writes `library.bin`.
fn write_library(
    dir: &Path,
    articles: &[Article],
    parts: &Parts<'_>,
    bodies_len: u64,
) -> anyhow::Result<()> {
    let snapshot = SnapshotRef {
        articles,
        passages: parts.passages,
        vectors: parts.vectors,
        warnings: parts.warnings,
        files: parts.files,
        tokens: parts.tokens,
        bodies_len,
    };
    // Encoded straight into the file: the bytes whole were 130 MB held at the end of a build
    // of 100,000 articles (BENCHMARKS.md, issue 18).
    let path = dir.join(LIBRARY);
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut out = postcard::to_io(&snapshot, out).context("cannot encode the library")?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads the persisted library in `dir`: `None` when there is none or it has another
/// format version. The articles' bodies are not read: each is read on first use.
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
    let bytes = std::fs::read(dir.join(LIBRARY)).context("cannot read library.bin")?;
    let snapshot: Snapshot = postcard::from_bytes(&bytes).context("bad library.bin")?;
    let mut articles = snapshot.articles;
    attach_bodies(&dir.join(ARTICLES), &mut articles, snapshot.bodies_len)?;
    if articles.len() != manifest.articles
        || snapshot.passages.len() != manifest.passages
        || snapshot.vectors.len() != manifest.articles
    {
        anyhow::bail!("manifest and library.bin disagree on the article, passage or vector count");
    }
    let vectors = snapshot.vectors.checked()?;
    Ok(Some(Persisted {
        fingerprint: manifest.fingerprint,
        articles,
        passages: snapshot.passages,
        vectors,
        warnings: snapshot.warnings,
        files: snapshot.files,
        tokens: snapshot.tokens,
    }))
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
pub(super) fn attach_bodies(
    path: &Path,
    articles: &mut [Article],
    expected: u64,
) -> anyhow::Result<()> {
    let file = std::sync::Arc::new(
        BodyFile::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    // Longer is fine: an update that failed after appending leaves bytes nobody reads.
    if file.len() < expected {
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

/// The bytes of `articles.bin` (of `len` bytes) that no article of `articles` reads: records
/// of articles an update replaced or removed.
pub(super) fn waste(articles: &[Article], len: u64) -> u64 {
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
/// each entry): magic, fingerprint, stems, starts, entries. Spilled counts' entries are already
/// in this form: their file is copied.
fn write_counts(path: &Path, counts: Counts<'_>, fingerprint: &str) -> anyhow::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        let (stems, lens): (&[String], Vec<u32>) = match counts {
            Counts::Held(c) => (
                &c.stems,
                c.articles.iter().map(|a| a.len() as u32).collect(),
            ),
            Counts::Spilled(s) => (&s.stems, s.lens.clone()),
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
        out.write_all(&(lens.len() as u32 + 1).to_le_bytes())?;
        let mut start = 0u32;
        out.write_all(&start.to_le_bytes())?;
        for l in lens {
            start += l;
            out.write_all(&start.to_le_bytes())?;
        }
        match counts {
            Counts::Held(c) => {
                for &e in c.articles.iter().flat_map(|a| a.iter()) {
                    put_entry(&mut out, e)?;
                }
            }
            Counts::Spilled(s) => {
                std::io::copy(&mut std::fs::File::open(&s.path)?, &mut out)?;
            }
        }
        out.flush()
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Reads `counts.bin` of `dir`: `None` when it is missing or belongs to another fingerprint.
pub(super) fn read_counts(dir: &Path, fingerprint: &str) -> anyhow::Result<Option<TermCounts>> {
    let bytes = match std::fs::read(dir.join(COUNTS)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut r = Cursor {
        bytes: &bytes,
        at: 0,
    };
    if r.take(8)? != COUNTS_MAGIC {
        anyhow::bail!("counts.bin is not a file of term counts");
    }
    let n = r.u32()? as usize;
    if r.take(n)? != fingerprint.as_bytes() {
        return Ok(None);
    }
    let stems_len = r.u32()? as usize;
    let mut stems = Vec::with_capacity(stems_len);
    for _ in 0..stems_len {
        let n = r.u32()? as usize;
        let s = std::str::from_utf8(r.take(n)?).context("counts.bin: a stem is not UTF-8")?;
        stems.push(s.to_string());
    }
    let starts_len = r.u32()? as usize;
    let starts: Vec<u32> = r
        .take(starts_len * 4)?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if starts.first().is_some_and(|&s| s != 0) || starts.windows(2).any(|w| w[0] > w[1]) {
        anyhow::bail!("the term counts' positions are out of order");
    }
    let entries_len = starts.last().copied().unwrap_or(0) as usize;
    let entries = r.take(entries_len * 8)?;
    let entry = |c: &[u8]| {
        (
            u32::from_le_bytes(c[..4].try_into().expect("4 bytes")),
            f32::from_bits(u32::from_le_bytes(c[4..].try_into().expect("4 bytes"))),
        )
    };
    let articles = starts
        .windows(2)
        .map(|w| {
            let bytes = &entries[w[0] as usize * 8..w[1] as usize * 8];
            bytes.chunks_exact(8).map(entry).collect()
        })
        .collect();
    let counts = TermCounts { stems, articles };
    Ok(Some(counts.checked()?))
}

/// Reads `counts.bin` front to back.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let s = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .context("counts.bin is cut short")?;
        self.at += n;
        Ok(s)
    }

    fn u32(&mut self) -> anyhow::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}
