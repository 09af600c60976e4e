//! `mlx_lm/models/olmo2.py`. `sanitize` only drops rotary buffers (it never drops a tied
//! `lm_head`).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "olmo2",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LlamaModel
        "self_attn", "mlp", "post_attention_layernorm", "post_feedforward_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
