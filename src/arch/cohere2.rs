//! `mlx_lm/models/cohere2.py`. No `sanitize`; no `lm_head` (logits use the embedding).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "cohere2",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "embed_tokens", "layers", "norm", // CohereModel
        "self_attn", "mlp", "input_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
