//! The tantivy index of passages: schema, build (multi-threaded), open, incremental update,
//! and the term statistics the answer code scores with.
//!
//! One document per passage. Article-level fields (title, summary, tags, aliases) are copied
//! into every passage of the article so that a passage can match on them, weighted.
//!
//! A document names its article by a key made from the slug ([`article_key`]) and its passage
//! by its place in the article, not by ids: ids shift when an article is added before others,
//! keys do not, so an update deletes and adds the documents of the changed articles only. The
//! [`Layout`] turns keys and places into the library's ids, per segment, once.
//!
//! Scores are the same as a fresh build's after any number of updates: BM25 takes its
//! statistics ([`LiveStats`]) from the live documents only (tantivy's own count the deleted
//! ones until a merge, and a merge of a segment with deletes estimates its token count from
//! the rounded field norms), and passages of equal score come in passage order, whatever the
//! segments.

use std::cmp::Reverse;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::index::SegmentId;
use tantivy::indexer::LogMergePolicy;
use tantivy::postings::TermInfo;
use tantivy::query::{
    AllQuery, AutomatonWeight, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery,
    EnableScoring, FuzzyTermQuery, Occur, TermQuery, Weight,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, ReloadPolicy, Score, SegmentOrdinal,
    SegmentReader, TantivyDocument, Term, TERMINATED,
};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::content::{Article, Section};
use crate::passage::Passage;

pub mod analyzer;
mod union;

pub use analyzer::{analyzer, fold_accents, MAX_TOKEN_BYTES, TOKENIZER};
pub(crate) use analyzer::{IndexText, Stems};

/// Field weights: a match in the title counts this many times a match in the body.
pub const TITLE_BOOST: f32 = 2.0;
pub const SECTION_BOOST: f32 = 1.2;
pub const META_BOOST: f32 = 1.2;
pub const BODY_BOOST: f32 = 1.0;
/// Weight of a close spelling of a word the collection does not have (a constant score per
/// match, where a term match scores by BM25).
pub const FUZZY_BOOST: f32 = 5.0;

/// At most this many words of one query are also searched by their close spellings. A close
/// spelling search builds a Levenshtein automaton per word and field and walks the term
/// dictionary with it: the costliest part of a question. A real question has a typo or two;
/// a question of two dozen unknown words is noise or an attack, and its first few words are
/// as good a guess as any.
pub const MAX_FUZZY_WORDS: usize = 4;

/// Words (stems) longer than this many characters are never searched by close spellings: the
/// automaton grows with the word, and no English word a person misspells is this long.
pub const MAX_FUZZY_CHARS: usize = 20;

/// Which of a query's `(index, stem, distance)` candidates get a close-spelling search: those
/// of at most [`MAX_FUZZY_CHARS`] characters, the first [`MAX_FUZZY_WORDS`] of them.
fn fuzzy_allowed<'a>(
    candidates: impl Iterator<Item = (usize, &'a str, u8)>,
) -> Vec<(usize, &'a str, u8)> {
    candidates
        .filter(|(_, stem, _)| stem.chars().count() <= MAX_FUZZY_CHARS)
        .take(MAX_FUZZY_WORDS)
        .collect()
}

/// A query over the passages, made by [`SearchIndex`]'s methods: callers combine and run
/// queries without knowing tantivy's types.
///
/// The second part, when there is one, lists terms whose documents are exactly the ones the
/// query matches (a query of words: the union of their posting lists), which is how
/// [`SearchIndex::count_articles`] counts its articles from the lists, without a collector.
/// The third, when there is one, lists the `Should` clauses the query is the union of, which
/// is how [`SearchIndex::top_passages`] finds its best passages without scoring every match
/// (`index/union.rs`).
pub struct Query(
    Box<dyn tantivy::query::Query>,
    Option<Vec<Term>>,
    Option<Vec<union::Clause>>,
);

/// The query of a union of `clauses` (each `Should`), which it keeps.
fn union_query(clauses: Vec<union::Clause>, terms: Option<Vec<Term>>) -> Query {
    let boolean = BooleanQuery::new(
        clauses
            .iter()
            .map(|c| (Occur::Should, c.query.box_clone()))
            .collect(),
    );
    Query(Box::new(boolean), terms, Some(clauses))
}

/// The clause matching `term`, scored by BM25 times `boost`.
fn term_clause(term: Term, boost: f32) -> union::Clause {
    let q = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
    union::Clause {
        query: Box::new(BoostQuery::new(Box::new(q), boost)),
        bound: union::Bound::Term(term, boost),
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The close spellings of one word in one field: the terms of the field's dictionary within
/// an edit distance of it (with transpositions, as tantivy's `FuzzyTermQuery` finds them),
/// in every segment, sorted and distinct, and their bytes to walk the dictionary with.
struct CloseSpellings {
    terms: Vec<Term>,
    keys: Vec<Vec<u8>>,
}

/// Close spellings found, kept by the index (it never reloads, so they stay true): the same
/// unknown word in question after question walks the term dictionary once.
type SpellingCache = FxHashMap<(u32, String, u8), Arc<CloseSpellings>>;

/// At most this many words' close spellings are kept.
const SPELLINGS_CACHED: usize = 4096;

/// Keeps `value` under `key` in `cache`, which holds at most `most` entries: full, it begins
/// again, so that a long-running bot keeps what is asked now (a stream of new words would
/// otherwise find it full of old ones for good).
fn remember<K: std::hash::Hash + Eq, V>(
    cache: &mut FxHashMap<K, V>,
    most: usize,
    key: K,
    value: V,
) {
    if cache.len() >= most {
        cache.clear();
    }
    cache.insert(key, value);
}

/// Every term of one field in any segment, sorted and distinct: the dictionary a word's close
/// spellings are looked up in. The segments' dictionaries hold much the same words, and a walk
/// of a Levenshtein automaton costs about as much in each (its cost lies in the dense first
/// letters, which every dictionary has), so one walk of their union replaces one per segment.
type Vocabulary = tantivy_fst::Map<Vec<u8>>;

/// The fields' vocabularies: absent until a close-spelling search of the field asks for it,
/// then `None` while a thread of its own merges it (reading every term of every segment's
/// dictionary takes a quarter of a second at 100,000 articles: the searches meanwhile walk
/// the segments' dictionaries), then the vocabulary.
type Vocabularies = Arc<Mutex<FxHashMap<u32, Option<Arc<Vocabulary>>>>>;

/// Matches the documents holding any of a word's close spellings in one field, at a constant
/// score: what `FuzzyTermQuery` matches and scores (its weight is tantivy's `AutomatonWeight`
/// over a Levenshtein automaton; here the same weight over the set of the terms that
/// automaton accepts), with the term dictionary walked along the few terms of the set
/// instead of every path within the edit distance.
#[derive(Clone)]
struct CloseSpellingQuery {
    field: Field,
    spellings: Arc<CloseSpellings>,
}

impl std::fmt::Debug for CloseSpellingQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloseSpellingQuery")
            .field("field", &self.field)
            .field("terms", &self.spellings.terms)
            .finish()
    }
}

impl tantivy::query::Query for CloseSpellingQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(AutomatonWeight::new(
            self.field,
            InSet(self.spellings.clone()),
        )))
    }
}

/// Accepts the terms of a [`CloseSpellings`] set: a state is the range of its sorted keys
/// that start with the bytes read so far, and how many were read (a handful of keys, searched
/// where they lie: an fst of them would cost more to build than the walk it guides).
struct InSet(Arc<CloseSpellings>);

impl tantivy_fst::Automaton for InSet {
    /// `(first key, end, bytes read)`: `first..end` is empty when no key has this start.
    type State = (usize, usize, usize);

    fn start(&self) -> Self::State {
        (0, self.0.keys.len(), 0)
    }

    fn is_match(&self, &(first, end, read): &Self::State) -> bool {
        // A key that is the bytes read sorts before the keys that go on.
        first < end && self.0.keys[first].len() == read
    }

    fn can_match(&self, &(first, end, _): &Self::State) -> bool {
        first < end
    }

    fn accept(&self, &(first, end, read): &Self::State, byte: u8) -> Self::State {
        // The keys of the range share their first `read` bytes: those that end there come
        // first, then the others by their next byte.
        let keys = &self.0.keys[first..end];
        let from = keys.partition_point(|k| k.len() <= read || k[read] < byte);
        let to = keys.partition_point(|k| k.len() <= read || k[read] <= byte);
        (first + from, first + to, read + 1)
    }
}

/// A Levenshtein automaton as tantivy's `FuzzyTermQuery` walks the term dictionary with it.
struct Levenshtein<'a>(&'a levenshtein_automata::DFA);

impl tantivy_fst::Automaton for Levenshtein<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(
            self.0.distance(*state),
            levenshtein_automata::Distance::Exact(_)
        )
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != levenshtein_automata::SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// Every term of `field` in the segments of `searcher` ([`Vocabulary`]): their dictionaries
/// read side by side, each term taken once.
fn merge_vocabulary(searcher: &tantivy::Searcher, field: Field) -> anyhow::Result<Vocabulary> {
    let inverted = searcher
        .segment_readers()
        .iter()
        .map(|r| r.inverted_index(field))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let mut streams = inverted
        .iter()
        .map(|i| i.terms().stream())
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut live: Vec<bool> = streams.iter_mut().map(|s| s.advance()).collect();
    let mut merged = tantivy_fst::MapBuilder::memory();
    let mut key: Vec<u8> = Vec::new();
    loop {
        let smallest = streams
            .iter()
            .zip(&live)
            .filter(|(_, &l)| l)
            .map(|(s, _)| s.key())
            .min();
        let Some(smallest) = smallest else {
            break;
        };
        key.clear();
        key.extend_from_slice(smallest);
        merged
            .insert(&key, 0)
            .context("cannot merge the term dictionaries")?;
        for (s, l) in streams.iter_mut().zip(live.iter_mut()) {
            if *l && s.key() == key.as_slice() {
                *l = s.advance();
            }
        }
    }
    let bytes = merged
        .into_inner()
        .context("cannot merge the term dictionaries")?;
    Vocabulary::from_bytes(bytes).context("cannot merge the term dictionaries")
}

/// The terms of `vocabulary` that `dfa` accepts, sorted and distinct (as the vocabulary is).
fn vocabulary_spellings(vocabulary: &Vocabulary, dfa: &levenshtein_automata::DFA) -> Vec<Vec<u8>> {
    tantivy_fst::IntoStreamer::into_stream(vocabulary.search(Levenshtein(dfa))).into_byte_keys()
}

