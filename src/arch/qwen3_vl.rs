//! `mlx_lm/models/qwen3_vl.py`: Qwen3-VL (dense) converted text-only with a `qwen3` text model;
//! `sanitize` is qwen2_vl's (see there).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_vl",
    category: Category::FilterRename,
    // qwen3.ModelArgs from `text_config` (or the whole config); required there, false is
    // `Qwen3VLTextConfig`'s default.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("visual.")),
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Hoist { from: "model.language_model.", to: "model." },
        Rule::AddPrefix("language_model."),
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // qwen3.Model
        "embed_tokens", "layers", "norm", // Qwen3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
