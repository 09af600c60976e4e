//! `mlx_lm/models/mixtral.py`: experts `block_sparse_moe.experts.{e}.w1/w2/w3` stacked into
//! `block_sparse_moe.switch_mlp.{gate,down,up}_proj` (SwitchGLU).

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mixtral",
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::StackExperts {
        experts: "experts",
        into: "switch_mlp",
        rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MixtralModel
        "self_attn", "block_sparse_moe", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // MixtralAttention
        "gate", "switch_mlp", // MixtralSparseMoeBlock
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
