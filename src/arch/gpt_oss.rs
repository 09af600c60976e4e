//! `mlx_lm/models/gpt_oss.py`: fused experts. The released checkpoints store them as mxfp4
//! (`quantization_config.quant_method: mxfp4`): `*_proj_blocks` (uint8 `[E, out, in/32, 16]`)
//! viewed as uint32 `[E, out, in/8]` become the packed `weight`, `*_proj_scales` the `scales`;
//! `gate_up_proj` interleaves gate and up rows (`v[..., ::2, :]`, `v[..., 1::2, :]`), its bias
//! interleaves their columns. Already-sanitized weights (a `gate_proj.weight`) pass unchanged.

use super::{Arch, Category, LayerQuant, Pat, Rule, ShapeCond, Tied};

const PARTS: &[&str] = &["gate_proj", "up_proj"];

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gpt_oss",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::IfAny {
        pat: Pat::Contains("gate_proj.weight"),
        when: ShapeCond::Always,
        present: false,
        rules: &[
            Rule::ViewWords { suffix: "_blocks", to: ".weight" },
            Rule::Replace { from: "_proj_scales", to: "_proj.scales" },
            Rule::Replace { from: "_proj_bias", to: "_proj.bias" },
            Rule::SplitInterleaved {
                pat: Pat::All(&[Pat::Contains("gate_up_proj"), Pat::Contains("bias")]),
                from: "gate_up_proj",
                parts: PARTS,
                columns: true,
            },
            Rule::SplitInterleaved {
                pat: Pat::Contains("gate_up_proj"),
                from: "gate_up_proj",
                parts: PARTS,
                columns: false,
            },
        ],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "norm", "layers", // GptOssMoeModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "sinks", "q_proj", "k_proj", "v_proj", "o_proj", // AttentionBlock
        "experts", "router", // MLPBlock
        "gate_proj", "up_proj", "down_proj", // SwitchGLU
    ],
    extra_quantizable: &[Pat::All(&[Pat::Contains("mlp.experts."), Pat::Suffix(".weight")])],
    quant_predicate: &[(Pat::Contains("mlp.router"), LayerQuant::ROUTER_8BIT)],
    ..Arch::BASE
};
