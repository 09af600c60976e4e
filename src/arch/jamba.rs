//! `mlx_lm/models/jamba.py`: conv1d kernels moved to `[C, K, 1]`; experts
//! `feed_forward.experts.{e}.*` (weights and biases) stacked into `feed_forward.switch_mlp.*`;
//! routers at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "jamba",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "final_layernorm", // JambaModel
        "mamba", "self_attn", "feed_forward", "input_layernorm", "pre_ff_layernorm", // DecoderLayer
        // MambaMixer
        "in_proj", "conv1d", "x_proj", "dt_proj", "A_log", "D", "out_proj", "dt_layernorm",
        "b_layernorm", "c_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "router", "switch_mlp", // SparseMoeBlock
    ],
    quant_predicate: &[(Pat::Suffix("router"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
