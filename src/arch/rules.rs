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
    /// Only the nested text config `config[key]` decides (InternVL's `llm_config`), with this
    /// default when it or its flag is absent.
    SubConfig { key: &'static str, default: bool },
}

/// A string pattern over dotted parameter paths, mirroring the Python tests mlx-lm uses
/// (`k.startswith`, `k.endswith`, `x in k`, `k == x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pat {
    Prefix(&'static str),
    Suffix(&'static str),
    Contains(&'static str),
    Exact(&'static str),
    /// Every pattern matches (`k.endswith(".weight") and "norm" in k`).
    All(&'static [Pat]),
    /// The pattern does not match (a `quant_predicate` that keeps everything but some layers in
    /// float).
    Not(&'static Pat),
}

impl Pat {
    pub fn matches(&self, s: &str) -> bool {
        match *self {
            Pat::Prefix(p) => s.starts_with(p),
            Pat::Suffix(p) => s.ends_with(p),
            Pat::Contains(p) => s.contains(p),
            Pat::Exact(p) => s == p,
            Pat::All(ps) => ps.iter().all(|p| p.matches(s)),
            Pat::Not(p) => !p.matches(s),
        }
    }
}

/// One step of a declarative `sanitize`.
#[derive(Clone, Copy, Debug, PartialEq)]
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
    /// Like `IfConfig`, for a key whose absence means `absent` rather than false (a dataclass
    /// default of true: lfm2_vl drops the projector's layer norm only when
    /// `projector_use_layernorm` is present and false).
    IfConfigOr {
        key: &'static str,
        absent: bool,
        truthy: bool,
        rules: &'static [Rule],
    },
    /// Reshapes matching tensors to `[n / config[key], config[key]]` (n = element count): a
    /// per-head layout, e.g. rwkv7's `reshape(hidden_size // head_dim, head_dim)` of `[hidden]`
    /// vectors. Bytes are unchanged; only the shape is.
    SplitHeads { pat: Pat, key: &'static str },
    /// fp8 block dequantization (deepseek_v3's `dequant`): every `K.weight_scale_inv` (a 2-D
    /// inverse scale per `block`×`block` tile of the E4M3 weight `K.weight`) is folded into
    /// `K.weight`, which becomes bfloat16, and removed. A scale without its weight is an error,
    /// as in mlx-lm (`KeyError`). With `broadcast` (mistral4), every `K_scale_inv` counts
    /// (fused experts: `experts.down_proj_scale_inv`) and a scale that broadcasts against the
    /// weight (per tensor, per expert `[E, 1, 1]`) multiplies it elementwise.
    DequantFp8Blocks { block: usize, broadcast: bool },
    /// MLA absorption: every `P.kv_b_proj.weight` (`[heads·(nope+v), rank]`) becomes
    /// `P.embed_q.weight` = `w.reshape(heads, nope+v, rank)[:, :nope, :].swapaxes(-1, -2)` and
    /// `P.unembed_out.weight` = `…[:, nope:, :]` (mlx_lm's `MultiLinear` layers), with heads,
    /// nope and v from the config (each the first of its keys with a positive value, like
    /// kimi_linear's `qk_nope_head_dim or head_dim`).
    AbsorbMla {
        heads: &'static str,
        nope: &'static [&'static str],
        v: &'static [&'static str],
        /// The model's sanitize takes an MLX-quantized `kv_b_proj` (with `.scales`): dequantizes
        /// it, splits it, and quantizes both halves again with the bits and group size the
        /// shapes give (the deepseek_v3 lineage). Where `false` such a checkpoint is refused.
        quantized: bool,
    },
    /// Matching tensors of rank > 1 reshaped to one axis (`x.reshape(-1)`).
    Flatten(Pat),
    /// `rules`, applied only when whether some tensor's name matches `pat` with a shape for which
    /// `when` holds equals `present`: the checks mlx-lm's `sanitize` functions make on the
    /// checkpoint itself (`if any("conv1d.weight" in k and v.shape[-1] != 1 ...)`, `if
    /// "model.layers.0.mlp.gate_and_up_proj.weight" in weights`), which keep them idempotent on
    /// already-converted weights.
    IfAny {
        pat: Pat,
        when: ShapeCond,
        present: bool,
        rules: &'static [Rule],
    },
    /// Drops every tensor whose name matches none of the patterns (a wrapper that rebuilds its
    /// weight tree from a few subtrees, dropping the rest).
    KeepOnly(&'static [Pat]),
    /// `k.replace(from, to)` on names that contain `from` but not yet `to` (renames that must
    /// not apply twice to already-converted names).
    ReplaceIfAbsent {
        from: &'static str,
        to: &'static str,
    },
    /// `v.squeeze()`: size-1 axes of matching tensors removed (bytes unchanged).
    Squeeze(Pat),
    /// Packed codes stored as bytes: tensors named `*<suffix>` (uint8 `[..., n, 16]`) become
    /// `v.view(uint32).flatten(-2)` (`[..., n·4]`, the same bytes) named `*<to>` (gpt_oss's
    /// mxfp4 `*_blocks` → `*.weight`).
    ViewWords {
        suffix: &'static str,
        to: &'static str,
    },
    /// Interleaved pieces of fused tensors: for i < n = `parts.len()`, matching tensors give
    /// `v[..., i::n, :]` (rows) or, with `columns`, `v[..., i::n]` (last axis), named with
    /// `from` replaced by `parts[i]` (gpt_oss's `gate_up_proj` → `gate_proj`, `up_proj`).
    SplitInterleaved {
        pat: Pat,
        from: &'static str,
        parts: &'static [&'static str],
        columns: bool,
    },
    /// `weights[to] = weights[from]` when `to` is absent (a head duplicated from the embedding).
    CopyIfAbsent {
        from: &'static str,
        to: &'static str,
    },
    /// The reverse of stacking (dbrx): tensors whose name contains `fused` hold all experts'
    /// rows `[E·F, D]`, E = `config[count_key...]`; expert e's rows become
    /// `<name with `fused` replaced by `<into>.<e>`>.weight`, transposed when the name ends with
    /// `transpose_suffix` (`v.T`).
    SplitExperts {
        fused: &'static str,
        into: &'static str,
        count_key: &'static [&'static str],
        transpose_suffix: &'static str,
    },
    /// Drops tensors matching any of `pats` in layers numbered at or past `total - minus`
    /// (values from `text_config` when there is one, else the config): the layer number is what
    /// follows the first `layers.` in the name. Gemma 4's KV-shared layers have no k/v
    /// projections of their own.
    DropInLayersFrom {
        pats: &'static [Pat],
        total: Scalar,
        minus: Scalar,
    },
    /// Names ending with `from` end with `to` instead.
    RenameSuffix {
        from: &'static str,
        to: &'static str,
    },
    /// A value transform on matching tensors (of rank `rank`, when given), computed the way mlx
    /// does arithmetic on an array of the stored dtype: `v + 1.0`, `v * multiplier`.
    Values {
        pat: Pat,
        rank: Option<usize>,
        op: ValueRule,
    },
    /// Swaps the last two axes (`mx.swapaxes(v, -2, -1)`) of matching tensors of rank `rank`:
    /// fused expert tensors stored `[E, in, out]`. Streamed by column blocks, never whole.
    SwapLastAxes { pat: Pat, rank: usize },
    /// Splits tensors whose name ends with `suffix` into `parts.len()` equal pieces along the
    /// *last* axis and swaps the last two axes of each (`mx.split(v, n, axis=-1)` then
    /// `swapaxes(1, 2)`): a fused `gate_up_proj` `[E, in, 2·out]` becomes `[E, out, in]` pieces.
    SplitColsSwapped {
        suffix: &'static str,
        parts: &'static [&'static str],
    },
    /// Splits the rows of tensors whose name contains `from` by key/value-head group, as
    /// `v.reshape(n_kv, groups + 2, head_dim, -1).split([groups, groups + 1], axis=1)` does
    /// (hunyuan's fused `qkv_proj`): with `head_dim = hidden_size / num_attention_heads` and
    /// `groups = num_attention_heads / num_key_value_heads`, the pieces renamed `from` → `q`,
    /// `k`, `v` are rows `[0, groups·hd)`, `[groups·hd, (groups+1)·hd)` and the last `hd` of
    /// every block of `(groups+2)·hd` rows.
    SplitKvGroups {
        from: &'static str,
        q: &'static str,
        k: &'static str,
        v: &'static str,
    },
    /// compressed-tensors `pack-quantized` int4 layers in MLX's affine layout (the remap
    /// deepseek_v3's and mistral4's `sanitize` start with): for every `P.weight_shape`,
    /// `P.weight_packed` (int32 `[out, in/8]`, eight nibbles LSB first, each value stored +8)
    /// becomes `P.weight` viewed as uint32, `P.weight_scale` becomes `P.scales`, and
    /// `P.biases = -8 · scales` (in the scales' dtype) is added. Every other tensor ending in
    /// `weight_scale` or `weight_packed` is dropped, as are the `weight_shape`s.
    PackedInt4,
    /// fp8 (e4m3) or fp4 (e2m1) codes with E8M0 scales, kept packed as MLX mxfp8/mxfp4 layers
    /// (minimax_m3_vl's `sanitize`): for every `K<scale>`, `K.weight` (one byte per e4m3 code or
    /// two e2m1 codes per byte, `[..., n]`) is viewed as uint32 along its last axis
    /// (`v.view(uint32)`: `[..., n/4]`, the same bytes) and `K<scale>` becomes `K.scales`,
    /// unchanged. A scale without its weight is an error (mlx-lm: `KeyError`). With `repack`
    /// (deepseek_v41's `_repack`), only scales next to a weight count (others are parameters
    /// of their own), and they are also put in MLX's layout: float scales become
    /// their E8M0 exponent bytes (`(log2(s) + 127).astype(uint8)`), and scales with another row
    /// count than the weight (one per 32×32 tile) are repeated 32 times along the rows and cut
    /// to the weight's rows.
    PackedMxScales { scale: &'static str, repack: bool },
    /// `v.reshape(g, -1, v.shape[-1])` of matching 2-D tensors, `g = config[key]` (else
    /// `text_config[key]`, else `default`): deepseek_v41's block-diagonal `wo_a`, stored as its
    /// groups' rows one after another, split back into `[groups, rows, in]`.
    SplitRowGroups {
        pat: Pat,
        key: &'static str,
        default: usize,
    },
    /// `weights[to] = weights[from]` when `from` exists: `to` becomes a copy of `from`,
    /// replacing any stored `to` (mlx-vlm's gemma3 writes its tied head this way).
    CopyAs {
        from: &'static str,
        to: &'static str,
    },
    /// `rules` applied with the text model's configuration: `config["text_config"]` when the
    /// config has one, else the whole config (a wrapper whose language model's `sanitize` sees
    /// only its own arguments, kimi_k3's `LanguageModel`).
    InText(&'static [Rule]),
    /// `mx.concatenate([P<part>.<leaf> ...], axis=0)` into `P<into>.<leaf>`, for every prefix
    /// `P` and leaf (`weight`, `scales`, `biases`, `bias`) where all parts are present and
    /// `P<into>.<leaf>` is not: fused projections (kimi_k3's KDA `qkv_proj`, muse_spark's
    /// `qkvg_proj`). Parts flagged `true` first have their rows put in RoPE pair order
    /// (muse_spark's `interleave_rope_rows`: within each head of `head_dim` rows, row `2i` is
    /// row `i` and row `2i + 1` row `head_dim / 2 + i`).
    ConcatRows {
        parts: &'static [(&'static str, bool)],
        into: &'static str,
        leaves: &'static [&'static str],
        head_dim: Option<ConfigDim>,
    },
    /// muse_spark's fixed residual gates: a tensor matching `pat` and ending with `suffix` is
    /// replaced by `<prefix><into>_alpha` and `<prefix><into>_beta`, the float32 coefficients
    /// `residual_gate_coefficients` computes from it (temperature 0.3, eps 1e-3).
    ResidualGate {
        pat: Pat,
        suffix: &'static str,
        into: &'static str,
    },
    /// `(1.0 + v.astype(float32)).astype(bfloat16)` on matching tensors: norm weights a
    /// checkpoint stores centred at zero, turned into their gains (muse_spark's `norm_gain`).
    NormGainBf16(Pat),
    /// `v.view(uint32)` on matching tensors (of any stored dtype, or only of bytes when
    /// `bytes_only`): packed codes in MLX's word layout.
    ViewU32 { pat: Pat, bytes_only: bool },
    /// Column `i` of tensors whose name ends with `suffix` (`v[..., i]`, one axis fewer) becomes
    /// the name with `suffix` replaced by `parts[i]`: ModelOpt's per-expert `weight_scale_2`
    /// pairs `[E, 2]` of a fused `gate_up_proj`.
    SplitColumns {
        suffix: &'static str,
        parts: &'static [&'static str],
    },
    /// `v[:n]` of matching 1-D tensors longer than `n` (kimi_k3's `A_log` cut to the heads).
    Truncate { pat: Pat, len: ConfigDim },
    /// `v.astype(to)` on every floating tensor: a model whose `sanitize` casts to the model's
    /// own dtype (mlx-audio's Whisper casts to float16 before convert's `--dtype`/`torch_dtype`
    /// cast, so a float32 output holds float16 values).
    CastFloats(crate::cast::FloatType),
    /// `rules`, in order: a run of steps several families' `sanitize` functions share (the
    /// CLIP/SigLIP `VisionModel.sanitize`, a wrapper's key layout), named once as a `const`.
    All(&'static [Rule]),
}

