//! Sanitize steps of mlx-lm's MLA family (`mlx_lm/models/mla.py` and the deepseek_v3 lineage):
//! fp8 block dequantization of `weight_scale_inv` checkpoints and the absorption of `kv_b_proj`
//! into the per-head `embed_q` / `unembed_out` layers. Shape-level only: the payload records
//! what the executor computes.

use serde_json::{Map, Value};

use std::collections::HashMap;

use super::{Arch, Payload, QuantPart, Rule};

/// Whether `config` describes an fp8 block-scaled checkpoint (`quantization_config.quant_method`
/// = `"fp8"`) that this architecture's sanitize dequantizes. mlx-lm's loader treats one fp8
/// layout differently (ue8m0 scales over 32×32 blocks are mxfp8, kept packed): not this.
pub fn dequantizes_fp8(arch: &Arch, config: &Map<String, Value>) -> bool {
    let qc = config.get("quantization_config").or_else(|| {
        config
            .get("text_config")
            .and_then(|t| t.get("quantization_config"))
    });
    let Some(qc) = qc else { return false };
    let mxfp8 = qc.get("scale_fmt").and_then(Value::as_str) == Some("ue8m0")
        && qc.get("weight_block_size") == Some(&serde_json::json!([32, 32]));
    fn has_rule(rules: &[Rule]) -> bool {
        rules.iter().any(|r| match r {
            Rule::DequantFp8Blocks { .. } => true,
            Rule::IfConfig { rules, .. } | Rule::IfConfigOr { rules, .. } | Rule::All(rules) => {
                has_rule(rules)
            }
            _ => false,
        })
    }
    qc.get("quant_method").and_then(Value::as_str) == Some("fp8")
        && !mxfp8
        && has_rule(arch.sanitize)
}

/// Whether a scale of shape `scale` broadcasts against `weight` (mistral4's `broadcasts`: right
/// aligned, every dimension 1 or equal).
pub fn broadcasts(scale: &[usize], weight: &[usize]) -> bool {
    scale.len() <= weight.len()
        && scale
            .iter()
            .rev()
            .zip(weight.iter().rev())
            .all(|(&s, &w)| s == 1 || s == w)
}

