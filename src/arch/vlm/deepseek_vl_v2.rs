//! `mlx_vlm/models/deepseek_vl_v2`: DeepSeek-VL2 (deepseek-ai/deepseek-vl2, -small, -tiny) — a
//! timm SigLIP tower (`vision.*`, Conv2d `patch_embed.proj`, and the latent attention pool it
//! never runs but loads), a `downsample_mlp_gelu` `projector`, the learned `image_newline` and
//! `view_seperator` vectors, and a DeepSeek-V2 MoE text model (`language.*`).
//!
//! Keys: `vision.*` → `vision.vision_tower.*`, `language.model.*` → `language_model.model.*`,
//! `language.lm_head.*` → `language_model.lm_head.*`, and the checkpoint's typo
//! `view_seperator` → `view_separator`. Per-expert `mlp.experts.E.{gate,up,down}_proj` are
//! stacked into `mlp.switch_mlp.*` (SwitchGLU), as mlx-vlm's `LanguageModel.sanitize` does.
//!
//! Conv kernels move by rule: the SigLIP patch embedding, and the SAM-style `neck`, `neck_hd`
//! and `downsamples` convs mlx-vlm's `VisionModel.sanitize` lists (DeepSeek-OCR towers share
//! it) wherever a checkpoint has them.
//!
//! The `projector` feeds the language model from the tower. mlx-vlm's substring skip list does
//! not name it, so `mlx_vlm.convert -q` quantizes it; hf2mlx keeps it in float like every other
//! projector (one small MLP between the tower and the text model, where quantization error
//! reaches every image token).

use super::conv2d_to_mlx;
use crate::arch::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "deepseek_vl_v2",
    category: Category::Moe,
    // Its LanguageModel always has an lm_head.
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize
        Rule::RenamePrefix { from: "language.model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "language.lm_head.", to: "language_model.lm_head." },
        Rule::RenamePrefix { from: "vision.", to: "vision.vision_tower." },
        Rule::RenamePrefix { from: "view_seperator", to: "view_separator" },
        // VisionModel.sanitize: the convs it names by their last three components
        Rule::Drop(Pat::Contains("position_ids")),
        conv2d_to_mlx(".patch_embed.proj.weight"),
        conv2d_to_mlx(".neck.0.weight"),
        conv2d_to_mlx(".neck.2.weight"),
        conv2d_to_mlx(".neck_hd.0.weight"),
        conv2d_to_mlx(".neck_hd.2.weight"),
        conv2d_to_mlx(".downsamples.0.weight"),
        conv2d_to_mlx(".downsamples.1.weight"),
        // LanguageModel.sanitize
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "vision", "language_model", "projector", "image_newline", "view_separator", // Model
        "vision_tower", // VisionModel
        "model", "lm_head", // LanguageModel
        "embed_tokens", // DeepseekV2Model (then layers, norm)
        // SigLipVisionModel: patch_embed, norm_pre, blocks, norm, pos_embed, attn_pool;
        // AttentionPoolLatent: latent, q, kv, proj, norm, mlp; VisionEmbeddings: proj, norm
        "patch_embed", "norm_pre", "blocks", "layers", "latent", "q", "kv", "qkv",
        "attn", "self_attn", "proj", "norm1", "norm", "pos_embed", "attn_pool",
        "mlp", "norm2", "input_layernorm", "post_attention_layernorm", // decoder/encoder layers
        // DeepseekV2Attention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "kv_b_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // DeepseekV2MoE
        "fc1", "fc2", // vision MLP
    ],
    // MoEGate holds a bare weight, not a Linear.
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    towers: &[
        Pat::Prefix("vision."),
        Pat::Prefix("projector."),
        Pat::Exact("image_newline"),
        Pat::Exact("view_separator"),
    ],
    ..Arch::BASE
};
