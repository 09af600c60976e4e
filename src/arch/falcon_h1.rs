//! `mlx_lm/models/falcon_h1.py`: Falcon-H1 (attention + mamba2 hybrid). A checkpoint whose first
//! conv1d kernel is still in PyTorch layout gets its muP multipliers folded into the weights
//! (embedding, head, q/k, o, mamba in/out projections, MLP gate/down; `in_proj` rows by the
//! segments of `ssm_multipliers`), each product computed in the stored dtype as mlx does, and
//! its conv1d kernels moved to `[C, K, 1]`. A converted checkpoint is left as it is.

use super::{Arch, Category, Pat, Rule, Scalar, ShapeCond, Tied, ValueRule};

/// `param *= config[key]` (the `ModelArgs` default when absent).
const fn times(suffix: &'static str, factors: &'static [Scalar]) -> Rule {
    Rule::Values {
        pat: Pat::Suffix(suffix),
        rank: None,
        op: ValueRule::Mul(factors),
    }
}

const fn cfg(key: &'static str, default: f64) -> Scalar {
    Scalar::Config {
        key,
        index: None,
        default,
    }
}

const fn cfg_at(key: &'static str, index: usize, default: f64) -> Scalar {
    Scalar::Config {
        key,
        index: Some(index),
        default,
    }
}

const ATTENTION_IN: Scalar = cfg("attention_in_multiplier", 1.0);

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "falcon_h1",
    category: Category::Reshape,
    tied: Tied::Config { default: true },
    sanitize: &[Rule::IfAny {
        pat: Pat::Exact("model.layers.0.mamba.conv1d.weight"),
        when: ShapeCond::LastGreaterThanSecond,
        present: true,
        rules: &[
            times("embed_tokens.weight", &[cfg("embedding_multiplier", 5.656854249492381)]),
            times("lm_head.weight", &[cfg("lm_head_multiplier", 0.0390625)]),
            times("q_proj.weight", &[ATTENTION_IN]),
            times("k_proj.weight", &[ATTENTION_IN]),
            times("key_proj.weight", &[ATTENTION_IN, cfg("key_multiplier", 0.390625)]),
            times("o_proj.weight", &[cfg("attention_out_multiplier", 0.9375)]),
            times("out_proj.weight", &[cfg("ssm_out_multiplier", 0.23570226039551587)]),
            times("gate_proj.weight", &[cfg_at("mlp_multipliers", 0, 0.8838834764831844)]),
            times("down_proj.weight", &[cfg_at("mlp_multipliers", 1, 0.5859375)]),
            Rule::Values { pat: Pat::Suffix("in_proj.weight"), rank: None, op: ValueRule::FalconMupRows },
            Rule::MoveAxis { pat: Pat::Contains("conv1d.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::Always },
        ],
    }],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "final_layernorm", // FalconH1Model
        "feed_forward", "mamba", "self_attn", "input_layernorm", "pre_ff_layernorm", // DecoderLayer
        "gate_proj", "up_proj", "down_proj", // MLP
        "conv1d", "in_proj", "dt_bias", "A_log", "norm", "D", "out_proj", // Mixer
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
    ],
    ..Arch::BASE
};
