//! `mlx_lm/models/step3p5.py`: Step 3.5. Multi-token-prediction weights (`.mtp`, layers past
//! `num_hidden_layers`) dropped; the MoE's `.moe.*` names moved under `.mlp` (`switch_mlp`
//! experts, `gate.gate`, `gate.router_bias`) and `.share_expert.` to `.mlp.share_expert.`; in a
//! checkpoint still in that original layout every `*norm*.weight` (zero-centred RMSNorms) gets
//! `+ 1`.

use super::qwen3_next::SWITCH_MLP;
use super::{Arch, Category, LayerQuant, Pat, Rule, Scalar, ShapeCond, Tied, ValueRule};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "step3p5",
    category: Category::Reshape,
    tied: Tied::Never,
    sanitize: &[
        Rule::IfAny {
            pat: Pat::Contains(".moe."),
            when: ShapeCond::Always,
            present: true,
            rules: &[Rule::Values {
                pat: Pat::All(&[Pat::Suffix(".weight"), Pat::Contains("norm")]),
                rank: None,
                op: ValueRule::Add(Scalar::Const(1.0)),
            }],
        },
        Rule::Drop(Pat::Contains(".mtp")),
        Rule::DropLayersFrom { prefix: "model.layers.", key: "num_hidden_layers" },
        Rule::ReplaceIfAbsent { from: ".moe.gate_proj.", to: ".mlp.switch_mlp.gate_proj." },
        Rule::ReplaceIfAbsent { from: ".moe.up_proj.", to: ".mlp.switch_mlp.up_proj." },
        Rule::ReplaceIfAbsent { from: ".moe.down_proj.", to: ".mlp.switch_mlp.down_proj." },
        Rule::ReplaceIfAbsent { from: ".moe.gate.", to: ".mlp.gate.gate." },
        Rule::ReplaceIfAbsent { from: ".moe.router_bias", to: ".mlp.gate.router_bias" },
        Rule::ReplaceIfAbsent { from: ".share_expert.", to: ".mlp.share_expert." },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // Step3p5Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", "g_proj", // Attention
        "gate", "router_bias", "switch_mlp", "share_expert", // MoE, MoEGate
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
    ],
    extra_quantizable: SWITCH_MLP,
    quant_predicate: &[(Pat::Contains("mlp.gate.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("router_bias")],
    ..Arch::BASE
};
