//! `mlx_lm/models/bailing_moe.py`: Bailing/Ling MoE. Tied head dropped; experts stacked into
//! `mlp.switch_mlp`; the router `mlp.gate.{weight,bias}` moved to `mlp.gate.gate_proj.*`
//! (quantized at 8 bits); `expert_bias` keeps its stored dtype. With `norm_head`, the head is
//! divided by its column norms (computed in float32).

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied, ValueRule};

/// Shared with `bailing_moe_linear`.
pub(super) const SANITIZE: &[Rule] = &[
    Rule::StackExperts {
        experts: "experts",
        into: "switch_mlp",
        rename: &[],
    },
    Rule::RenameSuffix {
        from: "mlp.gate.weight",
        to: "mlp.gate.gate_proj.weight",
    },
    Rule::RenameSuffix {
        from: "mlp.gate.bias",
        to: "mlp.gate.gate_proj.bias",
    },
    // `norm_head`: the head divided by its column norms (mlx-lm does this first; the order
    // does not matter, no other rule touches the head).
    Rule::IfConfig {
        key: "norm_head",
        truthy: true,
        rules: &[Rule::Values {
            pat: Pat::Exact("lm_head.weight"),
            rank: None,
            op: ValueRule::NormalizeColumns { eps: 1e-7 },
        }],
    },
];

pub(super) const ROUTER: &[(Pat, LayerQuant)] =
    &[(Pat::Suffix("mlp.gate.gate_proj"), LayerQuant::ROUTER_8BIT)];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "bailing_moe",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: SANITIZE,
    order: &[
        "model", "lm_head", // Model
        "word_embeddings", "layers", "norm", // BailingMoeModel
        "attention", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "query_key_value", "dense", "key_layernorm", "query_layernorm", // Attention
        "switch_mlp", "gate", "shared_experts", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", "expert_bias", // MLP, Gate
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    quant_predicate: ROUTER,
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
