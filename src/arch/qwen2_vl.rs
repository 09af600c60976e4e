//! `mlx_lm/models/qwen2_vl.py` (also `qwen2_5_vl` via MODEL_REMAPPING): Qwen2(.5)-VL converted
//! text-only with a `qwen2` text model. `sanitize` drops the top-level `visual` and
//! `vision_tower`; when the checkpoint nests the towers under `model` (`model.language_model.*`,
//! `model.visual.*`), `model.language_model` replaces `model`; then every key gets the
//! `language_model.` prefix. mlx-lm never drops a tied head here (a tied checkpoint that carries
//! `lm_head.weight` fails its strict load); hf2mlx drops it.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen2_vl",
    aliases: &["qwen2_5_vl"],
    category: Category::FilterRename,
    // qwen2.ModelArgs from `text_config` (or the whole config), default True.
    tied: Tied::TextConfigOnly { default: true },
    sanitize: &[
        Rule::Drop(Pat::Prefix("visual.")),
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Hoist { from: "model.language_model.", to: "model." },
        Rule::AddPrefix("language_model."),
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // qwen2.Model
        "embed_tokens", "layers", "norm", // Qwen2Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
