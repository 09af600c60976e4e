//! `mlx_vlm/models/qwen3_vl`: Qwen3-VL (dense) with its vision tower (Conv3d patch embedding,
//! learned position embedding, ViT blocks, merger and DeepStack mergers). Qwen3-VL only exists
//! in the transformers >= 4.52 layout (`model.language_model.*`, `model.visual.*`, `lm_head`),
//! which mlx-vlm maps.

use super::QWEN_VL_TOWER;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_vl",
    category: Category::Reshape,
    // mlx-vlm's TextConfig (from text_config) defaults to False.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.visual.", to: "vision_tower." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        // VisionModel.sanitize
        QWEN_VL_TOWER,
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "vision_tower", "language_model", // Model
        "patch_embed", "pos_embed", "blocks", "merger", "deepstack_merger_list", // VisionModel
        "proj", // PatchEmbed
        "norm1", "norm2", "attn", "mlp", // VisionBlock
        "qkv", // Attention (then proj)
        "norm", "linear_fc1", "linear_fc2", // VisionMLP, PatchMerger
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", // Qwen3VLModel (then norm)
        "self_attn", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    towers: &[Pat::Prefix("vision_tower.")],
    ..Arch::BASE
};
