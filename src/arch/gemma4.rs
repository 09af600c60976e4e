//! `mlx_lm/models/gemma4.py`: Gemma 4 (vision/audio wrapper converted text-only). `model.` is
//! stripped, vision/audio towers, projectors and embedders dropped, `language_model.*` becomes
//! `language_model.model.*`; then the text model's sanitize (`gemma4_text`).

use super::gemma4_text::{ORDER, ROUTER, SWITCH_GLU, TEXT};
use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma4",
    aliases: &["gemma4_unified"],
    category: Category::Moe,
    // `gemma4_text.ModelArgs` from `text_config`; defaults to true.
    tied: Tied::TextConfigOnly { default: true },
    sanitize: &[
        Rule::Drop(Pat::Prefix("model.vision_tower")),
        Rule::Drop(Pat::Prefix("model.multi_modal_projector")),
        Rule::Drop(Pat::Prefix("model.audio_tower")),
        Rule::Drop(Pat::Prefix("model.embed_audio")),
        Rule::Drop(Pat::Prefix("model.embed_vision")),
        Rule::Drop(Pat::Prefix("model.vision_embedder")),
        Rule::Drop(Pat::Prefix("vision_tower")),
        Rule::Drop(Pat::Prefix("multi_modal_projector")),
        Rule::Drop(Pat::Prefix("audio_tower")),
        Rule::Drop(Pat::Prefix("embed_audio")),
        Rule::Drop(Pat::Prefix("embed_vision")),
        Rule::Drop(Pat::Prefix("vision_embedder")),
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.", to: "" },
        TEXT[0], TEXT[1], TEXT[2], TEXT[3], TEXT[4], TEXT[5], TEXT[6], TEXT[7],
        Rule::TieHead("language_model.lm_head"),
    ],
    order: ORDER,
    extra_quantizable: SWITCH_GLU,
    quant_predicate: ROUTER,
    ..Arch::BASE
};
