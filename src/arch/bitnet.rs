//! `mlx_lm/models/bitnet.py` (BitNet b1.58: attention and MLP projections are `BitLinear`,
//! ternary weights packed 4 per byte along the output axis).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "bitnet",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LlamaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "attn_sub_norm", // Attention
        "gate_proj", "down_proj", "up_proj", "ffn_sub_norm", // MLP
        "weight", "weight_scale", "bias", // BitLinear
    ],
    // `BitLinear` has no `to_quantized`.
    not_quantizable: &[Pat::Contains("self_attn."), Pat::Contains("mlp.")],
    ..Arch::BASE
};
