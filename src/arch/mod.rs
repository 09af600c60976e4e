//! Architectures are data. Each supported mlx-lm model module is one file here holding an
//! [`Arch`]: the declarative version of that module's `sanitize`, its module-tree order, which
//! parameters belong to quantizable layers, its `quant_predicate` and `cast_predicate`.
//! The planner interprets these rules; nothing else in the crate knows a model's name.
//!
//! To add a model: write `src/arch/<module>.rs` with a `pub const ARCH: Arch`, list it in
//! [`REGISTRY`], and add a fixture.

mod afm7;
mod afmoe;
mod apertus;
pub mod apply;
pub mod audio;
mod baichuan_m1;
mod bailing_hybrid;
mod bailing_moe;
mod bailing_moe_linear;
mod bailing_moe_v3;
mod bitnet;
mod cohere;
mod cohere2;
mod dbrx;
mod deepseek;
mod deepseek_v2;
mod deepseek_v3;
mod deepseek_v32;
mod deepseek_v41;
mod dots1;
mod ernie4_5;
mod ernie4_5_moe;
mod exaone;
mod exaone4;
mod exaone_moe;
mod falcon_h1;
mod fuse;
mod gear;
mod gemma;
mod gemma2;
mod gemma3;
mod gemma3_text;
mod gemma3n;
mod gemma4;
mod gemma4_text;
mod glm;
mod glm4;
mod glm4_moe;
mod glm4_moe_lite;
mod glm_moe_dsa;
mod gpt2;
mod gpt_bigcode;
mod gpt_neox;
mod gpt_oss;
mod gptj;
mod granite;
mod granitemoe;
mod granitemoehybrid;
mod helium;
mod hunyuan;
mod hunyuan_v1_dense;
mod internlm2;
mod internlm3;
mod iquestloopcoder;
mod jamba;
mod kimi_k25;
mod kimi_k3;
mod kimi_linear;
mod klear;
mod laguna;
mod lfm2;
mod lfm2_moe;
mod lfm2_vl;
mod lille_130m;
mod llama;
mod llama4;
mod llama4_text;
mod longcat_flash;
mod longcat_flash_ngram;
mod mamba;
mod mamba2;
mod mellum;
mod mimo;
mod mimo_v2_flash;
mod minicpm;
mod minicpm3;
mod minimax;
mod minimax_m3_vl;
mod ministral3;
pub(crate) mod mistral3;
mod mistral4;
mod mixtral;
mod mla;
mod muse_glimmer;
mod muse_spark;
mod nanbeige;
mod nanochat;
mod nemotron;
mod nemotron_h;
mod nemotron_nas;
mod olmo;
mod olmo2;
mod olmo3;
mod olmo_hybrid;
mod olmoe;
mod openelm;
mod phi;
mod phi3;
mod phi3small;
mod phimoe;
mod phixtral;
mod pixtral;
mod plamo;
mod plamo2;
mod plamo3;
mod qwen;
mod qwen2;
mod qwen2_moe;
mod qwen2_vl;
mod qwen3;
mod qwen3_5;
mod qwen3_5_moe;
mod qwen3_moe;
mod qwen3_next;
mod qwen3_vl;
mod qwen3_vl_moe;
mod recurrent_gemma;
mod registry;
pub mod rules;
mod rwkv7;
mod seed_oss;
mod smollm3;
mod spark2_5;
mod stablelm;
mod starcoder2;
mod step3p5;
mod talkie;
mod telechat3;
pub mod vlm;
mod youtu_llm;

pub use mla::{broadcasts as mla_broadcasts, dequantizes_fp8};
pub use registry::{REFUSED, REGISTRY, find, markdown_table, refusal, supported_model_types};
pub use rules::{
    Category, ConfigDim, LayerQuant, LayerSet, Pat, Payload, QuantPart, Rule, Scalar, ShapeCond,
    Tied, Unsupported, ValueOp, ValueRule,
};

