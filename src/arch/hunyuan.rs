//! `mlx_lm/models/hunyuan.py`: Hunyuan (dense and MoE). A checkpoint with a fused
//! `model.layers.0.mlp.gate_and_up_proj` has its `qkv_proj` split per key/value-head group into
//! `q_proj`/`k_proj`/`v_proj` and every `gate_and_up_proj` split in row halves into `up_proj`
//! (first) and `gate_proj`; per-expert weights are stacked into `mlp.switch_mlp`. The embedding
//! is always the output head.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "hunyuan",
    category: Category::Moe,
    tied: Tied::Always,
    sanitize: &[
        Rule::IfAny {
            pat: Pat::Exact("model.layers.0.mlp.gate_and_up_proj.weight"),
            when: ShapeCond::Always,
            present: true,
            rules: &[
                Rule::SplitKvGroups { from: "qkv_proj", q: "q_proj", k: "k_proj", v: "v_proj" },
                Rule::SplitRows {
                    suffix: "gate_and_up_proj.weight",
                    parts: &["up_proj.weight", "gate_proj.weight"],
                },
            ],
        },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", // Model
        "embed_tokens", "layers", "norm", // HunYuanModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "query_layernorm", "key_layernorm", // Attention
        "shared_mlp", "gate", "switch_mlp", // MoeBlock
        "wg", // Gate
        "gate_proj", "down_proj", "up_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    ..Arch::BASE
};
