//! `mlx_lm/models/kimi_linear.py`: Kimi Linear, KDA (linear attention) and MLA layers with MoE.
//! The MTP module `model.mtp*` dropped; `block_sparse_moe` experts (`w1/w2/w3`) stacked into
//! `mlp.switch_mlp.{gate,down,up}_proj`, the rest of `block_sparse_moe` moved to `mlp` (its
//! router's `e_score_correction_bias` one level up); KDA's `{q,k,v}_conv1d` kernels become
//! channels-last `{q,k,v}_conv.conv`, `dt_bias` flat; MLA's `kv_b_proj` absorbed into
//! `embed_q` / `unembed_out` (`qk_nope_head_dim or head_dim`, `v_head_dim or head_dim`).
//! Routers at 8 bits; `e_score_correction_bias`, `A_log` and `dt_bias` keep their dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied};

/// The rest of `block_sparse_moe` moved to `mlp`, KDA's convolutions channels-last under
/// `{q,k,v}_conv.conv`, `dt_bias` flat: shared with kimi_k3, which builds on this model.
pub(super) const KDA_LAYERS: Rule = Rule::All(&[
    Rule::Replace {
        from: "block_sparse_moe.gate.e_score_correction_bias",
        to: "mlp.e_score_correction_bias",
    },
    Rule::Replace {
        from: "block_sparse_moe.",
        to: "mlp.",
    },
    Rule::MoveAxis {
        pat: Pat::Suffix("_conv1d.weight"),
        rank: 3,
        from: 2,
        to: 1,
        when: ShapeCond::Always,
    },
    Rule::Replace {
        from: "self_attn.q_conv1d.",
        to: "self_attn.q_conv.conv.",
    },
    Rule::Replace {
        from: "self_attn.k_conv1d.",
        to: "self_attn.k_conv.conv.",
    },
    Rule::Replace {
        from: "self_attn.v_conv1d.",
        to: "self_attn.v_conv.conv.",
    },
    Rule::Flatten(Pat::Suffix("self_attn.dt_bias")),
]);

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "kimi_linear",
    category: Category::Complex,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("model.mtp")),
        Rule::StackExperts {
            experts: "experts",
            into: "switch_mlp",
            rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
        },
        KDA_LAYERS,
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim", "head_dim"],
            v: &["v_head_dim", "head_dim"],
            quantized: true,
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // KimiLinearModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // KimiDeltaAttention and KimiMLAAttention
        "q_proj", "k_proj", "v_proj", "q_conv", "k_conv", "v_conv", "f_a_proj", "f_b_proj",
        "b_proj", "g_a_proj", "g_b_proj", "A_log", "dt_bias", "o_norm",
        "kv_a_proj_with_mqa", "kv_a_layernorm", "embed_q", "unembed_out", "o_proj",
        "conv", // ShortConv1d
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "gate", "switch_mlp", "e_score_correction_bias", "shared_experts", // SparseMoE
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[
        Pat::Contains("e_score_correction_bias"),
        Pat::Suffix("A_log"),
        Pat::Suffix("dt_bias"),
    ],
    ..Arch::BASE
};
