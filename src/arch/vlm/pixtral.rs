//! `mlx_vlm/models/pixtral`: Pixtral-12B, a Pixtral tower (2-D RoPE ViT with a Conv2d
//! `patch_conv`), LLaVA's two-layer `multi_modal_projector` and a Mistral text model.
//!
//! On the Hub (`mistral-community/pixtral-12b`) its config says `model_type: llava` with a
//! `pixtral` vision_config. mlx-vlm's llava module refuses that tower ("Unsupported model type:
//! pixtral"); only its `pixtral` module converts it, so `mlx_vlm.convert` works after the user
//! edits `model_type` to `pixtral` by hand. hf2mlx picks these rules for such a `llava` config
//! itself ([`super::find_for_config`]) and writes `model_type: pixtral`, which `mlx_vlm.load`
//! needs to build the right tower.
//!
//! Layouts mapped: classic (`language_model.*`, `vision_tower.{patch_conv,ln_pre,transformer}.*`,
//! `multi_modal_projector.*`) and transformers >= 4.52 (`model.language_model.*`,
//! `model.vision_tower.*`, `model.multi_modal_projector.*`, `lm_head`). mlx-vlm maps only the
//! classic one for Pixtral (its `pixtral` sanitize leaves `model.vision_tower.*` unmapped).

use crate::arch::{Arch, Category, ConfigEdit, Pat, Rule, Tied};

/// Key renames shared with Mistral 3, whose tower is Pixtral's: both layouts onto mlx-vlm's
/// `vision_tower.vision_model.*`, `multi_modal_projector.*`, `language_model.{model,lm_head}.*`,
/// followed by the caller's extra rules.
macro_rules! pixtral_rules {
    ($($extra:expr),* $(,)?) => {
        &[
            super::LLAVA_KEYS,
            // VisionModel.sanitize
            Rule::Drop(Pat::Contains("position_ids")),
            super::conv2d_to_mlx("patch_conv.weight"),
            // LanguageModel.sanitize
            super::ROTARY_TABLES,
            $($extra),*
        ]
    };
}
pub(super) use pixtral_rules;

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "pixtral",
    category: Category::Reshape,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: pixtral_rules!(),
    order: &[
        "vision_tower", "language_model", "multi_modal_projector", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // Mistral
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", "patch_conv", "ln_pre", "transformer", // VisionModel, PixtralVisionModel
        "attention", "attention_norm", "feed_forward", "ffn_norm", // EncoderLayer
        "linear_1", "linear_2", // LlavaMultiModalProjector
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    config_edits: &[ConfigEdit::SetModelType("pixtral")],
    ..Arch::BASE
};
