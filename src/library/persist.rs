//! The persisted form of a library, in the index folder: `manifest.json` (format version and
//! fingerprint), `library.bin` (passages, warnings and every article's front matter and
//! section headings, with where each section's blocks and the takeaways lie in `articles.bin`,
//! and the articles' term vectors for `related`, postcard), `articles.bin` (each section's blocks and each article's takeaways, each its own
//! postcard record, read on first use: see [`crate::content::Lazy`]) and `tantivy/`.
//!
//! The fingerprint covers every article file's path, size and modification time and the
//! settings that shape the index, so an unchanged collection is opened, not rebuilt.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ContentSettings;
use crate::content::{Article, BodyFile, Lazy, SourceFile, Warning};
use crate::passage::Passage;

use super::vectors::ArticleVectors;

/// Bumped whenever the persisted layout, the way passages are cut or the analyzer changes.
pub(super) const FORMAT_VERSION: u32 = 6;

/// The entries of an index folder.
pub(super) const MANIFEST: &str = "manifest.json";
pub(super) const LIBRARY: &str = "library.bin";
pub(super) const ARTICLES: &str = "articles.bin";
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
}

/// `library.bin` as written: the same fields as [`Snapshot`], borrowed (postcard encodes a
/// slice as it encodes a `Vec`).
#[derive(Serialize)]
struct SnapshotRef<'a> {
    articles: &'a [Article],
    passages: &'a [Passage],
    vectors: &'a ArticleVectors,
    warnings: &'a [Warning],
    bodies_len: u64,
}

/// Writes a library into the (staging) folder `dir`, beside the `tantivy/` index built there:
/// `articles.bin` (which turns the articles' bodies into stored parts, see [`write_articles`]),
/// `library.bin` and last the manifest. Returns the length of `articles.bin`.
pub(super) fn write(
    dir: &Path,
    articles: &mut [Article],
    passages: &[Passage],
    vectors: &ArticleVectors,
    warnings: &[Warning],
    fingerprint: &str,
) -> anyhow::Result<u64> {
    let bodies_len = write_articles(&dir.join(ARTICLES), articles)?;
    let snapshot = SnapshotRef {
        articles,
        passages,
        vectors,
        warnings,
        bodies_len,
    };
    let bytes = postcard::to_stdvec(&snapshot).context("cannot encode the library")?;
    std::fs::write(dir.join(LIBRARY), bytes)?;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        fingerprint: fingerprint.to_string(),
        articles: articles.len(),
        passages: passages.len(),
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(bodies_len)
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
pub(super) fn attach_bodies(
    path: &Path,
    articles: &mut [Article],
    expected: u64,
) -> anyhow::Result<()> {
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
