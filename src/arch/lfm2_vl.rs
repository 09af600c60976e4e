//! `mlx_lm/models/lfm2-vl.py`: LFM2-VL converted text-only. `sanitize` only drops the
//! top-level `vision_tower` and `multi_modal_projector`; the text model (`lfm2`) is expected
//! at `language_model.model.*` with its conv weights already in MLX layout (mlx-lm does not call
//! `lfm2.sanitize` here, so this reads MLX-layout (mlx-vlm) checkpoints, not Hugging Face's
//! `model.language_model.*`). LFM2 has no `lm_head` (logits use the embedding).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "lfm2-vl",
    category: Category::FilterRename,
    tied: Tied::Always,
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Drop(Pat::Prefix("multi_modal_projector.")),
        Rule::TieHead("language_model.lm_head"),
    ],
    order: &[
        "language_model", // Model
        "model", // lfm2.Model
        "embed_tokens", "layers", "embedding_norm", // Lfm2Model
        // Lfm2DecoderLayer: self_attn | conv, feed_forward, operator_norm, ffn_norm
        "self_attn", "conv", "feed_forward", "operator_norm", "ffn_norm",
        // Attention: q_layernorm, k_layernorm, q_proj, k_proj, v_proj, out_proj;
        // ShortConv: conv, in_proj, out_proj
        "q_layernorm", "k_layernorm", "q_proj", "k_proj", "v_proj", "in_proj", "out_proj",
        "w1", "w3", "w2", // MLP
    ],
    ..Arch::BASE
};
