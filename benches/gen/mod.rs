//! A deterministic generator of article collections for the benchmarks: `(seed, size)` always
//! gives the same files. Articles are Markdown with TOML front matter (title, tags, aliases,
//! sometimes a summary), `##` sections, lists, links and usually a takeaway section, 300-3,000
//! words drawn from a Zipf-distributed vocabulary (real English function words at the top
//! ranks, synthesized pseudo-words below) with a few topic words per article. It also makes
//! the mixed question set the latency benchmark asks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// SplitMix64 (the one `articlebot-eval` breaks ties with), included from that binary.
#[allow(dead_code)]
#[path = "../../src/bin/articlebot-eval/measures.rs"]
mod measures;

/// SplitMix64 (the one `articlebot-eval` breaks ties with): small, fast, and stable across
/// versions of every crate.
#[derive(Clone)]
pub struct Rng(measures::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(measures::SplitMix64::new(seed ^ 0x9e37_79b9_7f4a_7c15))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len())]
    }
}

/// English function words: the top of every real vocabulary.
const FUNCTION_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "with", "was", "on",
    "be", "by", "this", "are", "from", "at", "or", "an", "have", "not", "which", "but", "they",
    "their", "more", "can", "has", "one", "all", "when", "most", "also", "other", "than", "into",
    "about", "some", "these", "only", "there", "many", "how", "what", "after", "first", "two",
    "time", "people", "new", "over", "years", "because", "who", "while", "each", "between",
];

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "cr", "dr", "fl", "gr", "pl", "pr", "sk", "sl", "sp", "st", "tr", "ch", "sh", "th",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y"];
const CODAS: &[&str] = &[
    "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "rk", "ng", "x",
];
const SUFFIXES: &[&str] = &[
    "", "", "", "", "ing", "ed", "er", "s", "ly", "tion", "ment", "ness", "able", "ity",
];

/// A Zipf-distributed vocabulary: rank `r` is drawn with weight `1 / r^1.07`.
pub struct Vocabulary {
    pub words: Vec<String>,
    cdf: Vec<f64>,
}

