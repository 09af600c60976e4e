//! `mlx_lm/models/phixtral.py` (also `phi-msft`): experts `transformer.h.{l}.moe.mlp.{e}.fc1/fc2`
//! (weights and biases) stacked into `moe.switch_mlp.fc1/fc2`. The head is its own module
//! (`lm_head.ln`, `lm_head.linear`).

use super::{Arch, Category, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "phixtral",
    aliases: &["phi-msft"],
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[Rule::StackExperts { experts: "mlp", into: "switch_mlp", rename: &[] }],
    order: &[
        "transformer", "lm_head", // Model
        "embd", "h", "wte", // Transformer, Embd
        "mixer", "ln", "moe", "linear", // ParallelBlock, OutputHead
        "Wqkv", "out_proj", // RoPEAttention
        "switch_mlp", "gate", // MOE
        "fc1", "fc2", // SwitchMLP
    ],
    ..Arch::BASE
};
