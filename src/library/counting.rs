//! Counting each article's weighted terms for the related vectors: a word's stem counted at
//! its place's weight (title, tags, headings, body), made in parallel a batch at a time and
//! either held ([`Counting`]) or written to a file as it goes ([`CountingToFile`], a streamed
//! build's way at 100,000 articles). [`super::vectors`] weighs the vectors from these counts.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::vectors::{stem_ranks, strongest, ArticleVectors, TermCounts, VectorWeights};
use crate::content::Article;
use crate::text;

/// Whether a word is a term at all: not a stop word, not a number, longer than two letters.
fn is_term(lower: &str) -> bool {
    lower.len() > 2 && !text::is_stop_word(lower) && !lower.chars().all(|c| c.is_ascii_digit())
}

/// Each term of an article with its weighted count (title, tag and heading words counted at
/// their weights).
pub(super) fn term_counts(a: &Article, w: &VectorWeights) -> FxHashMap<String, f32> {
    let mut tf: FxHashMap<String, f32> = FxHashMap::default();
    let mut add = |s: &str, weight: f32| {
        if weight <= 0.0 {
            return;
        }
        for t in text::words(s) {
            if is_term(&t.lower) {
                *tf.entry(t.stem.to_string()).or_default() += weight;
            }
        }
    };
    add(&a.title, w.title);
    for t in a.tags.iter().chain(&a.aliases) {
        add(t, w.tags);
    }
    for s in &a.sections {
        if let Some(h) = &s.heading {
            add(h, w.headings);
        }
        for b in s.blocks.iter() {
            add(&b.text, 1.0);
        }
    }
    tf
}

/// Each article's term counts, in parallel.
fn count(articles: &[Article], w: &VectorWeights) -> Vec<FxHashMap<String, f32>> {
    articles.par_iter().map(|a| term_counts(a, w)).collect()
}

/// An article's counts as `(term id, count)` entries, its stems interned in `stems` and `ids`
/// (a new stem takes the next id): entries in the map's order, ids in order of first sight.
pub(super) fn intern(
    counts: FxHashMap<String, f32>,
    stems: &mut Vec<String>,
    ids: &mut FxHashMap<String, u32>,
) -> Vec<(u32, f32)> {
    let mut entries = Vec::with_capacity(counts.len());
    for (t, f) in counts {
        let id = match ids.get(&t) {
            Some(&id) => id,
            None => {
                let id = stems.len() as u32;
                stems.push(t.clone());
                ids.insert(t, id);
                id
            }
        };
        entries.push((id, f));
    }
    entries
}

/// Making term counts: of a collection, and of a new collection from an old one.
impl TermCounts {
    /// The counts of `articles` (their bodies must be at hand).
    pub fn of(articles: &[Article], w: &VectorWeights) -> TermCounts {
        let mut counting = Counting::new(*w);
        counting.add(articles);
        counting.finish()
    }

    /// Appends an article's counts, interning its stems in `ids`.
    pub(super) fn push(
        &mut self,
        counts: FxHashMap<String, f32>,
        ids: &mut FxHashMap<String, u32>,
    ) {
        let entries = intern(counts, &mut self.stems, ids);
        self.articles.push(entries.into());
    }

    /// The counts of a new collection: for each of its articles, either an article of this
    /// one (`Ok(old id)`) or one counted afresh (`Err(article)`), in order.
    pub fn remix(&self, order: &[Result<u32, &Article>], w: &VectorWeights) -> TermCounts {
        let fresh: Vec<Option<FxHashMap<String, f32>>> = order
            .par_iter()
            .map(|o| o.as_ref().err().map(|a| term_counts(a, w)))
            .collect();
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        if fresh.iter().any(Option::is_some) {
            ids = self
                .stems
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone(), i as u32))
                .collect();
        }
        let mut out = TermCounts {
            stems: self.stems.clone(),
            articles: Vec::with_capacity(order.len()),
        };
        for (o, f) in order.iter().zip(fresh) {
            match (o, f) {
                (Ok(old), _) => out.articles.push(self.articles[*old as usize].clone()),
                (Err(_), Some(c)) => out.push(c, &mut ids),
                (Err(_), None) => unreachable!("an article counted afresh has counts"),
            }
        }
        out
    }
}

/// Term counts made a batch of articles at a time, held in memory: the same counts as
/// [`TermCounts::of`] over all the batches in order.
pub(super) struct Counting {
    counts: TermCounts,
    ids: FxHashMap<String, u32>,
    weights: VectorWeights,
}

impl Counting {
    pub(super) fn new(weights: VectorWeights) -> Counting {
        Counting {
            counts: TermCounts::default(),
            ids: FxHashMap::default(),
            weights,
        }
    }

    /// Counts the next `articles` (their bodies must be at hand), in parallel.
    pub(super) fn add(&mut self, articles: &[Article]) {
        for c in count(articles, &self.weights) {
            self.counts.push(c, &mut self.ids);
        }
    }

