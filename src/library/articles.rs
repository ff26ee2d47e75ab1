//! [`Articles`]: a library's articles, held in memory (a build's, an update's) or read from
//! `library.bin` one record at a time on first use (a library opened from its folder).
//!
//! Decoding every article at open (2.2 M strings at 100,000 articles) was most of the CPU from
//! start to the first answer, which reads a handful of them (BENCHMARKS.md, issue 18). An
//! opened library decodes an article the first time it is indexed (`articles[id]`,
//! [`Library::article`](super::Library::article)); the name index's thread decodes the rest in
//! the background ([`Articles::all_in_turn`]), and whatever reads them all (`Deref` to a
//! slice: an update, `iter()`) decodes what is left on every core. Either way an article is
//! decoded once, into one `Arc`, shared by every reader and by the libraries an update makes.
//!
//! `library.bin`'s records are checked whole at open (their BLAKE3, sealed with the keys and
//! the length of `articles.bin` their decoding relies on, against the one written with them),
//! so a damaged file is refused and built again as before; a record that then fails to
//! decode is a bug in its writer (or a file forged with a hash to match: the index folder is
//! the bot's own), not damage, and panics naming it.

use std::ops::{Deref, Index};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon::prelude::*;

use crate::content::{Article, BodyFile};

/// A library's articles, cheap to clone (the clones share the decoded articles).
#[derive(Clone)]
pub struct Articles(Arc<Shared>);

struct Shared {
    len: usize,
    /// Each article once decoded (empty when they were held from the start).
    slots: Vec<OnceLock<Arc<Article>>>,
    /// Every article, in order: set from the start when held, or once all are decoded.
    all: OnceLock<Vec<Arc<Article>>>,
    /// Where the undecoded articles are read from; let go once every one is decoded.
    records: Mutex<Option<Arc<Records>>>,
}

/// `library.bin`'s article records, mapped, and the file their bodies are read from.
pub(super) struct Records {
    map: memmap2::Mmap,
    /// Record `i` is `map[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    bodies: Arc<BodyFile>,
    bodies_len: u64,
}

impl Records {
    /// `map`'s records, whose lengths are `lens` (checked against the map by the caller),
    /// their bodies in `bodies` of `bodies_len` bytes.
    pub(super) fn new(
        map: memmap2::Mmap,
        lens: &[u32],
        bodies: Arc<BodyFile>,
        bodies_len: u64,
    ) -> Records {
        let mut starts = Vec::with_capacity(lens.len() + 1);
        let mut at = 0usize;
        starts.push(at);
        for &l in lens {
            at += l as usize;
            starts.push(at);
        }
        Records {
            map,
            starts,
            bodies,
            bodies_len,
        }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn decode(&self, i: usize) -> Article {
        let bytes = &self.map[self.starts[i]..self.starts[i + 1]];
        let mut article: Article = postcard::from_bytes(bytes)
            .unwrap_or_else(|e| panic!("library.bin's record {i}, checked at open: {e}"));
        attach(&self.bodies, &mut article, self.bodies_len)
            .unwrap_or_else(|e| panic!("library.bin's record {i}, checked at open: {e:#}"));
        article
    }
}

impl Articles {
    /// Articles in hand.
    pub(super) fn held(articles: Vec<Arc<Article>>) -> Articles {
        Articles(Arc::new(Shared {
            len: articles.len(),
            slots: Vec::new(),
            all: OnceLock::from(articles),
            records: Mutex::new(None),
        }))
    }

    /// Articles decoded from `records` on first use.
    pub(super) fn stored(records: Records) -> Articles {
        let len = records.len();
        Articles(Arc::new(Shared {
            len,
            slots: (0..len).map(|_| OnceLock::new()).collect(),
            all: OnceLock::new(),
            records: Mutex::new(Some(Arc::new(records))),
        }))
    }

    pub fn len(&self) -> usize {
        self.0.len
    }

    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// Article `i` (decoded now if it was not yet). Panics when `i` is out of range.
    pub fn get(&self, i: usize) -> &Arc<Article> {
        if let Some(all) = self.0.all.get() {
            return &all[i];
        }
        let slot = &self.0.slots[i];
        if let Some(a) = slot.get() {
            return a;
        }
        let records = self.records();
        self.decoded(i, records.as_deref())
    }

