//! `mlx_vlm/models/mistral3`: Mistral Small 3.1/3.2 (and Devstral/Magistral with vision), a
//! Pixtral tower, a projector with an RMSNorm and a 2x2 `patch_merger` before LLaVA's two
//! linears, and a Mistral text model.
//!
//! Both key layouts (classic `language_model.*` + `vision_tower.*` as on the Hub, and
//! `model.language_model.*` + `model.vision_tower.*` of transformers 4.52 and later) map to the
//! same names, as in mlx-vlm. Its language model never quantizes `lm_head` (its
//! `quant_predicate`), and drops it when `text_config.tie_word_embeddings` is set. FP8
//! checkpoints (`*_scale_inv`) are not dequantized here: hf2mlx refuses them as pre-quantized.

use crate::arch::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mistral3",
    category: Category::Reshape,
    // mlx-vlm's TextConfig (from text_config) default.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: super::pixtral::pixtral_rules!(Rule::TieHead("language_model.lm_head")),
    order: &[
        "multi_modal_projector", "vision_tower", "language_model", // Model
        "norm", "patch_merger", "linear_1", "linear_2", // Mistral3MultiModalProjector
        "merging_layer", // Mistral3PatchMerger
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", // Mistral3Model (then norm)
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "vision_model", "patch_conv", "ln_pre", "transformer", // VisionModel, PixtralVisionModel
        "attention", "attention_norm", "feed_forward", "ffn_norm", // EncoderLayer
    ],
    quant_predicate: &[(Pat::Contains("lm_head"), LayerQuant::Skip)],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("multi_modal_projector.")],
    // Mistral 4 text models (MoE + MLA) are refused as in the text conversion.
    unsupported: crate::arch::mistral3::ARCH.unsupported,
    ..Arch::BASE
};
