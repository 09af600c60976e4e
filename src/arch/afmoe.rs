//! `mlx_lm/models/afmoe.py`: rotary buffers dropped; experts of the MoE layers (from
//! `num_dense_layers` on) stacked into `mlp.experts.*`; `router.gate` at 8 bits; `expert_bias`
//! keeps its stored dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "afmoe",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
        Rule::StackExperts { experts: "experts", into: "experts", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // AfmoeModel
        // DecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", "pre_mlp_layernorm",
        "post_mlp_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention (+ gate_proj)
        "gate_proj", "down_proj", "up_proj", // MLP
        "router", "expert_bias", "experts", "shared_experts", // MoE
        "experts/gate_proj", "experts/up_proj", "experts/down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Contains("router.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
