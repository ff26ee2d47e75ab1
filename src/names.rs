//! Article names (titles, aliases, slugs) for look-ups and autocomplete: exact, prefix and
//! word-prefix matches by binary search over sorted keys, typos by a trigram index.
//!
//! Everything is precomputed when the library is built, so a keystroke costs a few binary
//! searches and, only when those find too little, one trigram scan.
//!
//! Beside the names, a [`Directory`] of the collection's slug words, tags and authors, made on
//! first use (the conversation's slots read it; a library that never converses never pays).

use std::borrow::Borrow;
use std::sync::Arc;

use crate::content::Article;

/// How a name matched a query; better matches sort first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    Exact,
    Prefix,
    WordPrefix,
    Fuzzy,
}

/// One candidate article for a typed name.
#[derive(Debug, Clone, PartialEq)]
pub struct NameMatch {
    pub article: u32,
    /// The name that matched (a title or an alias).
    pub name: String,
    pub kind: MatchKind,
    /// Similarity for fuzzy matches (0-1), 1 otherwise.
    pub similarity: f32,
}

/// Shared (`Arc`) parts: an updated index ([`NameIndex::updated`]) holds the kept names of the
/// index it updates, not copies (a copy of every name was 0.4 s and 100 MB of a reload at
/// 100,000 articles), and a key is its entry's name.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    article: u32,
    display: Arc<str>,
    lower: Arc<str>,
    /// Byte offsets where the words of `lower` start.
    starts: Arc<[u32]>,
}

/// The name index of one library: its names (shared, see [`NameIndex::updated`]) and the
/// directory made from its articles on first use.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    core: Arc<Core>,
    /// Slug words, tags and authors, made by [`NameIndex::directory`] on first use: not shared
    /// by an updated index, whose articles may have other tags and authors under the same names.
    directory: std::sync::OnceLock<Directory>,
}

/// What is looked up: made from the articles' titles, aliases and slugs only, so an update
/// that changes none of them keeps it as it is.
#[derive(Debug, Clone, Default, PartialEq)]
struct Core {
    entries: Vec<Entry>,
    /// (lower-cased key, entry) sorted by key: the names themselves and slugs.
    keys: Vec<(Arc<str>, u32)>,
    /// (entry, byte offset of a word after the first) sorted by the suffix of the entry's
    /// lower-cased name from there: offsets, not copies, to keep the index small.
    words: Vec<(u32, u32)>,
    /// Fx-hashed: SipHash made building the trigram index a noticeable part of opening a
    /// large library (see BENCHMARKS.md), and these keys come from our own titles.
    trigrams: rustc_hash::FxHashMap<[char; 3], Vec<u32>>,
    /// What the fuzzy stage reads of each entry, for thousands of entries per keystroke:
    /// `fuzzy_text[heads[e].text]` is entry `e`'s lower-cased name, `fuzzy_starts[heads[e].starts]`
    /// its word starts, in two buffers read in entry order, instead of three scattered
    /// allocations per entry: the stage is bound by memory reads (see BENCHMARKS.md,
    /// autocomplete).
    heads: Vec<Head>,
    fuzzy_text: String,
    fuzzy_starts: Vec<u32>,
    /// Entry ids in order of their lower-cased names (stable): the answer to an empty query.
    alphabetical: Vec<u32>,
    /// The longest key, in bytes: a longer query can be no name's exact, prefix or word-prefix
    /// match (a word's suffix of a name is no longer than the name).
    longest: usize,
}

/// Two name indexes are equal when they hold the same names in the same order (the
/// directory, made on first use, is not compared): what an updated index must be to the one
/// made whole ([`NameIndex::updated`]).
impl PartialEq for NameIndex {
    fn eq(&self, other: &NameIndex) -> bool {
        Arc::ptr_eq(&self.core, &other.core) || self.core == other.core
    }
}

/// The collection's slug words, tags and authors as look-ups: what recognising "the cycling
/// article", "articles tagged privacy" or "by Ada" needs without a pass over every article
/// (which cost milliseconds per message at 10,000 articles; see BENCHMARKS.md, conversation).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// The stem of a slug part (`urban-cycling`: "urban", "cycl"), or of a whole tag, to the
    /// articles that have it, ascending.
    by_word: rustc_hash::FxHashMap<String, Vec<u32>>,
    /// A tag's word stems joined by spaces, to the tag as first written in article order.
    tags: rustc_hash::FxHashMap<String, String>,
    /// Every distinct author as written, with the name folded (lower case, no accents), in
    /// article order.
    authors: Vec<(String, String)>,
}

impl Directory {
    fn new<A: Borrow<Article>>(articles: &[A]) -> Directory {
        let mut d = Directory::default();
        let mut seen_authors = std::collections::HashSet::new();
        for (id, a) in articles.iter().enumerate() {
            let (id, a) = (id as u32, a.borrow());
            let mut add = |stem: String| {
                let ids = d.by_word.entry(stem).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            };
            for part in a.slug.split('-') {
                add(crate::text::stem(part));
            }
            for t in &a.tags {
                add(crate::text::stem(&crate::text::lower(t)));
                let key = crate::text::tokenize(t)
                    .into_iter()
                    .map(|t| t.stem)
                    .collect::<Vec<_>>()
                    .join(" ");
                d.tags.entry(key).or_insert_with(|| t.clone());
            }
            for author in &a.authors {
                if seen_authors.insert(author.as_str()) {
                    d.authors.push((author.clone(), normalize(author)));
                }
            }
        }
        d
    }

    /// The articles whose slug parts or tags hold the stem `word`, ascending.
    pub fn articles_with_word(&self, word: &str) -> &[u32] {
        self.by_word.get(word).map_or(&[], Vec::as_slice)
    }

    /// The tag whose words stem to `stems`, as first written.
    pub fn tag(&self, stems: &[&str]) -> Option<&str> {
        self.tags.get(&stems.join(" ")).map(String::as_str)
    }

    /// Every distinct author: (as written, folded).
    pub fn authors(&self) -> &[(String, String)] {
        &self.authors
    }
}

/// Where entry `e`'s name and word starts lie in the name index's dense buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Head {
    text: (u32, u32),
    starts: (u32, u32),
    /// The name is ASCII: its characters are its bytes, read without decoding.
    ascii: bool,
}

/// Lower-cased, accents folded ("pokemon" finds "Pokémon"), whitespace collapsed.
pub(crate) fn normalize(s: &str) -> String {
    crate::text::fold(crate::text::clean_whitespace(&s.to_lowercase()))
}

