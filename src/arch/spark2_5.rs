//! `mlx_lm/models/spark2_5.py`. Its `quant_predicate` keeps the per-head gate `g_proj` in float.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "spark2_5",
    category: Category::FilterRename,
    tied: Tied::Config { default: true },
    sanitize: &[
        // mlx-lm renames only when `model.embedding.weight` is absent; with both present its
        // strict load fails, and here the duplicate name is rejected by the planner.
        Rule::RenamePrefix { from: "model.embed_tokens.weight", to: "model.embedding.weight" },
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
    ],
    order: &[
        "model", "lm_head", // Model
        "embedding", "layers", "norm", // Spark2_5Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_k_v_proj", "g_proj", "out_proj", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    quant_predicate: &[(Pat::Suffix("self_attn.g_proj"), LayerQuant::Skip)],
    ..Arch::BASE
};
