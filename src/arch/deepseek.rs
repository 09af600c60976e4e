//! `mlx_lm/models/deepseek.py`: experts stacked into `mlp.switch_mlp.*` on MoE layers (after
//! `first_k_dense_replace` dense ones); the router `mlp.gate` is a plain weight, not a Linear.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "deepseek",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // DeepseekModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    ..Arch::BASE
};
