//! `mlx_lm/models/plamo3.py` (layers under `model.layers.layers`).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "plamo3",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Plamo3Model (Plamo3Decoder: layers)
        // Plamo3DecoderLayer
        "mixer", "mlp", "pre_mixer_norm", "post_mixer_norm", "pre_mlp_norm", "post_mlp_norm",
        "qkv_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
