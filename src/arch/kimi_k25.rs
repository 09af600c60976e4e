//! `mlx_lm/models/kimi_k25.py`: the text part of Kimi K2.5, a deepseek_v3 language model under
//! `language_model.` built from `text_config`. The vision tower and projectors are dropped and
//! the language model's tensors go through deepseek_v3's sanitize (compressed-tensors int4 packs, fp8 tiles, experts,
//! `kv_b_proj` absorption, `model.layers.61` and rotary buffers dropped).

use super::{Arch, Category, Pat, Rule, Tied};

#[rustfmt::skip]
pub const ARCH: Arch = Arch {
    name: "kimi_k25",
    category: Category::Complex,
    tied: Tied::Never,
    sanitize: &[
        Rule::Drop(Pat::Prefix("vision_tower.")),
        Rule::Drop(Pat::Prefix("vision_model.")),
        Rule::Drop(Pat::Prefix("multi_modal_projector.")),
        Rule::Drop(Pat::Prefix("mm_projector.")),
        // deepseek_v3's sanitize sees the language model's own names.
        Rule::RenamePrefix { from: "language_model.", to: "" },
        Rule::PackedInt4,
        Rule::DequantFp8Blocks { block: 128, broadcast: false },
        Rule::StackExperts { experts: "experts", into: "switch_mlp", rename: &[] },
        Rule::AbsorbMla {
            heads: "num_attention_heads",
            nope: &["qk_nope_head_dim"],
            v: &["v_head_dim"],
            quantized: true,
        },
        Rule::Drop(Pat::Prefix("model.layers.61")),
        Rule::Drop(Pat::Contains("rotary_emb.inv_freq")),
        Rule::AddPrefix("language_model."),
    ],
    order: &[
        "language_model", // Model
        "model", "lm_head", // LanguageModel
        "embed_tokens", "layers", "norm", // DeepseekV3Model
        "self_attn", "mlp", "input_layernorm", "post_attention_layernorm", // DecoderLayer
        "q_proj", "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
        "embed_q", "unembed_out", "o_proj",
        "gate_proj", "up_proj", "down_proj", // MLP, SwitchGLU
        "switch_mlp", "gate", "shared_experts", // MoE
        "weight", "e_score_correction_bias", // MoEGate
    ],
    not_quantizable: &[Pat::Suffix("mlp.gate.weight")],
    extra_quantizable: &[Pat::Suffix(".embed_q.weight"), Pat::Suffix(".unembed_out.weight")],
    no_cast: &[Pat::Contains("e_score_correction_bias")],
    ..Arch::BASE
};
