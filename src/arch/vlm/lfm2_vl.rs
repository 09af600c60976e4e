//! `mlx_vlm/models/lfm2_vl` (`lfm2_vl`, also `lfm2-vl`): LiquidAI's LFM2-VL, a SigLIP2 NaFlex
//! tower (a Linear patch embedding, so no conv there), a pixel-unshuffle + LayerNorm + two-layer
//! `multi_modal_projector`, and an LFM2 text model whose short-conv layers hold depthwise Conv1d
//! kernels `conv.conv.weight` `[C, 1, K]`, moved to MLX's `[C, K, 1]` by rule (mlx-vlm guesses
//! from `shape[-1] > shape[1]`).
//!
//! Layouts mapped: the Hub's (transformers 4.5x: `model.vision_tower.vision_model.*`), what
//! transformers 5 saves (`model.vision_tower.*`), both with `model.language_model.*`,
//! `model.multi_modal_projector.*` and, when untied, `lm_head`.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "lfm2_vl",
    aliases: &["lfm2-vl"],
    category: Category::Reshape,
    // Every LFM2-VL checkpoint ties its embeddings; mlx-vlm's TextConfig defaults to true.
    tied: Tied::TextConfigOnly { default: true },
    sanitize: &[
        Rule::RenamePrefix { from: "model.vision_tower.vision_model.", to: "vision_tower." },
        Rule::RenamePrefix { from: "model.vision_tower.", to: "vision_tower." },
        // Older remote-code names of the tower's parts.
        Rule::RenamePrefix { from: "vision_tower.vision_encoder.", to: "vision_tower.encoder." },
        Rule::RenamePrefix { from: "vision_tower.vision_embeddings.", to: "vision_tower.embeddings." },
        Rule::RenamePrefix { from: "vision_tower.vision_post_layernorm.", to: "vision_tower.post_layernorm." },
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.multi_modal_projector.", to: "multi_modal_projector." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        Rule::IfConfigOr {
            key: "projector_use_layernorm",
            absent: true,
            truthy: false,
            rules: &[Rule::Drop(Pat::Prefix("multi_modal_projector.layer_norm."))],
        },
        // VisionModel.sanitize
        Rule::Drop(Pat::Contains("position_ids")),
        // LanguageModel.sanitize: depthwise Conv1d [C, 1, K] -> [C, K, 1]
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Prefix("language_model."), Pat::Suffix("conv.conv.weight")]),
            rank: 3,
            from: 2,
            to: 1,
            when: ShapeCond::Always,
        },
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "vision_tower", "multi_modal_projector", "language_model", // Model
        "embeddings", "encoder", "post_layernorm", // VisionModel
        "patch_embedding", "position_embedding", // VisionEmbeddings
        "self_attn", "layer_norm1", "mlp", "layer_norm2", // EncoderLayer
        "q_layernorm", "k_layernorm", "q_proj", "k_proj", "v_proj", "out_proj", // Attention
        "fc1", "fc2", // vision MLP
        "layer_norm", "linear_1", "linear_2", // Lfm2VlMultiModalProjector
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "embedding_norm", // Lfm2Model
        "conv", "feed_forward", "operator_norm", "ffn_norm", // Lfm2DecoderLayer
        "in_proj", // ShortConv (conv, in_proj, out_proj)
        "w1", "w3", "w2", // MLP
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
