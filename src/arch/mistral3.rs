//! `mlx_lm/models/mistral3.py` (also `llava` via MODEL_REMAPPING): Mistral 3 / LLaVA converted
//! text-only. `sanitize` drops every key mentioning the vision tower or projector, maps
//! `model.language_model.*` to `model.*` and strips `language_model.` (both checkpoint layouts),
//! runs the text model's `sanitize`, and prefixes everything with `language_model.`.
//!
//! Covered text models: `llama` (text_config `model_type` llama/mistral/absent) and `ministral3`
//! without FP8 scales (its `sanitize` then only drops rotary buffers and `activation_scale`s,
//! which never occur in llama checkpoints). NOT covered: text_config `model_type` `mistral4`
//! (MoE + MLA, a different module tree) and FP8 `ministral3` (`weight * weight_scale_inv`).

use super::{Arch, Category, Pat, Rule, Tied, Unsupported};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mistral3",
    aliases: &["llava"],
    category: Category::FilterRename,
    // `text_config["tie_word_embeddings"]`, set to False when absent.
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::Drop(Pat::Contains("vision_tower")),
        Rule::Drop(Pat::Contains("multi_modal_projector")),
        Rule::RenamePrefix { from: "model.language_model.", to: "model." },
        Rule::RenamePrefix { from: "language_model.", to: "" },
        // llama / ministral3 sanitize
        Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq")),
        Rule::Drop(Pat::Contains("activation_scale")),
        Rule::TieHead("lm_head"),
        // `{"language_model." + k: v}` for every key
        Rule::RenamePrefix { from: "", to: "language_model." },
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // llama.Model / ministral3.Model
        "embed_tokens", "layers", "norm", // LlamaModel / LanguageModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    unsupported: &[Unsupported {
        key: &["text_config", "model_type"],
        equals: "mistral4",
        reason: "Mistral 3 checkpoints whose text model is mistral4 (MoE + MLA) need expert stacking \
                 and MLA rules that hf2mlx does not have yet",
    }],
    ..Arch::BASE
};
