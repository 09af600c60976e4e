//! One decoder-only transformer forward pass, configured by data, covering the families whose
//! mlx-lm modules differ only in a few switches: llama (and mistral, which mlx-lm runs as
//! llama), qwen2, qwen3, gemma, gemma2 and phi3. The tensor work (matmuls, softmax, RMS norm,
//! RoPE) is candle's; this file only wires it the way each mlx-lm module does.
//!
//! candle-transformers has these models too, but their `forward` returns the last position's
//! logits only (they are built for generation); perplexity and KL need every position.

use std::collections::HashMap;

use candle_core::{D, Device, Tensor};
use candle_nn::{Linear, Module};
use serde_json::Value;

use crate::config::Json;
use crate::error::{Error, Result};

/// Model types `hf2mlx eval` can run.
pub const FAMILIES: &[&str] = &[
    "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3",
];

fn tensor_err(e: candle_core::Error) -> Error {
    Error::Eval(format!("tensor computation failed: {e}"))
}

trait Ctx<T> {
    fn ctx(self) -> Result<T>;
}

impl<T> Ctx<T> for candle_core::Result<T> {
    fn ctx(self) -> Result<T> {
        self.map_err(tensor_err)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Silu,
    /// `nn.gelu` (erf).
    Gelu,
    /// `nn.gelu_approx` (tanh).
    GeluTanh,
}

/// The switches that tell the families apart, read from config.json.
#[derive(Clone, Debug)]
struct Spec {
    layers: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    eps: f64,
    /// Per-pair rotation frequencies (`1 / wavelength`), `head_dim / 2` of them.
    inv_freq: Vec<f64>,
    rope_traditional: bool,
    /// Gemma's RMSNorm multiplies by `1 + weight`.
    norm_plus_one: bool,
    /// Gemma scales embeddings by `sqrt(hidden_size)`.
    embed_scale: Option<f64>,
    act: Act,
    /// Gemma 2: extra norms after attention and around the MLP.
    sandwich_norms: bool,
    attn_scale: f64,
    attn_softcap: Option<f64>,
    final_softcap: Option<f64>,
}

fn get_usize(cfg: &Json, key: &str) -> Option<usize> {
    cfg.get(key).and_then(Value::as_u64).map(|v| v as usize)
}

fn get_f64(cfg: &Json, key: &str) -> Option<f64> {
    cfg.get(key).and_then(Value::as_f64)
}

fn need(cfg: &Json, key: &str) -> Result<usize> {
    get_usize(cfg, key).ok_or_else(|| {
        Error::Eval(format!(
            "config.json has no integer `{key}`; cannot run the model"
        ))
    })
}

/// mlx-lm's `initialize_rope`, for the rope types these families use.
fn rope_freqs(cfg: &Json, dims: usize) -> Result<Vec<f64>> {
    let params = cfg.get("rope_parameters").and_then(Value::as_object);
    let base = get_f64(cfg, "rope_theta")
        .or_else(|| {
            params
                .and_then(|p| p.get("rope_theta"))
                .and_then(Value::as_f64)
        })
        .unwrap_or(10000.0);
    let base_freqs: Vec<f64> = (0..dims / 2)
        .map(|i| 1.0 / base.powf(2.0 * i as f64 / dims as f64))
        .collect();
    let scaling = cfg
        .get("rope_scaling")
        .and_then(Value::as_object)
        .or(params);
    let Some(sc) = scaling else {
        return Ok(base_freqs);
    };
    let kind = sc
        .get("type")
        .or_else(|| sc.get("rope_type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let factor = sc.get("factor").and_then(Value::as_f64).unwrap_or(1.0);
    match kind {
        "default" => Ok(base_freqs),
        "linear" => Ok(base_freqs.iter().map(|f| f / factor).collect()),
        "llama3" => {
            let low = sc
                .get("low_freq_factor")
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            let high = sc
                .get("high_freq_factor")
                .and_then(Value::as_f64)
                .unwrap_or(4.0);
            let old = sc
                .get("original_max_position_embeddings")
                .and_then(Value::as_f64)
                .unwrap_or(8192.0);
            let (low_wl, high_wl) = (old / low, old / high);
            Ok(base_freqs
                .iter()
                .map(|&inv| {
                    // mlx-lm works in wavelength-like `freqs = base^(2i/d)`.
                    let f = 1.0 / inv;
                    let wl = 2.0 * std::f64::consts::PI * f;
                    let scaled = if wl > low_wl { f * factor } else { f };
                    let f = if wl > high_wl && wl < low_wl {
                        let smooth = (old / wl - low) / (high - low);
                        scaled / ((1.0 - smooth) / factor + smooth)
                    } else {
                        scaled
                    };
                    1.0 / f
                })
                .collect())
        }
        other => Err(Error::Eval(format!(
            "rope type `{other}` is not supported by `hf2mlx eval` yet (supported: default, linear, llama3)"
        ))),
    }
}

impl Spec {
    fn from_config(cfg: &Json) -> Result<Spec> {
        let model_type = cfg.get("model_type").and_then(Value::as_str).unwrap_or("");
        if !FAMILIES.contains(&model_type) {
            return Err(Error::Eval(format!(
                "`hf2mlx eval` cannot run model type `{model_type}` yet; it runs {}",
                FAMILIES.join(", ")
            )));
        }
        let hidden = need(cfg, "hidden_size")?;
        let heads = need(cfg, "num_attention_heads")?;
        let head_dim = get_usize(cfg, "head_dim").unwrap_or(hidden / heads.max(1));
        let gemma = model_type.starts_with("gemma");
        let gemma2 = model_type == "gemma2";
        if let Some(p) = get_f64(cfg, "partial_rotary_factor")
            && p != 1.0
        {
            return Err(Error::Eval(format!(
                "partial rotary embeddings (partial_rotary_factor {p}) are not supported by `hf2mlx eval` yet"
            )));
        }
        let act = match model_type {
            "gemma" => Act::Gelu,
            "gemma2" => Act::GeluTanh,
            _ => Act::Silu,
        };
        let attn_scale = if gemma2 {
            1.0 / get_f64(cfg, "query_pre_attn_scalar")
                .unwrap_or(144.0)
                .sqrt()
        } else {
            1.0 / (head_dim as f64).sqrt()
        };
        Ok(Spec {
            layers: need(cfg, "num_hidden_layers")?,
            heads,
            kv_heads: get_usize(cfg, "num_key_value_heads").unwrap_or(heads),
            head_dim,
            eps: get_f64(cfg, "rms_norm_eps").unwrap_or(1e-6),
            inv_freq: rope_freqs(cfg, head_dim)?,
            rope_traditional: cfg
                .get("rope_traditional")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            norm_plus_one: gemma,
            embed_scale: gemma.then(|| (hidden as f64).sqrt()),
            act,
            sandwich_norms: gemma2,
            attn_scale,
            attn_softcap: gemma2.then(|| get_f64(cfg, "attn_logit_softcapping").unwrap_or(50.0)),
            final_softcap: gemma2.then(|| get_f64(cfg, "final_logit_softcapping").unwrap_or(30.0)),
        })
    }
}

/// Whether `hf2mlx eval` can run a model with this config.json (family, rope type), checked
/// before `convert --eval` spends time converting.
pub fn check_config(cfg: &Json) -> Result<()> {
    Spec::from_config(cfg).map(|_| ())
}

struct Layer {
    input_norm: Tensor,
    post_attn_norm: Tensor,
    /// Gemma 2 only.
    pre_ffw_norm: Option<Tensor>,
    post_ffw_norm: Option<Tensor>,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    /// Qwen 3: per-head RMS norms of queries and keys.
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A loaded model: weights as f32 tensors on the CPU.
pub struct Model {
    spec: Spec,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    /// `lm_head.weight`, or the embedding matrix when the head is tied.
    head: Tensor,
}

struct Weights(HashMap<String, Tensor>);

impl Weights {
    fn take(&mut self, name: &str) -> Result<Tensor> {
        self.0.remove(name).ok_or_else(|| {
            Error::Eval(format!(
                "the model has no parameter `{name}`; it does not look like the architecture its \
                 config.json names"
            ))
        })
    }

    fn linear(&mut self, prefix: &str) -> Result<Linear> {
        let w = self.take(&format!("{prefix}.weight"))?;
        let b = self.0.remove(&format!("{prefix}.bias"));
        Ok(Linear::new(w, b))
    }

    /// An RMSNorm weight, with Gemma's `1 + w` folded in.
    fn norm(&mut self, name: &str, plus_one: bool) -> Result<Tensor> {
        let w = self.take(name)?;
        if plus_one { (w + 1.0).ctx() } else { Ok(w) }
    }
}

/// Rows `[start, start+len)` of a `[out, in]` weight, as its own linear layer (phi3's fused
/// `qkv_proj` and `gate_up_proj`).
fn split_rows(w: &Tensor, start: usize, len: usize) -> Result<Linear> {
    Ok(Linear::new(
        w.narrow(0, start, len).ctx()?.contiguous().ctx()?,
        None,
    ))
}

impl Model {
    /// Builds the model from config.json and its parameters (names as mlx-lm's model has them,
    /// after sanitize).
    pub fn new(cfg: &Json, params: HashMap<String, Tensor>) -> Result<Model> {
        let spec = Spec::from_config(cfg)?;
        let mut w = Weights(params);
        let p1 = spec.norm_plus_one;
        let embed = w.take("model.embed_tokens.weight")?;
        let mut layers = Vec::with_capacity(spec.layers);
        for i in 0..spec.layers {
            let pre = format!("model.layers.{i}");
            let (q, k, v) = if w
                .0
                .contains_key(&format!("{pre}.self_attn.qkv_proj.weight"))
            {
                let qkv = w.take(&format!("{pre}.self_attn.qkv_proj.weight"))?;
                let (qn, kn) = (spec.heads * spec.head_dim, spec.kv_heads * spec.head_dim);
                (
                    split_rows(&qkv, 0, qn)?,
                    split_rows(&qkv, qn, kn)?,
                    split_rows(&qkv, qn + kn, kn)?,
                )
            } else {
                (
                    w.linear(&format!("{pre}.self_attn.q_proj"))?,
                    w.linear(&format!("{pre}.self_attn.k_proj"))?,
                    w.linear(&format!("{pre}.self_attn.v_proj"))?,
                )
            };
            let (gate, up) = if w.0.contains_key(&format!("{pre}.mlp.gate_up_proj.weight")) {
                let gu = w.take(&format!("{pre}.mlp.gate_up_proj.weight"))?;
                let n = gu.dim(0).ctx()? / 2;
                (split_rows(&gu, 0, n)?, split_rows(&gu, n, n)?)
            } else {
                (
                    w.linear(&format!("{pre}.mlp.gate_proj"))?,
                    w.linear(&format!("{pre}.mlp.up_proj"))?,
                )
            };
            let optional = |w: &mut Weights, name: &str| -> Result<Option<Tensor>> {
                if w.0.contains_key(name) {
                    w.norm(name, p1).map(Some)
                } else {
                    Ok(None)
                }
            };
            let (pre_ffw_norm, post_ffw_norm) = if spec.sandwich_norms {
                (
                    Some(w.norm(&format!("{pre}.pre_feedforward_layernorm.weight"), p1)?),
                    Some(w.norm(&format!("{pre}.post_feedforward_layernorm.weight"), p1)?),
                )
            } else {
                (None, None)
            };
            layers.push(Layer {
                input_norm: w.norm(&format!("{pre}.input_layernorm.weight"), p1)?,
                post_attn_norm: w.norm(&format!("{pre}.post_attention_layernorm.weight"), p1)?,
                pre_ffw_norm,
                post_ffw_norm,
                q,
                k,
                v,
                o: w.linear(&format!("{pre}.self_attn.o_proj"))?,
                q_norm: optional(&mut w, &format!("{pre}.self_attn.q_norm.weight"))?,
                k_norm: optional(&mut w, &format!("{pre}.self_attn.k_norm.weight"))?,
                gate,
                up,
                down: w.linear(&format!("{pre}.mlp.down_proj"))?,
            });
        }
        let norm = w.norm("model.norm.weight", p1)?;
        let head = match w.0.remove("lm_head.weight") {
            Some(h) => h,
            None => embed.clone(),
        };
        Ok(Model {
            spec,
            embed,
            layers,
            norm,
            head,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.head.dims().first().copied().unwrap_or(0)
    }

    /// Logits `[tokens, vocab]` (f32) for one sequence, every position, from an empty cache.
    pub fn forward(&self, ids: &[u32]) -> Result<Tensor> {
        let s = &self.spec;
        let t = ids.len();
        let dev = Device::Cpu;
        let ids_t = Tensor::new(ids, &dev).ctx()?;
        let mut h = self.embed.index_select(&ids_t, 0).ctx()?;
        if let Some(scale) = s.embed_scale {
            h = (h * scale).ctx()?;
        }
        let (cos, sin) = self.rope_tables(t)?;
        let mask = causal_mask(t)?;
        for l in &self.layers {
            let x = rms(&h, &l.input_norm, s.eps)?;
            let mut r = self.attention(l, &x, &cos, &sin, &mask)?;
            if s.sandwich_norms {
                r = rms(&r, &l.post_attn_norm, s.eps)?;
            }
            h = (h + r).ctx()?;
            let x = match &l.pre_ffw_norm {
                Some(n) => rms(&h, n, s.eps)?,
                None => rms(&h, &l.post_attn_norm, s.eps)?,
            };
            let g = l.gate.forward(&x).ctx()?;
            let g = match s.act {
                Act::Silu => candle_nn::ops::silu(&g).ctx()?,
                Act::Gelu => g.gelu_erf().ctx()?,
                Act::GeluTanh => g.gelu().ctx()?,
            };
            let u = l.up.forward(&x).ctx()?;
            let mut r = l.down.forward(&(g * u).ctx()?).ctx()?;
            if let Some(n) = &l.post_ffw_norm {
                r = rms(&r, n, s.eps)?;
            }
            h = (h + r).ctx()?;
        }
        let h = rms(&h, &self.norm, s.eps)?;
        let mut logits = h.matmul(&self.head.t().ctx()?).ctx()?;
        if let Some(c) = s.final_softcap {
            logits = ((logits / c).ctx()?.tanh().ctx()? * c).ctx()?;
        }
        Ok(logits)
    }

    /// [`Self::forward`] as plain values: `tokens × vocab` logits, row-major.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f32>> {
        self.forward(ids)?
            .flatten_all()
            .ctx()?
            .to_vec1::<f32>()
            .ctx()
    }

    fn rope_tables(&self, t: usize) -> Result<(Tensor, Tensor)> {
        let half = self.spec.inv_freq.len();
        let mut cos = Vec::with_capacity(t * half);
        let mut sin = Vec::with_capacity(t * half);
        for pos in 0..t {
            for f in &self.spec.inv_freq {
                // mlx computes the angle in f32: position * inv_freq.
                let a = pos as f32 * *f as f32;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        let dev = Device::Cpu;
        Ok((
            Tensor::from_vec(cos, (t, half), &dev).ctx()?,
            Tensor::from_vec(sin, (t, half), &dev).ctx()?,
        ))
    }

    fn attention(
        &self,
        l: &Layer,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: &Tensor,
    ) -> Result<Tensor> {
        let s = &self.spec;
        let t = x.dim(0).ctx()?;
        let heads = |y: Tensor, n: usize, norm: &Option<Tensor>| -> Result<Tensor> {
            let mut y = y.reshape((t, n, s.head_dim)).ctx()?;
            if let Some(w) = norm {
                y = rms(&y, w, s.eps)?;
            }
            // [1, n, t, d]
            y.transpose(0, 1)
                .ctx()?
                .unsqueeze(0)
                .ctx()?
                .contiguous()
                .ctx()
        };
        let q = heads(l.q.forward(x).ctx()?, s.heads, &l.q_norm)?;
        let k = heads(l.k.forward(x).ctx()?, s.kv_heads, &l.k_norm)?;
        let v = heads(l.v.forward(x).ctx()?, s.kv_heads, &None)?;
        let rope = if s.rope_traditional {
            candle_nn::rotary_emb::rope_i
        } else {
            candle_nn::rotary_emb::rope
        };
        let q = rope(&q, cos, sin).ctx()?.squeeze(0).ctx()?;
        let k = rope(&k, cos, sin).ctx()?.squeeze(0).ctx()?;
        let v = v.squeeze(0).ctx()?;
        let rep = s.heads / s.kv_heads.max(1);
        let repeat = |y: Tensor| -> Result<Tensor> {
            if rep == 1 {
                return Ok(y);
            }
            let (n, t, d) = y.dims3().ctx()?;
            y.unsqueeze(1)
                .ctx()?
                .expand((n, rep, t, d))
                .ctx()?
                .reshape((n * rep, t, d))
                .ctx()
        };
        let (k, v) = (repeat(k)?, repeat(v)?);
        let mut scores = (q.matmul(&k.t().ctx()?).ctx()? * s.attn_scale).ctx()?;
        if let Some(c) = s.attn_softcap {
            scores = ((scores / c).ctx()?.tanh().ctx()? * c).ctx()?;
        }
        let scores = scores.broadcast_add(mask).ctx()?;
        let probs = candle_nn::ops::softmax_last_dim(&scores).ctx()?;
        let out = probs.matmul(&v).ctx()?; // [heads, t, d]
        let out = out
            .transpose(0, 1)
            .ctx()?
            .reshape((t, s.heads * s.head_dim))
            .ctx()?;
        l.o.forward(&out).ctx()
    }
}

fn rms(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    candle_nn::ops::rms_norm(&x.contiguous().ctx()?, w, eps as f32).ctx()
}

/// `[t, t]`: 0 on and below the diagonal, -inf above.
fn causal_mask(t: usize) -> Result<Tensor> {
    let m: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(m, (t, t), &Device::Cpu).ctx()
}

/// Wraps f32 values of a parameter into a tensor.
pub fn tensor(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(values, shape, &Device::Cpu).ctx()
}

/// `log_softmax` over the vocabulary, in f32.
pub fn log_softmax(logits: &Tensor) -> Result<Tensor> {
    candle_nn::ops::log_softmax(logits, D::Minus1).ctx()
}

pub(crate) fn ctx<T>(r: candle_core::Result<T>) -> Result<T> {
    r.ctx()
}