/// The distinct trigrams of `s`, sorted.
fn trigrams(s: &str) -> Vec<[char; 3]> {
    let mut t: Vec<[char; 3]> = each_trigram(s).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// The trigrams of `s` padded with a space at each end (letters, digits and spaces only), in
/// order and with repeats.
fn each_trigram(s: &str) -> impl Iterator<Item = [char; 3]> + '_ {
    let mut chars = s
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .chain(std::iter::once(' '));
    // The first window's last character is the first kept one, or the end's space.
    let mut window = [' ', ' ', chars.next().unwrap_or(' ')];
    std::iter::from_fn(move || {
        let c = chars.next()?;
        window = [window[1], window[2], c];
        Some(window)
    })
}

/// Byte offsets where the words of `s` start.
fn word_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    let mut after_word = false;
    s.char_indices().filter_map(move |(p, c)| {
        let in_word = c.is_alphanumeric();
        let start = in_word && !after_word;
        after_word = in_word;
        start.then_some(p)
    })
}

/// The names of article `id` as entries (its title, then its aliases), and which of them its
/// slug finds (the title's).
fn article_entries(id: u32, a: &Article) -> (Vec<Entry>, usize) {
    let names = std::iter::once(a.title.as_str()).chain(a.aliases.iter().map(String::as_str));
    let entries: Vec<Entry> = names
        .map(|name| {
            let lower = normalize(name);
            Entry {
                article: id,
                display: crate::text::clean_whitespace(name).into(),
                starts: word_starts(&lower).map(|p| p as u32).collect(),
                lower: lower.into(),
            }
        })
        .collect();
    let title = &entries[0].display;
    let slug_entry = entries
        .iter()
        .rposition(|e| e.display == *title)
        .unwrap_or(entries.len() - 1);
    (entries, slug_entry)
}

/// The keys of an article whose entries are numbered from `first`: each of its names, and its
/// slug leading to entry `slug_entry` (what [`Core::new`] sorts into `keys`).
fn article_keys<'e>(
    first: u32,
    entries: &'e [Entry],
    slug_entry: usize,
    slug: &str,
) -> impl Iterator<Item = (Arc<str>, u32)> + 'e {
    let slug = (Arc::<str>::from(slug), first + slug_entry as u32);
    (first..)
        .zip(entries)
        .map(|(e, entry)| (entry.lower.clone(), e))
        .chain(std::iter::once(slug))
}

/// The word starts after the first of entry `e` (what `words` holds for it).
fn entry_words(e: u32, entry: &Entry) -> impl Iterator<Item = (u32, u32)> + '_ {
    entry
        .starts
        .iter()
        .filter(|&&p| p > 0)
        .map(move |&p| (e, p))
}

/// `old` and `fresh`, each sorted by `order`, as one sorted list.
fn merged<U>(
    old: impl ExactSizeIterator<Item = U>,
    fresh: Vec<U>,
    order: impl Fn(&U, &U) -> std::cmp::Ordering,
) -> Vec<U> {
    let mut out = Vec::with_capacity(old.len() + fresh.len());
    let mut fresh = fresh.into_iter().peekable();
    for x in old {
        while let Some(f) = fresh.next_if(|f| order(f, &x).is_lt()) {
            out.push(f);
        }
        out.push(x);
    }
    out.extend(fresh);
    out
}

impl NameIndex {
    pub fn new<A: Borrow<Article>>(articles: &[A]) -> NameIndex {
        NameIndex {
            core: Arc::new(Core::new(articles)),
            directory: Default::default(),
        }
    }

    /// The index [`NameIndex::new`] makes of a new collection, made from this one's (the
    /// old collection's) in proportion to the change: `moved[a]` is the new id of old
    /// article `a` (`None` when it is gone; the kept articles keep their order), and `fresh`
    /// the articles that are new or read again, with their new ids, ascending. The kept
    /// articles' names are renumbered, not made again; the sorted lists are merged.
    ///
    /// An update that changes no article's names (an edit of its text, the common case) keeps
    /// this index's names as they are, shared: renumbering and merging every list was a fifth
    /// of a reload at 100,000 articles for nothing (see BENCHMARKS.md).
    pub fn updated(&self, moved: &[Option<u32>], fresh: &[(u32, &Article)]) -> NameIndex {
        let core = if self.core.unchanged_by(moved, fresh) {
            self.core.clone()
        } else {
            Arc::new(self.core.updated(moved, fresh))
        };
        NameIndex {
            core,
            directory: Default::default(),
        }
    }

    /// The slug words, tags and authors of `articles`, which must be the articles this index
    /// was made from; made on the first call and kept.
    pub fn directory<A: Borrow<Article>>(&self, articles: &[A]) -> &Directory {
        self.directory.get_or_init(|| Directory::new(articles))
    }

    /// The best matches for a typed `query`, at most `limit`, one per article, ranked exact >
    /// prefix > word prefix > fuzzy (shorter names first within a rank).
    pub fn lookup(&self, query: &str, limit: usize) -> Vec<NameMatch> {
        self.core.lookup_with(query, limit, true, 0.0)
    }

    /// [`NameIndex::lookup`] without close spellings: exact, prefix and word-prefix matches
    /// only. For callers that would not take a typo anyway (recognising an article name in a
    /// sentence tries many spans of words; a trigram scan for each made the slow tail).
    pub fn lookup_literal(&self, query: &str, limit: usize) -> Vec<NameMatch> {
        self.core.lookup_with(query, limit, false, 0.0)
    }

    /// [`NameIndex::lookup`] for a caller that takes no close spelling scoring under
    /// `least`: those are never returned, so the trigram stage can stop as soon as no entry
    /// can reach it. Recognising an article name in a sentence tries long spans of words
    /// that share few trigrams with any name; reading every list of those trigrams was
    /// most of a long question's recognition (see BENCHMARKS.md, conversation).
    pub fn lookup_close(&self, query: &str, limit: usize, least: f32) -> Vec<NameMatch> {
        self.core.lookup_with(query, limit, true, least)
    }
}

