//! `mlx_lm/models/bailing_hybrid.py`: Ling 2.5-style hybrid. Every `layer_group_size`-th layer
//! (and the tail past the last full group) is MLA, the others linear attention. MTP layers
//! (numbered from `num_hidden_layers`) dropped; experts stacked into `mlp.switch_mlp`; the router
//! `mlp.gate.weight` moved to `mlp.gate.gate_proj.weight` (quantized at 8 bits); MLA's
//! `kv_b_proj` absorbed into `embed_q` / `unembed_out`, which stay in float; `expert_bias`
//! keeps its stored dtype.

use super::{Arch, Category, LayerQuant, Pat, Rule, Tied};

#[rustfmt::skip] // one line per module class
pub const ARCH: Arch = Arch {
    name: "bailing_hybrid",
    category: Category::Complex,
    tied: Tied::Config { default: false },
    sanitize: &[
        // mlx-lm filters MTP layers last; dropping them first spares stacking their experts
        // (which it never stacks: it only walks the base layers).
        Rule::DropLayersFrom { prefix: "model.layers.", key: "num_hidden_layers" },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::RenameSuffix { from: "mlp.gate.weight", to: "mlp.gate.gate_proj.weight" },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: false,
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "word_embeddings", "layers", "norm", // LanguageModel
        "attention", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        // MultiLatentAttention, LinearAttention
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "query_key_value", "dense", "g_proj", "g_norm",
        "key_layernorm", "query_layernorm",
        "switch_mlp", "gate", "shared_experts", // SparseMoeBlock
        "gate_proj", "up_proj", "down_proj", "expert_bias", // MLP, SwitchGLU, Gate
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: &[
        (Pat::Suffix("mlp.gate.gate_proj"), LayerQuant::ROUTER_8BIT),
        (Pat::Suffix("attention.embed_q"), LayerQuant::Skip),
        (Pat::Suffix("attention.unembed_out"), LayerQuant::Skip),
    ],
    no_cast: &[Pat::Contains("expert_bias")],
    ..Arch::BASE
};
