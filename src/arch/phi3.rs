//! `mlx_lm/models/phi3.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phi3",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Phi3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "qkv_proj", "o_proj", // Attention
        "gate_up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
