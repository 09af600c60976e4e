//! `mlx_lm/models/exaone.py` (EXAONE 3.x). No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "exaone",
    category: Category::NoOp,
    tied: Tied::Config { default: true },
    order: &[
        "transformer", "lm_head", // Model
        "wte", "h", "ln_f", // ExaoneModel
        "ln_1", "attn", "ln_2", "mlp", // TransformerBlock
        "attention", // Attention
        "q_proj", "k_proj", "v_proj", "out_proj", // AttentionModule
        "c_fc_0", "c_fc_1", "c_proj", // MLP
    ],
    ..Arch::BASE
};
