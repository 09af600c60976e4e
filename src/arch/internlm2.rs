//! `mlx_lm/models/internlm2.py`. The untied head is called `output`; mlx-lm does not drop it
//! when tied.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "internlm2",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::Drop(Pat::Contains("attention.rope.inv_freq"))],
    order: &[
        "model", "output", // Model
        "tok_embeddings", "layers", "norm", // InternLM2Model
        "attention", "feed_forward", "attention_norm", "ffn_norm", // TransformerBlock
        "wqkv", "wo", // Attention
        "w1", "w2", "w3", // MLP
    ],
    ..Arch::BASE
};
