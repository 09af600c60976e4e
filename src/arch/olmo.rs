//! `mlx_lm/models/olmo.py` (OLMo 1, `hf_olmo` layout). No `sanitize`. There is no `lm_head`:
//! an untied head is `model.transformer.ff_out` (present unless `weight_tying`).
//! Note: mlx-lm's module exits unless the `ai2-olmo` package is importable.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "olmo",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "transformer", // OlmoModel
        // Transformer: wte, blocks, ff_out, norm;
        // TransformerBlock: ff_proj, ff_out, att_norm, ff_norm, att_proj, attn_out
        "wte", "blocks", "ff_proj", "ff_out", "att_norm", "ff_norm", "att_proj", "attn_out", "norm",
    ],
    ..Arch::BASE
};