    pub(super) fn finish(self) -> TermCounts {
        self.counts
    }
}

/// Articles whose entries [`SpilledCounts::vectors`] reads back and weighs at a time.
const SPILL_READ: usize = 4096;

/// Term counts made a batch of articles at a time by a streamed build, each article's entries
/// written to a file as it is counted instead of held: at 100,000 articles the counts were
/// 400 MB held for the whole build (BENCHMARKS.md, issue 18). Kept in memory: the stems, each
/// article's number of entries and each stem's document frequency, which is what weighing the
/// entries read back needs.
///
/// The file holds the entries of every article in order, each a little-endian term id and
/// the count's bits: the entries part of `counts.bin` as it is, which `persist` copies.
pub(super) struct CountingToFile {
    weights: VectorWeights,
    ids: FxHashMap<String, u32>,
    stems: Vec<String>,
    lens: Vec<u32>,
    df: Vec<u32>,
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

/// The counts of a [`CountingToFile`] once every article is counted.
pub(super) struct SpilledCounts {
    pub(super) stems: Vec<String>,
    /// Each article's number of entries, by article id.
    pub(super) lens: Vec<u32>,
    pub(super) df: Vec<u32>,
    /// The entries, as [`CountingToFile`] wrote them.
    pub(super) path: std::path::PathBuf,
}

/// Appends an entry as `counts.bin` stores it: term id, then the count's bits, little-endian.
pub(super) fn put_entry(out: &mut impl std::io::Write, (t, f): (u32, f32)) -> std::io::Result<()> {
    out.write_all(&t.to_le_bytes())?;
    out.write_all(&f.to_bits().to_le_bytes())
}

impl CountingToFile {
    /// Starts counting into a new file at `path`.
    pub(super) fn create(
        path: &std::path::Path,
        weights: VectorWeights,
    ) -> anyhow::Result<CountingToFile> {
        let file = std::fs::File::create(path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        Ok(CountingToFile {
            weights,
            ids: FxHashMap::default(),
            stems: Vec::new(),
            lens: Vec::new(),
            df: Vec::new(),
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Counts the next `articles` (their bodies must be at hand), in parallel, and writes
    /// their entries.
    pub(super) fn add(&mut self, articles: &[Article]) -> anyhow::Result<()> {
        for c in count(articles, &self.weights) {
            let entries = intern(c, &mut self.stems, &mut self.ids);
            self.df.resize(self.stems.len(), 0);
            for &e in &entries {
                self.df[e.0 as usize] += 1;
                put_entry(&mut self.out, e)?;
            }
            self.lens.push(entries.len() as u32);
        }
        Ok(())
    }

    pub(super) fn finish(self) -> anyhow::Result<SpilledCounts> {
        use std::io::Write as _;
        let mut out = self.out;
        out.flush()?;
        Ok(SpilledCounts {
            stems: self.stems,
            lens: self.lens,
            df: self.df,
            path: self.path,
        })
    }
}

impl SpilledCounts {
    /// The vectors [`ArticleVectors::from_counts`] makes of these counts (the same ones, bit
    /// for bit), reading the entries back [`SPILL_READ`] articles at a time.
    pub(super) fn vectors(&self, w: &VectorWeights) -> anyhow::Result<ArticleVectors> {
        use std::io::Read as _;
        let n = self.lens.len() as f32;
        let rank = stem_ranks(&self.stems);
        let by_rank = |a: u32, b: u32| rank[a as usize].cmp(&rank[b as usize]);
        let file = std::fs::File::open(&self.path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", self.path.display()))?;
        let mut file = std::io::BufReader::with_capacity(1 << 20, file);
        let mut out = ArticleVectors::with_capacity(self.stems.len(), self.lens.len());
        let mut bytes = Vec::new();
        for lens in self.lens.chunks(SPILL_READ) {
            let total: usize = lens.iter().map(|&l| l as usize).sum();
            bytes.resize(total * 8, 0);
            file.read_exact(&mut bytes)?;
            let entries: Vec<(u32, f32)> = bytes
                .chunks_exact(8)
                .map(|c| {
                    let t = u32::from_le_bytes(c[..4].try_into().expect("4 bytes"));
                    let f = u32::from_le_bytes(c[4..].try_into().expect("4 bytes"));
                    (t, f32::from_bits(f))
                })
                .collect();
            if entries.iter().any(|&(t, _)| t as usize >= self.stems.len()) {
                anyhow::bail!("the spilled term counts name a term that is not in the list");
            }
            let mut articles = Vec::with_capacity(lens.len());
            let mut at = 0;
            for &l in lens {
                articles.push(&entries[at..at + l as usize]);
                at += l as usize;
            }
            let vectors: Vec<Vec<(u32, f32)>> = articles
                .par_iter()
                .map(|c| strongest(c, &self.df, n, w, by_rank))
                .collect();
            out.extend(&self.stems, vectors.iter().map(Vec::as_slice));
        }
        Ok(out)
    }
}