/// A number a sanitize step takes from the configuration (or a constant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Const(f64),
    /// `config[key]` (`config[key][index]` for lists), or the `ModelArgs` default when absent.
    Config {
        key: &'static str,
        index: Option<usize>,
        default: f64,
    },
}

/// A dimension read from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigDim {
    /// `config[a][b]...` (the text config's, when the config has a `text_config`, and the key is
    /// not at the top level).
    Key(&'static [&'static str]),
    /// `Key(a) // Key(b)` (a vision tower's `head_dim = hidden_size // num_attention_heads`).
    Quotient(&'static [&'static str], &'static [&'static str]),
}

impl ConfigDim {
    /// The positive value under `config`, if the keys are there.
    pub fn resolve(&self, config: &serde_json::Map<String, serde_json::Value>) -> Option<usize> {
        let key = |path: &[&str]| {
            let walk = |root: Option<&serde_json::Value>| {
                path.iter()
                    .try_fold(root?, |v, k| v.get(*k))
                    .and_then(serde_json::Value::as_u64)
            };
            let top = serde_json::Value::Object(config.clone());
            walk(Some(&top))
                .or_else(|| walk(config.get("text_config")))
                .map(|d| d as usize)
        };
        match *self {
            ConfigDim::Key(p) => key(p),
            ConfigDim::Quotient(a, b) => Some(key(a)? / key(b)?.max(1)),
        }
        .filter(|&d| d > 0)
    }

