//! `mlx_lm/models/laguna.py`: a `language_model.` prefix (repacked checkpoints) is stripped; the
//! bare router `mlp.gate.weight` becomes `mlp.gate.proj.weight` and
//! `mlp.experts.e_score_correction_bias` moves into `mlp.gate`; experts stacked into
//! `mlp.switch_mlp.*`; routers at 8 bits; the correction bias keeps its stored dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "laguna",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::RenamePrefix { from: "language_model.", to: "" },
        Rule::Replace { from: "mlp.gate.weight", to: "mlp.gate.proj.weight" },
        Rule::Replace { from: "mlp.experts.e_score_correction_bias", to: "mlp.gate.e_score_correction_bias" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LagunaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", "g_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "gate", "switch_mlp", "shared_expert", // SparseMoeBlock
        "proj", "e_score_correction_bias", // Router
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Suffix("mlp.gate.proj"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
