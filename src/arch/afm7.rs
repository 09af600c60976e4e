//! `mlx_lm/models/afm7.py` (Apple Foundation Model). No `sanitize`; the head is the embedding.

use super::{Arch, Category, Pat, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "afm7",
    category: Category::NoOp,
    tied: Tied::Always,
    order: &[
        "model", // Model
        "embedding", "layers", "kv_reuse_layers", "output_norm", // AFMModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // (KVReuse)TransformerBlock
        // Attention: qkv_proj, out_proj, q_norm, k_norm, quant_key_scale, quant_value_scale;
        // KVReuseAttention: q_proj, out_proj, q_norm
        "qkv_proj", "q_proj", "out_proj", "q_norm", "k_norm", "quant_key_scale", "quant_value_scale",
        "gate_proj", "down_proj", "up_proj", // MLP
    ],
    // `qkv_proj` is a `FusedLinear` whose `to_quantized(group_size, bits)` takes no `mode`, so
    // `nn.quantize` raises TypeError on it (mlx-lm cannot quantize afm7, nor load a quantized
    // `qkv_proj`). Keeping it in float gives a model mlx-lm loads.
    not_quantizable: &[Pat::Suffix("self_attn.qkv_proj.weight")],
    ..Arch::BASE
};
