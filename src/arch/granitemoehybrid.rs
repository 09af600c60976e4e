//! `mlx_lm/models/granitemoehybrid.py`: conv1d kernels moved to `[C, K, 1]`. With experts
//! (`num_local_experts` set), the fused `block_sparse_moe.input_linear` `[E, 2·F, H]` is split in
//! halves into `switch_mlp.gate_proj` / `switch_mlp.up_proj` and `output_linear` becomes
//! `switch_mlp.down_proj` (the `shared_mlp` stays fused); without experts, the dense
//! `shared_mlp.input_linear` is split into `mlp.gate_proj` / `mlp.up_proj` and `output_linear`
//! becomes `mlp.down_proj`. Routers are quantized at 8 bits.

use super::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "granitemoehybrid",
    category: Category::Moe,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne },
        Rule::IfConfig { key: "num_local_experts", truthy: true, rules: &[
            Rule::SplitRows {
                suffix: "block_sparse_moe.input_linear.weight",
                parts: &["block_sparse_moe.switch_mlp.gate_proj.weight", "block_sparse_moe.switch_mlp.up_proj.weight"],
            },
            Rule::Replace { from: "block_sparse_moe.output_linear.weight", to: "block_sparse_moe.switch_mlp.down_proj.weight" },
        ] },
        Rule::IfConfig { key: "num_local_experts", truthy: false, rules: &[
            Rule::SplitRows {
                suffix: "shared_mlp.input_linear.weight",
                parts: &["mlp.gate_proj.weight", "mlp.up_proj.weight"],
            },
            Rule::Replace { from: "shared_mlp.output_linear.weight", to: "mlp.down_proj.weight" },
        ] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", // GraniteMoeHybridModel (then `norm`)
        // DecoderLayer
        "input_layernorm", "mamba", "self_attn", "shared_mlp", "block_sparse_moe", "mlp",
        "post_attention_layernorm",
        "conv1d", "in_proj", "dt_bias", "A_log", "D", "norm", "out_proj", // Mamba2Mixer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "input_linear", "output_linear", // SharedMLP
        "switch_mlp", "router", "layer", // MoE, router
        "gate_proj", "down_proj", "up_proj", // MLP
        "switch_mlp/gate_proj", "switch_mlp/up_proj", "switch_mlp/down_proj", // SwitchGLU
    ],
    extra_quantizable: &[
        Pat::Suffix("switch_mlp.gate_proj.weight"),
        Pat::Suffix("switch_mlp.up_proj.weight"),
        Pat::Suffix("switch_mlp.down_proj.weight"),
    ],
    quant_predicate: &[(Pat::Suffix("router.layer"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
