//! `mlx_vlm/models/gemma3`: Gemma 3 with its SigLIP tower and projector
//! (`multi_modal_projector.mm_input_projection_weight`, a raw matrix used with einsum, and
//! `mm_soft_emb_norm`).
//!
//! Layouts mapped: classic (`language_model.model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`), transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`, `lm_head`), and what
//! transformers 5 saves (`vision_tower.*` without the `vision_model.` level); mlx-vlm maps only
//! the first.
//!
//! Like mlx-vlm, the output has `language_model.lm_head.weight` as a copy of the embedding: its
//! Gemma 3 language model always has a head, and its `sanitize` fills it from `embed_tokens`.

use super::{LLAVA_KEYS, PATCH_EMBEDDING_TO_MLX, ROTARY_TABLES};
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma3",
    category: Category::Reshape,
    tied: Tied::Never,
    sanitize: &[
        LLAVA_KEYS,
        // LanguageModel.sanitize
        Rule::CopyAs {
            from: "language_model.model.embed_tokens.weight",
            to: "language_model.lm_head.weight",
        },
        ROTARY_TABLES,
        // VisionModel.sanitize
        PATCH_EMBEDDING_TO_MLX,
    ],
    order: &[
        "language_model", "vision_tower", "multi_modal_projector", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // Gemma3Model
        // TransformerBlock
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", // VisionModel
        "embeddings", "encoder", "post_layernorm", // SigLipVisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "mm_input_projection_weight", "mm_soft_emb_norm", // Gemma3MultiModalProjector
    ],
    // The projector matrix is a raw parameter, not a Linear.
    not_quantizable: &[Pat::Suffix("mm_input_projection_weight")],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