/// `ceil(a / b)`.
fn blocks(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

/// [`super::Rule::DequantFp8Blocks`]: `K.weight` + `K.weight_scale_inv` → dequantized `K.weight`.
pub fn dequant_fp8_blocks<T: Payload>(
    tensors: Vec<(String, T)>,
    block: usize,
    broadcast: bool,
) -> Result<Vec<(String, T)>, String> {
    // mlx-lm: `if "weight_scale_inv" in k: wk = k.replace("_scale_inv", "")` (mistral4:
    // `k.endswith("_scale_inv")`).
    let is_scale = |k: &str| {
        if broadcast {
            k.ends_with("_scale_inv")
        } else {
            k.contains("weight_scale_inv")
        }
    };
    let mut scales: std::collections::HashMap<String, T> = std::collections::HashMap::new();
    let mut rest = Vec::with_capacity(tensors.len());
    for (k, v) in tensors {
        if is_scale(&k) {
            scales.insert(k.replace("_scale_inv", ""), v);
        } else {
            rest.push((k, v));
        }
    }
    let mut out = Vec::with_capacity(rest.len());
    for (k, v) in rest {
        let Some(s) = scales.remove(&k) else {
            out.push((k, v));
            continue;
        };
        let (ws, ss) = (v.shape(), s.shape());
        let fits = |dim: usize, sdim: usize| sdim == blocks(dim, block) || sdim == 1;
        let tiles = ws.len() == 2 && ss.len() == 2 && fits(ws[0], ss[0]) && fits(ws[1], ss[1]);
        if !(tiles || broadcast && broadcasts(&ss, &ws)) {
            return Err(format!(
                "`{k}` {ws:?} cannot be dequantized with its block scales {ss:?}: expected \
                 a 2-D weight and scales of shape [ceil(rows/{block}), ceil(cols/{block})]"
            ));
        }
        out.push((k, v.fp8_blocks(s, block, broadcast)));
    }
    if let Some(k) = scales.keys().next() {
        return Err(format!(
            "the checkpoint has fp8 scales for `{k}` but not that weight (incomplete checkpoint?)"
        ));
    }
    Ok(out)
}

/// A positive integer from the config, or from its `text_config` (wrappers such as kimi_k25
/// build the text model from it).
fn config_dim(config: &Map<String, Value>, key: &str) -> Option<usize> {
    let get = |c: &Map<String, Value>| c.get(key).and_then(Value::as_u64);
    get(config)
        .or_else(|| {
            config
                .get("text_config")
                .and_then(Value::as_object)
                .and_then(get)
        })
        .map(|d| d as usize)
        .filter(|&d| d > 0)
}

/// [`super::Rule::AbsorbMla`]. `quantized_ok`: the model's sanitize handles an MLX-quantized
/// `kv_b_proj` (dequantizes it, splits it, and quantizes each half again with the bits and group
/// size it infers from the shapes); where it does not, such a checkpoint is refused.
pub fn absorb_kv_b<T: Payload>(
    config: &Map<String, Value>,
    tensors: Vec<(String, T)>,
    (heads, nope, v): (&[&str], &[&str], &[&str]),
    quantized_ok: bool,
) -> Result<Vec<(String, T)>, String> {
    const KV_B: &str = "kv_b_proj.weight";
    let is_kv_b = |k: &str| k == KV_B || k.ends_with(&format!(".{KV_B}"));
    if !tensors.iter().any(|(k, _)| is_kv_b(k)) {
        return Ok(tensors);
    }
    let dim = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| config_dim(config, k))
            .ok_or_else(|| {
                format!(
                    "config.json has no positive `{}`, needed to split `kv_b_proj`",
                    keys.join("` or `")
                )
            })
    };
    let (h, n, vd) = (dim(heads)?, dim(nope)?, dim(v)?);
    // An MLX-quantized `kv_b_proj` (an older mlx-lm layout): its scales and biases, by prefix.
    let mut packs: HashMap<String, (Option<T>, Option<T>)> = HashMap::new();
    let mut rest = Vec::with_capacity(tensors.len());
    for (k, w) in tensors {
        let part = [".kv_b_proj.scales", ".kv_b_proj.biases"]
            .iter()
            .position(|s| k.ends_with(s));
        match part {
            Some(i) => {
                let prefix = &k[..k.len() - "kv_b_proj.scales".len()];
                let entry = packs.entry(prefix.to_string()).or_default();
                if i == 0 { &mut entry.0 } else { &mut entry.1 }.replace(w);
            }
            None => rest.push((k, w)),
        }
    }
    if let Some(prefix) = packs.keys().next().filter(|_| !quantized_ok) {
        return Err(format!(
            "`{prefix}kv_b_proj` is stored MLX-quantized (an older mlx-lm layout), which this \
             model's mlx-lm sanitize does not split. Convert the original Hugging Face \
             checkpoint instead"
        ));
    }
    let mut out = Vec::with_capacity(rest.len() + 8);
    for (k, w) in rest {
        let Some(prefix) = k.strip_suffix(KV_B).filter(|_| is_kv_b(&k)) else {
            out.push((k, w));
            continue;
        };
        let (w, requantize) = match packs.remove(prefix) {
            None => (w, None),
            Some((Some(scales), Some(biases))) => {
                // mlx-lm: `bits = (v.shape[-1] * 32) // kv_lora_rank`,
                // `group_size = kv_lora_rank // scales.shape[-1]`.
                let rank = dim(&["kv_lora_rank"])?;
                let (packed, groups) = (last(&w.shape()), last(&scales.shape()));
                let bits = packed * 32 / rank;
                let group_size = rank / groups.max(1);
                if !(1..=8).contains(&bits)
                    || packed * 32 != rank * bits
                    || groups * group_size != rank
                    || ![32, 64, 128].contains(&group_size)
                {
                    return Err(format!(
                        "`{k}` is MLX-quantized, but its shape {:?} and scales {:?} do not \
                         fit kv_lora_rank {rank}: is config.json from another checkpoint?",
                        w.shape(),
                        scales.shape()
                    ));
                }
                let w = w.dequantize_affine(scales, biases, group_size, bits as u32);
                (w, Some((group_size, bits as u32)))
            }
            Some(_) => {
                return Err(format!(
                    "`{prefix}kv_b_proj` is MLX-quantized but lacks its scales or biases \
                     (incomplete checkpoint?)"
                ));
            }
        };
        let shape = w.shape();
        if shape.len() != 2 || shape[0] != h * (n + vd) {
            return Err(format!(
                "`{k}` {shape:?} is not [heads · (nope + v), rank] = [{h} · {}, rank]",
                n + vd
            ));
        }
        let per_head = w.reshape(vec![h, n + vd, shape[1]]);
        let embed_q = per_head.clone().rows(n + vd, 0, n).move_axis(2, 1);
        let unembed_out = per_head.rows(n + vd, n, vd);
        for (name, x) in [("embed_q", embed_q), ("unembed_out", unembed_out)] {
            match requantize {
                None => out.push((format!("{prefix}{name}.weight"), x)),
                Some((group_size, bits)) => {
                    for (suffix, part) in [
                        ("weight", QuantPart::Weight),
                        ("scales", QuantPart::Scales),
                        ("biases", QuantPart::Biases),
                    ] {
                        let p = x.clone().quantize_affine_part(group_size, bits, part);
                        out.push((format!("{prefix}{name}.{suffix}"), p));
                    }
                }
            }
        }
    }
    if let Some(prefix) = packs.keys().next() {
        return Err(format!(
            "the checkpoint has scales for `{prefix}kv_b_proj` but not its weight (incomplete \
             checkpoint?)"
        ));
    }
    Ok(out)
}

