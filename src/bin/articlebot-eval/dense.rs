//! The sentence-embedding layer as the evaluations use it (`--embeddings DIR`): resolved from
//! the flags and the config, then made for a library built in memory with the recipe a run
//! asks for. The layer itself is `articlebot::embed` (feature `embeddings`).

use std::path::PathBuf;

use anyhow::bail;

use articlebot::config::Settings;

use crate::evaluate::DenseArgs;

/// What an article's vector is made of (`--article-vector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleVector {
    Passages,
    Head,
}

/// The layer a run measures (read only by a build with the feature).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "embeddings"), allow(dead_code))]
pub struct Dense {
    pub model_dir: PathBuf,
    /// `--dense-weight`: instead of the default of the command measured.
    pub weight: Option<f32>,
    /// `--article-vector`: instead of the default.
    pub article: Option<ArticleVector>,
}

impl Dense {
    /// The layer the flags (or else the config's `embeddings.model_dir`) name, if any.
    pub fn resolve(args: &DenseArgs, settings: &Settings) -> anyhow::Result<Option<Dense>> {
        let Some(model_dir) = args
            .embeddings
            .clone()
            .or_else(|| settings.embeddings.model_dir.clone())
        else {
            if args.dense_weight.is_some() || args.article_vector.is_some() {
                bail!("--dense-weight and --article-vector need --embeddings DIR");
            }
            return Ok(None);
        };
        if !cfg!(feature = "embeddings") {
            bail!(
                "--embeddings: this articlebot-eval was built without the sentence-embedding \
                 layer (cargo build --features embeddings --bin articlebot-eval)"
            );
        }
        if let Some(w) = args.dense_weight {
            if !(0.0..=1.0).contains(&w) {
                bail!("--dense-weight: {w} is outside 0..=1");
            }
        }
        let article = match args.article_vector.as_deref() {
            None => None,
            Some("passages") => Some(ArticleVector::Passages),
            Some("head") => Some(ArticleVector::Head),
            Some(other) => bail!("--article-vector: {other:?} is neither `passages` nor `head`"),
        };
        Ok(Some(Dense {
            model_dir,
            weight: args.dense_weight,
            article,
        }))
    }
}

#[cfg(feature = "embeddings")]
pub use with_layer::*;

#[cfg(feature = "embeddings")]
mod with_layer {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use articlebot::embed::{self, ArticleText, Cache, Model, Recipe, Weights};
    use articlebot::library::Library;

    use super::{ArticleVector, Dense};

    impl From<ArticleVector> for ArticleText {
        fn from(a: ArticleVector) -> ArticleText {
            match a {
                ArticleVector::Passages => ArticleText::PassageMean,
                ArticleVector::Head => ArticleText::Head,
            }
        }
    }

    /// A loaded model and every vector made so far in the run (a second recipe reuses them).
    pub struct Session {
        pub model: Arc<Model>,
        cache: Cache,
        /// Time spent embedding, and the texts embedded.
        pub embedding: Duration,
        pub texts: usize,
    }

    impl Session {
        pub fn open(dense: &Dense) -> anyhow::Result<Session> {
            Ok(Session {
                model: Arc::new(Model::load(&dense.model_dir)?),
                cache: Cache::default(),
                embedding: Duration::ZERO,
                texts: 0,
            })
        }

        /// Gives `lib` the layer of `recipe` (vectors made once per text in the run).
        pub fn attach(&mut self, lib: &mut Library, recipe: &Recipe) -> anyhow::Result<()> {
            let start = Instant::now();
            let before = self.cache.vectors.len();
            let layer = embed::build(lib, self.model.clone(), &self.cache, recipe)?;
            for (k, v) in &layer.cache().vectors {
                self.cache.vectors.insert(*k, v.clone());
            }
            self.cache.model = layer.cache().model.clone();
            self.cache.dim = layer.cache().dim;
            self.texts += self.cache.vectors.len() - before;
            self.embedding += start.elapsed();
            lib.set_embeddings(Some(Arc::new(layer)));
            Ok(())
        }
    }

    /// The recipe `dense` asks for, the defaults filling in.
    pub fn recipe(dense: &Dense, ask: bool) -> Recipe {
        let d = Recipe::default();
        let mut weights = Weights::default();
        if let Some(w) = dense.weight {
            if ask {
                weights.ask = w;
            } else {
                weights.related = w;
            }
        }
        Recipe {
            article: dense.article.map(ArticleText::from).unwrap_or(d.article),
            weights,
        }
    }
}
