//! Sanitize steps that build one parameter from several checkpoint tensors or compute values
//! from them (fused projections, residual-gate coefficients, norm gains, packed-code views):
//! the kimi_k3 and muse_spark rules. Shape-level only: the payload records what the executor
//! computes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{ConfigDim, Pat, Payload, ValueOp};
use crate::cast::FloatType;

/// muse_spark's `residual_gate_coefficients` constants.
const GATE_TEMPERATURE: f64 = 0.3;
const GATE_EPS: f64 = 1e-3;

/// [`super::Rule::ConcatRows`].
pub fn concat_rows<T: Payload>(
    config: &Map<String, Value>,
    tensors: Vec<(String, T)>,
    parts: &[(&str, bool)],
    into: &str,
    leaves: &[&str],
    head_dim: Option<ConfigDim>,
) -> Result<Vec<(String, T)>, String> {
    let Some(&(first, _)) = parts.first() else {
        return Ok(tensors);
    };
    let names: HashSet<String> = tensors.iter().map(|(k, _)| k.clone()).collect();
    // Every (prefix, leaf) whose parts are all present and whose fused tensor is not.
    let mut groups: Vec<(String, String)> = Vec::new();
    for (k, _) in &tensors {
        for leaf in leaves {
            let Some(prefix) = k.strip_suffix(&format!("{first}.{leaf}")) else {
                continue;
            };
            let complete = parts
                .iter()
                .all(|(p, _)| names.contains(&format!("{prefix}{p}.{leaf}")));
            if complete && !names.contains(&format!("{prefix}{into}.{leaf}")) {
                groups.push((prefix.to_string(), leaf.to_string()));
            }
        }
    }
    if groups.is_empty() {
        return Ok(tensors);
    }
    let hd = match head_dim {
        Some(d) if parts.iter().any(|(_, rope)| *rope) => {
            Some(d.resolve(config).ok_or_else(|| {
                format!(
                    "config.json has no positive `{}`, needed to reorder the rows of `{first}`",
                    d.describe()
                )
            })?)
        }
        _ => None,
    };
    let member: HashMap<String, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, (prefix, leaf))| {
            parts
                .iter()
                .map(move |(p, _)| (format!("{prefix}{p}.{leaf}"), g))
        })
        .collect();
    let mut pieces: Vec<Vec<Option<T>>> =
        vec![(0..parts.len()).map(|_| None).collect(); groups.len()];
    let mut out = Vec::with_capacity(tensors.len());
    for (k, v) in tensors {
        let Some(&g) = member.get(&k) else {
            out.push((k, v));
            continue;
        };
        let (prefix, leaf) = &groups[g];
        let i = parts
            .iter()
            .position(|(p, _)| k == format!("{prefix}{p}.{leaf}"))
            .unwrap_or(0);
        pieces[g][i] = Some(v);
    }
    for ((prefix, leaf), group) in groups.iter().zip(pieces) {
        let mut fused = Vec::with_capacity(parts.len());
        let mut trailing: Option<Vec<usize>> = None;
        for ((p, rope), piece) in parts.iter().zip(group) {
            let name = format!("{prefix}{p}.{leaf}");
            let Some(mut v) = piece else {
                return Err(format!("`{name}` is missing"));
            };
            let shape = v.shape();
            let rest = shape.get(1..).unwrap_or_default().to_vec();
            if shape.is_empty() || trailing.as_ref().is_some_and(|t| *t != rest) {
                return Err(format!(
                    "`{name}` {shape:?} cannot be concatenated with the other parts of \
                     `{prefix}{into}.{leaf}` along its first axis"
                ));
            }
            trailing = Some(rest);
            if *rope && let Some(hd) = hd {
                let rows = shape[0];
                if hd % 2 != 0 || rows % hd != 0 {
                    return Err(format!(
                        "`{name}` {shape:?} does not hold whole heads of {hd} rows (an even \
                         head_dim) to put in RoPE pair order"
                    ));
                }
                v = match shape.len() {
                    1 => v
                        .reshape(vec![rows, 1])
                        .interleave_halves(hd)
                        .reshape(vec![rows]),
                    2 => v.interleave_halves(hd),
                    _ => {
                        let cols: usize = shape[1..].iter().product();
                        v.reshape(vec![rows, cols])
                            .interleave_halves(hd)
                            .reshape(shape.clone())
                    }
                };
            }
            fused.push(v);
        }
        out.push((format!("{prefix}{into}.{leaf}"), T::concat(fused)));
    }
    Ok(out)
}

