//! `mlx_vlm/models/molmo`: Molmo (allenai/Molmo-7B-D-0924; remote code `MolmoForCausalLM`). An
//! OLMo-style text model `model.transformer.*` (`wte` split into `embedding` and the added
//! tokens' `new_embedding`, blocks with a fused `att_proj`, `attn_out`, SwiGLU
//! `ff_proj`/`ff_out`, and the head `ff_out`) and `model.vision_backbone.*`: a CLIP ViT
//! (`image_vit`, whose patch embedding is a Linear over flattened patches, so no conv), the
//! attention pooling `image_pooling_2d`, the SwiGLU `image_projector` and `pad_embed`.
//!
//! mlx-vlm's `Model.sanitize` renames the two prefixes; `LanguageModel.sanitize` drops rotary
//! tables (the Hub checkpoints have none). Everything under `vision_tower` (tower, pooling,
//! projector) stays float; mlx-vlm skips it too, by name. `wte`'s two tables are plain arrays
//! of a custom `Embedding` module, which `nn.quantize` does not touch.
//!
//! The config has neither `text_config` nor `vision_config`: mlx-vlm 0.7.10 builds Molmo-7B-D's
//! sizes from its dataclass defaults whatever the checkpoint, so only 7B-D loads in mlx-vlm.

use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "molmo",
    category: Category::Reshape,
    // mlx-vlm's TextConfig reads no `weight_tying` from config.json (there is no text_config),
    // so its default (false) holds: the head `ff_out` is always its own.
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize
        Rule::RenamePrefix { from: "model.transformer.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.vision_backbone.", to: "vision_tower." },
        // LanguageModel.sanitize
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
    ],
    order: &[
        "language_model", "vision_tower", // Model
        "model", // LanguageModel
        "wte", "blocks", "ln_f", "model/ff_out", // Molmo
        "embedding", "new_embedding", // Embedding
        "attn_out", "ff_out", "attn_norm", "ff_norm", "ff_proj", "att_proj", // MolmoBlock
        "image_vit", "image_pooling_2d", "image_projector", "pad_embed", // VisionModel
        "class_embedding", "positional_embedding", "patch_embedding", "pre_ln", "transformer", // VisionTransformer
        "resblocks", // ResidualAttentionBlocks
        "attention", "feed_forward", "attention_norm", "ffn_norm", // ResidualAttentionBlock
        "wq", "wk", "wv", "wo", // MultiHeadDotProductAttention
        "w1", "w2", "w3", // ViTMLP, MLP
    ],
    towers: &[Pat::Prefix("vision_tower.")],
    ..Arch::BASE
};
