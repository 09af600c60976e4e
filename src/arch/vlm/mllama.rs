//! `mlx_vlm/models/mllama`: Llama 3.2 Vision (meta-llama/Llama-3.2-11B-Vision[-Instruct]) — a
//! tiled ViT (`vision_model`: Conv2d patch embedding, gated tile and position embeddings, a
//! local and a gated global encoder), a Linear `multi_modal_projector`, and a Llama text model
//! in which every `cross_attention_layers` layer attends to the image (`cross_attn`, with
//! q/k norms and tanh gates).
//!
//! Layouts mapped: classic (`language_model.model.*`, `language_model.lm_head`,
//! `vision_model.*`, `multi_modal_projector.*`) and transformers >= 4.52
//! (`model.language_model.*`, `model.vision_model.*`, `model.multi_modal_projector.*`,
//! `lm_head`); mlx-vlm maps only the first.
//!
//! The cross-attention layers are language-model layers and are quantized like the rest of it,
//! as mlx-vlm does; their gates are vectors and stay float.

use super::CLIP_TOWER_AND_TEXT;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mllama",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        // transformers >= 4.52 layout
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.vision_model.", to: "vision_tower." },
        Rule::RenamePrefix { from: "model.multi_modal_projector.", to: "multi_modal_projector." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        // Model.sanitize
        Rule::RenamePrefix { from: "vision_model.", to: "vision_tower." },
        CLIP_TOWER_AND_TEXT,
    ],
    order: &[
        "vision_tower", "language_model", "multi_modal_projector", // Model
        // VisionModel
        "patch_embedding", "class_embedding", "gated_positional_embedding",
        "pre_tile_positional_embedding", "post_tile_positional_embedding", "layernorm_pre",
        "layernorm_post", "transformer", "global_transformer",
        // MllamaPrecomputedPositionEmbedding
        "gated_positional_embedding/gate", "gated_positional_embedding/embedding",
        "gated_positional_embedding/tile_embedding",
        "embedding", "gate", // MllamaPrecomputedAspectRatioEmbedding
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // MllamaTextModel
        // MllamaVisionEncoderLayer, MllamaSelfAttentionDecoderLayer,
        // MllamaCrossAttentionDecoderLayer
        "self_attn", "cross_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "gate_attn", "gate_ffn", "cross_attn_attn_gate", "cross_attn_mlp_gate",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // attentions
        "fc1", "fc2", // MllamaVisionMLP
        "gate_proj", "up_proj", "down_proj", // MllamaTextMLP
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Exact("multi_modal_projector")],
    ..Arch::BASE
};