/// The terms of `field` that `dfa` accepts in any segment of `searcher`, sorted and distinct.
fn segment_spellings(
    searcher: &tantivy::Searcher,
    field: Field,
    dfa: &levenshtein_automata::DFA,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for reader in searcher.segment_readers() {
        let inverted = reader.inverted_index(field)?;
        let mut stream = inverted.terms().search(Levenshtein(dfa)).into_stream()?;
        while stream.advance() {
            keys.push(stream.key().to_vec());
        }
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// The automaton of a word's close spellings within `distance` (0-2) edits, a transposition
/// counting one: tantivy's `FuzzyTermQuery::new(term, distance, true)`. The builders are
/// costly and made once per distance.
fn levenshtein(word: &str, distance: u8) -> Option<levenshtein_automata::DFA> {
    static BUILDERS: [OnceLock<levenshtein_automata::LevenshteinAutomatonBuilder>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let builder = BUILDERS
        .get(distance as usize)?
        .get_or_init(|| levenshtein_automata::LevenshteinAutomatonBuilder::new(distance, true));
    Some(builder.build_dfa(word))
}

/// One word of a question as the index searches it: its spellings (each matched in every
/// weighted field) and, for a word no passage holds, the edit distance at which its close
/// spellings (in the body and title) also match.
#[derive(Debug, Clone)]
pub struct WordQuery<'a> {
    /// The word's stem first, then its other spellings.
    pub stems: Vec<&'a str>,
    pub fuzzy: Option<u8>,
}

/// The index as one command sees it: taken once per command ([`SearchIndex::snapshot`]) and
/// passed to every search, count and statistic the command makes, with the terms' entries in
/// its segments' dictionaries as they are looked up ([`Snapshot::term_infos`]).
pub struct Snapshot(tantivy::Searcher, Mutex<FxHashMap<Term, TermInfos>>);

/// A term's entry in each segment's dictionary, in segment order (`None` where a segment
/// lacks it).
type TermInfos = Arc<[Option<TermInfo>]>;

impl Snapshot {
    /// Number of documents (passages).
    pub fn num_docs(&self) -> u64 {
        self.0.num_docs()
    }

    /// `term`'s entry in each segment's dictionary, looked up once per command: a question's
    /// words are looked up for their document frequencies (the question's analysis, BM25's
    /// statistics), for `search`'s article count and for the union's postings, each a walk
    /// of every segment's dictionary.
    fn term_infos(&self, term: &Term) -> tantivy::Result<TermInfos> {
        if let Some(infos) = self.1.lock().expect("term infos lock").get(term) {
            return Ok(infos.clone());
        }
        let infos: TermInfos = self
            .0
            .segment_readers()
            .iter()
            .map(|r| Ok(r.inverted_index(term.field())?.get_term_info(term)?))
            .collect::<tantivy::Result<Vec<_>>>()?
            .into();
        self.1
            .lock()
            .expect("term infos lock")
            .insert(term.clone(), infos.clone());
        Ok(infos)
    }
}

/// Handles to the schema's fields, made once with the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub passage: Field,
    pub article: Field,
    pub slug: Field,
    pub tag: Field,
    pub title: Field,
    pub section: Field,
    pub body: Field,
    pub meta: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = |positions: bool| {
            let opt = if positions {
                IndexRecordOption::WithFreqsAndPositions
            } else {
                IndexRecordOption::WithFreqs
            };
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(opt),
            )
        };
        // `article` holds the article's key, `passage` the passage's place in its article:
        // what stays true of a document when other articles come and go (see the module).
        let fields = Fields {
            passage: b.add_u64_field("passage", FAST | STORED),
            article: b.add_u64_field("article", FAST | INDEXED),
            slug: b.add_text_field("slug", STRING),
            tag: b.add_text_field("tag", STRING),
            title: b.add_text_field("title", text(true)),
            section: b.add_text_field("section", text(false)),
            body: b.add_text_field("body", text(true)),
            meta: b.add_text_field("meta", text(false)),
        };
        (b.build(), fields)
    }

    /// The searchable text fields with their weights.
    pub fn weighted(&self) -> [(Field, f32); 4] {
        [
            (self.title, TITLE_BOOST),
            (self.section, SECTION_BOOST),
            (self.meta, META_BOOST),
            (self.body, BODY_BOOST),
        ]
    }
}

/// The key the documents of an article carry: the first 8 bytes of the BLAKE3 hash of its
/// slug (slugs are unique in a library; [`Layout::new`] refuses two keys alike).
pub fn article_key(slug: &str) -> u64 {
    let hash = blake3::hash(slug.as_bytes());
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Where the library's articles and passages are: each article's key and first passage id.
/// Made from the library (a persisted one stores the keys: hashing every slug at open was a
/// tenth of the CPU before the first answer at 100,000 articles); turns a document's key and
/// place into ids, and a slug into its article ([`Layout::article_of`]). Its parts are shared
/// by its clones (the index's and the library's).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    keys: Arc<Vec<u64>>,
    /// Article `i`'s passages are `first[i]..first[i + 1]`.
    first: Arc<Vec<u32>>,
    by_key: Arc<FxHashMap<u64, u32>>,
}

impl Layout {
    /// The layout of `articles` cut into `passages` (in article order, as they are cut).
    pub fn new<A: std::borrow::Borrow<Article>>(
        articles: &[A],
        passages: &[Passage],
    ) -> anyhow::Result<Layout> {
        let keys: Vec<u64> = articles
            .iter()
            .map(|a| article_key(&a.borrow().slug))
            .collect();
        Layout::of_keys(keys, passages)
    }

    /// The layout of the articles whose keys are `keys`, in order, cut into `passages`.
    pub fn of_keys(keys: Vec<u64>, passages: &[Passage]) -> anyhow::Result<Layout> {
        let by_key: FxHashMap<u64, u32> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
        if by_key.len() != keys.len() {
            anyhow::bail!("two articles' slugs have the same key (a hash collision)");
        }
        let mut first = vec![0u32; keys.len() + 1];
        for p in passages {
            let Some(n) = first.get_mut(p.article as usize + 1) else {
                anyhow::bail!("a passage of article {} of {}", p.article, keys.len());
            };
            *n += 1;
        }
        for i in 0..keys.len() {
            first[i + 1] += first[i];
        }
        Ok(Layout {
            keys: Arc::new(keys),
            first: Arc::new(first),
            by_key: Arc::new(by_key),
        })
    }

    /// The key of article `id`.
    fn key(&self, id: u32) -> u64 {
        self.keys.get(id as usize).copied().unwrap_or(u64::MAX)
    }

    /// Every article's key, in order.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The article whose key is `key` (the article of a slug when its key is the slug's).
    pub fn article_of(&self, key: u64) -> Option<u32> {
        self.by_key.get(&key).copied()
    }

    /// The passage ids of article `id`.
    pub fn passages_of(&self, id: u32) -> std::ops::Range<u32> {
        self.first[id as usize]..self.first[id as usize + 1]
    }
}

/// Tokens indexed per weighted field, of the live documents: the length BM25 averages. Kept
/// by the library (tantivy's count includes deleted documents until a merge, and estimates it
/// after).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldTokens {
    pub title: u64,
    pub section: u64,
    pub body: u64,
    pub meta: u64,
}

impl FieldTokens {
    fn slot(&mut self, fields: &Fields, field: Field) -> Option<&mut u64> {
        if field == fields.title {
            Some(&mut self.title)
        } else if field == fields.section {
            Some(&mut self.section)
        } else if field == fields.body {
            Some(&mut self.body)
        } else if field == fields.meta {
            Some(&mut self.meta)
        } else {
            None
        }
    }

    fn get(mut self, fields: &Fields, field: Field) -> Option<u64> {
        self.slot(fields, field).copied()
    }
}

/// The documents of a passage as `(field, text)` pairs: what the build indexes and what an
/// update counts the tokens of.
fn passage_texts<'a>(
    fields: &Fields,
    a: &'a Article,
    section: &'a Section,
    p: &Passage,
    meta: &'a str,
) -> Vec<(Field, IndexText<'a>)> {
    let mut texts = vec![(fields.title, IndexText::plain(&a.title))];
    if let Some(h) = &section.heading {
        texts.push((fields.section, IndexText::plain(h)));
    }
    for block in &section.blocks[p.blocks.start as usize..p.blocks.end as usize] {
        texts.push((fields.body, IndexText::plain(&block.text)));
    }
    texts.push((fields.meta, IndexText::plain(meta)));
    texts
}

/// Registers the weighted fields' tokenizer with `index`, the same for every index a build
/// creates, an update writes to and an open reads: clones of an `Index` share their
/// tokenizers, so one registration of another analyzer would change how the others' texts
/// are read.
fn register_tokenizer(index: &Index) {
    index
        .tokenizers()
        .register(TOKENIZER, analyzer::indexing_analyzer());
}

/// The document of passage `place` (its place in the article) of `a`, of the weighted fields'
/// `texts`.
fn passage_document<'t>(
    fields: &Fields,
    a: &Article,
    key: u64,
    place: u32,
    texts: impl IntoIterator<Item = (Field, IndexText<'t>)>,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.passage, u64::from(place));
    doc.add_u64(fields.article, key);
    doc.add_text(fields.slug, &a.slug);
    for tag in &a.tags {
        doc.add_text(fields.tag, tag.to_lowercase());
    }
    for (field, text) in texts {
        doc.add_text(field, text.as_str());
    }
    doc
}

/// Which part of an article a text is, as [`AnalysedArticle::of`] hands it to be analysed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Title,
    Summary,
    /// A tag or an alias.
    Tags,
    Heading,
    /// A block of a section.
    Body,
}

/// An article's texts as its documents hold them, each analysed once ([`Stems`]): the title
/// and the meta field once for all of the article's passages (they are in every passage's
/// document), each heading once for its section's passages, each block once.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AnalysedArticle {
    stems: Stems,
    title: std::ops::Range<usize>,
    meta: std::ops::Range<usize>,
    /// Each section's heading, when it has one, and the index of its first block in `blocks`.
    sections: Vec<(Option<std::ops::Range<usize>>, usize)>,
    blocks: Vec<std::ops::Range<usize>>,
}

impl AnalysedArticle {
    /// The texts of `a`, each analysed by `analyse` into the [`Stems`] it is handed, which
    /// must get the analyzer's tokens of the text (its callers' tests hold it to that): the
    /// title, the meta field's texts (the summary, then each tag and alias: the words of the
    /// text [`meta_text`] joins them into, in order), then each section's heading and blocks.
    pub(crate) fn of(
        a: &Article,
        mut analyse: impl FnMut(Part, &str, &mut Stems),
    ) -> AnalysedArticle {
        let mut stems = Stems::default();
        let mut text = |part: Part, text: &str, stems: &mut Stems| {
            let start = stems.len();
            analyse(part, text, stems);
            start..stems.len()
        };
        let title = text(Part::Title, &a.title, &mut stems);
        let meta_start = stems.len();
        if let Some(summary) = &a.summary {
            text(Part::Summary, summary, &mut stems);
        }
        for t in a.tags.iter().chain(&a.aliases) {
            text(Part::Tags, t, &mut stems);
        }
        let meta = meta_start..stems.len();
        let mut sections = Vec::with_capacity(a.sections.len());
        let mut blocks = Vec::new();
        for s in &a.sections {
            let heading = s
                .heading
                .as_ref()
                .map(|h| text(Part::Heading, h, &mut stems));
            sections.push((heading, blocks.len()));
            for b in s.blocks.iter() {
                blocks.push(text(Part::Body, &b.text, &mut stems));
            }
        }
        AnalysedArticle {
            stems,
            title,
            meta,
            sections,
            blocks,
        }
    }

    fn text(&self, range: &std::ops::Range<usize>) -> IndexText<'_> {
        IndexText::stems(&self.stems, range.clone())
    }

    /// [`passage_texts`] of passage `p`, analysed.
    fn passage_texts(&self, fields: &Fields, p: &Passage) -> Vec<(Field, IndexText<'_>)> {
        let (heading, first) = &self.sections[p.section as usize];
        let mut texts = vec![(fields.title, self.text(&self.title))];
        if let Some(h) = heading {
            texts.push((fields.section, self.text(h)));
        }
        for b in p.blocks.start as usize..p.blocks.end as usize {
            texts.push((fields.body, self.text(&self.blocks[first + b])));
        }
        texts.push((fields.meta, self.text(&self.meta)));
        texts
    }
}

/// Adds the tokens of `a`'s passages (the analyzer's count, as the index counts them) to
/// `tokens`.
fn count_tokens(fields: &Fields, a: &Article, passages: &[Passage], tokens: &mut FieldTokens) {
    use tantivy::tokenizer::TokenStream as _;
    let mut analyzer = analyzer();
    let meta = meta_text(a);
    for p in passages {
        let section = &a.sections[p.section as usize];
        for (field, text) in passage_texts(fields, a, section, p, &meta) {
            let mut stream = analyzer.token_stream(text.as_str());
            let mut n = 0u64;
            while stream.advance() {
                n += 1;
            }
            if let Some(slot) = tokens.slot(fields, field) {
                *slot += n;
            }
        }
    }
}

/// What an update changes: the new library's articles and passages, the articles whose
/// documents go (from the old library, with their passages there) and the ids (in the new
/// library) of the articles whose documents are added.
pub struct Change<'a> {
    pub articles: &'a [Arc<Article>],
    pub passages: &'a [Passage],
    pub gone: Vec<(&'a Article, &'a [Passage])>,
    pub added: Vec<u32>,
}

/// The opened index: one reader for the life of the library, a searcher per request.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    pub fields: Fields,
    layout: Arc<Layout>,
    tokens: FieldTokens,
    /// The commit this index reads: an update starts only from the latest one.
    opstamp: u64,
    /// The article and passage of every document, per segment, made on first use.
    maps: OnceLock<Arc<[Arc<SegmentMap>]>>,
    /// The articles of common words, by field and stem, once counted.
    common: Mutex<CommonArticles>,
    /// The bytes the articles of common words may take ([`COMMON_CACHE_BYTES`]).
    common_budget: usize,
    /// The close spellings of words no passage holds, once found.
    spellings: Mutex<SpellingCache>,
    /// Terms' bounds in each segment from their blocks' maxima, as shares of their weight,
    /// once found ([`SearchIndex::segment_bounds`]).
    bound_shares: Mutex<FxHashMap<Term, Arc<[f64]>>>,
    /// Each field's terms, merged from the segments' dictionaries after the first
    /// close-spelling search of the field.
    vocabularies: Vocabularies,
}

