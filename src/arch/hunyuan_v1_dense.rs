//! `mlx_lm/models/hunyuan_v1_dense.py`.

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "hunyuan_v1_dense",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // HunyuanV1DenseModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "query_layernorm", "key_layernorm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
