//! `mlx_lm/models/gear.py`: rotary buffers and `embed_scale` dropped; the conv mixers'
//! `key_conv` / `value_conv` kernels transposed from `[C, 1, K]` to `[C, K, 1]`.

use super::{Arch, Category, Pat, Rule, ShapeCond, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "gear",
    category: Category::Reshape,
    tied: Tied::Config { default: true },
    sanitize: &[
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
        Rule::Drop(Pat::Suffix("embed_scale")),
        Rule::MoveAxis { pat: Pat::Suffix("key_conv.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::SecondIsOne },
        Rule::MoveAxis { pat: Pat::Suffix("value_conv.weight"), rank: 3, from: 2, to: 1, when: ShapeCond::SecondIsOne },
    ],
    order: &[
        "model", "lm_head", // Model
        "embed_tokens", "layers", "norm", // GearModel
        // DecoderLayer
        "self_attn", "local_mixer", "mlp", "input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm",
        "key_conv", "value_conv", // ConvKVGatedMixer (then as Attention)
        "q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm", // Attention
        "gate_proj", "up_proj", "down_proj", // MLP
    ],
    ..Arch::BASE
};
