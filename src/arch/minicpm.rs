//! `mlx_lm/models/minicpm.py`: MiniCPM. A checkpoint without `lm_head.weight` gets the embedding
//! as its head (a copy, so an untied model loads).

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "minicpm",
    category: Category::Reshape,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::CopyIfAbsent { from: "model.embed_tokens.weight", to: "lm_head.weight" }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MiniCPMModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
