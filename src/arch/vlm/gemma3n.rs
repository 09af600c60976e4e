//! `mlx_vlm/models/gemma3n`: Gemma 3n (google/gemma-3n-E2B-it, -E4B-it) with its MobileNetV5
//! vision tower (timm's `mobilenetv5_300m_enc` under `vision_tower.timm_model`), its audio
//! Conformer (`audio_tower`), and the two embedders that feed their soft tokens into the text
//! model (`embed_vision`, `embed_audio`: an embedding table for the modality's hard tokens, two
//! RMSNorms and a projection to the text width). The text model has no head (logits use the
//! embedding).
//!
//! Keys (the Hub's one layout, `model.language_model.*`, `model.vision_tower.timm_model.*`,
//! `model.audio_tower.*`, `model.embed_vision.*`, `model.embed_audio.*`), as mlx-vlm's
//! `Model.sanitize` (strip `model.`) then `LanguageModel.sanitize` (`language_model.*` →
//! `language_model.model.*`, rotary tables dropped).
//!
//! Conv kernels move by rule: every 4-D tower tensor is a Conv2d (stem, edge-residual and
//! inverted-residual convs, the attention blocks' 1x1 query/key/value/output projections and
//! their depthwise key/value downsamplers, the fusion adapter's convs; the audio sub-sampler's
//! two convs), PyTorch `[O, I, kH, kW]` → `[O, kH, kW, I]`, and the Conformer's depthwise
//! Conv1d `[C, 1, K]` → `[C, K, 1]`. mlx-vlm's `VisionModel.sanitize` transposes every 4-D
//! tensor whose name has `conv` and `weight`, or `proj.weight` (its `("attn" and
//! "proj.weight") in k` is just the latter), across the whole checkpoint, audio included,
//! unless one stem-block kernel's shape says the checkpoint is already MLX; its
//! `AudioModel.sanitize` then keeps what `check_array_shape` reads as MLX layout. On Gemma 3n's
//! shapes those guesses come out the same as the rules.
//!
//! mlx-vlm 0.7.10 skips the towers and `embed_vision` (its skip list matches `vision`
//! anywhere in the path) but quantizes `embed_audio`; hf2mlx keeps both embedders in float,
//! like every other projector from a tower into the text model.

use super::ROTARY_TABLES;
use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gemma3n",
    category: Category::Reshape,
    tied: Tied::Always,
    sanitize: &[
        // Model.sanitize, then LanguageModel.sanitize
        Rule::RenamePrefix { from: "model.language_model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "model.", to: "" },
        ROTARY_TABLES,
        // VisionModel.sanitize: every Conv2d of MobileNetV5
        Rule::MoveAxis {
            pat: Pat::Prefix("vision_tower."),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
        // AudioModel.sanitize: the sub-sampler's Conv2d and the Conformer's depthwise Conv1d
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Prefix("audio_tower."), Pat::Suffix("conv.weight")]),
            rank: 4,
            from: 1,
            to: 3,
            when: ShapeCond::Always,
        },
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Prefix("audio_tower."), Pat::Suffix("conv1d.weight")]),
            rank: 3,
            from: 1,
            to: 2,
            when: ShapeCond::Always,
        },
    ],
    order: &[
        "language_model", "vision_tower", "embed_vision", "audio_tower", "embed_audio", // Model
        "model", // LanguageModel
        // Gemma3Model
        "embed_tokens", "layers", "embed_tokens_per_layer", "per_layer_model_projection",
        "per_layer_projection_norm", "altup_projections", "altup_unembed_projections",
        "model/norm",
        // Gemma3nDecoderLayer
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm", "altup", "laurel",
        "per_layer_input_gate", "per_layer_projection", "post_per_layer_input_norm",
        // Gemma3nAudioAttention (then q_proj, k_proj, v_proj)
        "attn/relative_position_embedding", "attn/per_dim_scale",
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Gemma3nAttention
        "gate_proj", "up_proj", "down_proj", // MLP
        // Gemma3nAltUp
        "correct_output_scale", "correction_coefs", "prediction_coefs", "modality_router",
        "router_norm",
        "linear_left", "linear_right", "post_laurel_norm", // Gemma3nLaurelBlock
        "timm_model", // VisionModel
        "conv_stem", "blocks", "msfa", // VisionTower
        "conv", "bn", // ConvNormAct; Gemma3nAudioSSCPConvBlock (then norm)
        "conv_exp", "bn1", "conv_pwl", "bn2", // EdgeResidual
        "dw_start", "pw_exp", "dw_mid", "pw_proj", // UniversalInvertedResidual (then layer_scale)
        "ffn", // MobileNetV5MultiScaleFusionAdapter (then norm)
        "down_conv", // NamedSequential key/value (then norm, proj)
        // Gemma3nAudioConformerBlock (then norm)
        "ffw_layer_start", "attention", "lconv1d", "ffw_layer_end",
        // `norm` comes after the Conformer block's other children and before MobileAttention's
        // (norm, attn, layer_scale), NamedSequential's proj and the Conformer attention's.
        "norm",
        "pre_attn_norm", "attn", "post", "post_norm", // Gemma3nAudioConformerAttention
        "layer_scale",
        "query", "key", "value", "output", "proj", // MultiQueryAttention2d, NamedSequential
        "gamma", // LayerScale2d
        // Gemma3nMultimodalEmbedder
        "embedding", "hard_embedding_norm", "soft_embedding_norm", "embedding_projection",
        "embedding_post_projection_norm",
        "subsample_conv_projection", "conformer", // AudioModel
        "conv_0", "conv_1", "input_proj_linear", // Gemma3nAudioSubSampleConvProjection
        "pos_proj", // Gemma3nAudioRelativePositionEmbedding
        // Gemma3nAudioConformerFeedForward
        "pre_layer_norm", "ffw_layer_1", "ffw_layer_2", "post_layer_norm",
        // Gemma3nAudioConformerLightConv1d
        "linear_start", "depthwise_conv1d", "conv_norm", "linear_end",
    ],
    towers: &[
        Pat::Prefix("vision_tower."),
        Pat::Prefix("audio_tower."),
        Pat::Prefix("embed_vision."),
        Pat::Prefix("embed_audio."),
    ],
    ..Arch::BASE
};
