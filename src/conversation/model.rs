//! The recognition model: `intents.toml` (phrases, patterns, fillers, reference words,
//! replies) read once and compiled into look-up tables of stems.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

use super::Intent;
use crate::text;

/// The data file, compiled in.
pub(super) const INTENTS_TOML: &str = include_str!("intents.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    synonyms: HashMap<String, String>,
    fillers: RawFillers,
    article: RawArticle,
    author: RawAuthor,
    replies: Replies,
    intent: Vec<RawIntent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFillers {
    leading: Vec<String>,
    trailing: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArticle {
    references: Vec<String>,
    determiners: Vec<String>,
    nouns: Vec<String>,
    about: Vec<String>,
    follow_words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthor {
    references: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    name: String,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
}

/// The short replies, with `{title}`-style placeholders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replies {
    pub greeting: String,
    pub thanks: String,
    pub help: String,
    pub unclear: String,
    pub need_article: String,
    pub more_without_article: String,
    pub no_more: String,
    pub no_author: String,
    pub no_date: String,
    pub no_tags: String,
    pub no_link: String,
    pub no_section: String,
}

/// A slot of a pattern, filled by an entity parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Article,
    Topic,
    Author,
    Tag,
}

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Elem {
    /// A word, by stem.
    Word(String),
    /// Alternatives (an empty one makes the group optional).
    Group(Vec<Vec<Elem>>),
    Slot(Slot),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub intent: Intent,
    /// As written in the data file (reported with the result).
    pub source: String,
    pub elems: Vec<Elem>,
    /// Stems outside any group: a message lacking one cannot match (a cheap first test).
    pub required: Vec<String>,
}

/// Everything recognition reads.
#[derive(Debug)]
pub(super) struct Model {
    /// Single words rewritten before stemming (lower-cased form → words).
    pub synonyms: HashMap<String, Vec<String>>,
    /// Normalised whole messages → intent.
    pub lookup: HashMap<String, Intent>,
    pub patterns: Vec<Pattern>,
    pub leading: Vec<Vec<String>>,
    pub trailing: Vec<Vec<String>>,
    /// Normalised word sequences that mean the current article.
    pub references: HashSet<String>,
    pub determiners: HashSet<String>,
    /// Stem sequences of the nouns people call an article ("article", "write up").
    pub nouns: Vec<Vec<String>>,
    pub about: HashSet<String>,
    pub follow_words: HashSet<String>,
    pub author_references: HashSet<String>,
    pub replies: Replies,
}

/// The model built from [`INTENTS_TOML`], once per process.
pub(super) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        // The file is part of the binary; a unit test builds it, so this cannot fail in a
        // released build.
        Model::from_toml(INTENTS_TOML).expect("src/conversation/intents.toml is valid")
    })
}

impl Model {
    pub fn from_toml(source: &str) -> anyhow::Result<Model> {
        let raw: Raw =
            toml::from_str(source).map_err(|e| anyhow::anyhow!("intents.toml: {}", e.message()))?;
        let synonyms: HashMap<String, Vec<String>> = raw
            .synonyms
            .into_iter()
            .map(|(k, v)| (k, v.split_whitespace().map(str::to_string).collect()))
            .collect();
        let mut model = Model {
            synonyms,
            lookup: HashMap::new(),
            patterns: Vec::new(),
            leading: Vec::new(),
            trailing: Vec::new(),
            references: HashSet::new(),
            determiners: HashSet::new(),
            nouns: Vec::new(),
            about: HashSet::new(),
            follow_words: HashSet::new(),
            author_references: HashSet::new(),
            replies: raw.replies,
        };
        let stems = |m: &Model, s: &str| -> Vec<String> { m.stems(s) };
        model.leading = raw
            .fillers
            .leading
            .iter()
            .map(|s| stems(&model, s))
            .collect();
        model.trailing = raw
            .fillers
            .trailing
            .iter()
            .map(|s| stems(&model, s))
            .collect();
        // Longest fillers first, so "can you please" goes before "can you".
        model.leading.sort_by_key(|f| std::cmp::Reverse(f.len()));
        model.trailing.sort_by_key(|f| std::cmp::Reverse(f.len()));
        model.references = raw
            .article
            .references
            .iter()
            .map(|s| stems(&model, s).join(" "))
            .collect();
        model.determiners = raw
            .article
            .determiners
            .iter()
            .map(|s| stems(&model, s).join(" "))
            .collect();
        model.nouns = raw.article.nouns.iter().map(|s| stems(&model, s)).collect();
        model.nouns.sort_by_key(|n| std::cmp::Reverse(n.len()));
        model.about = raw
            .article
            .about
            .iter()
            .map(|s| stems(&model, s).join(" "))
            .collect();
        model.follow_words = raw
            .article
            .follow_words
            .iter()
            .map(|s| stems(&model, s).join(" "))
            .collect();
        model.author_references = raw
            .author
            .references
            .iter()
            .map(|s| stems(&model, s).join(" "))
            .collect();
        for intent in &raw.intent {
            let name = Intent::from_name(&intent.name)
                .ok_or_else(|| anyhow::anyhow!("intents.toml: unknown intent {:?}", intent.name))?;
            for phrase in &intent.phrases {
                let key = stems(&model, phrase).join(" ");
                if key.is_empty() {
                    anyhow::bail!("intents.toml: intent {}: empty phrase", intent.name);
                }
                if let Some(other) = model.lookup.insert(key, name) {
                    if other != name {
                        anyhow::bail!(
                            "intents.toml: phrase {phrase:?} belongs to {} and {}",
                            other.name(),
                            intent.name
                        );
                    }
                }
            }
            for source in &intent.patterns {
                let elems = model.parse_pattern(source).map_err(|e| {
                    anyhow::anyhow!(
                        "intents.toml: intent {}: pattern {source:?}: {e}",
                        intent.name
                    )
                })?;
                let required = elems
                    .iter()
                    .filter_map(|e| match e {
                        Elem::Word(w) => Some(w.clone()),
                        _ => None,
                    })
                    .collect();
                model.patterns.push(Pattern {
                    intent: name,
                    source: source.clone(),
                    elems,
                    required,
                });
            }
        }
        Ok(model)
    }

