//! Which layers get quantized, and how: mlx-lm's `quantize_model` predicate chain (model
//! predicate or mixed recipe), then hf2mlx's per-tensor controls (`--q-bits-embedding`,
//! `--q-override`), applied in that order.

use regex::Regex;
use serde_json::{Map, Value};

use super::{Mode, QuantSpec};
use crate::arch::apply::{is_quantizable, is_tower, model_predicate};
use crate::arch::{Arch, LayerQuant};

/// A mixed-precision recipe (`--quant-predicate mixed_L_H`): llama.cpp Q4_K_M-style bit
/// allocation between a low and a high bit width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipe {
    pub low: u32,
    pub high: u32,
}

impl Recipe {
    /// mlx-lm's four recipes plus the three mlx-vlm adds.
    pub const NAMES: [&'static str; 7] = [
        "mixed_2_6",
        "mixed_3_4",
        "mixed_3_5",
        "mixed_3_6",
        "mixed_3_8",
        "mixed_4_6",
        "mixed_4_8",
    ];

    pub fn parse(name: &str) -> Option<Recipe> {
        if !Self::NAMES.contains(&name) {
            return None;
        }
        let mut it = name.strip_prefix("mixed_")?.split('_');
        let low = it.next()?.parse().ok()?;
        let high = it.next()?.parse().ok()?;
        Some(Recipe { low, high })
    }
}

/// Where the layer index sits in parameter paths, and how many layers there are: what
/// `mixed_quant_predicate_builder` derives from the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecipeContext {
    pub layer_location: usize,
    pub num_layers: usize,
}

impl RecipeContext {
    /// Derived from the model's layer paths (module order). mlx-lm takes the first `down_proj`
    /// path and fails on models that have none ("Model does not have expected keys for mixed
    /// quant"); hf2mlx then falls back to the first quantizable path inside a numbered layer,
    /// so the recipe still gives high bits to `v_proj` and `lm_head` in such models.
    pub fn from_layers<'a>(layers: impl Iterator<Item = &'a str> + Clone) -> Option<RecipeContext> {
        let first_digit = |p: &str| p.split('.').position(|c| c.parse::<u64>().is_ok());
        let probe = layers
            .clone()
            .find(|p| p.contains("down_proj"))
            .or_else(|| layers.clone().find(|p| first_digit(p).is_some()))?;
        let comps: Vec<&str> = probe.split('.').collect();
        let loc = first_digit(probe).unwrap_or(comps.len() - 1);
        // `len(model.layers)`: distinct indices under the same prefix.
        let prefix = comps[..loc].join(".") + ".";
        let mut indices: Vec<&str> = layers
            .filter_map(|p| p.strip_prefix(prefix.as_str()))
            .filter_map(|rest| rest.split('.').next())
            .filter(|c| c.parse::<u64>().is_ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        Some(RecipeContext {
            layer_location: loc,
            num_layers: indices.len(),
        })
    }

    /// Whether the layer a path lies in is one the recipe gives more bits: the first and last
    /// eighth of the layers and every third one between.
    fn uses_more_bits(&self, layer: &str) -> bool {
        let comps: Vec<&str> = layer.split('.').collect();
        // mlx-lm does `int(path.split(".")[loc])`, which raises on a non-numeric component;
        // treating such paths as layer 0 keeps the rule total.
        let index: i64 = comps
            .get(self.layer_location)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let n = self.num_layers as i64;
        index < n / 8 || index >= 7 * n / 8 || (index - n / 8).rem_euclid(3) == 2
    }

    /// `mixed_quant_predicate`'s choice for a layer path: high bits or low bits.
    fn wants_high_bits(&self, layer: &str) -> bool {
        let use_more_bits = self.uses_more_bits(layer);
        let v_like = ["v_proj", "v_a_proj", "v_b_proj"]
            .iter()
            .any(|v| layer.contains(v));
        ((v_like || layer.contains("down_proj")) && use_more_bits) || layer.contains("lm_head")
    }

    /// mlx-vlm's `mixed_quant_predicate` (0.7.10 `convert.py`), which differs from mlx-lm's:
    /// the embedding gets the high bits too (`"embed_tokens" in path`, so Gemma 3n's
    /// `embed_tokens_per_layer` as well), only `v_proj` counts as a value projection, and
    /// LFM2's `feed_forward.w2` counts as a down projection.
    fn vlm_wants_high_bits(&self, layer: &str) -> bool {
        let use_more_bits = self.uses_more_bits(layer);
        let down = layer.contains("down_proj") || layer.contains("feed_forward.w2");
        ((layer.contains("v_proj") || down) && use_more_bits)
            || layer.contains("lm_head")
            || layer.contains("embed_tokens")
    }
}