    /// The keys, for messages.
    pub fn describe(&self) -> String {
        match *self {
            ConfigDim::Key(p) => p.join("."),
            ConfigDim::Quotient(a, b) => format!("{} / {}", a.join("."), b.join(".")),
        }
    }
}

/// The value transforms of [`Rule::Values`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRule {
    /// `v + x` (Python float: rounded to the array's dtype first).
    Add(Scalar),
    /// `v * (a * b * ...)`: the factors are multiplied as Python floats, then applied like
    /// `Add`.
    Mul(&'static [Scalar]),
    /// falcon_h1's `in_proj` scaling: `v * (m * mup.astype(dtype)[:, None])`, where `mup` repeats
    /// `ssm_multipliers[i]` over row segments of sizes `mamba_d_ssm`, `mamba_d_ssm`,
    /// `mamba_n_groups·mamba_d_state` (twice) and `mamba_n_heads`; `m` is `ssm_in_multiplier`.
    FalconMupRows,
    /// `w / (‖w‖₂ over the last axis + eps)`, computed in f32 (baichuan_m1's head).
    NormalizeRows { eps: f64 },
    /// `w / (‖w‖₂ over the first axis + eps)`, computed in f32: every column divided by its
    /// norm over all rows (bailing's `norm_head`).
    NormalizeColumns { eps: f64 },
}