type CommonArticles = std::collections::HashMap<(u32, Vec<u8>), std::sync::Arc<[u64]>>;

/// One segment's documents as the library's ids: the article and passage of each document
/// and the runs of consecutive documents of one article (passages are indexed in article
/// order). A deleted document has no article.
struct SegmentMap {
    segment: SegmentId,
    /// Article of each document ([`NO_ARTICLE`] for none or deleted).
    article: Vec<u32>,
    /// Passage id of each document ([`NO_ARTICLE`] for none or deleted).
    passage: Vec<u32>,
    /// `(first document, end, article)` of each run.
    runs: Vec<(DocId, DocId, u32)>,
    /// The deleted documents, in order.
    deleted: Vec<DocId>,
}

const NO_ARTICLE: u32 = u32::MAX;

/// Documents a task of [`SegmentMap::read`] maps (a few in the unit tests, so that their
/// small indexes are mapped in several chunks, deleted documents among them).
const MAP_CHUNK: usize = if cfg!(test) { 7 } else { 1 << 16 };

/// Whether `maps` are the maps of `searcher`'s segments, one each, in order: what reads a
/// segment's documents through them (the union's search, the article count) needs it, and
/// falls back to tantivy's own search or a collector otherwise.
fn maps_fit(maps: &[Arc<SegmentMap>], searcher: &tantivy::Searcher) -> bool {
    let readers = searcher.segment_readers();
    maps.len() == readers.len()
        && maps
            .iter()
            .zip(readers)
            .all(|(m, r)| m.segment == r.segment_id() && m.passage.len() == r.max_doc() as usize)
}

/// A word in at least this many passages of a field is common: its articles are remembered.
const COMMON_WORD_DOCS: u64 = 4096;
/// The terms whose bounds in each segment are remembered (some 100 bytes each).
const BOUNDS_CACHED: usize = 20_000;
/// The remembered articles of common words take at most this many bytes.
const COMMON_CACHE_BYTES: usize = 4 << 20;

/// A seek at an uncounted article's run of documents costs about as much as reading this
/// many documents of a list block by block (a binary search in a block against a few
/// instructions a document).
const DOCS_PER_PROBE: usize = 8;

/// The runs of a segment's articles not counted yet (`None` until a list is probed there):
/// a list far longer than they are is probed at them only, and they narrow as lists count.
type Uncounted = Option<Vec<(DocId, DocId, u32)>>;

/// Adds to `seen` the articles of the documents of the term `info` names in `inverted` (the
/// index of segment `map`). A list read whole is read block by block, an article a bit per
/// document; a list longer than the articles still uncounted ([`DOCS_PER_PROBE`] times) is
/// probed at their runs only (`uncounted`, made for the segment by the first such list).
fn count_list(
    inverted: &tantivy::InvertedIndexReader,
    info: &TermInfo,
    map: &SegmentMap,
    seen: &mut ArticleSet,
    uncounted: &mut Uncounted,
) -> std::io::Result<()> {
    if seen.count >= seen.len {
        return Ok(());
    }
    let runs_left = match uncounted {
        Some(runs) => runs.len(),
        None => map.runs.len() * (seen.len - seen.count) / seen.len,
    };
    if runs_left.saturating_mul(DOCS_PER_PROBE) < info.doc_freq as usize {
        let runs = match uncounted {
            Some(runs) => {
                runs.retain(|r| !seen.has(r.2));
                runs
            }
            None => uncounted.insert(
                map.runs
                    .iter()
                    .copied()
                    .filter(|r| !seen.has(r.2))
                    .collect(),
            ),
        };
        let mut postings = inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
        for &(start, end, a) in runs.iter() {
            let mut doc = postings.doc();
            if doc < start {
                doc = postings.seek(start);
            }
            if doc == TERMINATED {
                break;
            }
            if doc < end {
                seen.insert(a);
            }
        }
    } else {
        let mut block =
            inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
        loop {
            let docs = block.docs();
            if docs.is_empty() {
                break;
            }
            for &doc in docs {
                seen.insert(map.article[doc as usize]);
            }
            block.advance();
        }
    }
    Ok(())
}

/// A set of article ids below a bound (others are ignored), a bit each, with its size.
struct ArticleSet {
    bits: Vec<u64>,
    len: usize,
    count: usize,
}

impl ArticleSet {
    fn new(len: usize) -> ArticleSet {
        ArticleSet {
            bits: vec![0; len.div_ceil(64)],
            len,
            count: 0,
        }
    }

    fn has(&self, a: u32) -> bool {
        let a = a as usize;
        a < self.len && self.bits[a / 64] & (1 << (a % 64)) != 0
    }

    fn union(&mut self, bits: &[u64]) {
        for (w, b) in self.bits.iter_mut().zip(bits) {
            *w |= b;
        }
        self.count = self.bits.iter().map(|w| w.count_ones() as usize).sum();
    }

    fn insert(&mut self, a: u32) {
        let a = a as usize;
        if a < self.len && self.bits[a / 64] & (1 << (a % 64)) == 0 {
            self.bits[a / 64] |= 1 << (a % 64);
            self.count += 1;
        }
    }
}

