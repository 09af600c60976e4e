//! `mlx_vlm/models/aya_vision`: Aya Vision (CohereForAI/aya-vision-8b, -32b) — a SigLIP tower,
//! a pixel-shuffle SwiGLU `multi_modal_projector` (LayerNorm, `linear_1`, `linear_2`) and a
//! Cohere2 text model whose output head is its embedding.
//!
//! Layouts mapped: classic (`language_model.model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`) and transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`), which mlx-vlm maps
//! too, and what transformers 5 saves (`vision_tower.*` without the `vision_model.` level),
//! which it does not.

use super::{CLIP_TOWER, LLAVA_KEYS};
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "aya_vision",
    category: Category::Reshape,
    // Its LanguageModel has no lm_head: logits are `embed_tokens.as_linear`, whatever the
    // config says, so a stray head would not load.
    tied: Tied::Always,
    sanitize: &[
        // Model.sanitize
        LLAVA_KEYS,
        CLIP_TOWER,
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "vision_tower", "language_model", "multi_modal_projector", // Model
        "model", // LanguageModel
        "embed_tokens", "layers", "norm", // CohereModel
        "self_attn", "mlp", "input_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // SwiGLUMLP
        "vision_model", // VisionModel
        "embeddings", "encoder", "post_layernorm", // SigLipVisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "layernorm", "linear_1", "linear_2", // AyaVisionMultiModalProjector
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
