//! Article names (titles, aliases, slugs) for look-ups and autocomplete: exact, prefix and
//! word-prefix matches by binary search over sorted keys, typos by a trigram index.
//!
//! Everything is precomputed when the library is built, so a keystroke costs a few binary
//! searches and, only when those find too little, one trigram scan.

use std::collections::HashMap;

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

#[derive(Debug, Clone)]
struct Entry {
    article: u32,
    display: String,
    lower: String,
}

/// The name index of one library.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    entries: Vec<Entry>,
    /// (lower-cased key, entry) sorted by key: the names themselves and slugs.
    keys: Vec<(String, u32)>,
    /// (lower-cased suffix starting at a word, entry) sorted by suffix.
    words: Vec<(String, u32)>,
    trigrams: HashMap<[char; 3], Vec<u32>>,
    /// Entry ids in order of their lower-cased names (stable): the answer to an empty query.
    alphabetical: Vec<u32>,
}

fn normalize(s: &str) -> String {
    crate::text::clean_whitespace(&s.to_lowercase())
}

fn trigrams(s: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = std::iter::once(' ')
        .chain(s.chars().filter(|c| c.is_alphanumeric() || *c == ' '))
        .chain(std::iter::once(' '))
        .collect();
    let mut t: Vec<[char; 3]> = chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Byte offsets where the words of `s` start.
fn word_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    s.char_indices()
        .filter(|&(p, c)| c.is_alphanumeric() && !s[..p].ends_with(char::is_alphanumeric))
        .map(|(p, _)| p)
}

impl NameIndex {
    pub fn new(articles: &[Article]) -> NameIndex {
        let mut idx = NameIndex::default();
        for (i, a) in articles.iter().enumerate() {
            let mut names: Vec<&str> = vec![a.title.as_str()];
            names.extend(a.aliases.iter().map(String::as_str));
            for name in names {
                let e = idx.entries.len() as u32;
                let lower = normalize(name);
                idx.keys.push((lower.clone(), e));
                idx.entries.push(Entry {
                    article: i as u32,
                    display: crate::text::clean_whitespace(name),
                    lower,
                });
            }
            // The slug finds the title entry too.
            let title_entry = idx
                .entries
                .iter()
                .rposition(|e| {
                    e.article == i as u32 && e.display == crate::text::clean_whitespace(&a.title)
                })
                .unwrap_or(idx.entries.len() - 1) as u32;
            idx.keys.push((a.slug.clone(), title_entry));
        }
        for (e, entry) in idx.entries.iter().enumerate() {
            let lower = &entry.lower;
            for pos in word_starts(lower).filter(|&p| p > 0) {
                idx.words.push((lower[pos..].to_string(), e as u32));
            }
            for t in trigrams(lower) {
                idx.trigrams.entry(t).or_default().push(e as u32);
            }
        }
        idx.keys.sort_unstable();
        idx.words.sort_unstable();
        let mut alphabetical: Vec<u32> = (0..idx.entries.len() as u32).collect();
        alphabetical.sort_by(|&a, &b| {
            idx.entries[a as usize]
                .lower
                .cmp(&idx.entries[b as usize].lower)
        });
        idx.alphabetical = alphabetical;
        idx
    }

