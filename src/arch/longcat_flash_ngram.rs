//! `mlx_lm/models/longcat_flash_ngram.py`: longcat_flash's layers and sanitize, with the token
//! embedding moved into the n-gram embedding module
//! (`model.embed_tokens` → `model.ngram_embeddings.word_embeddings`).

use super::longcat_flash;
use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip]
pub const ARCH: Arch = Arch {
    name: "longcat_flash_ngram",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: true,
        },
        Rule::Drop(Pat::Prefix("model.mtp")),
        Rule::Replace {
            from: "model.embed_tokens.weight",
            to: "model.ngram_embeddings.word_embeddings.weight",
        },
    ],
    order: &[
        "model", "lm_head", // Model
        "ngram_embeddings", "layers", "norm", // LongcatFlashNgramModel
        "word_embeddings", "embedders", "post_projs", // NgramEmbedding
        "mlp", "self_attn", "mlps", "input_layernorm", "post_attention_layernorm",
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "o_proj",
        "gate_proj", "up_proj", "down_proj",
        "switch_mlp", "router",
        "classifier", "e_score_correction_bias",
    ],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    quant_predicate: longcat_flash::QUANT_PREDICATE,
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
