//! `mlx_lm/models/nemotron_h.py`: MTP modules (`mtp.*`) dropped; conv1d kernels moved to
//! `[C, K, 1]`; experts `mixer.experts.{e}.up_proj/down_proj` stacked into
//! `mixer.switch_mlp.fc1/fc2`; the router `mixer.gate` is a plain weight; `A_log` and
//! `e_score_correction_bias` keep their stored dtype. The model always has its own `lm_head`.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "nemotron_h",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Prefix("mtp.")),
        Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::LastNotOne },
        Rule::StackExperts {
            experts: "experts",
            into: "switch_mlp",
            rename: &[("up_proj", "fc1"), ("down_proj", "fc2")],
        },
    ],
    order: &[
        "backbone", "lm_head", // Model
        "embeddings", "layers", "norm_f", // NemotronHModel
        "norm", "mixer", // NemotronHBlock
        // Mamba2Mixer (its own `norm` after `D`)
        "conv1d", "in_proj", "dt_bias", "A_log", "D", "mixer/norm", "out_proj",
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "up_proj", "down_proj", // MLP
        "switch_mlp", "gate", "shared_experts", // MoE
        "fc1", "fc2", // SwitchMLP
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mixer.gate.weight")],
    no_cast: &[Pat::Contains("e_score_correction_bias"), Pat::Contains("A_log")],
    ..Arch::BASE
};
