//! `mlx_lm/models/nemotron-nas.py` (Llama-Nemotron "Super/Ultra": per-layer block configs with
//! no-op or linear-replacement attention / FFN).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "nemotron-nas",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // NemotronNASModel
        "input_layernorm", "self_attn", "post_attention_layernorm", "mlp", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "linear", // LinearSubblockReplacement
    ],
    ..Arch::BASE
};
