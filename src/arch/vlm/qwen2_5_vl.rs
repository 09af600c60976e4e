//! `mlx_vlm/models/qwen2_5_vl`: Qwen2.5-VL. Same key layout and rules as Qwen2-VL (its vision
//! MLP has gate/up/down projections, kept in float with the rest of the tower); mlx-vlm's text
//! config defaults `tie_word_embeddings` to True here.

use super::qwen2_vl::{ORDER, SANITIZE, TOWERS};
use crate::arch::{Arch, Category, Tied};

pub const ARCH: Arch = Arch {
    name: "qwen2_5_vl",
    category: Category::Reshape,
    tied: Tied::TextConfig { default: true },
    sanitize: SANITIZE,
    order: ORDER,
    towers: TOWERS,
    ..Arch::BASE
};
