//! `mlx_lm/models/ernie4_5_moe.py`: MTP modules and `e_score_correction_bias` dropped; experts
//! stacked into `mlp.switch_mlp.*`.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "ernie4_5_moe",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::Drop(Pat::Contains("mtp_block.")),
        Rule::Drop(Pat::Contains("mtp_linear_proj.")),
        Rule::Drop(Pat::Contains("mtp_hidden_norm.")),
        Rule::Drop(Pat::Contains("mtp_emb_norm.")),
        Rule::Drop(Pat::Contains("e_score_correction_bias")),
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Ernie4_5Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "gate_proj", "down_proj", "up_proj", // MLP
        "gate", "switch_mlp", "shared_experts", // MoE
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
