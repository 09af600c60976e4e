//! `mlx_lm/models/minimax_m3_vl.py`: the text part of MiniMax-M3, a MiniMax MoE language model
//! (GemmaRMSNorm, optional block-sparse index attention, shared experts) under
//! `language_model.`, built from `text_config`. The vision tower and projectors are dropped; the
//! head is dropped when `text_config.tie_word_embeddings`.
//!
//! The published weights are mxfp8: e4m3 bytes with one E8M0 exponent per 32 values
//! (`weight_scale_inv`, `[out, in/32]`), which is MLX's mxfp8 layout once the bytes are read as
//! uint32, so `sanitize` keeps them packed ([`Rule::PackedMxScales`]) and the loader's mxfp8
//! `quantization` (from `quant_method` `mxfp8`, or `fp8` with ue8m0 scales over 32×32 blocks)
//! makes them quantized layers. Dense layers whose MLP is stored under `block_sparse_moe` move
//! to `mlp`, fused `gate_up_proj` rows are split in two, and per-expert `w1`/`w2`/`w3` are
//! stacked into `switch_mlp`. NOT covered: re-saves that fold the shared expert in as expert
//! `num_local_experts` of a stacked `switch_mlp` (mlx-lm peels it off by shape).

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

const MOE: &str = "block_sparse_moe";

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "minimax_m3_vl",
    category: Category::Moe,
    // `text_config["tie_word_embeddings"]` (TextArgs default False).
    tied: Tied::TextConfigOnly { default: false },
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Drop(Pat::Prefix("multi_modal_projector.")),
        Rule::Drop(Pat::Prefix("patch_merge_mlp.")),
        Rule::TieHead("language_model.lm_head"),
        Rule::PackedMxScales { scale: ".weight_scale_inv", repack: false },
        // A dense layer's MLP stored under block_sparse_moe: its projections are `gate_proj`,
        // the router is `gate`, so these names are exact.
        Rule::Replace { from: ".block_sparse_moe.gate_proj.", to: ".mlp.gate_proj." },
        Rule::Replace { from: ".block_sparse_moe.up_proj.", to: ".mlp.up_proj." },
        Rule::Replace { from: ".block_sparse_moe.down_proj.", to: ".mlp.down_proj." },
        Rule::SplitRows { suffix: ".switch_mlp.gate_up_proj.weight", parts: &[".switch_mlp.gate_proj.weight", ".switch_mlp.up_proj.weight"] },
        Rule::SplitRows { suffix: ".switch_mlp.gate_up_proj.scales", parts: &[".switch_mlp.gate_proj.scales", ".switch_mlp.up_proj.scales"] },
        Rule::SplitRows { suffix: ".switch_mlp.gate_up_proj.biases", parts: &[".switch_mlp.gate_proj.biases", ".switch_mlp.up_proj.biases"] },
        Rule::SplitRows { suffix: ".shared_experts.gate_up_proj.weight", parts: &[".shared_experts.gate_proj.weight", ".shared_experts.up_proj.weight"] },
        Rule::SplitRows { suffix: ".shared_experts.gate_up_proj.scales", parts: &[".shared_experts.gate_proj.scales", ".shared_experts.up_proj.scales"] },
        Rule::SplitRows { suffix: ".shared_experts.gate_up_proj.biases", parts: &[".shared_experts.gate_proj.biases", ".shared_experts.up_proj.biases"] },
        Rule::StackExperts {
            experts: "experts",
            into: "switch_mlp",
            rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
        },
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // TextModel
        "self_attn", MOE, "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "index_q_proj", "index_k_proj", "index_q_norm", "index_k_norm", // sparse index heads
        "gate", "e_score_correction_bias", "switch_mlp", "shared_experts", // SparseMoeBlock
        "gate_proj", "up_proj", "down_proj", // SwitchGLU, DenseMLP
    ],
    quant_predicate: &[(Pat::Suffix("block_sparse_moe.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
