//! `mlx_lm/models/helium.py`. No `sanitize`; `lm_head` is created whatever
//! `tie_word_embeddings` says, so a strict load always needs `lm_head.weight`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "helium",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // HeliumModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // HeliumDecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // HeliumAttention
        "gate_proj", "up_proj", "down_proj", // HeliumMLP
    ],
    ..Arch::BASE
};