    /// The stems of `s` after synonyms: how both messages and data are compared.
    pub fn stems(&self, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        for w in text::words(s) {
            match self.synonyms.get(&*w.lower) {
                Some(words) => out.extend(words.iter().map(|w| text::stem(w))),
                None => out.push(w.stem.to_string()),
            }
        }
        out
    }

    /// Parses a pattern: words, `{slot}`s and `(a|b c|)` groups (which nest).
    fn parse_pattern(&self, source: &str) -> anyhow::Result<Vec<Elem>> {
        let mut chars = source.chars().peekable();
        let elems = self.parse_seq(&mut chars, false)?;
        if elems.is_empty() {
            anyhow::bail!("empty pattern");
        }
        Ok(elems)
    }

    fn parse_seq(
        &self,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        in_group: bool,
    ) -> anyhow::Result<Vec<Elem>> {
        let mut elems = Vec::new();
        let mut word = String::new();
        let flush = |word: &mut String, elems: &mut Vec<Elem>| {
            if !word.is_empty() {
                elems.extend(self.stems(word).into_iter().map(Elem::Word));
                word.clear();
            }
        };
        while let Some(&c) = chars.peek() {
            match c {
                '(' => {
                    chars.next();
                    flush(&mut word, &mut elems);
                    let mut alts = vec![self.parse_seq(chars, true)?];
                    loop {
                        match chars.next() {
                            Some('|') => alts.push(self.parse_seq(chars, true)?),
                            Some(')') => break,
                            _ => anyhow::bail!("unclosed group"),
                        }
                    }
                    elems.push(Elem::Group(alts));
                }
                '|' | ')' if in_group => break,
                '|' | ')' => anyhow::bail!("{c:?} outside a group"),
                '{' => {
                    chars.next();
                    flush(&mut word, &mut elems);
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    elems.push(Elem::Slot(match name.as_str() {
                        "article" => Slot::Article,
                        "topic" => Slot::Topic,
                        "author" => Slot::Author,
                        "tag" => Slot::Tag,
                        other => anyhow::bail!("unknown slot {{{other}}}"),
                    }));
                }
                _ => {
                    chars.next();
                    word.push(c);
                }
            }
        }
        flush(&mut word, &mut elems);
        Ok(elems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_model_builds() {
        let m = Model::from_toml(INTENTS_TOML).unwrap();
        assert!(m.patterns.len() > 50);
        assert_eq!(m.lookup.get("hello"), Some(&Intent::Greeting));
        // Synonyms apply before stemming, to data and messages alike.
        assert_eq!(m.stems("What's new?"), vec!["what", "is", "latest"]);
    }

    #[test]
    fn patterns_parse_groups_and_slots() {
        let m = Model::from_toml(INTENTS_TOML).unwrap();
        let p = m
            .parse_pattern("who (wrote|is the author of) {article}")
            .unwrap();
        assert_eq!(p[0], Elem::Word("who".into()));
        match &p[1] {
            Elem::Group(alts) => {
                assert_eq!(alts.len(), 2);
                assert_eq!(alts[1].len(), 4);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p[2], Elem::Slot(Slot::Article));
        assert!(m.parse_pattern("who (wrote {article}").is_err());
        assert!(m.parse_pattern("who {nope}").is_err());
        assert!(m.parse_pattern("a) b").is_err());
    }

    #[test]
    fn a_phrase_given_to_two_intents_is_refused() {
        let broken = INTENTS_TOML.replace("\"thanks\", \"thank you\",", "\"thanks\", \"hi\",");
        let err = Model::from_toml(&broken).unwrap_err().to_string();
        assert!(err.contains("\"hi\""), "{err}");
    }
}
