//! config.json against the weights: where the config states a dimension, the tensors that
//! mlx-lm builds from it must have it. mlx-lm finds such a contradiction only when it loads the
//! converted model (strict `load_weights`), after the whole conversion; we refuse it before
//! reading any tensor data, naming the shard, the tensor and the config key.
//!
//! Checked, for the language model's tensors only (vision and audio towers have configs of
//! their own) and only where the config gives the numbers (text_config first, as multimodal
//! wrappers nest them there):
//! - token embedding `[vocab_size, hidden_size]`;
//! - `lm_head` `[vocab_size, hidden_size]`;
//! - attention `q_proj` `[num_attention_heads × head_dim, hidden_size]` and `k_proj`
//!   `[num_key_value_heads × head_dim, hidden_size]` (`head_dim` from the config, else
//!   `hidden_size / num_attention_heads`, as mlx-lm's models compute it);
//! - layer numbers below `num_hidden_layers`;
//! - and that there are any tensors at all.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::Json;
use crate::error::{Error, Result};
use crate::safetensors::SourceTensor;

/// Prefixes under which checkpoints keep the language model (longest first).
const TEXT_PREFIXES: &[&str] = &[
    "model.language_model.",
    "language_model.model.",
    "language_model.",
    "model.",
    "transformer.",
    "gpt_neox.",
];

const EMBED_NAMES: &[&str] = &[
    "embed_tokens.weight",
    "tok_embeddings.weight",
    "token_embeddings.weight",
    "embed_in.weight",
    "wte.weight",
];

const HEAD_NAMES: &[&str] = &[
    "lm_head.weight",
    "language_model.lm_head.weight",
    "embed_out.weight",
];

