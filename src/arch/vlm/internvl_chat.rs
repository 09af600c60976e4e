//! `mlx_vlm/models/internvl_chat`: InternVL 2.5/3 as OpenGVLab ships it (remote code
//! `InternVLChatModel`): an InternViT `vision_model` (Conv2d patch embedding, class/position
//! embeddings, layer scales), the `mlp1` projector (LayerNorm, Linear, GELU, Linear over
//! pixel-shuffled features) and a Qwen2 `language_model`, whose config is `llm_config`.
//!
//! The checkpoint's names are already mlx-vlm's; only the patch embedding moves to MLX layout.
//! `mlp1` is the projector into the language model, but mlx-vlm's substring skip list does not
//! name it, so `mlx_vlm.convert -q` quantizes it; hf2mlx keeps it in float like every other
//! projector.

use super::CLIP_TOWER;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "internvl_chat",
    category: Category::Reshape,
    // The text model is built from llm_config (mlx-vlm's TextConfig default: untied).
    tied: Tied::SubConfig { key: "llm_config", default: false },
    sanitize: &[
        CLIP_TOWER,
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "vision_model", "language_model", "mlp1", // Model
        "embeddings", "encoder", // VisionModel
        "class_embedding", "patch_embedding", "position_embedding", // VisionEmbeddings
        "attn", "mlp", "norm1", "norm2", "ls1", "ls2", // EncoderLayer
        "qkv", "proj", "fc1", "fc2", // Attention, MLP
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // Qwen2Model
        "self_attn", "input_layernorm", "post_attention_layernorm", // Qwen2DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    towers: &[Pat::Prefix("vision_model."), Pat::Prefix("mlp1.")],
    ..Arch::BASE
};
