//! `mlx_lm/models/ernie4_5.py`. No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "ernie4_5",
    category: Category::NoOp,
    // `tie_word_embeddings` is a required field in mlx-lm; `Ernie4_5Config` defaults it to true.
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Ernie45Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
