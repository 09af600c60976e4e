//! `mlx_lm/models/gemma4_text.py`: Gemma 4 text model. Rotary buffers and activation-range
//! statistics (`input_max`, `output_min`, ...) dropped; the KV-shared layers (the last
//! `num_kv_shared_layers`) lose their `k_proj`/`v_proj`/`k_norm`; the fused
//! `experts.gate_up_proj` `[E, 2·I, H]` is split in row halves into
//! `experts.switch_glu.{gate,up}_proj.weight` and `experts.down_proj` becomes
//! `experts.switch_glu.down_proj.weight`. Routers (`router.proj`) are quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, Scalar, Tied};

/// `Gemma4TextModel.sanitize` (also run by the `gemma4` wrapper).
pub(super) const TEXT: [Rule; 8] = [
    Rule::Drop(Pat::Contains("self_attn.rotary_emb")),
    Rule::Drop(Pat::Contains("input_max")),
    Rule::Drop(Pat::Contains("input_min")),
    Rule::Drop(Pat::Contains("output_max")),
    Rule::Drop(Pat::Contains("output_min")),
    Rule::DropInLayersFrom {
        pats: &[
            Pat::Contains(".self_attn.k_proj"),
            Pat::Contains(".self_attn.v_proj"),
            Pat::Contains(".self_attn.k_norm"),
        ],
        total: Scalar::Config {
            key: "num_hidden_layers",
            index: None,
            default: 35.0,
        },
        minus: Scalar::Config {
            key: "num_kv_shared_layers",
            index: None,
            default: 20.0,
        },
    },
    Rule::SplitRows {
        suffix: ".experts.gate_up_proj",
        parts: &[
            ".experts.switch_glu.gate_proj.weight",
            ".experts.switch_glu.up_proj.weight",
        ],
    },
    Rule::RenameSuffix {
        from: ".experts.down_proj",
        to: ".experts.switch_glu.down_proj.weight",
    },
];

#[rustfmt::skip] // one line per module class
pub(super) const ORDER: &[&str] = &[
    "language_model", // gemma4.Model
    "model", "lm_head", // Model
    // Gemma4TextModel
    "embed_tokens", "layers", "norm", "embed_tokens_per_layer", "per_layer_model_projection",
    "per_layer_projection_norm",
    // DecoderLayer
    "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
    "post_feedforward_layernorm", "router", "experts", "post_feedforward_layernorm_1",
    "post_feedforward_layernorm_2", "pre_feedforward_layernorm_2", "per_layer_input_gate",
    "per_layer_projection", "post_per_layer_input_norm", "layer_scalar",
    "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
    "gate_proj", "down_proj", "up_proj", // MLP
    "proj", "scale", "per_expert_scale", // Router
    "switch_glu", // Experts
    "switch_glu/gate_proj", "switch_glu/up_proj", "switch_glu/down_proj", // SwitchGLU
];

pub(super) const SWITCH_GLU: &[Pat] = &[
    Pat::Suffix("switch_glu.gate_proj.weight"),
    Pat::Suffix("switch_glu.up_proj.weight"),
    Pat::Suffix("switch_glu.down_proj.weight"),
];

pub(super) const ROUTER: &[(Pat, LayerQuant)] =
    &[(Pat::Suffix("router.proj"), LayerQuant::ROUTER_8BIT)];

pub const ARCH: Arch = Arch {
    name: "gemma4_text",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &TEXT,
    order: ORDER,
    extra_quantizable: SWITCH_GLU,
    quant_predicate: ROUTER,
    ..Arch::BASE
};