/// The group size mlx-vlm's recipe builder always uses (`group_size = 64` in
/// `mixed_quant_predicate_builder`), whatever `--q-group-size` says; a layer whose input size
/// it does not divide stays in float. hf2mlx uses it unless `--q-group-size` is given.
pub const VLM_RECIPE_GROUP_SIZE: usize = 64;

/// `--q-override REGEX=SPEC`: what a matching layer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideSpec {
    /// Leave the layer in float.
    Skip,
    /// Another bit width, keeping the global mode and group size.
    Bits(u32),
    /// A full specification (`affine:6:64`, `mxfp8`, `nvfp4`, `affine:3`).
    Spec(QuantSpec),
}

#[derive(Clone, Debug)]
pub struct Override {
    pub pattern: Regex,
    pub spec: OverrideSpec,
    /// The text the user gave, for messages.
    pub text: String,
}

impl Override {
    /// Parses `REGEX=SPEC`. SPEC: `skip`, `B`, `MODE`, `MODE:B` or `MODE:B:G`.
    pub fn parse(s: &str) -> Result<Override, String> {
        let (re, spec) = s.rsplit_once('=').ok_or_else(|| {
            format!(
                "--q-override `{s}`: expected REGEX=SPEC, e.g. 'lm_head=8' or 'mlp=affine:6:64'"
            )
        })?;
        let pattern = Regex::new(re)
            .map_err(|e| format!("--q-override `{s}`: bad regular expression: {e}"))?;
        let bad = |why: String| format!("--q-override `{s}`: {why}");
        let spec = match spec.trim() {
            "skip" | "none" | "float" => OverrideSpec::Skip,
            t if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() => {
                OverrideSpec::Bits(t.parse().map_err(|_| bad(format!("bad bits `{t}`")))?)
            }
            t => {
                let mut parts = t.split(':');
                let mode_s = parts.next().unwrap_or_default();
                let mode = Mode::parse(mode_s)
                    .ok_or_else(|| bad(format!("unknown mode `{mode_s}` (affine, mxfp4, nvfp4, mxfp8, skip, or a bit count)")))?;
                let (dgs, dbits) = mode.defaults();
                let bits = match parts.next() {
                    Some(b) => b.parse().map_err(|_| bad(format!("bad bits `{b}`")))?,
                    None => dbits,
                };
                let group_size = match parts.next() {
                    Some(g) => g
                        .parse()
                        .map_err(|_| bad(format!("bad group size `{g}`")))?,
                    None => dgs,
                };
                if parts.next().is_some() {
                    return Err(bad("expected at most MODE:BITS:GROUP_SIZE".into()));
                }
                let spec = QuantSpec {
                    mode,
                    group_size,
                    bits,
                };
                spec.validate().map_err(bad)?;
                OverrideSpec::Spec(spec)
            }
        };
        Ok(Override {
            pattern,
            spec,
            text: s.to_string(),
        })
    }
}

/// The user's quantization request.
#[derive(Clone, Debug)]
pub struct QuantRequest {
    /// The global spec (`--q-mode --q-bits --q-group-size`, with the mode's defaults).
    pub spec: QuantSpec,
    /// Whether `--q-group-size` was given: recipes write `"group_size": null` otherwise.
    pub group_size_given: bool,
    pub recipe: Option<Recipe>,
    /// `--q-bits-embedding`.
    pub embedding_bits: Option<u32>,
    /// `--q-override`, in the order given.
    pub overrides: Vec<Override>,
}

impl QuantRequest {
    pub fn new(spec: QuantSpec) -> QuantRequest {
        QuantRequest {
            spec,
            group_size_given: true,
            recipe: None,
            embedding_bits: None,
            overrides: Vec::new(),
        }
    }