/// A value transform resolved against the configuration, applied by the executor to every block
/// of a tensor: values decoded to f32, transformed, rounded back to the stored float type — what
/// mlx computes for `array op python_float` (the scalar becomes an array of the array's dtype;
/// bf16/f16 arithmetic is done in f32 and rounded once).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueOp {
    /// `v + x`.
    Add { x: f64 },
    /// `v * f`, where the row factor `f` is `((c0 · c1) · c2) ...` over the chain of its row
    /// segment, each operand in the array's dtype (`(m * vec.astype(dtype))` then `v * that`).
    /// Segments are `(rows, chain)`, consecutive; one segment of `usize::MAX` rows for a scalar.
    Mul { segments: Vec<(usize, Vec<f64>)> },
    /// `(w.astype(f32) / (norm(w, axis=-1) + eps)).astype(dtype)`: the norm is mlx's CPU
    /// reduction, a sequential f32 sum of squares along the row, then `sqrt`.
    NormalizeRows { eps: f64 },
    /// `(w.astype(f32) / (norm(w.astype(f32), axis=0) + eps)).astype(dtype)`. A column's norm
    /// needs every row, so the executor first turns this into [`ValueOp::DivideColumns`] with one
    /// pass over the tensor (a sequential f32 sum of squares down each column, mlx's CPU
    /// strided reduction), then streams.
    NormalizeColumns { eps: f64 },
    /// `w / by[column]` in f32: a resolved [`ValueOp::NormalizeColumns`] (`by` = norm + eps).
    DivideColumns { by: Vec<f32> },
    /// muse_spark's `residual_gate_coefficients` on float32 gate values, the branch weight
    /// `beta = sigmoid(g / temperature)` (mlx's CPU sigmoid and its fast `exp`).
    GateBeta { temperature: f64 },
    /// The stream weight `alpha = sqrt(max(sigmoid(-w) * (1 + sigmoid(w)), eps))` of the same
    /// gate, `w = g / temperature`.
    GateAlpha { temperature: f64, eps: f64 },
}

