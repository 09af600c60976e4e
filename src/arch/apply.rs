//! Interprets an [`Arch`]'s rules. Generic over the tensor payload so the same code serves the
//! planner (payload = where the bytes come from) and tests (payload = shape only).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{Arch, LayerQuant, Payload, QuantPart, Rule, Scalar, Tied, ValueOp, ValueRule};

/// Python truthiness of a JSON value (`if config.get(...)`).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Whether the model uses the embedding as output head (so it has no `lm_head`).
pub fn is_tied(arch: &Arch, config: &Map<String, Value>, has_lm_head: bool) -> bool {
    let from = |c: &Map<String, Value>, default: bool| {
        c.get("tie_word_embeddings").map_or(default, truthy)
    };
    match arch.tied {
        Tied::Config { default } => from(config, default),
        Tied::TextConfig { default } => match config.get("text_config") {
            Some(Value::Object(tc)) if tc.contains_key("tie_word_embeddings") => from(tc, default),
            _ => from(config, default),
        },
        Tied::Always => true,
        Tied::Never => false,
        Tied::IfNoLmHead => !has_lm_head,
        Tied::ConfigKey { key, default } => config.get(key).map_or(default, truthy),
        Tied::TextConfigOnly { default } => match config.get("text_config") {
            Some(Value::Object(tc)) => from(tc, default),
            Some(_) => default,
            None => from(config, default),
        },
        Tied::SubConfig { key, default } => match config.get(key) {
            Some(Value::Object(sub)) => from(sub, default),
            _ => default,
        },
    }
}

/// Drops the head module at `head` (every `<head>.*` tensor) when the model is tied.
fn drop_tied_head<T>(
    arch: &Arch,
    config: &Map<String, Value>,
    mut tensors: Vec<(String, T)>,
    head: &str,
) -> Vec<(String, T)> {
    let weight = format!("{head}.weight");
    let has_head = tensors.iter().any(|(k, _)| *k == weight);
    if is_tied(arch, config, has_head) {
        let prefix = format!("{head}.");
        tensors.retain(|(k, _)| !k.starts_with(&prefix));
    }
    tensors
}

/// Applies `sanitize` (and the tied-head rule) to `(name, payload)` pairs, keeping their order.
pub fn sanitize<T: Payload>(
    arch: &Arch,
    config: &Map<String, Value>,
    tensors: Vec<(String, T)>,
) -> Result<Vec<(String, T)>, String> {
    let mut tie_done = false;
    let mut out = apply_rules(arch, config, arch.sanitize, tensors, &mut tie_done)?;
    if !tie_done {
        out = drop_tied_head(arch, config, out, "lm_head");
    }
    Ok(out)
}

