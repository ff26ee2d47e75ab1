//! Counting each article's weighted terms for the related vectors: a word's stem counted at
//! its place's weight (title, tags, headings, body), made in parallel a batch at a time and
//! either held ([`Counting`]) or written to a file as it goes ([`CountingToFile`], a streamed
//! build's way at 100,000 articles). [`super::vectors`] weighs the vectors from these counts.

use std::borrow::Borrow;
use std::cell::RefCell;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::vectors::{stem_ranks, strongest, ArticleVectors, TermCounts, VectorWeights};
use crate::content::Article;
use crate::index::{AnalysedArticle, Part, Stems};
use crate::text;
use crate::text::cache::{HotWords, InlineWord};

/// Whether a word is a term at all: not a stop word, not a number, longer than two letters.
fn is_term(lower: &str) -> bool {
    lower.len() > 2 && !text::is_stop_word(lower) && !lower.chars().all(|c| c.is_ascii_digit())
}

/// Words a counting thread remembers before it starts over: a collection's working
/// vocabulary fits, and the memory stays bounded (a few megabytes per thread).
const WORDS_CACHED: usize = 100_000;

/// What a counting thread knows of a word as written: its stem (the index's term for it)
/// and whether it is a term of the counts ([`is_term`]).
#[derive(Clone, Copy, Default)]
struct Known<S> {
    stem: S,
    term: bool,
}

/// Slots of a counting thread's table of common words: every word of every text is looked up
/// there first, and at 100,000 articles the look-ups that missed it and went on to the whole
/// vocabulary's table were 6% of a build (BENCHMARKS.md, issue 18). 16,384 slots of 56
/// bytes are 0.9 MB a thread.
const HOT_WORDS: usize = 16_384;

/// The words a counting thread met, as written, with what it knows of them: nearly every word
/// held inline ([`InlineWord`]: a look-up compares where the table holds the key), longer ones
/// on the heap, and the common words also in a small table of their own ([`HotWords`]) that
/// stays in the processor's cache.
#[derive(Default)]
struct WordCache {
    hot: HotWords<Known<InlineWord>, HOT_WORDS>,
    short: FxHashMap<InlineWord, Known<Stem>>,
    long: FxHashMap<Box<str>, Known<Stem>>,
}

/// A stem as [`WordCache`] holds it and as an article's counts key it: held inline when it
/// fits ([`InlineWord`], as nearly every stem does), so that counting a term allocates
/// nothing. Hashed as its `str`, so that a map of them is laid out, and iterates, as the map of
/// `String`s that counting built before (whose order the term ids follow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stem {
    /// Only a stem [`InlineWord`] cannot hold is `Long` (one form per stem: equal stems are
    /// equal values).
    Short(InlineWord),
    Long(Box<str>),
}

impl std::hash::Hash for Stem {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Stem {
    fn of(stem: String) -> Stem {
        match InlineWord::new(&stem) {
            Some(inline) => Stem::Short(inline),
            None => Stem::Long(stem.into_boxed_str()),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            Stem::Short(s) => s.as_str(),
            Stem::Long(s) => s,
        }
    }
}

impl WordCache {
    /// The stem of the word `raw` (as written; `key` when it is held inline) and whether it is
    /// a term, from the tables behind the hot one, which it then holds too when it fits.
    fn known(&mut self, raw: &str, key: Option<InlineWord>) -> Known<&Stem> {
        if self.short.len() + self.long.len() >= WORDS_CACHED {
            self.short.clear();
            self.long.clear();
        }
        let known = match key {
            Some(key) => {
                let known = self.short.entry(key).or_insert_with(|| known_of(raw));
                if let Stem::Short(stem) = known.stem {
                    let term = known.term;
                    self.hot.put(key, Known { stem, term });
                }
                known
            }
            None => {
                if !self.long.contains_key(raw) {
                    self.long.insert(raw.into(), known_of(raw));
                }
                &self.long[raw]
            }
        };
        Known {
            stem: &known.stem,
            term: known.term,
        }
    }
}

thread_local! {
    // What each word a counting thread met is. Counting read every word of every article
    // through `text::words` (a `Vec` of reference-counted forms per block, a stop-word search
    // and a `String` per word): 28% of a build's instructions (BENCHMARKS.md, issue 18). A word
    // recurs thousands of times; one look-up by the word as written now answers all of it.
    static WORDS: RefCell<WordCache> = RefCell::new(WordCache::default());
}

/// The stem of the word `raw` (as written), as [`text::words`] makes it (the index's
/// analyzer's, test-enforced in `text`), and whether [`is_term`] counts it.
fn known_of(raw: &str) -> Known<Stem> {
    let lower = text::lower(raw);
    Known {
        term: is_term(&lower),
        stem: Stem::of(text::stem(&lower)),
    }
}

/// Where the words of a text go besides the counts: the index's analysed text ([`Stems`]), or
/// nowhere.
trait WordSink {
    /// A word the analyzer keeps, as its stem.
    fn push(&mut self, stem: &str);
    /// A word the analyzer drops (too long).
    fn skip(&mut self);
}

impl WordSink for Stems {
    #[inline]
    fn push(&mut self, stem: &str) {
        Stems::push(self, stem);
    }