/// Numbered layers a configuration singles out, for rules that depend on a layer's kind rather
/// than its name (hybrids whose attention classes share parameter names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerSet {
    /// Layers `i` with `(i + 1) % g == 0` or `i >= n / g * g`, where `g = config[group]` and
    /// `n = config[total]`: the full-attention layers bailing hybrids put after every `g - 1`
    /// linear ones, and the tail past the last full group.
    EveryNthAndTail {
        group: &'static str,
        total: &'static str,
    },
    /// Layer 0 and layer `n - 1`, `n = config[total]` (the text config's when there is one):
    /// muse_spark keeps the experts of its first and last layers in float.
    FirstAndLast { total: &'static str },
}

impl LayerSet {
    /// Whether layer `i` belongs to the set under `config`; `None` when a key is missing.
    pub fn contains(
        &self,
        config: &serde_json::Map<String, serde_json::Value>,
        i: u64,
    ) -> Option<bool> {
        match *self {
            LayerSet::EveryNthAndTail { group, total } => {
                let g = config.get(group)?.as_u64().filter(|g| *g > 0)?;
                let n = config.get(total)?.as_u64()?;
                Some((i + 1).is_multiple_of(g) || i >= n / g * g)
            }
            LayerSet::FirstAndLast { total } => {
                let n = config
                    .get("text_config")
                    .and_then(|t| t.get(total))
                    .or_else(|| config.get(total))?
                    .as_u64()?;
                Some(i == 0 || i + 1 == n)
            }
        }
    }
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
    /// The value that is not supported: a string, or the JSON text of another value (`true`).
    pub equals: &'static str,
    /// Why, for the error message.
    pub reason: &'static str,
}

