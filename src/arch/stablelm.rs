//! `mlx_lm/models/stablelm.py`. No `sanitize`; the model always has its own `lm_head`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "stablelm",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // StableLM
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_layernorm", "k_layernorm", // Attention
        "norms", // LayerNormPerHead
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
