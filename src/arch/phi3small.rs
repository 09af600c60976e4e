//! `mlx_lm/models/phi3small.py`. No `lm_head` (logits use the embedding).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phi3small",
    category: Category::FilterRename,
    tied: Tied::Always,
    sanitize: &[Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"))],
    order: &[
        "model", // Model
        "embed_tokens", "layers", "final_layernorm", // Phi3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "query_key_value", "dense", // Attention
        "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
