//! `mlx_lm/models/talkie.py`. The output projection is a bare `lm_head` parameter (no
//! `.weight`, not a Linear, so never quantized) scaled by `lm_head_gain`.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "talkie",
    category: Category::FilterRename,
    tied: Tied::Never,
    sanitize: &[
        // `"rotary" not in k and not k.endswith(("cos", "sin"))`
        Rule::Drop(Pat::Contains("rotary")),
        Rule::Drop(Pat::Suffix("cos")),
        Rule::Drop(Pat::Suffix("sin")),
    ],
    order: &[
        "model", "lm_head", "lm_head_gain", // Model
        "embed", "blocks", // TalkieModel
        "attn", "attn_gain", "mlp", "mlp_gain", "embed_skip", // TransformerBlock
        "attn_query", "attn_key", "attn_value", "attn_resid", "head_gain", // Attention
        "mlp_gate", "mlp_linear", "mlp_resid", // MLP
        "head_g", "a_g", "w_g", // HeadGain, ActGain, WeightGain
    ],
    ..Arch::BASE
};
