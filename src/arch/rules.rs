//! The vocabulary architecture files are written in.

/// The reference's classification of mlx-lm `sanitize` functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// `sanitize` absent or returns its input.
    NoOp,
    /// Drops or renames keys only.
    FilterRename,
    /// Reshapes/transposes or changes values.
    Reshape,
    /// Stacks per-expert weights (or splits fused ones).
    Moe,
    /// Anything else (MLA absorption, fp8 dequantization, ...).
    Complex,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::NoOp => "no-op",
            Category::FilterRename => "filter/rename",
            Category::Reshape => "reshape",
            Category::Moe => "moe",
            Category::Complex => "complex",
        }
    }
}

/// How `lm_head` exists in the mlx-lm model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tied {
    /// `config["tie_word_embeddings"]` decides, with this default when the key is absent
    /// (the `ModelArgs` default). When tied, `lm_head.weight` is dropped.
    Config { default: bool },
    /// Like `Config`, but read from `text_config` first (multimodal wrappers).
    TextConfig { default: bool },
    /// The model never has an `lm_head` (the embedding is always used as the head).
    Always,
    /// The model always has its own `lm_head`.
    Never,
    /// Tied exactly when the checkpoint has no `lm_head.weight` (gemma3_text style).
    IfNoLmHead,
    /// Like `Config`, for models whose flag has another name (openelm:
    /// `share_input_output_layers`).
    ConfigKey { key: &'static str, default: bool },
    /// Only the text model's config decides: `text_config["tie_word_embeddings"]`, or the whole
    /// config when there is no `text_config` (qwen2_vl), with this default. Unlike `TextConfig`, a
    /// top-level flag is ignored when `text_config` exists (the wrapper builds the text model from
    /// `text_config` alone).
    TextConfigOnly { default: bool },
}

/// A string pattern over dotted parameter paths, mirroring the Python tests mlx-lm uses
/// (`k.startswith`, `k.endswith`, `x in k`, `k == x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pat {
    Prefix(&'static str),
    Suffix(&'static str),
    Contains(&'static str),
    Exact(&'static str),
}

impl Pat {
    pub fn matches(&self, s: &str) -> bool {
        match *self {
            Pat::Prefix(p) => s.starts_with(p),
            Pat::Suffix(p) => s.ends_with(p),
            Pat::Contains(p) => s.contains(p),
            Pat::Exact(p) => s == p,
        }
    }
}

/// One step of a declarative `sanitize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Remove every tensor whose name matches.
    Drop(Pat),
    /// `k.replace(from, to)` on every name (all occurrences, like Python's `str.replace`).
    Replace {
        from: &'static str,
        to: &'static str,
    },
    /// Rename names starting with `from` to start with `to` instead.
    RenamePrefix {
        from: &'static str,
        to: &'static str,
    },
    /// Prefix every name that does not already start with `prefix`.
    AddPrefix(&'static str),
    /// If some name starts with `from`, that subtree replaces the subtree `to`: names starting
    /// with `to` but not with `from` are dropped, then `from` is renamed to `to`. Nothing happens
    /// when no name starts with `from`. Python: `if sub := tree["model"].get("language_model"):
    /// tree["model"] = sub` is `Hoist { from: "model.language_model.", to: "model." }`.
    Hoist {
        from: &'static str,
        to: &'static str,
    },
    /// Applies the [`Tied`] decision here, for the head module at this path (e.g.
    /// `language_model.lm_head` in multimodal wrappers, whose text model pops its own head):
    /// `IfNoLmHead` looks for `<path>.weight`, and a tied model loses every `<path>.*` tensor.
    /// When a rule list has this, the implicit top-level `lm_head` step after the rules is skipped.
    TieHead(&'static str),
}

/// What a model's `quant_predicate` returns for a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerQuant {
    /// `False`: keep the layer in float.
    Skip,
    /// A dict: `to_quantized(**dict)`; absent keys take `to_quantized`'s defaults
    /// (group_size 64, bits 4, mode affine). The dict is written to config.json as given.
    Dict {
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: Option<&'static str>,
    },
}

impl LayerQuant {
    /// The `{"group_size": 64, "bits": 8}` routers most MoE models use.
    pub const ROUTER_8BIT: LayerQuant = LayerQuant::Dict {
        group_size: Some(64),
        bits: Some(8),
        mode: None,
    };
}

/// A configuration this module's rules do not cover: converting it would silently produce a
/// wrong model, so the planner refuses it up front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// Path of keys into config.json, e.g. `&["text_config", "model_type"]`.
    pub key: &'static [&'static str],
    /// The string value that is not supported.
    pub equals: &'static str,
    /// Why, for the error message.
    pub reason: &'static str,
}
