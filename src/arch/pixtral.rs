//! `mlx_lm/models/pixtral.py`: Pixtral converted text-only. `sanitize` only drops the top-level
//! `vision_tower` and `multi_modal_projector`; the Llama text model stays at `language_model.*`
//! and is always untied (`text_config["tie_word_embeddings"] = False`).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "pixtral",
    category: Category::FilterRename,
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Drop(Pat::Prefix("multi_modal_projector.")),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // llama.Model
        "embed_tokens", "layers", "norm", // LlamaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
