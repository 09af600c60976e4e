//! `mlx_vlm/models/llava`: LLaVA(-1.5) with its CLIP (or SigLIP) tower and the two-layer
//! `multi_modal_projector`.
//!
//! Layouts mapped: classic (`language_model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`), transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`, `lm_head`), and what
//! transformers 5 saves (`vision_tower.*` without the `vision_model.` level); mlx-vlm maps only
//! the first.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llava",
    category: Category::Reshape,
    // mlx-vlm's TextConfig default.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.vision_tower.", to: "vision_tower." },
        Rule::RenamePrefix { from: "model.multi_modal_projector.", to: "multi_modal_projector." },
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
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "vision_tower", "language_model", "multi_modal_projector", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // LlamaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", // VisionModel
        "embeddings", "pre_layrnorm", "encoder", "post_layernorm", // ClipVisionModel
        "class_embedding", "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "linear_1", "linear_2", // LlavaMultiModalProjector
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
