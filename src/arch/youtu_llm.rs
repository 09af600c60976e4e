//! `mlx_lm/models/youtu_llm.py` (MLA attention without `kv_b_proj` absorption).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "youtu_llm",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // YoutuLLMModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // YoutuLLMDecoderLayer
        // YoutuLLMAttention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "kv_b_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", // YoutuLLMMLP
    ],
    ..Arch::BASE
};
