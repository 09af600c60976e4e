//! `mlx_lm/models/exaone_moe.py`: MTP modules (`mtp.*`) dropped; the router's
//! `mlp.e_score_correction_bias` moves into `mlp.gate`; experts stacked into `mlp.switch_mlp.*`;
//! the router `mlp.gate` is a plain weight; the correction bias keeps its stored dtype.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "exaone_moe",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("mtp.")),
        Rule::Replace { from: "mlp.e_score_correction_bias", to: "mlp.gate.e_score_correction_bias" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // ExaoneMoeModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