/// The config's dimensions that weights must agree with.
#[derive(Default, Debug)]
struct Dims {
    vocab: Option<(usize, &'static str)>,
    hidden: Option<(usize, &'static str)>,
    heads: Option<usize>,
    kv_heads: Option<usize>,
    head_dim: Option<usize>,
    layers: Option<usize>,
    /// Multi-token-prediction layers stored after the last one (deepseek, glm4_moe); sanitize
    /// drops them.
    mtp_layers: usize,
    /// Whether attention projections follow the plain heads × head_dim layout.
    plain_attention: bool,
    /// Token-embedding rows beyond `vocab_size` (see [`EXTRA_EMBEDDING_ROWS`]).
    extra_embedding_rows: usize,
}

/// Model types whose token embedding has rows beyond `vocab_size`: Llama 3.2 Vision (`mllama`)
/// embeds 8 more tokens (the image and tile tokens) than its head predicts, `vocab_size + 8`
/// rows as both transformers and mlx-vlm build it.
const EXTRA_EMBEDDING_ROWS: &[(&str, usize)] = &[("mllama", 8)];

/// Configs whose attention projections are not `heads × head_dim` rows: MLA (low-rank q/kv),
/// per-layer head counts (nemotron-nas `block_configs`), packed ternary weights (bitnet), gated
/// attention whose `q_proj` also holds the gate (Qwen3-Next, Qwen3.5: 2 × heads × head_dim).
const NON_PLAIN_ATTENTION_KEYS: &[&str] = &[
    "kv_lora_rank",
    "q_lora_rank",
    "qk_nope_head_dim",
    "block_configs",
];
const NON_PLAIN_ATTENTION_TYPES: &[&str] = &[
    "bitnet",
    "nemotron-nas",
    "qwen3_next",
    "qwen3_5",
    "qwen3_5_moe",
    "prism_hadamard_qwen35",
    // Gemma 4: full-attention layers use `global_head_dim`; Step 3.5: `num_attention_groups`.
    "gemma4",
    "gemma4_text",
    "step3p5",
];

fn dims(cfg: &Json) -> Dims {
    let text = cfg.get("text_config").and_then(Value::as_object);
    let get = |k: &str| -> Option<usize> {
        text.and_then(|t| t.get(k))
            .or_else(|| cfg.get(k))
            .and_then(Value::as_u64)
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v > 0)
    };
    let hidden = get("hidden_size");
    let heads = get("num_attention_heads");
    let head_dim = get("head_dim").or_else(|| match (hidden, heads) {
        (Some(h), Some(n)) if h % n == 0 => Some(h / n),
        _ => None,
    });
    let model_type = cfg.get("model_type").and_then(Value::as_str);
    Dims {
        vocab: get("vocab_size").map(|v| (v, "vocab_size")),
        hidden: hidden.map(|v| (v, "hidden_size")),
        heads,
        kv_heads: get("num_key_value_heads").or(heads),
        head_dim,
        layers: get("num_hidden_layers"),
        mtp_layers: get("num_nextn_predict_layers").unwrap_or(0),
        plain_attention: !NON_PLAIN_ATTENTION_KEYS
            .iter()
            .any(|k| cfg.contains_key(*k) || text.is_some_and(|t| t.contains_key(*k)))
            && !model_type.is_some_and(|t| NON_PLAIN_ATTENTION_TYPES.contains(&t)),
        extra_embedding_rows: EXTRA_EMBEDDING_ROWS
            .iter()
            .find(|(t, _)| model_type == Some(*t))
            .map_or(0, |(_, n)| *n),
    }
}

/// The name without its language-model prefix, if it has one (or none at all).
fn text_rest(name: &str) -> &str {
    TEXT_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// `layers.N.rest` → (N, rest).
fn layer_of(rest: &str) -> Option<(usize, &str)> {
    let r = rest.strip_prefix("layers.")?;
    let (n, tail) = r.split_once('.')?;
    Some((n.parse().ok()?, tail))
}

/// Checks tensor shapes (by checkpoint name) against the config. On a contradiction returns the
/// tensor's name and what is wrong.
pub fn check_shapes<'a>(
    cfg: &Json,
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize])>,
) -> std::result::Result<(), (String, String)> {
    let d = dims(cfg);
    let fail = |name: &str, msg: String| Err((name.to_string(), msg));
    for (name, shape) in tensors {
        let rest = text_rest(name);
        let is_embed = EMBED_NAMES.contains(&rest) && rest.len() < name.len();
        let is_head = HEAD_NAMES.contains(&name);
        if (is_embed || is_head) && shape.len() == 2 {
            let what = if is_embed {
                "token embedding"
            } else {
                "output head"
            };
            let extra = if is_embed { d.extra_embedding_rows } else { 0 };
            if let Some((v, key)) = d.vocab
                && shape[0] != v + extra
            {
                let plus = if extra > 0 {
                    format!(" (+ {extra} for this model type)")
                } else {
                    String::new()
                };
                return fail(
                    name,
                    format!(
                        "{what} has {} rows but config.json says {key} = {v}{plus}",
                        shape[0]
                    ),
                );
            }
            if let Some((h, key)) = d.hidden
                && shape[1] != h
            {
                return fail(
                    name,
                    format!(
                        "{what} has width {} but config.json says {key} = {h}",
                        shape[1]
                    ),
                );
            }
            continue;
        }
        let Some((layer, tail)) = layer_of(rest).filter(|_| rest.len() < name.len()) else {
            continue;
        };
        if let Some(n) = d.layers
            && layer >= n + d.mtp_layers
        {
            return fail(
                name,
                format!("layer {layer} does not exist: config.json says num_hidden_layers = {n}"),
            );
        }
        let proj = match tail {
            _ if !d.plain_attention => None,
            "self_attn.q_proj.weight" => Some(("num_attention_heads", d.heads)),
            "self_attn.k_proj.weight" => Some(("num_key_value_heads", d.kv_heads)),
            _ => None,
        };
        if let (Some((key, Some(heads))), Some(hd), Some((h, _)), [rows, cols]) =
            (proj, d.head_dim, d.hidden, shape)
        {
            if *cols != h {
                return fail(
                    name,
                    format!("input width {cols} but config.json says hidden_size = {h}"),
                );
            }
            if *rows != heads * hd {
                return fail(
                    name,
                    format!(
                        "{rows} output rows but config.json says {key} = {heads} heads of \
                         head_dim {hd} = {}",
                        heads * hd
                    ),
                );
            }
        }
    }
    Ok(())
}

