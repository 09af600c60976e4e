//! `mlx_lm/models/ministral3.py`: a Llama-style decoder. `sanitize` drops rotary buffers, the
//! tied head and `activation_scale`s.
//!
//! Refused: FP8 checkpoints (`weight_scale_inv` with an fp8 `quantization_config`). mlx-lm
//! 0.32.2 multiplies the raw E4M3 bytes (loaded as `uint8`) by the scale without `from_fp8`,
//! which yields meaningless float32 weights; hf2mlx will not write such a model.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "ministral3",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq")),
        Rule::Drop(Pat::Contains("activation_scale")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LanguageModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    ..Arch::BASE
};
