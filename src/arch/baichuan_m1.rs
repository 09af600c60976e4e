//! `mlx_lm/models/baichuan_m1.py`: Baichuan-M1. Unless the checkpoint is already quantized
//! (`lm_head.scales`), the head's rows are normalised in f32 (`w / (‖w‖₂ + 1e-7)`) and cast
//! back to the stored dtype.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied, ValueRule};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "baichuan_m1",
    category: Category::Reshape,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::IfAny {
        pat: Pat::Exact("lm_head.scales"),
        when: ShapeCond::Always,
        present: false,
        rules: &[Rule::Values {
            pat: Pat::Exact("lm_head.weight"),
            rank: None,
            op: ValueRule::NormalizeRows { eps: 1e-7 },
        }],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // BaichuanModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "W_pack", "o_proj", "conv_k", "conv_v", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
