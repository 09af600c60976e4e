//! `mlx_lm/models/dots1.py`: from layer `first_k_dense_replace` on, experts are stacked into
//! `mlp.experts.{gate,up,down}_proj` (SwitchGLU named `experts`); the router `mlp.gate` is a plain
//! weight (with `e_score_correction_bias`), not a Linear.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "dots1",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::StackExperts { experts: "experts", into: "experts", rename: &[] },
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Dots1Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "experts", "gate", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    ..Arch::BASE
};
