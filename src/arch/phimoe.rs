//! `mlx_lm/models/phimoe.py`: experts `block_sparse_moe.experts.{e}.w1/w2/w3` stacked into
//! `block_sparse_moe.switch_mlp.{gate,down,up}_proj`. The model always has its own `lm_head`
//! (with a bias).

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phimoe",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts {
        experts: "experts",
        into: "switch_mlp",
        rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // PhiMoEModel
        "self_attn", "block_sparse_moe", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate", "switch_mlp", // PhiMoESparseMoeBlock
        "gate_proj", "up_proj", "down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
