//! `mlx_lm/models/mellum.py`: experts stacked into `mlp.switch_mlp.*`; routers (`mlp.gate`)
//! quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mellum",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MellumModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", // SparseMoeBlock
        "gate_proj", "up_proj", "down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
