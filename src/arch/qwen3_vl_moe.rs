//! `mlx_lm/models/qwen3_vl_moe.py`: Qwen3-VL MoE converted text-only with a `qwen3_moe` text
//! model. The weight tree is rebuilt as `language_model.{model,lm_head}` from either layout
//! (`model.language_model.*` + top-level `lm_head.*`, or the legacy `language_model.*`), dropping
//! everything else (vision); the fused `mlp.experts.gate_up_proj` `[E, H, 2·I]` is split along its
//! last axis into `mlp.switch_mlp.{gate,up}_proj.weight` `[E, I, H]` and `experts.down_proj`
//! is transposed into `mlp.switch_mlp.down_proj.weight`.

use super::qwen3_next::SWITCH_MLP;
use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_vl_moe",
    category: Category::Moe,
    // qwen3_moe.ModelArgs from `text_config`; defaults to false.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("visual.")),
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        Rule::KeepOnly(&[Pat::Prefix("language_model.model."), Pat::Prefix("language_model.lm_head.")]),
        Rule::SplitColsSwapped {
            suffix: "mlp.experts.gate_up_proj",
            parts: &["mlp.switch_mlp.gate_proj.weight", "mlp.switch_mlp.up_proj.weight"],
        },
        Rule::SwapLastAxes { pat: Pat::Suffix("mlp.experts.down_proj"), rank: 3 },
        Rule::RenameSuffix { from: "mlp.experts.down_proj", to: "mlp.switch_mlp.down_proj.weight" },
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // qwen3_moe.Model
        "embed_tokens", "layers", "norm", // Qwen3MoeModel
        "self_attn", "input_layernorm", "post_attention_layernorm", "mlp", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    extra_quantizable: SWITCH_MLP,
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