impl SegmentMap {
    fn read(reader: &SegmentReader, layout: &Layout) -> anyhow::Result<SegmentMap> {
        let keys = reader.fast_fields().u64("article")?;
        let places = reader.fast_fields().u64("passage")?;
        let max_doc = reader.max_doc();
        let alive = reader.alive_bitset();
        // Read a chunk of documents at a time on every core, each column's values fetched
        // for the whole chunk: the first question after a start waits for these maps, and a
        // value fetched per document (1.6 M documents at 100,000 articles) was most of its
        // instructions (BENCHMARKS.md, issue 18).
        let chunks: Vec<(Vec<u32>, Vec<u32>, Vec<DocId>)> = (0..max_doc)
            .step_by(MAP_CHUNK)
            .collect::<Vec<DocId>>()
            .into_par_iter()
            .map(|from| {
                let docs: Vec<DocId> = (from..max_doc.min(from + MAP_CHUNK as DocId)).collect();
                let mut key_of = vec![None; docs.len()];
                let mut place_of = vec![None; docs.len()];
                keys.first_vals(&docs, &mut key_of);
                places.first_vals(&docs, &mut place_of);
                let mut article = Vec::with_capacity(docs.len());
                let mut passage = Vec::with_capacity(docs.len());
                let mut deleted = Vec::new();
                // An article's documents lie next to each other: its key is looked up once
                // per run, not once per document.
                let mut last: Option<(u64, Option<u32>)> = None;
                for ((&d, key), place) in docs.iter().zip(key_of).zip(place_of) {
                    if alive.is_some_and(|a| !a.is_alive(d)) {
                        deleted.push(d);
                        article.push(NO_ARTICLE);
                        passage.push(NO_ARTICLE);
                        continue;
                    }
                    let found = key.and_then(|key| match last {
                        Some((k, a)) if k == key => a,
                        _ => {
                            let a = layout.article_of(key);
                            last = Some((key, a));
                            a
                        }
                    });
                    let id = match (found, place) {
                        (Some(a), Some(place)) => {
                            let range = layout.passages_of(a);
                            let id = u64::from(range.start) + place;
                            (id < u64::from(range.end)).then_some((a, id as u32))
                        }
                        _ => None,
                    };
                    let (a, id) = id.unwrap_or((NO_ARTICLE, NO_ARTICLE));
                    article.push(a);
                    passage.push(id);
                }
                (article, passage, deleted)
            })
            .collect();
        let mut article = Vec::with_capacity(max_doc as usize);
        let mut passage = Vec::with_capacity(max_doc as usize);
        let mut deleted = Vec::new();
        for (a, p, d) in chunks {
            article.extend(a);
            passage.extend(p);
            deleted.extend(d);
        }
        let mut runs = Vec::new();
        let mut start = 0;
        while start < article.len() {
            let a = article[start];
            let mut end = start + 1;
            if a != NO_ARTICLE {
                while end < article.len() && article[end] == a {
                    end += 1;
                }
                runs.push((start as DocId, end as DocId, a));
            }
            start = end;
        }
        Ok(SegmentMap {
            segment: reader.segment_id(),
            article,
            passage,
            runs,
            deleted,
        })
    }
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// Told how a build advances, so that a front end can show it (the CLI draws a bar). A build
/// calls `start` once with the total number of steps (two per article file: read, indexed),
/// `advance` as steps finish and `finish` at the end; an opened (reused) library calls none.
pub trait BuildProgress {
    fn start(&self, total: u64);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl BuildProgress for NoProgress {
    fn start(&self, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Where to build: in memory or in a directory that must exist and be empty.
pub enum Target<'a> {
    Memory,
    Dir(&'a Path),
}

/// The indexing threads for a collection of about `passages` passages: `requested`, 0 meaning
/// one per core (at most 8); small collections do not need several threads (and the memory
/// each one's arena takes).
pub fn indexing_threads(requested: usize, passages: usize) -> usize {
    let threads = if requested == 0 {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    } else {
        requested
    };
    threads.min(1 + passages / 2000)
}

/// The memory budget of each indexing thread: the arena a thread fills before it writes a
/// segment. The writer's memory is bounded by this times the threads, whatever the size of
/// the collection (a build streams articles through it, see [`Indexer`]).
pub const WRITER_BYTES_PER_THREAD: usize = 64_000_000;

/// A build in progress: articles are added one at a time, in library order, with their
/// passages, and the caller may drop each article's text once it is added (the index copies
/// what it needs). [`Indexer::finish`] commits and opens the index.
pub struct Indexer {
    index: Index,
    writer: tantivy::IndexWriter<TantivyDocument>,
    fields: Fields,
}

impl Indexer {
    /// Starts a build in `target` with `threads` indexing threads (see [`indexing_threads`]).
    pub fn new(target: Target<'_>, threads: usize) -> anyhow::Result<Indexer> {
        let (schema, fields) = Fields::schema();
        let index = match target {
            Target::Memory => Index::create_in_ram(schema),
            Target::Dir(dir) => Index::create_in_dir(dir, schema)
                .with_context(|| format!("cannot create index in {}", dir.display()))?,
        };
        register_tokenizer(&index);
        let threads = threads.max(1);
        let writer = index
            .writer_with_num_threads::<TantivyDocument>(threads, WRITER_BYTES_PER_THREAD * threads)
            .context("cannot start the index writer")?;
        Ok(Indexer {
            index,
            writer,
            fields,
        })
    }

    /// Adds the documents of article `a`'s `passages` (all of them, in order).
    pub fn add_article(&mut self, a: &Article, passages: &[Passage]) -> anyhow::Result<()> {
        let meta = meta_text(a);
        let key = article_key(&a.slug);
        for (place, p) in passages.iter().enumerate() {
            let section = &a.sections[p.section as usize];
            let texts = passage_texts(&self.fields, a, section, p, &meta);
            let doc = passage_document(&self.fields, a, key, place as u32, texts);
            self.writer.add_document(doc)?;
        }
        Ok(())
    }

    /// [`Indexer::add_article`] of the article's texts analysed already (`texts`, made of
    /// `a`): the same documents' tokens, without analysing a text again.
    pub(crate) fn add_analysed(
        &mut self,
        a: &Article,
        passages: &[Passage],
        texts: &AnalysedArticle,
    ) -> anyhow::Result<()> {
        let key = article_key(&a.slug);
        for (place, p) in passages.iter().enumerate() {
            let texts = texts.passage_texts(&self.fields, p);
            let doc = passage_document(&self.fields, a, key, place as u32, texts);
            self.writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Commits, waits for the merges, and opens the index for the library `layout` describes.
    pub fn finish(mut self, layout: Layout) -> anyhow::Result<SearchIndex> {
        self.writer.commit().context("cannot commit the index")?;
        self.writer
            .wait_merging_threads()
            .context("index merge failed")?;
        SearchIndex::from_index(self.index, self.fields, layout, None)
    }
}

impl SearchIndex {
    /// Indexes `passages` of `articles`. `threads` 0 means one per core (at most 8).
    pub fn build(
        target: Target<'_>,
        articles: &[Article],
        passages: &[Passage],
        threads: usize,
        progress: &dyn BuildProgress,
    ) -> anyhow::Result<SearchIndex> {
        let layout = Layout::new(articles, passages)?;
        let mut indexer = Indexer::new(target, indexing_threads(threads, passages.len()))?;
        for (id, a) in articles.iter().enumerate() {
            let range = layout.first[id] as usize..layout.first[id + 1] as usize;
            indexer.add_article(a, &passages[range])?;
            progress.advance(1);
        }
        indexer.finish(layout)
    }

    /// Opens an index built (or updated) earlier in `dir`, for the library `layout` describes.
    /// `tokens` are the live documents' tokens per field, as kept by the library; `None` for
    /// an index without deletes (they are read from the segments).
    pub fn open(
        dir: &Path,
        layout: Layout,
        tokens: Option<FieldTokens>,
    ) -> anyhow::Result<SearchIndex> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("cannot open index in {}", dir.display()))?;
        let (expected, fields) = Fields::schema();
        if index.schema() != expected {
            anyhow::bail!("index in {} has another schema", dir.display());
        }
        SearchIndex::from_index(index, fields, layout, tokens)
    }

    fn from_index(
        index: Index,
        fields: Fields,
        layout: Layout,
        tokens: Option<FieldTokens>,
    ) -> anyhow::Result<SearchIndex> {
        register_tokenizer(&index);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("cannot open an index reader")?;
        let searcher = reader.searcher();
        let opstamp = index
            .load_metas()
            .context("cannot read the index's meta")?
            .opstamp;
        let tokens = match tokens {
            Some(t) => t,
            None => {
                if searcher.segment_readers().iter().any(|r| r.has_deletes()) {
                    anyhow::bail!("the index has deleted documents and no token counts");
                }
                let mut t = FieldTokens::default();
                for (field, _) in fields.weighted() {
                    let mut n = 0;
                    for r in searcher.segment_readers() {
                        n += r.inverted_index(field)?.total_num_tokens();
                    }
                    *t.slot(&fields, field).expect("a weighted field") = n;
                }
                t
            }
        };
        Ok(SearchIndex {
            index,
            reader,
            fields,
            layout: Arc::new(layout),
            tokens,
            opstamp,
            maps: OnceLock::new(),
            common: Mutex::new(CommonArticles::new()),
            common_budget: COMMON_CACHE_BYTES,
            spellings: Mutex::new(SpellingCache::default()),
            bound_shares: Mutex::default(),
            vocabularies: Vocabularies::default(),
        })
    }

    /// The live documents' tokens per field (what the library keeps for the next open).
    pub fn tokens(&self) -> FieldTokens {
        self.tokens
    }

    /// Applies `change` to the index in `dir`, a copy of this index's folder (its files linked,
    /// its meta files copied): the gone articles' documents deleted, the added ones' indexed,
    /// one commit. Returns the live tokens per field after it, and the layout of the changed
    /// library (for [`SearchIndex::open`] of the copy). The index this one reads is
    /// untouched, and serves until the caller swaps the copy in.
    pub fn update_in(
        &self,
        dir: &Path,
        change: &Change<'_>,
    ) -> anyhow::Result<(FieldTokens, Layout)> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("cannot open index in {}", dir.display()))?;
        self.write_change(&index, change)
    }

    /// Applies `change` to this (in-memory) index and returns the new library's index. The
    /// old reader keeps its commit: the old library answers as before until it is dropped.
    pub fn update(&self, change: &Change<'_>) -> anyhow::Result<SearchIndex> {
        let (tokens, layout) = self.write_change(&self.index, change)?;
        SearchIndex::from_index(self.index.clone(), self.fields, layout, Some(tokens))
    }

    fn write_change(
        &self,
        index: &Index,
        change: &Change<'_>,
    ) -> anyhow::Result<(FieldTokens, Layout)> {
        register_tokenizer(index);
        let latest = index.load_metas()?.opstamp;
        if latest != self.opstamp {
            anyhow::bail!(
                "the index moved on (commit {latest}, this library reads {})",
                self.opstamp
            );
        }
        let layout = Layout::new(change.articles, change.passages)?;
        let fields = self.fields;
        let mut tokens = self.tokens;
        let mut gone = FieldTokens::default();
        for (a, passages) in &change.gone {
            count_tokens(&fields, a, passages, &mut gone);
        }
        let mut added = FieldTokens::default();
        for &id in &change.added {
            let range = layout.first[id as usize] as usize..layout.first[id as usize + 1] as usize;
            count_tokens(
                &fields,
                &change.articles[id as usize],
                &change.passages[range],
                &mut added,
            );
        }
        for (field, _) in fields.weighted() {
            let t = tokens.slot(&fields, field).expect("a weighted field");
            let plus = *t + added.get(&fields, field).unwrap_or(0);
            *t = plus
                .checked_sub(gone.get(&fields, field).unwrap_or(0))
                .context("the index holds fewer tokens than the documents it drops")?;
        }
        // One thread and the smallest arena: an update indexes a few articles. Only the small
        // segments updates make are merged (among themselves); the large ones of the build
        // keep their deleted documents until the next full build.
        let mut writer = index
            .writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
            .context("cannot start the index writer")?;
        let mut policy = LogMergePolicy::default();
        policy.set_max_docs_before_merge(20_000);
        writer.set_merge_policy(Box::new(policy));
        for (a, _) in &change.gone {
            writer.delete_term(Term::from_field_u64(fields.article, article_key(&a.slug)));
        }
        for &id in &change.added {
            let a = &change.articles[id as usize];
            let meta = meta_text(a);
            let key = layout.key(id);
            let range = layout.first[id as usize]..layout.first[id as usize + 1];
            for (place, pid) in range.enumerate() {
                let p = &change.passages[pid as usize];
                let section = &a.sections[p.section as usize];
                let texts = passage_texts(&fields, a, section, p, &meta);
                writer.add_document(passage_document(&fields, a, key, place as u32, texts))?;
            }
        }
        writer.commit().context("cannot commit the index update")?;
        writer
            .wait_merging_threads()
            .context("index merge failed")?;
        Ok((tokens, layout))
    }

    /// The article and passage of every document, per segment of `searcher` (made once: the
    /// reader never reloads).
    fn maps(&self, searcher: &tantivy::Searcher) -> anyhow::Result<Arc<[Arc<SegmentMap>]>> {
        if let Some(m) = self.maps.get() {
            return Ok(m.clone());
        }
        // On every core: the first question after a start waits for them.
        let maps = searcher
            .segment_readers()
            .par_iter()
            .map(|r| SegmentMap::read(r, &self.layout).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(self.maps.get_or_init(|| maps.into()).clone())
    }

    /// The number of live documents holding `term`: tantivy's count less the deleted
    /// documents that hold it (a seek per deleted document, in the segments that have any).
    fn live_doc_freq(
        &self,
        snapshot: &Snapshot,
        maps: &[Arc<SegmentMap>],
        term: &Term,
    ) -> tantivy::Result<u64> {
        let infos = snapshot.term_infos(term)?;
        let mut df: u64 = infos.iter().flatten().map(|i| u64::from(i.doc_freq)).sum();
        let readers = snapshot.0.segment_readers();
        for ((reader, map), info) in readers.iter().zip(maps).zip(infos.iter()) {
            let Some(info) = info.as_ref().filter(|_| !map.deleted.is_empty()) else {
                continue;
            };
            let inverted = reader.inverted_index(term.field())?;
            let mut postings =
                inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            for &d in &map.deleted {
                let mut doc = postings.doc();
                if doc < d {
                    doc = postings.seek(d);
                }
                if doc == TERMINATED {
                    break;
                }
                if doc == d {
                    df -= 1;
                }
            }
        }
        Ok(df)
    }

    /// Where the library's articles and passages are, as this index maps its documents.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The index for one command: every search of the command reads this one view.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.reader.searcher(), Mutex::default())
    }

    /// Number of documents (passages).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs `query` and returns `(passage id, score)` of the `limit` best passages.
    pub fn top_passages(
        &self,
        snapshot: &Snapshot,
        query: &Query,
        limit: usize,
    ) -> anyhow::Result<Vec<(u32, f32)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = &snapshot.0;
        let maps = self.maps(searcher)?;
        let stats = LiveStats {
            index: self,
            snapshot,
            maps: &maps,
            doc_freqs: Mutex::new(FxHashMap::default()),
        };
        if let (Some(clauses), true) = (&query.2, maps_fit(&maps, searcher)) {
            let best = union::Best::new(limit);
            if let Some(best) = self.top_of_union(searcher, &maps, &stats, clauses, best)? {
                let out = best.into_sorted();
                anyhow::ensure!(
                    out.iter().all(|&(id, _)| id != NO_ARTICLE),
                    "a document of no passage was found"
                );
                return Ok(out);
            }
        }
        let passage = |addr: DocAddress| -> anyhow::Result<u32> {
            let id = maps[addr.segment_ord as usize].passage[addr.doc_id as usize];
            anyhow::ensure!(id != NO_ARTICLE, "a document of no passage was found");
            Ok(id)
        };
        // One more than asked: when it scores as the last one asked for, passages of equal
        // score straddle the cut, and which of them make it must not depend on the segments
        // (a build and an update lay documents out differently): then the cut is made again
        // with ties in passage order (no early termination, so only then).
        let hits = searcher.search_with_statistics_provider(
            query.0.as_ref(),
            &TopDocs::with_limit(limit + 1),
            &stats,
        )?;
        let straddle = hits.len() > limit && hits[limit].0 == hits[limit - 1].0;
        let mut out: Vec<(u32, f32)> = if straddle {
            let maps = maps.clone();
            let in_order = TopDocs::with_limit(limit).tweak_score(move |reader: &SegmentReader| {
                let segment = reader.segment_id();
                let map = maps.iter().find(|m| m.segment == segment).cloned();
                move |doc: DocId, score: Score| {
                    let id = map.as_ref().map_or(NO_ARTICLE, |m| m.passage[doc as usize]);
                    (score, Reverse(id))
                }
            });
            searcher
                .search_with_statistics_provider(query.0.as_ref(), &in_order, &stats)?
                .into_iter()
                .map(|((score, Reverse(id)), _)| (id, score))
                .collect()
        } else {
            hits.into_iter()
                .take(limit)
                .map(|(score, addr)| Ok((passage(addr)?, score)))
                .collect::<anyhow::Result<_>>()?
        };
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// The `limit` best articles of the passages `query` matches, each by its best passage:
    /// `(article, passage id, score)`, in the order of [`SearchIndex::top_passages`]'s list of
    /// their best passages (the articles as they first come in it). `None` when `query` is not
    /// a query of words (or the search of its union is not possible: see
    /// [`SearchIndex::top_passages`]), for the caller to group that list itself.
    pub fn top_articles(
        &self,
        snapshot: &Snapshot,
        query: &Query,
        limit: usize,
    ) -> anyhow::Result<Option<Vec<(u32, u32, f32)>>> {
        let searcher = &snapshot.0;
        let maps = self.maps(searcher)?;
        let Some(clauses) = query.2.as_ref().filter(|_| maps_fit(&maps, searcher)) else {
            return Ok(None);
        };
        let stats = LiveStats {
            index: self,
            snapshot,
            maps: &maps,
            doc_freqs: Mutex::new(FxHashMap::default()),
        };
        let best = union::BestArticles::new(limit);
        let Some(best) = self.top_of_union(searcher, &maps, &stats, clauses, best)? else {
            return Ok(None);
        };
        let out = best.into_sorted();
        anyhow::ensure!(
            out.iter()
                .all(|&(a, id, _)| a != NO_ARTICLE && id != NO_ARTICLE),
            "a document of no passage was found"
        );
        Ok(Some(out))
    }

    /// The best passages (or articles) of a union of `clauses` kept by `best` (see
    /// `index/union.rs`); `None` when a clause could score below zero (a negative weight),
    /// which its bounds do not allow for.
    fn top_of_union<K: union::Keep>(
        &self,
        searcher: &tantivy::Searcher,
        maps: &[Arc<SegmentMap>],
        stats: &LiveStats<'_>,
        clauses: &[union::Clause],
        mut best: K,
    ) -> anyhow::Result<Option<K>> {
        let scoring = EnableScoring::enabled_from_statistics_provider(stats, searcher);
        // A term clause is read from its postings with its `TermQuery`'s weight (BM25 from
        // these statistics, times the boost, as `BoostWeight` passes it down).
        let scorings = clauses
            .iter()
            .map(|c| match &c.bound {
                union::Bound::Term(term, boost) => Ok(union::Scoring::Term(
                    term.clone(),
                    tantivy::query::Bm25Weight::for_terms(stats, std::slice::from_ref(term))?
                        .boost_by(*boost),
                )),
                union::Bound::Constant(_) => c.query.weight(scoring).map(union::Scoring::Other),
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        let readers = searcher.segment_readers();
        // Each term's entry in each segment's dictionary, looked up once per command.
        let infos = clauses
            .iter()
            .map(|c| match &c.bound {
                union::Bound::Term(term, _) => stats.snapshot.term_infos(term),
                union::Bound::Constant(_) => Ok(vec![None; readers.len()].into()),
            })
            .collect::<tantivy::Result<Vec<TermInfos>>>()?;
        let bounds = clauses
            .iter()
            .map(|c| match &c.bound {
                union::Bound::Term(term, boost) => union::term_bound(stats, term, *boost),
                union::Bound::Constant(score) => Ok(*score),
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        if bounds.iter().any(|b| !(b.is_finite() && *b >= 0.0)) {
            return Ok(None);
        }
        // Each term clause's bound in each segment, from its blocks' maxima.
        let tight = self.segment_bounds(stats, readers, &scorings, &bounds, &infos)?;
        // A long question's weakest kept score rises slowly from its first passages: a seed
        // from the largest segment starts it where the best passages are.
        let largest = (0..readers.len()).max_by_key(|&s| readers[s].max_doc());
        let seeded = match largest {
            Some(s) if clauses.len() >= union::SEED_CLAUSES => {
                let articles = K::BY_ARTICLE.then_some(&maps[s].article[..]);
                let limit = best.limit();
                union::seed(&scorings, &bounds, &infos, s, &readers[s], limit, articles)?
            }
            _ => None,
        };
        for (s, (reader, map)) in readers.iter().zip(maps).enumerate() {
            let ids = (&map.passage[..], &map.article[..]);
            let bounds = &tight[s];
            union::best_in_segment(&scorings, bounds, &infos, s, seeded, reader, ids, &mut best)?;
        }
        #[cfg(test)]
        tests::UNION_SEARCHES.with(|n| n.set(n.get() + 1));
        Ok(Some(best))
    }

    /// Each clause's bound in each segment (`[segment][clause]`): a term's from its blocks'
    /// maxima there ([`union::segment_bound`]), another's its `bounds`. A term's are
    /// remembered, as shares of its weight (a clause's boost scales both alike): a common
    /// word's lists are long to walk, and questions repeat words (`search` those of `ask`).
    fn segment_bounds(
        &self,
        stats: &LiveStats<'_>,
        readers: &[SegmentReader],
        scorings: &[union::Scoring],
        bounds: &[Score],
        infos: &[TermInfos],
    ) -> tantivy::Result<Vec<Vec<Score>>> {
        let mut tight = vec![bounds.to_vec(); readers.len()];
        let docs = stats.total_num_docs()?;
        for (j, (scoring, &bound)) in scorings.iter().zip(bounds).enumerate() {
            let union::Scoring::Term(term, weight) = scoring else {
                continue;
            };
            // Checked finite and at least 0 above.
            if bound <= 0.0 {
                continue;
            }
            // A list of one block has no block maximum to walk.
            let walked = infos[j]
                .iter()
                .flatten()
                .any(|i| i.doc_freq as usize >= union::BLOCK);
            if !walked {
                continue;
            }
            let known = self
                .bound_shares
                .lock()
                .expect("cache lock")
                .get(term)
                .cloned();
            let shares: Arc<[f64]> = match known {
                Some(shares) => shares,
                None => {
                    // The field's live average length, as the weight divides it.
                    let tokens = stats.total_num_tokens(term.field())?;
                    let average = f64::from(tokens as Score / docs as Score);
                    let mut shares = Vec::with_capacity(readers.len());
                    for (reader, info) in readers.iter().zip(infos[j].iter()) {
                        // The walk only tightens a bound: a list it cannot read leaves the
                        // clause its weight, and the question its answer (the union reads
                        // the list again and says what is wrong).
                        let walked = info.as_ref().map(|info| {
                            union::segment_bound(reader, term, info, weight, bound, average)
                        });
                        shares.push(match walked {
                            Some(Ok(b)) => f64::from(b) / f64::from(bound),
                            Some(Err(e)) => {
                                tracing::warn!(
                                    segment = %reader.segment_id(),
                                    error = %e,
                                    "a term's block maxima could not be read; its bound stays its weight"
                                );
                                1.0
                            }
                            None => 1.0,
                        });
                    }
                    let shares: Arc<[f64]> = shares.into();
                    let mut cache = self.bound_shares.lock().expect("cache lock");
                    remember(&mut cache, BOUNDS_CACHED, term.clone(), shares.clone());
                    shares
                }
            };
            for (segment, share) in tight.iter_mut().zip(shares.iter()) {
                // Raised by a millionth: a share times the weight may round below the bound.
                let b = (f64::from(bound) * share * (1.0 + 1e-6)) as Score;
                segment[j] = b.min(bound);
            }
        }
        Ok(tight)
    }

    /// A query that matches any of `stems` in the weighted text fields (each stem once per
    /// field, boosted by the field's weight and the stem's own weight).
    pub fn terms_query(&self, stems: &[(String, f32)]) -> Query {
        let mut clauses = Vec::new();
        let mut terms = Vec::new();
        for (stem, weight) in stems {
            for (field, boost) in self.fields.weighted() {
                let term = Term::from_field_text(field, stem);
                terms.push(term.clone());
                clauses.push(term_clause(term, boost * weight));
            }
        }
        union_query(clauses, Some(terms))
    }

    /// Every term of `field` in any segment ([`Vocabulary`]), once merged (the reader never
    /// reloads, so it stays true); the first call sets a thread merging it and, like the
    /// calls until it is done, gets `None`.
    fn vocabulary(&self, field: Field) -> Option<Arc<Vocabulary>> {
        let mut vocabularies = self.vocabularies.lock().expect("vocabularies lock");
        if let Some(v) = vocabularies.get(&field.field_id()) {
            return v.clone();
        }
        vocabularies.insert(field.field_id(), None);
        let searcher = self.reader.searcher();
        let shared = self.vocabularies.clone();
        let merge = move || match merge_vocabulary(&searcher, field) {
            Ok(v) => {
                let mut vocabularies = shared.lock().expect("vocabularies lock");
                vocabularies.insert(field.field_id(), Some(Arc::new(v)));
            }
            // Left `None`: the searches go on walking the segments' dictionaries.
            Err(e) => tracing::warn!("the term dictionaries were not merged: {e:#}"),
        };
        if let Err(e) = std::thread::Builder::new()
            .name("vocabulary".into())
            .spawn(merge)
        {
            tracing::warn!("no thread to merge the term dictionaries: {e}");
        }
        None
    }

    /// The terms of `field` that `dfa` accepts, sorted and distinct: from its vocabulary, or
    /// from each segment's dictionary until the vocabulary is merged.
    fn spellings_in(
        &self,
        field: Field,
        dfa: &levenshtein_automata::DFA,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        if let Some(vocabulary) = self.vocabulary(field) {
            return Ok(vocabulary_spellings(&vocabulary, dfa));
        }
        segment_spellings(&self.reader.searcher(), field, dfa)
    }

    /// The close spellings of `stem` in `field` within `distance` edits: from the cache, or
    /// found by walking the field's [`Vocabulary`] with the automaton once.
    fn close_spellings(
        &self,
        field: Field,
        stem: &str,
        distance: u8,
    ) -> anyhow::Result<Arc<CloseSpellings>> {
        let key = (field.field_id(), stem.to_string(), distance);
        if let Some(c) = self.spellings.lock().expect("spellings lock").get(&key) {
            return Ok(c.clone());
        }
        let dfa = levenshtein(stem, distance)
            .with_context(|| format!("no close-spelling automaton for distance {distance}"))?;
        let keys = self.spellings_in(field, &dfa)?;
        let terms = keys
            .iter()
            .map(|k| Term::from_field_bytes(field, k))
            .collect();
        let found = Arc::new(CloseSpellings { terms, keys });
        let mut cache = self.spellings.lock().expect("spellings lock");
        remember(&mut cache, SPELLINGS_CACHED, key, found.clone());
        Ok(found)
    }

    /// The clause matching `stem`'s close spellings in `field` at a constant `score` (tantivy's
    /// `FuzzyTermQuery` boosted by `score`), with the terms it matches; `None` when no term is
    /// that close. Should the dictionary not be readable, the `FuzzyTermQuery` itself (and no
    /// terms: the query is then counted by a collector).
    fn spelling_clause(
        &self,
        field: Field,
        stem: &str,
        distance: u8,
        score: f32,
    ) -> Option<(union::Clause, Option<Vec<Term>>)> {
        let (q, terms): (Box<dyn tantivy::query::Query>, _) =
            match self.close_spellings(field, stem, distance) {
                Ok(spellings) if spellings.terms.is_empty() => return None,
                Ok(spellings) => {
                    let terms = spellings.terms.clone();
                    (
                        Box::new(CloseSpellingQuery { field, spellings }),
                        Some(terms),
                    )
                }
                Err(e) => {
                    tracing::warn!("close spellings of {stem:?} not listed: {e:#}");
                    let term = Term::from_field_text(field, stem);
                    (Box::new(FuzzyTermQuery::new(term, distance, true)), None)
                }
            };
        let clause = union::Clause {
            query: Box::new(BoostQuery::new(q, score)),
            bound: union::Bound::Constant(score),
        };
        Some((clause, terms))
    }

    /// A question's query: BM25 over the weighted fields, each spelling of each word once per
    /// field; a word with a fuzzy distance also matches its close spellings in the body and
    /// title, at [`FUZZY_BOOST`] (within [`MAX_FUZZY_WORDS`] and [`MAX_FUZZY_CHARS`]).
    pub fn words_query(&self, words: &[WordQuery<'_>]) -> Query {
        let f = self.fields;
        let fuzzy = fuzzy_allowed(
            words
                .iter()
                .enumerate()
                .filter_map(|(i, w)| Some((i, *w.stems.first()?, w.fuzzy?))),
        );
        let mut clauses = Vec::new();
        let mut terms = Some(Vec::new());
        for (i, w) in words.iter().enumerate() {
            for stem in &w.stems {
                for (field, boost) in f.weighted() {
                    let term = Term::from_field_text(field, stem);
                    if let Some(t) = &mut terms {
                        t.push(term.clone());
                    }
                    clauses.push(term_clause(term, boost));
                }
            }
            if let Some(&(_, stem, distance)) = fuzzy.iter().find(|c| c.0 == i) {
                for field in [f.body, f.title] {
                    // A word without close spellings adds no clause: one that matches
                    // nothing adds nothing to a passage's score.
                    let Some((q, matched)) =
                        self.spelling_clause(field, stem, distance, FUZZY_BOOST)
                    else {
                        continue;
                    };
                    clauses.push(q);
                    match (&mut terms, matched) {
                        (Some(t), Some(m)) => t.extend(m),
                        _ => terms = None,
                    }
                }
            }
        }
        union_query(clauses, terms)
    }

    /// Close spellings only: each `(stem, distance)` matches the words of the body and title
    /// within that edit distance (a constant score per match), within [`MAX_FUZZY_WORDS`] and
    /// [`MAX_FUZZY_CHARS`]. `None` for no words.
    pub fn spellings_query(&self, words: &[(&str, u8)]) -> Option<Query> {
        let allowed = fuzzy_allowed(words.iter().enumerate().map(|(i, &(s, d))| (i, s, d)));
        if allowed.is_empty() {
            return None;
        }
        let mut clauses = Vec::new();
        let mut terms = Some(Vec::new());
        for (_, stem, distance) in allowed {
            for field in [self.fields.body, self.fields.title] {
                if let Some((q, matched)) = self.spelling_clause(field, stem, distance, 1.0) {
                    clauses.push(q);
                    match (&mut terms, matched) {
                        (Some(t), Some(m)) => t.extend(m),
                        _ => terms = None,
                    }
                }
            }
        }
        if clauses.is_empty() {
            // No word has a close spelling: nothing matches.
            return Some(Query(
                Box::new(tantivy::query::EmptyQuery),
                Some(Vec::new()),
                Some(Vec::new()),
            ));
        }
        Some(union_query(clauses, terms))
    }

    /// Every passage.
    pub fn all(&self) -> Query {
        Query(Box::new(AllQuery), None, None)
    }

    /// The number of distinct articles (of ids below `articles`) of the passages `query`
    /// matches, counted without scoring.
    pub fn count_matching_articles(
        &self,
        snapshot: &Snapshot,
        query: &Query,
        articles: usize,
    ) -> anyhow::Result<usize> {
        let maps = self.maps(&snapshot.0)?;
        Ok(snapshot
            .0
            .search(query.0.as_ref(), &DistinctArticles { articles, maps })?)
    }

    /// The number of articles (of ids below `articles`) of the passages `query` matches, when
    /// it is a query of words ([`SearchIndex::words_query`], [`SearchIndex::terms_query`]):
    /// the passages that hold any of its terms (its words in a weighted field, their close
    /// spellings in the body or title), counted by article from the terms' posting lists
    /// (deleted documents have none). `None` for another query, or when the segments are not
    /// the ones the maps were made of (count with a collector,
    /// [`SearchIndex::count_matching_articles`]).
    ///
    /// A common word matches most passages, and visiting every match would cost more than the
    /// rest of the search (see BENCHMARKS.md, `search`): a common word's articles are counted
    /// once and remembered; the other lists are read whole, block by block, or, when one is
    /// more than [`DOCS_PER_PROBE`] times longer than the runs of articles still uncounted,
    /// probed at those runs only ([`count_list`]).
    pub fn count_articles(
        &self,
        snapshot: &Snapshot,
        query: &Query,
        articles: usize,
    ) -> anyhow::Result<Option<usize>> {
        let Some(terms) = &query.1 else {
            return Ok(None);
        };
        let searcher = &snapshot.0;
        let maps = self.maps(searcher)?;
        let maps = &maps[..];
        if !maps_fit(maps, searcher) {
            return Ok(None);
        }
        let readers = searcher.segment_readers();
        let mut seen = ArticleSet::new(articles);
        // Each term's lists, looked up once per segment: a common word's articles are
        // remembered (questions repeat the common words) while the cache has room; the other
        // terms are counted here from their lists.
        let mut listed: Vec<(Field, TermInfos)> = Vec::new();
        for term in terms {
            let infos = snapshot.term_infos(term)?;
            let docs: u64 = infos.iter().flatten().map(|i| u64::from(i.doc_freq)).sum();
            let remembered = match docs >= COMMON_WORD_DOCS {
                true => self.common_articles(searcher, maps, term, &infos, articles)?,
                false => None,
            };
            match remembered {
                Some(bits) => seen.union(&bits),
                None if docs > 0 => listed.push((term.field(), infos)),
                None => {}
            }
        }
        for (s, (reader, map)) in readers.iter().zip(maps).enumerate() {
            // The longest lists first: they count most articles, the others are then probed.
            let mut lists: Vec<(Field, &TermInfo)> = listed
                .iter()
                .filter_map(|(field, infos)| Some((*field, infos[s].as_ref()?)))
                .collect();
            lists.sort_by_key(|(_, info)| std::cmp::Reverse(info.doc_freq));
            let mut uncounted = None;
            for (field, info) in lists {
                if seen.count == articles {
                    break;
                }
                let inverted = reader.inverted_index(field)?;
                count_list(&inverted, info, map, &mut seen, &mut uncounted)?;
            }
        }
        Ok(Some(seen.count))
    }

    /// The articles with `term` (a bit each), from the cache or counted once from its lists
    /// (`infos`: its term info in each segment) and remembered; `None` when the cache has no
    /// room for them: counted alone into a set of every article, they would cost a pass over
    /// each of their lists at every question, where counted with the query's other lists,
    /// longest first, they are read only where articles are still uncounted.
    fn common_articles(
        &self,
        searcher: &tantivy::Searcher,
        maps: &[Arc<SegmentMap>],
        term: &Term,
        infos: &[Option<TermInfo>],
        articles: usize,
    ) -> anyhow::Result<Option<std::sync::Arc<[u64]>>> {
        let field = term.field();
        let key = (field.field_id(), term.serialized_value_bytes().to_vec());
        {
            let cache = self.common.lock().expect("cache lock");
            if let Some(bits) = cache.get(&key) {
                return Ok(Some(bits.clone()));
            }
            let bytes: usize = cache.values().map(|b| b.len() * 8).sum();
            if bytes + articles.div_ceil(64) * 8 > self.common_budget {
                return Ok(None);
            }
        }
        let mut set = ArticleSet::new(articles);
        for ((reader, map), info) in searcher.segment_readers().iter().zip(maps).zip(infos) {
            if let Some(info) = info {
                let inverted = reader.inverted_index(field)?;
                count_list(&inverted, info, map, &mut set, &mut None)?;
            }
        }
        let bits: std::sync::Arc<[u64]> = set.bits.into();
        let mut cache = self.common.lock().expect("cache lock");
        let bytes: usize = cache.values().map(|b| b.len() * 8).sum();
        if bytes + bits.len() * 8 <= self.common_budget {
            cache.insert(key, bits.clone());
        }
        Ok(Some(bits))
    }

    /// Restricts `query` to one article.
    pub fn in_article(&self, query: Query, article: u32) -> Query {
        let term = Term::from_field_u64(self.fields.article, self.layout.key(article));
        Query(
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, query.0),
                (Occur::Must, filter(term)),
            ])),
            None,
            None,
        )
    }

    /// `query` without the passages of one article.
    pub fn outside_article(&self, query: Query, article: u32) -> Query {
        let own = Term::from_field_u64(self.fields.article, self.layout.key(article));
        Query(
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, query.0),
                (
                    Occur::MustNot,
                    Box::new(TermQuery::new(own, IndexRecordOption::Basic)),
                ),
            ])),
            None,
            None,
        )
    }

    /// Restricts `query` to articles with `tag` (case-insensitive).
    pub fn with_tag(&self, query: Query, tag: &str) -> Query {
        let term = Term::from_field_text(self.fields.tag, &tag.to_lowercase());
        Query(
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, query.0),
                (Occur::Must, filter(term)),
            ])),
            None,
            None,
        )
    }

    /// In how many passages `stem` occurs in the body (live ones: as a fresh build counts).
    pub fn doc_freq(&self, snapshot: &Snapshot, stem: &str) -> u64 {
        let term = Term::from_field_text(self.fields.body, stem);
        let Ok(maps) = self.maps(&snapshot.0) else {
            return 0;
        };
        self.live_doc_freq(snapshot, &maps, &term).unwrap_or(0)
    }

    /// Size of the index files in bytes (0 in memory).
    pub fn size_on_disk(&self) -> u64 {
        self.reader
            .searcher()
            .space_usage()
            .map(|u| u.total().get_bytes())
            .unwrap_or(0)
    }
}

