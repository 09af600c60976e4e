//! `mlx_lm/models/Klear.py`: experts stacked into `mlp.experts.{gate,up,down}_proj` (SwitchGLU
//! named `experts`); routers at 8 bits; `expert_bias` keeps its stored dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "Klear",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts { experts: "experts", into: "experts", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // KlearModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "gate", "experts", "shared_experts", "coefficient", "expert_bias", // SparseMoeBlock
        "experts/gate_proj", "experts/up_proj", "experts/down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
