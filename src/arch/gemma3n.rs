//! `mlx_lm/models/gemma3n.py`: Gemma 3n converted text-only. `sanitize` drops the vision and
//! audio towers and their embedders under `model.`; the language model stays at
//! `model.language_model.*`. There is no `lm_head` (logits use the embedding).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma3n",
    category: Category::FilterRename,
    tied: Tied::Always,
    sanitize: &[
        Rule::Drop(Pat::Prefix("model.vision_tower.")),
        Rule::Drop(Pat::Prefix("model.audio_tower.")),
        Rule::Drop(Pat::Prefix("model.embed_audio.")),
        Rule::Drop(Pat::Prefix("model.embed_vision.")),
    ],
    order: &[
        "model",          // Model
        "language_model", // Gemma3n
        // LanguageModel
        "embed_tokens", "layers", "embed_tokens_per_layer", "per_layer_model_projection",
        "per_layer_projection_norm", "altup_projections", "altup_unembed_projections", "norm",
        // Gemma3nDecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm", "altup", "laurel",
        "per_layer_input_gate", "per_layer_projection", "post_per_layer_input_norm",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Gemma3nAttention
        "gate_proj", "up_proj", "down_proj", // MLP
        // Gemma3nAltUp
        "correct_output_scale", "correction_coefs", "prediction_coefs", "modality_router",
        "router_norm",
        "linear_left", "linear_right", "post_laurel_norm", // Gemma3nLaurelBlock
    ],
    ..Arch::BASE
};
