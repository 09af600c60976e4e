//! `mlx_lm/models/muse_glimmer.py`: text-only port. `sanitize` drops the vision tower, adapter
//! and projection, and moves the text tower from `language_model.{model,lm_head}.*` or
//! `model.language_model.*` to `model.*` / `lm_head.*`. It never drops a tied `lm_head`.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "muse_glimmer",
    category: Category::FilterRename,
    // `ModelArgs.from_dict` merges `text_config` over the top level.
    tied: Tied::TextConfig { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower")),
        Rule::Drop(Pat::Prefix("vision_adapter")),
        Rule::Drop(Pat::Prefix("vision_projection")),
        Rule::RenamePrefix { from: "language_model.model.", to: "model." },
        Rule::RenamePrefix { from: "language_model.lm_head.", to: "lm_head." },
        Rule::RenamePrefix { from: "model.language_model.", to: "model." },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MuseGlimmerModel
        // DecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm",
        // Attention: q/k/v/o_proj, gate_proj; MLP: gate_proj, up_proj, down_proj
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    ],
    ..Arch::BASE
};
