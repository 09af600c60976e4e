//! `mlx_lm/models/rwkv7.py`: the per-head vectors `k_k`, `k_a` and the `g_norm` GroupNorm's
//! weight and bias are reshaped from `[hidden]` to `[hidden / head_dim, head_dim]`; LoRA output
//! layers (`lora.2`) and the embedding are quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

const EIGHT_BITS: LayerQuant = LayerQuant::Dict {
    group_size: None,
    bits: Some(8),
    mode: None,
};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "rwkv7",
    category: Category::Reshape,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::SplitHeads { pat: Pat::Contains("k_k"), key: "head_dim" },
        Rule::SplitHeads { pat: Pat::Contains("k_a"), key: "head_dim" },
        Rule::SplitHeads { pat: Pat::Contains("g_norm"), key: "head_dim" },
    ],
    order: &[
        "model", "lm_head", // Model
        "embeddings", "layers", "norm", // Rwkv7Model
        "pre_norm", "attn", "ffn", "attn_norm", "ffn_norm", // Rwkv7Layer
        // TimeMixing
        "x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "k_k", "k_a", "r_k", "r_proj", "k_proj",
        "v_proj", "o_proj", "g_norm", "w_lora", "v_lora", "a_lora", "g_lora",
        "lora", // LoRA
        "key", "value", "ffn/x_k", // ChannelMixing
    ],
    not_quantizable: &[Pat::Suffix("g_norm.weight")],
    quant_predicate: &[(Pat::Contains("lora.2"), EIGHT_BITS), (Pat::Contains("embeddings"), EIGHT_BITS)],
    ..Arch::BASE
};
