//! `mlx_lm/models/telechat3.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "telechat3",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Telechat3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // Telechat3DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Telechat3Attention
        "gate_proj", "down_proj", "up_proj", // Telechat3MLP
    ],
    ..Arch::BASE
};
