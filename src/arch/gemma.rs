//! `mlx_lm/models/gemma.py`. No `sanitize`; no `lm_head` (logits use the embedding).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "embed_tokens", "layers", "norm", // GemmaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
