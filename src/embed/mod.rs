//! The optional sentence-embedding layer (feature `embeddings`, off by default): a local
//! model's unit vectors of every article and passage, made when a library is built or
//! updated, kept in a file of their own beside the index, and used by `related` (beside the
//! term vectors) and by `ask` (to reorder the passages BM25 retrieved). Lexical retrieval
//! stands alone without it; nothing here is ever fetched from the network.
//!
//! - [`bert`]: the encoder's forward pass on candle-nn.
//! - [`model`]: a model folder loaded, texts to vectors.
//! - [`layer`]: one library's vectors and their dense scores (plain data).
//! - this module: the layer made for a library ([`attach`]), reusing every vector whose text
//!   is unchanged (from the library it replaces, or from the stored file), so an update
//!   embeds only the changed articles' passages.

pub mod bert;
pub mod layer;
pub mod model;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::config::{IndexLocation, Settings};
use crate::library::Library;
pub use layer::{Cache, Embeddings, Weights};
pub use model::Model;

/// What an article's vector is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleText {
    /// The title and the start of the body, one text (cut at [`model::MAX_TOKENS`]).
    Head,
    /// The mean of its passages' vectors, scaled to length 1.
    PassageMean,
}

/// How a library's layer is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    pub article: ArticleText,
    pub weights: Weights,
}

impl Default for Recipe {
    fn default() -> Recipe {
        Recipe {
            // Chosen on the development half of the related set (BENCHMARKS.md).
            article: ArticleText::PassageMean,
            weights: Weights::default(),
        }
    }
}

/// Characters of an article's body that go into its head text: more than
/// [`model::MAX_TOKENS`] tokens ever hold, so the tokenizer makes the cut.
const HEAD_CHARS: usize = 4000;

/// The text passage `p` is embedded as: its article's title, then its text (the title tells
/// a question which article a passage is about).
pub fn passage_input(lib: &Library, p: u32) -> String {
    let a = lib.article(lib.passages[p as usize].article);
    format!("{}\n{}", a.title, lib.passage_text(p))
}

/// The text article `id` is embedded as under [`ArticleText::Head`].
pub fn head_input(lib: &Library, id: u32) -> String {
    let a = lib.article(id);
    let mut out = a.title.clone();
    for p in lib.passages_of(id) {
        if out.len() >= HEAD_CHARS {
            break;
        }
        out.push('\n');
        out.push_str(&lib.passage_text(p));
    }
    crate::text::truncate(&out, HEAD_CHARS)
}

/// The layer of `lib` by `model`: every text's vector from `reuse` when it is there (made by
/// the same model), else embedded now. CPU-bound: call it on a blocking thread.
pub fn build(
    lib: &Library,
    model: Arc<Model>,
    reuse: &Cache,
    recipe: &Recipe,
) -> anyhow::Result<Embeddings> {
    let dim = model.dim();
    let same_model = reuse.model == model.fingerprint() && reuse.dim == dim;
    let mut texts: Vec<String> = (0..lib.passages.len() as u32)
        .map(|p| passage_input(lib, p))
        .collect();
    let passage_count = texts.len();
    if recipe.article == ArticleText::Head {
        texts.extend((0..lib.articles.len() as u32).map(|a| head_input(lib, a)));
    }
    let keys: Vec<layer::Key> = texts.iter().map(|t| layer::key(t)).collect();
    let mut cache = Cache {
        model: model.fingerprint().to_string(),
        dim,
        vectors: Default::default(),
    };
    let mut missing: Vec<usize> = Vec::new();
    let mut pending: rustc_hash::FxHashSet<layer::Key> = Default::default();
    for (i, k) in keys.iter().enumerate() {
        if cache.vectors.contains_key(k) {
            continue;
        }
        match reuse.vectors.get(k).filter(|_| same_model) {
            Some(v) => {
                cache.vectors.insert(*k, v.clone());
            }
            None => {
                // A text held twice is embedded once.
                if pending.insert(*k) {
                    missing.push(i);
                }
            }
        }
    }
    if !missing.is_empty() {
        tracing::info!(
            texts = missing.len(),
            reused = cache.vectors.len(),
            "embedding the texts that changed"
        );
    }
    for chunk in missing.chunks(256) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let vectors = model.embed(&batch)?;
        for (&i, v) in chunk.iter().zip(vectors) {
            cache.vectors.insert(keys[i], v.into());
        }
    }
    let mut passages = Vec::with_capacity(passage_count * dim);
    for k in &keys[..passage_count] {
        passages.extend_from_slice(&cache.vectors[k]);
    }
    let mut articles = vec![0f32; lib.articles.len() * dim];
    match recipe.article {
        ArticleText::Head => {
            for (a, k) in keys[passage_count..].iter().enumerate() {
                articles[a * dim..(a + 1) * dim].copy_from_slice(&cache.vectors[k]);
            }
        }
        ArticleText::PassageMean => {
            for (a, row) in articles.chunks_mut(dim).enumerate() {
                for p in lib.passages_of(a as u32) {
                    let v = &passages[p as usize * dim..(p as usize + 1) * dim];
                    row.iter_mut().zip(v).for_each(|(x, y)| *x += y);
                }
                layer::normalise(row);
            }
        }
    }
    Ok(Embeddings::new(
        model,
        articles,
        passages,
        cache,
        missing.len(),
        recipe.weights,
    ))
}

