//! `mlx_vlm/models/qwen3_omni_moe`: Qwen3-Omni-MoE (Qwen/Qwen3-Omni-30B-A3B-Instruct,
//! -Thinking, -Captioner), three models in one checkpoint:
//!
//! - the `thinker`: a Qwen3-VL vision tower (Conv3d patch embedding, merger and DeepStack
//!   mergers), a Whisper-like audio tower (three Conv2d downsamplers `conv2d{1,2,3}`) and a
//!   Qwen3-MoE text model (`thinker.model.*` → `thinker.language_model.model.*`);
//! - the `talker`: a Qwen3-MoE text model with a shared expert that speaks from the thinker's
//!   hidden states (`text_projection`/`hidden_projection` MLPs), its `codec_head`, and a small
//!   dense `code_predictor` transformer;
//! - `code2wav`: a transformer and a ConvNeXt / ConvTranspose1d vocoder.
//!
//! The checkpoints (transformers 4.57, and transformers 5's re-save) already use these
//! top-level names. mlx-vlm's sanitizes, chained by `Model.sanitize`, are written out here:
//! the thinker renames (`visual` → `vision_tower`, merger `ln_q`/`mlp.0`/`mlp.2` →
//! `norm`/`linear_fc1`/`linear_fc2`, `merger_list` → `deepstack_merger_list`), the vision
//! Conv3d and audio Conv2d kernels to channels-last, the code2wav ConvTranspose1d `(1, 2, 0)`
//! and Conv1d `(0, 2, 1)` transposes, and the per-expert weights of both MoE text models
//! stacked into `switch_mlp`. Every conv moves by rule: mlx-vlm decides by comparing the shape
//! with its module's (audio, code2wav) or guessing from the last axis (vision), which a Hugging
//! Face checkpoint (PyTorch layout) does not need.
//!
//! Quantization follows mlx-vlm: its skip list (`vision`, `audio_tower`, `code_predictor`)
//! keeps the two thinker towers and the talker's `code_predictor` in float, and everything else
//! — the thinker's and the talker's text models, the talker's projections and heads, code2wav's
//! transformer, embeddings and ConvNeXt Linears — is quantized, with every MoE router
//! (`mlp.gate`) at 8 bits. The talker and code2wav are language/codec models in their own
//! right (their Linears are what makes the 30B checkpoint large), not tower outputs feeding the
//! thinker, so unlike a multimodal projector there is no reason to keep them float.
//!
//! -Thinking and -Captioner say `enable_audio_output: false`: mlx-vlm then builds neither the
//! talker nor code2wav (and would refuse their tensors when loading), so any such tensors are
//! dropped.

use crate::arch::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied, Unsupported};

use super::{QWEN_VL_TOWER, conv2d_to_mlx};

/// code2wav's ConvTranspose1d kernels (the upsampling `CausalTransConvNet`s): PyTorch
/// `[in, out, k]` → MLX `[out, k, in]`, mlx-vlm's `transpose(1, 2, 0)`. They are
/// `upsample.<i>.0.conv` and the decoder blocks' `block.<j>.conv` (mlx-vlm: "upsample" or
/// "decoder" + "block", "conv.weight", neither `dwconv` nor the residual units' `conv1`/`conv2`).
const TRANS_CONV: &[Pat] = &[
    Pat::All(&[
        Pat::Prefix("code2wav.upsample."),
        Pat::Suffix(".0.conv.weight"),
    ]),
    Pat::All(&[
        Pat::Prefix("code2wav.decoder."),
        Pat::Contains(".block."),
        Pat::Not(&Pat::Contains("conv1")),
        Pat::Not(&Pat::Contains("conv2")),
        Pat::Suffix(".conv.weight"),
    ]),
];

/// code2wav's Conv1d kernels (`CausalConvNet`): PyTorch `[out, in, k]` → MLX `[out, k, in]`,
/// mlx-vlm's `transpose(0, 2, 1)`: the ConvNeXt depthwise `dwconv`, the decoder's own convs
/// (outside its blocks) and the residual units' `conv1`/`conv2`.
const CONV1D: &[Pat] = &[
    Pat::All(&[
        Pat::Prefix("code2wav.upsample."),
        Pat::Suffix("dwconv.conv.weight"),
    ]),
    Pat::All(&[
        Pat::Prefix("code2wav.decoder."),
        Pat::Not(&Pat::Contains("block")),
        Pat::Suffix(".conv.weight"),
    ]),
    Pat::All(&[
        Pat::Prefix("code2wav.decoder."),
        Pat::Contains(".block."),
        Pat::Suffix("conv1.conv.weight"),
    ]),
    Pat::All(&[
        Pat::Prefix("code2wav.decoder."),
        Pat::Contains(".block."),
        Pat::Suffix("conv2.conv.weight"),
    ]),
];

const fn conv1d(i: usize) -> Rule {
    Rule::MoveAxis {
        pat: CONV1D[i],
        rank: 3,
        from: 1,
        to: 2,
        when: ShapeCond::Always,
    }
}

