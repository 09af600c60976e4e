//! `mlx_lm/models/llama4_text.py`. No `sanitize`; the untied head is called `output`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llama4_text",
    category: Category::NoOp,
    // Required field in mlx-lm; `Llama4TextConfig` defaults it to false.
    tied: Tied::Config { default: false },
    order: &[
        "model", "output", // Model
        "embed_tokens", "layers", "norm", // LanguageModel
        "self_attn", "feed_forward", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
