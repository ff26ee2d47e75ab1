//! The best passages of a union of clauses (a query of words or of close spellings): the
//! passages and the scores, to the bit, that tantivy's `TopDocs` gives for the `BooleanQuery`
//! of the same `Should` clauses, without scoring every passage that holds a common word.
//!
//! tantivy scores such a union with its `BufferedUnionScorer`: windows of 4,096 documents,
//! each starting at the smallest document a clause is on; in a window every clause in turn adds
//! the scores of its documents there, and a clause with no document left is taken out of the
//! list by `swap_remove` (the last clause moves into its place, and is the next one read). A
//! passage's score is the sum of its clauses' scores in that order, and a sum of floats depends
//! on its order. Here the same windows are taken and the same order kept, but within a window
//! only the clauses that could bring a passage into the best are read whole (MaxScore: the
//! clauses of smallest bound whose bounds sum below the weakest score kept are read lazily,
//! at the documents the others found and at the window's end), and each passage found is then
//! summed in tantivy's order: the same scores, so the same best passages, ties in passage
//! order as [`super::SearchIndex::top_passages`] orders them. A long question starts from a
//! seed ([`seed`]): a score its best passages are known to reach, found from its rarest words
//! alone, so that its common words are read lazily from the first window on. `search` keeps
//! the best articles instead ([`BestArticles`]: each by its best passage), whose weakest is a
//! higher bar than the weakest of the many passages it would otherwise group.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

use rustc_hash::FxHashMap;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{BlockSegmentPostings, TermInfo};
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

/// tantivy's `BufferedUnionScorer` window: 64 words of 64 bits.
const HORIZON: DocId = 64 * 64;

/// A passage is passed over only when its bound falls short of the weakest score kept by this
/// share of it: sums of the same scores in other orders differ in their last bits, never by this.
const ROOM: Score = 1e-4;

/// What a clause can add to a passage's score at most.
#[derive(Debug, Clone)]
pub(super) enum Bound {
    /// A term's BM25 score, boosted: at most its weight ([`term_bound`]).
    Term(Term, Score),
    /// A constant score (close spellings).
    Constant(Score),
}

/// One `Should` clause of a union, and its bound.
#[derive(Debug)]
pub(super) struct Clause {
    pub query: Box<dyn tantivy::query::Query>,
    pub bound: Bound,
}

impl Clone for Clause {
    fn clone(&self) -> Clause {
        Clause {
            query: self.query.box_clone(),
            bound: self.bound.clone(),
        }
    }
}

/// The most the term query of `term` boosted by `boost` scores a document: BM25's weight, which
/// a score reaches only as the term frequency grows without end (tantivy's own `max_score`
/// takes its term frequency in the longest field, which a short one passes).
pub(super) fn term_bound(
    stats: &dyn Bm25StatisticsProvider,
    term: &Term,
    boost: Score,
) -> tantivy::Result<Score> {
    // The weight is the IDF × (1 + k1) × the boost whatever the field's average length, made
    // as the term query makes it; the average only shapes the length factor. Taken from the
    // field's own statistics, a field no passage has a word in (no headings, no summary or
    // tags in the whole collection) has an average of 0 / n, its factors are NaN, and the
    // bound would be too: the whole query would then leave this search for tantivy's.
    let weight = Bm25Weight::for_one_term(stats.doc_freq(term)?, stats.total_num_docs()?, 1.0)
        .boost_by(boost);
    // The shortest field (fieldnorm id 0) and the largest term frequency: the factor
    // tf / (tf + norm) is 1.0 in floats, and every score is weight × a factor below 1.
    Ok(weight.score(0, u32::MAX))
}

/// A passage kept: its score and id, ordered worst first (lowest score, then highest id).
#[derive(Debug, Clone, Copy)]
struct Kept {
    score: Score,
    id: u32,
}

impl PartialEq for Kept {
    fn eq(&self, other: &Kept) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Kept) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    /// Greater is worse, so that the heap's top is the weakest passage kept.
    fn cmp(&self, other: &Kept) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

/// What a union's search keeps of the passages it scores.
pub(super) trait Keep {
    /// Whether it keeps one passage per article (the seed is then the `limit`-th best
    /// article's).
    const BY_ARTICLE: bool;

    /// How many passages (or articles) it keeps.
    fn limit(&self) -> usize;

    /// The weakest score kept, once `limit` are: a passage below it cannot enter.
    fn threshold(&self) -> Option<Score>;

    /// Passage `id` of `article`, scoring `score`.
    fn push(&mut self, score: Score, id: u32, article: u32);
}

