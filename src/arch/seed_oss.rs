//! `mlx_lm/models/seed_oss.py`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "seed_oss",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // SeedModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
