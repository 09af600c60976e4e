//! `mlx_lm/models/llama4.py`: Llama 4 (vision wrapper converted text-only). Vision weights
//! dropped; the fused `feed_forward.experts.gate_up_proj` `[E, H, 2·I]` is split along its last
//! axis into `experts.{gate,up}_proj.weight` and each transposed to `[E, I, H]`;
//! `experts.down_proj` `[E, I, H]` is transposed to `[E, H, I]`. The head is never tied.

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "llama4",
    category: Category::Moe,
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Contains("vision_model")),
        Rule::Drop(Pat::Contains("multi_modal_projector")),
        Rule::SplitColsSwapped {
            suffix: "feed_forward.experts.gate_up_proj",
            parts: &["feed_forward.experts.gate_proj.weight", "feed_forward.experts.up_proj.weight"],
        },
        Rule::SwapLastAxes { pat: Pat::Suffix("feed_forward.experts.down_proj"), rank: 3 },
        Rule::RenameSuffix {
            from: "feed_forward.experts.down_proj",
            to: "feed_forward.experts.down_proj.weight",
        },
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // LlamaModel
        "self_attn", "feed_forward", "input_layernorm", "post_attention_layernorm", // TransformerBlock
        "q_proj", "k_proj", "v_proj", "o_proj", // Attention
        "experts", "router", "shared_expert", // MoE
        "gate_proj", "down_proj", "up_proj", // MLP
        "experts/gate_proj", "experts/up_proj", "experts/down_proj", // SwitchGLU
    ],
    extra_quantizable: &[
        Pat::Suffix("feed_forward.experts.gate_proj.weight"),
        Pat::Suffix("feed_forward.experts.up_proj.weight"),
        Pat::Suffix("feed_forward.experts.down_proj.weight"),
    ],
    ..Arch::BASE
};
