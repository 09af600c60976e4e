//! `mlx_audio/stt/models/qwen3_asr` (mlx-audio 0.6.2): Qwen3-ASR as the Hub repos
//! (`Qwen/Qwen3-ASR-*`) store it, in the qwen-asr package's layout: `thinker.audio_tower.*` (a
//! three-Conv2d stem, Whisper-style layers, `proj1`/`proj2` into the decoder's width) and
//! `thinker.model.*` (a Qwen3 decoder with `q_norm`/`k_norm`).
//!
//! `Qwen3ASRModel.sanitize` strips `thinker.`, drops `lm_head.weight` (the head is the tied
//! embedding in both releases) and, when the checkpoint has `thinker.` keys (the PyTorch
//! layout), moves the Conv2d kernels from `(O, I, H, W)` to MLX `(O, H, W, I)`.
//! `model_quant_predicate` keeps `audio_tower` in float.
//!
//! Not covered: the forced aligner (`thinker_config.model_type: qwen3_forced_aligner`, or a
//! stored head of fewer than 10000 rows, which mlx-audio sanitizes as the aligner's), and
//! transformers 5's own re-laid-out Qwen3ASR classes (`model.language_model.*`), which
//! mlx-audio 0.6.2 does not map either.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen3_asr",
    category: Category::Reshape,
    // The head is dropped by sanitize whatever the config says (the rule below).
    tied: Tied::Never,
    sanitize: &[
        // `is_formatted = not any(k.startswith("thinker.") ...)`: only PyTorch kernels move.
        Rule::IfAny {
            pat: Pat::Prefix("thinker."),
            when: ShapeCond::Always,
            present: true,
            rules: &[Rule::MoveAxis {
                pat: Pat::All(&[Pat::Contains("conv2d"), Pat::Contains("weight")]),
                rank: 4,
                from: 1,
                to: 3,
                when: ShapeCond::Always,
            }],
        },
        Rule::RenamePrefix { from: "thinker.", to: "" },
        Rule::Drop(Pat::Exact("lm_head.weight")),
    ],
    // Encoder and decoder share `layers`; one ranking serves both (it only moves shard
    // boundaries of >5 GB outputs).
    order: &[
        "audio_tower", "model", "lm_head", // Qwen3ASRModel
        "conv2d1", "conv2d2", "conv2d3", "conv_out", // AudioEncoder (then layers)
        "embed_tokens", "layers", "ln_post", "proj1", "proj2", "norm",
        "self_attn", "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm", // AudioEncoderLayer
        "mlp", "input_layernorm", "post_attention_layernorm", // TextDecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "q_norm", "k_norm", // attentions
        "gate_proj", "up_proj", "down_proj", // TextMLP
    ],
    towers: &[Pat::Prefix("audio_tower.")],
    ..Arch::BASE
};
