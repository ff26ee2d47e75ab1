//! A BERT encoder's forward pass on candle-nn, for the weights of a Hugging Face `BertModel`
//! (the names `embeddings.*` and `encoder.layer.N.*`): what sentence-embedding models such as
//! all-MiniLM-L6-v2 are. Only inference, only absolute positions and the GELU of the
//! original BERT; candle-transformers' BERT does the same but builds every model it ships.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// The fields of a model folder's `config.json` the forward pass uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
}

fn default_type_vocab_size() -> usize {
    2
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

fn default_hidden_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Why this configuration cannot be run, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.hidden_act != "gelu" {
            return Some(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                self.hidden_act
            ));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Some(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.hidden_size == 0 || self.num_hidden_layers == 0 || self.vocab_size == 0 {
            return Some("hidden_size, num_hidden_layers and vocab_size must be above 0".into());
        }
        None
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The encoder: token, position and type embeddings, then the layers.
pub struct Bert {
    words: Embedding,
    positions: Embedding,
    types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_size: usize,
}

impl Bert {
    /// The encoder with the weights `vb` holds (a missing or misshapen tensor is an error
    /// naming it).
    pub fn load(vb: VarBuilder, c: &BertConfig) -> Result<Bert> {
        let h = c.hidden_size;
        let eps = c.layer_norm_eps;
        let e = vb.pp("embeddings");
        let words = embedding(c.vocab_size, h, e.pp("word_embeddings"))?;
        let positions = embedding(c.max_position_embeddings, h, e.pp("position_embeddings"))?;
        let types = embedding(c.type_vocab_size, h, e.pp("token_type_embeddings"))?;
        let embeddings_norm = layer_norm(h, eps, e.pp("LayerNorm"))?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                query: linear(h, h, a.pp("self.query"))?,
                key: linear(h, h, a.pp("self.key"))?,
                value: linear(h, h, a.pp("self.value"))?,
                attention_out: linear(h, h, a.pp("output.dense"))?,
                attention_norm: layer_norm(h, eps, a.pp("output.LayerNorm"))?,
                intermediate: linear(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                output: linear(c.intermediate_size, h, l.pp("output.dense"))?,
                output_norm: layer_norm(h, eps, l.pp("output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            words,
            positions,
            types,
            embeddings_norm,
            layers,
            heads: c.num_attention_heads,
            head_size: h / c.num_attention_heads,
        })
    }

    /// The last layer's states, `(batch, tokens, hidden)`, of token ids `ids` `(batch,
    /// tokens)` (u32) with `mask` `(batch, tokens)` (f32, 1 for a token, 0 for padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (batch, tokens) = ids.dims2()?;
        let device = ids.device();
        let positions = Tensor::arange(0u32, tokens as u32, device)?.unsqueeze(0)?;
        let types = Tensor::zeros((1, tokens), DType::U32, device)?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .broadcast_add(&self.types.forward(&types)?)?;
        let mut x = self.embeddings_norm.forward(&x)?;
        // Padding gets a large negative score before the softmax: no token attends to it.
        let bias = ((mask.ones_like()? - mask)? * -10_000.0)?.reshape((batch, 1, 1, tokens))?;
        let scale = 1.0 / (self.head_size as f64).sqrt();
        for l in &self.layers {
            let split = |t: Tensor| -> Result<Tensor> {
                t.reshape((batch, tokens, self.heads, self.head_size))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = split(l.query.forward(&x)?)?;
            let k = split(l.key.forward(&x)?)?;
            let v = split(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((
                batch,
                tokens,
                self.heads * self.head_size,
            ))?;
            let attended = l
                .attention_norm
                .forward(&(l.attention_out.forward(&context)? + &x)?)?;
            let inner = l.intermediate.forward(&attended)?.gelu_erf()?;
            x = l
                .output_norm
                .forward(&(l.output.forward(&inner)? + &attended)?)?;
        }
        Ok(x)
    }
}

/// The mean of `states` `(batch, tokens, hidden)` over the tokens `mask` keeps, each row
/// scaled to length 1: the sentence vectors of a mean-pooling model.
pub fn mean_pool_normalised(states: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.unsqueeze(D::Minus1)?;
    let summed = states.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}

/// The CPU: the layer runs beside the index, never on a GPU.
pub fn device() -> Device {
    Device::Cpu
}
