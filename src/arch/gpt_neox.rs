//! `mlx_lm/models/gpt_neox.py`: drops the attention buffers, puts everything under `model.`
//! and renames `gpt_neox.layers` to `h`. The output head is `model.embed_out` (never tied).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gpt_neox",
    category: Category::FilterRename,
    tied: Tied::Always, // no `lm_head` module; `embed_out` is the head
    sanitize: &[
        Rule::Drop(Pat::Suffix(".attention.bias")),
        Rule::Drop(Pat::Suffix(".attention.masked_bias")),
        Rule::Drop(Pat::Suffix(".attention.rotary_emb.inv_freq")),
        Rule::AddPrefix("model."),
        Rule::Replace { from: ".gpt_neox.layers.", to: ".h." },
        Rule::Replace { from: ".gpt_neox.", to: "." },
    ],
    order: &[
        "model", // Model
        "embed_in", "embed_out", "h", "final_layer_norm", // GPTNeoXModel
        "attention", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "query_key_value", "dense", // Attention
        "dense_h_to_4h", "dense_4h_to_h", // MLP
    ],
    ..Arch::BASE
};
