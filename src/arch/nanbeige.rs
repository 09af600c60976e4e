//! `mlx_lm/models/nanbeige.py`. `sanitize` only drops rotary buffers (it never drops a tied
//! `lm_head`).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "nanbeige",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // NanbeigeModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
