//! `mlx_lm/models/granitemoe.py`: the fused expert input `block_sparse_moe.input_linear`
//! `[E, 2·F, H]` is split in halves into `switch_mlp.gate_proj` / `switch_mlp.up_proj`, and
//! `output_linear` becomes `switch_mlp.down_proj`. Router, `o_proj`, `down_proj` (experts too)
//! and `lm_head` are quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "granitemoe",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::SplitRows {
            suffix: "block_sparse_moe.input_linear.weight",
            parts: &["block_sparse_moe.switch_mlp.gate_proj.weight", "block_sparse_moe.switch_mlp.up_proj.weight"],
        },
        Rule::Replace { from: "block_sparse_moe.output_linear.", to: "block_sparse_moe.switch_mlp.down_proj." },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // GraniteMoeModel
        "self_attn", "block_sparse_moe", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "switch_mlp", "router", // GraniteMoeMoE
        "gate_proj", "up_proj", "down_proj", // SwitchGLU
        "layer", // router
    ],
    extra_quantizable: &[
        Pat::Suffix("switch_mlp.gate_proj.weight"),
        Pat::Suffix("switch_mlp.up_proj.weight"),
        Pat::Suffix("switch_mlp.down_proj.weight"),
    ],
    quant_predicate: &[
        (Pat::Suffix("block_sparse_moe.router.layer"), LayerQuant::ROUTER_8BIT),
        (Pat::Suffix("self_attn.o_proj"), LayerQuant::ROUTER_8BIT),
        (Pat::Suffix("mlp.down_proj"), LayerQuant::ROUTER_8BIT),
        (Pat::Exact("lm_head"), LayerQuant::ROUTER_8BIT),
    ],
    ..Arch::BASE
};
