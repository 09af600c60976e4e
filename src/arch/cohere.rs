//! `mlx_lm/models/cohere.py`. No `sanitize`; no `lm_head` (logits use the embedding).

use super::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "cohere",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "embed_tokens", "layers", "norm", // CohereModel
        "self_attn", "mlp", "input_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    // `use_qk_norm`: `LayerNorm2D` holds a 2-D `[heads, head_dim]` weight.
    not_quantizable: &[Pat::Suffix("self_attn.q_norm.weight"), Pat::Suffix("self_attn.k_norm.weight")],
    ..Arch::BASE
};
