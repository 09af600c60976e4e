//! `mlx_lm/models/mamba.py` (also `falcon_mamba`): conv1d kernels moved from PyTorch's
//! `[C, 1, K]` to MLX's `[C, K, 1]` unless already there.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mamba",
    aliases: &["falcon_mamba"],
    category: Category::Reshape,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne }],
    order: &[
        "backbone", "lm_head", // Model
        "embeddings", "layers", "norm_f", // Mamba
        "mixer", "norm", // ResidualBlock
        "in_proj", "conv1d", "x_proj", "dt_proj", "A_log", "D", "out_proj", // MambaBlock
    ],
    ..Arch::BASE
};