    /// The spec `--q-bits-embedding` gives: affine at those bits, with the global group size
    /// when the global mode is affine (fp modes fix their own group size, so 64 then).
    pub fn embedding_spec(&self) -> Option<QuantSpec> {
        let bits = self.embedding_bits?;
        let group_size = if self.spec.mode == Mode::Affine {
            self.spec.group_size
        } else {
            64
        };
        Some(QuantSpec {
            mode: Mode::Affine,
            group_size,
            bits,
        })
    }

    /// The spec an override gives, relative to the global one.
    fn override_spec(&self, o: &OverrideSpec) -> Option<QuantSpec> {
        match *o {
            OverrideSpec::Skip => None,
            OverrideSpec::Bits(bits) => {
                if self.spec.mode == Mode::Affine {
                    Some(QuantSpec { bits, ..self.spec })
                } else {
                    // fp modes have a fixed bit width: a bare bit count means affine.
                    Some(QuantSpec {
                        mode: Mode::Affine,
                        group_size: 64,
                        bits,
                    })
                }
            }
            OverrideSpec::Spec(s) => Some(s),
        }
    }

    /// Checks every spec the request can produce, before any work.
    pub fn validate(&self) -> Result<(), String> {
        self.spec.validate()?;
        if let Some(s) = self.embedding_spec() {
            s.validate()
                .map_err(|e| format!("--q-bits-embedding: {e}"))?;
        }
        for o in &self.overrides {
            if let Some(s) = self.override_spec(&o.spec) {
                s.validate()
                    .map_err(|e| format!("--q-override `{}`: {e}", o.text))?;
            }
        }
        if let Some(r) = self.recipe {
            if self.spec.mode != Mode::Affine {
                return Err(format!(
                    "mixed recipes quantize with affine {}/{}-bit; they cannot be combined with --q-mode {} \
                     (use --q-override to mix fp modes)",
                    r.low,
                    r.high,
                    self.spec.mode.as_str()
                ));
            }
            for b in [r.low, r.high] {
                QuantSpec {
                    bits: b,
                    ..self.spec
                }
                .validate()?;
            }
        }
        Ok(())
    }
}

/// The decision for one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerDecision {
    pub spec: QuantSpec,
    /// The per-layer entry config.json gets (`quantization[layer] = entry`), if any.
    pub config_entry: Option<Map<String, Value>>,
}

/// Layer names (last path component) that are embeddings or output heads, for
/// `--q-bits-embedding`.
const EMBEDDING_NAMES: &[&str] = &[
    "embed_tokens",
    "wte",
    "wpe",
    "word_embeddings",
    "tok_embeddings",
    "embedding",
    "embeddings",
    "embed_in",
    "embed_out",
    "lm_head",
];

pub fn is_embedding_or_head(layer: &str) -> bool {
    layer == "output"
        || layer
            .rsplit('.')
            .next()
            .is_some_and(|last| EMBEDDING_NAMES.contains(&last))
}