/// Where the vectors of a library persisted in `index` are kept: a file beside the index
/// folder (`<index>.embeddings`), not in it, since the index folder holds only what the index
/// build writes and is replaced whole by a rebuild (the vectors outlive it: they are reused by
/// the text they were made of). `None` for an index in memory (or a folder with no name).
pub fn cache_path(index: &IndexLocation) -> Option<PathBuf> {
    match index {
        IndexLocation::Dir(dir) => crate::library::beside_index_folder(dir, ".embeddings"),
        IndexLocation::Memory => None,
    }
}

/// The cache stored at `path`: empty when there is none, or when it cannot be used (another
/// format, a damaged file: its vectors are made again, with a warning).
pub fn read_cache(path: &Path) -> Cache {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Cache::default(),
        Err(e) => {
            tracing::warn!("cannot read {}: {e}; embedding again", path.display());
            return Cache::default();
        }
    };
    match postcard::from_bytes::<layer::Stored>(&bytes)
        .map_err(anyhow::Error::from)
        .and_then(Cache::from_stored)
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("{}: unusable ({e}); embedding again", path.display());
            Cache::default()
        }
    }
}

/// Writes `cache` to `path` whole (a temporary file renamed over it).
pub fn write_cache(path: &Path, cache: &Cache) -> anyhow::Result<()> {
    let bytes = postcard::to_allocvec(&cache.stored())?;
    // A name of this process's own: the bot and a command-line run may write at once.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Gives `lib` its embedding layer when the settings name a model (`[embeddings]
/// model_dir`); does nothing otherwise. The model is `previous`'s when it was loaded from the
/// same folder (a reload does not read it again); the vectors of texts `previous` or the
/// stored file already has are reused, so an update embeds only what changed. CPU-bound.
pub fn attach(
    settings: &Settings,
    lib: &mut Library,
    previous: Option<&Library>,
) -> anyhow::Result<()> {
    let Some(dir) = &settings.embeddings.model_dir else {
        return Ok(());
    };
    let before = previous.and_then(|p| p.embeddings());
    let model = match before.map(|e| e.model()).filter(|m| m.dir() == dir) {
        Some(m) => m.clone(),
        None => Arc::new(Model::load(dir)?),
    };
    let path = cache_path(&settings.index);
    let reuse = match (before, &path) {
        (Some(e), _) if e.cache().model == model.fingerprint() => e.cache().clone(),
        (_, Some(path)) => read_cache(path),
        _ => Cache::default(),
    };
    let layer = build(lib, model, &reuse, &Recipe::default())?;
    if let Some(path) = path {
        let changed = layer.cache().model != reuse.model
            || layer.cache().vectors.len() != reuse.vectors.len()
            || layer
                .cache()
                .vectors
                .keys()
                .any(|k| !reuse.vectors.contains_key(k));
        if changed {
            write_cache(&path, layer.cache())?;
        }
    }
    // The layer read every passage's text: the bodies it loaded go, or a serving process would
    // hold every article (the point of `articles.bin` being read lazily).
    lib.unload_bodies();
    lib.set_embeddings(Some(Arc::new(layer)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectors_file_lies_beside_the_index_folder_however_the_folder_is_written() {
        // "data/index/" once put the file inside the index folder, which then refused to be
        // updated (a file it did not make).
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index");
        let beside = std::fs::canonicalize(dir.path())
            .unwrap()
            .join("index.embeddings");
        // A relative folder that does not exist (not "data/index", which the README's first
        // command makes in the working folder the tests run in).
        let missing = |p: &str| cache_path(&IndexLocation::Dir(PathBuf::from(p))).unwrap();
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            missing(&format!("{name}-absent/index/")),
            PathBuf::from(format!("{name}-absent/index.embeddings"))
        );
        assert_eq!(
            missing(&format!("{name}-absent/index")),
            PathBuf::from(format!("{name}-absent/index.embeddings"))
        );
        std::fs::create_dir(&index).unwrap();
        for written in [index.clone(), index.join(""), index.join(".")] {
            let path = cache_path(&IndexLocation::Dir(written.clone())).unwrap();
            assert_eq!(path, beside, "{}", written.display());
        }
        assert_eq!(cache_path(&IndexLocation::Memory), None);
    }
}