impl Core {
    fn new<A: Borrow<Article>>(articles: &[A]) -> Core {
        let mut idx = Core::default();
        let mut slugs: Vec<(Arc<str>, u32)> = Vec::with_capacity(articles.len());
        for (i, a) in articles.iter().enumerate() {
            let a = a.borrow();
            let first = idx.entries.len();
            let (entries, slug_entry) = article_entries(i as u32, a);
            slugs.push((a.slug.as_str().into(), (first + slug_entry) as u32));
            idx.entries.extend(entries);
        }
        for (e, entry) in idx.entries.iter().enumerate() {
            idx.words.extend(entry_words(e as u32, entry));
            // Entries come in order, so a trigram met again in one name finds its own entry
            // last in the list: no sorted copy of each name's trigrams (a third of the work).
            for t in each_trigram(&entry.lower) {
                let list = idx.trigrams.entry(t).or_default();
                if list.last() != Some(&(e as u32)) {
                    list.push(e as u32);
                }
            }
        }
        let entries = &idx.entries;
        let mut alphabetical: Vec<u32> = (0..entries.len() as u32).collect();
        sort_by_text(
            &mut alphabetical,
            |e| &entries[e as usize].lower,
            |a, b| a.cmp(&b),
        );
        // The keys are the names in that order and the slugs, merged.
        let mut by_slug: Vec<u32> = (0..slugs.len() as u32).collect();
        sort_by_text(
            &mut by_slug,
            |i| &slugs[i as usize].0,
            |a, b| slugs[a as usize].1.cmp(&slugs[b as usize].1),
        );
        let names = alphabetical
            .iter()
            .map(|&e| (entries[e as usize].lower.clone(), e));
        let slugs = by_slug.iter().map(|&i| slugs[i as usize].clone()).collect();
        idx.keys = merged(names, slugs, Ord::cmp);
        sort_by_text(&mut idx.words, |w| suffix(entries, w), |a, b| a.0.cmp(&b.0));
        idx.alphabetical = alphabetical;
        idx.finish();
        idx
    }

    /// Whether [`Core::updated`] would make this very index: no article added, removed or
    /// moved, and each fresh article (read again) has the names and slug of the one it
    /// replaces, which then hold the same entry numbers.
    fn unchanged_by(&self, moved: &[Option<u32>], fresh: &[(u32, &Article)]) -> bool {
        let mut next = fresh.iter().peekable();
        for (a, to) in moved.iter().enumerate() {
            match *to {
                Some(to) if to as usize == a => {}
                None if next.next_if(|f| f.0 as usize == a).is_some() => {}
                _ => return false,
            }
        }
        if next.peek().is_some() {
            return false;
        }
        let mut ranges = Vec::with_capacity(fresh.len());
        let mut fresh_keys: Vec<(Arc<str>, u32)> = Vec::new();
        for &(id, a) in fresh {
            let first = self.entries.partition_point(|e| e.article < id);
            let end = self.entries.partition_point(|e| e.article <= id);
            let (entries, slug_entry) = article_entries(id, a);
            if entries[..] != self.entries[first..end] {
                return false;
            }
            fresh_keys.extend(article_keys(first as u32, &entries, slug_entry, &a.slug));
            ranges.push(first as u32..end as u32);
        }
        // The keys that lead to the fresh articles' entries now must be the ones they make.
        let in_fresh = |e: u32| {
            let i = ranges.partition_point(|r| r.end <= e);
            ranges.get(i).is_some_and(|r| r.contains(&e))
        };
        let mut kept_keys: Vec<(Arc<str>, u32)> = self
            .keys
            .iter()
            .filter(|(_, e)| in_fresh(*e))
            .cloned()
            .collect();
        kept_keys.sort_unstable();
        fresh_keys.sort_unstable();
        kept_keys == fresh_keys
    }

    /// [`NameIndex::updated`]'s index when the names changed.
    fn updated(&self, moved: &[Option<u32>], fresh: &[(u32, &Article)]) -> Core {
        let mut idx = Core::default();
        // Entries in article order, as `new` numbers them; each old entry's new number.
        let mut renumbered: Vec<Option<u32>> = vec![None; self.entries.len()];
        let mut fresh_keys: Vec<(Arc<str>, u32)> = Vec::new();
        let mut fresh_entries: Vec<u32> = Vec::new();
        let mut next = fresh.iter().peekable();
        let mut add_fresh = |idx: &mut Core, upto: u32| {
            while let Some(&(id, a)) = next.next_if(|f| f.0 < upto) {
                let first = idx.entries.len() as u32;
                let (entries, slug_entry) = article_entries(id, a);
                fresh_keys.extend(article_keys(first, &entries, slug_entry, &a.slug));
                fresh_entries.extend(first..first + entries.len() as u32);
                idx.entries.extend(entries);
            }
        };
        for (e, entry) in self.entries.iter().enumerate() {
            let Some(to) = moved.get(entry.article as usize).copied().flatten() else {
                continue;
            };
            add_fresh(&mut idx, to);
            renumbered[e] = Some(idx.entries.len() as u32);
            idx.entries.push(Entry {
                article: to,
                ..entry.clone()
            });
        }
        add_fresh(&mut idx, u32::MAX);
        let renumber = |e: u32| renumbered[e as usize];

        fresh_keys.sort_unstable();
        let mut kept = Vec::with_capacity(self.keys.len());
        kept.extend(
            self.keys
                .iter()
                .filter_map(|(k, e)| renumber(*e).map(|e| (k.clone(), e))),
        );
        idx.keys = merged(kept.into_iter(), fresh_keys, |a, b| a.cmp(b));
        let entries = &idx.entries;
        let mut words: Vec<(u32, u32)> = fresh_entries
            .iter()
            .flat_map(|&e| entry_words(e, &entries[e as usize]))
            .collect();
        words.sort_unstable_by(|a, b| word_order(entries, a, b));
        let mut kept = Vec::with_capacity(self.words.len());
        kept.extend(
            self.words
                .iter()
                .filter_map(|&(e, p)| renumber(e).map(|e| (e, p))),
        );
        idx.words = merged(kept.into_iter(), words, |a, b| word_order(entries, a, b));
        let mut alphabetical = fresh_entries.clone();
        let by_name = |a: &u32, b: &u32| {
            entries[*a as usize]
                .lower
                .cmp(&entries[*b as usize].lower)
                .then(a.cmp(b))
        };
        alphabetical.sort_unstable_by(by_name);
        let mut kept = Vec::with_capacity(self.alphabetical.len());
        kept.extend(self.alphabetical.iter().filter_map(|&e| renumber(e)));
        idx.alphabetical = merged(kept.into_iter(), alphabetical, by_name);
        // Every collect below sizes its vector for all it may keep: a `filter_map` cannot tell
        // its length, and growing the lists one reallocation at a time was most of an update.
        idx.trigrams.reserve(self.trigrams.len());
        for (t, list) in &self.trigrams {
            let mut kept = Vec::with_capacity(list.len());
            kept.extend(list.iter().filter_map(|&e| renumber(e)));
            if !kept.is_empty() {
                idx.trigrams.insert(*t, kept);
            }
        }
        for &e in &fresh_entries {
            for t in trigrams(&idx.entries[e as usize].lower) {
                let list = idx.trigrams.entry(t).or_default();
                let at = list.partition_point(|&x| x < e);
                list.insert(at, e);
            }
        }
        idx.finish();
        idx
    }