/// Applies `rules` in order; `tie_done` records whether a [`Rule::TieHead`] ran.
fn apply_rules<T: Payload>(
    arch: &Arch,
    config: &Map<String, Value>,
    rules: &[Rule],
    tensors: Vec<(String, T)>,
    tie_done: &mut bool,
) -> Result<Vec<(String, T)>, String> {
    let mut out = tensors;
    for rule in rules {
        out = match *rule {
            Rule::Drop(p) => out.into_iter().filter(|(k, _)| !p.matches(k)).collect(),
            Rule::Replace { from, to } => out
                .into_iter()
                .map(|(k, v)| (k.replace(from, to), v))
                .collect(),
            Rule::RenamePrefix { from, to } => out
                .into_iter()
                .map(|(k, v)| match k.strip_prefix(from) {
                    Some(rest) => (format!("{to}{rest}"), v),
                    None => (k, v),
                })
                .collect(),
            Rule::AddPrefix(prefix) => out
                .into_iter()
                .map(|(k, v)| {
                    if k.starts_with(prefix) {
                        (k, v)
                    } else {
                        (format!("{prefix}{k}"), v)
                    }
                })
                .collect(),
            Rule::Hoist { from, to } => {
                if out.iter().any(|(k, _)| k.starts_with(from)) {
                    out.into_iter()
                        .filter(|(k, _)| k.starts_with(from) || !k.starts_with(to))
                        .map(|(k, v)| match k.strip_prefix(from) {
                            Some(rest) => (format!("{to}{rest}"), v),
                            None => (k, v),
                        })
                        .collect()
                } else {
                    out
                }
            }
            Rule::IfConfig {
                key,
                truthy: want,
                rules,
            } => {
                if config.get(key).is_some_and(truthy) == want {
                    apply_rules(arch, config, rules, out, tie_done)?
                } else {
                    out
                }
            }
            Rule::IfConfigOr {
                key,
                absent,
                truthy: want,
                rules,
            } => {
                if config.get(key).map_or(absent, truthy) == want {
                    apply_rules(arch, config, rules, out, tie_done)?
                } else {
                    out
                }
            }
            Rule::All(rules) => apply_rules(arch, config, rules, out, tie_done)?,
            Rule::TieHead(head) => {
                *tie_done = true;
                drop_tied_head(arch, config, out, head)
            }
            Rule::StackExperts {
                experts,
                into,
                rename,
            } => stack_experts(out, experts, into, rename)?,
            Rule::SplitRows { suffix, parts } => {
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    let Some(base) = k.strip_suffix(suffix) else {
                        next.push((k, v));
                        continue;
                    };
                    let shape = v.shape();
                    let n = parts.len();
                    if shape.len() < 2 || shape[shape.len() - 2] % n != 0 {
                        return Err(format!(
                            "`{k}` {shape:?} cannot be split into {n} equal parts along its rows"
                        ));
                    }
                    let block = shape[shape.len() - 2];
                    let len = block / n;
                    // All pieces but the last clone the payload description (cheap: no data).
                    let mut v = Some(v);
                    for (i, part) in parts.iter().enumerate() {
                        let piece = if i + 1 == n { v.take() } else { v.clone() };
                        if let Some(piece) = piece {
                            next.push((format!("{base}{part}"), piece.rows(block, i * len, len)));
                        }
                    }
                }
                next
            }
            Rule::SplitHeads { pat, key } => {
                let Some(d) = config
                    .get(key)
                    .and_then(Value::as_u64)
                    .map(|d| d as usize)
                    .filter(|&d| d > 0)
                else {
                    return Err(format!(
                        "config.json has no `{key}`, needed to reshape per head"
                    ));
                };
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    if !pat.matches(&k) {
                        next.push((k, v));
                        continue;
                    }
                    let n: usize = v.shape().iter().product();
                    if !n.is_multiple_of(d) {
                        return Err(format!(
                            "`{k}` {:?} cannot be reshaped into rows of {key} = {d}",
                            v.shape()
                        ));
                    }
                    next.push((k, v.reshape(vec![n / d, d])));
                }
                next
            }
            Rule::CopyAs { from, to } => match out.iter().find(|(k, _)| k == from) {
                None => out,
                Some((_, v)) => {
                    let copy = v.clone();
                    let mut next: Vec<(String, T)> =
                        out.into_iter().filter(|(k, _)| k != to).collect();
                    next.push((to.to_string(), copy));
                    next
                }
            },
            Rule::DropLayersFrom { prefix, key } => match config.get(key).and_then(Value::as_u64) {
                None => out,
                Some(n) => out
                    .into_iter()
                    .filter(|(k, _)| {
                        let index = k.strip_prefix(prefix).and_then(|r| r.split('.').next());
                        index
                            .and_then(|i| i.parse::<u64>().ok())
                            .is_none_or(|i| i < n)
                    })
                    .collect(),
            },
            Rule::DequantFp8Blocks { block, broadcast } => {
                super::mla::dequant_fp8_blocks(out, block, broadcast)?
            }
            Rule::AbsorbMla {
                heads,
                nope,
                v,
                quantized,
            } => super::mla::absorb_kv_b(config, out, (&[heads], nope, v), quantized)?,
            Rule::Flatten(pat) => out
                .into_iter()
                .map(|(k, v)| {
                    let shape = v.shape();
                    if pat.matches(&k) && shape.len() > 1 {
                        let n = shape.iter().product();
                        (k, v.reshape(vec![n]))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            Rule::IfAny {
                pat,
                when,
                present,
                rules,
            } => {
                let any = out
                    .iter()
                    .any(|(k, v)| pat.matches(k) && when.holds(&v.shape()));
                if any == present {
                    apply_rules(arch, config, rules, out, tie_done)?
                } else {
                    out
                }
            }
            Rule::KeepOnly(pats) => out
                .into_iter()
                .filter(|(k, _)| pats.iter().any(|p| p.matches(k)))
                .collect(),
            Rule::ReplaceIfAbsent { from, to } => out
                .into_iter()
                .map(|(k, v)| {
                    if k.contains(from) && !k.contains(to) {
                        (k.replace(from, to), v)
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            Rule::InText(rules) => {
                let text = match config.get("text_config") {
                    Some(Value::Object(t)) => t.clone(),
                    _ => config.clone(),
                };
                apply_rules(arch, &text, rules, out, tie_done)?
            }
            Rule::ConcatRows {
                parts,
                into,
                leaves,
                head_dim,
            } => super::fuse::concat_rows(config, out, parts, into, leaves, head_dim)?,
            Rule::ResidualGate { pat, suffix, into } => {
                super::fuse::residual_gate(out, pat, suffix, into)
            }
            Rule::NormGainBf16(pat) => super::fuse::norm_gain(out, pat),
            Rule::ViewU32 { pat, bytes_only } => super::fuse::view_u32(out, pat, bytes_only)?,
            Rule::SplitColumns { suffix, parts } => super::fuse::split_columns(out, suffix, parts)?,
            Rule::Truncate { pat, len } => super::fuse::truncate(config, out, pat, len)?,
            Rule::PackedInt4 => packed_int4(out)?,
            Rule::PackedMxScales { scale, repack } => packed_mx_scales(out, scale, repack)?,
            Rule::SplitRowGroups { pat, key, default } => {
                let groups = config
                    .get(key)
                    .or_else(|| config.get("text_config").and_then(|t| t.get(key)))
                    .and_then(Value::as_u64)
                    .map_or(default, |g| g as usize);
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    if !pat.matches(&k) {
                        next.push((k, v));
                        continue;
                    }
                    match v.shape().as_slice() {
                        &[n, cols] if groups > 0 && n.is_multiple_of(groups) => {
                            next.push((k, v.reshape(vec![groups, n / groups, cols])))
                        }
                        shape => {
                            return Err(format!(
                                "`{k}` {shape:?} cannot be split into {key} = {groups} groups of \
                                 rows"
                            ));
                        }
                    }
                }
                next
            }
            Rule::ViewWords { suffix, to } => {
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    let Some(base) = k.strip_suffix(suffix) else {
                        next.push((k, v));
                        continue;
                    };
                    let shape = v.shape();
                    if shape.len() < 2
                        || !(shape[shape.len() - 2] * shape[shape.len() - 1]).is_multiple_of(4)
                    {
                        return Err(format!(
                            "`{k}` {shape:?} is not packed bytes that view as uint32 words"
                        ));
                    }
                    next.push((format!("{base}{to}"), v.view_words()));
                }
                next
            }
            Rule::SplitInterleaved {
                pat,
                from,
                parts,
                columns,
            } => {
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    if !pat.matches(&k) {
                        next.push((k, v));
                        continue;
                    }
                    let n = parts.len();
                    let shape = v.shape();
                    let axis = if columns {
                        shape.len().checked_sub(1)
                    } else {
                        shape.len().checked_sub(2)
                    };
                    let Some(axis) = axis.filter(|&a| shape[a].is_multiple_of(n)) else {
                        return Err(format!(
                            "`{k}` {shape:?} cannot be split into {n} interleaved parts"
                        ));
                    };
                    for (i, part) in parts.iter().enumerate() {
                        let name = k.replace(from, part);
                        let piece = if columns {
                            // v[..., i::n] = rows i of every block of n of v.reshape(.., m, n).T
                            let mut s = shape.clone();
                            let m = s[axis] / n;
                            s[axis] = m;
                            s.push(n);
                            let mut flat = shape.clone();
                            flat[axis] = m;
                            v.clone()
                                .reshape(s)
                                .swap_last_axes()
                                .rows(n, i, 1)
                                .reshape(flat)
                        } else {
                            v.clone().rows(n, i, 1)
                        };
                        next.push((name, piece));
                    }
                }
                next
            }
            Rule::CastFloats(to) => out
                .into_iter()
                .map(|(k, v)| (k, v.cast_floats(to)))
                .collect(),
            Rule::Squeeze(pat) => out
                .into_iter()
                .map(|(k, v)| {
                    let shape = v.shape();
                    if pat.matches(&k) && shape.contains(&1) {
                        let squeezed = shape.into_iter().filter(|&d| d != 1).collect();
                        (k, v.reshape(squeezed))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            Rule::CopyIfAbsent { from, to } => {
                let mut out = out;
                if !out.iter().any(|(k, _)| k == to)
                    && let Some(v) = out.iter().find(|(k, _)| k == from).map(|(_, v)| v.clone())
                {
                    out.push((to.to_string(), v));
                }
                out
            }
            Rule::SplitExperts {
                fused,
                into,
                count_key,
                transpose_suffix,
            } => {
                let mut c = Some(&Value::Object(config.clone()));
                for key in count_key {
                    c = c.and_then(|v| v.get(*key));
                }
                let n = c
                    .and_then(Value::as_u64)
                    .map(|x| x as usize)
                    .filter(|&x| x > 0)
                    .ok_or_else(|| {
                        format!(
                            "config.json has no `{}`, needed to split the fused experts",
                            count_key.join(".")
                        )
                    })?;
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    if !k.contains(fused) {
                        next.push((k, v));
                        continue;
                    }
                    let shape = v.shape();
                    if shape.len() != 2 || shape[0] % n != 0 {
                        return Err(format!(
                            "`{k}` {shape:?} cannot be split into {n} experts along its rows"
                        ));
                    }
                    let rows = shape[0] / n;
                    for e in 0..n {
                        let name = format!("{}.weight", k.replace(fused, &format!("{into}.{e}")));
                        let piece = v.clone().rows(shape[0], e * rows, rows);
                        let piece = if k.ends_with(transpose_suffix) {
                            piece.swap_last_axes()
                        } else {
                            piece
                        };
                        next.push((name, piece));
                    }
                }
                next
            }
            Rule::DropInLayersFrom { pats, total, minus } => {
                let text = match config.get("text_config") {
                    Some(Value::Object(tc)) => tc,
                    _ => config,
                };
                let first = scalar(text, total)? - scalar(text, minus)?;
                out.into_iter()
                    .filter(|(k, _)| {
                        if !pats.iter().any(|p| p.matches(k)) {
                            return true;
                        }
                        let layer = k
                            .split_once("layers.")
                            .and_then(|(_, rest)| rest.split('.').next())
                            .and_then(|i| i.parse::<u64>().ok());
                        layer.is_none_or(|i| (i as f64) < first)
                    })
                    .collect()
            }
            Rule::RenameSuffix { from, to } => out
                .into_iter()
                .map(|(k, v)| match k.strip_suffix(from) {
                    Some(base) => (format!("{base}{to}"), v),
                    None => (k, v),
                })
                .collect(),
            Rule::Values { pat, rank, op } => {
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    let shape = v.shape();
                    if pat.matches(&k) && rank.is_none_or(|r| r == shape.len()) {
                        let op = value_op(config, op, &k, &shape)?;
                        next.push((k, v.map_values(op)));
                    } else {
                        next.push((k, v));
                    }
                }
                next
            }
            Rule::SwapLastAxes { pat, rank } => out
                .into_iter()
                .map(|(k, v)| {
                    if pat.matches(&k) && v.shape().len() == rank {
                        (k, v.swap_last_axes())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            Rule::SplitColsSwapped { suffix, parts } => {
                let mut next = Vec::with_capacity(out.len());
                for (k, v) in out {
                    let Some(base) = k.strip_suffix(suffix) else {
                        next.push((k, v));
                        continue;
                    };
                    let shape = v.shape();
                    let n = parts.len();
                    let cols = shape.last().copied().unwrap_or(0);
                    if shape.len() < 2 || cols % n != 0 {
                        return Err(format!(
                            "`{k}` {shape:?} cannot be split into {n} equal parts along its last axis"
                        ));
                    }
                    let len = cols / n;
                    let swapped = v.swap_last_axes();
                    for (i, part) in parts.iter().enumerate() {
                        next.push((
                            format!("{base}{part}"),
                            swapped.clone().rows(cols, i * len, len),
                        ));
                    }
                }
                next
            }
            Rule::SplitKvGroups {
                from,
                q,
                k: kn,
                v: vn,
            } => {
                let get = |key: &str| {
                    config
                        .get(key)
                        .and_then(Value::as_u64)
                        .map(|x| x as usize)
                        .filter(|&x| x > 0)
                        .ok_or_else(|| {
                            format!("config.json has no `{key}`, needed to split `{from}` by head")
                        })
                };
                let (hidden, heads, kv) = (
                    get("hidden_size")?,
                    get("num_attention_heads")?,
                    get("num_key_value_heads")?,
                );
                let (hd, groups) = (hidden / heads, heads / kv);
                let block = (groups + 2) * hd;
                let mut next = Vec::with_capacity(out.len());
                for (name, t) in out {
                    if !name.contains(from) {
                        next.push((name, t));
                        continue;
                    }
                    let shape = t.shape();
                    if shape.len() != 2 || shape[0] != kv * block {
                        return Err(format!(
                            "`{name}` {shape:?} does not hold {kv} key/value groups of \
                             {groups} query heads + key + value of {hd} rows"
                        ));
                    }
                    for (to, start, len) in [
                        (q, 0, groups * hd),
                        (kn, groups * hd, hd),
                        (vn, (groups + 1) * hd, hd),
                    ] {
                        next.push((name.replace(from, to), t.clone().rows(block, start, len)));
                    }
                }
                next
            }
            Rule::MoveAxis {
                pat,
                rank,
                from,
                to,
                when,
            } => out
                .into_iter()
                .map(|(k, v)| {
                    let shape = v.shape();
                    if pat.matches(&k) && shape.len() == rank && when.holds(&shape) {
                        (k, v.move_axis(from, to))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        };
    }
    Ok(out)
}

/// A [`Scalar`] from the configuration.
/// [`Rule::PackedInt4`].
fn packed_int4<T: Payload>(out: Vec<(String, T)>) -> Result<Vec<(String, T)>, String> {
    let mut by_name: std::collections::HashMap<String, T> = out.iter().cloned().collect();
    let mut next = Vec::with_capacity(out.len());
    for (k, v) in out {
        if let Some(base) = k.strip_suffix("weight_shape") {
            let take = |by_name: &mut std::collections::HashMap<String, T>, part: &str| {
                by_name.remove(&format!("{base}{part}")).ok_or_else(|| {
                    format!(
                        "`{k}` marks a compressed-tensors int4 layer but `{base}{part}` is \
                         missing; the checkpoint is incomplete"
                    )
                })
            };
            let packed = take(&mut by_name, "weight_packed")?;
            let scale = take(&mut by_name, "weight_scale")?;
            let (ps, ss) = (packed.shape(), scale.shape());
            if ps.len() != 2 || ss.len() != 2 || ps[0] != ss[0] || ss[1] == 0 {
                return Err(format!(
                    "`{base}weight_packed` {ps:?} and `{base}weight_scale` {ss:?} are not a \
                     compressed-tensors int4 pack ([out, in/8] and [out, in/group])"
                ));
            }
            let biases = scale.clone().map_values(ValueOp::Mul {
                segments: vec![(usize::MAX, vec![-8.0])],
            });
            next.push((format!("{base}weight"), packed.view_u32()));
            next.push((format!("{base}scales"), scale));
            next.push((format!("{base}biases"), biases));
        } else if !(k.ends_with("weight_scale") || k.ends_with("weight_packed")) {
            next.push((k, v));
        }
    }
    Ok(next)
}

/// [`Rule::PackedMxScales`].
fn packed_mx_scales<T: Payload>(
    out: Vec<(String, T)>,
    scale: &str,
    repack: bool,
) -> Result<Vec<(String, T)>, String> {
    let weight_rows: std::collections::HashMap<String, usize> = out
        .iter()
        .filter_map(|(k, v)| {
            let base = k.strip_suffix(".weight")?;
            let s = v.shape();
            Some((base.to_string(), s.len().checked_sub(2).map_or(1, |i| s[i])))
        })
        .collect();
    let mut bases: std::collections::HashSet<String> = out
        .iter()
        .filter_map(|(k, _)| k.strip_suffix(scale).map(str::to_string))
        .collect();
    if repack {
        // deepseek_v41 repacks only scales next to a weight; others (a hyper-connection's
        // `scale`) are parameters of their own.
        bases.retain(|b| weight_rows.contains_key(b));
    } else if let Some(base) = bases.iter().find(|b| !weight_rows.contains_key(*b)) {
        return Err(format!(
            "`{base}{scale}` has no `{base}.weight` to scale; the checkpoint is incomplete"
        ));
    }
    let mut next = Vec::with_capacity(out.len());
    for (k, v) in out {
        if let Some(base) = k.strip_suffix(scale).filter(|b| bases.contains(*b)) {
            let mut v = v;
            if repack {
                let shape = v.shape();
                let rows = weight_rows.get(base).copied().unwrap_or(0);
                let Some(i) = shape.len().checked_sub(2) else {
                    return Err(format!(
                        "`{k}` {shape:?} is not a per-row or per-tile scale"
                    ));
                };
                v = v.e8m0_exponents();
                if shape[i] != rows {
                    // fp8 keeps one scale per 32x32 tile, MLX one per output row.
                    v = v.repeat_rows(32, rows);
                }
            }
            next.push((format!("{base}.scales"), v));
            continue;
        }
        match k.strip_suffix(".weight") {
            Some(base) if bases.contains(base) => {
                let shape = v.shape();
                if shape.last().is_none_or(|n| !n.is_multiple_of(4)) {
                    return Err(format!(
                        "`{k}` {shape:?} is not packed fp8/fp4 codes that view as uint32 words \
                         (its last axis must be a multiple of 4 bytes)"
                    ));
                }
                next.push((k, v.view_bytes_as_words()));
            }
            _ => next.push((k, v)),
        }
    }
    Ok(next)
}

fn scalar(config: &Map<String, Value>, s: Scalar) -> Result<f64, String> {
    match s {
        Scalar::Const(x) => Ok(x),
        Scalar::Config {
            key,
            index,
            default,
        } => {
            let Some(v) = config.get(key).filter(|v| !v.is_null()) else {
                return Ok(default);
            };
            let v = match index {
                Some(i) => v.get(i),
                None => Some(v),
            };
            v.and_then(Value::as_f64).ok_or_else(|| {
                format!("config.json `{key}` is not a number (or a list of numbers)")
            })
        }
    }
}

/// Resolves a [`ValueRule`] for the tensor `name` of `shape`.
fn value_op(
    config: &Map<String, Value>,
    rule: ValueRule,
    name: &str,
    shape: &[usize],
) -> Result<ValueOp, String> {
    Ok(match rule {
        ValueRule::Add(x) => ValueOp::Add {
            x: scalar(config, x)?,
        },
        ValueRule::Mul(factors) => {
            let mut f = 1.0f64;
            for (i, s) in factors.iter().enumerate() {
                let x = scalar(config, *s)?;
                f = if i == 0 { x } else { f * x };
            }
            ValueOp::Mul {
                segments: vec![(usize::MAX, vec![f])],
            }
        }
        ValueRule::NormalizeRows { eps } => ValueOp::NormalizeRows { eps },
        ValueRule::NormalizeColumns { eps } => ValueOp::NormalizeColumns { eps },
        ValueRule::FalconMupRows => {
            // FalconH1 `ModelArgs` defaults for absent keys.
            let int = |key: &str, default: usize| match config.get(key).filter(|v| !v.is_null()) {
                None => Ok(default),
                Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| {
                    format!("config.json `{key}` is not an integer, needed for `{name}`")
                }),
            };
            let d_ssm = int("mamba_d_ssm", 1536)?;
            let gs = int("mamba_n_groups", 1)? * int("mamba_d_state", 128)?;
            let heads = int("mamba_n_heads", 24)?;
            let m = scalar(
                config,
                Scalar::Config {
                    key: "ssm_in_multiplier",
                    index: None,
                    default: 1.25,
                },
            )?;
            let sizes = [d_ssm, d_ssm, gs, gs, heads];
            if shape.first() != Some(&sizes.iter().sum::<usize>()) {
                return Err(format!(
                    "`{name}` {shape:?} does not have the {} rows the mamba sizes in config.json imply",
                    sizes.iter().sum::<usize>()
                ));
            }
            const DEFAULT: [f64; 5] = [
                0.3535533905932738,
                0.25,
                0.3535533905932738,
                0.5,
                0.3535533905932738,
            ];
            let mut segments = Vec::new();
            for (i, rows) in sizes.into_iter().enumerate() {
                let s = match config.get("ssm_multipliers").filter(|v| !v.is_null()) {
                    None => DEFAULT[i],
                    Some(v) => v.get(i).and_then(Value::as_f64).ok_or_else(|| {
                        "config.json `ssm_multipliers` is not a list of 5 numbers".to_string()
                    })?,
                };
                segments.push((rows, vec![m, s]));
            }
            ValueOp::Mul { segments }
        }
    })
}

/// [`Rule::StackExperts`]: groups `P.<experts>.<e>.<proj>.<rest>` by target name and stacks the
/// experts in index order.
fn stack_experts<T: Payload>(
    tensors: Vec<(String, T)>,
    experts: &str,
    into: &str,
    rename: &[(&str, &str)],
) -> Result<Vec<(String, T)>, String> {
    let mut out: Vec<(String, T)> = Vec::with_capacity(tensors.len());
    let mut groups: Vec<(String, Vec<(usize, T)>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (k, v) in tensors {
        let comps: Vec<&str> = k.split('.').collect();
        let at = (0..comps.len().saturating_sub(3)).find(|&i| {
            comps[i] == experts
                && comps[i + 1].bytes().all(|b| b.is_ascii_digit())
                && !comps[i + 1].is_empty()
        });
        let Some(i) = at else {
            out.push((k, v));
            continue;
        };
        let e: usize = comps[i + 1]
            .parse()
            .map_err(|_| format!("`{k}`: bad expert index"))?;
        let proj = comps[i + 2];
        let proj = rename
            .iter()
            .find(|(f, _)| *f == proj)
            .map_or(proj, |(_, t)| *t);
        let mut target: Vec<&str> = comps[..i].to_vec();
        target.push(into);
        target.push(proj);
        target.extend(&comps[i + 3..]);
        let target = target.join(".");
        let g = *index.entry(target.clone()).or_insert_with(|| {
            groups.push((target.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push((e, v));
    }
    for (target, mut parts) in groups {
        parts.sort_by_key(|(e, _)| *e);
        let n = parts.len();
        if parts.iter().enumerate().any(|(i, (e, _))| *e != i) {
            let have: Vec<usize> = parts.iter().map(|(e, _)| *e).collect();
            return Err(format!(
                "cannot stack the experts of `{target}`: expected experts 0..{n}, found {have:?} \
                 (incomplete checkpoint?)"
            ));
        }
        let shape0 = parts[0].1.shape();
        if let Some((e, p)) = parts.iter().find(|(_, p)| p.shape() != shape0) {
            return Err(format!(
                "cannot stack the experts of `{target}`: expert {e} has shape {:?}, expert 0 {shape0:?}",
                p.shape()
            ));
        }
        out.push((
            target,
            T::stack(parts.into_iter().map(|(_, p)| p).collect()),
        ));
    }
    Ok(out)
}

/// Whether `name` is the weight of a layer `nn.quantize` can quantize (Linear, Embedding,
/// SwitchLinear, MultiLinear), before the group-size and predicate checks.
pub fn is_quantizable(arch: &Arch, name: &str, shape: &[usize]) -> bool {
    if arch.extra_quantizable.iter().any(|p| p.matches(name)) {
        return true;
    }
    if arch.not_quantizable.iter().any(|p| p.matches(name)) || !name.ends_with(".weight") {
        return false;
    }
    // Stacked experts are SwitchLinear layers: `[E, out, in]` under the stacking target.
    fn stacks_into(rules: &[Rule], name: &str) -> bool {
        rules.iter().any(|r| match r {
            Rule::StackExperts { into, .. } => name.contains(&format!(".{into}.")),
            Rule::InText(rules) => stacks_into(rules, name),
            _ => false,
        })
    }
    let stacked = shape.len() == 3 && stacks_into(arch.sanitize, name);
    shape.len() == 2 || stacked
}

/// Whether a layer path (`name` without `.weight`) belongs to a vision/audio tower or projector
/// that a multimodal conversion keeps in float.
pub fn is_tower(arch: &Arch, layer: &str) -> bool {
    arch.towers.iter().any(|p| p.matches(layer))
}

/// The model's own `quant_predicate` for a layer path (`name` without `.weight`).
pub fn model_predicate(arch: &Arch, layer: &str) -> Option<LayerQuant> {
    arch.quant_predicate
        .iter()
        .find(|(p, _)| p.matches(layer))
        .map(|(_, q)| *q)
}

/// Whether the configuration-dependent part of the model's `quant_predicate`
/// ([`Arch::float_in_layers`]) keeps this layer path in float; the layer number is what follows
/// the first `layers.`.
pub fn float_in_layer(arch: &Arch, config: &Map<String, Value>, layer: &str) -> bool {
    let index = layer
        .split_once("layers.")
        .and_then(|(_, rest)| rest.split('.').next())
        .and_then(|i| i.parse::<u64>().ok());
    index.is_some_and(|i| {
        arch.float_in_layers
            .iter()
            .any(|(set, pat)| pat.matches(layer) && set.contains(config, i) == Some(true))
    })
}

/// The model's whole `quant_predicate` for a layer path: [`float_in_layer`], then
/// [`model_predicate`].
pub fn model_predicate_with_config(
    arch: &Arch,
    config: &Map<String, Value>,
    layer: &str,
) -> Option<LayerQuant> {
    if float_in_layer(arch, config, layer) {
        return Some(LayerQuant::Skip);
    }
    model_predicate(arch, layer)
}

/// The model's `cast_predicate`.
pub fn may_cast(arch: &Arch, name: &str) -> bool {
    !arch.no_cast.iter().any(|p| p.matches(name))
}

/// Parameter names inside a module come in this order (Linear: weight, bias; quantized:
/// weight, scales, biases, bias).
const LEAF_ORDER: [&str; 5] = ["weight", "scales", "biases", "global_scale", "bias"];

fn component_rank(arch: &Arch, parent: &str, c: &str) -> (u8, usize) {
    // Scoped entries (`"switch_mlp/up_proj"`) rank a child under one parent: module classes
    // declare the same attribute names in different orders (SwitchGLU: gate, up, down; most
    // MLPs: gate, down, up). Their rank counts among the unscoped ones' positions.
    let scoped = arch.order.iter().position(|o| {
        o.split_once('/')
            .is_some_and(|(p, ch)| p == parent && ch == c)
    });
    if let Some(i) = scoped.or_else(|| arch.order.iter().position(|o| *o == c)) {
        (0, i)
    } else if let Some(i) = LEAF_ORDER.iter().position(|o| *o == c) {
        (1, i)
    } else {
        (2, 0)
    }
}

/// Compares two dotted parameter paths in module-tree order.
pub fn module_order(arch: &Arch, a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    let mut parent = "";
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => {
                parent = x;
                continue;
            }
            (Some(x), Some(y)) => {
                // A total order (sort panics on anything less; found by fuzzing names like
                // `1a` next to `2` and `10`): rank, then numbers before words, numbers by value
                // (digit strings of any length), then bytes.
                fn num(c: &str) -> Option<&str> {
                    (!c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| c.trim_start_matches('0'))
                }
                let ord = component_rank(arch, parent, x)
                    .cmp(&component_rank(arch, parent, y))
                    .then_with(|| match (num(x), num(y)) {
                        (Some(nx), Some(ny)) => nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny)),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    })
                    .then_with(|| x.cmp(y));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// A payload that remembers which inputs it was built from, for [`kept_inputs`].
#[derive(Clone)]
struct Traced {
    shape: Vec<usize>,
    from: Vec<usize>,
}

impl Payload for Traced {
    fn shape(&self) -> Vec<usize> {
        self.shape.clone()
    }
    fn stack(parts: Vec<Self>) -> Self {
        let from = parts.iter().flat_map(|p| p.from.iter().copied()).collect();
        let shape = Payload::stack(parts.into_iter().map(|p| p.shape).collect::<Vec<_>>());
        Traced { shape, from }
    }
    fn rows(self, block: usize, start: usize, len: usize) -> Self {
        Traced {
            shape: self.shape.rows(block, start, len),
            from: self.from,
        }
    }
    fn move_axis(self, from: usize, to: usize) -> Self {
        Traced {
            shape: self.shape.move_axis(from, to),
            from: self.from,
        }
    }
    fn reshape(self, shape: Vec<usize>) -> Self {
        Traced {
            shape,
            from: self.from,
        }
    }
    fn fp8_blocks(mut self, scale_inv: Self, _block: usize, _broadcast: bool) -> Self {
        self.from.extend(scale_inv.from);
        self
    }
    fn swap_last_axes(self) -> Self {
        Traced {
            shape: self.shape.swap_last_axes(),
            from: self.from,
        }
    }
    fn map_values(self, _op: ValueOp) -> Self {
        self
    }
    fn view_words(self) -> Self {
        Traced {
            shape: self.shape.view_words(),
            from: self.from,
        }
    }
    fn view_u32(self) -> Self {
        self
    }
    fn view_bytes_as_words(self) -> Self {
        Traced {
            shape: self.shape.view_bytes_as_words(),
            from: self.from,
        }
    }
    fn repeat_rows(self, times: usize, rows: usize) -> Self {
        Traced {
            shape: self.shape.repeat_rows(times, rows),
            from: self.from,
        }
    }
    fn concat(parts: Vec<Self>) -> Self {
        let from = parts.iter().flat_map(|p| p.from.iter().copied()).collect();
        let shape = Payload::concat(parts.into_iter().map(|p| p.shape).collect::<Vec<_>>());
        Traced { shape, from }
    }
    fn interleave_halves(self, _block: usize) -> Self {
        self
    }
    fn dequantize_affine(mut self, s: Self, b: Self, group_size: usize, bits: u32) -> Self {
        self.from.extend(s.from.into_iter().chain(b.from));
        Traced {
            shape: self
                .shape
                .dequantize_affine(s.shape, b.shape, group_size, bits),
            from: self.from,
        }
    }
    fn quantize_affine_part(self, group_size: usize, bits: u32, part: QuantPart) -> Self {
        Traced {
            shape: self.shape.quantize_affine_part(group_size, bits, part),
            from: self.from,
        }
    }
}

/// Which of the checkpoint's tensors (`(name, shape)`, in order) the model loads after
/// `sanitize`: `false` for those it drops (MTP layers, vision towers, rotary buffers, ...).
pub fn kept_inputs(
    arch: &Arch,
    config: &Map<String, Value>,
    inputs: &[(String, Vec<usize>)],
) -> Result<Vec<bool>, String> {
    let traced = inputs
        .iter()
        .enumerate()
        .map(|(i, (n, s))| {
            (
                n.clone(),
                Traced {
                    shape: s.clone(),
                    from: vec![i],
                },
            )
        })
        .collect();
    let mut kept = vec![false; inputs.len()];
    for (_, t) in sanitize(arch, config, traced)? {
        for i in t.from {
            kept[i] = true;
        }
    }
    Ok(kept)
}
