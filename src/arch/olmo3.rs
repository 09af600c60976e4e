//! `mlx_lm/models/olmo3.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "olmo3",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Olmo3Model
        "self_attn", "mlp", "post_attention_layernorm", "post_feedforward_layernorm", // Olmo3DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Olmo3Attention
        "gate_proj", "down_proj", "up_proj", // Olmo3MLP
    ],
    ..Arch::BASE
};
