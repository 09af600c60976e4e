//! `mlx_vlm/models/idefics2`: Idefics2 (HuggingFaceM4/idefics2-8b) with a SigLIP
//! `vision_model` and a `connector`: a SwiGLU `modality_projection` into the text width, then a
//! Perceiver resampler (learned `latents` cross-attending to the image features) that pools
//! them to a fixed number of image tokens.
//!
//! Keys: `model.vision_model.*` → `vision_model.*`, `model.connector.*` → `connector.*`,
//! `model.text_model.*` → `language_model.*`, `lm_head.*` → `language_model.lm_head.*`.
//! transformers >= 4.52 saves the same names.
//!
//! The connector is the projector into the language model. mlx-vlm's substring skip list does
//! not name it, so `mlx_vlm.convert -q` quantizes its Linears (those whose input width the
//! group size divides); hf2mlx keeps the whole connector in float like every other projector:
//! the resampler's attention decides which image features reach the text model at all, and its
//! weights are a negligible part of the model.

use super::{IDEFICS_KEYS, PATCH_EMBEDDING_TO_MLX, ROTARY_TABLES};
use crate::arch::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "idefics2",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        IDEFICS_KEYS,
        // VisionModel.sanitize
        PATCH_EMBEDDING_TO_MLX,
        ROTARY_TABLES,
    ],
    order: &[
        "vision_model", "language_model", "connector", // Model
        "embeddings", "encoder", "post_layernorm", // VisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "embed_tokens", "layers", "norm", "lm_head", // LanguageModel
        // Idefics2PerceiverLayer's norms, then TransformerBlock (the perceiver layer's
        // post_attention_layernorm comes before its mlp; one flat ranking cannot say both)
        "input_latents_norm", "input_context_norm",
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "modality_projection", "perceiver_resampler", // Idefics2Connector
        "latents", // Idefics2PerceiverResampler (then layers, norm)
    ],
    towers: &[Pat::Prefix("vision_model."), Pat::Prefix("connector.")],
    ..Arch::BASE
};
