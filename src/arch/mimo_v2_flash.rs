//! `mlx_lm/models/mimo_v2_flash.py`: hybrid sliding-window / full attention (with optional
//! attention-sink biases) and MoE. fp8 checkpoints (`weight_scale_inv`, 128×128 tiles) are
//! dequantized to bfloat16; experts stacked into `mlp.switch_mlp.*`; the MTP module
//! `model.mtp.*` dropped. The router `mlp.gate` is a plain weight whose
//! `e_score_correction_bias` keeps its stored dtype.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mimo_v2_flash",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[
        Rule::DequantFp8Blocks { block: 128, broadcast: false },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::Drop(Pat::Prefix("model.mtp")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LanguageModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "attention_sink_bias", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