/// The best `limit` passages seen, by score and then passage id.
pub(super) struct Best {
    limit: usize,
    heap: BinaryHeap<Kept>,
}

impl Best {
    pub(super) fn new(limit: usize) -> Best {
        Best {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
        }
    }

    /// `(passage id, score)`, best first, ties in passage order.
    pub(super) fn into_sorted(self) -> Vec<(u32, Score)> {
        let mut out: Vec<Kept> = self.heap.into_vec();
        out.sort();
        out.into_iter().map(|k| (k.id, k.score)).collect()
    }
}

impl Keep for Best {
    const BY_ARTICLE: bool = false;

    fn limit(&self) -> usize {
        self.limit
    }

    fn threshold(&self) -> Option<Score> {
        (self.heap.len() >= self.limit)
            .then(|| self.heap.peek().map(|k| k.score))
            .flatten()
    }

    fn push(&mut self, score: Score, id: u32, _article: u32) {
        let kept = Kept { score, id };
        if self.heap.len() < self.limit {
            self.heap.push(kept);
        } else if self.heap.peek().is_some_and(|worst| kept < *worst) {
            self.heap.pop();
            self.heap.push(kept);
        }
    }
}

/// The best `limit` articles seen, each by its best passage (by score, then passage id): the
/// first `limit` articles of the best passages' list, each where its first passage is, without
/// the passages of the same articles below them.
pub(super) struct BestArticles {
    limit: usize,
    /// The passage kept of each article, worst last.
    kept: BTreeSet<(Kept, u32)>,
    of: FxHashMap<u32, Kept>,
}

impl BestArticles {
    pub(super) fn new(limit: usize) -> BestArticles {
        BestArticles {
            limit,
            kept: BTreeSet::new(),
            of: FxHashMap::default(),
        }
    }

    /// `(article, passage id, score)`, best first, ties in passage order.
    pub(super) fn into_sorted(self) -> Vec<(u32, u32, Score)> {
        self.kept
            .into_iter()
            .map(|(k, article)| (article, k.id, k.score))
            .collect()
    }
}

impl Keep for BestArticles {
    const BY_ARTICLE: bool = true;

    fn limit(&self) -> usize {
        self.limit
    }

    fn threshold(&self) -> Option<Score> {
        (self.kept.len() >= self.limit)
            .then(|| self.kept.last().map(|(k, _)| k.score))
            .flatten()
    }

    fn push(&mut self, score: Score, id: u32, article: u32) {
        let kept = Kept { score, id };
        if let Some(&old) = self.of.get(&article) {
            if kept < old {
                self.kept.remove(&(old, article));
                self.kept.insert((kept, article));
                self.of.insert(article, kept);
            }
            return;
        }
        if self.kept.len() >= self.limit {
            match self.kept.last() {
                Some(&(worst, gone)) if kept < worst => {
                    self.kept.pop_last();
                    self.of.remove(&gone);
                }
                _ => return,
            }
        }
        if self.limit > 0 {
            self.kept.insert((kept, article));
            self.of.insert(article, kept);
        }
    }
}

/// How a clause is scored in every segment.
// One per clause, made once per search: its size is of no account.
#[allow(clippy::large_enum_variant)]
pub(super) enum Scoring {
    /// A term, by BM25 with this weight (boosted): what its `TermQuery`'s weight scores with.
    Term(Term, Bm25Weight),
    /// Another query, by its weight's scorer.
    Other(Box<dyn Weight>),
}

/// A term's postings in one segment, read block by block and scored as tantivy's
/// `TermScorer` scores them (the same weight, field norms and term frequencies, so the same
/// bits), without a boxed scorer's calls for each document.
struct TermPostings {
    block: BlockSegmentPostings,
    /// The current document's place in the block.
    at: usize,
    fieldnorms: FieldNormReader,
    weight: Bm25Weight,
}

impl TermPostings {
    /// The postings of `term` (its `info` in the segment of `reader`), scored with `weight`.
    fn open(
        reader: &SegmentReader,
        term: &Term,
        info: &TermInfo,
        weight: &Bm25Weight,
    ) -> tantivy::Result<TermPostings> {
        let field = term.field();
        let block = reader
            .inverted_index(field)?
            .read_block_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
        // As the term's weight reads them: no norms, every field as long as one token.
        let fieldnorms = reader
            .fieldnorms_readers()
            .get_field(field)?
            .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
        Ok(TermPostings {
            block,
            at: 0,
            fieldnorms,
            weight: weight.clone(),
        })
    }