/// [`super::Rule::ResidualGate`].
pub fn residual_gate<T: Payload>(
    tensors: Vec<(String, T)>,
    pat: Pat,
    suffix: &str,
    into: &str,
) -> Vec<(String, T)> {
    let mut out = Vec::with_capacity(tensors.len() + 4);
    for (k, v) in tensors {
        match k.strip_suffix(suffix).filter(|_| pat.matches(&k)) {
            Some(prefix) => {
                let w = v.cast_floats(FloatType::F32);
                out.push((
                    format!("{prefix}{into}_alpha"),
                    w.clone().map_values(ValueOp::GateAlpha {
                        temperature: GATE_TEMPERATURE,
                        eps: GATE_EPS,
                    }),
                ));
                out.push((
                    format!("{prefix}{into}_beta"),
                    w.map_values(ValueOp::GateBeta {
                        temperature: GATE_TEMPERATURE,
                    }),
                ));
            }
            None => out.push((k, v)),
        }
    }
    out
}

/// [`super::Rule::NormGainBf16`]: `(1.0 + v.astype(float32)).astype(bfloat16)`.
pub fn norm_gain<T: Payload>(tensors: Vec<(String, T)>, pat: Pat) -> Vec<(String, T)> {
    tensors
        .into_iter()
        .map(|(k, v)| {
            if pat.matches(&k) {
                let gain = v
                    .cast_floats(FloatType::F32)
                    .map_values(ValueOp::Add { x: 1.0 })
                    .cast_floats(FloatType::BF16);
                (k, gain)
            } else {
                (k, v)
            }
        })
        .collect()
}

/// [`super::Rule::ViewU32`].
pub fn view_u32<T: Payload>(
    tensors: Vec<(String, T)>,
    pat: Pat,
    bytes_only: bool,
) -> Result<Vec<(String, T)>, String> {
    tensors
        .into_iter()
        .map(|(k, v)| {
            if !pat.matches(&k) || (bytes_only && !v.is_bytes()) {
                return Ok((k, v));
            }
            let shape = v.shape();
            if v.is_bytes() && shape.last().is_none_or(|n| !n.is_multiple_of(4)) {
                return Err(format!(
                    "`{k}` {shape:?} is not packed codes that view as uint32 words (its last \
                     axis must be a multiple of 4 bytes)"
                ));
            }
            Ok((k, v.view_as_u32()))
        })
        .collect()
}

/// [`super::Rule::SplitColumns`].
pub fn split_columns<T: Payload>(
    tensors: Vec<(String, T)>,
    suffix: &str,
    parts: &[&str],
) -> Result<Vec<(String, T)>, String> {
    let mut out = Vec::with_capacity(tensors.len() + parts.len());
    for (k, v) in tensors {
        let Some(base) = k.strip_suffix(suffix) else {
            out.push((k, v));
            continue;
        };
        let shape = v.shape();
        let n = parts.len();
        if shape.len() < 2 || shape[shape.len() - 1] != n {
            return Err(format!(
                "`{k}` {shape:?} does not have {n} columns (one per part of the fused layer)"
            ));
        }
        let mut lead = shape.clone();
        lead.pop();
        let swapped = v.swap_last_axes();
        for (i, part) in parts.iter().enumerate() {
            let column = swapped.clone().rows(n, i, 1).reshape(lead.clone());
            out.push((format!("{base}{part}"), column));
        }
    }
    Ok(out)
}

/// [`super::Rule::Truncate`].
pub fn truncate<T: Payload>(
    config: &Map<String, Value>,
    tensors: Vec<(String, T)>,
    pat: Pat,
    len: ConfigDim,
) -> Result<Vec<(String, T)>, String> {
    let mut out = Vec::with_capacity(tensors.len());
    for (k, v) in tensors {
        let shape = v.shape();
        if !pat.matches(&k) || shape.len() != 1 {
            out.push((k, v));
            continue;
        }
        let n = len.resolve(config).ok_or_else(|| {
            format!(
                "config.json has no positive `{}`, needed for `{k}`",
                len.describe()
            )
        })?;
        if shape[0] > n {
            let cut = v
                .reshape(vec![shape[0], 1])
                .rows(shape[0], 0, n)
                .reshape(vec![n]);
            out.push((k, cut));
        } else {
            out.push((k, v));
        }
    }
    Ok(out)
}
