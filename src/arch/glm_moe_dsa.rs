//! `mlx_lm/models/glm_moe_dsa.py`: deepseek_v32's model and sanitize under another
//! `model_type` (its arguments read `rope_parameters`).

use super::deepseek_v32;
use super::{Arch, Category, Pat, Tied};

pub const ARCH: Arch = Arch {
    name: "glm_moe_dsa",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: deepseek_v32::SANITIZE,
    order: deepseek_v32::ORDER,
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[
        Pat::Suffix(".embed_q.weight"),
        Pat::Suffix(".unembed_out.weight"),
    ],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
