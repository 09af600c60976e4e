//! `mlx_vlm/models/llava_next`: LLaVA-NeXT (llava-v1.6) — LLaVA-1.5's CLIP tower and two-layer
//! `multi_modal_projector`, plus `image_newline`, the learned vector appended after each row of
//! the any-resolution image features.
//!
//! Layouts mapped: classic (`language_model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`, `image_newline`), transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`, `model.image_newline`,
//! `lm_head`), and what transformers 5 saves (`vision_tower.*` without the `vision_model.`
//! level); mlx-vlm maps only the first.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llava_next",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head (llava-v1.6 checkpoints carry one).
    tied: Tied::Never,
    sanitize: &[
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.vision_tower.", to: "vision_tower." },
        Rule::RenamePrefix { from: "model.multi_modal_projector.", to: "multi_modal_projector." },
        Rule::RenamePrefix { from: "model.image_newline", to: "image_newline" },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        // transformers 5's tower without `vision_model.`
        Rule::RenamePrefix { from: "vision_tower.vision_model.", to: "vision_tower." },
        Rule::RenamePrefix { from: "vision_tower.", to: "vision_tower.vision_model." },
        // VisionModel.sanitize
        Rule::Drop(Pat::Contains("position_ids")),
        // Conv2d [O, I, kH, kW] -> [O, kH, kW, I]
        Rule::MoveAxis {
            pat: Pat::Suffix("patch_embedding.weight"),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
        // LanguageModel.sanitize
        Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq")),
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
