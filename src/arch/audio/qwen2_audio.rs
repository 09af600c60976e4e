//! `mlx_audio/stt/models/qwen2_audio` (mlx-audio 0.6.2): Qwen2-Audio, a Whisper-style encoder
//! (`audio_tower`), a Linear projector and a Qwen2 language model, under the Hugging Face names.
//!
//! `Model.sanitize` drops the stored sinusoid tables (`embed_positions`) and moves the encoder's
//! Conv1d kernels from `(O, I, K)` to `(O, K, I)` unless the checkpoint is already quantized.
//! Its `model_quant_predicate` keeps `audio_tower` and `multi_modal_projector` out of
//! quantization: they are this arch's towers.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen2_audio",
    category: Category::Reshape,
    // The language model has a head exactly when the checkpoint stores one (mlx-audio loads
    // whatever is there, strictly); nothing is tied away.
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Contains("embed_positions")),
        // `already_converted = any("scales" in k ...)`
        Rule::IfAny {
            pat: Pat::Contains("scales"),
            when: ShapeCond::Always,
            present: false,
            rules: &[Rule::MoveAxis {
                pat: Pat::All(&[Pat::Contains("audio_tower"), Pat::Contains("weight")]),
                rank: 3,
                from: 1,
                to: 2,
                when: ShapeCond::Always,
            }],
        },
    ],
    // The encoder's attention assigns k, v, q, out; ranked with the language model's q, k, v, o
    // here (the names are shared), which only moves shard boundaries of >5 GB outputs.
    order: &[
        "audio_tower", "multi_modal_projector", "language_model", // Model
        "conv1", "conv2", "layers", "layer_norm", // Qwen2AudioEncoder
        "self_attn", "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm", // EncoderLayer
        "linear", // Qwen2AudioMultiModalProjector
        "model", "lm_head", // Qwen2 Model
        "embed_tokens", "norm", // Qwen2Model (layers above)
        "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "out_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    towers: &[Pat::Prefix("audio_tower."), Pat::Prefix("multi_modal_projector.")],
    ..Arch::BASE
};
