//! `mlx_lm/models/mistral4.py`: Mistral 4, deepseek_v3-style MLA with MoE. fp8 weights are
//! dequantized to bfloat16, with 128×128 tile scales or scales that broadcast (per tensor, per
//! expert `[E, 1, 1]`), every `*_scale_inv` counting (fused experts' `experts.down_proj_scale_inv`);
//! static `activation_scale`s dropped; fused experts (`mlp.experts.gate_up_proj` `[E, 2I, H]`,
//! `mlp.experts.down_proj`) split and renamed into `mlp.switch_mlp.*`, per-expert ones stacked;
//! `kv_b_proj` absorbed into `embed_q` / `unembed_out`; rotary buffers dropped.
//! Compressed-tensors int4 layers (`weight_packed`) are first put in MLX's affine layout.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "mistral4",
    category: Category::Complex,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::PackedInt4,
        Rule::Drop(Pat::Suffix("activation_scale")),
        Rule::DequantFp8Blocks { block: 128, broadcast: true },
        Rule::SplitRows {
            suffix: "mlp.experts.gate_up_proj",
            parts: &["mlp.switch_mlp.gate_proj.weight", "mlp.switch_mlp.up_proj.weight"],
        },
        Rule::Replace { from: "mlp.experts.down_proj", to: "mlp.switch_mlp.down_proj.weight" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: true,
        },
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Mistral4Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // Mistral4Attention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "o_proj",
        "gate_proj", "up_proj", "down_proj", // DeepseekV3MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // Mistral4MoE
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    ..Arch::BASE
};
