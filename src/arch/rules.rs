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
    /// Per-expert weights stacked into one `[E, out, in]` tensor, as every MoE `sanitize` does
    /// with `mx.stack`: `P.<experts>.<e>.<proj>.<rest>` for e = 0..E becomes
    /// `P.<into>.<renamed proj>.<rest>` (`rest` = weight, bias, scales, biases...). `rename`
    /// maps projection names (mixtral: `w1` → `gate_proj`); unlisted names are kept. The experts
    /// present must be exactly 0..E.
    StackExperts {
        experts: &'static str,
        into: &'static str,
        rename: &'static [(&'static str, &'static str)],
    },
    /// Splits tensors whose name ends with `suffix` into `parts.len()` equal pieces along the
    /// second-to-last axis (mx `split(n, axis=-2)` of `[..., n·out, in]`); piece i replaces the
    /// suffix with `parts[i]`.
    SplitRows {
        suffix: &'static str,
        parts: &'static [&'static str],
    },
    /// Moves axis `from` to `to` (`mx.moveaxis`) for matching tensors of rank `rank` when `when`
    /// holds: PyTorch conv layouts to MLX's channels-last.
    MoveAxis {
        pat: Pat,
        rank: usize,
        from: usize,
        to: usize,
        when: ShapeCond,
    },
    /// Drops every tensor of a layer numbered at or past `config[key]`: `<prefix><i>.…` with
    /// `i >= config[key]` (multi-token-prediction layers checkpoints carry after the model's
    /// `num_hidden_layers`). Nothing happens when the key is absent.
    DropLayersFrom {
        prefix: &'static str,
        key: &'static str,
    },
    /// `rules`, applied only when the Python truthiness of `config[key]` (absent = false) is
    /// `truthy`: sanitize steps that depend on the configuration (granitemoehybrid's `use_moe`).
    IfConfig {
        key: &'static str,
        truthy: bool,
        rules: &'static [Rule],
    },
    /// Reshapes matching tensors to `[n / config[key], config[key]]` (n = element count): a
    /// per-head layout, e.g. rwkv7's `reshape(hidden_size // head_dim, head_dim)` of `[hidden]`
    /// vectors. Bytes are unchanged; only the shape is.
    SplitHeads { pat: Pat, key: &'static str },
    /// `weights[to] = weights[from]` when `from` exists: `to` becomes a copy of `from`,
    /// replacing any stored `to` (mlx-vlm's gemma3 writes its tied head this way).
    CopyAs {
        from: &'static str,
        to: &'static str,
    },
}

/// A condition on a tensor's shape, for rules that must not apply twice (idempotent
/// `sanitize` on already-converted weights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeCond {
    Always,
    /// `shape[-1] != 1` (mamba-style conv1d check).
    LastNotOne,
    /// `shape[-1] > shape[1]` (lfm2-style check).
    LastGreaterThanSecond,
    /// `shape[1] == 1` (gear-style check on `[C, 1, K]` kernels).
    SecondIsOne,
}

impl ShapeCond {
    pub fn holds(&self, shape: &[usize]) -> bool {
        match self {
            ShapeCond::Always => true,
            ShapeCond::LastNotOne => shape.last() != Some(&1),
            ShapeCond::LastGreaterThanSecond => {
                shape.len() > 1 && shape[shape.len() - 1] > shape[1]
            }
            ShapeCond::SecondIsOne => shape.get(1) == Some(&1),
        }
    }
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

/// What sanitize rules need from a tensor besides its name: its shape and the few tensor
/// transforms mlx-lm's `sanitize` functions use. The planner's payload describes where bytes come
/// from; tests use bare shapes.
pub trait Payload: Sized + Clone {
    fn shape(&self) -> Vec<usize>;
    /// `mx.stack(parts, axis=0)`; parts must have equal shapes.
    fn stack(parts: Vec<Self>) -> Self;
    /// Rows `[start, start+len)` of every block of `block` rows (the second-to-last axis).
    fn rows(self, block: usize, start: usize, len: usize) -> Self;
    /// `mx.moveaxis(x, from, to)`.
    fn move_axis(self, from: usize, to: usize) -> Self;
    /// `x.reshape(shape)` (same element count, row-major).
    fn reshape(self, shape: Vec<usize>) -> Self;
}

impl Payload for Vec<usize> {
    fn shape(&self) -> Vec<usize> {
        self.clone()
    }
    fn stack(parts: Vec<Self>) -> Self {
        let mut s = vec![parts.len()];
        s.extend(parts.first().cloned().unwrap_or_default());
        s
    }
    fn rows(mut self, _block: usize, _start: usize, len: usize) -> Self {
        let n = self.len();
        if n >= 2 {
            self[n - 2] = len;
        }
        self
    }
    fn move_axis(mut self, from: usize, to: usize) -> Self {
        let d = self.remove(from);
        self.insert(to, d);
        self
    }
    fn reshape(self, shape: Vec<usize>) -> Self {
        shape
    }
}
