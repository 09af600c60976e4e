//! `mlx_lm/models/minicpm3.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "minicpm3",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MiniCPM3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // Attention
        "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "kv_b_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
