//! `mlx_lm/models/gemma3.py`: the Gemma 3 vision-language checkpoint converted text-only. The
//! vision tower and projector are dropped and `language_model.*` goes through
//! `gemma3_text.sanitize`, which ties the head exactly when `language_model.lm_head.weight` is
//! absent. Output keys keep the `language_model.` prefix.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma3",
    category: Category::FilterRename,
    tied: Tied::IfNoLmHead,
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Drop(Pat::Prefix("multi_modal_projector.")),
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // gemma3_text.Model
        "embed_tokens", "layers", "norm", // Gemma3Model
        // TransformerBlock
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
