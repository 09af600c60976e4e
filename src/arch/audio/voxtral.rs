//! `mlx_audio/stt/models/voxtral` (mlx-audio 0.6.2): Mistral's Voxtral, a Whisper-style encoder
//! (`audio_tower`, with a learned position table it keeps), a two-Linear projector and a Llama
//! language model, under transformers' `VoxtralForConditionalGeneration` names (the Hub repos'
//! `model-*.safetensors`).
//!
//! `Model.sanitize` only moves the encoder's two Conv1d kernels from PyTorch `(O, I, K)` to MLX
//! `(O, K, I)`; it recognises them by `"conv"` in the key and, to stay idempotent on MLX
//! checkpoints, by `K < I`. hf2mlx refuses MLX-layout inputs for speech models, so every kernel
//! it sees is PyTorch's and the rule moves the axis unconditionally. `model_quant_predicate`
//! keeps `audio_tower` in float; the projector is quantized with the language model.
//!
//! Hub repos also carry Mistral's own `consolidated.safetensors`, which mlx-audio 0.6.2's loader
//! prefers and this sanitize cannot map; hf2mlx reads the transformers shards.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "voxtral",
    category: Category::Reshape,
    // `LanguageModel` has a head exactly when its config is untied (both releases are); a
    // stored head is loaded as it is.
    tied: Tied::Never,
    sanitize: &[
        Rule::MoveAxis {
            pat: Pat::All(&[Pat::Prefix("audio_tower.conv"), Pat::Suffix(".weight")]),
            rank: 3,
            from: 1,
            to: 2,
            when: ShapeCond::Always,
        },
    ],
    // The encoder's attention and the language model's share `self_attn`; one ranking serves
    // both (it only moves shard boundaries of >5 GB outputs).
    order: &[
        "language_model", "audio_tower", "multi_modal_projector", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", // LlamaModel (then layers, norm)
        "conv1", "conv2", "embed_positions", "layers", "norm", "layer_norm", // Encoder
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "self_attn_layer_norm", "fc1", "fc2", "final_layer_norm", // VoxtralEncoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "out_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "linear_1", "linear_2", // MultiModalProjector
    ],
    towers: &[Pat::Prefix("audio_tower.")],
    ..Arch::BASE
};
