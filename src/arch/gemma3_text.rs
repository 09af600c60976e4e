//! `mlx_lm/models/gemma3_text.py`. `sanitize` changes no tensor, but when the checkpoint has no
//! `lm_head.weight` the model switches to the tied head and deletes its `lm_head`
//! (`tie_word_embeddings` in the config is not consulted).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma3_text",
    category: Category::FilterRename,
    tied: Tied::IfNoLmHead,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Gemma3Model
        // TransformerBlock
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
