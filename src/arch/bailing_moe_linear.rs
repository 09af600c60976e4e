//! `mlx_lm/models/bailing_moe_linear.py`: Bailing/Ling MoE with linear-attention layers. The
//! weight rules are `bailing_moe`'s.

use super::bailing_moe::{ROUTER, SANITIZE};
use super::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "bailing_moe_linear",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: SANITIZE,
    order: &[
        "model", "lm_head", // Model
        "word_embeddings", "layers", "norm", // LanguageModel
        "attention", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // Attention, LinearAttention
        "query_key_value", "dense", "g_proj", "g_norm", "key_layernorm", "query_layernorm",
        "switch_mlp", "gate", "shared_experts", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", "expert_bias", // MLP, Gate
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    quant_predicate: ROUTER,
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
