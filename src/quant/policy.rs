//! Which layers get quantized, and how: mlx-lm's `quantize_model` predicate chain.

use serde_json::{Map, Value};

use super::{Mode, QuantSpec};
use crate::arch::apply::{is_quantizable, model_predicate};
use crate::arch::{Arch, LayerQuant};

/// The user's quantization request (`-q --q-bits --q-group-size --q-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantRequest {
    pub spec: QuantSpec,
}

/// The decision for one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerDecision {
    pub spec: QuantSpec,
    /// The per-layer entry config.json gets (`quantization[layer] = entry`), if any.
    pub config_entry: Option<Map<String, Value>>,
}

/// Decides whether parameter `name` (of shape `shape`) is quantized, mirroring `quantize_model`'s
/// wrapped predicate: a quantizable layer class, the last axis divisible by the *global* group
/// size, then the model's own predicate.
pub fn decide(
    arch: &Arch,
    name: &str,
    shape: &[usize],
    req: &QuantRequest,
) -> Option<LayerDecision> {
    if !is_quantizable(arch, name, shape) {
        return None;
    }
    let last = *shape.last()?;
    if last % req.spec.group_size != 0 {
        return None;
    }
    let layer = name.strip_suffix(".weight").unwrap_or(name);
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
            // `to_quantized(**dict)`: absent keys take the defaults of the dict's mode (affine
            // when the dict has none, even if the global mode is an fp mode).
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
}
