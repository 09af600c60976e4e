//! `mlx_vlm/models/llama4`: Llama 4 (meta-llama/Llama-4-Scout-17B-16E-Instruct, Maverick) with
//! its vision tower — a ViT whose patch embedding is an unfold + Linear (no conv), a
//! pixel-shuffle MLP `vision_adapter` — and the Linear `multi_modal_projector`, in front of
//! the Llama 4 MoE text model.
//!
//! transformers never moved Llama 4 to the `model.language_model.*` layout: checkpoints hold
//! `language_model.model.*`, `vision_model.*` and `multi_modal_projector.*`, mlx-vlm's own
//! names. The text model's fused experts are rewritten as mlx-lm's `llama4` does (and
//! mlx-vlm's `LanguageModel.sanitize`): `experts.gate_up_proj` `[E, H, 2·I]` is split along its
//! last axis into `gate_proj`/`up_proj` and each transposed to `[E, I, H]`, and
//! `experts.down_proj` `[E, I, H]` is transposed to `[E, H, I]`.

use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llama4",
    category: Category::Moe,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        // VisionModel.sanitize
        Rule::Drop(Pat::Contains("position_ids")),
        // LanguageModel.sanitize
        Rule::SplitColsSwapped {
            suffix: "feed_forward.experts.gate_up_proj",
            parts: &["feed_forward.experts.gate_proj.weight", "feed_forward.experts.up_proj.weight"],
        },
        Rule::SwapLastAxes { pat: Pat::Suffix("feed_forward.experts.down_proj"), rank: 3 },
        Rule::RenameSuffix {
            from: "feed_forward.experts.down_proj",
            to: "feed_forward.experts.down_proj.weight",
        },
    ],
    order: &[
        "vision_model", "multi_modal_projector", "language_model", // Model
        // VisionModel (its `model` is the encoder)
        "class_embedding", "positional_embedding_vlm", "patch_embedding", "layernorm_pre",
        "layernorm_post", "model", "vision_adapter",
        "linear", // Llama4UnfoldConvolution
        "lm_head", // LanguageModel (after model)
        "embed_tokens", "layers", "norm", // LlamaModel
        // TransformerBlock, Llama4VisionEncoderLayer
        "self_attn", "feed_forward", "mlp", "input_layernorm", "post_attention_layernorm",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "fc1", "fc2", // Llama4VisionMLP
        "linear_1", // Llama4MultiModalProjector
        "experts", "router", "shared_expert", // MoE
        "gate_proj", "down_proj", "up_proj", // MLP
        "experts/gate_proj", "experts/up_proj", "experts/down_proj", // SwitchGLU
    ],
    extra_quantizable: &[
        Pat::Suffix("feed_forward.experts.gate_proj.weight"),
        Pat::Suffix("feed_forward.experts.up_proj.weight"),
        Pat::Suffix("feed_forward.experts.down_proj.weight"),
    ],
    towers: &[Pat::Prefix("vision_model."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
