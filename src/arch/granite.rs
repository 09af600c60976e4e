//! `mlx_lm/models/granite.py`. Its `quant_predicate` keeps `o_proj`, `down_proj` and `lm_head`
//! at affine 8 bits / group 64 (their small block absmax underflows low-bit fp scales).

use super::{Arch, Category, LayerQuant, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "granite",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // GraniteModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    quant_predicate: &[
        (Pat::Suffix("self_attn.o_proj"), LayerQuant::ROUTER_8BIT),
        (Pat::Suffix("mlp.down_proj"), LayerQuant::ROUTER_8BIT),
        (Pat::Exact("lm_head"), LayerQuant::ROUTER_8BIT),
    ],
    ..Arch::BASE
};
