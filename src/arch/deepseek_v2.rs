//! `mlx_lm/models/deepseek_v2.py`: MLA attention kept as stored (no `kv_b_proj` absorption in
//! this module); experts stacked into `mlp.switch_mlp.*`; the router `mlp.gate` is a plain weight.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "deepseek_v2",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // DeepseekV2Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // DeepseekV2Attention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "kv_b_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    ..Arch::BASE
};
