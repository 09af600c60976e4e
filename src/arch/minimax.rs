//! `mlx_lm/models/minimax.py` (also `minimax_m2`): experts `block_sparse_moe.experts.{e}.w1/w2/w3`
//! stacked into `block_sparse_moe.switch_mlp.{gate,down,up}_proj`; routers at 8 bits;
//! `e_score_correction_bias` keeps its stored dtype. FP8 checkpoints (`weight_scale_inv`,
//! 128×128 tiles, as MiniMax-M2 ships) are dequantized to bfloat16 first.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "minimax",
    aliases: &["minimax_m2"],
    category: Category::Moe,
    tied: Tied::Config { default: false },
    sanitize: &[
        Rule::DequantFp8Blocks { block: 128, broadcast: false },
        Rule::StackExperts {
            experts: "experts",
            into: "switch_mlp",
            rename: &[("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")],
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // MiniMaxModel
        "self_attn", "block_sparse_moe", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate", "switch_mlp", "e_score_correction_bias", // SparseMoeBlock
        "gate_proj", "up_proj", "down_proj", // SwitchGLU
    ],
    quant_predicate: &[(Pat::Suffix("block_sparse_moe.gate"), LayerQuant::ROUTER_8BIT)],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