fn last(shape: &[usize]) -> usize {
    shape.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_b_splits_per_head() {
        let cfg: Map<String, Value> = serde_json::from_str(
            r#"{"num_attention_heads": 4, "qk_nope_head_dim": 16, "v_head_dim": 8}"#,
        )
        .unwrap();
        let t = vec![(
            "a.self_attn.kv_b_proj.weight".to_string(),
            vec![96usize, 32],
        )];
        let dims: (&[&str], &[&str], &[&str]) = (
            &["num_attention_heads"],
            &["qk_nope_head_dim"],
            &["v_head_dim"],
        );
        let out = absorb_kv_b(&cfg, t, dims, true).unwrap();
        assert_eq!(
            out,
            vec![
                ("a.self_attn.embed_q.weight".to_string(), vec![4, 32, 16]),
                ("a.self_attn.unembed_out.weight".to_string(), vec![4, 8, 32]),
            ]
        );
    }

    #[test]
    fn quantized_kv_b_is_requantized_per_half_or_refused() {
        let cfg: Map<String, Value> = serde_json::from_str(
            r#"{"num_attention_heads": 2, "qk_nope_head_dim": 64, "v_head_dim": 32,
                "kv_lora_rank": 128}"#,
        )
        .unwrap();
        // 4-bit, group size 64: [2 · 96, 128 · 4 / 32] words, [2 · 96, 2] scales.
        let t = vec![
            ("l.kv_b_proj.weight".to_string(), vec![192usize, 16]),
            ("l.kv_b_proj.scales".to_string(), vec![192, 2]),
            ("l.kv_b_proj.biases".to_string(), vec![192, 2]),
        ];
        let dims: (&[&str], &[&str], &[&str]) = (
            &["num_attention_heads"],
            &["qk_nope_head_dim"],
            &["v_head_dim"],
        );
        let out = absorb_kv_b(&cfg, t.clone(), dims, true).unwrap();
        let expect = |n: &str, s: &[usize]| (format!("l.{n}"), s.to_vec());
        assert_eq!(
            out,
            vec![
                expect("embed_q.weight", &[2, 128, 8]),
                expect("embed_q.scales", &[2, 128, 1]),
                expect("embed_q.biases", &[2, 128, 1]),
                expect("unembed_out.weight", &[2, 32, 16]),
                expect("unembed_out.scales", &[2, 32, 2]),
                expect("unembed_out.biases", &[2, 32, 2]),
            ]
        );
        let refused = absorb_kv_b(&cfg, t.clone(), dims, false).unwrap_err();
        assert!(refused.contains("MLX-quantized"), "{refused}");
        let no_biases = absorb_kv_b(&cfg, t[..2].to_vec(), dims, true).unwrap_err();
        assert!(no_biases.contains("scales or biases"), "{no_biases}");
        let mut wrong_rank = cfg.clone();
        wrong_rank.insert("kv_lora_rank".into(), 96.into());
        assert!(absorb_kv_b(&wrong_rank, t, dims, true).is_err());
    }

    #[test]
    fn fp8_scales_must_tile_the_weight() {
        let ok = vec![
            ("x.weight".to_string(), vec![300usize, 130]),
            ("x.weight_scale_inv".to_string(), vec![3, 2]),
        ];
        assert_eq!(
            dequant_fp8_blocks(ok, 128, false).unwrap(),
            vec![("x.weight".to_string(), vec![300, 130])]
        );
        let bad = vec![
            ("x.weight".to_string(), vec![300usize, 130]),
            ("x.weight_scale_inv".to_string(), vec![2, 2]),
        ];
        assert!(dequant_fp8_blocks(bad.clone(), 128, false).is_err());
        assert!(dequant_fp8_blocks(bad, 128, true).is_err());
        let per_expert = vec![
            ("e.down_proj".to_string(), vec![4usize, 64, 32]),
            ("e.down_proj_scale_inv".to_string(), vec![4, 1, 1]),
        ];
        assert!(dequant_fp8_blocks(per_expert.clone(), 128, false).is_ok_and(|o| o.len() == 2));
        assert_eq!(dequant_fp8_blocks(per_expert, 128, true).unwrap().len(), 1);
        let orphan = vec![("x.weight_scale_inv".to_string(), vec![2usize, 2])];
        assert!(dequant_fp8_blocks(orphan, 128, false).is_err());
    }
}