/// [`check_shapes`] over a checkpoint's tensors, as an error naming the shard and the tensor.
pub fn check(cfg: &Json, dir: &Path, files: &[PathBuf], tensors: &[SourceTensor]) -> Result<()> {
    if tensors.is_empty() {
        return Err(Error::Safetensors {
            file: files.first().cloned().unwrap_or_else(|| dir.to_path_buf()),
            msg: "the checkpoint holds no tensors".into(),
        });
    }
    // Packed weights of an MLX-quantized checkpoint (`X.weight` with an `X.scales` sibling) have
    // widths of packed words, not of the model; only float tensors are comparable.
    let names: std::collections::HashSet<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let packed = |t: &SourceTensor| {
        t.name
            .strip_suffix(".weight")
            .is_some_and(|l| names.contains(format!("{l}.scales").as_str()))
    };
    let float_tensors = tensors.iter().filter(|t| !packed(t));
    check_shapes(
        cfg,
        float_tensors.map(|t| (t.name.as_str(), t.shape.as_slice())),
    )
    .map_err(|(tensor, msg)| {
        let file = tensors
            .iter()
            .find(|t| t.name == tensor)
            .and_then(|t| files.get(t.file).cloned())
            .unwrap_or_else(|| dir.to_path_buf());
        Error::Mismatch {
            file,
            tensor,
            msg: format!(
                "{msg} ({}); the config and the weights belong to different models",
                dir.join("config.json").display()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn accepts_consistent_and_flags_contradictions() {
        let c = cfg(
            r#"{"hidden_size": 64, "vocab_size": 100, "num_attention_heads": 4,
                "num_key_value_heads": 2, "num_hidden_layers": 2}"#,
        );
        let ok: Vec<(&str, Vec<usize>)> = vec![
            ("model.embed_tokens.weight", vec![100, 64]),
            ("lm_head.weight", vec![100, 64]),
            ("model.layers.1.self_attn.q_proj.weight", vec![64, 64]),
            ("model.layers.1.self_attn.k_proj.weight", vec![32, 64]),
            (
                "model.vision_tower.layers.7.self_attn.q_proj.weight",
                vec![9, 9],
            ),
        ];
        let it = |v: &'static [(&str, Vec<usize>)]| v.iter().map(|(n, s)| (*n, s.as_slice()));
        let ok: &'static _ = Box::leak(ok.into_boxed_slice());
        assert_eq!(check_shapes(&c, it(ok)), Ok(()));
        // A multi-token-prediction layer after the last one is expected where the config says so.
        let mut mtp = c.clone();
        mtp.insert("num_nextn_predict_layers".into(), 1.into());
        let v: &'static _ =
            Box::leak(vec![("model.layers.2.eh_proj.weight", vec![64, 128])].into_boxed_slice());
        assert_eq!(check_shapes(&mtp, it(v)), Ok(()));
        for (name, shape, needle) in [
            ("model.embed_tokens.weight", vec![101, 64], "vocab_size"),
            ("model.embed_tokens.weight", vec![100, 65], "hidden_size"),
            ("lm_head.weight", vec![99, 64], "vocab_size"),
            (
                "model.layers.0.self_attn.q_proj.weight",
                vec![48, 64],
                "num_attention_heads",
            ),
            (
                "model.layers.0.self_attn.k_proj.weight",
                vec![64, 64],
                "num_key_value_heads",
            ),
            (
                "model.layers.2.mlp.up_proj.weight",
                vec![8, 64],
                "num_hidden_layers",
            ),
        ] {
            let v: &'static _ = Box::leak(vec![(name, shape)].into_boxed_slice());
            let e = check_shapes(&c, it(v)).unwrap_err();
            assert_eq!(e.0, name);
            assert!(e.1.contains(needle), "{e:?}");
        }
    }

    #[test]
    fn mllama_embeds_eight_tokens_more_than_its_head_predicts() {
        let c = cfg(
            r#"{"model_type": "mllama", "text_config": {"hidden_size": 64, "vocab_size": 100}}"#,
        );
        let shapes = |embed: usize| -> Vec<(&'static str, Vec<usize>)> {
            vec![
                ("language_model.model.embed_tokens.weight", vec![embed, 64]),
                ("language_model.lm_head.weight", vec![100, 64]),
            ]
        };
        let check = |v: Vec<(&'static str, Vec<usize>)>| {
            check_shapes(&c, v.iter().map(|(n, s)| (*n, s.as_slice())))
        };
        assert_eq!(check(shapes(108)), Ok(()));
        let e = check(shapes(100)).unwrap_err();
        assert!(e.1.contains("(+ 8 for this model type)"), "{e:?}");
    }
}
