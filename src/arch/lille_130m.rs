//! `mlx_lm/models/lille-130m.py`. No `lm_head` (logits use the embedding).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "lille-130m",
    category: Category::FilterRename,
    tied: Tied::Always,
    sanitize: &[Rule::Drop(Pat::Contains("rotary_emb"))],
    order: &[
        "transformer", // Model
        "tok_embeddings", "layers", // Lille130
        "attention", "feed_forward", // Lille130Block
        // Lille130mAttention: qkv_proj, out_proj, norm; Lille130mMLP: norm, gate/up/down_proj;
        // Lille130: ..., norm
        "qkv_proj", "out_proj", "norm", "gate_proj", "up_proj", "down_proj",
    ],
    ..Arch::BASE
};
