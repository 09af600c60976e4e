//! `mlx_lm/models/openelm.py`. No `sanitize`; `lm_head` exists unless
//! `share_input_output_layers` (default true).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "openelm",
    category: Category::NoOp,
    tied: Tied::ConfigKey { key: "share_input_output_layers", default: true },
    order: &[
        "transformer", "lm_head", // Model
        "token_embeddings", "layers", "norm", // OpenELMModel
        "attn", "ffn", "ffn_norm", "attn_norm", // TransformerBlock
        "qkv_proj", "out_proj", "q_norm", "k_norm", // Attention
        "proj_1", "proj_2", // MLP
    ],
    ..Arch::BASE
};
