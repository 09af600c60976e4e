//! `mlx_lm/models/bailing_moe_v3.py`: Bailing V3, a hybrid of KDA (gated delta-rule) layers and
//! an MLA layer every `layer_group_size` layers (and the tail past the last full group). MTP
//! layers (numbered from `num_hidden_layers`) dropped; experts stacked into `mlp.switch_mlp`;
//! MLA's `kv_b_proj` absorbed into `embed_q` / `unembed_out`; KDA's `*_conv1d` kernels moved
//! from PyTorch's `[C, 1, K]` to `[C, K, 1]`. Its `quant_predicate` keeps the embedding, the
//! head, the MLA projections and KDA's `b_proj` in float, and `q_proj`/`g_proj` too in MLA
//! layers only: that part depends on the layer's kind, hence [`Arch::float_in_layers`].

use super::{Arch, Category, LayerQuant, LayerSet, Pat, Rule, ShapeCond, Tied};

/// The MLA layers (`not _is_kda_layer`).
const MLA_LAYERS: LayerSet = LayerSet::EveryNthAndTail {
    group: "layer_group_size",
    total: "num_hidden_layers",
};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "bailing_moe_v3",
    category: Category::Complex,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::DropLayersFrom { prefix: "model.layers.", key: "num_hidden_layers" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: false,
        },
        Rule::MoveAxis {
            pat: Pat::Contains("_conv1d.weight"),
            rank: 3,
            from: 2,
            to: 1,
            when: ShapeCond::LastNotOne,
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "word_embeddings", "layers", "norm", // BailingModel
        "attention", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // BailingMLA, BailingKDA
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "k_proj", "v_proj", "q_conv1d", "k_conv1d", "v_conv1d",
        "A_log", "f_proj", "dt_bias", "b_proj", "g_proj", "o_norm", "o_proj", "dense",
        "gate", "switch_mlp", "shared_experts", // BailingSparseMoE
        "weight", "expert_bias", // BailingGate
        "gate_proj", "up_proj", "down_proj", // BailingMLP, SwitchGLU
    ],
    // The router is a bare weight, not a Linear.
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: &[
        (Pat::Exact("model.word_embeddings"), LayerQuant::Skip),
        (Pat::Exact("lm_head"), LayerQuant::Skip),
        (Pat::Suffix("attention.q_a_proj"), LayerQuant::Skip),
        (Pat::Suffix("attention.q_b_proj"), LayerQuant::Skip),
        (Pat::Suffix("attention.kv_a_proj_with_mqa"), LayerQuant::Skip),
        (Pat::Suffix("attention.embed_q"), LayerQuant::Skip),
        (Pat::Suffix("attention.unembed_out"), LayerQuant::Skip),
        (Pat::Suffix("attention.b_proj"), LayerQuant::Skip),
    ],
    float_in_layers: &[
        (MLA_LAYERS, Pat::Suffix("attention.q_proj")),
        (MLA_LAYERS, Pat::Suffix("attention.g_proj")),
    ],
    ..Arch::BASE
};