    /// Fills what is read from the entries alone: the fuzzy stage's dense buffers and the
    /// longest key.
    fn finish(&mut self) {
        for entry in &self.entries {
            let text = self.fuzzy_text.len() as u32;
            self.fuzzy_text.push_str(&entry.lower);
            let starts = self.fuzzy_starts.len() as u32;
            self.fuzzy_starts.extend_from_slice(&entry.starts);
            self.heads.push(Head {
                text: (text, self.fuzzy_text.len() as u32),
                starts: (starts, self.fuzzy_starts.len() as u32),
                ascii: entry.lower.is_ascii(),
            });
        }
        self.longest = self.keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    }

    fn lookup_with(&self, query: &str, limit: usize, fuzzy: bool, least: f32) -> Vec<NameMatch> {
        let q = normalize(query);
        let mut out: Vec<NameMatch> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        if q.is_empty() {
            for e in self.alphabetical.iter().map(|&e| &self.entries[e as usize]) {
                if out.len() >= limit {
                    break;
                }
                if seen.insert(e.article) {
                    out.push(self.hit(e, MatchKind::Prefix, 1.0));
                }
            }
            return out;
        }
        if !fuzzy && q.len() > self.longest {
            return out;
        }
        let mut tier = |out: &mut Vec<NameMatch>, kind, found: Vec<u32>| {
            let mut found: Vec<&Entry> = found
                .into_iter()
                .map(|e| &self.entries[e as usize])
                .collect();
            found.sort_by_key(|e| e.lower.len());
            for e in found {
                if out.len() >= limit {
                    return;
                }
                if seen.insert(e.article) {
                    out.push(self.hit(e, kind, 1.0));
                }
            }
        };
        let take = limit * 4;
        let keys = |exact: bool| -> Vec<u32> {
            let start = self.keys.partition_point(|(k, _)| &**k < q.as_str());
            self.keys[start..]
                .iter()
                .take_while(|(k, _)| if exact { **k == *q } else { k.starts_with(&q) })
                .map(|&(_, e)| e)
                .take(take)
                .collect()
        };
        let words = || -> Vec<u32> {
            let start = self
                .words
                .partition_point(|&w| suffix(&self.entries, w) < q.as_str());
            self.words[start..]
                .iter()
                .take_while(|&&w| suffix(&self.entries, w).starts_with(&q))
                .map(|&(e, _)| e)
                .take(take)
                .collect()
        };
        tier(&mut out, MatchKind::Exact, keys(true));
        tier(&mut out, MatchKind::Prefix, keys(false));
        tier(&mut out, MatchKind::WordPrefix, words());
        if fuzzy && out.len() < limit {
            let wanted = Wanted {
                seen: &seen,
                count: limit - out.len(),
                least,
            };
            for (e, sim) in self.fuzzy(&q, &wanted) {
                if out.len() >= limit {
                    break;
                }
                let entry = &self.entries[e as usize];
                if seen.insert(entry.article) {
                    out.push(self.hit(entry, MatchKind::Fuzzy, sim));
                }
            }
        }
        out
    }

    fn hit(&self, e: &Entry, kind: MatchKind, similarity: f32) -> NameMatch {
        NameMatch {
            article: e.article,
            name: e.display.to_string(),
            kind,
            similarity,
        }
    }

