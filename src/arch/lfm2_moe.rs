//! `mlx_lm/models/lfm2_moe.py`: short-conv kernels transposed to `[C, K, 1]` (when
//! `shape[-1] > shape[1]`); `w1/w2/w3.weight` renamed to `gate/down/up_proj.weight`; experts
//! stacked into `feed_forward.switch_mlp.*`; routers at 8 bits; `expert_bias` keeps its stored
//! dtype. No `lm_head` (the embedding is the head).

use super::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "lfm2_moe",
    category: Category::Moe,
    tied: Tied::Always,
    sanitize: &[
        Rule::MoveAxis { pat: Pat::Contains("conv.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastGreaterThanSecond },
        Rule::Replace { from: "w1.weight", to: "gate_proj.weight" },
        Rule::Replace { from: "w2.weight", to: "down_proj.weight" },
        Rule::Replace { from: "w3.weight", to: "up_proj.weight" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", // Model
        "embed_tokens", "layers", "embedding_norm", // Lfm2MoeModel
        // DecoderLayer: self_attn | conv, feed_forward, operator_norm, ffn_norm
        "self_attn", "conv", "feed_forward", "operator_norm", "ffn_norm",
        // Attention: q_layernorm, k_layernorm, q_proj, k_proj, v_proj, out_proj;
        // ShortConv: conv, in_proj, out_proj
        "q_layernorm", "k_layernorm", "q_proj", "k_proj", "v_proj", "in_proj", "out_proj",
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "gate", "switch_mlp", "expert_bias", // SparseMoeBlock
    ],
    quant_predicate: &[(Pat::Suffix("feed_forward.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