/// Everything hf2mlx knows about one mlx-lm model module (`mlx_lm/models/<name>.py`).
#[derive(Debug)]
pub struct Arch {
    /// The mlx-lm module name, e.g. `"llama"`. Also a `model_type` it accepts.
    pub name: &'static str,
    /// Other `model_type` values mlx-lm maps to this module (`MODEL_REMAPPING`, e.g. `mistral`).
    pub aliases: &'static [&'static str],
    /// Which kind of `sanitize` the module has (the reference's §4 categories).
    pub category: Category,
    /// How the output head relates to the embedding (decides whether `lm_head.*` is dropped).
    pub tied: Tied,
    /// `sanitize`, as rules applied in order to the checkpoint's tensors.
    pub sanitize: &'static [Rule],
    /// Attribute names in the order the model's `__init__`s assign them, flattened over all
    /// module classes of the model. Output tensors are ordered by comparing dotted paths component
    /// by component with this ranking (numbers numerically, unknown names last, alphabetically),
    /// which reproduces `tree_flatten(model.parameters())` order: that order decides shard
    /// boundaries and the order of per-layer entries in config.json.
    pub order: &'static [&'static str],
    /// Parameters of layers that look quantizable (a 2-D `*.weight`) but are not a
    /// Linear/Embedding/SwitchLinear/MultiLinear in mlx-lm, so `nn.quantize` never touches them.
    pub not_quantizable: &'static [Pat],
    /// Parameters that are quantizable although they are not a 2-D `*.weight` (e.g. stacked
    /// `SwitchLinear` experts `[E, out, in]`).
    pub extra_quantizable: &'static [Pat],
    /// The model's own `quant_predicate`: first matching pattern decides; no match = default.
    pub quant_predicate: &'static [(Pat, LayerQuant)],
    /// The part of the model's `quant_predicate` that depends on the layer's kind in the
    /// configuration: layers of a numbered layer in the set whose path matches the pattern stay
    /// in float (bailing_moe_v3 skips `q_proj`/`g_proj` in its MLA layers only). Checked before
    /// `quant_predicate`, with the config; a recipe replaces both, as in mlx-lm.
    pub float_in_layers: &'static [(LayerSet, Pat)],
    /// The model's `cast_predicate`: parameters matching any pattern keep their stored dtype.
    pub no_cast: &'static [Pat],
    /// Configurations of this model type that the rules above do not cover.
    pub unsupported: &'static [Unsupported],
    /// Edits the model's `ModelArgs` make in place on the config dict mlx-lm then saves.
    pub config_edits: &'static [ConfigEdit],
    /// Modules a multimodal (mlx-vlm) conversion keeps in float: vision/audio towers and the
    /// projectors/connectors feeding the language model, matched against layer paths. Only the
    /// language model is quantized (unless `--q-override` names a tower layer). Empty for
    /// text-only conversions; non-empty marks the arch as multimodal (see [`vlm`]).
    pub towers: &'static [Pat],
}

/// A change mlx-lm's model code makes to the loaded config (dataclass fields share the config's
/// nested dicts, and `__post_init__` mutates them), so it shows in the saved config.json.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigEdit {
    /// In the dict `config[dict]` of the text model's config (`text_config` when present, else
    /// the whole config), key `from` is popped and re-inserted (last) as `to` when `to` is absent:
    /// qwen3_5's `rope_parameters["type"] = rope_parameters.pop("rope_type")`.
    RenameNestedKey {
        dict: &'static str,
        from: &'static str,
        to: &'static str,
    },
    /// `config["model_type"] = value`: a checkpoint whose own model_type names a module that
    /// cannot load the converted model (Pixtral-12B says `llava`; mlx-vlm needs `pixtral`).
    SetModelType(&'static str),
}

impl ConfigEdit {
    pub fn apply(&self, config: &mut serde_json::Map<String, serde_json::Value>) {
        match *self {
            ConfigEdit::SetModelType(value) => {
                config.insert("model_type".into(), value.into());
            }
            ConfigEdit::RenameNestedKey { dict, from, to } => {
                let has_text = matches!(
                    config.get("text_config"),
                    Some(serde_json::Value::Object(_))
                );
                let target = if has_text {
                    config
                        .get_mut("text_config")
                        .and_then(|tc| tc.get_mut(dict))
                } else {
                    config.get_mut(dict)
                };
                if let Some(serde_json::Value::Object(d)) = target
                    && !d.contains_key(to)
                    && let Some(v) = d.shift_remove(from)
                {
                    d.insert(to.to_string(), v);
                }
            }
        }
    }
}

impl Arch {
    /// Defaults for a plain decoder-only model with no sanitize rules; arch files override fields.
    pub const BASE: Arch = Arch {
        name: "",
        aliases: &[],
        category: Category::NoOp,
        tied: Tied::Config { default: true },
        sanitize: &[],
        order: &[],
        not_quantizable: &[],
        extra_quantizable: &[],
        quant_predicate: &[],
        float_in_layers: &[],
        no_cast: &[],
        unsupported: &[],
        config_edits: &[],
        towers: &[],
    };
}

/// Rules for a model type hf2mlx does not know, used only with `--trust-remote-code` (custom
/// model code): the common decoder conventions — rotary buffers dropped, `lm_head` dropped when
/// `tie_word_embeddings` is true, 2-D `*.weight` tensors quantizable, order from the usual
/// transformers names.
pub static GENERIC: Arch = Arch {
    name: "generic",
    category: Category::FilterRename,
    tied: Tied::Config { default: false },
    sanitize: &[Rule::Drop(Pat::Contains("rotary_emb.inv_freq"))],
    order: &[
        "model",
        "lm_head",
        "embed_tokens",
        "layers",
        "norm",
        "self_attn",
        "mlp",
        "input_layernorm",
        "post_attention_layernorm",
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "down_proj",
        "up_proj",
    ],
    ..Arch::BASE
};
