//! `mlx_lm/models/deepseek_v32.py` (also the model of `glm_moe_dsa`): deepseek_v3's weights plus
//! the sparse-attention `indexer`. MTP layers (`*.layers.N` with N ≥ `num_hidden_layers`)
//! dropped; fp8 128×128 tiles dequantized; experts stacked; `kv_b_proj` absorbed into
//! `embed_q` / `unembed_out`.

use super::{Arch, Category, Pat, Rule, Tied};

pub const SANITIZE: &[Rule] = &[
    Rule::DropLayersFrom {
        prefix: "model.layers.",
        key: "num_hidden_layers",
    },
    Rule::DequantFp8Blocks {
        block: 128,
        broadcast: false,
    },
    Rule::StackExperts {
        experts: "experts",
        into: "switch_mlp",
        rename: &[],
    },
    Rule::AbsorbMla {
        heads: "num_attention_heads",
        nope: &["qk_nope_head_dim"],
        v: &["v_head_dim"],
        quantized: true,
    },
];

#[rustfmt::skip] // one line per module class
pub const ORDER: &[&str] = &[
    "model", "lm_head", // Model
    "embed_tokens", "layers", "norm", // DeepseekV32Model
    "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
    // DeepseekV32Attention
    "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
    "embed_q", "unembed_out", "o_proj", "indexer",
    "wq_b", "wk", "k_norm", "weights_proj", // Indexer
    "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
    "switch_mlp", "gate", "shared_experts", // MoE
    "weight", "e_score_correction_bias", // MoEGate
];

pub const ARCH: Arch = Arch {
    name: "deepseek_v32",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: SANITIZE,
    order: ORDER,
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[
        Pat::Suffix(".embed_q.weight"),
        Pat::Suffix(".unembed_out.weight"),
    ],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
