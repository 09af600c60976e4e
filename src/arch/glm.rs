//! `mlx_lm/models/glm.py` (GLM-4 9B, `GlmForCausalLM`).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "glm",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::Drop(Pat::Contains("self_attn.rotary_emb.inv_freq"))],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // GLMModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // GLMBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // GLMAttention
        "gate_up_proj", "down_proj", // GLMMLP
    ],
    ..Arch::BASE
};