    #[inline]
    fn doc(&self) -> DocId {
        self.block
            .docs()
            .get(self.at)
            .copied()
            .unwrap_or(TERMINATED)
    }

    #[inline]
    fn advance(&mut self) -> DocId {
        let len = self.block.docs().len();
        if self.at + 1 < len {
            self.at += 1;
            return self.block.doc(self.at);
        }
        if len == 0 {
            return TERMINATED;
        }
        self.block.advance();
        self.at = 0;
        self.doc()
    }

    /// The first document at `target` or after it (`target` past the current one).
    fn seek(&mut self, target: DocId) -> DocId {
        let docs = self.block.docs();
        if docs.last().is_some_and(|&last| last >= target) {
            self.at += docs[self.at..].partition_point(|&d| d < target);
            return docs[self.at];
        }
        if docs.is_empty() {
            return TERMINATED;
        }
        // The skip list finds the block; the last one may still end before `target`.
        self.block.seek(target);
        loop {
            let docs = self.block.docs();
            if docs.is_empty() {
                self.at = 0;
                return TERMINATED;
            }
            self.at = docs.partition_point(|&d| d < target);
            if self.at < docs.len() {
                return docs[self.at];
            }
            self.block.advance();
        }
    }

    /// Calls `f` with each document below `horizon` from the current one on, and its score
    /// (as [`TermPostings::score`] gives it), a block's slices at a time; then the first
    /// document at `horizon` or after it.
    #[inline]
    fn read_until(&mut self, horizon: DocId, mut f: impl FnMut(DocId, Score)) -> DocId {
        loop {
            let docs = self.block.docs();
            if docs.is_empty() {
                return TERMINATED;
            }
            let at = self.at;
            for (i, &doc) in docs[at..].iter().enumerate() {
                if doc >= horizon {
                    self.at = at + i;
                    return doc;
                }
                let freq = self.block.freq(at + i);
                f(
                    doc,
                    self.weight.score(self.fieldnorms.fieldnorm_id(doc), freq),
                );
            }
            self.block.advance();
            self.at = 0;
        }
    }

    #[inline]
    fn score(&self) -> Score {
        let doc = self.block.doc(self.at);
        self.weight
            .score(self.fieldnorms.fieldnorm_id(doc), self.block.freq(self.at))
    }
}

/// The documents of a block of postings that tantivy bit-packs, with the (field norm, term
/// frequency) of its best document in the skip list; a list's last block, shorter, has none.
pub(super) const BLOCK: usize = 128;

/// A bound from the blocks' maxima is raised by this share of it: it is computed from them by
/// other operations than the score's, whose last bits may differ.
const BLOCK_SLACK: f64 = 1e-5;

/// The most a term clause (`weight`, its bound `bound` = BM25's weight, boosted) scores at a
/// document of one segment, from tantivy's block maxima: tighter than the weight, which a
/// score reaches only as the term frequency grows without end. For each full block the skip
/// list holds the (field norm, term frequency) of the document that scores best by the
/// segment's own BM25, whose average length is the segment's (`total_num_tokens` of the field
/// over `max_doc`, what the serializer divided). With K(len) = k1 (1 - b + b len / avg) and a
/// score W tf / (tf + K(len)), that document has the largest x = tf / (tf + K_seg(len)) of the
/// block. A live score uses the live average (`avg_live`): K_live(len) >= m K_seg(len) with
/// m = min(1, avg_seg / avg_live), so every document of the block scores at most
/// W x / (x + m (1 - x)), which grows with x. The last, shorter block is read and scored as
/// it is. The blocks' documents are decoded to walk them (tantivy 0.24 reads its skip list
/// alone only inside the crate), their frequencies are not.
pub(super) fn segment_bound(
    reader: &SegmentReader,
    term: &Term,
    info: &TermInfo,
    weight: &Bm25Weight,
    bound: Score,
    avg_live: f64,
) -> tantivy::Result<Score> {
    if (info.doc_freq as usize) < BLOCK
        || avg_live.is_nan()
        || avg_live <= 0.0
        || reader.max_doc() == 0
    {
        return Ok(bound);
    }
    let field = term.field();
    let Some(fieldnorms) = reader.fieldnorms_readers().get_field(field)? else {
        return Ok(bound);
    };
    let inverted = reader.inverted_index(field)?;
    // As the serializer divides it.
    let avg_segment = inverted.total_num_tokens() as Score / reader.max_doc() as Score;
    if avg_segment.is_nan() || avg_segment <= 0.0 {
        return Ok(bound);
    }
    let by_segment = Bm25Weight::for_one_term(1, 2, avg_segment);
    let unit = f64::from(by_segment.score(0, u32::MAX));
    let m = (f64::from(avg_segment) / avg_live).min(1.0) * (1.0 - BLOCK_SLACK);
    let mut most: f64 = 0.0;
    let mut block = inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
    let mut tail = None;
    loop {
        let docs = block.docs();
        let Some(&first) = docs.first() else {
            break;
        };
        if docs.len() < BLOCK {
            tail = Some(first);
            break;
        }
        let max = f64::from(block.block_max_score(&fieldnorms, &by_segment));
        // A block of a term without frequencies stores (0, 0): no maximum.
        if max.is_nan() || max <= 0.0 {
            return Ok(bound);
        }
        let x = (max / unit).min(1.0);
        most = most.max(f64::from(bound) * x / (x + m * (1.0 - x)) * (1.0 + BLOCK_SLACK));
        block.advance();
    }
    let mut most = most as Score;
    if let Some(first) = tail {
        let mut last =
            inverted.read_block_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
        last.seek(first);
        for (i, &doc) in last.docs().iter().enumerate() {
            most = most.max(weight.score(fieldnorms.fieldnorm_id(doc), last.freq(i)));
        }
    }
    Ok(most.min(bound))
}

