//! `mlx_lm/models/qwen3_5.py`: Qwen3.5 (gated delta-net hybrid; vision wrapper converted
//! text-only). Vision weights dropped, `model.language_model.*` becomes
//! `language_model.model.*` and everything else gets the `language_model.` prefix; then the text
//! model drops `mtp.*`, moves conv1d kernels to `[C, K, 1]` and, only when some conv1d kernel was
//! still in PyTorch layout (an unconverted checkpoint), adds `1.0` to the zero-centred 1-D norm
//! weights.

use super::qwen3_next::{CONV1D, NORMS_PLUS_ONE, ROUTERS, SWITCH_MLP};
use super::{Arch, Category, ConfigEdit, Pat, Rule, ShapeCond, Tied};

/// The wrapper's renames (qwen3_5 and qwen3_5_moe).
pub(super) const WRAPPER: [Rule; 4] = [
    Rule::Drop(Pat::Prefix("vision_tower")),
    Rule::Drop(Pat::Prefix("model.visual")),
    Rule::RenamePrefix {
        from: "model.language_model",
        to: "language_model.model",
    },
    Rule::AddPrefix("language_model."),
];

/// `TextModel.sanitize`.
pub(super) const TEXT: [Rule; 4] = [
    Rule::IfAny {
        pat: Pat::Contains("conv1d.weight"),
        when: ShapeCond::LastNotOne,
        present: true,
        rules: &NORMS_PLUS_ONE,
    },
    Rule::Drop(Pat::Contains("mtp.")),
    Rule::TieHead("language_model.lm_head"),
    CONV1D,
];

/// Module order of the wrapper and text model (dense and MoE).
#[rustfmt::skip] // one line per module class
pub(super) const ORDER: &[&str] = &[
    "language_model", // Model
    "model", "lm_head", // TextModel
    "embed_tokens", "layers", // Qwen3_5TextModel (then `norm`)
    "linear_attn", "self_attn", "input_layernorm", "post_attention_layernorm", "mlp", // DecoderLayer
    // GatedDeltaNet
    "conv1d", "in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "dt_bias", "A_log", "norm",
    "out_proj",
    "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
    "gate", "switch_mlp", "shared_expert", "shared_expert_gate", // SparseMoeBlock
    "gate_proj", "down_proj", "up_proj", // MLP
    "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
];

/// `TextModelArgs.__post_init__` renames `rope_parameters["rope_type"]` to `"type"`.
pub(super) const ROPE_TYPE: &[ConfigEdit] = &[ConfigEdit::RenameNestedKey {
    dict: "rope_parameters",
    from: "rope_type",
    to: "type",
}];

pub const ARCH: Arch = Arch {
    name: "qwen3_5",
    category: Category::Reshape,
    // `TextModelArgs` from `text_config` (or the whole config); defaults to false.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        WRAPPER[0], WRAPPER[1], WRAPPER[2], WRAPPER[3], TEXT[0], TEXT[1], TEXT[2], TEXT[3],
    ],
    order: ORDER,
    extra_quantizable: SWITCH_MLP,
    quant_predicate: ROUTERS,
    no_cast: &[Pat::Suffix("A_log")],
    config_edits: ROPE_TYPE,
    ..Arch::BASE
};