    /// Entries sharing trigrams with `q`, scored by how much of `q` (or of the name's start)
    /// they cover, best first; weak ones are dropped. At most [`FUZZY_MAX`], and only as many
    /// as it takes to find `wanted.count` entries of other articles than `wanted.seen`: the
    /// caller reads no further, and the fewer ranks are to be filled, the sooner the rest can
    /// be skipped.
    fn fuzzy(&self, q: &str, wanted: &Wanted) -> Vec<(u32, f32)> {
        let qt = trigrams(q);
        if qt.is_empty() {
            return Vec::new();
        }
        // The score is 0.5 * overlap + 0.5 * similarity with the similarity at most 1: an
        // entry scoring `least` shares at least this share of the query's trigrams.
        let least_overlap = (2.0 * wanted.least - 1.0).max(MIN_OVERLAP);
        let n = qt.len();
        // The fewest shared trigrams that make that share (counted as `overlap` below counts).
        let need = (1..=n)
            .find(|&c| c as f32 / n as f32 >= least_overlap)
            .unwrap_or(n + 1);
        // Very common trigrams say little and cost much: they are not counted.
        let mut lists: Vec<&[u32]> = qt
            .iter()
            .filter_map(|t| self.trigrams.get(t))
            .filter(|list| list.len() <= 5000)
            .map(Vec::as_slice)
            .collect();
        if lists.len() < need {
            // Too few of the query's trigrams are any name's: no entry can reach `need`.
            return Vec::new();
        }
        // Prefix filtering: an entry in none of the first `lists.len() - need + 1` lists can
        // share at most `need - 1` trigrams, so only those lists (the shortest) bring new
        // entries; the longer rest only add to entries already found.
        lists.sort_by_key(|list| list.len());
        let admitting = lists.len() - need + 1;
        // Shared trigrams per entry, counted in a dense array: this loop runs for every
        // entry sharing a trigram, on every keystroke (see BENCHMARKS.md, autocomplete).
        let mut counts = vec![0u16; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (i, list) in lists.iter().enumerate() {
            if i < admitting {
                for &e in *list {
                    let c = &mut counts[e as usize];
                    if *c == 0 {
                        touched.push(e);
                    }
                    *c += 1;
                }
            } else if touched.is_empty() {
                break;
            } else {
                for &e in *list {
                    let c = &mut counts[e as usize];
                    if *c > 0 {
                        *c += 1;
                    }
                }
            }
        }
        let overlap = |e: u32| f32::from(counts[e as usize]) / qt.len() as f32;
        // The similarity is the costly part: compute it only for entries that share enough
        // trigrams, best overlap first, and stop once no remaining entry can enter the top
        // (the score is at most 0.5 * overlap + 0.5).
        let mut candidates: Vec<u32> = touched
            .into_iter()
            .filter(|&e| overlap(e) >= least_overlap)
            .collect();
        candidates
            .sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        // Compare with the beginning of the name, or of one of its words, of about the typed
        // length: the user is typing it.
        let query: Vec<char> = q.chars().collect();
        let typed = query.len() + 2;
        let mut head: Vec<char> = Vec::with_capacity(typed);
        let mut flags: Vec<bool> = Vec::new();
        let counts_q = CharCounts::of(&query);
        let mut used = [0u16; 128];
        let mut scored: Vec<(u32, f32)> = Vec::new();
        let by_rank = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        // `full`: the ranking holds all it needs, its last entry is the one to beat.
        let mut full = false;
        for e in candidates {
            let overlap = overlap(e);
            if full {
                let worst = scored[scored.len() - 1].1;
                if 0.5 * overlap + 0.5 < worst {
                    break;
                }
            }
            let h = self.heads[e as usize];
            let lower = &self.fuzzy_text[h.text.0 as usize..h.text.1 as usize];
            // The similarity this entry needs to be kept (and to enter a full top): a head
            // whose similarity cannot reach it cannot change the outcome, and is skipped on a
            // cheap upper bound of its similarity.
            let mut floor = wanted.least.max(MIN_SCORE);
            if full {
                floor = floor.max(scored[scored.len() - 1].1);
            }
            let need = ((floor - 0.5 * overlap) / 0.5) as f64 - 1e-4;
            let sim = self.fuzzy_starts[h.starts.0 as usize..h.starts.1 as usize]
                .iter()
                .filter_map(|&start| {
                    let rest = &lower[start as usize..];
                    let bound = if h.ascii {
                        let chars = rest.bytes().map(char::from);
                        jaro_winkler_bound(&query, chars, typed, &counts_q, &mut used)
                    } else {
                        jaro_winkler_bound(&query, rest.chars(), typed, &counts_q, &mut used)
                    };
                    if bound < need {
                        return None;
                    }
                    head.clear();
                    head.extend(rest.chars().take(typed));
                    Some(jaro_winkler(&query, &head, &mut flags) as f32)
                })
                .fold(0.0, f32::max);
            let score = 0.5 * overlap + 0.5 * sim;
            if score >= wanted.least.max(MIN_SCORE) {
                let at = scored.partition_point(|x| by_rank(x, &(e, score)).is_lt());
                scored.insert(at, (e, score));
                full = self.cut_to_wanted(&mut scored, wanted);
            }
        }
        scored
    }

    /// Drops the entries of a ranking past the one that completes what is `wanted` (or past
    /// [`FUZZY_MAX`]); `true` when the ranking is complete.
    fn cut_to_wanted(&self, scored: &mut Vec<(u32, f32)>, wanted: &Wanted) -> bool {
        let mut found: Vec<u32> = Vec::with_capacity(wanted.count.min(FUZZY_MAX));
        for (i, &(e, _)) in scored.iter().enumerate() {
            let article = self.entries[e as usize].article;
            if !wanted.seen.contains(&article) && !found.contains(&article) {
                found.push(article);
                if found.len() == wanted.count {
                    scored.truncate(i + 1);
                    return true;
                }
            }
        }
        scored.truncate(FUZZY_MAX);
        scored.len() == FUZZY_MAX
    }
}

/// Sorts `items` by their `text`, then by `tie`. Each item is sorted with its text's first
/// eight bytes beside it, which decide most comparisons: comparing the texts themselves,
/// each behind its own pointer, was most of making the name index of a large collection.
fn sort_by_text<'a, T: Copy>(
    items: &mut [T],
    text: impl Fn(T) -> &'a str,
    tie: impl Fn(T, T) -> std::cmp::Ordering,
) {
    // Zero-padded big-endian bytes order as the texts do, except where they are equal.
    let head = |s: &str| {
        let mut b = [0u8; 8];
        let n = s.len().min(8);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        u64::from_be_bytes(b)
    };
    let mut keyed: Vec<(u64, T)> = items.iter().map(|&x| (head(text(x)), x)).collect();
    keyed.sort_unstable_by(|&(ha, a), &(hb, b)| {
        ha.cmp(&hb)
            .then_with(|| text(a).cmp(text(b)))
            .then_with(|| tie(a, b))
    });
    for (item, (_, x)) in items.iter_mut().zip(keyed) {
        *item = x;
    }
}

/// The lower-cased name of entry `w.0` from byte `w.1`.
fn suffix(entries: &[Entry], w: (u32, u32)) -> &str {
    &entries[w.0 as usize].lower[w.1 as usize..]
}

/// The order of `words`: by suffix, then entry.
fn word_order(entries: &[Entry], a: &(u32, u32), b: &(u32, u32)) -> std::cmp::Ordering {
    suffix(entries, *a)
        .cmp(suffix(entries, *b))
        .then(a.0.cmp(&b.0))
}

/// How many times each ASCII character occurs in a text.
struct CharCounts([u16; 128]);

impl CharCounts {
    fn of(chars: &[char]) -> CharCounts {
        let mut c = [0u16; 128];
        for &ch in chars {
            if ch.is_ascii() {
                c[ch as usize] = c[ch as usize].saturating_add(1);
            }
        }
        CharCounts(c)
    }
}

/// An upper bound of [`jaro_winkler`]`(a, b)`, cheap to compute: Jaro matches pair equal
/// characters, so there are at most as many as the characters the two have in common
/// (counted with repetition; any non-ASCII character of `b` is assumed to match), the
/// transposition term is at most 1, and the Winkler boost grows with the Jaro similarity.
///
/// `used` counts the characters of `b` paired so far; it is all zeros on entry and on return
/// (cheaper than a fresh copy of `counts_a` per call: this runs for every word of thousands of
/// names per keystroke).
fn jaro_winkler_bound<I: Iterator<Item = char> + Clone>(
    a: &[char],
    b: I,
    take: usize,
    counts_a: &CharCounts,
    used: &mut [u16; 128],
) -> f64 {
    let mut common = 0usize;
    let mut b_len = 0usize;
    let mut prefix = 0usize;
    let mut in_prefix = true;
    for ch in b.clone().take(take) {
        if in_prefix && b_len < 4 && a.get(b_len) == Some(&ch) {
            prefix += 1;
        } else {
            in_prefix = false;
        }
        b_len += 1;
        if !ch.is_ascii() {
            common += 1;
        } else if used[ch as usize] < counts_a.0[ch as usize] {
            used[ch as usize] += 1;
            common += 1;
        }
    }
    for ch in b.take(take).filter(char::is_ascii) {
        used[ch as usize] = 0;
    }
    if a.is_empty() || b_len == 0 {
        return 1.0;
    }
    let m = common.min(a.len()).min(b_len) as f64;
    let j = (m / a.len() as f64 + m / b_len as f64 + 1.0) / 3.0;
    j + 0.1 * prefix as f64 * (1.0 - j)
}

