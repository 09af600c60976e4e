//! `mlx_lm/models/deepseek_v41.py` (also `deepseek_v41_text`): DeepSeek V4, text part. The
//! reference checkpoint's names (`embed`, `head`, `layers.N.attn.wq_a`, `layers.N.ffn.experts.E.w1`,
//! `hc_attn_fn`, ...) are renamed to mlx-lm's (`_rename`); the vision tower, aligner, image
//! tokens, multi-token-prediction layers, engram tables and the image router bias (`bias_vl`)
//! are dropped. Per-expert weights are stacked into `mlp.experts.switch_mlp`.
//!
//! The published weights stay packed (`_repack`): fp8 (e4m3 bytes) with ue8m0 scales per
//! 32×32 tile, and fp4 experts (two e2m1 codes a byte) with one E8M0 scale per 32 values,
//! become MLX mxfp8/mxfp4 layers ([`Rule::PackedMxScales`] with `repack`: float scales turned
//! into exponent bytes, tile scales repeated per row); the loader reads the `fp8`/ue8m0/32×32
//! `quantization_config` as mxfp8 and the fp4 layers' shapes as mxfp4. `wo_a` is block
//! diagonal, stored as its `o_groups` groups' rows one after another, and split back into
//! `[o_groups, rows, in]` (a SwitchLinear). A checkpoint already in MLX names (a key starting
//! with `model.`) passes unchanged. Hyper-connection mixes, attention sinks, router biases and
//! the KV compressors keep their stored dtype under `--dtype`, as the model's `cast_predicate`
//! says.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "deepseek_v41",
    aliases: &["deepseek_v41_text"],
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[Rule::IfAny {
        pat: Pat::Prefix("model."),
        when: ShapeCond::Always,
        present: false,
        rules: &[
            Rule::Drop(Pat::Prefix("vision.")),
            Rule::Drop(Pat::Prefix("aligner.")),
            Rule::Drop(Pat::Prefix("image_")),
            Rule::Drop(Pat::Prefix("mtp.")),
            Rule::Drop(Pat::Contains(".engram.")),
            // bias_vl routes image tokens, which the text model never sees.
            Rule::Drop(Pat::Suffix(".gate.bias_vl")),
            // `_rename`: `model.` + key with the module names replaced, `head`/`embed` special.
            Rule::AddPrefix("model."),
            Rule::RenamePrefix { from: "model.head.", to: "lm_head." },
            Rule::RenamePrefix { from: "model.embed.", to: "model.embed_tokens." },
            Rule::Replace { from: ".attn.", to: ".self_attn." },
            Rule::Replace { from: ".ffn.", to: ".mlp." },
            Rule::Replace { from: ".attn_norm.", to: ".input_layernorm." },
            Rule::Replace { from: ".ffn_norm.", to: ".post_attention_layernorm." },
            Rule::Replace { from: ".hc_attn_", to: ".attn_hc." },
            Rule::Replace { from: ".hc_ffn_", to: ".ffn_hc." },
            Rule::Replace { from: ".attn_sink", to: ".sinks" },
            Rule::Replace { from: ".wq_a.", to: ".q_a_proj." },
            Rule::Replace { from: ".wq_b.", to: ".q_b_proj." },
            Rule::Replace { from: ".wkv.", to: ".kv_proj." },
            Rule::Replace { from: ".wgate.", to: ".gate_proj." },
            Rule::Replace { from: ".wo_a.", to: ".o_a_proj." },
            Rule::Replace { from: ".wo_b.", to: ".o_b_proj." },
            Rule::Replace { from: ".q_norm.", to: ".q_a_norm." },
            Rule::Replace { from: ".compressor.norm.", to: ".compressor.kv_norm." },
            Rule::Replace { from: ".indexer.wk.", to: ".indexer.k_proj." },
            Rule::Replace { from: ".gate.bias", to: ".gate.e_score_correction_bias" },
            Rule::Replace { from: ".shared_experts.w1.", to: ".shared_experts.gate_proj." },
            Rule::Replace { from: ".shared_experts.w2.", to: ".shared_experts.down_proj." },
            Rule::Replace { from: ".shared_experts.w3.", to: ".shared_experts.up_proj." },
            Rule::StackExperts {
                experts: "experts",
                into: "experts.switch_mlp",
                rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
            },
            Rule::PackedMxScales { scale: ".scale", repack: true },
            Rule::SplitRowGroups { pat: Pat::Suffix(".o_a_proj.weight"), key: "o_groups", default: 8 },
            Rule::SplitRowGroups { pat: Pat::Suffix(".o_a_proj.scales"), key: "o_groups", default: 8 },
        ],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // TextModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", "attn_hc", "ffn_hc", // DecoderLayer
        "q_a_proj", "q_a_norm", "q_b_proj", "kv_proj", "gate_proj", "kv_norm", // Attention, Compressor
        "o_a_proj", "o_b_proj", "sinks", "compressor", "indexer", // Attention
        "weights_proj", "k_proj", "k_norm", // Indexer
        "gate", "experts", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // Router
        "switch_mlp", "up_proj", "down_proj", // Experts, SwitchGLU, SharedMLP
        "fn", "base", "scale", // HyperConnection
    ],
    // The router is a bare weight, not a Linear; wo_a and the stacked experts (stacked inside
    // the `IfAny`, which the stacked-expert check does not look into) are SwitchLinear layers.
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[
        Pat::Suffix(".o_a_proj.weight"),
        Pat::All(&[Pat::Contains(".experts.switch_mlp."), Pat::Suffix(".weight")]),
    ],
    no_cast: &[
        Pat::Contains("attn_hc."),
        Pat::Contains("ffn_hc."),
        Pat::Contains("sinks"),
        Pat::Contains("e_score_correction_bias"),
        Pat::Contains("compressor."),
    ],
    ..Arch::BASE
};
