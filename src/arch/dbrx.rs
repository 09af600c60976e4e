//! `mlx_lm/models/dbrx.py`: DBRX. Its experts are a list of separate MLPs, so the checkpoint's
//! fused `ffn.experts.mlp.{v1,w1,w2}` `[E·F, D]` are split by rows into
//! `ffn.experts.{e}.{v1,w1,w2}.weight`, `w2` pieces transposed to `[D, F]`. The head is never
//! tied.

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "dbrx",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::SplitExperts {
        fused: "experts.mlp",
        into: "experts",
        count_key: &["ffn_config", "moe_num_experts"],
        transpose_suffix: "w2",
    }],
    order: &[
        "transformer", "lm_head", // Model
        "wte", "blocks", "norm_f", // DBRX
        "ffn", "norm_attn_norm", // DecoderLayer
        "norm_1", "norm_2", "attn", // NormAttnNorm
        "Wqkv", "out_proj", // Attention
        "router", "experts", // SparseMoeBlock
        "layer", // Router
        "v1", "w1", "w2", // MLP
    ],
    ..Arch::BASE
};
