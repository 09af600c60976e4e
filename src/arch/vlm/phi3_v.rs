//! `mlx_vlm/models/phi3_v`: Phi-3-Vision and Phi-3.5-vision (microsoft/Phi-3-vision-128k-instruct,
//! microsoft/Phi-3.5-vision-instruct; remote code `Phi3VForCausalLM`). A Phi-3 text model with
//! fused `qkv_proj`/`gate_up_proj` and its own `lm_head`, and inside it
//! `model.vision_embed_tokens`: a CLIP ViT-L/14-336 (`img_processor.vision_model.*`), the learned
//! `glb_GN`/`sub_GN` separators and the `img_projection` MLP over 2x2-merged CLIP features.
//!
//! The checkpoint's names are mlx-vlm's already (there is no transformers >= 4.52 layout: the
//! model only exists as remote code). Its sanitize drops `position_ids` and moves the CLIP patch
//! embedding to channels-last, which is all [`CLIP_TOWER`] does.
//!
//! The whole `model.vision_embed_tokens` module (tower, separators, projector) stays float;
//! mlx-vlm 0.7.10 skips it too, because its name contains `vision`.

use super::CLIP_TOWER;
use crate::arch::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phi3_v",
    category: Category::Reshape,
    // Its Model always has an lm_head.
    tied: Tied::Never,
    sanitize: &[CLIP_TOWER],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "vision_embed_tokens", "layers", "norm", // Phi3V
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "qkv_proj", "o_proj", // Attention
        "gate_up_proj", "down_proj", // MLP
        "img_processor", "glb_GN", "sub_GN", "img_projection", // VisionModel
        "vision_model", // ClipVModel
        "embeddings", "pre_layrnorm", "encoder", "post_layernorm", // ClipModel
        "class_embedding", "patch_embedding", "position_embedding", // VisionEmbeddings
        "layer_norm1", "layer_norm2", // EncoderLayer (self_attn, mlp above)
        "q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2", // vision Attention, MLP
    ],
    towers: &[Pat::Prefix("model.vision_embed_tokens.")],
    ..Arch::BASE
};