/// `strsim::jaro_winkler` (0.11) on characters decoded once, with the match flags in a buffer
/// the caller keeps: the same arithmetic in the same order, so the same values (a test holds
/// them together), without decoding or allocating per call: it runs for every fuzzy
/// candidate of every keystroke (see BENCHMARKS.md, autocomplete).
fn jaro_winkler(a: &[char], b: &[char], flags: &mut Vec<bool>) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    if a_len == 0 && b_len == 0 {
        return 1.0;
    } else if a_len == 0 || b_len == 0 {
        return 0.0;
    }
    let search_range = (a_len.max(b_len) / 2).saturating_sub(1);
    flags.clear();
    flags.resize(a_len + b_len, false);
    let (a_flags, b_flags) = flags.split_at_mut(a_len);
    let mut matches = 0usize;
    for (i, ac) in a.iter().enumerate() {
        let min_bound = i.saturating_sub(search_range);
        let max_bound = b_len.min(i + search_range + 1);
        for j in min_bound..max_bound {
            if *ac == b[j] && !b_flags[j] {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut b_iter = b_flags.iter().zip(b);
    for (a_flag, c1) in a_flags.iter().zip(a) {
        if *a_flag {
            for (b_flag, c2) in b_iter.by_ref() {
                if *b_flag {
                    if c1 != c2 {
                        transpositions += 1;
                    }
                    break;
                }
            }
        }
    }
    transpositions /= 2;
    let sim = ((matches as f64 / a_len as f64)
        + (matches as f64 / b_len as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0;
    if sim > 0.7 {
        let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// At most this many fuzzy candidates are ranked.
const FUZZY_MAX: usize = 50;
/// The weakest close spelling a look-up returns, and the least share of the query's trigrams
/// it must share.
const MIN_SCORE: f32 = 0.6;
const MIN_OVERLAP: f32 = 0.3;

/// What the fuzzy stage of a look-up is to find: `count` more articles, none of `seen`.
struct Wanted<'a> {
    seen: &'a std::collections::HashSet<u32>,
    count: usize,
    /// The least score the caller takes (above [`MIN_SCORE`] it prunes the search).
    least: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Format;

    fn article(slug: &str, title: &str, aliases: &[&str]) -> Article {
        Article {
            slug: slug.into(),
            title: title.into(),
            url: None,
            summary: None,
            tags: vec![],
            authors: vec![],
            date: None,
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            sections: vec![],
            takeaways: crate::content::Lazy::loaded(vec![]),
            path: format!("{slug}.md").into(),
            format: Format::Markdown,
        }
    }

    fn names(idx: &NameIndex, q: &str) -> Vec<(String, MatchKind)> {
        idx.lookup(q, 25)
            .into_iter()
            .map(|m| (m.name, m.kind))
            .collect()
    }

    #[test]
    fn a_literal_lookup_takes_no_close_spellings() {
        let idx = NameIndex::new(&[article("tide-pools", "Tide Pools", &[])]);
        assert_eq!(
            names(&idx, "tide pols"),
            [("Tide Pools".into(), MatchKind::Fuzzy)]
        );
        assert!(idx.lookup_literal("tide pols", 5).is_empty());
        let literal: Vec<MatchKind> = idx
            .lookup_literal("tide", 5)
            .iter()
            .map(|m| m.kind)
            .collect();
        assert_eq!(literal, [MatchKind::Prefix]);
        // Longer than every name: nothing to find literally, the whole name still found.
        assert!(idx.lookup_literal("tide pools and more", 5).is_empty());
        assert_eq!(idx.lookup_literal("tide pools", 5).len(), 1);
    }

    #[test]
    fn the_directory_finds_slug_words_tags_and_authors() {
        let mut cycling = article("urban-cycling", "Cycling in Town", &[]);
        cycling.tags = vec!["Road Safety".into(), "commuting".into()];
        cycling.authors = vec!["Ada Lovelace".into()];
        let mut rain = article("rain-barrels", "Rain Barrels", &[]);
        rain.tags = vec!["road safety".into(), "Gardens".into()];
        rain.authors = vec!["Ada Lovelace".into(), "Chloé Dupont".into()];
        let articles = [cycling, rain];
        let idx = NameIndex::new(&articles);
        let d = idx.directory(&articles);
        assert_eq!(d.articles_with_word(&crate::text::stem("cycling")), [0]);
        assert_eq!(d.articles_with_word(&crate::text::stem("gardens")), [1]);
        assert_eq!(d.articles_with_word("nothing"), [] as [u32; 0]);
        // A tag by its words' stems, as first written.
        let stems: Vec<String> = ["road", "safety"]
            .iter()
            .map(|w| crate::text::stem(w))
            .collect();
        let stems: Vec<&str> = stems.iter().map(String::as_str).collect();
        assert_eq!(d.tag(&stems), Some("Road Safety"));
        assert_eq!(d.tag(&["road"]), None);
        // Each author once, folded beside the name as written.
        assert_eq!(
            d.authors(),
            [
                ("Ada Lovelace".to_string(), "ada lovelace".to_string()),
                ("Chloé Dupont".to_string(), "chloe dupont".to_string())
            ]
        );
    }

    #[test]
    fn ranking() {
        let idx = NameIndex::new(&[
            article("rust", "Rust", &[]),
            article("rust-async", "Rust Async Patterns", &["tokio guide"]),
            article("why-rust", "Why Teams Pick Rust", &[]),
            article("trust", "Trust on the Web", &[]),
        ]);
        assert_eq!(
            names(&idx, "rust")[..3],
            [
                ("Rust".to_string(), MatchKind::Exact),
                ("Rust Async Patterns".to_string(), MatchKind::Prefix),
                ("Why Teams Pick Rust".to_string(), MatchKind::WordPrefix),
            ]
        );
        // Near spellings come last.
        assert_eq!(
            names(&idx, "rust")[3],
            ("Trust on the Web".to_string(), MatchKind::Fuzzy)
        );
        assert_eq!(
            names(&idx, "TOKIO")[0],
            ("tokio guide".to_string(), MatchKind::Prefix)
        );
        assert_eq!(names(&idx, "why-rust")[0].1, MatchKind::Exact);
        let typo = names(&idx, "trsut on");
        assert_eq!(typo[0], ("Trust on the Web".to_string(), MatchKind::Fuzzy));
        assert_eq!(idx.lookup("", 2).len(), 2);
        assert!(names(&idx, "zzzzzz").is_empty());
    }

    /// The fuzzy ranking as first written: every entry scored, then sorted.
    fn fuzzy_reference(idx: &NameIndex, q: &str) -> Vec<(u32, f32)> {
        let qt = trigrams(q);
        let mut counts: std::collections::HashMap<u32, u32> = Default::default();
        for t in &qt {
            if let Some(list) = idx.core.trigrams.get(t).filter(|l| l.len() <= 5000) {
                for &e in list {
                    *counts.entry(e).or_default() += 1;
                }
            }
        }
        let mut scored: Vec<(u32, f32)> = counts
            .into_iter()
            .filter_map(|(e, shared)| {
                let entry = &idx.core.entries[e as usize];
                let typed = q.chars().count() + 2;
                let sim = word_starts(&entry.lower)
                    .map(|start| {
                        let head: String = entry.lower[start..].chars().take(typed).collect();
                        strsim::jaro_winkler(q, &head) as f32
                    })
                    .fold(0.0, f32::max);
                let overlap = shared as f32 / qt.len() as f32;
                let score = 0.5 * overlap + 0.5 * sim;
                (score >= 0.6 && overlap >= 0.3).then_some((e, score))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(FUZZY_MAX);
        scored
    }

    /// A look-up as first written: the full fuzzy ranking, read until `limit` articles.
    fn lookup_reference(idx: &NameIndex, q: &str, limit: usize) -> Vec<NameMatch> {
        let mut out: Vec<NameMatch> = idx.lookup(q, limit);
        out.retain(|m| m.kind != MatchKind::Fuzzy);
        let mut seen: std::collections::HashSet<u32> = out.iter().map(|m| m.article).collect();
        for (e, sim) in fuzzy_reference(idx, &normalize(q)) {
            if out.len() >= limit {
                break;
            }
            let entry = &idx.core.entries[e as usize];
            if seen.insert(entry.article) {
                out.push(idx.core.hit(entry, MatchKind::Fuzzy, sim));
            }
        }
        out
    }

    #[test]
    fn jaro_winkler_is_strsims() {
        let words = [
            "",
            "a",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "jellyfish",
            "smellyfish",
            "café",
            "cafe",
            "tokio guide",
            "trsut on",
            "trust on the",
            "ünïcode",
            "abcdefghij",
            "jihgfedcba",
        ];
        let mut flags = Vec::new();
        for x in words {
            for y in words {
                let (a, b): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
                let ours = jaro_winkler(&a, &b, &mut flags);
                let mut used = [0u16; 128];
                let counts = CharCounts::of(&a);
                let bound = jaro_winkler_bound(&a, y.chars(), usize::MAX, &counts, &mut used);
                assert_eq!(used, [0u16; 128]);
                let bytes = y.bytes().map(char::from);
                if y.is_ascii() {
                    let same = jaro_winkler_bound(&a, bytes, usize::MAX, &counts, &mut used);
                    assert_eq!(same.to_bits(), bound.to_bits());
                }
                assert!(bound >= ours, "{x:?} {y:?}");
                assert_eq!(
                    ours.to_bits(),
                    strsim::jaro_winkler(x, y).to_bits(),
                    "{x:?} {y:?}"
                );
            }
        }
    }

    #[test]
    fn an_updated_index_is_the_one_made_whole() {
        let old: Vec<Article> = vec![
            article("tide-pools", "Tide Pools", &["Rock pools"]),
            article("cycling", "Urban Cycling", &[]),
            article("bees", "Honey Bees", &["Apiculture", "Bee keeping"]),
            article("pools", "Pools of the coast", &[]),
            article("zebra", "Zebra crossings", &["Tide Pools"]),
        ];
        let whole = NameIndex::new(&old);
        // Article 1 removed, article 2 read again with other names, one added first and one
        // between: every kept article moves.
        let new = vec![
            article("aa", "A first article", &["Tide"]),
            old[0].clone(),
            article("bees", "Bees", &["Honey bees"]),
            article("middle", "Pool cleaning", &[]),
            old[3].clone(),
            old[4].clone(),
        ];
        let moved = [Some(1), None, None, Some(4), Some(5)];
        let fresh = [(0, &new[0]), (2, &new[2]), (3, &new[3])];
        let updated = whole.updated(&moved, &fresh);
        let made = NameIndex::new(&new);
        assert!(updated == made, "{updated:#?}\n{made:#?}");
        for q in ["tide", "pool", "bees", "", "honey", "cycling", "tid pols"] {
            assert_eq!(updated.lookup(q, 10), made.lookup(q, 10), "{q:?}");
        }
        // Nothing changed: the same index; everything gone: an empty one.
        let same = whole.updated(&[Some(0), Some(1), Some(2), Some(3), Some(4)], &[]);
        assert!(same == whole);
        assert!(whole.updated(&[None; 5], &[]) == NameIndex::new::<Article>(&[]));
        assert!(updated != whole);
    }

    proptest::proptest! {
        #[test]
        fn trigrams_and_word_starts_are_their_definitions(name in "(\\PC|[ .-]){0,24}") {
            // A trigram is three consecutive characters of the name padded with a space at
            // each end, letters, digits and spaces only; a word starts at a letter or digit
            // after anything else.
            let chars: Vec<char> = std::iter::once(' ')
                .chain(name.chars().filter(|c| c.is_alphanumeric() || *c == ' '))
                .chain(std::iter::once(' '))
                .collect();
            let windows: Vec<[char; 3]> = chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
            proptest::prop_assert_eq!(each_trigram(&name).collect::<Vec<_>>(), windows);
            let starts: Vec<usize> = name
                .char_indices()
                .filter(|&(p, c)| c.is_alphanumeric() && !name[..p].ends_with(char::is_alphanumeric))
                .map(|(p, _)| p)
                .collect();
            proptest::prop_assert_eq!(word_starts(&name).collect::<Vec<_>>(), starts);
        }
    }

    #[test]
    fn the_sorted_lists_are_their_definitions() {
        // Names sharing long beginnings (past the eight bytes compared first), names equal
        // to other articles' slugs, repeated names, accents and letters of several bytes.
        let mut articles = vec![
            article(
                "tide-pools",
                "Tide pools of the northern coast",
                &["Rock pools"],
            ),
            article(
                "tide-pools-2",
                "Tide pools of the northern coasts",
                &["tide-pools"],
            ),
            article(
                "rock-pools",
                "Rock pools",
                &["Tide pools of the northern coast"],
            ),
            article("eclair", "Éclair", &["eclair", "ÉCLAIR au café"]),
            article("a", "A", &["a a a", "ab"]),
            article(
                "zz",
                "Ünïcödé names of the world",
                &["日本語の記事", "日本"],
            ),
        ];
        for i in 0..300 {
            let title = format!("Collected notes number {} on {}", i % 37, i % 11);
            articles.push(article(&format!("notes-{i}"), &title, &[]));
        }
        let idx = NameIndex::new(&articles);
        let core = &idx.core;
        let mut keys = Vec::new();
        let mut first = 0;
        for (i, a) in articles.iter().enumerate() {
            let (entries, slug_entry) = article_entries(i as u32, a);
            for (k, e) in entries.iter().enumerate() {
                keys.push((e.lower.clone(), (first + k) as u32));
            }
            keys.push((a.slug.as_str().into(), (first + slug_entry) as u32));
            first += entries.len();
        }
        keys.sort();
        assert_eq!(core.keys, keys);
        let mut words: Vec<(u32, u32)> = (0..core.entries.len() as u32)
            .flat_map(|e| {
                word_starts(&core.entries[e as usize].lower)
                    .filter(|&p| p > 0)
                    .map(move |p| (e, p as u32))
                    .collect::<Vec<_>>()
            })
            .collect();
        words.sort_by(|a, b| word_order(&core.entries, a, b));
        assert_eq!(core.words, words);
        let mut alphabetical: Vec<u32> = (0..core.entries.len() as u32).collect();
        alphabetical.sort_by(|&a, &b| {
            core.entries[a as usize]
                .lower
                .cmp(&core.entries[b as usize].lower)
        });
        assert_eq!(core.alphabetical, alphabetical);
        for (e, entry) in core.entries.iter().enumerate() {
            for t in trigrams(&entry.lower) {
                let list = &core.trigrams[&t];
                assert_eq!(list.iter().filter(|&&x| x == e as u32).count(), 1);
            }
        }
        let listed: usize = core.trigrams.values().map(Vec::len).sum();
        let distinct: usize = core.entries.iter().map(|e| trigrams(&e.lower).len()).sum();
        assert_eq!(listed, distinct);
        assert!(core.trigrams.values().all(|l| l.is_sorted()));
    }

    #[test]
    fn an_update_that_changes_no_name_shares_the_names() {
        let old: Vec<Article> = vec![
            article("tide-pools", "Tide Pools", &["Rock pools"]),
            article("cycling", "Urban Cycling", &[]),
            article("bees", "Honey Bees", &["Apiculture", "Bee keeping"]),
        ];
        let whole = NameIndex::new(&old);
        let _ = whole.directory(&old);
        let moved = [Some(0), None, Some(2)];
        // Article 1 read again: the same names, another tag. The names are shared; the
        // directory is made again from the new articles.
        let mut edited = old[1].clone();
        edited.tags = vec!["commuting".into()];
        let new = vec![old[0].clone(), edited, old[2].clone()];
        let updated = whole.updated(&moved, &[(1, &new[1])]);
        assert!(Arc::ptr_eq(&updated.core, &whole.core));
        assert!(updated == NameIndex::new(&new));
        let commuting = crate::text::stem("commuting");
        assert_eq!(updated.directory(&new).articles_with_word(&commuting), [1]);
        assert!(whole
            .directory(&old)
            .articles_with_word(&commuting)
            .is_empty());
        // Any change of a name, an alias, a slug, or of which article is where, is merged
        // as before, and gives the index made whole.
        // (the new articles, where each old one went, the fresh ones' ids)
        type Change = (Vec<Article>, Vec<Option<u32>>, Vec<u32>);
        let replaced = |i: usize, a: Article| -> Change {
            let mut new = old.clone();
            new[i] = a;
            let moved = (0..old.len() as u32).map(|k| (k != i as u32).then_some(k));
            (new, moved.collect(), vec![i as u32])
        };
        let changes: Vec<Change> = vec![
            replaced(1, article("cycling", "Urban cycling", &[])),
            replaced(1, article("cycling", "Urban Cycling", &["Bikes"])),
            replaced(1, article("bikes", "Urban Cycling", &[])),
            replaced(2, article("bees", "Honey Bees", &["Apiculture"])),
            (old[..2].to_vec(), vec![Some(0), Some(1), None], vec![]),
            (
                [&old[..], &[article("new", "New", &[])]].concat(),
                vec![Some(0), Some(1), Some(2)],
                vec![3],
            ),
            (
                vec![old[0].clone(), old[2].clone(), old[1].clone()],
                vec![Some(0), None, Some(1)],
                vec![2],
            ),
        ];
        for (new, moved, fresh) in &changes {
            let fresh: Vec<(u32, &Article)> =
                fresh.iter().map(|&i| (i, &new[i as usize])).collect();
            let updated = whole.updated(moved, &fresh);
            assert!(!Arc::ptr_eq(&updated.core, &whole.core), "{new:?}");
            assert!(updated == NameIndex::new(new), "{new:?}");
        }
    }

    #[test]
    fn pruned_fuzzy_ranking_equals_the_full_one() {
        let syllables = [
            "ka", "ro", "mi", "sel", "tan", "vo", "rus", "ti", "ne", "bra",
        ];
        let word = |i: usize| -> String {
            (0..3)
                .map(|k| syllables[(i / 10usize.pow(k)) % 10])
                .collect()
        };
        let articles: Vec<Article> = (0..600)
            .map(|i| {
                let title = format!("{} {} {}", word(i), word(i * 7 + 3), word(i * 13 + 5));
                article(&format!("a{i}"), &title, &[&word(i * 3 + 1)])
            })
            .collect();
        let idx = NameIndex::new(&articles);
        for q in [
            "karo",
            "rusti",
            "tanvo mi",
            "braka",
            "selne ro",
            "kxro",
            "vomi",
            "r",
            "karoti selne",
            "karomi karomi tantivo vorus",
            "the karoti selne bra ka ro mi sel tan vo rus ti article",
        ] {
            let all = Wanted {
                seen: &Default::default(),
                count: usize::MAX,
                least: 0.0,
            };
            let reference = fuzzy_reference(&idx, q);
            assert_eq!(idx.core.fuzzy(q, &all), reference, "query {q:?}");
            // Asking for strong matches only prunes the weak ones, and nothing else.
            for least in [0.7, 0.75, 0.8, 0.9] {
                let strong = Wanted { least, ..all };
                let expected: Vec<(u32, f32)> =
                    reference.iter().copied().filter(|m| m.1 >= least).collect();
                assert_eq!(idx.core.fuzzy(q, &strong), expected, "{q:?} at {least}");
            }
            // A look-up that stops the fuzzy stage once it has enough gives what the full
            // ranking gives.
            for limit in [1, 2, 5, 25] {
                assert_eq!(
                    idx.lookup(q, limit),
                    lookup_reference(&idx, q, limit),
                    "{q:?}"
                );
            }
        }
        // The empty query lists names alphabetically.
        let all: Vec<String> = idx.lookup("", 5).into_iter().map(|m| m.name).collect();
        let mut sorted: Vec<String> = idx
            .core
            .entries
            .iter()
            .map(|e| e.lower.to_string())
            .collect();
        sorted.sort();
        let lower: Vec<String> = all.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(lower, sorted[..5]);
    }
}
