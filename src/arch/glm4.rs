//! `mlx_lm/models/glm4.py`. No `sanitize`; the model always has its own `lm_head`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "glm4",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Glm4Model
        // Glm4DecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "post_self_attn_layernorm", "post_mlp_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Glm4Attention
        "gate_up_proj", "down_proj", // Glm4MLP
    ],
    ..Arch::BASE
};
