//! `mlx_lm/models/nanochat.py`. No `sanitize`; the model always has its own `lm_head`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "nanochat",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "transformer", "lm_head", // Model
        "wte", "h", // NanoChatModel
        "attn", "mlp", // TransformerBlock
        // Attention: c_q, c_k, c_v, c_proj; MLP: c_fc, c_proj
        "c_q", "c_k", "c_v", "c_fc", "c_proj",
    ],
    ..Arch::BASE
};