    #[inline]
    fn skip(&mut self) {
        Stems::skip(self);
    }
}

impl WordSink for () {
    #[inline]
    fn push(&mut self, _: &str) {}

    #[inline]
    fn skip(&mut self) {}
}

/// Adds each term of `text` at `weight` to `tf` (none at a weight of 0 or less) and each of
/// its words to `sink`: the words of [`text::words`] (the same spans and forms), counted in
/// their order, so that `tf` is the map, in its very order, that counting them one by one
/// gives.
fn add_words(
    text: &str,
    weight: f32,
    tf: &mut FxHashMap<Stem, f32>,
    cache: &mut WordCache,
    sink: &mut impl WordSink,
) {
    let counted = weight > 0.0;
    for span in text::word_spans(text) {
        if text::too_long(span.len()) {
            sink.skip();
            continue;
        }
        let raw = &text[span];
        let key = InlineWord::new(raw);
        let hot: Stem;
        let (stem, term) = match key.and_then(|k| cache.hot.get(&k)) {
            Some(known) => {
                hot = Stem::Short(known.stem);
                (&hot, known.term)
            }
            None => {
                let known = cache.known(raw, key);
                (known.stem, known.term)
            }
        };
        sink.push(stem.as_str());
        if !(counted && term) {
            continue;
        }
        // The count starts at the weight itself (`0.0 + weight` is `weight`, bit for bit).
        match tf.get_mut(stem) {
            Some(count) => *count += weight,
            None => {
                tf.insert(stem.clone(), weight);
            }
        }
    }
}

/// Each term of an article with its weighted count (title, tag and heading words counted at
/// their weights).
pub(super) fn term_counts(a: &Article, w: &VectorWeights) -> FxHashMap<Stem, f32> {
    let mut tf: FxHashMap<Stem, f32> = FxHashMap::default();
    WORDS.with(|cache| {
        let cache = &mut cache.borrow_mut();
        weighted_texts(a, w, |s, weight| {
            add_words(s, weight, &mut tf, cache, &mut ())
        });
    });
    tf
}

/// [`term_counts`] of an article, and its texts analysed for the index from the same words:
/// each text read once for both.
pub(super) fn analysed(a: &Article, w: &VectorWeights) -> (AnalysedArticle, FxHashMap<Stem, f32>) {
    let mut tf: FxHashMap<Stem, f32> = FxHashMap::default();
    let texts = WORDS.with(|cache| {
        let cache = &mut cache.borrow_mut();
        AnalysedArticle::of(a, |part, s, stems| {
            add_words(s, weight(part, w), &mut tf, cache, stems);
        })
    });
    (texts, tf)
}

/// What one occurrence of a word in `part` of an article counts: the title, tags and aliases,
/// headings at their weights, the blocks at 1, the summary not at all.
fn weight(part: Part, w: &VectorWeights) -> f32 {
    match part {
        Part::Title => w.title,
        Part::Summary => 0.0,
        Part::Tags => w.tags,
        Part::Heading => w.headings,
        Part::Body => 1.0,
    }
}

/// Each text of an article that counts, in order, with its [`weight`] (a weight of 0 or less
/// leaves that kind of text out).
fn weighted_texts(a: &Article, w: &VectorWeights, mut add: impl FnMut(&str, f32)) {
    let mut add = |part: Part, s: &str| {
        let weight = weight(part, w);
        if weight > 0.0 {
            add(s, weight);
        }
    };
    add(Part::Title, &a.title);
    for t in a.tags.iter().chain(&a.aliases) {
        add(Part::Tags, t);
    }
    for s in &a.sections {
        if let Some(h) = &s.heading {
            add(Part::Heading, h);
        }
        for b in s.blocks.iter() {
            add(Part::Body, &b.text);
        }
    }
}

/// Each article's term counts, in parallel.
fn count<A: Borrow<Article> + Sync>(
    articles: &[A],
    w: &VectorWeights,
) -> Vec<FxHashMap<Stem, f32>> {
    articles
        .par_iter()
        .map(|a| term_counts(a.borrow(), w))
        .collect()
}

/// Stems and their term ids, as [`intern`] looks them up and adds them.
pub(super) trait StemIds {
    fn id(&mut self, stem: &Stem) -> Option<u32>;
    fn insert(&mut self, stem: &Stem, id: u32);
}

impl StemIds for FxHashMap<String, u32> {
    fn id(&mut self, stem: &Stem) -> Option<u32> {
        self.get(stem.as_str()).copied()
    }

