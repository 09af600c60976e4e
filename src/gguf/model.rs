//! What a GGUF file is as a Hugging Face model: the `config.json` its metadata implies, and
//! every tensor under its Hugging Face name and shape, with how to recover the original values
//! (GGML type to dequantize, llama.cpp's q/k row interleave to undo).
//!
//! Architectures are data: one [`GgufArch`] row per llama.cpp architecture name.

use serde_json::{Map, Value as J, json};

use super::dequant::GgmlType;
use super::reader::{GgufFile, TensorInfo};

/// How one llama.cpp architecture maps onto a Hugging Face model.
#[derive(Debug)]
pub struct GgufArch {
    /// `general.architecture`.
    pub gguf: &'static str,
    pub model_type: &'static str,
    pub class: &'static str,
    /// llama.cpp's convert_hf_to_gguf.py interleaves the rotary halves of q/k rows for the
    /// llama family (`LlamaModel.permute`); the HF layout is recovered by the inverse.
    pub permute_qk: bool,
    /// Layer tensor names (`blk.N.<gguf>`) that differ from [`LAYER_NAMES`].
    pub layer_names: &'static [(&'static str, &'static str)],
}

/// Names shared by the supported architectures.
const LAYER_NAMES: &[(&str, &str)] = &[
    ("attn_q", "self_attn.q_proj"),
    ("attn_k", "self_attn.k_proj"),
    ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"),
    ("attn_q_norm", "self_attn.q_norm"),
    ("attn_k_norm", "self_attn.k_norm"),
    ("ffn_gate", "mlp.gate_proj"),
    ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
    ("attn_norm", "input_layernorm"),
    ("ffn_norm", "post_attention_layernorm"),
];

const TOP_NAMES: &[(&str, &str)] = &[
    ("token_embd", "model.embed_tokens"),
    ("output_norm", "model.norm"),
    ("output", "lm_head"),
];

pub const ARCHES: &[GgufArch] = &[
    GgufArch {
        gguf: "llama",
        model_type: "llama",
        class: "LlamaForCausalLM",
        permute_qk: true,
        layer_names: &[],
    },
    GgufArch {
        gguf: "mistral",
        model_type: "mistral",
        class: "MistralForCausalLM",
        permute_qk: true,
        layer_names: &[],
    },
    GgufArch {
        gguf: "qwen2",
        model_type: "qwen2",
        class: "Qwen2ForCausalLM",
        permute_qk: false,
        layer_names: &[],
    },
    GgufArch {
        gguf: "qwen3",
        model_type: "qwen3",
        class: "Qwen3ForCausalLM",
        permute_qk: false,
        layer_names: &[],
    },
    // Phi-3 keeps its fused projections both in llama.cpp and in transformers.
    GgufArch {
        gguf: "phi3",
        model_type: "phi3",
        class: "Phi3ForCausalLM",
        permute_qk: false,
        layer_names: &[
            ("attn_qkv", "self_attn.qkv_proj"),
            ("ffn_up", "mlp.gate_up_proj"),
        ],
    },
];

/// One tensor of the file under its Hugging Face name.
#[derive(Clone, Debug)]
pub struct MappedTensor {
    pub hf_name: String,
    /// Row-major (Hugging Face) shape.
    pub shape: Vec<usize>,
    pub ggml: GgmlType,
    pub info: TensorInfo,
    /// Heads of the q/k interleave to undo on the rows, if any.
    pub unpermute_heads: Option<usize>,
}

/// A GGUF file seen as a Hugging Face checkpoint.
#[derive(Clone, Debug)]
pub struct GgufModel {
    pub arch: &'static GgufArch,
    pub config: Map<String, J>,
    pub tensors: Vec<MappedTensor>,
}