/// BM25's statistics over the live documents: what a fresh build of the same articles
/// counts (see the module).
struct LiveStats<'a> {
    index: &'a SearchIndex,
    snapshot: &'a Snapshot,
    maps: &'a [Arc<SegmentMap>],
    /// The document frequencies asked for once (a union's bounds ask them again).
    doc_freqs: Mutex<FxHashMap<Term, u64>>,
}

impl Bm25StatisticsProvider for LiveStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self.index.tokens.get(&self.index.fields, field) {
            Some(n) => Ok(n),
            None => self.snapshot.0.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.snapshot.0.num_docs())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        if let Some(&df) = self.doc_freqs.lock().expect("doc freqs lock").get(term) {
            return Ok(df);
        }
        let df = self.index.live_doc_freq(self.snapshot, self.maps, term)?;
        self.doc_freqs
            .lock()
            .expect("doc freqs lock")
            .insert(term.clone(), df);
        Ok(df)
    }
}

/// A clause that restricts without scoring.
fn filter(term: Term) -> Box<dyn tantivy::query::Query> {
    Box::new(ConstScoreQuery::new(
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        0.0,
    ))
}

/// Counts the distinct articles of the matching passages, without scoring: a bit per
/// article, since common words match most passages (see BENCHMARKS.md, `search`).
struct DistinctArticles {
    articles: usize,
    maps: Arc<[Arc<SegmentMap>]>,
}