/// Decides whether parameter `name` (of shape `shape`) is quantized, mirroring `quantize_model`'s
/// wrapped predicate — a quantizable layer class, the last axis divisible by the *global* group
/// size, then the recipe (which replaces the model's own predicate, as in mlx-lm) or the model's
/// predicate — and then applying `--q-bits-embedding` and the overrides. `notes` collects
/// overrides that could not apply.
pub fn decide(
    arch: &Arch,
    name: &str,
    shape: &[usize],
    req: &QuantRequest,
    recipe_ctx: Option<&RecipeContext>,
    notes: &mut Vec<String>,
) -> Option<LayerDecision> {
    if !is_quantizable(arch, name, shape) {
        return None;
    }
    let last = *shape.last()?;
    // mlx-audio quantizes only layers whose input size is a multiple of 64, whatever the group
    // size or overrides say; its loader expects exactly those quantized.
    if crate::arch::audio::is_audio(arch)
        && !last.is_multiple_of(crate::arch::audio::QUANT_INPUT_MULTIPLE)
    {
        return None;
    }
    let layer = name.strip_suffix(".weight").unwrap_or(name);

    // Multimodal towers stay float whatever the recipe or model predicate says; only an
    // explicit --q-override (below) quantizes them.
    let tower = is_tower(arch, layer);
    // mlx-audio's models keep towers too, but quantize with mlx-audio's (mlx-lm's) recipe.
    let vlm = crate::arch::vlm::is_multimodal(arch) && !crate::arch::audio::is_audio(arch);
    let mut decision = if tower || !last.is_multiple_of(req.spec.group_size) {
        None
    } else if let (Some(r), Some(ctx), true) = (req.recipe, recipe_ctx, vlm) {
        // mlx-vlm's recipe: `{"group_size": 64, "bits": b}`, affine (the dict's default). An
        // explicit --q-group-size is honored (mlx-vlm ignores it; a deliberate difference).
        let group_size = if req.group_size_given {
            req.spec.group_size
        } else {
            VLM_RECIPE_GROUP_SIZE
        };
        if !last.is_multiple_of(group_size) {
            None
        } else {
            let bits = if ctx.vlm_wants_high_bits(layer) {
                r.high
            } else {
                r.low
            };
            let mut entry = Map::new();
            entry.insert("group_size".into(), Value::from(group_size));
            entry.insert("bits".into(), Value::from(bits));
            Some(LayerDecision {
                spec: QuantSpec {
                    mode: Mode::Affine,
                    bits,
                    group_size,
                },
                config_entry: Some(entry),
            })
        }
    } else if let (Some(r), Some(ctx)) = (req.recipe, recipe_ctx) {
        let bits = if ctx.wants_high_bits(layer) {
            r.high
        } else {
            r.low
        };
        // mlx-audio's vendored recipe builder always says group size 64 (its default argument),
        // whatever --q-group-size is.
        let audio = crate::arch::audio::is_audio(arch);
        let group_size = if audio {
            crate::arch::audio::RECIPE_GROUP_SIZE
        } else {
            req.spec.group_size
        };
        let mut entry = Map::new();
        entry.insert(
            "group_size".into(),
            if req.group_size_given || audio {
                Value::from(group_size)
            } else {
                Value::Null
            },
        );
        entry.insert("bits".into(), Value::from(bits));
        entry.insert("mode".into(), Value::from("affine"));
        Some(LayerDecision {
            spec: QuantSpec {
                bits,
                group_size,
                ..req.spec
            },
            config_entry: Some(entry),
        })
    } else {
        match model_predicate(arch, layer) {
            None => Some(LayerDecision {
                spec: req.spec,
                config_entry: None,
            }),
            Some(LayerQuant::Skip) => None,
            Some(LayerQuant::Dict {
                group_size,
                bits,
                mode,
            }) => {
                // `to_quantized(**dict)`: absent keys take the defaults of the dict's mode
                // (affine when the dict has none, even if the global mode is an fp mode).
                let m = mode.and_then(Mode::parse).unwrap_or(Mode::Affine);
                let (dgs, dbits) = m.defaults();
                let spec = QuantSpec {
                    mode: m,
                    group_size: group_size.unwrap_or(dgs),
                    bits: bits.unwrap_or(dbits),
                };
                let mut entry = Map::new();
                if let Some(g) = group_size {
                    entry.insert("group_size".into(), Value::from(g));
                }
                if let Some(b) = bits {
                    entry.insert("bits".into(), Value::from(b));
                }
                if let Some(m) = mode {
                    entry.insert("mode".into(), Value::from(m));
                }
                Some(LayerDecision {
                    spec,
                    config_entry: Some(entry),
                })
            }
        }
    };

    // hf2mlx's per-tensor controls: embeddings first, then overrides in order (last wins).
    let mut wanted: Option<Option<QuantSpec>> = None;
    if let Some(s) = req
        .embedding_spec()
        .filter(|_| !tower && is_embedding_or_head(layer))
    {
        wanted = Some(Some(s));
    }
    for o in &req.overrides {
        if o.pattern.is_match(layer) {
            wanted = Some(req.override_spec(&o.spec));
        }
    }
    if let Some(w) = wanted {
        decision = match w {
            None => None,
            Some(spec) if last.is_multiple_of(spec.group_size) => {
                let entry = (spec != req.spec).then(|| spec.config_entry());
                Some(LayerDecision {
                    spec,
                    config_entry: entry,
                })
            }
            Some(spec) => {
                notes.push(format!(
                    "`{layer}` kept its default: its input size {last} is not a multiple of group size {}",
                    spec.group_size
                ));
                decision
            }
        };
    }
    decision
}