/// Output row `r` of a `[rows, ..]` q/k weight with `heads` heads takes source row
/// `source_row(r)`: the inverse of llama.cpp's `permute` (`reshape(heads, 2, half, ..)
/// .swapaxes(1, 2)`), i.e. numpy `w.reshape(heads, half, 2, ..).swapaxes(1, 2)` of the file.
pub fn unpermuted_source_row(r: usize, rows: usize, heads: usize) -> usize {
    let per_head = rows / heads;
    let half = per_head / 2;
    let (h, rem) = (r / per_head, r % per_head);
    let (j, i) = (rem / half, rem % half);
    h * per_head + i * 2 + j
}

fn supported() -> String {
    ARCHES.iter().map(|a| a.gguf).collect::<Vec<_>>().join(", ")
}

/// Maps the file's tensors and metadata; every error names what is missing or unknown.
pub fn describe(f: &GgufFile) -> Result<GgufModel, String> {
    let name = f
        .architecture()
        .ok_or("no `general.architecture` in the metadata; is this a llama.cpp model file?")?;
    let arch = ARCHES.iter().find(|a| a.gguf == name).ok_or_else(|| {
        format!(
            "GGUF architecture `{name}` is not supported for import (supported: {})",
            supported()
        )
    })?;
    let p = |k: &str| format!("{name}.{k}");
    let int = |k: &str| -> Result<i64, String> {
        f.get_i64(&p(k))
            .filter(|&v| v > 0)
            .ok_or_else(|| format!("metadata `{}` is missing or not a positive integer", p(k)))
    };
    let heads = int("attention.head_count")? as usize;
    let kv_heads = f
        .get_i64(&p("attention.head_count_kv"))
        .map_or(heads, |v| v.max(1) as usize);
    let hidden = int("embedding_length")? as usize;
    let layers = int("block_count")? as usize;
    let head_dim = f
        .get_i64(&p("attention.key_length"))
        .map_or(hidden / heads, |v| v as usize);

    let mut tensors = Vec::with_capacity(f.tensors.len());
    for t in &f.tensors {
        let ggml = t.ggml_type()?;
        let (base, suffix) = t
            .name
            .rsplit_once('.')
            .ok_or_else(|| format!("tensor `{}` has no `.weight`/`.bias` suffix", t.name))?;
        let unknown = || {
            format!(
                "tensor `{}` has no Hugging Face counterpart for `{name}` that hf2mlx knows \
                 (llama 3 rope-scaling tables, vision towers and MoE experts are not imported yet)",
                t.name
            )
        };
        let parts: Vec<&str> = base.split('.').collect();
        let (hf, kind) = match parts.as_slice() {
            ["blk", n, rest] => {
                let n: usize = n.parse().map_err(|_| unknown())?;
                if n >= layers {
                    return Err(format!(
                        "tensor `{}` belongs to layer {n}, but `{}` is {layers}",
                        t.name,
                        p("block_count")
                    ));
                }
                let hf = arch
                    .layer_names
                    .iter()
                    .chain(LAYER_NAMES)
                    .find(|(g, _)| g == rest)
                    .map(|(_, h)| *h)
                    .ok_or_else(unknown)?;
                (format!("model.layers.{n}.{hf}.{suffix}"), *rest)
            }
            [top] => {
                let hf = TOP_NAMES
                    .iter()
                    .find(|(g, _)| g == top)
                    .map(|(_, h)| *h)
                    .ok_or_else(unknown)?;
                (format!("{hf}.{suffix}"), *top)
            }
            _ => return Err(unknown()),
        };
        let shape = t.shape();
        let unpermute_heads = match (arch.permute_qk, kind) {
            (true, "attn_q") => Some(heads),
            (true, "attn_k") => Some(kv_heads),
            _ => None,
        };
        if let Some(h) = unpermute_heads
            && shape[0] % (2 * h) != 0
        {
            return Err(format!(
                "tensor `{}` has {} rows, not a multiple of 2 x {h} heads; the head counts in \
                 the metadata do not fit the weights",
                t.name, shape[0]
            ));
        }
        tensors.push(MappedTensor {
            hf_name: hf,
            shape,
            ggml,
            info: t.clone(),
            unpermute_heads,
        });
    }
    let embed = tensors
        .iter()
        .find(|t| t.hf_name == "model.embed_tokens.weight")
        .ok_or("the file has no token embedding (`token_embd.weight`)")?;
    let vocab = f
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.as_array())
        .map_or(embed.shape[0], <[_]>::len);
    let tied = !tensors.iter().any(|t| t.hf_name == "lm_head.weight");
    let ffn = int("feed_forward_length")?;
    let eps = f
        .get_f64(&p("attention.layer_norm_rms_epsilon"))
        .ok_or_else(|| {
            format!(
                "metadata `{}` is missing",
                p("attention.layer_norm_rms_epsilon")
            )
        })?;
    let mut c = Map::new();
    c.insert("architectures".into(), json!([arch.class]));
    c.insert("model_type".into(), json!(arch.model_type));
    c.insert("hidden_size".into(), json!(hidden));
    c.insert("intermediate_size".into(), json!(ffn));
    c.insert("num_hidden_layers".into(), json!(layers));
    c.insert("num_attention_heads".into(), json!(heads));
    c.insert("num_key_value_heads".into(), json!(kv_heads));
    if arch.gguf != "qwen2" {
        c.insert("head_dim".into(), json!(head_dim));
    }
    c.insert(
        "max_position_embeddings".into(),
        json!(f.get_i64(&p("context_length")).unwrap_or(4096)),
    );
    c.insert("rms_norm_eps".into(), py_float(eps));
    c.insert(
        "rope_theta".into(),
        py_float(f.get_f64(&p("rope.freq_base")).unwrap_or(10000.0)),
    );
    c.insert("vocab_size".into(), json!(vocab));
    c.insert("tie_word_embeddings".into(), json!(tied));
    c.insert("hidden_act".into(), json!("silu"));
    if matches!(arch.gguf, "llama" | "mistral" | "qwen3") {
        c.insert("attention_bias".into(), json!(false));
    }
    if matches!(arch.gguf, "llama" | "mistral") {
        c.insert("mlp_bias".into(), json!(false));
    }
    if arch.gguf == "phi3" {
        if let Some(rope_dim) = f.get_i64(&p("rope.dimension_count"))
            && rope_dim as usize != head_dim
        {
            c.insert(
                "partial_rotary_factor".into(),
                json!(rope_dim as f64 / head_dim as f64),
            );
        }
        if let Some(w) = f.get_i64(&p("attention.sliding_window")) {
            c.insert("sliding_window".into(), json!(w));
        }
    }
    for (key, hf) in [
        ("tokenizer.ggml.bos_token_id", "bos_token_id"),
        ("tokenizer.ggml.eos_token_id", "eos_token_id"),
    ] {
        if let Some(id) = f.get_i64(key) {
            c.insert(hf.into(), json!(id));
        }
    }
    c.insert("torch_dtype".into(), json!("bfloat16"));
    Ok(GgufModel {
        arch,
        config: c,
        tensors,
    })
}

/// A float as the JSON number Python writes for it (`9.999999747378752e-06`, `10000.0`): the
/// number keeps that text (serde_json's `arbitrary_precision`), so written configs read the same
/// as tools/gguf_to_hf.py's and mlx-lm's.
fn py_float(x: f64) -> J {
    serde_json::from_str(&crate::pyjson::py_float_repr(x)).unwrap_or_else(|_| json!(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_matches_numpy() {
        // numpy: np.arange(8).reshape(2, 2, 2).swapaxes(1, 2).reshape(8) with 2 heads of 4 rows
        let rows: Vec<usize> = (0..8).map(|r| unpermuted_source_row(r, 8, 2)).collect();
        assert_eq!(rows, vec![0, 2, 1, 3, 4, 6, 5, 7]);
        let rows: Vec<usize> = (0..6).map(|r| unpermuted_source_row(r, 6, 1)).collect();
        assert_eq!(rows, vec![0, 2, 4, 1, 3, 5]);
    }
}