    /// The best matches for a typed `query`, at most `limit`, one per article, ranked exact >
    /// prefix > word prefix > fuzzy (shorter names first within a rank).
    pub fn lookup(&self, query: &str, limit: usize) -> Vec<NameMatch> {
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
        let mut tier = |out: &mut Vec<NameMatch>, kind, list: &[(String, u32)], exact: bool| {
            let start = list.partition_point(|(k, _)| k.as_str() < q.as_str());
            let mut found: Vec<&Entry> = list[start..]
                .iter()
                .take_while(|(k, _)| if exact { *k == q } else { k.starts_with(&q) })
                .map(|&(_, e)| &self.entries[e as usize])
                .take(limit * 4)
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
        tier(&mut out, MatchKind::Exact, &self.keys, true);
        tier(&mut out, MatchKind::Prefix, &self.keys, false);
        tier(&mut out, MatchKind::WordPrefix, &self.words, false);
        if out.len() < limit {
            for (e, sim) in self.fuzzy(&q) {
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
            name: e.display.clone(),
            kind,
            similarity,
        }
    }

    /// Entries sharing trigrams with `q`, scored by how much of `q` (or of the name's start)
    /// they cover, best first; weak ones are dropped. At most [`FUZZY_MAX`].
    fn fuzzy(&self, q: &str) -> Vec<(u32, f32)> {
        let qt = trigrams(q);
        if qt.is_empty() {
            return Vec::new();
        }
        // Shared trigrams per entry, counted in a dense array: a hash map here cost more
        // than everything else in a keystroke.
        let mut counts = vec![0u16; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for t in &qt {
            if let Some(list) = self.trigrams.get(t) {
                // Very common trigrams say little and cost much.
                if list.len() > 5000 {
                    continue;
                }
                for &e in list {
                    let c = &mut counts[e as usize];
                    if *c == 0 {
                        touched.push(e);
                    }
                    *c += 1;
                }
            }
        }
        let overlap = |e: u32| f32::from(counts[e as usize]) / qt.len() as f32;
        // The similarity is the costly part: compute it only for entries that share enough
        // trigrams, best overlap first, and stop once no remaining entry can enter the top
        // (the score is at most 0.5 * overlap + 0.5).
        let mut candidates: Vec<u32> = touched.into_iter().filter(|&e| overlap(e) >= 0.3).collect();
        candidates
            .sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        // Compare with the beginning of the name, or of one of its words, of about the typed
        // length: the user is typing it.
        let typed = q.chars().count() + 2;
        let mut scored: Vec<(u32, f32)> = Vec::new();
        let by_rank = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        for e in candidates {
            let overlap = overlap(e);
            if scored.len() >= FUZZY_MAX {
                let worst = scored[FUZZY_MAX - 1].1;
                if 0.5 * overlap + 0.5 < worst {
                    break;
                }
            }
            let entry = &self.entries[e as usize];
            let sim = word_starts(&entry.lower)
                .map(|start| {
                    let rest = &entry.lower[start..];
                    let end = rest
                        .char_indices()
                        .nth(typed)
                        .map_or(rest.len(), |(i, _)| i);
                    strsim::jaro_winkler(q, &rest[..end]) as f32
                })
                .fold(0.0, f32::max);
            let score = 0.5 * overlap + 0.5 * sim;
            if score >= 0.6 {
                let at = scored.partition_point(|x| by_rank(x, &(e, score)).is_lt());
                scored.insert(at, (e, score));
                scored.truncate(FUZZY_MAX);
            }
        }
        scored
    }
}

/// At most this many fuzzy candidates are ranked.
const FUZZY_MAX: usize = 50;

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
            takeaways: vec![],
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
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for t in &qt {
            if let Some(list) = idx.trigrams.get(t).filter(|l| l.len() <= 5000) {
                for &e in list {
                    *counts.entry(e).or_default() += 1;
                }
            }
        }
        let mut scored: Vec<(u32, f32)> = counts
            .into_iter()
            .filter_map(|(e, shared)| {
                let entry = &idx.entries[e as usize];
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
            "karo", "rusti", "tanvo mi", "braka", "selne ro", "kxro", "vomi", "r",
        ] {
            assert_eq!(idx.fuzzy(q), fuzzy_reference(&idx, q), "query {q:?}");
        }
        // The empty query lists names alphabetically.
        let all: Vec<String> = idx.lookup("", 5).into_iter().map(|m| m.name).collect();
        let mut sorted: Vec<String> = idx.entries.iter().map(|e| e.lower.clone()).collect();
        sorted.sort();
        let lower: Vec<String> = all.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(lower, sorted[..5]);
    }
}
