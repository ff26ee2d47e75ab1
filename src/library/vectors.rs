//! Article vectors for `related`: each article as its most distinctive stems (TF-IDF over the
//! collection's articles, sublinear term frequency, title, tag and heading words counted
//! more), cut to the strongest terms and L2-normalised. Built with the library, persisted in
//! `vectors.bin` (read by the first use, [`RelatedVectors`]), and answered from an inverted
//! list of the terms: the articles nearest to one by cosine similarity, with no index query
//! per call.
//!
//! The vectors come from each article's weighted term counts ([`TermCounts`], counted by
//! [`super::counting`]), which the library keeps (`counts.bin` and `counts.log`): a collection-wide
//! statistic (document frequencies, the number of articles) changes with every article added,
//! changed or removed, so an update counts only the changed articles again and recomputes the
//! vectors whose weights moved (every one when the number of articles changed) from the kept
//! counts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::bytes::ByteReader;
use crate::content::Article;

/// How an article's terms are weighted. [`VectorWeights::default`] holds the weights chosen
/// on the development half of a document-similarity set (see BENCHMARKS.md, "Related").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorWeights {
    /// What one occurrence of a word in the title counts, against 1 in the body.
    pub title: f32,
    /// One occurrence in a tag or alias.
    pub tags: f32,
    /// One occurrence in a section heading.
    pub headings: f32,
    /// Terms kept per article (the strongest ones).
    pub terms: usize,
}

impl Default for VectorWeights {
    fn default() -> VectorWeights {
        VectorWeights {
            // Chosen on the development half of the 20 Newsgroups sample (BENCHMARKS.md,
            // "Related"): the best title weight; 100 terms are within 0.01 of the best
            // development figure (200) at half the size. Tags and headings could not be
            // measured (the set has neither) and keep the weights of the query they replace.
            title: 5.0,
            tags: 2.0,
            headings: 1.5,
            terms: 100,
        }
    }
}

/// The vectors of every article of a library, by article id.
///
/// A term id is the stem's id in the [`TermCounts`] the vectors were made from (stems in no
/// vector are kept as empty strings): an update recomputes some articles' vectors from the
/// new counts, whose ids are the old ones plus new stems, and keeps the others as they are
/// (their blocks shared, not copied).
/// Two vectors are equal when they hold the same stems with the same weights in the same
/// order, whatever their ids (`PartialEq`).
#[derive(Debug, Clone, Default)]
pub struct ArticleVectors {
    /// The stems by term id ("" for a stem in no article's vector made with these; an
    /// update keeps the names of stems that have left every vector).
    terms: Vec<String>,
    /// The vectors, [`BLOCK`] articles a block (every block full but the last): article
    /// `i`'s is in block `i / BLOCK`. An update that weighs some articles again makes their
    /// blocks anew and shares the others with the vectors it started from, instead of a
    /// copy of every vector (80 MB at 100,000 articles, held twice while a reload made its
    /// library; BENCHMARKS.md, issue 18).
    blocks: Vec<Arc<Block>>,
    /// Per term id `t`, the articles whose vector holds it, with the weight, in article
    /// order: made from `entries` by the first `nearest`, never stored (a library that is
    /// never asked for related articles does not pay for them: about 80 MB at 100,000
    /// articles, and a tenth of the instructions of a start at 10,000; BENCHMARKS.md, issue
    /// 18).
    postings: Postings,
}

/// The articles of one block of [`ArticleVectors`].
const BLOCK: usize = 1024;

/// The vectors of up to [`BLOCK`] consecutive articles.
#[derive(Debug, Clone)]
struct Block {
    /// The block's vector `j` is `entries[starts[j]..starts[j + 1]]`.
    starts: Vec<u32>,
    /// `(term id, weight)`, strongest first within an article (ties by stem): the order
    /// `nearest` adds in, the same however the ids were given. Each article's weights have
    /// an L2 norm of 1 (or there are none).
    entries: Vec<(u32, f32)>,
}

