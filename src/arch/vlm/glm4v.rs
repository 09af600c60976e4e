//! `mlx_vlm/models/glm4v`: GLM-4.1V (zai-org/GLM-4.1V-9B-Thinking) — a ViT with a Conv3d patch
//! embedding, a learned position table, a Conv2d `downsample` merging 2x2 patches and a SwiGLU
//! patch `merger` into the text width (all under `vision_tower`), and a GLM-4 text model.
//!
//! GLM-4.1V came with transformers 4.53, so its checkpoints are in the `model.language_model.*`
//! + `model.visual.*` + `lm_head` layout, which mlx-vlm maps too.
//!
//! Both convs move by rule. mlx-vlm's glm4v `check_array_shape` guesses instead: it leaves a
//! 5-D kernel alone whenever its last axis is 3 (a 3-pixel-wide patch) and a 4-D one whenever
//! `O >= kH == kW`, which a PyTorch `downsample` kernel `[O, I, 2, 2]` with `I == 2` satisfies.

use super::QWEN_VL_TOWER;
use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "glm4v",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize
        Rule::RenamePrefix { from: "model.visual.", to: "vision_tower." },
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        // VisionModel.sanitize
        QWEN_VL_TOWER,
        // Conv2d [O, I, kH, kW] -> [O, kH, kW, I]
        Rule::MoveAxis {
            pat: Pat::Suffix("downsample.weight"),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
    ],
    order: &[
        "vision_tower", "language_model", // Model
        // VisionModel
        "embeddings", "patch_embed", "blocks", "merger", "post_conv_layernorm", "downsample",
        "post_layernorm",
        "position_embedding", // Glm4vVisionEmbeddings
        "norm1", "norm2", "attn", // Glm4vVisionBlock (then mlp)
        "qkv", // Glm4vVisionAttention (then proj)
        "proj", "post_projection_norm", "gate_proj", "up_proj", // Glm4vVisionPatchMerger, MLP
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // GLM4VModel
        // Glm4vDecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "post_self_attn_layernorm", "post_mlp_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Glm4vAttention
        "gate_up_proj", "down_proj", // Glm4vMLP
    ],
    towers: &[Pat::Prefix("vision_tower.")],
    ..Arch::BASE
};