    fn insert(&mut self, stem: &Stem, id: u32) {
        FxHashMap::insert(self, stem.as_str().to_string(), id);
    }
}

/// Stems and their term ids with nearly every stem held inline ([`InlineWord`]): a build
/// interns every article's terms, and a look-up by a `String` key read a heap allocation of
/// its own; the common stems also in a small table of their own ([`HotWords`]).
#[derive(Default)]
struct InlineIds {
    hot: HotWords<u32>,
    short: FxHashMap<InlineWord, u32>,
    long: FxHashMap<Box<str>, u32>,
}

impl StemIds for InlineIds {
    fn id(&mut self, stem: &Stem) -> Option<u32> {
        match stem {
            Stem::Short(key) => self.hot.get(key).or_else(|| {
                let id = *self.short.get(key)?;
                self.hot.put(*key, id);
                Some(id)
            }),
            Stem::Long(stem) => self.long.get(stem).copied(),
        }
    }

    fn insert(&mut self, stem: &Stem, id: u32) {
        match stem {
            Stem::Short(key) => {
                self.short.insert(*key, id);
                self.hot.put(*key, id);
            }
            Stem::Long(stem) => {
                self.long.insert(stem.clone(), id);
            }
        }
    }
}

/// An article's counts as `(term id, count)` entries, its stems interned in `stems` and `ids`
/// (a new stem takes the next id): entries in the map's order, ids in order of first sight.
pub(super) fn intern(
    counts: FxHashMap<Stem, f32>,
    stems: &mut Vec<String>,
    ids: &mut impl StemIds,
) -> Vec<(u32, f32)> {
    let mut entries = Vec::with_capacity(counts.len());
    for (t, f) in counts {
        let id = match ids.id(&t) {
            Some(id) => id,
            None => {
                let id = stems.len() as u32;
                ids.insert(&t, id);
                stems.push(t.as_str().to_string());
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
    pub fn of<A: Borrow<Article> + Sync>(articles: &[A], w: &VectorWeights) -> TermCounts {
        let mut counting = Counting::new(*w);
        counting.add(articles);
        counting.finish()
    }

    /// Appends an article's counts, interning its stems in `ids`.
    pub(super) fn push(&mut self, counts: FxHashMap<Stem, f32>, ids: &mut FxHashMap<String, u32>) {
        let entries = intern(counts, &mut self.stems, ids);
        self.push_entries(entries);
    }

    /// The counts of a new collection: for each of its articles, either an article of this
    /// one (`Ok(old id)`) or one counted afresh (`Err(article)`), in order.
    pub fn remix(&self, order: &[Result<u32, &Article>], w: &VectorWeights) -> TermCounts {
        let fresh: Vec<Option<FxHashMap<Stem, f32>>> = order
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
        let mut out = self.remixed(order);
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
    pub(super) fn add<A: Borrow<Article> + Sync>(&mut self, articles: &[A]) {
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
    ids: InlineIds,
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
            ids: InlineIds::default(),
            stems: Vec::new(),
            lens: Vec::new(),
            df: Vec::new(),
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Counts the next `articles` (their bodies must be at hand), in parallel, and writes
    /// their entries; returns their texts analysed for the index from the same words
    /// ([`analysed`]), in order.
    pub(super) fn add_analysed(
        &mut self,
        articles: &[Article],
    ) -> anyhow::Result<Vec<AnalysedArticle>> {
        let w = self.weights;
        let both: Vec<(AnalysedArticle, FxHashMap<Stem, f32>)> =
            articles.par_iter().map(|a| analysed(a, &w)).collect();
        let mut texts = Vec::with_capacity(both.len());
        for (t, c) in both {
            self.put(c)?;
            texts.push(t);
        }
        Ok(texts)
    }

    /// Writes the next article's entries.
    fn put(&mut self, counts: FxHashMap<Stem, f32>) -> anyhow::Result<()> {
        let entries = intern(counts, &mut self.stems, &mut self.ids);
        self.df.resize(self.stems.len(), 0);
        for &e in &entries {
            self.df[e.0 as usize] += 1;
            put_entry(&mut self.out, e)?;
        }
        self.lens.push(entries.len() as u32);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{self, Format};
    use std::path::PathBuf;

    /// Counting as it was before the word cache: every word through [`text::words`], in
    /// order, a `String` per word. The counts, and their map's order, must stay these.
    fn counted_word_by_word(a: &Article, w: &VectorWeights) -> FxHashMap<String, f32> {
        let mut tf: FxHashMap<String, f32> = FxHashMap::default();
        weighted_texts(a, w, |s, weight| {
            for t in text::words(s) {
                if is_term(&t.lower) {
                    *tf.entry(t.stem.to_string()).or_default() += weight;
                }
            }
        });
        tf
    }

    #[test]
    fn counts_are_the_word_by_word_counts_in_the_same_order() {
        let settings = crate::config::Settings::for_content(".").content;
        // The longest word the index keeps, and the shortest it drops.
        let long = "x".repeat(text::MAX_TOKEN_BYTES - 1);
        let longer = "y".repeat(text::MAX_TOKEN_BYTES);
        let source = format!(
            "+++\ntitle = \"Running Pokémon cafés\"\ntags = [\"Night trains\", \"café\"]\n\
             aliases = [\"the runners\"]\nsummary = \"Cafés and {longer} {long} runners {longer}\"\n+++\n\n\
             Intro: runners RUN, running 1999 and 42nd ΣΊΣΥΦΟΣ naïveté {long} {longer}.\n\n\
             ## Cafés of Vienna\n\nThe café, the CAFÉ and the cafe: coffee, coffees. It is 2024.\n\n\
             - Trains at night\n- Sleeper trains, couchettes and {long}\n\n## Empty\n\n## Last\n\n\
             Words again: running, runners, Pokémon, pokemon, trains.\n"
        );
        let a =
            content::parse_article(&settings, &PathBuf::from("a.md"), Format::Markdown, &source)
                .unwrap();
        for weights in [
            VectorWeights::default(),
            VectorWeights {
                title: 0.0,
                tags: 0.5,
                headings: 3.0,
                ..VectorWeights::default()
            },
        ] {
            let expected: Vec<(String, f32)> =
                counted_word_by_word(&a, &weights).into_iter().collect();
            assert!(expected.iter().any(|(t, _)| t == "run"), "{expected:?}");
            assert!(expected.iter().any(|(t, _)| *t == long), "{expected:?}");
            assert!(!expected.iter().any(|(t, _)| *t == longer), "{expected:?}");
            let bits = |v: &[(String, f32)]| -> Vec<(String, u32)> {
                v.iter().map(|(t, f)| (t.clone(), f.to_bits())).collect()
            };
            // The texts analysed for the index alongside are the analyzer's own tokens.
            let by_the_analyzer = AnalysedArticle::of(&a, |_, text, stems| {
                crate::index::analyzer::stems_by_the_analyzer(text, stems)
            });
            // Twice: the second time every word comes from the thread's cache.
            for _ in 0..2 {
                let strings = |counts: FxHashMap<Stem, f32>| -> Vec<(String, f32)> {
                    counts
                        .into_iter()
                        .map(|(t, f)| (t.as_str().to_string(), f))
                        .collect()
                };
                let counted = strings(term_counts(&a, &weights));
                assert_eq!(bits(&counted), bits(&expected));
                let (texts, counts) = analysed(&a, &weights);
                let counted = strings(counts);
                assert_eq!(bits(&counted), bits(&expected));
                assert_eq!(texts, by_the_analyzer);
            }
        }
    }

    proptest::proptest! {
        /// On any text (words of any script, lengths about the index's limit, odd
        /// punctuation), what a build hands the index is the analyzer's own tokens, and its
        /// counts the word-by-word counts.
        #[test]
        fn analysed_texts_are_the_analyzers_on_any_text(
            title in "[\\pL\\pN ]{1,40}",
            paragraphs in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        "[\\pL\\pN]{1,12}",
                        "[a-zA-Z\u{3A3}\u{3C2}\u{E9}\u{DF}]{36,44}",
                        "\\PC{1,6}",
                        "[ ,.;:!?()'\u{2019}-]{1,3}",
                    ],
                    1..40,
                ),
                1..5,
            ),
        ) {
            let settings = crate::config::Settings::for_content(".").content;
            let body: Vec<String> = paragraphs.iter().map(|p| p.join(" ")).collect();
            let source = format!("{title}\n\n{}\n", body.join("\n\n"));
            let Ok(a) = content::parse_article(
                &settings,
                &PathBuf::from("a.txt"),
                Format::PlainText,
                &source,
            ) else {
                return Ok(());
            };
            let weights = VectorWeights::default();
            let by_the_analyzer = AnalysedArticle::of(&a, |_, text, stems| {
                crate::index::analyzer::stems_by_the_analyzer(text, stems)
            });
            let (texts, counts) = analysed(&a, &weights);
            proptest::prop_assert_eq!(texts, by_the_analyzer);
            let mut counted: Vec<(String, u32)> = counts
                .into_iter()
                .map(|(t, f)| (t.as_str().to_string(), f.to_bits()))
                .collect();
            let mut expected: Vec<(String, u32)> = counted_word_by_word(&a, &weights)
                .into_iter()
                .map(|(t, f)| (t, f.to_bits()))
                .collect();
            counted.sort();
            expected.sort();
            proptest::prop_assert_eq!(counted, expected);
        }
    }
}
