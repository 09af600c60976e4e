//! Interprets an [`Arch`]'s rules. Generic over the tensor payload so the same code serves the
//! planner (payload = where the bytes come from) and tests (payload = shape only).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{Arch, LayerQuant, Rule, Tied};

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
pub fn sanitize<T>(
    arch: &Arch,
    config: &Map<String, Value>,
    tensors: Vec<(String, T)>,
) -> Vec<(String, T)> {
    let mut out = tensors;
    let mut tie_done = false;
    for rule in arch.sanitize {
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
            Rule::TieHead(head) => {
                tie_done = true;
                drop_tied_head(arch, config, out, head)
            }
        };
    }
    if !tie_done {
        out = drop_tied_head(arch, config, out, "lm_head");
    }
    out
}

/// Whether `name` is the weight of a layer `nn.quantize` can quantize (Linear, Embedding,
/// SwitchLinear, MultiLinear), before the group-size and predicate checks.
pub fn is_quantizable(arch: &Arch, name: &str, shape: &[usize]) -> bool {
    if arch.extra_quantizable.iter().any(|p| p.matches(name)) {
        return true;
    }
    name.ends_with(".weight")
        && shape.len() == 2
        && !arch.not_quantizable.iter().any(|p| p.matches(name))
}

/// The model's own `quant_predicate` for a layer path (`name` without `.weight`).
pub fn model_predicate(arch: &Arch, layer: &str) -> Option<LayerQuant> {
    arch.quant_predicate
        .iter()
        .find(|(p, _)| p.matches(layer))
        .map(|(_, q)| *q)
}

/// The model's `cast_predicate`.
pub fn may_cast(arch: &Arch, name: &str) -> bool {
    !arch.no_cast.iter().any(|p| p.matches(name))
}

/// Parameter names inside a module come in this order (Linear: weight, bias; quantized:
/// weight, scales, biases, bias).
const LEAF_ORDER: [&str; 5] = ["weight", "scales", "biases", "global_scale", "bias"];

fn component_rank(arch: &Arch, c: &str) -> (u8, usize) {
    if let Some(i) = arch.order.iter().position(|o| *o == c) {
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
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(nx), Ok(ny)) => nx.cmp(&ny),
                    _ => component_rank(arch, x)
                        .cmp(&component_rank(arch, y))
                        .then_with(|| x.cmp(y)),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}
