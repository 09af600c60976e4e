//! `mlx_lm/models/muse_spark.py`: Muse Spark, a MoE decoder (experts at a compressed width
//! between `pre_expert_proj` and `post_expert_proj`) with fixed residual gates, under
//! `model.language_model.`, and an optional vision tower. The audio tower is dropped, and so is
//! the vision tower when the config has no `vision_config`. On a Hugging Face checkpoint (one
//! without the `*_alpha` tensors mlx-lm writes) the sanitize of every numbered layer turns the
//! fixed gates into their float32 coefficients (`add_attn_alpha`/`_beta`, `add_ffn_alpha`/
//! `_beta`), the zero-centred norms into bfloat16 gains, splits the fused experts
//! (`mlp.experts.gate_up_proj`, `down_proj`) and maps ModelOpt NVFP4 packs onto MLX nvfp4
//! layers (uint8 codes viewed as uint32 words, e4m3 block scales as scales,
//! `weight_scale_2 · 6 · 448` as each expert's global scale, activation scales dropped). Then
//! q, k, v and the output gate become one `qkvg_proj` (q and k rows in RoPE pair order), and
//! the vision attention's q, k, v one `qkv_proj`. Only the experts of the layers between the
//! first and the last are quantized; the gate coefficients keep float32.

use super::{Arch, Category, ConfigDim, LayerSet, Pat, Rule, Scalar, ShapeCond, Tied, ValueRule};

const LAYERS: &str = "model.language_model.layers.";

