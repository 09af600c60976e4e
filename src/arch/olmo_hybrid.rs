//! `mlx_lm/models/olmo_hybrid.py`: 3-D conv1d kernels (`q/k/v_conv1d`) moved to `[C, K, 1]`.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "olmo_hybrid",
    category: Category::Reshape,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // OlmoHybridModel
        // DecoderLayer
        "linear_attn", "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "post_feedforward_layernorm",
        // GatedDeltaNet
        "q_proj", "k_proj", "v_proj", "a_proj", "b_proj", "g_proj", "o_proj", "q_conv1d",
        "k_conv1d", "v_conv1d", "A_log", "dt_bias", "o_norm",
        "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
