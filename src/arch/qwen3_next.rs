//! `mlx_lm/models/qwen3_next.py`: Qwen3-Next (gated delta-net + attention hybrid, MoE). Only a
//! checkpoint with per-expert MoE weights is sanitized (an already converted one is left as it
//! is): `mtp.*` dropped, experts stacked into `mlp.switch_mlp`, conv1d kernels moved to
//! `[C, K, 1]`, and the 1-D RMSNorm weights (stored zero-centred) get `+ 1.0`.

use super::{Arch, Category, LayerQuant, Pat, Rule, Scalar, ShapeCond, Tied, ValueRule};

/// `v + 1.0` on a 1-D norm weight.
pub(super) const fn plus_one(suffix: &'static str) -> Rule {
    Rule::Values {
        pat: Pat::Suffix(suffix),
        rank: Some(1),
        op: ValueRule::Add(Scalar::Const(1.0)),
    }
}

/// The norm weights Qwen3-Next and Qwen3.5 store zero-centred.
pub(super) const NORMS_PLUS_ONE: [Rule; 5] = [
    plus_one(".input_layernorm.weight"),
    plus_one(".post_attention_layernorm.weight"),
    plus_one("model.norm.weight"),
    plus_one(".q_norm.weight"),
    plus_one(".k_norm.weight"),
];

/// PyTorch conv1d kernels `[C, 1, K]` to MLX's `[C, K, 1]`.
pub(super) const CONV1D: Rule = Rule::MoveAxis {
    pat: Pat::Contains("conv1d.weight"),
    rank: 3,
    from: 2,
    to: 1,
    when: ShapeCond::LastNotOne,
};

/// Stacked SwitchGLU experts (stacked or split by rules nested in conditions).
pub(super) const SWITCH_MLP: &[Pat] = &[
    Pat::Suffix("switch_mlp.gate_proj.weight"),
    Pat::Suffix("switch_mlp.up_proj.weight"),
    Pat::Suffix("switch_mlp.down_proj.weight"),
];

/// Routers and the shared expert's gate are quantized at 8 bits.
pub(super) const ROUTERS: &[(Pat, LayerQuant)] = &[
    (Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT),
    (Pat::Suffix("shared_expert_gate"), LayerQuant::ROUTER_8BIT),
];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_next",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::IfAny {
        pat: Pat::Suffix(".mlp.experts.0.up_proj.weight"),
        when: ShapeCond::Always,
        present: true,
        rules: &[
            Rule::Drop(Pat::Contains("mtp.")),
            Rule::TieHead("lm_head"),
            Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
            CONV1D,
            NORMS_PLUS_ONE[0], NORMS_PLUS_ONE[1], NORMS_PLUS_ONE[2], NORMS_PLUS_ONE[3],
            NORMS_PLUS_ONE[4],
        ],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", // Qwen3NextModel (then `norm`)
        "linear_attn", "self_attn", "input_layernorm", "post_attention_layernorm", "mlp", // DecoderLayer
        // GatedDeltaNet
        "conv1d", "in_proj_qkvz", "in_proj_ba", "dt_bias", "A_log", "norm", "out_proj",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", "shared_expert", "shared_expert_gate", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    extra_quantizable: SWITCH_MLP,
    quant_predicate: ROUTERS,
    ..Arch::BASE
};
