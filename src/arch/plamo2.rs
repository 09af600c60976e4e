//! `mlx_lm/models/plamo2.py`: conv1d kernels moved to `[C, K, 1]` unless already there.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "plamo2",
    category: Category::Reshape,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // PlamoModel, PlamoDecoder (`layers.layers`)
        "mixer", "mlp", "pre_mixer_norm", "post_mixer_norm", "pre_mlp_norm", "post_mlp_norm", // DecoderLayer
        // Mamba
        "in_proj", "conv1d", "bcdt_proj", "dt_proj", "dt_bias", "A_log", "D", "dt_norm_weight",
        "B_norm_weight", "C_norm_weight", "out_proj",
        "qkv_proj", "o_proj", "q_weight", "k_weight", // Attention
        "gate_up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