/// One of the three tensors `mx.quantize` returns (affine mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantPart {
    /// The packed codes (uint32, `bits/32` of the last axis).
    Weight,
    /// One scale per group, in the input's float type.
    Scales,
    /// One bias per group, in the input's float type.
    Biases,
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
    /// An E4M3 weight dequantized with its per-tile inverse scales (bfloat16 values of the
    /// weight's shape); see [`Rule::DequantFp8Blocks`].
    fn fp8_blocks(self, scale_inv: Self, block: usize, broadcast: bool) -> Self;
    /// `mx.swapaxes(x, -2, -1)`.
    fn swap_last_axes(self) -> Self;
    /// A value transform (same shape and dtype).
    fn map_values(self, op: ValueOp) -> Self;
    /// `x.view(uint32).flatten(-2)` of uint8 codes `[..., n, k]`: `[..., n·k/4]`.
    fn view_words(self) -> Self;
    /// `x.astype(to)` when `x` is floating (shapes and traces are unchanged by a cast).
    fn cast_floats(self, _to: crate::cast::FloatType) -> Self {
        self
    }
    /// `x.view(uint32)` of 32-bit words (int32 packs): same shape, same bytes.
    fn view_u32(self) -> Self;
    /// `x.view(uint32)` of bytes (fp8/fp4 codes) `[..., n]`: `[..., n/4]`, the same bytes.
    fn view_bytes_as_words(self) -> Self;
    /// `(log2(x.astype(float32)) + 127).astype(uint8)` when `x` is floating (E8M0 exponent bytes
    /// of power-of-two scales); unchanged when it already is bytes. Shapes are unchanged.
    fn e8m0_exponents(self) -> Self {
        self
    }
    /// `mx.repeat(x, times, axis=-2)[..., :rows, :]`.
    fn repeat_rows(self, times: usize, rows: usize) -> Self;
    /// `mx.concatenate(parts, axis=0)`; parts agree on every axis but the first.
    fn concat(parts: Vec<Self>) -> Self;
    /// Rows put in RoPE pair order within each block of `block` rows (second-to-last axis):
    /// output row `2i` is row `i`, row `2i + 1` is row `block / 2 + i`.
    fn interleave_halves(self, block: usize) -> Self;
    /// `mx.dequantize(w, scales, biases, group_size, bits)` (affine) of `self` as the packed
    /// codes: float values in the scales' dtype, the last axis `32/bits` times longer.
    fn dequantize_affine(self, scales: Self, biases: Self, group_size: usize, bits: u32) -> Self;
    /// `part` of `mx.quantize(x, group_size, bits)` (affine) of floating `self`.
    fn quantize_affine_part(self, group_size: usize, bits: u32, part: QuantPart) -> Self;
    /// Whether the values are stored as bytes (uint8 codes), for `if v.dtype == mx.uint8`.
    fn is_bytes(&self) -> bool {
        false
    }
    /// `x.view(uint32)` whatever the stored dtype: the last axis shrinks by 4 / element size.
    /// Shape-only payloads count as 32-bit words (unchanged).
    fn view_as_u32(self) -> Self {
        self
    }
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
    fn rows(mut self, block: usize, _start: usize, len: usize) -> Self {
        let n = self.len();
        if n >= 2 {
            self[n - 2] = self[n - 2] / block.max(1) * len;
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
    fn fp8_blocks(self, _scale_inv: Self, _block: usize, _broadcast: bool) -> Self {
        self
    }
    fn swap_last_axes(mut self) -> Self {
        let n = self.len();
        if n >= 2 {
            self.swap(n - 2, n - 1);
        }
        self
    }
    fn map_values(self, _op: ValueOp) -> Self {
        self
    }
    fn view_u32(self) -> Self {
        self
    }
    fn view_bytes_as_words(mut self) -> Self {
        if let Some(n) = self.last_mut() {
            *n /= 4;
        }
        self
    }
    fn repeat_rows(mut self, _times: usize, rows: usize) -> Self {
        let n = self.len();
        if n >= 2 {
            self[n - 2] = rows;
        }
        self
    }
    fn concat(parts: Vec<Self>) -> Self {
        let mut s = parts.first().cloned().unwrap_or_default();
        if let Some(d) = s.first_mut() {
            *d = parts.iter().map(|p| p.first().copied().unwrap_or(0)).sum();
        }
        s
    }
    fn interleave_halves(self, _block: usize) -> Self {
        self
    }
    fn dequantize_affine(mut self, _s: Self, _b: Self, _group_size: usize, bits: u32) -> Self {
        if let Some(n) = self.last_mut() {
            *n = *n * 32 / bits.max(1) as usize;
        }
        self
    }
    fn quantize_affine_part(mut self, group_size: usize, bits: u32, part: QuantPart) -> Self {
        if let Some(n) = self.last_mut() {
            *n = match part {
                QuantPart::Weight => *n * bits as usize / 32,
                QuantPart::Scales | QuantPart::Biases => *n / group_size.max(1),
            };
        }
        self
    }
    fn view_words(mut self) -> Self {
        if self.len() >= 2 {
            let k = self.pop().unwrap_or(0);
            if let Some(n) = self.last_mut() {
                *n = *n * k / 4;
            }
        }
        self
    }
}
