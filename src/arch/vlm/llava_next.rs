//! `mlx_vlm/models/llava_next`: LLaVA-NeXT (llava-v1.6) — LLaVA-1.5's CLIP tower and two-layer
//! `multi_modal_projector`, plus `image_newline`, the learned vector appended after each row of
//! the any-resolution image features.
//!
//! Layouts mapped: classic (`language_model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`, `image_newline`), transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`, `model.image_newline`,
//! `lm_head`), and what transformers 5 saves (`vision_tower.*` without the `vision_model.`
//! level); mlx-vlm maps only the first.

use super::{CLIP_TOWER_AND_TEXT, LLAVA_KEYS};
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llava_next",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head (llava-v1.6 checkpoints carry one).
    tied: Tied::Never,
    sanitize: &[
        Rule::RenamePrefix { from: "model.image_newline", to: "image_newline" },
        LLAVA_KEYS,
        CLIP_TOWER_AND_TEXT,
    ],
    order: &[
        "vision_tower", "language_model", "image_newline", "multi_modal_projector", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // Llama
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", // VisionModel
        "embeddings", "pre_layrnorm", "encoder", "post_layernorm", // ClipVisionModel
        "class_embedding", "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "linear_1", "linear_2", // LlavaMultiModalProjector
    ],
    towers: &[
        Pat::Prefix("vision_tower."),
        Pat::Prefix("multi_modal_projector."),
        Pat::Exact("image_newline"),
    ],
    ..Arch::BASE
};
