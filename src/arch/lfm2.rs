//! `mlx_lm/models/lfm2.py`: short-conv kernels `conv.conv.weight` transposed from PyTorch's
//! `[C, 1, K]` to `[C, K, 1]` when `shape[-1] > shape[1]`. No `lm_head` (the embedding is the
//! head).

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "lfm2",
    category: Category::Reshape,
    tied: Tied::Always,
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastGreaterThanSecond }],
    order: &[
        "model", // Model
        "embed_tokens", "layers", "embedding_norm", // Lfm2Model
        // Lfm2DecoderLayer: self_attn | conv, feed_forward, operator_norm, ffn_norm
        "self_attn", "conv", "feed_forward", "operator_norm", "ffn_norm",
        // Attention: q_layernorm, k_layernorm, q_proj, k_proj, v_proj, out_proj;
        // ShortConv: conv, in_proj, out_proj
        "q_layernorm", "k_layernorm", "q_proj", "k_proj", "v_proj", "in_proj", "out_proj",
        "w1", "w3", "w2", // MLP
    ],
    ..Arch::BASE
};
