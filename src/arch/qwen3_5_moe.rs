//! `mlx_lm/models/qwen3_5_moe.py`: Qwen3.5 MoE. The wrapper renames of `qwen3_5`, then the fused
//! `mlp.experts.gate_up_proj` `[E, 2·I, H]` is split in row halves into
//! `mlp.switch_mlp.{gate,up}_proj.weight` and `mlp.experts.down_proj` becomes
//! `mlp.switch_mlp.down_proj.weight`; then Qwen3.5's text sanitize.

use super::qwen3_5::{ORDER, ROPE_TYPE, TEXT, WRAPPER};
use super::qwen3_next::{ROUTERS, SWITCH_MLP};
use super::{Arch, Category, Pat, Rule, Tied};

pub const ARCH: Arch = Arch {
    name: "qwen3_5_moe",
    category: Category::Moe,
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        WRAPPER[0],
        WRAPPER[1],
        WRAPPER[2],
        WRAPPER[3],
        Rule::SplitRows {
            suffix: "mlp.experts.gate_up_proj",
            parts: &[
                "mlp.switch_mlp.gate_proj.weight",
                "mlp.switch_mlp.up_proj.weight",
            ],
        },
        Rule::RenameSuffix {
            from: "mlp.experts.down_proj",
            to: "mlp.switch_mlp.down_proj.weight",
        },
        TEXT[0],
        TEXT[1],
        TEXT[2],
        TEXT[3],
    ],
    order: ORDER,
    extra_quantizable: SWITCH_MLP,
    quant_predicate: ROUTERS,
    no_cast: &[Pat::Suffix("A_log")],
    config_edits: ROPE_TYPE,
    ..Arch::BASE
};
