//! The embedding layer of one library: a unit vector per article and per passage, made by one
//! model, with the model itself (questions are embedded at ask time), and the dense side of
//! `related` and of `ask`'s passage order. Plain data: it knows nothing of how a library is
//! built (see [`super::attach`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::Model;

/// A digest of the text a vector was made of: a later library reuses the vector of a text it
/// still holds, whatever else changed.
pub type Key = [u8; 32];

/// The key of `text` as the layer embeds it.
pub fn key(text: &str) -> Key {
    *blake3::hash(text.as_bytes()).as_bytes()
}

/// How much the dense cosine weighs against the lexical score, per command. Chosen on the
/// development halves (BENCHMARKS.md, "Embeddings (issue 14)").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// `related`: score = (1 - related) × lexical cosine + related × dense cosine.
    pub related: f32,
    /// `ask`: a retrieved passage's score = (1 - ask) × BM25 / best BM25 + ask × dense
    /// cosine of question and passage.
    pub ask: f32,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            // The best development figure of the grid (20 Newsgroups sample, 2026-12-07:
            // 0.866 against 0.817 lexical alone; passage means beat title-and-start heads).
            related: 0.4,
            // The best development figure of 0, 0.25, 0.5, 0.75 (SQuAD v1.1 dev, every fifth
            // question, 2026-12-07: answer@1 0.806 against 0.777 lexical; untouched 0.794
            // against 0.765).
            ask: 0.75,
        }
    }
}

/// Vectors by key, made by one model (the cache a build reuses).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    pub model: String,
    pub dim: usize,
    pub vectors: HashMap<Key, Arc<[f32]>>,
}

/// The persisted form of a [`Cache`] (its own file, see [`super::cache_path`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub format: u32,
    pub model: String,
    pub dim: u32,
    pub keys: Vec<Key>,
    /// `keys.len() × dim` values, row after row.
    pub values: Vec<f32>,
}

/// The format of [`Stored`]; a file of another format is ignored (its vectors made again).
/// The model's fingerprint covers its files, not our forward pass: bump this when `bert.rs`,
/// the pooling or the text a passage is embedded as changes, or old vectors are reused.
pub(crate) const FORMAT: u32 = 1;

impl Cache {
    pub(crate) fn stored(&self) -> Stored {
        let mut keys: Vec<&Key> = self.vectors.keys().collect();
        keys.sort();
        let mut values = Vec::with_capacity(keys.len() * self.dim);
        for k in &keys {
            values.extend_from_slice(&self.vectors[*k]);
        }
        Stored {
            format: FORMAT,
            model: self.model.clone(),
            dim: self.dim as u32,
            keys: keys.into_iter().copied().collect(),
            values,
        }
    }

    /// The cache a stored file holds, when it is whole.
    pub(crate) fn from_stored(s: Stored) -> anyhow::Result<Cache> {
        let dim = s.dim as usize;
        if s.format != FORMAT {
            anyhow::bail!("format {} (this articlebot writes {FORMAT})", s.format);
        }
        if dim == 0 || s.values.len() != s.keys.len() * dim {
            anyhow::bail!(
                "{} keys but {} values of {dim}",
                s.keys.len(),
                s.values.len()
            );
        }
        let vectors = s
            .keys
            .into_iter()
            .zip(s.values.chunks(dim))
            .map(|(k, v)| (k, Arc::from(v)))
            .collect();
        Ok(Cache {
            model: s.model,
            dim,
            vectors,
        })
    }
}

/// The layer of one library.
pub struct Embeddings {
    model: Arc<Model>,
    dim: usize,
    /// Article `i`'s vector is `articles[i * dim..(i + 1) * dim]`.
    articles: Vec<f32>,
    /// Passage `p`'s vector, the same way.
    passages: Vec<f32>,
    /// Every vector made for this library, by the key of its text: what the next library
    /// (an update, a reload, the next start through the stored file) reuses.
    cache: Cache,
    /// Texts embedded to make this layer (the others were reused).
    embedded: usize,
    pub weights: Weights,
}

impl std::fmt::Debug for Embeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embeddings")
            .field("model", &self.model.fingerprint())
            .field("articles", &self.article_count())
            .field("passages", &self.passage_count())
            .finish_non_exhaustive()
    }
}

impl Embeddings {
    pub(crate) fn new(
        model: Arc<Model>,
        articles: Vec<f32>,
        passages: Vec<f32>,
        cache: Cache,
        embedded: usize,
        weights: Weights,
    ) -> Embeddings {
        let dim = model.dim();
        debug_assert_eq!(articles.len() % dim, 0);
        debug_assert_eq!(passages.len() % dim, 0);
        Embeddings {
            model,
            dim,
            articles,
            passages,
            cache,
            embedded,
            weights,
        }
    }

    /// How many texts were embedded to make this layer; the rest were reused by their text.
    pub fn embedded(&self) -> usize {
        self.embedded
    }

    /// The same vectors scored with other weights (the evaluation's grid).
    pub fn with_weights(&self, weights: Weights) -> Embeddings {
        Embeddings {
            model: self.model.clone(),
            dim: self.dim,
            articles: self.articles.clone(),
            passages: self.passages.clone(),
            cache: self.cache.clone(),
            embedded: self.embedded,
            weights,
        }
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn article_count(&self) -> usize {
        self.articles.len() / self.dim
    }

    pub fn passage_count(&self) -> usize {
        self.passages.len() / self.dim
    }

    pub fn article(&self, id: u32) -> &[f32] {
        let i = id as usize * self.dim;
        &self.articles[i..i + self.dim]
    }

    pub fn passage(&self, id: u32) -> &[f32] {
        let i = id as usize * self.dim;
        &self.passages[i..i + self.dim]
    }

    /// The cosine of article `id` with every article, by id (its own included).
    pub fn article_similarities(&self, id: u32) -> Vec<f32> {
        let v = self.article(id);
        self.articles.chunks(self.dim).map(|o| dot(v, o)).collect()
    }

    /// The unit vector of a question. CPU-bound (a forward pass, a few milliseconds for
    /// MiniLM): the commands run on blocking threads.
    pub fn embed_query(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let mut v = self.model.embed(&[text])?;
        Ok(v.pop().unwrap_or_default())
    }
}

/// The dot product: the cosine of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `v` scaled to length 1 (unchanged when it is all zeros).
pub fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}
