//! `mlx_lm/models/gpt_bigcode.py` (StarCoder 1). No `sanitize`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gpt_bigcode",
    category: Category::NoOp,
    tied: Tied::Config { default: true },
    order: &[
        "transformer", "lm_head", // Model
        "wte", "wpe", "h", "ln_f", // GPTBigCodeModel
        "attn", "mlp", "ln_1", "ln_2", // TransformerBlock
        // Attention: c_attn, c_proj; MLP: c_fc, c_proj
        "c_attn", "c_fc", "c_proj",
    ],
    ..Arch::BASE
};
