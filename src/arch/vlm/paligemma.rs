//! `mlx_vlm/models/paligemma`: PaliGemma with its SigLIP tower and one-layer
//! `multi_modal_projector.linear`. The Gemma language model has no head (logits use the
//! embedding).
//!
//! Layouts mapped: classic (`language_model.model.*`, `vision_tower.vision_model.*`,
//! `multi_modal_projector.*`), transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*`), and what
//! transformers 5 saves (`vision_tower.*` without the `vision_model.` level); mlx-vlm maps only
//! the first.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "paligemma",
    category: Category::Reshape,
    tied: Tied::Always,
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
        "model", // LanguageModel
        "embed_tokens", "layers", "norm", // GemmaModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", // VisionModel
        "embeddings", "encoder", "post_layernorm", // SigLipVisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", "out_proj", "fc1", "fc2", // EncoderLayer, Attention, MLP
        "linear", // MultiModalProjector
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
