//! `mlx_lm/models/longcat_flash.py`: two MLA attentions per layer (`self_attn.{0,1}`), each
//! `kv_b_proj` absorbed into `embed_q` / `unembed_out`; experts stacked into `mlp.switch_mlp.*`
//! (zero experts have no weights); the MTP module `model.mtp*` dropped. The router's
//! `classifier` is quantized at 8 bits; its `e_score_correction_bias` keeps its stored dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

pub const SANITIZE: &[Rule] = &[
    Rule::StackExperts {
        experts: "experts",
        into: "switch_mlp",
        rename: &[],
    },
    Rule::AbsorbMla {
        heads: "num_attention_heads",
        nope: &["qk_nope_head_dim"],
        v: &["v_head_dim"],
        quantized: true,
    },
    Rule::Drop(Pat::Prefix("model.mtp")),
];

pub const QUANT_PREDICATE: &[(Pat, LayerQuant)] =
    &[(Pat::Suffix("classifier"), LayerQuant::ROUTER_8BIT)];

#[rustfmt::skip]
pub const ARCH: Arch = Arch {
    name: "longcat_flash",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: SANITIZE,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LongcatFlashModel
        "mlp", "self_attn", "mlps", "input_layernorm", "post_attention_layernorm",
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "o_proj",
        "gate_proj", "up_proj", "down_proj",
        "switch_mlp", "router",
        "classifier", "e_score_correction_bias",
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: QUANT_PREDICATE,
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