const fn trans_conv(i: usize) -> Rule {
    Rule::MoveAxis {
        pat: TRANS_CONV[i],
        rank: 3,
        from: 0,
        to: 2,
        when: ShapeCond::Always,
    }
}

#[rustfmt::skip] // one line per rename / module class
pub const ARCH: Arch = Arch {
    name: "qwen3_omni_moe",
    category: Category::Moe,
    // The thinker's LanguageModel has an lm_head unless its text_config ties it, which no
    // Qwen3-Omni checkpoint does (refused below rather than guessed).
    tied: Tied::Never,
    sanitize: &[
        // Model.sanitize builds no talker/code2wav without audio output (-Thinking, -Captioner).
        Rule::IfConfigOr {
            key: "enable_audio_output",
            absent: true,
            truthy: false,
            rules: &[Rule::Drop(Pat::Prefix("talker.")), Rule::Drop(Pat::Prefix("code2wav."))],
        },
        // Thinker.sanitize
        Rule::RenamePrefix { from: "thinker.model.", to: "thinker.language_model.model." },
        Rule::RenamePrefix { from: "thinker.lm_head.", to: "thinker.language_model.lm_head." },
        Rule::RenamePrefix { from: "thinker.visual.", to: "thinker.vision_tower." },
        Rule::RenamePrefix {
            from: "thinker.vision_tower.merger_list.",
            to: "thinker.vision_tower.deepstack_merger_list.",
        },
        // the mergers' (ln_q, mlp.0, mlp.2); no other module of the model has these names
        Rule::Replace { from: ".ln_q.", to: ".norm." },
        Rule::Replace { from: ".mlp.0.", to: ".linear_fc1." },
        Rule::Replace { from: ".mlp.2.", to: ".linear_fc2." },
        // VisionModel.sanitize: Conv3d [O, I, T, kH, kW] -> [O, T, kH, kW, I]
        QWEN_VL_TOWER,
        // AudioModel.sanitize: Conv2d [O, I, kH, kW] -> [O, kH, kW, I]
        conv2d_to_mlx("audio_tower.conv2d1.weight"),
        conv2d_to_mlx("audio_tower.conv2d2.weight"),
        conv2d_to_mlx("audio_tower.conv2d3.weight"),
        // LanguageModel.sanitize and Talker.sanitize
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        // Code2WavModel.sanitize
        trans_conv(0),
        trans_conv(1),
        conv1d(0),
        conv1d(1),
        conv1d(2),
        conv1d(3),
    ],
    order: &[
        "thinker", "talker", "code2wav", // Model
        "vision_tower", "audio_tower", "language_model", // Thinker
        // VisionModel
        "patch_embed", "pos_embed", "blocks", "merger", "deepstack_merger_list",
        "proj", // PatchEmbed
        "merger/norm", // PatchMerger (then linear_fc1, linear_fc2)
        "norm1", "norm2", "attn", // VisionBlock (then mlp)
        "qkv", // Attention (then proj)
        "linear_fc1", "linear_fc2", // MLP, PatchMerger (after norm), TalkerResizeMlp
        // AudioModel (the encoder layers' attention orders k, v, q, out; ranked with the text
        // models' q, k, v here, which only moves bytes within one file)
        "audio_tower/layers", "ln_post", "conv2d1", "conv2d2", "conv2d3", "conv_out", "proj1", "proj2",
        "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm", // AudioEncoderLayer
        "model", "lm_head", // LanguageModel, CodePredictor
        "embed_tokens", "layers", "norm", "codec_embedding", // text models
        // decoder layers (code_predictor and code2wav put mlp before the norms)
        "self_attn", "input_layernorm", "post_attention_layernorm", "mlp",
        "self_attn_layer_scale", "mlp_layer_scale",
        "q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", "shared_expert", "shared_expert_gate", // SparseMoeBlock
        "gate_proj", "up_proj", "down_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
        "text_projection", "hidden_projection", "code_predictor", "codec_head", // Talker
        "pre_transformer", "code_embedding", "upsample", "decoder", // Code2WavModel
        "dwconv", "pwconv1", "pwconv2", "gamma", // ConvNeXtBlock (norm ranked above)
        "conv", "block", "alpha", "beta", "act1", "conv1", "act2", "conv2", // vocoder
    ],
    quant_predicate: &[(Pat::Suffix("mlp.gate"), LayerQuant::ROUTER_8BIT)],
    unsupported: &[Unsupported {
        key: &["thinker_config", "text_config", "tie_word_embeddings"],
        equals: "true",
        reason: "a Qwen3-Omni thinker with a tied head is no released model and hf2mlx's rules \
                 assume its own lm_head",
    }],
    // mlx-vlm's skip list: `vision`, `audio_tower`, `code_predictor`.
    towers: &[
        Pat::Prefix("thinker.vision_tower."),
        Pat::Prefix("thinker.audio_tower."),
        Pat::Prefix("talker.code_predictor."),
    ],
    ..Arch::BASE
};
