//! `mlx_lm/models/qwen.py` (Qwen 1, `transformer.h` layout). No `sanitize`; the model always has
//! its own `lm_head`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "transformer", "lm_head", // Model
        "wte", "h", "ln_f", // QwenModel
        "ln_1", "attn", "ln_2", "mlp", // TransformerBlock
        // Attention: c_attn, c_proj; MLP: w1, w2, c_proj
        "c_attn", "w1", "w2", "c_proj",
    ],
    ..Arch::BASE
};
