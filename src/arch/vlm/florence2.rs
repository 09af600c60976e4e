//! `mlx_vlm/models/florence2`: Florence-2 (microsoft/Florence-2-base, -large, and their `-ft`
//! fine-tunes; remote code) — a DaViT `vision_tower` (per stage a Conv2d patch embedding
//! `convs.i.proj`, then spatial and channel blocks with depthwise Conv2d `convN.fn.dw`), the
//! image projector parameters (`image_projection`, `image_proj_norm`, `image_pos_embed`,
//! `visual_temporal_embed`) and a BART encoder-decoder `language_model`.
//!
//! Keys keep the remote code's names. `Model.sanitize` drops `final_logits_bias` and writes the
//! head tied to `model.shared` when the checkpoint has none (the Hub checkpoints store the
//! shared embedding once). Conv kernels move by rule: `convs.i.proj` `[O, I, k, k]` and the
//! depthwise `[C, 1, 3, 3]` → MLX's `[O, k, k, I]` / `[C, 3, 3, 1]` (mlx-vlm guesses from the
//! shape).
//!
//! `image_pos_embed`'s row and column tables are Embeddings, so `mlx_vlm.convert -q` quantizes
//! them when the group size divides their width; hf2mlx keeps the whole image pathway in float
//! like every other projector.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "florence2",
    category: Category::Reshape,
    // The head is always there after sanitize (tied heads are written as a copy).
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize
        Rule::Drop(Pat::Contains("final_logits_bias")),
        Rule::CopyIfAbsent {
            from: "language_model.model.shared.weight",
            to: "language_model.lm_head.weight",
        },
        // VisionModel.sanitize
        Rule::Drop(Pat::Contains("position_ids")),
        // DaViT patch embeddings: Conv2d [O, I, k, k] -> [O, k, k, I]
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Contains("convs"), Pat::Contains("proj.weight")]),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
        // depthwise Conv2d [C, 1, 3, 3] -> [C, 3, 3, 1]
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Contains("blocks"), Pat::Contains("dw.weight")]),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
    ],
    order: &[
        "vision_tower", "language_model", "image_projection", "image_proj_norm", // Model
        "image_pos_embed", "visual_temporal_embed",
        "convs", "blocks", // VisionModel
        "model", "lm_head", // LanguageModel
        "shared", "encoder", "decoder", // Florence2LanguageModel
        "embed_positions", "layers", "layernorm_embedding", // Encoder, Decoder
        "spatial_block", "channel_block", // Block
        "conv1", "window_attn", "channel_attn", "conv2", "ffn", // SpatialBlock, ChannelBlock
        // EncoderLayer, DecoderLayer
        "self_attn", "self_attn_layer_norm", "encoder_attn", "encoder_attn_layer_norm",
        "k_proj", "v_proj", "q_proj", "out_proj", // Florence2Attention
        // ConvEmbed (proj, norm), attentions (qkv, proj), PreNorm (norm, fn), DepthWiseConv2d,
        // Mlp, MlpFC and the layers' fc1, fc2, final_layer_norm
        "qkv", "proj", "norm", "fn", "dw", "net", "fc1", "fc2", "final_layer_norm",
        "row_embeddings", "column_embeddings", // LearnedPositionEmbedding2D
    ],
    towers: &[
        Pat::Prefix("vision_tower."),
        Pat::Exact("image_projection"),
        Pat::Prefix("image_proj_norm"),
        Pat::Prefix("image_pos_embed."),
        Pat::Prefix("visual_temporal_embed"),
    ],
    ..Arch::BASE
};
