//! `mlx_lm/models/internlm3.py`.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "internlm3",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::Drop(Pat::Contains("attention.rope.inv_freq"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // InternLM3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
