//! `mlx_lm/models/olmoe.py`: experts stacked into `mlp.switch_mlp.*`.

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "olmoe",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // OlmoeModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", // SparseMoeBlock
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
