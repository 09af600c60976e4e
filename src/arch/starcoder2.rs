//! `mlx_lm/models/starcoder2.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "starcoder2",
    category: Category::NoOp,
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Starcoder2Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "c_fc", "c_proj", // MLP
    ],
    ..Arch::BASE
};
