//! `mlx_vlm/models/kimi_vl`: Kimi-VL (moonshotai/Kimi-VL-A3B-Instruct, -Thinking; remote code
//! `KimiVLForConditionalGeneration`). The MoonViT tower `vision_tower.*` (Conv2d
//! `patch_embed.proj`, a learned 2-D `patch_embed.pos_emb`, `encoder.blocks.N.{norm0, norm1,
//! wqkv, wo, mlp.fc0, mlp.fc1}`, `encoder.final_layernorm`), the `multi_modal_projector` MLP over
//! 2x2-merged patches, and a DeepSeek-V3 MoE text model `language_model.*`.
//!
//! mlx-vlm's sanitize, as rules: `Model.sanitize` removes `encoder.` from tower keys;
//! `VisionModel.sanitize` drops `position_ids`, moves the patch conv to channels-last (by rule
//! here, where mlx-vlm guesses from the shape) and puts `wqkv`/`wo` under `attn`;
//! `LanguageModel.sanitize` drops rotary tables and stacks per-expert weights into
//! `mlp.switch_mlp.*` as mlx-lm's deepseek_v3 does. Unlike mlx-lm's DeepSeek-V3, mlx-vlm's
//! attention keeps `kv_b_proj` as one Linear: nothing is absorbed.
//!
//! `Model` has no `cast_predicate` (only its `LanguageModel` does, which convert never asks), so
//! the router's `e_score_correction_bias` is cast with the rest, unlike mlx-lm's deepseek_v3.
//! The tower and projector stay float; mlx-vlm skips both by name.

use super::conv2d_to_mlx;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "kimi_vl",
    category: Category::Moe,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize
        Rule::RenamePrefix { from: "vision_tower.encoder.", to: "vision_tower." },
        // VisionModel.sanitize
        Rule::Drop(Pat::Contains("position_ids")),
        conv2d_to_mlx("vision_tower.patch_embed.proj.weight"),
        Rule::ReplaceIfAbsent { from: ".wqkv.", to: ".attn.wqkv." },
        Rule::ReplaceIfAbsent { from: ".wo.", to: ".attn.wo." },
        // LanguageModel.sanitize
        Rule::Drop(Pat::Contains("rotary_emb")),
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "vision_tower", "language_model", "multi_modal_projector", // Model
        "patch_embed", "blocks", "final_layernorm", // VisionModel
        "proj", "pos_emb", // PatchEmbed
        // Qwen2VLVisionBlock (norm0, norm1, attn, mlp), DeepseekV3DecoderLayer (self_attn, mlp, ...)
        "norm0", "norm1", "attn", "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "wqkv", "wo", // vision Attention
        "fc0", "fc1", // vision MLP
        "pre_norm", "linear_1", "linear_2", // KimiVLMultiModalProjector
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // DeepseekV3Model
        // DeepseekV3Attention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "kv_b_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", // DeepseekMLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // DeepseekV3MoE
    ],
    // MoEGate holds a bare weight, not a Linear.
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
