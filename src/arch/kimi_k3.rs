//! `mlx_lm/models/kimi_k3.py`: Kimi K3, Kimi Linear's hybrid (KDA linear attention and NoPE MLA
//! layers, latent MoE) under `language_model.`, built from `text_config` (or from the whole
//! config when it has none). Vision towers and projectors dropped; the language model's
//! `sanitize` drops MTP layers and layers past `num_hidden_layers` (and the tied head), renames
//! the attention-residual `X.proj_weight`/`X.norm_weight` to `X_proj.weight`/`X_norm.weight`,
//! stacks `block_sparse_moe` experts (`w1/w2/w3`, or compressed-tensors `weight_packed` viewed
//! as uint32 words with their `weight_scale` as MLX scales; their `weight_shape` metadata, on
//! which mlx-lm's strict load fails, dropped) into `mlp.switch_mlp`, turns KDA's
//! `{q,k,v}_conv1d` kernels channels-last, flattens `dt_bias`/`A_log` (cut to the heads),
//! concatenates `{q,k,v}_proj` (weight, scales, biases) into `qkv_proj` and the convolutions
//! into `qkv_conv`, and absorbs MLA's `kv_b_proj` into `embed_q`/`unembed_out` (one stored
//! MLX-quantized is dequantized and re-quantized, as mlx-lm does).
//! Parameters are ordered as mlx-lm's modules declare them, except that a full-rank KDA gate
//! `g_proj` is ranked after `o_proj`, as the MLA output gate is (tensor order only).
//! Routers at 8 bits, the residual projections in float; `e_score_correction_bias`, `A_log`
//! and `dt_bias` keep their dtype.

use super::{Arch, Category, ConfigDim, LayerQuant, Pat, Rule, ShapeCond, Tied};

/// compressed-tensors expert packs, stacked like float experts: codes viewed as uint32 words,
/// block scales as MLX scales.
const PACKED_EXPERTS: &[Rule] = &[
    Rule::RenameSuffix {
        from: "switch_mlp.gate_proj.weight_scale",
        to: "switch_mlp.gate_proj.scales",
    },
    Rule::RenameSuffix {
        from: "switch_mlp.up_proj.weight_scale",
        to: "switch_mlp.up_proj.scales",
    },
    Rule::RenameSuffix {
        from: "switch_mlp.down_proj.weight_scale",
        to: "switch_mlp.down_proj.scales",
    },
    Rule::ViewU32 {
        pat: Pat::All(&[
            Pat::Contains(".switch_mlp."),
            Pat::Suffix("_proj.weight_packed"),
        ]),
        bytes_only: false,
    },
    Rule::RenameSuffix {
        from: "switch_mlp.gate_proj.weight_packed",
        to: "switch_mlp.gate_proj.weight",
    },
    Rule::RenameSuffix {
        from: "switch_mlp.up_proj.weight_packed",
        to: "switch_mlp.up_proj.weight",
    },
    Rule::RenameSuffix {
        from: "switch_mlp.down_proj.weight_packed",
        to: "switch_mlp.down_proj.weight",
    },
    // Per-expert `weight_shape` metadata (which mlx-lm leaves unstacked, so its strict load
    // fails on it): the shapes are the stacked weights' own.
    Rule::Drop(Pat::All(&[
        Pat::Contains(".switch_mlp."),
        Pat::Suffix("_proj.weight_shape"),
    ])),
];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "kimi_k3",
    category: Category::Complex,
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower")),
        Rule::Drop(Pat::Prefix("vision_model")),
        Rule::Drop(Pat::Prefix("multi_modal_projector")),
        Rule::Drop(Pat::Prefix("mm_projector")),
        Rule::RenamePrefix { from: "language_model.", to: "" },
        Rule::InText(&[
            Rule::Drop(Pat::Prefix("model.mtp")),
            Rule::Drop(Pat::Prefix("mtp")),
            Rule::DropLayersFrom { prefix: "model.layers.", key: "num_hidden_layers" },
            Rule::TieHead("lm_head"),
            Rule::RenameSuffix { from: "self_attention_res.proj_weight", to: "self_attention_res_proj.weight" },
            Rule::RenameSuffix { from: "self_attention_res.norm_weight", to: "self_attention_res_norm.weight" },
            Rule::RenameSuffix { from: "mlp_res.proj_weight", to: "mlp_res_proj.weight" },
            Rule::RenameSuffix { from: "mlp_res.norm_weight", to: "mlp_res_norm.weight" },
            Rule::RenameSuffix { from: "output_attn_res.proj_weight", to: "output_attn_res_proj.weight" },
            Rule::RenameSuffix { from: "output_attn_res.norm_weight", to: "output_attn_res_norm.weight" },
            Rule::StackExperts {
                experts: "experts",
                into: "switch_mlp",
                rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
            },
            Rule::IfAny {
                pat: Pat::Suffix("_proj.weight_packed"),
                when: ShapeCond::Always,
                present: true,
                rules: PACKED_EXPERTS,
            },
            super::kimi_linear::KDA_LAYERS,
            Rule::Flatten(Pat::Suffix("self_attn.A_log")),
            Rule::Truncate {
                pat: Pat::Suffix("self_attn.A_log"),
                len: ConfigDim::Key(&["linear_attn_config", "num_heads"]),
            },
            Rule::ConcatRows {
                parts: &[("q_proj", false), ("k_proj", false), ("v_proj", false)],
                into: "qkv_proj",
                leaves: &["weight", "scales", "biases"],
                head_dim: None,
            },
            Rule::ConcatRows {
                parts: &[("q_conv.conv", false), ("k_conv.conv", false), ("v_conv.conv", false)],
                into: "qkv_conv.conv",
                leaves: &["weight"],
                head_dim: None,
            },
            Rule::AbsorbMla {
                heads: "num_attention_heads",
                nope: &["qk_nope_head_dim"],
                v: &["v_head_dim"],
                quantized: true,
            },
        ]),
        Rule::AddPrefix("language_model."),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", "output_attn_res_proj", "output_attn_res_norm", // TextModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "self_attention_res_proj", "self_attention_res_norm", "mlp_res_proj", "mlp_res_norm",
        // KimiK3DeltaAttention
        "qkv_proj", "qkv_conv", "f_a_proj", "f_b_proj", "b_proj", "g_a_proj", "g_b_proj",
        "A_log", "dt_bias", "o_norm",
        // KimiK3MLAAttention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "o_proj", "g_proj",
        "conv", // ShortConv1d
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "gate", "switch_mlp", "e_score_correction_bias", "routed_expert_down_proj",
        "routed_expert_up_proj", "routed_expert_norm", "shared_experts", // SparseMoE
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: &[
        (Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT),
        (Pat::Suffix("res_proj"), LayerQuant::Skip),
    ],
    no_cast: &[
        Pat::Contains("e_score_correction_bias"),
        Pat::Suffix("A_log"),
        Pat::Suffix("dt_bias"),
    ],
    ..Arch::BASE
};
