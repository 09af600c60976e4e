//! `mlx_lm/models/phi.py` (Phi-1.5/2, HF `PhiForCausalLM` layout). No `sanitize`; the model
//! always has its own `lm_head` (with bias).

use super::{Arch, Category, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phi",
    category: Category::NoOp,
    tied: Tied::Never,
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "final_layernorm", // PhiModel
        "self_attn", "input_layernorm", "mlp", // PhiDecoderLayer
        "q_proj", "k_proj", "v_proj", "dense", // PhiAttention
        "fc1", "fc2", // PhiMLP
    ],
    ..Arch::BASE
};
