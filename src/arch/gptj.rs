//! `mlx_lm/models/gptj.py`: drops the attention buffers and renames `transformer.` to `model.`.
//! The model always has its own `lm_head` (with bias).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gptj",
    category: Category::FilterRename,
    tied: Tied::Never,
    sanitize: &[
        // mlx-lm deletes exactly `transformer.h.{i}.attn.{masked_bias,bias}` for i < n_layer.
        Rule::Drop(Pat::Suffix(".attn.masked_bias")),
        Rule::Drop(Pat::Suffix(".attn.bias")),
        Rule::Replace { from: "transformer.", to: "model." },
    ],
    order: &[
        "model", "lm_head", // Model
        "wte", "h", "ln_f", // GPTJModel
        "ln_1", "attn", "mlp", // GPTJBlock
        "k_proj", "v_proj", "q_proj", "out_proj", // GPTJAttention
        "fc_in", "fc_out", // GPTJMLP
    ],
    ..Arch::BASE
};