    /// The file the articles' stored parts are read from, if any, without decoding them all.
    pub(super) fn body_file(&self) -> Option<Arc<BodyFile>> {
        if let Some(r) = self.records() {
            return Some(r.bodies.clone());
        }
        body_file(self).cloned()
    }

    /// How many articles are decoded.
    #[cfg(test)]
    pub(super) fn decoded_count(&self) -> usize {
        match self.0.all.get() {
            Some(all) => all.len(),
            None => self.0.slots.iter().filter(|s| s.get().is_some()).count(),
        }
    }

    /// Every article, decoded on this thread alone where not yet (the name index's thread:
    /// the first answers keep the other cores).
    pub(super) fn all_in_turn(&self) -> &[Arc<Article>] {
        self.all_with(false)
    }

    fn records(&self) -> Option<Arc<Records>> {
        self.0
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn decoded(&self, i: usize, records: Option<&Records>) -> &Arc<Article> {
        let slot = &self.0.slots[i];
        if let Some(a) = slot.get() {
            return a;
        }
        // Decoded outside the slot's lock, then put in it unless another thread was first
        // (whose `Arc` every reader then shares): a thread never waits for another's decoding,
        // as it would behind the name index's thread, which runs at a low priority.
        let records = records.expect("an undecoded article has its records");
        let _ = slot.set(Arc::new(records.decode(i)));
        slot.get().expect("set just above")
    }

    fn all_with(&self, every_core: bool) -> &[Arc<Article>] {
        if let Some(all) = self.0.all.get() {
            return all;
        }
        let records = self.records();
        let records = records.as_deref();
        let all: Vec<Arc<Article>> = if every_core {
            (0..self.0.len)
                .into_par_iter()
                .map(|i| self.decoded(i, records).clone())
                .collect()
        } else {
            (0..self.0.len)
                .map(|i| self.decoded(i, records).clone())
                .collect()
        };
        // Another thread may have set it meanwhile: the same `Arc`s, from the same slots.
        let _ = self.0.all.set(all);
        *self
            .0
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.0.all.get().expect("set just above")
    }
}

/// Every article, in order, decoded on every core where not yet.
impl Deref for Articles {
    type Target = [Arc<Article>];

    fn deref(&self) -> &[Arc<Article>] {
        self.all_with(true)
    }
}

/// Article `i`, decoded alone when it was not yet.
impl Index<usize> for Articles {
    type Output = Arc<Article>;

    fn index(&self, i: usize) -> &Arc<Article> {
        self.get(i)
    }
}

impl<'a> IntoIterator for &'a Articles {
    type Item = &'a Arc<Article>;
    type IntoIter = std::slice::Iter<'a, Arc<Article>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Articles {
    fn eq(&self, other: &Articles) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<Arc<Article>>> for Articles {
    fn eq(&self, other: &Vec<Arc<Article>>) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Articles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The file of article bodies the articles' stored parts are read from (every part of a
/// library opened or updated from a folder is read from the one file), if any.
pub(super) fn body_file(articles: &[Arc<Article>]) -> Option<&Arc<BodyFile>> {
    articles.iter().find_map(|a| {
        let mut parts = a.sections.iter().map(|s| s.blocks.file());
        parts.find_map(|f| f).or_else(|| a.takeaways.file())
    })
}

/// Gives the stored parts of `a` their file, `articles.bin` of `expected` bytes; fails when a
/// part lies beyond its end.
pub(super) fn attach(file: &Arc<BodyFile>, a: &mut Article, expected: u64) -> anyhow::Result<()> {
    let parts = a.sections.iter().map(|s| s.blocks.position());
    for (offset, len) in parts.chain([a.takeaways.position()]).flatten() {
        if offset
            .checked_add(u64::from(len))
            .is_none_or(|end| end > expected)
        {
            anyhow::bail!(
                "library.bin points past the end of {}",
                file.path().display()
            );
        }
    }
    for s in &mut a.sections {
        s.blocks.attach(file);
    }
    a.takeaways.attach(file);
    Ok(())
}
