//! `mlx_lm/models/deepseek_v3.py`: compressed-tensors int4 layers (`weight_packed`) put in MLX's
//! affine layout; fp8 checkpoints (`weight_scale_inv`, 128×128 tiles) dequantized to bfloat16; experts stacked into `mlp.switch_mlp.*`; MLA's `kv_b_proj` absorbed
//! into the per-head `embed_q` / `unembed_out` (quantizable `MultiLinear` layers); the MTP layer
//! `model.layers.61` (by number, as mlx-lm hard-codes it) and rotary buffers dropped. The router
//! `mlp.gate` is a plain weight whose `e_score_correction_bias` keeps its stored dtype.

use super::{Arch, Category, Pat, Rule, Tied};

/// deepseek_v3's sanitize; shared by the modules that reuse
/// `DeepseekV3Model` (kimi_k25, kimi_vl) after their own renames.
pub const SANITIZE: &[Rule] = &[
    Rule::PackedInt4,
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
    Rule::Drop(Pat::Prefix("model.layers.61")),
    Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
];

/// Module order of `DeepseekV3Model` and its layers.
#[rustfmt::skip] // one line per module class
pub const ORDER: &[&str] = &[
    "model", "lm_head", // Model
    "embed_tokens", "layers", "norm", // DeepseekV3Model
    "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
    // DeepseekV3Attention
    "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
    "embed_q", "unembed_out", "o_proj",
    "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
    "switch_mlp", "gate", "shared_experts", // MoE
    "weight", "e_score_correction_bias", // MoEGate
];

pub const ARCH: Arch = Arch {
    name: "deepseek_v3",
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
