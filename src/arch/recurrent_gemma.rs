//! `mlx_lm/models/recurrent_gemma.py`: `conv_1d` kernels moved to `[C, K, 1]` unless already
//! there; the model drops its `lm_head` exactly when the checkpoint has none.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "recurrent_gemma",
    category: Category::Reshape,
    tied: Tied::IfNoLmHead,
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv_1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "final_norm", // Griffin
        "temporal_pre_norm", "temporal_block", "channel_pre_norm", "mlp_block", // ResidualBlock
        "linear_y", "linear_x", "linear_out", "conv_1d", "rg_lru", // RecurrentBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // LocalAttentionBlock
        "up_proj", "gate_proj", "down_proj", // MLPBlock
        // RGLRU
        "recurrent_param", "input_gate_weight", "input_gate_bias", "recurrent_gate_weight",
        "recurrent_gate_bias",
    ],
    ..Arch::BASE
};