/// A clause's reader in one segment.
// One per clause and segment, read at every document: a term's is kept inline rather than
// behind one more pointer.
#[allow(clippy::large_enum_variant)]
enum Cursor {
    Term(TermPostings),
    Other(Box<dyn Scorer>),
}

impl Cursor {
    /// The clause's reader in the segment of `reader` (`info`: a term's, when it has
    /// documents there); `None` when the clause has no document there.
    fn open(
        scoring: &Scoring,
        info: Option<&TermInfo>,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<Cursor>> {
        let cursor = match (scoring, info) {
            (Scoring::Term(..), None) => return Ok(None),
            (Scoring::Term(term, weight), Some(info)) => {
                Cursor::Term(TermPostings::open(reader, term, info, weight)?)
            }
            (Scoring::Other(weight), _) => Cursor::Other(weight.scorer(reader, 1.0)?),
        };
        Ok((cursor.doc() != TERMINATED).then_some(cursor))
    }

    #[inline]
    fn doc(&self) -> DocId {
        match self {
            Cursor::Term(t) => t.doc(),
            Cursor::Other(s) => s.doc(),
        }
    }

    #[inline]
    fn advance(&mut self) -> DocId {
        match self {
            Cursor::Term(t) => t.advance(),
            Cursor::Other(s) => s.advance(),
        }
    }

    fn seek(&mut self, target: DocId) -> DocId {
        match self {
            Cursor::Term(t) => t.seek(target),
            Cursor::Other(s) => s.seek(target),
        }
    }

    /// Calls `f` with each document below `horizon` from the current one on, and its score;
    /// then the first document at `horizon` or after it.
    #[inline]
    fn read_until(&mut self, horizon: DocId, mut f: impl FnMut(DocId, Score)) -> DocId {
        match self {
            Cursor::Term(t) => t.read_until(horizon, f),
            Cursor::Other(s) => {
                let mut doc = s.doc();
                while doc < horizon {
                    f(doc, s.score());
                    doc = s.advance();
                }
                doc
            }
        }
    }

    #[inline]
    fn score(&mut self) -> Score {
        match self {
            Cursor::Term(t) => t.score(),
            Cursor::Other(s) => s.score(),
        }
    }
}

/// Each clause's term info in each segment (`infos[clause][segment]`): `None` for a clause
/// that is not a term's, or a term the segment lacks.
pub(super) type Infos<'a> = &'a [super::TermInfos];

/// One clause's reader in a segment, where it is, and its bound.
struct Live {
    scorer: Cursor,
    doc: DocId,
    bound: Score,
    /// Its `(document, score)` in the window, when it is read there.
    read: Vec<(DocId, Score)>,
}

/// The seed's clauses hold at most this many documents of the segment in all.
const SEED_DOCS: u32 = 8192;

/// A seed is looked for only for a union of at least this many clauses (a long question: a
/// short one fills its best passages early with strong ones).
pub(super) const SEED_CLAUSES: usize = 12;

/// A score the best passages reach, to start the search from: in one segment, the clauses of
/// highest bound (the rarest words) are read first, whole, and each passage they find scores at
/// least its sum over them; the `limit`-th best such sum is one the best reach. `None` when they
/// find too few passages. Only the clauses `terms` marks are read: a term's scorer tells its
/// size from its posting list, where a close-spelling clause's would walk the dictionary and
/// fill its set of documents only to be sized (and again for the search itself). With
/// `articles` (each document's article), the `limit`-th best article's best sum.
#[allow(clippy::too_many_arguments)]
pub(super) fn seed(
    scorings: &[Scoring],
    bounds: &[Score],
    infos: Infos<'_>,
    segment: usize,
    reader: &SegmentReader,
    limit: usize,
    articles: Option<&[u32]>,
) -> tantivy::Result<Option<Score>> {
    let mut by_bound: Vec<usize> = (0..scorings.len())
        .filter(|&j| matches!(scorings[j], Scoring::Term(..)))
        .collect();
    by_bound.sort_by(|&a, &b| bounds[b].total_cmp(&bounds[a]));
    let mut docs = 0u32;
    // Each document's sum over the clauses read, in whatever order they come: the seed is a
    // floor cut by `ROOM`, so the last bits of its sums do not matter (a sort of the
    // documents was most of the seed's cost).
    let mut read = Vec::new();
    for j in by_bound {
        let Some(info) = infos[j][segment].as_ref() else {
            continue;
        };
        let size = info.doc_freq;
        if docs.saturating_add(size) > SEED_DOCS {
            continue;
        }
        docs += size;
        read.push((j, info));
    }
    let mut found: FxHashMap<DocId, Score> = FxHashMap::default();
    found.reserve(docs as usize);
    for (j, info) in read {
        let Some(mut scorer) = Cursor::open(&scorings[j], Some(info), reader)? else {
            continue;
        };
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            *found.entry(doc).or_insert(0.0) += scorer.score();
            doc = scorer.advance();
        }
    }
    let alive = reader.alive_bitset();
    let mut sums: Vec<Score> = Vec::new();
    let mut by_article: FxHashMap<u32, Score> = FxHashMap::default();
    for (doc, sum) in found {
        if alive.is_some_and(|a| a.is_deleted(doc)) {
            continue;
        }
        match articles.and_then(|a| a.get(doc as usize)) {
            Some(&super::NO_ARTICLE) => {}
            Some(&article) => {
                let best = by_article.entry(article).or_insert(sum);
                *best = best.max(sum);
            }
            None => sums.push(sum),
        }
    }
    if articles.is_some() {
        sums.extend(by_article.into_values());
    }
    if limit == 0 || sums.len() < limit {
        return Ok(None);
    }
    let (_, kth, _) = sums.select_nth_unstable_by(limit - 1, |a, b| b.total_cmp(a));
    Ok(Some(*kth * (1.0 - ROOM)))
}

