//! `mlx_lm/models/mamba2.py`: conv1d kernels moved from PyTorch's `[C, 1, K]` to MLX's
//! `[C, K, 1]` unless already there.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mamba2",
    category: Category::Reshape,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne }],
    order: &[
        "backbone", "lm_head", // Model
        "embeddings", "layers", "norm_f", // Mamba2
        "mixer", // ResidualBlock (then its `norm`)
        "conv1d", "in_proj", "dt_bias", "A_log", "D", "norm", "out_proj", // Mamba2Block
    ],
    ..Arch::BASE
};
