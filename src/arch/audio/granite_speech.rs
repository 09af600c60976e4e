//! `mlx_audio/stt/models/granite_speech` (mlx-audio 0.6.2): IBM Granite Speech, a Conformer CTC
//! encoder, a windowed Q-Former projector (with its learned `query`) and a Granite language
//! model, under transformers' `GraniteSpeechForConditionalGeneration` names.
//!
//! `Model.sanitize` drops BatchNorm's `num_batches_tracked` (running mean and variance are
//! parameters of mlx-audio's BatchNorm and stay), drops the bare `weight`/`bias` of the optional
//! `out_llm.safetensors` speculative-decoding head, lifts the extra `model.` level of
//! Transformers 5.19 checkpoints, and moves the Conformer's Conv1d kernels to MLX `(O, K, I)`:
//! the pointwise `up_conv`/`down_conv` from `(O, I, 1)`, the depthwise `depth_conv` from
//! `(C, 1, K)`. mlx-audio tells PyTorch kernels by a unit axis to stay idempotent on MLX
//! checkpoints; hf2mlx refuses MLX-layout inputs for speech models, so every kernel it sees is
//! PyTorch's and the rule moves the axis unconditionally. `model_quant_predicate` keeps
//! `encoder` and `projector` in float.

use crate::arch::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "granite_speech",
    category: Category::Reshape,
    // GraniteLM has a head exactly when its text config is untied; a stored one is loaded.
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Contains("num_batches_tracked")),
        Rule::Drop(Pat::Exact("weight")),
        Rule::Drop(Pat::Exact("bias")),
        Rule::RenamePrefix { from: "language_model.model.model.", to: "language_model.model." },
        // `any(name in k for name in ["up_conv", "down_conv", "depth_conv"])`, rank-3 weights.
        Rule::MoveAxis { pat: Pat::All(&[Pat::Contains("up_conv"), Pat::Suffix(".weight")]), rank: 3, from: 1, to: 2, when: ShapeCond::Always },
        Rule::MoveAxis { pat: Pat::All(&[Pat::Contains("down_conv"), Pat::Suffix(".weight")]), rank: 3, from: 1, to: 2, when: ShapeCond::Always },
        Rule::MoveAxis { pat: Pat::All(&[Pat::Contains("depth_conv"), Pat::Suffix(".weight")]), rank: 3, from: 1, to: 2, when: ShapeCond::Always },
    ],
    // `encoder` is both the Model's CTC encoder and the Q-Former's layer stack, `query` both the
    // projector's learned queries and the attention's Linear: one ranking serves both (it only
    // moves shard boundaries of >5 GB outputs).
    order: &[
        "encoder", "projector", "language_model", // Model
        "input_linear", "layers", "out", "out_mid", // CTCEncoder
        "ff1", "attn", "conv", "ff2", "post_norm", // ConformerBlock
        "pre_norm", "up_proj", "down_proj", // ConformerFeedForward
        "to_q", "to_kv", "to_out", "rel_pos_emb", // ConformerAttention
        "norm", "up_conv", "depth_conv", "batch_norm", "down_conv", // ConformerConvModule
        "query", "qformer", "linear", // EncoderProjector
        "layernorm", "layer", // QFormerModel, QFormerEncoder
        "attention", "crossattention", "intermediate_query", "output_query", // QFormerLayer
        "output", "key", "value", "dense", "LayerNorm", // Q-Former attention and outputs
        "model", "lm_head", "embed_tokens", // GraniteLM, GraniteModel (then layers, norm)
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", // Attention, MLP
    ],
    towers: &[Pat::Prefix("encoder."), Pat::Prefix("projector.")],
    ..Arch::BASE
};