/// The per-layer steps, skipped on weights mlx-lm already converted.
const LAYER_RULES: &[Rule] = &[
    Rule::ResidualGate {
        pat: Pat::Prefix(LAYERS),
        suffix: "post_attention_residual_gate.gate",
        into: "add_attn",
    },
    Rule::ResidualGate {
        pat: Pat::Prefix(LAYERS),
        suffix: "post_feedforward_residual_gate.gate",
        into: "add_ffn",
    },
    Rule::NormGainBf16(Pat::All(&[
        Pat::Prefix(LAYERS),
        Pat::Suffix(".input_layernorm.weight"),
    ])),
    Rule::NormGainBf16(Pat::All(&[
        Pat::Prefix(LAYERS),
        Pat::Suffix(".pre_feedforward_layernorm.weight"),
    ])),
    Rule::NormGainBf16(Pat::All(&[
        Pat::Prefix(LAYERS),
        Pat::Suffix(".post_feedforward_layernorm.weight"),
    ])),
    Rule::NormGainBf16(Pat::All(&[
        Pat::Prefix(LAYERS),
        Pat::Suffix(".mlp.pre_expert_norm.weight"),
    ])),
    Rule::NormGainBf16(Pat::All(&[
        Pat::Prefix(LAYERS),
        Pat::Suffix(".mlp.experts.post_expert_norm.weight"),
    ])),
    // Fused experts `[E, 2I, H]` (ModelOpt: uint8 codes `[E, 2I, H/2]`, viewed as words first:
    // the view acts on the last axis, the split on the rows).
    Rule::ViewU32 {
        pat: Pat::Suffix(".mlp.experts.gate_up_proj"),
        bytes_only: true,
    },
    Rule::SplitRows {
        suffix: "mlp.experts.gate_up_proj",
        parts: &["mlp.experts.gate_proj.weight", "mlp.experts.up_proj.weight"],
    },
    Rule::SplitRows {
        suffix: "mlp.experts.gate_up_proj_weight_scale",
        parts: &["mlp.experts.gate_proj.scales", "mlp.experts.up_proj.scales"],
    },
    Rule::SplitColumns {
        suffix: "mlp.experts.gate_up_proj_weight_scale_2",
        parts: &[
            "mlp.experts.gate_proj.global_scale",
            "mlp.experts.up_proj.global_scale",
        ],
    },
    Rule::ViewU32 {
        pat: Pat::Suffix(".mlp.experts.down_proj"),
        bytes_only: true,
    },
    Rule::RenameSuffix {
        from: "mlp.experts.down_proj",
        to: "mlp.experts.down_proj.weight",
    },
    Rule::RenameSuffix {
        from: "mlp.experts.down_proj_weight_scale",
        to: "mlp.experts.down_proj.scales",
    },
    Rule::RenameSuffix {
        from: "mlp.experts.down_proj_weight_scale_2",
        to: "mlp.experts.down_proj.global_scale",
    },
    // `_NVFP4_SCALE_2_TO_GLOBAL`: e2m1 max · e4m3 max.
    Rule::Values {
        pat: Pat::All(&[Pat::Prefix(LAYERS), Pat::Suffix("_proj.global_scale")]),
        rank: None,
        op: ValueRule::Mul(&[Scalar::Const(6.0 * 448.0)]),
    },
    // Activation scales: mlx does not quantize activations.
    Rule::Drop(Pat::Suffix("mlp.experts.gate_up_proj_input_scale")),
    Rule::Drop(Pat::Suffix("mlp.experts.down_proj_input_scale")),
];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "muse_spark",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Prefix("model.audio_tower.")),
        Rule::IfConfig {
            key: "vision_config",
            truthy: false,
            rules: &[
                Rule::Drop(Pat::Prefix("model.vision_tower.")),
                Rule::Drop(Pat::Prefix("model.vision_adapter.")),
                Rule::Drop(Pat::Prefix("model.vision_projection.")),
            ],
        },
        Rule::IfAny {
            pat: Pat::Suffix("_alpha"),
            when: ShapeCond::Always,
            present: false,
            rules: LAYER_RULES,
        },
        Rule::ConcatRows {
            parts: &[("q_proj", true), ("k_proj", true), ("v_proj", false), ("gate_proj", false)],
            into: "qkvg_proj",
            leaves: &["weight", "scales", "biases"],
            head_dim: Some(ConfigDim::Key(&["text_config", "head_dim"])),
        },
        Rule::ConcatRows {
            parts: &[("q_proj", true), ("k_proj", true), ("v_proj", false)],
            into: "qkv_proj",
            leaves: &["weight", "bias"],
            head_dim: Some(ConfigDim::Quotient(
                &["vision_config", "hidden_size"],
                &["vision_config", "num_attention_heads"],
            )),
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "language_model", "vision_tower", "vision_adapter", "vision_projection", // MuseSparkModel
        "embed_tokens", "patch_embedder", "ln_pre", "layers", "norm", "ln_post", // text model, VisionTower
        // TransformerBlock
        "input_layernorm", "self_attn", "pre_feedforward_layernorm",
        "norm1", "attn", "norm2", // VisionBlock
        "mlp", "post_feedforward_layernorm", "add_attn_alpha", "add_attn_beta", "add_ffn_alpha",
        "add_ffn_beta",
        "qkvg_proj", "o_proj", // Attention
        "gate", "pre_expert_proj", "pre_expert_norm", "experts", "post_expert_proj", // MoE
        "gate_proj", "up_proj", "down_proj", "post_expert_norm", // SwitchGLU
        "patch_embedding", "position_embedding_table", // VisionPatchEmbedder
        "qkv_proj", "proj", // VisionAttention
        "fc1", "fc2", // VisionMLP, VisionAdapter
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    // The experts are SwitchLinear layers `[E, out, in]`.
    extra_quantizable: &[Pat::All(&[Pat::Contains(".mlp.experts."), Pat::Suffix("_proj.weight")])],
    // Only `model.language_model.layers.N.mlp.experts.{gate,up,down}_proj`, N not first or last.
    quant_predicate: &[(
        Pat::Not(&Pat::All(&[Pat::Prefix(LAYERS), Pat::Contains(".mlp.experts.")])),
        super::LayerQuant::Skip,
    )],
    float_in_layers: &[(
        LayerSet::FirstAndLast { total: "num_hidden_layers" },
        Pat::Contains(".mlp.experts."),
    )],
    no_cast: &[Pat::Suffix("_alpha"), Pat::Suffix("_beta")],
    ..Arch::BASE
};