struct DistinctSegment {
    map: Arc<SegmentMap>,
    seen: Vec<u64>,
}

impl Collector for DistinctArticles {
    type Fruit = usize;
    type Child = DistinctSegment;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<DistinctSegment> {
        let map = self
            .maps
            .get(ord as usize)
            .filter(|m| m.segment == reader.segment_id())
            .cloned()
            .ok_or_else(|| tantivy::TantivyError::InternalError("unknown segment".into()))?;
        Ok(DistinctSegment {
            map,
            seen: vec![0; self.articles.div_ceil(64)],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<usize> {
        let mut all = vec![0u64; self.articles.div_ceil(64)];
        for f in fruits {
            for (a, b) in all.iter_mut().zip(f) {
                *a |= b;
            }
        }
        Ok(all.iter().map(|w| w.count_ones() as usize).sum())
    }
}

impl SegmentCollector for DistinctSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let v = self.map.article[doc as usize] as usize;
        if let Some(word) = self.seen.get_mut(v / 64) {
            *word |= 1 << (v % 64);
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.seen
    }
}

fn meta_text(a: &Article) -> String {
    let mut s = String::new();
    if let Some(summary) = &a.summary {
        s.push_str(summary);
        s.push('\n');
    }
    for t in a.tags.iter().chain(&a.aliases) {
        s.push_str(t);
        s.push('\n');
    }
    s
}

/// Inverse document frequency, BM25's form, from a document frequency and a document count.
pub fn idf(doc_freq: u64, num_docs: u64) -> f32 {
    let n = num_docs.max(1) as f32;
    let df = doc_freq as f32;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng};

    /// A number below `n`, small ones far more often (a vocabulary's ranks).
    fn skewed(rng: &mut StdRng, n: usize) -> usize {
        let u: f64 = rng.gen();
        ((n as f64) * u * u * u) as usize
    }

    /// `k` words of [`word`]'s vocabulary, the common ones far more often.
    fn words(k: usize, rng: &mut StdRng) -> String {
        (0..k)
            .map(|_| word(skewed(rng, VOCABULARY)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Word `i` of a vocabulary of syllables (close spellings of one another abound).
    fn word(i: usize) -> String {
        const SYLLABLES: [&str; 12] = [
            "ba", "ke", "mi", "lo", "ru", "sa", "te", "vo", "ni", "pa", "go", "du",
        ];
        let mut w = String::new();
        let mut i = i + 12;
        while i > 0 {
            w.push_str(SYLLABLES[i % 12]);
            i /= 12;
        }
        w
    }

    const VOCABULARY: usize = 600;

    /// `n` articles of a few short sections of words drawn from [`word`]'s vocabulary, and
    /// their passages (about one a paragraph, so that the index has many documents); `edit`
    /// changes the text of the articles it names.
    fn collection(
        n: usize,
        seed: u64,
        edit: &dyn Fn(usize) -> bool,
    ) -> (Vec<Article>, Vec<Passage>) {
        let settings = crate::config::Settings::for_content(".").content;
        let mut rng = StdRng::seed_from_u64(seed);
        let articles: Vec<Article> = (0..n)
            .map(|i| {
                let mut source = format!(
                    "+++\ntitle = \"{}\"\ntags = [\"{}\"]\n+++\n\n",
                    words(3, &mut rng),
                    word(i % 7)
                );
                for _ in 0..3 {
                    source.push_str(&format!("## {}\n\n", words(2, &mut rng)));
                    for _ in 0..3 {
                        let len = rng.gen_range(5..30);
                        source.push_str(&words(len, &mut rng));
                        source.push_str(".\n\n");
                    }
                }
                if edit(i) {
                    // Drawn apart, so that the other articles stay as they were.
                    let mut own = StdRng::seed_from_u64(seed ^ (i as u64 + 1) << 20);
                    source.push_str(&format!("{} edited.\n", words(40, &mut own)));
                }
                crate::content::parse_article(
                    &settings,
                    Path::new(&format!("a{i}.md")),
                    crate::content::Format::Markdown,
                    &source,
                )
                .expect("an article")
            })
            .collect();
        let passages = crate::passage::cut_passages(&articles, 10);
        (articles, passages)
    }

    fn stem(w: &str) -> String {
        crate::text::tokenize(w).remove(0).stem
    }

    thread_local! {
        /// The searches `index/union.rs` answered on this thread (a test's own).
        pub(super) static UNION_SEARCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// What `search` gives, which must have been found by the union's bounds (not by
    /// tantivy's exhaustive search, which `top_passages` falls back to).
    fn searched_by_bounds<T>(search: impl FnOnce() -> anyhow::Result<T>) -> T {
        let before = UNION_SEARCHES.with(std::cell::Cell::get);
        let found = search().unwrap();
        assert_eq!(
            UNION_SEARCHES.with(std::cell::Cell::get),
            before + 1,
            "searched by the union's bounds"
        );
        found
    }

    /// A collection of paragraphs only: no front matter (no summary, tags or aliases) and no
    /// headings, so that the section and meta fields hold no word in any passage.
    #[test]
    fn a_collection_without_headings_or_tags_is_searched_by_bounds() {
        let settings = crate::config::Settings::for_content(".").content;
        let mut rng = StdRng::seed_from_u64(5);
        let articles: Vec<Article> = (0..400)
            .map(|i| {
                let text: Vec<String> = (0..3)
                    .map(|_| {
                        let len = rng.gen_range(5..30);
                        words(len, &mut rng)
                    })
                    .collect();
                crate::content::parse_article(
                    &settings,
                    Path::new(&format!("a{i}.txt")),
                    crate::content::Format::PlainText,
                    &format!("Note {i}\n\n{}.\n", text.join(".\n\n")),
                )
                .expect("an article")
            })
            .collect();
        assert!(articles
            .iter()
            .all(|a| a.tags.is_empty() && a.sections.iter().all(|s| s.heading.is_none())));
        let passages = crate::passage::cut_passages(&articles, 10);
        let index =
            SearchIndex::build(Target::Memory, &articles, &passages, 1, &NoProgress).unwrap();
        let snap = index.snapshot();
        let stems: Vec<String> = [0, 3, 50, 400].iter().map(|&i| stem(&word(i))).collect();
        let words: Vec<WordQuery> = stems
            .iter()
            .map(|s| WordQuery {
                stems: vec![s.as_str()],
                fuzzy: None,
            })
            .collect();
        let query = index.words_query(&words);
        let exhaustive = Query(query.0.box_clone(), None, None);
        for limit in [1, 10, 100] {
            let fast = searched_by_bounds(|| index.top_passages(&snap, &query, limit));
            let all = index.top_passages(&snap, &exhaustive, limit).unwrap();
            assert!(!all.is_empty());
            assert_eq!(bits(&fast), bits(&all), "limit {limit}");
        }
    }

    /// Scores as bits: equal means the same float.
    fn bits(hits: &[(u32, f32)]) -> Vec<(u32, u32)> {
        hits.iter().map(|&(id, s)| (id, s.to_bits())).collect()
    }

    /// An index of `collection(n, seed)` built whole, then updated with the articles `edited`
    /// picks read again: several segments, with deleted documents. With the new articles
    /// and passages.
    fn edited_collection(
        n: usize,
        seed: u64,
        edited: &dyn Fn(usize) -> bool,
    ) -> (SearchIndex, Vec<Article>, Vec<Passage>) {
        let (articles, passages) = collection(n, seed, &|_| false);
        let built =
            SearchIndex::build(Target::Memory, &articles, &passages, 1, &NoProgress).unwrap();
        let (new_articles, new_passages) = collection(n, seed, edited);
        let old_layout = Layout::new(&articles, &passages).unwrap();
        let shared: Vec<Arc<Article>> = new_articles.iter().cloned().map(Arc::new).collect();
        let change = Change {
            articles: &shared,
            passages: &new_passages,
            gone: (0..articles.len())
                .filter(|&i| edited(i))
                .map(|i| {
                    let range = old_layout.first[i] as usize..old_layout.first[i + 1] as usize;
                    (&articles[i], &passages[range])
                })
                .collect(),
            added: (0..new_articles.len() as u32)
                .filter(|&i| edited(i as usize))
                .collect(),
        };
        let index = built.update(&change).unwrap();
        (index, new_articles, new_passages)
    }

    /// A segment's map, read a chunk of documents at a time (a few documents a chunk in the
    /// unit tests), is the map read one document at a time by its definition: each live
    /// document's article (by its key) and passage (its article's first plus its place), none
    /// for a deleted one; and each mapped passage belongs to the article it is mapped with.
    #[test]
    fn segment_maps_read_in_chunks_are_the_maps_read_document_by_document() {
        let (index, _, new_passages) = edited_collection(300, 5, &|i| i % 3 == 1);
        let snap = index.snapshot();
        let maps = index.maps(&snap.0).unwrap();
        let layout = &index.layout;
        let mut deleted_seen = 0;
        for (reader, map) in snap.0.segment_readers().iter().zip(maps.iter()) {
            let keys = reader.fast_fields().u64("article").unwrap();
            let places = reader.fast_fields().u64("passage").unwrap();
            assert!(reader.max_doc() as usize > MAP_CHUNK, "several chunks");
            let mut deleted = Vec::new();
            for d in 0..reader.max_doc() {
                let (a, p) = if reader.alive_bitset().is_some_and(|b| !b.is_alive(d)) {
                    deleted.push(d);
                    (NO_ARTICLE, NO_ARTICLE)
                } else {
                    let a = layout.by_key[&keys.first(d).unwrap()];
                    let p = layout.first[a as usize] + places.first(d).unwrap() as u32;
                    assert!(p < layout.first[a as usize + 1]);
                    assert_eq!(new_passages[p as usize].article, a);
                    (a, p)
                };
                assert_eq!((map.article[d as usize], map.passage[d as usize]), (a, p));
            }
            assert_eq!(map.deleted, deleted);
            deleted_seen += deleted.len();
        }
        assert!(deleted_seen > 0, "deleted documents among the chunks");
    }

    /// A term's bound in a segment from its blocks' maxima (`union::segment_bound`) is at least
    /// every live score of the term there, in segments whose average lengths are not the live
    /// ones (several segments, deleted documents), and tighter than its weight for most lists
    /// of several blocks.
    #[test]
    fn a_terms_bound_in_a_segment_holds_every_score_and_is_tighter_than_its_weight() {
        let (index, _, _) = edited_collection(1300, 7, &|i| i % 5 == 2);
        let snap = index.snapshot();
        let maps = index.maps(&snap.0).unwrap();
        let stats = LiveStats {
            index: &index,
            snapshot: &snap,
            maps: &maps,
            doc_freqs: Mutex::new(FxHashMap::default()),
        };
        let docs = stats.total_num_docs().unwrap();
        let (mut lists, mut tighter, mut at_most) = (0, 0, 0);
        for i in 0..VOCABULARY {
            for (field, boost) in index.fields.weighted() {
                let term = Term::from_field_text(field, &stem(&word(i)));
                let weight =
                    tantivy::query::Bm25Weight::for_terms(&stats, std::slice::from_ref(&term))
                        .unwrap()
                        .boost_by(boost);
                let bound = union::term_bound(&stats, &term, boost).unwrap();
                let tokens = stats.total_num_tokens(field).unwrap();
                let average = f64::from(tokens as Score / docs as Score);
                let infos = snap.term_infos(&term).unwrap();
                for (reader, info) in snap.0.segment_readers().iter().zip(infos.iter()) {
                    let Some(info) = info else {
                        continue;
                    };
                    let tight =
                        union::segment_bound(reader, &term, info, &weight, bound, average).unwrap();
                    let fieldnorms = reader
                        .fieldnorms_readers()
                        .get_field(field)
                        .unwrap()
                        .unwrap();
                    let mut block = reader
                        .inverted_index(field)
                        .unwrap()
                        .read_block_postings_from_terminfo(info, IndexRecordOption::WithFreqs)
                        .unwrap();
                    let mut most: Score = 0.0;
                    while !block.docs().is_empty() {
                        for (k, &doc) in block.docs().iter().enumerate() {
                            let score = weight.score(fieldnorms.fieldnorm_id(doc), block.freq(k));
                            assert!(score <= tight, "{term:?}: {score} above {tight}");
                            most = most.max(score);
                        }
                        block.advance();
                    }
                    if info.doc_freq >= 2 * 128 {
                        lists += 1;
                        tighter += usize::from(tight < 0.9 * bound);
                        at_most += usize::from(tight <= most * 1.001);
                    }
                }
            }
        }
        assert!(lists >= 100, "{lists} lists of several blocks");
        assert!(
            tighter * 2 > lists,
            "{tighter} of {lists} bounds tighter than the weight"
        );
        // The last block's documents are scored as they are: some bounds are reached.
        assert!(at_most > 0, "no bound is reached");
    }

    /// A union's best passages are found without scoring every match (`index/union.rs`):
    /// they must be the ones, with the very scores, that tantivy's exhaustive search gives,
    /// on an index of several segments of several windows of documents, with deleted
    /// documents, for queries of words, of weighted stems and of close spellings.
    #[test]
    fn a_union_has_the_best_passages_of_the_exhaustive_search() {
        let (index, new_articles, new_passages) = edited_collection(1300, 7, &|i| i % 5 == 2);
        let snap = index.snapshot();
        assert!(snap.0.segment_readers().len() >= 2, "several segments");
        assert!(snap.0.segment_readers().iter().any(|r| r.has_deletes()));
        assert!(
            snap.0
                .segment_readers()
                .iter()
                .any(|r| r.max_doc() > 2 * 4096),
            "a segment of several windows: {:?}",
            snap.0
                .segment_readers()
                .iter()
                .map(|r| r.max_doc())
                .collect::<Vec<_>>()
        );
        // The same index with no room to remember a common word's articles: they are counted
        // with the query's other lists.
        let mut uncached = SearchIndex::from_index(
            index.index.clone(),
            index.fields,
            (*index.layout).clone(),
            Some(index.tokens),
        )
        .unwrap();
        uncached.common_budget = 0;
        let uncached_snap = uncached.snapshot();
        let mut rng = StdRng::seed_from_u64(99);
        let mut checked = 0;
        let mut lists_counted = 0;
        let mut common_counted = 0;
        for round in 0..160 {
            let n = rng.gen_range(1..15);
            let stems: Vec<String> = (0..n)
                .map(|_| {
                    // Common words, rare ones, and now and then one no passage holds.
                    let i = if rng.gen_ratio(1, 3) {
                        rng.gen_range(0..2 * VOCABULARY)
                    } else {
                        skewed(&mut rng, VOCABULARY)
                    };
                    stem(&word(i))
                })
                .collect();
            let query = match round % 4 {
                0 | 1 => {
                    let words: Vec<WordQuery> = stems
                        .iter()
                        .map(|s| WordQuery {
                            stems: vec![s.as_str()],
                            fuzzy: (index.doc_freq(&snap, s) == 0).then_some(1 + (round % 2) as u8),
                        })
                        .collect();
                    index.words_query(&words)
                }
                2 => {
                    let weighted: Vec<(String, f32)> = stems
                        .iter()
                        .map(|s| (s.clone(), 0.5 + rng.gen_range(0..100) as f32 / 40.0))
                        .collect();
                    index.terms_query(&weighted)
                }
                _ => {
                    let words: Vec<(&str, u8)> = stems.iter().map(|s| (s.as_str(), 1)).collect();
                    index.spellings_query(&words).unwrap()
                }
            };
            assert!(query.2.is_some());
            let exhaustive = Query(query.0.box_clone(), None, None);
            for limit in [1, 3, 24, 65, 400] {
                let fast = searched_by_bounds(|| index.top_passages(&snap, &query, limit));
                let all = index.top_passages(&snap, &exhaustive, limit).unwrap();
                assert_eq!(bits(&fast), bits(&all), "query {stems:?}, limit {limit}");
                checked += usize::from(!all.is_empty());
            }
            // The best articles: the articles of every match's passage, in the order of their
            // first (best) passage.
            let every = index
                .top_passages(&snap, &exhaustive, snap.num_docs() as usize)
                .unwrap();
            let mut grouped: Vec<(u32, u32, u32)> = Vec::new();
            for &(id, score) in &every {
                let article = new_passages[id as usize].article;
                if grouped.iter().all(|g| g.0 != article) {
                    grouped.push((article, id, score.to_bits()));
                }
            }
            for limit in [1, 3, 10, 40] {
                let fast = searched_by_bounds(|| {
                    Ok(index.top_articles(&snap, &query, limit)?.expect("a union"))
                });
                let fast: Vec<(u32, u32, u32)> =
                    fast.iter().map(|&(a, p, s)| (a, p, s.to_bits())).collect();
                let expected = &grouped[..limit.min(grouped.len())];
                assert_eq!(fast, expected, "query {stems:?}, {limit} articles");
            }
            // The article count from the lists is the collector's.
            let counted = index
                .count_articles(&snap, &query, new_articles.len())
                .unwrap();
            if let Some(counted) = counted {
                assert_eq!(counted, grouped.len(), "query {stems:?}");
                lists_counted += 1;
                let without_cache = uncached
                    .count_articles(&uncached_snap, &query, new_articles.len())
                    .unwrap();
                assert_eq!(without_cache, Some(counted), "query {stems:?}, uncached");
                let common = query
                    .1
                    .iter()
                    .flatten()
                    .any(|t| snap.0.doc_freq(t).unwrap() >= COMMON_WORD_DOCS);
                common_counted += usize::from(common);
            }
            assert_eq!(
                index
                    .count_matching_articles(&snap, &exhaustive, new_articles.len())
                    .unwrap(),
                grouped.len()
            );
        }
        assert!(checked > 500, "{checked} searches found something");
        assert!(
            lists_counted > 100,
            "{lists_counted} counted from the lists"
        );
        assert!(common_counted > 20, "{common_counted} with a common word");
    }

    /// A word's close spellings, looked up in the merged vocabulary or in every segment's
    /// dictionary, are the same, and match the documents and scores of tantivy's
    /// `FuzzyTermQuery`.
    #[test]
    fn close_spellings_match_tantivys_fuzzy_query_in_every_segment() {
        let (index, _, _) = edited_collection(500, 11, &|i| i % 4 == 1);
        let searcher = &index.snapshot().0;
        assert!(searcher.segment_readers().len() >= 2, "several segments");
        let fields = [index.fields.body, index.fields.title];
        let merged: Vec<Vocabulary> = fields
            .iter()
            .map(|&f| merge_vocabulary(searcher, f).unwrap())
            .collect();
        let mut rng = StdRng::seed_from_u64(3);
        let mut matched = 0;
        for round in 0..60 {
            let mut w = word(rng.gen_range(0..2 * VOCABULARY));
            // A letter dropped, doubled or changed now and then: words no passage holds.
            let at = rng.gen_range(0..w.len());
            match round % 4 {
                0 => {
                    w.remove(at);
                }
                1 => w.insert(at, 'k'),
                2 => w.replace_range(at..at + 1, "z"),
                _ => {}
            }
            let distance = 1 + (round % 2) as u8;
            let dfa = levenshtein(&w, distance).unwrap();
            for (&field, vocabulary) in fields.iter().zip(&merged) {
                let keys = vocabulary_spellings(vocabulary, &dfa);
                assert_eq!(
                    keys,
                    segment_spellings(searcher, field, &dfa).unwrap(),
                    "{w:?} within {distance}"
                );
                let terms = keys
                    .iter()
                    .map(|k| Term::from_field_bytes(field, k))
                    .collect();
                let spellings = Arc::new(CloseSpellings { terms, keys });
                let ours = BoostQuery::new(
                    Box::new(CloseSpellingQuery { field, spellings }),
                    FUZZY_BOOST,
                );
                let term = Term::from_field_text(field, &w);
                let fuzzy = BoostQuery::new(
                    Box::new(FuzzyTermQuery::new(term, distance, true)),
                    FUZZY_BOOST,
                );
                let all = TopDocs::with_limit(searcher.num_docs() as usize);
                let found = |q: &dyn tantivy::query::Query| -> Vec<(u32, u32, DocId)> {
                    let mut hits: Vec<(u32, u32, DocId)> = searcher
                        .search(q, &all)
                        .unwrap()
                        .into_iter()
                        .map(|(s, a)| (s.to_bits(), a.segment_ord, a.doc_id))
                        .collect();
                    hits.sort_unstable();
                    hits
                };
                let expected = found(&fuzzy);
                assert_eq!(found(&ours), expected, "{w:?} within {distance}");
                matched += usize::from(!expected.is_empty());
            }
        }
        assert!(matched > 40, "{matched} spellings matched");
        // The index's own: merged on a thread after the first ask, walked once there.
        assert!(index.vocabulary(index.fields.body).is_none());
        let mut waited = 0;
        let vocabulary = loop {
            if let Some(v) = index.vocabulary(index.fields.body) {
                break v;
            }
            assert!(waited < 600, "the vocabulary was not merged");
            std::thread::sleep(std::time::Duration::from_millis(50));
            waited += 1;
        };
        let keys =
            |v: &Vocabulary| tantivy_fst::IntoStreamer::into_stream(v.stream()).into_byte_keys();
        assert_eq!(keys(&vocabulary), keys(&merged[0]));
    }

    #[test]
    fn text_tokenizer_matches_the_index_analyzer() {
        let mut analyzer = analyzer();
        let sample = "Running DOGS' caffeine half-life, naïve café 1937 — Pokémon, Ærø, Straße, \
                      ÉCOLE ﬁnal Ωmega, supercalifragilisticexpialidociouslyextraordinarilylong \
                      word, U.S. e.g. çàéèñøüÿ";
        let mut stream = analyzer.token_stream(sample);
        let mut theirs = Vec::new();
        while let Some(t) = stream.next() {
            theirs.push((t.offset_from..t.offset_to, t.text.clone()));
        }
        let ours: Vec<_> = crate::text::tokenize(sample)
            .into_iter()
            .map(|t| (t.span, t.stem))
            .collect();
        assert_eq!(ours, theirs);
    }

    /// Every term of every weighted field of `index`'s segments, with its documents, their
    /// term frequencies and positions, each field's token count and its documents' field
    /// norms: what two indexes of the same documents must agree on.
    fn postings(index: &SearchIndex) -> Vec<String> {
        let searcher = index.reader.searcher();
        let mut out = Vec::new();
        for (s, r) in searcher.segment_readers().iter().enumerate() {
            for (field, _) in index.fields.weighted() {
                let inverted = r.inverted_index(field).unwrap();
                let positions = field == index.fields.title || field == index.fields.body;
                out.push(format!(
                    "segment {s} {field:?}: {} tokens, {} documents",
                    inverted.total_num_tokens(),
                    r.max_doc()
                ));
                let mut terms = inverted.terms().stream().unwrap();
                while terms.advance() {
                    let option = if positions {
                        IndexRecordOption::WithFreqsAndPositions
                    } else {
                        IndexRecordOption::WithFreqs
                    };
                    let mut p = inverted
                        .read_postings_from_terminfo(terms.value(), option)
                        .unwrap();
                    let mut docs = Vec::new();
                    while p.doc() != TERMINATED {
                        let mut at = Vec::new();
                        if positions {
                            tantivy::postings::Postings::positions(&mut p, &mut at);
                        }
                        docs.push((p.doc(), tantivy::postings::Postings::term_freq(&p), at));
                        p.advance();
                    }
                    out.push(format!(
                        "{:?} {} {docs:?}",
                        String::from_utf8_lossy(terms.key()),
                        terms.value().doc_freq
                    ));
                }
                let norms = r.get_fieldnorms_reader(field).unwrap();
                let ids: Vec<u8> = (0..r.max_doc()).map(|d| norms.fieldnorm_id(d)).collect();
                out.push(format!("norms {ids:?}"));
            }
        }
        out
    }

    #[test]
    fn every_index_a_build_an_open_or_an_update_reads_replays_stems() {
        use tantivy::tokenizer::TokenStream as _;
        // A word the analyzer drops still takes its place: read as a plain text, a stems'
        // text would lose it and move the words after it.
        let text = format!(
            "Running {} \u{3A3}\u{3A5}\u{3A6}\u{39F}\u{3A3} caf\u{E9}s, the runners",
            "x".repeat(MAX_TOKEN_BYTES)
        );
        let text = text.as_str();
        let mut stems = Stems::default();
        analyzer::stems_by_the_analyzer(text, &mut stems);
        let tokens = |index: &SearchIndex, text: &str| {
            let mut tokenizer = index.index.tokenizers().get(TOKENIZER).unwrap();
            let mut stream = tokenizer.token_stream(text);
            let mut out = Vec::new();
            while stream.advance() {
                out.push((stream.token().text.clone(), stream.token().position));
            }
            out
        };
        let expected = {
            let mut analyzer = analyzer();
            let mut stream = analyzer.token_stream(text);
            let mut out = Vec::new();
            while stream.advance() {
                out.push((stream.token().text.clone(), stream.token().position));
            }
            out
        };
        assert!(!expected.is_empty());
        let replays = |index: &SearchIndex, what: &str| {
            assert_eq!(tokens(index, stems.as_str()), expected, "{what}: stems");
            assert_eq!(tokens(index, text), expected, "{what}: plain text");
        };
        let (articles, passages) = collection(4, 3, &|_| false);
        let dir = tempfile::tempdir().unwrap();
        let built = SearchIndex::build(
            Target::Dir(dir.path()),
            &articles,
            &passages,
            1,
            &NoProgress,
        )
        .unwrap();
        replays(&built, "built");
        let layout = Layout::new(&articles, &passages).unwrap();
        let opened = SearchIndex::open(dir.path(), layout, None).unwrap();
        replays(&opened, "opened");
        // An in-memory update writes to a clone of the index it updates (clones share their
        // tokenizers) and opens the result: both read stems still.
        let (updated, _, _) = edited_collection(4, 3, &|i| i == 1);
        replays(&updated, "updated");
    }

    #[test]
    fn analysed_texts_index_as_the_texts_themselves() {
        let settings = crate::config::Settings::for_content(".").content;
        let long = "x".repeat(MAX_TOKEN_BYTES);
        let source = format!(
            "+++\ntitle = \"Running {long} Pokémon cafés\"\ntags = [\"Night trains\", \"café\"]\n\
             aliases = [\"the {long} runners\"]\nsummary = \"Cafés and {long}\"\n+++\n\n\
             Intro: runners RUN, running 1999 ΣΊΣΥΦΟΣ naïveté {long} {long}.\n\n\
             ## Cafés of {long} Vienna\n\nThe café, the CAFÉ and the cafe: coffee, coffees.\n\n\
             - Trains at night {long}\n- Sleeper trains, couchettes\n\n## Empty\n\n## Last\n\n\
             {long} Words again: running, runners, Pokémon, pokemon, trains.\n\n\
             More words, more passages: {}.\n",
            "trains and cafés ".repeat(40)
        );
        let mut a = crate::content::parse_article(
            &settings,
            Path::new("a.md"),
            crate::content::Format::Markdown,
            &source,
        )
        .unwrap();
        assert!(a.summary.is_some() && !a.aliases.is_empty());
        let mut b = a.clone();
        b.slug = "b".into();
        // A title that starts with a tag's character is still the text it is.
        b.title = format!("\u{1}{}", b.title);
        a.slug = "a".into();
        let (mut articles, _) = collection(3, 7, &|_| false);
        articles.insert(0, a);
        articles.push(b);
        let passages = crate::passage::cut_passages(&articles, 12);
        let layout = Layout::new(&articles, &passages).unwrap();
        let build = |analysed: bool| {
            let mut indexer = Indexer::new(Target::Memory, 1).unwrap();
            for (id, a) in articles.iter().enumerate() {
                let range = layout.first[id] as usize..layout.first[id + 1] as usize;
                if analysed {
                    let texts = AnalysedArticle::of(a, |_, text, stems| {
                        analyzer::stems_by_the_analyzer(text, stems)
                    });
                    indexer.add_analysed(a, &passages[range], &texts).unwrap();
                } else {
                    indexer.add_article(a, &passages[range]).unwrap();
                }
            }
            indexer.finish(layout.clone()).unwrap()
        };
        let (plain, analysed) = (build(false), build(true));
        assert!(passages.len() > 20, "{}", passages.len());
        assert_eq!(plain.reader.searcher().segment_readers().len(), 1);
        let expected = postings(&plain);
        assert!(
            expected.iter().any(|l| l.starts_with("\"run\" ")),
            "{expected:?}"
        );
        assert_eq!(postings(&analysed), expected);
        assert_eq!(analysed.tokens(), plain.tokens());
    }

    #[test]
    fn close_spellings_are_searched_for_few_short_words() {
        let allowed = |words: &[&str]| -> Vec<usize> {
            fuzzy_allowed(words.iter().enumerate().map(|(i, w)| (i, *w, 2)))
                .into_iter()
                .map(|c| c.0)
                .collect()
        };
        let long = "a".repeat(MAX_FUZZY_CHARS + 1);
        let longest = "b".repeat(MAX_FUZZY_CHARS);
        assert_eq!(allowed(&[&long, &longest, "typo"]), [1, 2]);
        let many: Vec<String> = (0..24).map(|i| format!("unknownword{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(allowed(&many), (0..MAX_FUZZY_WORDS).collect::<Vec<_>>());
        let noise = [long.as_str(); 24];
        assert!(allowed(&noise).is_empty());
    }
}
