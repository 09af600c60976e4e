//! `mlx_vlm/models/idefics3` (also `smolvlm`, which mlx-vlm builds on it): Idefics3/SmolVLM with
//! a SigLIP `vision_model` and a pixel-shuffle `connector.modality_projection`.
//!
//! Keys: `model.vision_model.*` → `vision_model.*`, `model.connector.*` → `connector.*`,
//! `model.text_model.*` → `language_model.*`, `lm_head.*` → `language_model.lm_head.*`.
//!
//! The connector is the projector into the language model. mlx-vlm's substring skip list does
//! not name it, so `mlx_vlm.convert -q` quantizes it; hf2mlx keeps it in float like every other
//! projector (quantizing the one layer between the towers and the text model costs image
//! understanding for a negligible size gain).

use super::{CLIP_TOWER_AND_TEXT, IDEFICS_KEYS};
use crate::arch::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "idefics3",
    aliases: &["smolvlm"],
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        IDEFICS_KEYS,
        CLIP_TOWER_AND_TEXT,
    ],
    order: &[
        "vision_model", "language_model", "connector", // Model
        "embeddings", "encoder", "post_layernorm", // VisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "embed_tokens", "layers", "norm", "lm_head", // LanguageModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "modality_projection", "proj", // Idefics3Connector, MLP
    ],
    towers: &[Pat::Prefix("vision_model."), Pat::Prefix("connector.")],
    ..Arch::BASE
};
