//! `mlx_vlm/models/qwen2_vl`: Qwen2-VL with its vision tower (a Conv3d patch embedding, ViT
//! blocks, a patch merger MLP projecting into the language model).
//!
//! mlx-vlm's `Model.sanitize` only maps the classic layout (`model.*`, `visual.*`, `lm_head`):
//! it turns the transformers >= 4.52 layout's `model.visual.*` into
//! `language_model.model.vision_tower.*` and leaves `model.language_model.*` unmapped, so
//! mlx-vlm cannot convert such checkpoints. These rules map both layouts to the same names.

use super::QWEN_VL_TOWER;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

/// Shared with Qwen2.5-VL, whose key layout is the same.
pub const SANITIZE: &[Rule] = &[
    // transformers >= 4.52 layout first, so the classic rules below never see its keys.
    Rule::RenamePrefix {
        from: "model.visual.",
        to: "vision_tower.",
    },
    Rule::RenamePrefix {
        from: "model.language_model.",
        to: "language_model.model.",
    },
    // classic layout
    Rule::RenamePrefix {
        from: "visual.",
        to: "vision_tower.",
    },
    Rule::RenamePrefix {
        from: "model.",
        to: "language_model.model.",
    },
    Rule::RenamePrefix {
        from: "lm_head.",
        to: "language_model.lm_head.",
    },
    // VisionModel.sanitize
    QWEN_VL_TOWER,
    Rule::TieHead("language_model.lm_head"),
];

/// The towers: everything outside the language model (`vision_tower` holds the merger, the
/// projector into the text model, too).
pub const TOWERS: &[Pat] = &[Pat::Prefix("vision_tower.")];

#[rustfmt::skip] // one line per module class
pub const ORDER: &[&str] = &[
    "vision_tower", "language_model", // Model
    "patch_embed", "blocks", "merger", // VisionModel
    "proj", // PatchEmbed
    "norm1", "norm2", "attn", "mlp", // Qwen2VLVisionBlock
    "qkv", // Attention (then proj)
    "fc1", "fc2", // VisionMlp
    "ln_q", // PatchMerger (then mlp)
    "model", "lm_head", // LanguageModel
    "embed_tokens", "layers", "norm", // Qwen2Model
    "self_attn", "input_layernorm", "post_attention_layernorm", // Qwen2VLDecoderLayer
    "q_proj", "k_proj", "v_proj", "o_proj", // Attention
    "gate_proj", "down_proj", "up_proj", // MLP
];

pub const ARCH: Arch = Arch {
    name: "qwen2_vl",
    category: Category::Reshape,
    // mlx-vlm builds the text config from the top level; its default is False.
    tied: Tied::TextConfig { default: false },
    sanitize: SANITIZE,
    order: ORDER,
    towers: TOWERS,
    ..Arch::BASE
};
