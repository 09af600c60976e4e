//! `mlx_lm/models/apertus.py`: Apertus. The XieLU activation's `alpha_p`/`alpha_n`, stored with
//! a size-1 axis, are squeezed to scalars; a tied head is dropped.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "apertus",
    category: Category::Reshape,
    // Required in `ModelArgs`; transformers' `ApertusConfig` defaults it to false.
    tied: Tied::Config { default: false },
    sanitize: &[Rule::Squeeze(Pat::Suffix("alpha_p")), Rule::Squeeze(Pat::Suffix("alpha_n"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // ApertusModel
        "self_attn", "mlp", "attention_layernorm", "feedforward_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "up_proj", "down_proj", "act_fn", // MLP
        "alpha_p", "alpha_n", "beta", "eps", // XieLU
    ],
    ..Arch::BASE
};
