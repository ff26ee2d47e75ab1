//! A sentence-embedding model read from a local folder (`config.json`, `tokenizer.json`,
//! `model.safetensors`): texts in, unit vectors out (mean pooling over at most
//! [`MAX_TOKENS`] tokens, L2-normalised), in batches. Never fetched: a missing or broken file
//! is an error naming `embeddings.model_dir` and the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use tokenizers::{Tokenizer, TruncationParams};

use super::bert::{self, Bert, BertConfig};

/// Tokens a text is cut to (the length all-MiniLM-L6-v2 was trained at; the rest of a longer
/// text does not enter its vector).
pub const MAX_TOKENS: usize = 256;
/// Texts embedded in one forward pass: long enough to keep the matrix products busy, short
/// enough that padding to the batch's longest text wastes little (texts are sorted by length).
const BATCH: usize = 16;

/// The files of a model folder.
pub const CONFIG: &str = "config.json";
pub const TOKENIZER: &str = "tokenizer.json";
pub const WEIGHTS: &str = "model.safetensors";

/// A loaded model.
pub struct Model {
    bert: Bert,
    tokenizer: Tokenizer,
    dim: usize,
    max_tokens: usize,
    fingerprint: String,
    dir: PathBuf,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// `embeddings.model_dir: <dir>/<file>`, the start of every load error.
fn at(dir: &Path, file: &str) -> String {
    format!("embeddings.model_dir: {}", dir.join(file).display())
}

impl Model {
    /// Loads the model in `dir`. CPU-bound (reads and hashes about 90 MB for MiniLM): call it
    /// off the async runtime.
    pub fn load(dir: &Path) -> anyhow::Result<Model> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("embeddings.model_dir: {} is not a folder", dir.display()),
            Err(e) => bail!("embeddings.model_dir: {}: {e}", dir.display()),
        }
        let read = |file: &str| -> anyhow::Result<Vec<u8>> {
            std::fs::read(dir.join(file)).with_context(|| format!("{}: cannot read", at(dir, file)))
        };
        let config_bytes = read(CONFIG)?;
        let tokenizer_bytes = read(TOKENIZER)?;
        let weights = read(WEIGHTS)?;
        let config: BertConfig = serde_json::from_slice(&config_bytes)
            .with_context(|| format!("{}: not a BERT configuration", at(dir, CONFIG)))?;
        if let Some(problem) = config.problem() {
            bail!("{}: {problem}", at(dir, CONFIG));
        }
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a tokenizer: {e}", at(dir, TOKENIZER)))?;
        let max_tokens = MAX_TOKENS.min(config.max_position_embeddings);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| anyhow::anyhow!("{}: {e}", at(dir, TOKENIZER)))?;
        // Padding is ours, per batch (the file may ask for a fixed length).
        tokenizer.with_padding(None);
        let mut hash = blake3::Hasher::new();
        for part in [&config_bytes, &tokenizer_bytes, &weights] {
            hash.update(&(part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.update(&(max_tokens as u64).to_le_bytes());
        let fingerprint = hash.finalize().to_hex()[..32].to_string();
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &bert::device())
            .with_context(|| format!("{}: not a safetensors file", at(dir, WEIGHTS)))?;
        let bert = Bert::load(vb, &config)
            .with_context(|| format!("{}: does not fit {CONFIG}", at(dir, WEIGHTS)))?;
        let model = Model {
            bert,
            tokenizer,
            dim: config.hidden_size,
            max_tokens,
            fingerprint,
            dir: dir.to_path_buf(),
        };
        // One text through the whole pipeline: a vocabulary that does not fit the weights
        // fails here, at load, not at the first question.
        model
            .embed(&["articlebot"])
            .with_context(|| format!("{}: the model does not run", at(dir, WEIGHTS)))?;
        Ok(model)
    }

    /// The length of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// A digest of the model's files and of how texts are cut: vectors made by another model
    /// (or another cut) carry another fingerprint and are never mixed with these.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unit vector of each text, in order. CPU-bound (candle's matrix products use the
    /// rayon pool): call it on a blocking or rayon thread, never on an async worker.
    pub fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let longest = chunk
                .iter()
                .map(|&i| encodings[i].get_ids().len())
                .max()
                .unwrap_or(0)
                .clamp(1, self.max_tokens);
            let mut ids = vec![0u32; chunk.len() * longest];
            let mut mask = vec![0f32; chunk.len() * longest];
            for (row, &i) in chunk.iter().enumerate() {
                for (j, &id) in encodings[i].get_ids().iter().take(longest).enumerate() {
                    ids[row * longest + j] = id;
                    mask[row * longest + j] = 1.0;
                }
            }
            let device = bert::device();
            let ids = Tensor::from_vec(ids, (chunk.len(), longest), &device)?;
            let mask = Tensor::from_vec(mask, (chunk.len(), longest), &device)?;
            let states = self.bert.forward(&ids, &mask)?;
            let vectors: Vec<Vec<f32>> = bert::mean_pool_normalised(&states, &mask)?.to_vec2()?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
