//! `mlx_lm/models/iquestloopcoder.py`. No `sanitize`.

use super::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "iquestloopcoder",
    category: Category::NoOp,
    tied: Tied::Config { default: false },
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", "gate_projections", // IQuestLoopCoderModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    // `LoopGateProjection` (a bare `[heads, head_dim]` weight + bias) is not an nn.Linear.
    not_quantizable: &[Pat::Contains("gate_projections.")],
    ..Arch::BASE
};
