//! `mlx_audio/stt/models/whisper` (mlx-audio 0.6.2): Whisper as `mlx_audio.convert` writes it.
//!
//! `Model.sanitize` maps Hugging Face keys (recognised by a leading `model.`) onto the
//! openai-whisper names mlx-audio's modules use, drops the encoder's position table (mlx-audio
//! computes its sinusoids), moves the two Conv1d kernels from PyTorch `(O, I, K)` to MLX
//! `(O, K, I)`, and casts every float tensor to the model's dtype, float16 (`Model(config)`
//! is built with its default dtype), before convert's own `--dtype`/`torch_dtype` cast: a
//! float32 output holds float16 values, exactly as mlx-audio writes them and loads them anyway.
//!
//! Unlike a vision-language conversion nothing is kept out of quantization: mlx-audio has no
//! skip list and Whisper no `model_quant_predicate`, so the encoder's Linear layers and the
//! token embedding are quantized like the decoder's (see [`super`] for the shape rule).

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};
use crate::cast::FloatType;

/// `key_map` of `Model.sanitize`, in its order (each pair is a `str.replace` on the key).
#[rustfmt::skip]
const HF_RULES: &[Rule] = &[
    Rule::RenamePrefix { from: "model.", to: "" },
    // ("encoder.embed_positions.weight", None): skipped, computed in MLX.
    Rule::Drop(Pat::Contains("encoder.embed_positions.weight")),
    Rule::Replace { from: "decoder.embed_positions.weight", to: "decoder.positional_embedding" },
    Rule::Replace { from: "encoder.layer_norm.", to: "encoder.ln_post." },
    Rule::Replace { from: "decoder.layer_norm.", to: "decoder.ln." },
    Rule::Replace { from: "encoder.layers.", to: "encoder.blocks." },
    Rule::Replace { from: "decoder.layers.", to: "decoder.blocks." },
    Rule::Replace { from: ".self_attn_layer_norm.", to: ".attn_ln." },
    Rule::Replace { from: ".final_layer_norm.", to: ".mlp_ln." },
    Rule::Replace { from: ".encoder_attn_layer_norm.", to: ".cross_attn_ln." },
    Rule::Replace { from: ".fc1.", to: ".mlp1." },
    Rule::Replace { from: ".fc2.", to: ".mlp2." },
    Rule::Replace { from: ".self_attn.q_proj.", to: ".attn.query." },
    Rule::Replace { from: ".self_attn.k_proj.", to: ".attn.key." },
    Rule::Replace { from: ".self_attn.v_proj.", to: ".attn.value." },
    Rule::Replace { from: ".self_attn.out_proj.", to: ".attn.out." },
    Rule::Replace { from: ".encoder_attn.q_proj.", to: ".cross_attn.query." },
    Rule::Replace { from: ".encoder_attn.k_proj.", to: ".cross_attn.key." },
    Rule::Replace { from: ".encoder_attn.v_proj.", to: ".cross_attn.value." },
    Rule::Replace { from: ".encoder_attn.out_proj.", to: ".cross_attn.out." },
    Rule::Replace { from: "decoder.embed_tokens.", to: "decoder.token_embedding." },
    // Conv1d: (out, in, kernel) -> (out, kernel, in)
    Rule::MoveAxis { pat: Pat::Contains("conv1.weight"), rank: 3, from: 1, to: 2, when: ShapeCond::Always },
    Rule::MoveAxis { pat: Pat::Contains("conv2.weight"), rank: 3, from: 1, to: 2, when: ShapeCond::Always },
    // The decoder's head is its token embedding (`as_linear`); a stored tied copy is not a
    // parameter of the model (mlx-audio's strict `load_weights` would refuse it).
    Rule::Drop(Pat::Exact("proj_out.weight")),
];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "whisper",
    category: Category::FilterRename,
    tied: Tied::Never,
    sanitize: &[
        // `is_hf_format = any(k.startswith("model.") ...)`: MLX keys are left as they are.
        Rule::IfAny { pat: Pat::Prefix("model."), when: ShapeCond::Always, present: true, rules: HF_RULES },
        Rule::CastFloats(FloatType::F16),
    ],
    order: &[
        "encoder", "decoder", // Model
        "conv1", "conv2", "blocks", "ln_post", // AudioEncoder
        "token_embedding", "positional_embedding", "ln", // TextDecoder (then blocks, ln)
        // ResidualAttentionBlock
        "attn", "attn_ln", "cross_attn", "cross_attn_ln", "mlp1", "mlp2", "mlp_ln",
        "query", "key", "value", "out", // MultiHeadAttention
    ],
    ..Arch::BASE
};
