//! `mlx_vlm/models/fastvlm`: Apple FastVLM (apple/FastVLM-0.5B, -1.5B, -7B; remote code
//! `LlavaQwen2ForCausalLM`, model_type `llava_qwen2`). A Qwen2 text model at the top level of the
//! checkpoint (`model.*`, `lm_head`), the `model.mm_projector` MLP, and the FastViTHD tower as
//! `model.vision_tower.vision_tower.model.*`: a convolutional stem, RepMixer and attention
//! stages with ConvFFNs, RepCPE position convs and PatchEmbed downsamplers, `conv_exp` with
//! squeeze-excitation and a pooling `head.proj`, all in reparameterized (inference) form.
//!
//! Keys, as mlx-vlm's `Model.sanitize`: the tower to `vision_tower.vision_model.*` with the
//! stem's Sequential indices under `patch_embed.blocks`, the projector to `mm_projector.*`, the
//! rest into `language_model.*`. The tower sanitize drops BatchNorm's `num_batches_tracked` and
//! moves every 4-D kernel it names (`reparam_conv`, `conv`, `fc1`, `fc2`, `lkb_reparam`,
//! `reduce`, `expand`) from `[O, I, kH, kW]` to `[O, kH, kW, I]`, and the `layer_scale*` vectors
//! from `[C, 1, 1]` to `[1, 1, C]`. mlx-vlm decides whether to move them all from the shape of
//! one stem kernel; the rules move them because the input is a PyTorch checkpoint.
//!
//! The `mm_projector` feeds the language model from the tower. mlx-vlm's substring skip list
//! does not name it, so `mlx_vlm.convert -q` quantizes it; hf2mlx keeps it in float like every
//! other projector.

use super::{ROTARY_TABLES, conv2d_to_mlx};
use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

/// The tower's prefix after renaming.
const TOWER: &str = "vision_tower.vision_model.";

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "fastvlm",
    aliases: &["llava_qwen2"],
    category: Category::Reshape,
    // LanguageModel builds the text config from the top level; TextConfig default: tied.
    tied: Tied::TextConfigOnly { default: true },
    sanitize: &[
        // Model.sanitize
        Rule::RenamePrefix { from: "model.vision_tower.vision_tower.model.", to: TOWER },
        Rule::RenamePrefix {
            from: "vision_tower.vision_model.patch_embed.",
            to: "vision_tower.vision_model.patch_embed.blocks.",
        },
        Rule::RenamePrefix { from: "model.mm_projector.", to: "mm_projector." },
        Rule::RenamePrefix { from: "model.", to: "language_model.model." },
        Rule::RenamePrefix { from: "lm_head.", to: "language_model.lm_head." },
        // VisionModel.sanitize
        Rule::Drop(Pat::Suffix("num_batches_tracked")),
        conv2d_to_mlx(".reparam_conv.weight"),
        conv2d_to_mlx(".conv.weight"),
        conv2d_to_mlx(".fc1.weight"),
        conv2d_to_mlx(".fc2.weight"),
        conv2d_to_mlx(".lkb_reparam.weight"),
        conv2d_to_mlx(".reduce.weight"),
        conv2d_to_mlx(".expand.weight"),
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Prefix(TOWER), Pat::Contains("layer_scale")]),
            rank: 3,
            from: 0,
            to: 2,
            when: ShapeCond::Always,
        },
        // LanguageModel.sanitize
        Rule::TieHead("language_model.lm_head"),
        ROTARY_TABLES,
    ],
    order: &[
        "vision_tower", "language_model", "mm_projector", // Model
        "vision_model", // VisionModel
        "patch_embed", "network", "conv_exp", "head", // FastViTHDModel
        "blocks", // ConvolutionalStem
        "se", "reparam_conv", // MobileOneBlock, RepCPE, RepMixer
        "reduce", "expand", // SEBlock
        "proj", // PatchEmbed, GlobalPool2D, MHSA
        "lkb_reparam", // ReparamLargeKernelConv
        "norm", "token_mixer", "convffn", "layer_scale", "layer_scale_1", "layer_scale_2", // blocks
        "conv", "bn", "fc1", "fc2", // ConvFFN
        "qkv", // MHSA
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", // Qwen2Model (then norm)
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    towers: &[Pat::Prefix("vision_tower."), Pat::Prefix("mm_projector.")],
    ..Arch::BASE
};
