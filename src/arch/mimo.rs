//! `mlx_lm/models/mimo.py`: drops the rotary buffers and the multi-token-prediction layers.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mimo",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq")),
        Rule::Drop(Pat::Prefix("model.mtp_layers.")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MiMoModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
