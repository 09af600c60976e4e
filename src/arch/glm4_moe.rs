//! `mlx_lm/models/glm4_moe.py`: the MTP layer (`model.layers.{num_hidden_layers}`) dropped;
//! experts stacked into `mlp.switch_mlp.*`; the router `mlp.gate` is a plain weight; its
//! `e_score_correction_bias` keeps its stored dtype. The model always has its own `lm_head`.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "glm4_moe",
    // `mlx_lm/models/solar_open.py` has its own `ModelArgs` but is `glm4_moe.Model`.
    aliases: &["solar_open"],
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[
        Rule::DropLayersFrom { prefix: "model.layers.", key: "num_hidden_layers" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // LanguageModel
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
