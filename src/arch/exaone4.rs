//! `mlx_lm/models/exaone4.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "exaone4",
    category: Category::NoOp,
    // Required field in mlx-lm; `Exaone4Config` defaults it to false.
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // ExaoneModel
        "self_attn", "mlp", "post_attention_layernorm", "post_feedforward_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