impl Block {
    fn new() -> Block {
        Block {
            starts: vec![0],
            entries: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    fn push(&mut self, v: &[(u32, f32)]) {
        self.entries.extend_from_slice(v);
        self.starts.push(self.entries.len() as u32);
    }

    fn vector(&self, j: usize) -> &[(u32, f32)] {
        match (self.starts.get(j), self.starts.get(j + 1)) {
            (Some(&s), Some(&e)) => self.entries.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// The inverted lists of [`ArticleVectors`], made on first use: term `t`'s list is
/// `lists[starts[t]..starts[t + 1]]`, one flat list rather than a list per term (making tens
/// of thousands of small lists was a tenth of an update at 10,000 articles). Equal whether
/// made or not: they are derived from the vectors, which are compared.
#[derive(Debug, Clone, Default)]
struct Postings(std::sync::OnceLock<Lists>);

/// Inverted lists: where each term's list starts, and the lists one after the other.
type Lists = (Vec<u32>, Vec<(u32, f32)>);

impl PartialEq for Postings {
    fn eq(&self, _: &Postings) -> bool {
        true
    }
}

/// Every article's weighted term counts, by article id: the stems (interned: a term id
/// indexes `stems`), each stem's document frequency, and per article its `(term id, count)`
/// entries. What the vectors are computed from, kept so that an update does not read every
/// article again.
#[derive(Debug, Clone, Default)]
pub struct TermCounts {
    pub(super) stems: Vec<String>,
    /// The number of articles that hold each stem, by stem id: kept beside the entries (and
    /// in `counts.bin`) and moved by the changed articles only, since summing it over every
    /// entry was a fifth of an update's weighing at 10,000 articles.
    pub(super) df: Vec<u32>,
    /// Each article's entries, by article id: shared, not copied, by the counts an update
    /// makes of these ([`TermCounts::remix`]; copying them was most of its cost).
    pub(super) articles: Vec<Entries>,
    /// The stored form [`Entries::Stored`] points into: `counts.bin` mapped in memory
    /// (see `persist::read_counts`), when these counts were read back from it.
    pub(super) stored: Option<Arc<StoredEntries>>,
}

/// One article's term counts.
#[derive(Debug, Clone)]
pub(super) enum Entries {
    /// Counted in this process (or read from `counts.log`).
    Held(Arc<[(u32, f32)]>),
    /// `n` entries at byte `at` of the counts' [`StoredEntries`], read where they lie: the
    /// first update after a start decoded every article's 40 MB at 10,000 articles into
    /// entries of its own, most of which it never looks at again.
    Stored { at: usize, n: u32 },
}

/// Bytes holding stored entries, each [`ENTRY_BYTES`] bytes: a little-endian term id, then
/// the count's bits (as `counting::put_entry` writes them).
pub(super) trait EntryBytes: std::fmt::Debug + Send + Sync {
    fn bytes(&self) -> &[u8];

    /// Gives back the process's pages of `range` of [`EntryBytes::bytes`], which stay
    /// readable (a mapped file's are read from it again when next touched). Nothing to give
    /// back by default.
    fn let_go(&self, _range: std::ops::Range<usize>) {}
}

/// Articles whose stored entries a pass over every article reads before it lets their pages
/// go ([`TermCounts::in_passes`]).
const PASS_ARTICLES: usize = 4096;

/// The entries' bytes an [`Entries::Stored`] reads from.
pub(super) type StoredEntries = dyn EntryBytes;

/// The size of one stored entry.
pub(super) const ENTRY_BYTES: usize = 8;

/// One entry from its stored bytes.
pub(super) fn entry(c: &[u8]) -> (u32, f32) {
    let t = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let f = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
    (t, f32::from_bits(f))
}

/// An article's entries, wherever they lie.
#[derive(Clone, Copy)]
pub(super) enum EntriesRef<'a> {
    Held(&'a [(u32, f32)]),
    Stored(&'a [u8]),
}

impl<'a> EntriesRef<'a> {
    pub(super) fn len(self) -> usize {
        match self {
            EntriesRef::Held(e) => e.len(),
            EntriesRef::Stored(b) => b.len() / ENTRY_BYTES,
        }
    }

    pub(super) fn iter(self) -> impl Iterator<Item = (u32, f32)> + 'a {
        match self {
            EntriesRef::Held(e) => either::Either::Left(e.iter().copied()),
            EntriesRef::Stored(b) => either::Either::Right(b.chunks_exact(ENTRY_BYTES).map(entry)),
        }
    }

    /// Whether any entry's term id satisfies `f`: one loop per form, since the loops that
    /// ask it pass over every article's entries (an iterator of either form took several
    /// times as many instructions per entry).
    pub(super) fn any_term(self, f: impl Fn(u32) -> bool) -> bool {
        match self {
            EntriesRef::Held(e) => e.iter().any(|&(t, _)| f(t)),
            EntriesRef::Stored(b) => b
                .chunks_exact(ENTRY_BYTES)
                .any(|c| f(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        }
    }
}

impl PartialEq for TermCounts {
    /// The same stems, frequencies and entries, however each article's entries are kept.
    fn eq(&self, other: &TermCounts) -> bool {
        self.stems == other.stems
            && self.df == other.df
            && self.len() == other.len()
            && (0..self.len()).all(|i| self.article(i).iter().eq(other.article(i).iter()))
    }
}

impl TermCounts {
    /// Number of articles.
    pub fn len(&self) -> usize {
        self.articles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Article `id`'s entries.
    pub(super) fn article(&self, id: usize) -> EntriesRef<'_> {
        match &self.articles[id] {
            Entries::Held(e) => EntriesRef::Held(e),
            Entries::Stored { at, n } => {
                let bytes = self.stored.as_ref().map_or(&[][..], |s| s.bytes());
                EntriesRef::Stored(&bytes[*at..*at + *n as usize * ENTRY_BYTES])
            }
        }
    }

    /// Appends an article's entries (term ids interned in `stems`), counting its stems'
    /// document frequencies.
    pub(super) fn push_entries(&mut self, entries: Vec<(u32, f32)>) {
        self.df.resize(self.stems.len(), 0);
        for &(t, _) in &entries {
            self.df[t as usize] += 1;
        }
        self.articles.push(Entries::Held(entries.into()));
    }

    /// The start of the counts of a new collection made of these ([`TermCounts::remix`]):
    /// the same stems and stored entries, no articles yet, and the document frequencies less
    /// the articles `order` leaves out (it gives each new article as `Ok(old id)` or
    /// `Err(_)`, counted afresh). The kept articles' entries are then pushed as they are and
    /// the fresh ones counted ([`TermCounts::push_entries`]): the frequencies move by the
    /// changed articles only.
    pub(super) fn remixed<T>(&self, order: &[Result<u32, T>]) -> TermCounts {
        let mut df = self.df.clone();
        let mut kept = vec![false; self.len()];
        for &id in order.iter().filter_map(|o| o.as_ref().ok()) {
            kept[id as usize] = true;
        }
        for (id, _) in kept.iter().enumerate().filter(|(_, k)| !**k) {
            for (t, _) in self.article(id).iter() {
                // Frequencies read back are checked against the entries
                // (`persist::read_counts`), so this never saturates; if it did, a reload
                // would weigh wrongly rather than panic.
                df[t as usize] = df[t as usize].saturating_sub(1);
            }
        }
        TermCounts {
            stems: self.stems.clone(),
            df,
            articles: Vec::with_capacity(order.len()),
            stored: self.stored.clone(),
        }
    }

    /// `f` of every article id, in order, computed in parallel [`PASS_ARTICLES`] articles at
    /// a time, the pages of each pass's stored entries let go after it. A pass over every
    /// article's entries (the check of counts read back, an update looking for the vectors
    /// that can move) otherwise left all of `counts.bin` in the process's memory (400 MB at
    /// 100,000 articles, the largest part of a reload's peak; BENCHMARKS.md, issue 18), and
    /// in every library made from it after.
    pub(super) fn in_passes<T: Send>(&self, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        self.passes(|ids| {
            out.par_extend(ids.into_par_iter().map(&f));
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        out
    }

    /// `pass` of each range of [`PASS_ARTICLES`] article ids in turn, the pages of the
    /// range's stored entries let go after it (see [`TermCounts::in_passes`]); the first
    /// error ends the passes.
    pub(super) fn passes<E>(
        &self,
        mut pass: impl FnMut(std::ops::Range<usize>) -> Result<(), E>,
    ) -> Result<(), E> {
        for start in (0..self.len()).step_by(PASS_ARTICLES) {
            let end = (start + PASS_ARTICLES).min(self.len());
            pass(start..end)?;
            self.let_go(start..end);
        }
        Ok(())
    }

    /// Gives back the pages of the stored entries of articles `ids`.
    fn let_go(&self, ids: std::ops::Range<usize>) {
        let Some(stored) = &self.stored else {
            return;
        };
        let spans = self.articles[ids].iter().filter_map(|e| match *e {
            Entries::Stored { at, n } => Some((at, at + n as usize * ENTRY_BYTES)),
            Entries::Held(_) => None,
        });
        let span = spans.reduce(|(s, e), (s2, e2)| (s.min(s2), e.max(e2)));
        if let Some((s, e)) = span {
            stored.let_go(s..e);
        }
    }

    /// Checks counts read back (term ids known, a frequency per stem).
    pub(super) fn checked(self) -> anyhow::Result<TermCounts> {
        if self.df.len() != self.stems.len() {
            anyhow::bail!("the term counts' frequencies do not match their stems");
        }
        let stems = self.stems.len();
        let bad = self
            .in_passes(|i| self.article(i).any_term(|t| t as usize >= stems))
            .contains(&true);
        if bad {
            anyhow::bail!("a term count names a term that is not in the term list");
        }
        Ok(self)
    }
}

/// Each stem's place in the stems' alphabetical order: ties of weight are broken by stem, and
/// comparing these numbers instead of the strings is the same order at a fraction of the cost
/// (ties are many: every term seen once in as many articles).
pub(super) fn stem_ranks(stems: &[String]) -> Vec<u32> {
    let mut alphabetical: Vec<u32> = (0..stems.len() as u32).collect();
    alphabetical.par_sort_unstable_by(|&a, &b| stems[a as usize].cmp(&stems[b as usize]));
    let mut rank = vec![0u32; stems.len()];
    for (r, &t) in alphabetical.iter().enumerate() {
        rank[t as usize] = r as u32;
    }
    rank
}

/// An article's vector from its counts: each term weighed (sublinear term frequency times
/// inverse document frequency), the strongest `w.terms` kept, strongest first (ties by stem,
/// as `stem_order` orders two stem ids), L2-normalised.
pub(super) fn strongest(
    counts: &[(u32, f32)],
    df: &[u32],
    n: f32,
    w: &VectorWeights,
    stem_order: impl Fn(u32, u32) -> std::cmp::Ordering,
) -> Vec<(u32, f32)> {
    strongest_of(counts.iter().copied(), df, n, w, stem_order)
}

/// [`strongest`] of entries wherever they lie.
fn strongest_of(
    counts: impl Iterator<Item = (u32, f32)>,
    df: &[u32],
    n: f32,
    w: &VectorWeights,
    stem_order: impl Fn(u32, u32) -> std::cmp::Ordering,
) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = counts
        .map(|(t, f)| (t, (1.0 + f).ln() * (n / df[t as usize] as f32).ln()))
        // A term in every article tells nothing about which one is near.
        .filter(|&(_, x)| x > 0.0)
        .collect();
    // Strongest first, ties by stem: a total order, since stems are distinct, so selecting
    // the strongest before sorting only them gives what sorting all did; the full sort was
    // most of an update's time at 10,000 articles (see BENCHMARKS.md).
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(stem_order(a.0, b.0));
    if v.len() > w.terms && w.terms > 0 {
        v.select_nth_unstable_by(w.terms - 1, order);
    }
    v.truncate(w.terms);
    v.sort_by(order);
    let norm = v.iter().map(|&(_, x)| x * x).sum::<f32>().sqrt();
    for e in &mut v {
        e.1 /= norm;
    }
    v
}

/// Whether an article's vector `kept` (made by [`strongest`] from its `counts` with the same
/// number of articles `n`) can change when the stems `moved` take the document frequencies
/// `df`: when one of them is in it (its weight and the norm move), or would now rank before
/// the weakest term kept (or, with fewer terms kept than the cut, weigh more than nothing).
/// Otherwise every kept term has the count, frequency and so the weight it had, and nothing
/// else enters: the vector is the one [`strongest`] makes, bit for bit.
///
/// An edit that gave an article a common word (a stem in nine articles of ten) had every
/// article holding it weighed again, 90,000 at 100,000 articles (three quarters of that
/// update's time); such a word is in almost no article's strongest terms.
fn can_move(
    kept: &[(u32, f32)],
    counts: EntriesRef<'_>,
    moved: &[bool],
    df: &[u32],
    n: f32,
    w: &VectorWeights,
    stem_order: impl Fn(u32, u32) -> std::cmp::Ordering,
) -> bool {
    if kept.iter().any(|&(t, _)| moved[t as usize]) {
        return true;
    }
    // The weight and the order `strongest` gives.
    let weight = |t: u32, f: f32| (1.0 + f).ln() * (n / df[t as usize] as f32).ln();
    let before = |a: (u32, f32), b: (u32, f32)| {
        b.1.total_cmp(&a.1).then(stem_order(a.0, b.0)) == std::cmp::Ordering::Less
    };
    let mut entering = counts
        .iter()
        .filter(|&(t, _)| moved[t as usize])
        .map(|(t, f)| (t, weight(t, f)))
        .filter(|&(_, x)| x > 0.0);
    if kept.len() < w.terms {
        return entering.next().is_some();
    }
    let Some(&(weakest, _)) = kept.last() else {
        // No term is kept at all (a cut of none): nothing can enter.
        return false;
    };
    let Some((_, f)) = counts.iter().find(|&(t, _)| t == weakest) else {
        // A vector not made from these counts: weighed again rather than trusted.
        return true;
    };
    let cut = (weakest, weight(weakest, f));
    entering.any(|e| before(e, cut))
}

/// Equal when every article's vector holds the same stems with the same weights in the same
/// order: the ids are the counts' (an update's counts number stems in another order than a
/// build's), so they are compared by the stems they name.
impl PartialEq for ArticleVectors {
    fn eq(&self, other: &ArticleVectors) -> bool {
        self.len() == other.len()
            && (0..self.len() as u32).all(|id| {
                let (a, b) = (self.vector(id), other.vector(id));
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        x.1.to_bits() == y.1.to_bits()
                            && self.terms[x.0 as usize] == other.terms[y.0 as usize]
                    })
            })
    }
}

impl ArticleVectors {
    /// The vectors of `articles` (their bodies must be at hand: a library being built).
    pub fn build<A: std::borrow::Borrow<Article> + Sync>(
        articles: &[A],
        w: &VectorWeights,
    ) -> ArticleVectors {
        ArticleVectors::from_counts(&TermCounts::of(articles, w), w)
    }

    /// The vectors of the articles `counts` counts: the same, whichever way the counts were
    /// made (a build or an update), since only the counts and their order enter.
    pub fn from_counts(counts: &TermCounts, w: &VectorWeights) -> ArticleVectors {
        let n = counts.len() as f32;
        let rank = stem_ranks(&counts.stems);
        // Each article's strongest terms, weighed in parallel, a pass at a time: an update
        // that adds or removes an article weighs every one from the stored counts.
        let by_rank = |a: u32, b: u32| rank[a as usize].cmp(&rank[b as usize]);
        let vectors: Vec<Vec<(u32, f32)>> =
            counts.in_passes(|i| strongest_of(counts.article(i).iter(), &counts.df, n, w, by_rank));
        ArticleVectors::assemble(
            &counts.stems,
            counts.len(),
            vectors.iter().map(Vec::as_slice),
        )
    }

    /// The vectors [`ArticleVectors::from_counts`] makes of `new`, made from these (the
    /// vectors of `old`) in proportion to the change when the articles are the same ones
    /// (same number, same ids; `changed` the ids counted again, ascending): only the articles
    /// whose vector can have moved are weighed again: the changed ones, and those holding a
    /// stem whose document frequency changed when that stem is in their vector (its weight
    /// moves, and with it the norm) or now weighs enough to enter it ([`can_move`]). Any
    /// other change (an article added or removed moves every weight: the number of articles
    /// is in each) weighs every article.
    ///
    /// `new`'s stem ids must extend `old`'s (as [`TermCounts::remix`] gives them).
    pub fn updated(
        &self,
        old: &TermCounts,
        new: &TermCounts,
        changed: &[u32],
        w: &VectorWeights,
    ) -> ArticleVectors {
        let same_articles = old.len() == new.len() && self.len() == old.len();
        // These vectors' ids are `old`'s, and `old`'s are `new`'s first ones: checked, since
        // vectors read with counts of another making would be mixed up silently.
        let same_ids = self.terms.len() <= old.stems.len()
            && new.stems.get(..old.stems.len()) == Some(&old.stems[..])
            && self
                .terms
                .iter()
                .zip(&old.stems)
                .all(|(t, s)| t.is_empty() || t == s);
        if !same_articles || !same_ids {
            return ArticleVectors::from_counts(new, w);
        }
        // The stems whose document frequency moved: held by more (or fewer) of the changed
        // articles than before.
        let mut delta = vec![0i32; new.stems.len()];
        for &id in changed {
            for (t, _) in old.article(id as usize).iter() {
                delta[t as usize] -= 1;
            }
            for (t, _) in new.article(id as usize).iter() {
                delta[t as usize] += 1;
            }
        }
        let moved: Vec<bool> = delta.iter().map(|&d| d != 0).collect();
        drop(delta);
        let df = &new.df;
        let n = new.len() as f32;
        let stems = &new.stems;
        let by_stem = |a: u32, b: u32| stems[a as usize].cmp(&stems[b as usize]);
        let again: Vec<Option<Vec<(u32, f32)>>> = new.in_passes(|i| {
            let counts = new.article(i);
            let weigh = changed.binary_search(&(i as u32)).is_ok()
                || (counts.any_term(|t| moved[t as usize])
                    && can_move(self.vector(i as u32), counts, &moved, df, n, w, by_stem));
            weigh.then(|| strongest_of(counts.iter(), df, n, w, by_stem))
        });
        let mut out = ArticleVectors {
            terms: self.terms.clone(),
            blocks: Vec::with_capacity(self.blocks.len()),
            postings: Postings::default(),
        };
        out.terms.resize(new.stems.len(), String::new());
        for (b, block) in self.blocks.iter().enumerate() {
            let first = b * BLOCK;
            let weighed = &again[first..first + block.len()];
            if weighed.iter().all(Option::is_none) {
                out.blocks.push(Arc::clone(block));
                continue;
            }
            let mut made = Block::new();
            for (j, v) in weighed.iter().enumerate() {
                let v = v.as_deref().unwrap_or_else(|| block.vector(j));
                out.name_terms(&new.stems, v);
                made.push(v);
            }
            out.blocks.push(Arc::new(made));
        }
        out
    }

    /// The vectors of `articles` articles given as `(stem id, weight)` lists, strongest first,
    /// their ids naming `stems`.
    fn assemble<'a>(
        stems: &[String],
        articles: usize,
        vectors: impl Iterator<Item = &'a [(u32, f32)]>,
    ) -> ArticleVectors {
        let mut out = ArticleVectors::with_capacity(stems.len(), articles);
        out.extend(stems, vectors);
        out
    }

    /// No vectors yet, of ids naming `stems` stems, room for `articles`.
    pub(super) fn with_capacity(stems: usize, articles: usize) -> ArticleVectors {
        ArticleVectors {
            terms: vec![String::new(); stems],
            blocks: Vec::with_capacity(articles.div_ceil(BLOCK)),
            ..ArticleVectors::default()
        }
    }

    /// Appends the vectors of the next articles (see [`ArticleVectors::assemble`]).
    pub(super) fn extend<'a>(
        &mut self,
        stems: &[String],
        vectors: impl Iterator<Item = &'a [(u32, f32)]>,
    ) {
        for v in vectors {
            self.name_terms(stems, v);
            if self.blocks.last().is_none_or(|b| b.len() == BLOCK) {
                self.blocks.push(Arc::new(Block::new()));
            }
            let last = self.blocks.last_mut().expect("a block was just pushed");
            Arc::make_mut(last).push(v);
        }
    }

    /// Names the terms of vector `v` (ids naming `stems`) not named yet.
    fn name_terms(&mut self, stems: &[String], v: &[(u32, f32)]) {
        for &(t, _) in v {
            if self.terms[t as usize].is_empty() {
                self.terms[t as usize].clone_from(&stems[t as usize]);
            }
        }
    }

    /// The starts over every article and the entries, as one list each (the stored form).
    #[cfg(test)]
    fn flat(&self) -> (Vec<u32>, Vec<(u32, f32)>) {
        let entries: Vec<(u32, f32)> = self.entries().copied().collect();
        let mut starts = vec![0];
        for id in 0..self.len() as u32 {
            starts.push(starts.last().unwrap() + self.vector(id).len() as u32);
        }
        (starts, entries)
    }

    /// Every entry, block after block (article order).
    fn entries(&self) -> impl Iterator<Item = &(u32, f32)> {
        self.blocks.iter().flat_map(|b| b.entries.iter())
    }

    /// Checks vectors read back from `vectors.bin` (positions in range, term ids known): the
    /// inverted lists made from them later are then in range.
    pub(crate) fn checked(self) -> anyhow::Result<ArticleVectors> {
        let last = self.blocks.len().saturating_sub(1);
        let ordered = self.blocks.iter().enumerate().all(|(b, block)| {
            let starts = &block.starts;
            (b == last || block.len() == BLOCK)
                && block.len() > 0
                && starts.first() == Some(&0)
                && starts.windows(2).all(|w| w[0] <= w[1])
                && starts
                    .last()
                    .is_some_and(|&e| e as usize == block.entries.len())
        });
        if !ordered {
            anyhow::bail!("the article vectors' positions are out of order or out of range");
        }
        if self.entries().any(|&(t, _)| t as usize >= self.terms.len()) {
            anyhow::bail!("an article vector names a term that is not in the term list");
        }
        Ok(self)
    }

    /// The inverted lists, made on the first call (of vectors built or checked).
    fn postings(&self) -> &Lists {
        self.postings.0.get_or_init(|| {
            let mut starts = vec![0u32; self.terms.len() + 1];
            let mut total = 0;
            for &(t, _) in self.entries() {
                starts[t as usize + 1] += 1;
                total += 1;
            }
            for t in 0..self.terms.len() {
                starts[t + 1] += starts[t];
            }
            let mut next = starts.clone();
            let mut lists = vec![(0u32, 0f32); total];
            for a in 0..self.len() {
                for &(t, x) in self.vector(a as u32) {
                    let at = &mut next[t as usize];
                    lists[*at as usize] = (a as u32, x);
                    *at += 1;
                }
            }
            (starts, lists)
        })
    }

    /// The articles whose vector holds term `t`, with its weight there.
    fn posting<'a>(&self, postings: &'a Lists, t: u32) -> &'a [(u32, f32)] {
        let (starts, lists) = postings;
        let t = t as usize;
        match (starts.get(t), starts.get(t + 1)) {
            (Some(&s), Some(&e)) => &lists[s as usize..e as usize],
            _ => &[],
        }
    }

    /// Number of articles with a vector.
    pub fn len(&self) -> usize {
        self.blocks
            .last()
            .map_or(0, |b| (self.blocks.len() - 1) * BLOCK + b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Article `id`'s `(term id, weight)` entries (none for an id out of range).
    fn vector(&self, id: u32) -> &[(u32, f32)] {
        let i = id as usize;
        self.blocks
            .get(i / BLOCK)
            .map_or(&[], |b| b.vector(i % BLOCK))
    }

    /// Article `id`'s terms (stems) with their weights, strongest first.
    pub fn terms_of(&self, id: u32) -> Vec<(&str, f32)> {
        let mut v: Vec<(&str, f32)> = self
            .vector(id)
            .iter()
            .map(|&(t, x)| (self.terms[t as usize].as_str(), x))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// The cosine similarity of two articles' vectors.
    pub fn cosine(&self, a: u32, b: u32) -> f32 {
        let by_id = |id: u32| {
            let mut v = self.vector(id).to_vec();
            v.sort_by_key(|&(t, _)| t);
            v
        };
        let (x, y) = (by_id(a), by_id(b));
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < x.len() && j < y.len() {
            match x[i].0.cmp(&y[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += x[i].1 * y[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// At most `limit` other articles sharing a term with `id`, most similar first (cosine;
    /// ties by article id), with their similarity.
    pub fn nearest(&self, id: u32, limit: usize) -> Vec<(u32, f32)> {
        let mut acc: FxHashMap<u32, f32> = FxHashMap::default();
        let postings = self.postings();
        for &(t, x) in self.vector(id) {
            for &(a, y) in self.posting(postings, t) {
                if a != id {
                    *acc.entry(a).or_default() += x * y;
                }
            }
        }
        best_first(acc.into_iter().filter(|&(_, s)| s > 0.0).collect(), limit)
    }
}

/// The head of `vectors.bin`: the format's own tag, then the numbers of articles, terms and
/// entries (so that a file of another library's size is noticed when it is mapped, before
/// anything is decoded).
const VECTORS_MAGIC: &[u8; 8] = b"ABVEC001";

/// What errors call `vectors.bin`.
const VECTORS_FILE: &str = "vectors.bin";

impl ArticleVectors {
    /// The vectors as `vectors.bin` holds them: [`VECTORS_MAGIC`], the numbers of articles,
    /// terms and entries (u32 each, little-endian), each term (its length, then its bytes),
    /// the articles' starts, then the entries (term id and weight bits), fixed-width so that
    /// reading them back is a copy, not a decoding of varints.
    pub(super) fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let n = |x: usize| u32::try_from(x).map_err(std::io::Error::other);
        out.write_all(VECTORS_MAGIC)?;
        let entries: usize = self.blocks.iter().map(|b| b.entries.len()).sum();
        for count in [self.len(), self.terms.len(), entries] {
            out.write_all(&n(count)?.to_le_bytes())?;
        }
        for t in &self.terms {
            out.write_all(&n(t.len())?.to_le_bytes())?;
            out.write_all(t.as_bytes())?;
        }
        // The starts as one list over every article: each block's own, past the entries of
        // the blocks before it. Encoded a block at a time rather than a number at a time.
        let mut bytes = Vec::with_capacity(BLOCK * 4 + 4);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        out.write_all(&bytes)?;
        let mut before = 0u32;
        for b in &self.blocks {
            bytes.clear();
            for s in &b.starts[1..] {
                bytes.extend_from_slice(&(before + s).to_le_bytes());
            }
            out.write_all(&bytes)?;
            before += n(b.entries.len())?;
        }
        for b in &self.blocks {
            bytes.clear();
            bytes.reserve(b.entries.len() * ENTRY_BYTES);
            for &(t, x) in &b.entries {
                bytes.extend_from_slice(&t.to_le_bytes());
                bytes.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            out.write_all(&bytes)?;
        }
        Ok(())
    }

    /// The number of articles `vectors.bin`'s bytes say they hold, from its head and its
    /// terms' lengths, which must account for the file's length: a file cut short or grown
    /// (a crash while it was written, say) is refused at open, and the folder built again,
    /// rather than found wanting by the first `related` of every start to come.
    pub(super) fn stored_len(bytes: &[u8]) -> anyhow::Result<usize> {
        let mut r = ByteReader::new(bytes, 0, VECTORS_FILE);
        if r.take(8)? != VECTORS_MAGIC {
            anyhow::bail!("not a file of article vectors");
        }
        let (articles, terms, entries) = (r.u32()? as usize, r.u32()? as usize, r.u32()? as usize);
        for _ in 0..terms {
            let len = r.u32()? as usize;
            r.take(len)?;
        }
        let rest = (articles as u64 + 1) * 4 + entries as u64 * ENTRY_BYTES as u64;
        if (bytes.len() - r.at) as u64 != rest {
            anyhow::bail!(
                "the article vectors take {} bytes where their head accounts for {}",
                bytes.len(),
                r.at as u64 + rest
            );
        }
        Ok(articles)
    }

    /// The vectors [`ArticleVectors::write_to`] wrote, checked ([`ArticleVectors::checked`]).
    pub(super) fn read_from(bytes: &[u8]) -> anyhow::Result<ArticleVectors> {
        let mut r = ByteReader::new(bytes, 0, VECTORS_FILE);
        if r.take(8)? != VECTORS_MAGIC {
            anyhow::bail!("not a file of article vectors");
        }
        let (articles, terms, entries) = (r.u32()? as usize, r.u32()? as usize, r.u32()? as usize);
        // Each count is bounded by the bytes left before anything is sized by it.
        let mut names = Vec::with_capacity(terms.min(bytes.len() / 4));
        for _ in 0..terms {
            names.push(r.string()?);
        }
        let starts = r.u32s(articles.saturating_add(1))?;
        let bytes = r.take(entries.saturating_mul(ENTRY_BYTES))?;
        if !r.at_end() {
            anyhow::bail!("the article vectors are followed by bytes they do not account for");
        }
        // Checked before they cut the entries into blocks (each block's are checked again).
        let ordered = starts.first() == Some(&0)
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts.last().is_some_and(|&e| e as usize == entries);
        if !ordered {
            anyhow::bail!("the article vectors' positions are out of order or out of range");
        }
        let blocks = starts[..articles]
            .chunks(BLOCK)
            .enumerate()
            .map(|(b, block)| {
                let first = block[0];
                let end = starts[b * BLOCK + block.len()];
                let mut starts: Vec<u32> = block.iter().map(|s| s - first).collect();
                starts.push(end - first);
                let entries = bytes[first as usize * ENTRY_BYTES..end as usize * ENTRY_BYTES]
                    .chunks_exact(ENTRY_BYTES)
                    .map(entry)
                    .collect();
                Arc::new(Block { starts, entries })
            })
            .collect();
        ArticleVectors {
            terms: names,
            blocks,
            postings: Postings::default(),
        }
        .checked()
    }
}

/// A library's [`ArticleVectors`]: in memory (a library built or updated in this process),
/// or `vectors.bin` mapped and decoded by the first use (a library opened from its folder).
/// Only `related` and an update read them, and decoding them was a sixth of the time from
/// start to the first answer at 10,000 articles (80 MB in memory at 100,000; BENCHMARKS.md,
/// issue 18). Read through `Deref`.
pub struct RelatedVectors {
    ready: OnceLock<ArticleVectors>,
    /// The mapped file, until the first use decodes it and lets it go.
    mapped: Mutex<Option<MappedVectors>>,
}

/// `vectors.bin` mapped, with its path for the error a bad file gives.
struct MappedVectors {
    map: memmap2::Mmap,
    path: PathBuf,
}

impl RelatedVectors {
    /// Vectors held in memory.
    pub(super) fn held(vectors: ArticleVectors) -> RelatedVectors {
        RelatedVectors {
            ready: OnceLock::from(vectors),
            mapped: Mutex::new(None),
        }
    }

    /// `path` mapped, to be decoded on first use; fails when the file is missing or does not
    /// hold `articles` articles' vectors (what a damaged folder gives is then a rebuild, as
    /// for `library.bin` itself).
    pub(super) fn mapped(path: &Path, articles: usize) -> anyhow::Result<RelatedVectors> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: `vectors.bin` is never written once made: each is written anew into a
        // staging folder and replaced by unlinking (a mapping keeps its inode), and the index
        // folder is the bot's own (`staging::check_index_folder`); `counts.bin` and tantivy's
        // segments are mapped on the same terms.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("cannot map {}", path.display()))?;
        let held = ArticleVectors::stored_len(&map).with_context(|| path.display().to_string())?;
        if held != articles {
            anyhow::bail!(
                "{} holds {held} articles' vectors, library.bin {articles} articles",
                path.display()
            );
        }
        Ok(RelatedVectors {
            ready: OnceLock::new(),
            mapped: Mutex::new(Some(MappedVectors {
                map,
                path: path.to_path_buf(),
            })),
        })
    }

    /// Whether the vectors are in memory (decoded already, or never stored).
    pub fn is_loaded(&self) -> bool {
        self.ready.get().is_some()
    }
}

impl std::ops::Deref for RelatedVectors {
    type Target = ArticleVectors;

    /// The vectors, decoded by the first use. A file that cannot be decoded (changed behind
    /// the library's back: its head was checked at open) gives no vectors, with an error in
    /// the log: `related` finds nothing, the next update weighs every article again.
    fn deref(&self) -> &ArticleVectors {
        self.ready.get_or_init(|| {
            let mapped = self
                .mapped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let Some(m) = mapped else {
                return ArticleVectors::default();
            };
            ArticleVectors::read_from(&m.map).unwrap_or_else(|e| {
                tracing::error!(
                    "{}: cannot read the article vectors: {e:#}",
                    m.path.display()
                );
                ArticleVectors::default()
            })
        })
    }
}

impl PartialEq for RelatedVectors {
    fn eq(&self, other: &RelatedVectors) -> bool {
        **self == **other
    }
}

impl PartialEq<ArticleVectors> for RelatedVectors {
    fn eq(&self, other: &ArticleVectors) -> bool {
        **self == *other
    }
}

impl std::fmt::Debug for RelatedVectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ready.get() {
            Some(v) => f
                .debug_struct("RelatedVectors")
                .field("articles", &v.len())
                .finish(),
            None => f.write_str("RelatedVectors(<mapped, not read yet>)"),
        }
    }
}

/// The `limit` best of `hits` (article, score), best first, ties by article id: selected
/// before they are sorted, since a collection has far more candidates than an answer shows.
pub(crate) fn best_first(mut hits: Vec<(u32, f32)>, limit: usize) -> Vec<(u32, f32)> {
    let by_score = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if hits.len() > limit && limit > 0 {
        hits.select_nth_unstable_by(limit - 1, by_score);
    }
    hits.truncate(limit);
    hits.sort_by(by_score);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{self, Format};
    use crate::library::counting::{put_entry, CountingToFile};
    use std::path::PathBuf;

    fn article(name: &str, source: &str) -> Article {
        let settings = crate::config::Settings::for_content(".").content;
        content::parse_article(
            &settings,
            &PathBuf::from(format!("{name}.md")),
            Format::Markdown,
            source,
        )
        .unwrap()
    }

    fn collection() -> Vec<Article> {
        vec![
            article(
                "bees",
                "# Honey bees\n\nBees make honey from nectar. A hive of bees keeps a queen.\n",
            ),
            article(
                "wasps",
                "# Wasps\n\nWasps build nests of paper. Unlike bees, wasps make no honey.\n",
            ),
            article(
                "trains",
                "# Night trains\n\nSleeper trains cross Europe at night. Book a couchette.\n",
            ),
            article(
                "rails",
                "# Rail gauges\n\nTrains in Spain ran on a broad gauge; Europe mostly uses standard gauge.\n",
            ),
        ]
    }

    #[test]
    fn vectors_are_unit_length_and_cut_to_the_strongest_terms() {
        let arts = collection();
        let v = ArticleVectors::build(&arts, &VectorWeights::default());
        assert_eq!(v.len(), 4);
        for id in 0..4 {
            let norm: f32 = v.terms_of(id).iter().map(|(_, x)| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-4, "article {id}: {norm}");
            assert!((v.cosine(id, id) - 1.0).abs() < 1e-4);
        }
        let short = ArticleVectors::build(
            &arts,
            &VectorWeights {
                terms: 2,
                ..VectorWeights::default()
            },
        );
        assert!((0..4).all(|id| short.terms_of(id).len() == 2));
        // The title counts more than the body: "honey" (title and body) outweighs "hive".
        let bees = v.terms_of(0);
        let weight = |s: &str| bees.iter().find(|(t, _)| *t == s).map(|x| x.1);
        assert!(
            weight("honey").unwrap() > weight("hive").unwrap(),
            "{bees:?}"
        );
    }

    #[test]
    fn nearest_finds_the_article_on_the_same_subject() {
        let v = ArticleVectors::build(&collection(), &VectorWeights::default());
        assert_eq!(v.nearest(0, 1)[0].0, 1, "bees -> wasps");
        assert_eq!(v.nearest(2, 1)[0].0, 3, "night trains -> rail gauges");
        let all = v.nearest(1, 10);
        assert!(all.iter().all(|&(a, _)| a != 1), "never itself");
        assert!(all.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
        // Nearest agrees with the pairwise cosine.
        for &(a, s) in &all {
            assert!((s - v.cosine(1, a)).abs() < 1e-5);
        }
    }

    #[test]
    fn updated_vectors_are_the_ones_made_whole() {
        let w = VectorWeights {
            terms: 3,
            ..VectorWeights::default()
        };
        let old = collection();
        let old_counts = TermCounts::of(&old, &w);
        let vectors = ArticleVectors::from_counts(&old_counts, &w);
        // An edit that adds a new stem and a shared one ("honey": its weight moves in every
        // article that has it) and drops one ("night").
        let mut new = old.clone();
        new[2] = article(
            "trains",
            "# Sleeper trains\n\nSleeper trains carry honey across Europe. Book a glacier couchette.\n",
        );
        let order: Vec<Result<u32, &Article>> = vec![Ok(0), Ok(1), Err(&new[2]), Ok(3)];
        let new_counts = old_counts.remix(&order, &w);
        let updated = vectors.updated(&old_counts, &new_counts, &[2], &w);
        let whole = ArticleVectors::from_counts(&TermCounts::of(&new, &w), &w);
        assert_eq!(updated, whole);
        assert_ne!(updated, vectors, "the edit moved some vector");
        for id in 0..4 {
            assert_eq!(updated.nearest(id, 3), whole.nearest(id, 3));
            assert_eq!(updated.terms_of(id), whole.terms_of(id));
        }
        // Counts that do not extend the vectors' own are not mixed with them.
        let other = TermCounts::of(&[new[3].clone(), new[0].clone()], &w);
        let fallback = vectors.updated(&other, &other, &[0], &w);
        assert_eq!(fallback, ArticleVectors::from_counts(&other, &w));
    }

    /// An update's vectors share the blocks it weighed no article of with the vectors it
    /// started from (a copy of each was a third of a reload's peak memory at 100,000
    /// articles), and answer, and are written, as vectors made whole.
    #[test]
    fn updated_vectors_share_the_blocks_they_did_not_weigh_again() {
        let w = VectorWeights::default();
        // Letters only: a term is no number.
        let name = |prefix: char, mut i: usize| -> String {
            let mut s = String::from(prefix);
            for _ in 0..3 {
                s.push((b'a' + (i % 26) as u8) as char);
                i /= 26;
            }
            s
        };
        // Words of each article's own and one all of them hold (weighed nothing): an edit
        // moves the frequencies of the edited article's words only.
        let text = |i: usize| {
            format!(
                "# {}\n\nShared {} {} and {}.\n",
                name('w', i),
                name('w', i),
                name('v', i),
                name('u', i)
            )
        };
        let n = 2 * BLOCK + 100;
        let old: Vec<Article> = (0..n)
            .map(|i| article(&format!("a{i}"), &text(i)))
            .collect();
        let old_counts = TermCounts::of(&old, &w);
        let vectors = ArticleVectors::from_counts(&old_counts, &w);
        assert_eq!(vectors.blocks.len(), 3);
        assert_eq!(vectors.len(), n);
        let edited = BLOCK + 5;
        let mut new = old.clone();
        new[edited] = article(
            &format!("a{edited}"),
            "# Glacier\n\nShared glacier couchette.\n",
        );
        let order: Vec<Result<u32, &Article>> = (0..n)
            .map(|i| {
                if i == edited {
                    Err(&new[i])
                } else {
                    Ok(i as u32)
                }
            })
            .collect();
        let new_counts = old_counts.remix(&order, &w);
        let updated = vectors.updated(&old_counts, &new_counts, &[edited as u32], &w);
        let whole = ArticleVectors::from_counts(&TermCounts::of(&new, &w), &w);
        assert_eq!(updated, whole);
        assert!(Arc::ptr_eq(&updated.blocks[0], &vectors.blocks[0]));
        assert!(!Arc::ptr_eq(&updated.blocks[1], &vectors.blocks[1]));
        assert!(Arc::ptr_eq(&updated.blocks[2], &vectors.blocks[2]));
        for id in [0, BLOCK as u32 - 1, edited as u32, n as u32 - 1] {
            assert_eq!(updated.nearest(id, 3), whole.nearest(id, 3));
            assert_eq!(updated.terms_of(id), whole.terms_of(id));
        }
        // Written and read back, blocks and all, they are the same vectors.
        let mut bytes = Vec::new();
        updated.write_to(&mut bytes).unwrap();
        assert_eq!(ArticleVectors::stored_len(&bytes).unwrap(), n);
        let read = ArticleVectors::read_from(&bytes).unwrap();
        assert_eq!(read.flat(), updated.flat());
        assert_eq!(read, whole);
    }

    #[test]
    fn vectors_kept_past_a_moved_frequency_are_the_ones_made_whole() {
        // Edits that move a stem held by most articles ("honey", "train", "europ"), make one
        // held by all (its weight falls to nothing) and then by all but one (it weighs again
        // in articles that could not keep it), or leave it in one: the articles not weighed
        // again must hold what a weighing gives, with cuts of none to 4 terms and 100.
        let base = collection();
        let names = ["bees", "wasps", "trains", "rails"];
        let edits: [(usize, &str); 7] = [
            (
                1,
                "# Wasps\n\nWasps build nests of paper near trains in Europe; no honey.\n",
            ),
            (
                0,
                "# Honey bees\n\nBees make honey. A hive of bees rides trains.\n",
            ),
            (
                1,
                "# Wasps\n\nWasps build nests of paper near Europe; no honey.\n",
            ),
            (1, "# Wasps\n\nWasps build nests.\n"),
            (
                1,
                "# Wasps\n\nHoney, trains, Europe, gauge, bees, hive, nectar, night.\n",
            ),
            (1, "# Wasps\n\nWasps and honey and a couchette, in Spain.\n"),
            (
                1,
                "# Wasps\n\nWasps and trains and honey and a couchette, in Spain.\n",
            ),
        ];
        for terms in [0, 1, 2, 3, 4, 100] {
            let w = VectorWeights {
                terms,
                ..VectorWeights::default()
            };
            let mut old = base.clone();
            let mut old_counts = TermCounts::of(&old, &w);
            let mut vectors = ArticleVectors::from_counts(&old_counts, &w);
            for (k, &(id, text)) in edits.iter().enumerate() {
                let mut new = old.clone();
                new[id] = article(names[id], text);
                let order: Vec<Result<u32, &Article>> = (0..4u32)
                    .map(|i| {
                        if i as usize == id {
                            Err(&new[id])
                        } else {
                            Ok(i)
                        }
                    })
                    .collect();
                let new_counts = old_counts.remix(&order, &w);
                let updated = vectors.updated(&old_counts, &new_counts, &[id as u32], &w);
                let whole = ArticleVectors::from_counts(&TermCounts::of(&new, &w), &w);
                assert_eq!(updated, whole, "{terms} terms, edit {k}");
                (old, old_counts, vectors) = (new, new_counts, updated);
            }
        }
    }

    #[test]
    fn counts_written_to_a_file_weigh_the_vectors_held_counts_do() {
        let arts = collection();
        let w = VectorWeights {
            terms: 3,
            ..VectorWeights::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut counting = CountingToFile::create(&dir.path().join("spill"), w).unwrap();
        // In batches, as a streamed build counts (with the texts analysed for the index).
        counting.add_analysed(&arts[..1]).unwrap();
        counting.add_analysed(&arts[1..]).unwrap();
        let spilled = counting.finish().unwrap();
        let held = TermCounts::of(&arts, &w);
        assert_eq!(spilled.stems, held.stems);
        assert_eq!(spilled.df, held.df);
        let lens: Vec<u32> = (0..held.len())
            .map(|i| held.article(i).len() as u32)
            .collect();
        assert_eq!(spilled.lens, lens);
        let mut entries = Vec::new();
        for e in (0..held.len()).flat_map(|i| held.article(i).iter()) {
            put_entry(&mut entries, e).unwrap();
        }
        assert_eq!(std::fs::read(&spilled.path).unwrap(), entries);
        let vectors = spilled.vectors(&w).unwrap();
        assert_eq!(vectors, ArticleVectors::from_counts(&held, &w));
        assert_eq!(
            vectors.flat(),
            ArticleVectors::from_counts(&held, &w).flat()
        );
        // A file cut short is an error, not vectors of part of the collection.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&spilled.path)
            .unwrap();
        f.set_len(entries.len() as u64 - 8).unwrap();
        assert!(spilled.vectors(&w).is_err());
    }

    #[test]
    fn read_back_vectors_answer_the_same() {
        let built = ArticleVectors::build(&collection(), &VectorWeights::default());
        let mut bytes = Vec::new();
        built.write_to(&mut bytes).unwrap();
        assert_eq!(ArticleVectors::stored_len(&bytes).unwrap(), built.len());
        let read = ArticleVectors::read_from(&bytes).unwrap();
        assert!(read.cosine(0, 1) > 0.0, "the vectors themselves are there");
        assert_eq!(read.flat(), built.flat(), "the weights bit for bit");
        assert_eq!(read.terms, built.terms);
        assert!(
            read.postings.0.get().is_none(),
            "no lists before the first use"
        );
        assert_eq!(read, built);
        for id in 0..4 {
            assert!(!read.nearest(id, 3).is_empty());
            assert_eq!(read.nearest(id, 3), built.nearest(id, 3));
        }
        assert!(read.postings.0.get().is_some());
        // A damaged file is refused, not trusted.
        let mut bad = built.clone();
        let terms = bad.terms.len() as u32;
        Arc::make_mut(&mut bad.blocks[0]).entries[0].0 = terms;
        assert!(bad.checked().is_err());
        let mut bad = built.clone();
        let block = Arc::make_mut(&mut bad.blocks[0]);
        block.starts[1] = block.entries.len() as u32 + 1;
        assert!(bad.checked().is_err());
        // So is a file cut short, one with bytes after the entries, or another kind of file.
        assert!(ArticleVectors::read_from(&bytes[..bytes.len() - 1]).is_err());
        let longer = [&bytes[..], &[0]].concat();
        assert!(ArticleVectors::read_from(&longer).is_err());
        // ...and refused by the head's check at open too.
        assert!(ArticleVectors::stored_len(&bytes[..bytes.len() - 1]).is_err());
        assert!(ArticleVectors::stored_len(&longer).is_err());
        assert!(ArticleVectors::stored_len(b"ABCNTS01\x01\0\0\0").is_err());
        // No vectors at all read back as none.
        let mut none = Vec::new();
        ArticleVectors::default().write_to(&mut none).unwrap();
        assert!(ArticleVectors::read_from(&none).unwrap().is_empty());
        let mut empty = Vec::new();
        ArticleVectors::with_capacity(0, 0)
            .write_to(&mut empty)
            .unwrap();
        assert_eq!(empty, none);
    }
}
