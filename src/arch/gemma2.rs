//! `mlx_lm/models/gemma2.py`. No `sanitize`; no `lm_head` (logits use the embedding).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma2",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "embed_tokens", "layers", "norm", // GemmaModel
        // TransformerBlock
        "self_attn", "mlp", "input_layernorm", "pre_feedforward_layernorm",
        "post_feedforward_layernorm", "post_attention_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
