//! `mlx_lm/models/qwen2_moe.py`: experts `mlp.experts.{e}.{gate,up,down}_proj` stacked into
//! `mlp.switch_mlp.*` (SwitchGLU), next to a shared expert and its gate. The model always has its
//! own `lm_head`.

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "qwen2_moe",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Qwen2MoeModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate", "switch_mlp", "shared_expert", "shared_expert_gate", // SparseMoeBlock
        "gate_proj", "down_proj", "up_proj", // MLP (shared expert)
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
