//! `mlx_lm/models/qwen3_moe.py`: experts stacked into `mlp.switch_mlp.*` on the MoE layers
//! (`mlp_only_layers` keep a dense MLP); routers (`mlp.gate`) quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_moe",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Qwen3MoeModel
        "self_attn", "input_layernorm", "post_attention_layernorm", "mlp", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