impl Vocabulary {
    pub fn new(seed: u64, size: usize) -> Vocabulary {
        let mut rng = Rng::new(seed ^ 0x76_6f63_6162);
        let mut words: Vec<String> = FUNCTION_WORDS.iter().map(|w| w.to_string()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < size {
            let syllables = 1 + rng.range(0, 3) + usize::from(words.len() > size / 4);
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(rng.pick::<&str>(ONSETS));
                w.push_str(rng.pick::<&str>(VOWELS));
                w.push_str(rng.pick::<&str>(CODAS));
            }
            w.push_str(rng.pick::<&str>(SUFFIXES));
            if w.len() >= 3 && seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut cdf = Vec::with_capacity(size);
        let mut total = 0.0;
        for r in 1..=size {
            total += 1.0 / (r as f64).powf(1.07);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Vocabulary { words, cdf }
    }

    /// A word drawn by Zipf rank.
    pub fn draw(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self
            .cdf
            .partition_point(|&c| c < u)
            .min(self.words.len() - 1);
        &self.words[i]
    }

    /// A word of rank in `lo..hi` drawn uniformly (topic words, rare words).
    pub fn ranked(&self, rng: &mut Rng, lo: usize, hi: usize) -> &str {
        &self.words[rng.range(lo, hi.min(self.words.len()))]
    }
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// What the generator knows about one article it wrote (for making questions).
pub struct ArticleInfo {
    pub path: PathBuf,
    pub title: String,
    pub aliases: Vec<String>,
    pub topic: Vec<String>,
    /// A few sentences of the body, as written.
    pub sentences: Vec<String>,
}

/// A generated collection on disk.
pub struct Collection {
    pub articles: Vec<ArticleInfo>,
    pub bytes: u64,
    pub words: u64,
    pub vocab: Vocabulary,
}

const TAKEAWAY_HEADINGS: &[&str] = &["Key Takeaways", "Takeaways", "Lessons Learned", "TL;DR"];

/// Writes `size` articles below `dir` (100 per folder) from `seed`.
pub fn generate(dir: &Path, seed: u64, size: usize) -> std::io::Result<Collection> {
    let vocab = Vocabulary::new(seed, 30_000);
    let tags: Vec<String> = (0..200)
        .map(|i| {
            let mut r = Rng::new(seed ^ (i as u64) << 20);
            vocab.ranked(&mut r, 200, 3000).to_string()
        })
        .collect();
    let mut articles = Vec::with_capacity(size);
    let mut bytes = 0u64;
    let mut words = 0u64;
    let mut buf = String::new();
    for i in 0..size {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003) ^ i as u64);
        buf.clear();
        let info = write_article(&mut buf, &mut rng, &vocab, &tags, i, &mut words);
        let folder = dir.join(format!("part-{:04}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&folder)?;
        }
        let path = folder.join(format!("article-{i:06}.md"));
        std::fs::write(&path, &buf)?;
        bytes += buf.len() as u64;
        articles.push(ArticleInfo { path, ..info });
    }
    Ok(Collection {
        articles,
        bytes,
        words,
        vocab,
    })
}

fn sentence(rng: &mut Rng, vocab: &Vocabulary, topic: &[String], out: &mut String) -> String {
    let n = rng.range(8, 26);
    let mut s = String::new();
    for k in 0..n {
        let w: &str = if rng.chance(0.08) {
            rng.pick(topic).as_str()
        } else {
            vocab.draw(rng)
        };
        if k == 0 {
            s.push_str(&capitalize(w));
        } else {
            s.push(' ');
            if rng.chance(0.01) {
                s.push_str(&capitalize(w));
            } else {
                s.push_str(w);
            }
            if k + 1 < n && rng.chance(0.06) {
                s.push(',');
            }
        }
    }
    // A number now and then, as real prose has.
    if rng.chance(0.1) {
        let _ = write!(s, " in {}", 1900 + rng.range(0, 126));
    }
    s.push(if rng.chance(0.05) { '?' } else { '.' });
    out.push_str(&s);
    s
}

fn write_article(
    out: &mut String,
    rng: &mut Rng,
    vocab: &Vocabulary,
    tags: &[String],
    i: usize,
    total_words: &mut u64,
) -> ArticleInfo {
    let topic: Vec<String> = (0..rng.range(3, 7))
        .map(|_| vocab.ranked(rng, 300, 20_000).to_string())
        .collect();
    let title_words = rng.range(2, 6);
    let mut title: Vec<String> = (0..title_words)
        .map(|k| {
            if k % 2 == 0 {
                capitalize(rng.pick(&topic).as_str())
            } else {
                capitalize(vocab.draw(rng))
            }
        })
        .collect();
    // Titles repeat across a large collection; the number keeps each one distinct.
    if rng.chance(0.3) {
        title.push(format!("{}", i % 1000));
    }
    let title = title.join(" ");
    let aliases: Vec<String> = (0..rng.range(0, 3))
        .map(|_| format!("{} {}", rng.pick(&topic), vocab.ranked(rng, 100, 5000)))
        .collect();
    let article_tags: Vec<&String> = (0..rng.range(1, 5)).map(|_| rng.pick(tags)).collect();
    out.push_str("+++\n");
    let _ = writeln!(out, "title = {title:?}");
    let _ = writeln!(
        out,
        "tags = [{}]",
        article_tags
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !aliases.is_empty() {
        let _ = writeln!(
            out,
            "aliases = [{}]",
            aliases
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        out,
        "date = 20{:02}-{:02}-{:02}",
        10 + i % 16,
        1 + i % 12,
        1 + i % 28
    );
    if rng.chance(0.4) {
        let mut summary = String::new();
        sentence(rng, vocab, &topic, &mut summary);
        let _ = writeln!(out, "summary = {summary:?}");
    }
    out.push_str("+++\n\n");
    // Word budget: log-uniform between 300 and 3,000.
    let budget = (300.0 * 10f64.powf(rng.unit())) as usize;
    let mut written = 0usize;
    let mut sentences = Vec::new();
    let sections = (budget / 250).clamp(2, 12);
    for s in 0..=sections {
        if s > 0 {
            let heading: Vec<String> = (0..rng.range(1, 5))
                .map(|_| {
                    capitalize(if rng.chance(0.4) {
                        rng.pick(&topic).as_str()
                    } else {
                        vocab.draw(rng)
                    })
                })
                .collect();
            let _ = writeln!(out, "## {}\n", heading.join(" "));
        }
        let section_budget = budget / (sections + 1);
        let mut in_section = 0;
        while in_section < section_budget {
            if rng.chance(0.15) {
                // A list.
                for _ in 0..rng.range(2, 6) {
                    out.push_str("- ");
                    let s = sentence(rng, vocab, &topic, out);
                    in_section += s.split(' ').count();
                    out.push('\n');
                }
                out.push('\n');
                continue;
            }
            for _ in 0..rng.range(2, 7) {
                if in_section >= section_budget {
                    break;
                }
                let s = sentence(rng, vocab, &topic, out);
                in_section += s.split(' ').count();
                if sentences.len() < 6 && rng.chance(0.3) {
                    sentences.push(s);
                }
                if rng.chance(0.1) {
                    let _ = write!(
                        out,
                        " See [{} {}](https://example.org/{}/{}).",
                        vocab.draw(rng),
                        rng.pick(&topic),
                        rng.pick(&topic),
                        rng.range(0, 100_000)
                    );
                }
                out.push(' ');
            }
            out.push_str("\n\n");
        }
        written += in_section;
    }
    if rng.chance(0.7) {
        let _ = writeln!(out, "## {}\n", rng.pick(TAKEAWAY_HEADINGS));
        for _ in 0..rng.range(3, 6) {
            out.push_str("- ");
            let s = sentence(rng, vocab, &topic, out);
            written += s.split(' ').count();
            out.push('\n');
        }
    }
    *total_words += written as u64;
    ArticleInfo {
        path: PathBuf::new(),
        title,
        aliases,
        topic,
        sentences,
    }
}

/// The kinds of question in the mixed set, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Short,
    Long,
    Rare,
    Common,
    Typo,
}

fn typo(rng: &mut Rng, w: &str) -> String {
    let mut c: Vec<char> = w.chars().collect();
    if c.len() < 4 {
        return w.to_string();
    }
    let i = rng.range(1, c.len() - 1);
    match rng.range(0, 3) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        _ => c.insert(i, 'q'),
    }
    c.into_iter().collect()
}

/// `n` mixed questions (short, long, rare words, common words, typos) about `c`.
pub fn questions(c: &Collection, seed: u64, n: usize) -> Vec<(Kind, String)> {
    let mut rng = Rng::new(seed ^ 0x7175_6573);
    let kinds = [
        Kind::Short,
        Kind::Long,
        Kind::Rare,
        Kind::Common,
        Kind::Typo,
    ];
    (0..n)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            let a = rng.pick(&c.articles);
            let q = match kind {
                Kind::Short => {
                    let mut q = rng.pick(&a.topic).clone();
                    if rng.chance(0.5) {
                        q = format!("{q} {}", rng.pick(&a.topic));
                    }
                    q
                }
                Kind::Long => {
                    let s = a
                        .sentences
                        .first()
                        .cloned()
                        .unwrap_or_else(|| a.title.clone());
                    format!(
                        "how does {} relate to {} {}",
                        rng.pick(&a.topic),
                        s.trim_end_matches(['.', '?']).to_lowercase(),
                        rng.pick(&a.topic)
                    )
                }
                Kind::Rare => {
                    let w1 = c.vocab.ranked(&mut rng, 15_000, 30_000).to_string();
                    let w2 = c.vocab.ranked(&mut rng, 8_000, 30_000).to_string();
                    format!("what is {w1} {w2}")
                }
                Kind::Common => {
                    let words: Vec<&str> = (0..rng.range(2, 5))
                        .map(|_| c.vocab.ranked(&mut rng, 0, 150))
                        .collect();
                    format!("why {}", words.join(" "))
                }
                Kind::Typo => {
                    let w = rng.pick(&a.topic).clone();
                    format!("what about {}", typo(&mut rng, &w))
                }
            };
            (kind, q)
        })
        .collect()
}

/// `n` partial names as a user types them: title prefixes, alias prefixes, typos, misses.
pub fn prefixes(c: &Collection, seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x6175_746f);
    (0..n)
        .map(|i| {
            let a = rng.pick(&c.articles);
            match i % 5 {
                0 | 1 => {
                    let chars: Vec<char> = a.title.chars().collect();
                    let k = rng.range(1, chars.len().min(14) + 1);
                    chars[..k].iter().collect()
                }
                2 => match a.aliases.first() {
                    Some(al) => al.chars().take(rng.range(2, 10)).collect(),
                    None => a.title.to_lowercase(),
                },
                3 => typo(&mut rng, &a.title.chars().take(12).collect::<String>()),
                _ => c
                    .vocab
                    .ranked(&mut rng, 5000, 30_000)
                    .chars()
                    .take(5)
                    .collect(),
            }
        })
        .collect()
}
