//! `mlx_lm/models/glm4_moe_lite.py`: deepseek_v3-style MLA without fp8 handling. MTP layers
//! (`*.layers.N`, N ≥ `num_hidden_layers`) dropped; experts stacked; `kv_b_proj` absorbed into
//! `embed_q` / `unembed_out`.

use super::deepseek_v3;
use super::{Arch, Category, Pat, Rule, Tied};

pub const ARCH: Arch = Arch {
    name: "glm4_moe_lite",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[
        Rule::DropLayersFrom {
            prefix: "model.layers.",
            key: "num_hidden_layers",
        },
        Rule::StackExperts {
            experts: "experts",
            into: "switch_mlp",
            rename: &[],
        },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: true,
        },
    ],
    order: deepseek_v3::ORDER,
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[
        Pat::Suffix(".embed_q.weight"),
        Pat::Suffix(".unembed_out.weight"),
    ],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
