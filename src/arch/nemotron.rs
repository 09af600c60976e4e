//! `mlx_lm/models/nemotron.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "nemotron",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // NemotronModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