/// Adds to `best` the passages of one segment that the union of the clauses (their `weights`
/// in clause order, with their `bounds` in this segment) matches, with tantivy's scores (see
/// the module).
/// `passage` and `article` give each document's passage and article; deleted documents are
/// left out.
#[allow(clippy::too_many_arguments)]
pub(super) fn best_in_segment<K: Keep>(
    scorings: &[Scoring],
    bounds: &[Score],
    infos: Infos<'_>,
    segment: usize,
    seeded: Option<Score>,
    reader: &SegmentReader,
    (passage, article): (&[u32], &[u32]),
    best: &mut K,
) -> tantivy::Result<()> {
    let alive = reader.alive_bitset();
    let mut clauses: Vec<Live> = Vec::with_capacity(scorings.len());
    // tantivy drops the clauses with no document before it starts.
    for (j, (scoring, &bound)) in scorings.iter().zip(bounds).enumerate() {
        if let Some(scorer) = Cursor::open(scoring, infos[j][segment].as_ref(), reader)? {
            clauses.push(Live {
                doc: scorer.doc(),
                scorer,
                bound,
                read: Vec::new(),
            });
        }
    }
    let threshold = |best: &K| match (best.threshold(), seeded) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    // The clauses in tantivy's list order.
    let mut order: Vec<usize> = (0..clauses.len()).collect();
    // The clauses by bound, lowest first: sorted once, where each window sorted its own.
    let mut by_bound = order.clone();
    by_bound.sort_by(|&a, &b| clauses[a].bound.total_cmp(&clauses[b].bound));
    let mut eager = Vec::new();
    let mut lazy = Vec::new();
    let mut lazy_rest: Vec<Score> = Vec::new();
    let mut sequence = Vec::new();
    // Per document of the window: the eager clauses' sum (to pass over), then the exact score.
    let mut partial = vec![0.0 as Score; HORIZON as usize];
    let mut touched = [0u64; (HORIZON / 64) as usize];
    let mut chosen = [0u64; (HORIZON / 64) as usize];
    while let Some(start) = order.iter().map(|&j| clauses[j].doc).min() {
        let horizon = start.saturating_add(HORIZON);
        eager.clear();
        lazy.clear();
        let mut lazy_sum: Score = 0.0;
        match threshold(best) {
            Some(weakest) => {
                // A clause that ended is past every window.
                for &j in by_bound.iter().filter(|&&j| clauses[j].doc < horizon) {
                    let bound = clauses[j].bound;
                    if eager.is_empty() && (lazy_sum + bound) * (1.0 + ROOM) < weakest {
                        lazy_sum += bound;
                        lazy.push(j);
                    } else {
                        eager.push(j);
                    }
                }
            }
            None => eager.extend(order.iter().copied().filter(|&j| clauses[j].doc < horizon)),
        }
        for &j in &eager {
            let c = &mut clauses[j];
            if c.doc >= horizon {
                continue;
            }
            let (read, bound) = (&mut c.read, c.bound);
            c.doc = c.scorer.read_until(horizon, |doc, score| {
                debug_assert!(score <= bound, "a score above its clause's bound");
                let delta = (doc - start) as usize;
                partial[delta] += score;
                touched[delta / 64] |= 1 << (delta % 64);
                read.push((doc, score));
            });
        }
        let weakest = threshold(best);
        // What the lazy clauses after each one (highest bound first) could add at most.
        lazy_rest.clear();
        let mut rest: Score = 0.0;
        for &j in &lazy {
            lazy_rest.push(rest);
            rest += clauses[j].bound;
        }
        lazy_rest.reverse();
        for (w, bits) in touched.iter_mut().enumerate() {
            while *bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                let delta = w * 64 + bit;
                let sum = std::mem::take(&mut partial[delta]);
                let doc = start + delta as DocId;
                if alive.is_some_and(|a| a.is_deleted(doc))
                    || weakest.is_some_and(|weakest| (sum + lazy_sum) * (1.0 + ROOM) < weakest)
                {
                    continue;
                }
                // The lazy clauses, the highest bound first: once what they have added and what
                // the others could still add fall short, the passage is passed over (what was
                // read of it is then left out of the sums).
                let mut reached = sum;
                let mut short = false;
                for (&j, &rest) in lazy.iter().rev().zip(&lazy_rest) {
                    let c = &mut clauses[j];
                    if c.doc < doc {
                        c.doc = c.scorer.seek(doc);
                    }
                    if c.doc == doc {
                        let score = c.scorer.score();
                        debug_assert!(score <= c.bound, "a score above its clause's bound");
                        c.read.push((doc, score));
                        reached += score;
                    }
                    if weakest.is_some_and(|weakest| (reached + rest) * (1.0 + ROOM) < weakest) {
                        short = true;
                        break;
                    }
                }
                if !short {
                    chosen[w] |= 1 << bit;
                }
            }
        }
        for &j in &lazy {
            let c = &mut clauses[j];
            if c.doc < horizon {
                c.doc = c.scorer.seek(horizon);
            }
        }
        // tantivy's reading of the window: the list in order, a clause that ended replaced by
        // the last one, which is read next.
        sequence.clear();
        let mut k = 0;
        while k < order.len() {
            let j = order[k];
            sequence.push(j);
            if clauses[j].doc == TERMINATED {
                order.swap_remove(k);
            } else {
                k += 1;
            }
        }
        if chosen.iter().all(|&bits| bits == 0) {
            // No passage of the window is summed: what was read of it is dropped unread.
            for &j in &sequence {
                clauses[j].read.clear();
            }
            continue;
        }
        let is_chosen = |delta: usize| chosen[delta / 64] & (1 << (delta % 64)) != 0;
        for &j in &sequence {
            for (doc, score) in clauses[j].read.drain(..) {
                let delta = (doc - start) as usize;
                if is_chosen(delta) {
                    partial[delta] += score;
                }
            }
        }
        for (w, bits) in chosen.iter_mut().enumerate() {
            while *bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                let delta = w * 64 + bit;
                let score = std::mem::take(&mut partial[delta]);
                let doc = start as usize + delta;
                best.push(score, passage[doc], article[doc]);
            }
        }
    }
    Ok(())
}
