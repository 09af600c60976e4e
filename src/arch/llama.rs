//! `mlx_lm/models/llama.py` (also `mistral`, `iquestcoder`, `xverse` via MODEL_REMAPPING).

use super::{Arch, Category, Pat, Rule, Tied};

pub const ARCH: Arch = Arch {
    name: "llama",
    aliases: &["mistral", "iquestcoder", "xverse"],
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq")),
        // `if tie_word_embeddings: weights.pop("lm_head.weight")` is implied by `tied`.
    ],
    order: &[
        "model",
        "lm_head", // Model
        "embed_tokens",
        "layers",
        "norm", // LlamaModel
        "self_attn",
        "mlp",
        "input_layernorm",
        "post_attention_layernorm", // TransformerBlock
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj", // Attention
        "gate_proj",
        "down_proj",
        "up_proj", // MLP
    ],
    ..Arch::BASE
};
