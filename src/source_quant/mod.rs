//! Checkpoints that arrive already quantized in a non-MLX format (fp8 block scales, AWQ/GPTQ
//! packs, ...): which format mlx-lm's loader sees in `quantization_config`, the MLX
//! `quantization` entry it turns that into, and the kernels that turn the stored codes into
//! MLX's layout (or back into the values mlx-lm's loader computes).

pub mod awq;
pub mod fp8;

use serde_json::{Map, Value, json};

use crate::cast::FloatType;
use crate::config::Json;
use crate::plan::Input;

/// A pre-quantized source format mlx-lm's `load_model` converts into MLX quantized layers.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceFormat {
    /// AutoAWQ, and GPTQ read with AWQ's layout (`_transform_awq_weights`).
    Awq {
        /// `awq` or `gptq`, for messages.
        method: String,
        group_size: usize,
    },
    /// Codes the model's `sanitize` already leaves in an MLX layout (gpt-oss `mxfp4`, `mxfp8`):
    /// the loader only sets `quantization`.
    Native { quantization: Value },
}

impl SourceFormat {
    /// The source's format from its `quantization_config` (config.json, else
    /// `text_config.quantization_config`), as mlx-lm's `load_model` branches on
    /// `quant_method`. `Ok(None)`: no such config, or a method mlx-lm handles elsewhere (fp8
    /// 128×128 blocks dequantized by the model's sanitize). `Err`: mlx-lm fails on it too (or
    /// hf2mlx does not convert it yet); the message says what to do.
    pub fn detect(cfg: &Json) -> Result<Option<SourceFormat>, String> {
        if cfg.contains_key("quantization") {
            return Ok(None);
        }
        let Some(qc) = quantization_config(cfg) else {
            return Ok(None);
        };
        let method = qc
            .get("quant_method")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        match method {
            "awq" | "gptq" => {
                let bits = qc.get("bits").and_then(Value::as_u64).unwrap_or(4);
                if bits != 4 {
                    return Err(format!(
                        "this {method} checkpoint is {bits}-bit; mlx-lm (and hf2mlx) convert only \
                         4-bit AWQ/GPTQ packs. Use the original float checkpoint and quantize it \
                         with -q"
                    ));
                }
                let group_size = qc.get("group_size").and_then(Value::as_i64).unwrap_or(128);
                let group_size = usize::try_from(group_size)
                    .ok()
                    .filter(|g| [32, 64, 128].contains(g))
                    .ok_or_else(|| {
                        format!(
                            "this {method} checkpoint has group_size {group_size}; MLX quantized \
                             layers need 32, 64 or 128 (mlx-lm fails on it too)"
                        )
                    })?;
                Ok(Some(SourceFormat::Awq {
                    method: method.to_string(),
                    group_size,
                }))
            }
            "mxfp4" => Ok(Some(SourceFormat::Native {
                quantization: json!({"group_size": 32, "bits": 4, "mode": "mxfp4"}),
            })),
            "mxfp8" => Ok(Some(SourceFormat::Native {
                quantization: json!({"group_size": 32, "bits": 8, "mode": "mxfp8"}),
            })),
            "compressed-tensors" => compressed_tensors(qc).map(Some),
            "modelopt" => modelopt(qc).map(Some),
            // Power-of-two scales over 32x32 blocks are mxfp8 to the loader; the models whose
            // sanitize keeps them packed ([`Rule::PackedMxScales`]) are checked in
            // [`refuse_unmapped_packs`]. Other fp8 layouts are dequantized by sanitize.
            "fp8" if is_ue8m0_32x32(qc) => Ok(Some(SourceFormat::Native {
                quantization: json!({"group_size": 32, "bits": 8, "mode": "mxfp8"}),
            })),
            _ => Ok(None),
        }
    }

    /// The `quantization` entry mlx-lm's loader puts in the config (and writes out as both
    /// `quantization` and `quantization_config`).
    pub fn mlx_quantization(&self) -> Json {
        let v = match self {
            SourceFormat::Awq { group_size, .. } => json!({"group_size": group_size, "bits": 4}),
            SourceFormat::Native { quantization } => quantization.clone(),
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Rewrites the sanitized parameters into MLX's quantized layout (`X.weight`, `X.scales`,
    /// `X.biases` computed from the source's packs), as mlx-lm's loader does after `sanitize`.
    pub fn transform(&self, params: Vec<(String, Input)>) -> Result<Vec<(String, Input)>, String> {
        match self {
            SourceFormat::Awq { method, .. } => awq_transform(method, params),
            SourceFormat::Native { .. } => Ok(params),
        }
    }
}

/// NVIDIA ModelOpt (`quant_method` `modelopt`; hf_quant_config.json nests the settings under
/// `quantization`): NVFP4 is MLX's nvfp4 once the model's `sanitize` has renamed the packs
/// (muse_spark's), so the loader only sets `quantization`. Other algorithms mlx-lm refuses.
fn modelopt(qc: &Value) -> Result<SourceFormat, String> {
    let settings = qc.get("quantization").unwrap_or(qc);
    match settings.get("quant_algo").and_then(Value::as_str) {
        Some("NVFP4") => {
            let group_size = settings
                .get("group_size")
                .and_then(Value::as_u64)
                .unwrap_or(16);
            Ok(SourceFormat::Native {
                quantization: json!({"group_size": group_size, "bits": 4, "mode": "nvfp4"}),
            })
        }
        other => Err(format!(
            "this ModelOpt checkpoint's quant_algo is {}; mlx-lm 0.32.2 (and hf2mlx) convert \
             only NVFP4 ModelOpt exports. Use the original float checkpoint and quantize it with -q",
            other.map_or("(none)".to_string(), |a| format!("`{a}`"))
        )),
    }
}

/// `_compressed_tensors_quantization`: the `pack-quantized` (int4) format is MLX's affine
/// layout once the model's `sanitize` has renamed it ([`crate::arch::Rule::PackedInt4`]), so
/// the loader only sets `quantization`; the nvfp4/mxfp4 packs are MLX's nvfp4/mxfp4 layers for
/// models whose `sanitize` stacks them as they are (kimi_k3's experts), and refused for the
/// others in [`refuse_unmapped_packs`]. Other formats (fp8 `float-quantized`, ...) mlx-lm
/// refuses itself.
fn compressed_tensors(qc: &Value) -> Result<SourceFormat, String> {
    match qc.get("format").and_then(Value::as_str) {
        Some("pack-quantized") => Ok(SourceFormat::Native {
            quantization: json!({"group_size": 32, "bits": 4, "mode": "affine"}),
        }),
        Some("nvfp4-pack-quantized") => Ok(SourceFormat::Native {
            quantization: json!({"group_size": 16, "bits": 4, "mode": "nvfp4"}),
        }),
        Some("mxfp4-pack-quantized") => Ok(SourceFormat::Native {
            quantization: json!({"group_size": 32, "bits": 4, "mode": "mxfp4"}),
        }),
        other => Err(format!(
            "this compressed-tensors checkpoint has format {}, which mlx-lm 0.32.2 does not \
             convert (it maps only `pack-quantized` int4). Dequantize it to bfloat16 first, or use \
             the original float checkpoint",
            other.map_or("(none)".to_string(), |f| format!("`{f}`"))
        )),
    }
}

/// fp8 with ue8m0 (power-of-two) scales over 32×32 blocks, which mlx-lm's loader reads as mxfp8.
pub fn is_ue8m0_32x32(qc: &Value) -> bool {
    qc.get("scale_fmt").and_then(Value::as_str) == Some("ue8m0")
        && qc.get("weight_block_size") == Some(&json!([32, 32]))
}

/// A compressed-tensors source for a model whose `sanitize` does not remap its packs
/// (`weight_packed` stays, which no mlx-lm model has: its strict load fails) is refused, and so
/// is an fp8 (ue8m0, 32×32) source for a model whose `sanitize` does not rename its
/// `weight_scale_inv` into MLX `scales`.
pub fn refuse_unmapped_packs(
    format: Option<&SourceFormat>,
    cfg: &Json,
    arch: &crate::arch::Arch,
) -> Result<(), String> {
    let method = quantization_config(cfg)
        .and_then(|qc| qc.get("quant_method"))
        .and_then(Value::as_str);
    if format.is_some() && method == Some("fp8") && !keeps_mx_packed(arch.sanitize) {
        let mapping: Vec<&str> = crate::arch::REGISTRY
            .iter()
            .filter(|a| keeps_mx_packed(a.sanitize))
            .map(|a| a.name)
            .collect();
        return Err(format!(
            "this is a pre-quantized checkpoint (quant_method `fp8`): mlx-lm 0.32.2 reads fp8 \
             with ue8m0 scales over 32x32 blocks as mxfp8, but only {}'s \
             sanitize turns its fp8 scales into MLX scales, so it cannot load this `{}` \
             checkpoint either. Use the original float checkpoint and quantize it with -q \
             --q-mode mxfp8",
            mapping.join("'s and "),
            arch.name
        ));
    }
    if format.is_some() && method == Some("modelopt") && !any_rule(arch.sanitize, &maps_modelopt) {
        return Err(format!(
            "this is a pre-quantized checkpoint (quant_method `modelopt`): mlx-lm 0.32.2 reads \
             ModelOpt NVFP4 as nvfp4, but only muse_spark's sanitize renames its \
             `weight_scale`/`weight_scale_2`/`input_scale` tensors, so it cannot load this `{}` \
             checkpoint either. Use the original float checkpoint and quantize it with -q \
             --q-mode nvfp4",
            arch.name
        ));
    }
    let compressed = method == Some("compressed-tensors");
    let pack_format = quantization_config(cfg)
        .and_then(|qc| qc.get("format"))
        .and_then(Value::as_str);
    let stacks_packs = any_rule(arch.sanitize, &stacks_packed_experts);
    if format.is_some()
        && compressed
        && let Some(f @ ("nvfp4-pack-quantized" | "mxfp4-pack-quantized")) = pack_format
    {
        if stacks_packs {
            return Ok(());
        }
        return Err(format!(
            "this compressed-tensors checkpoint is `{f}`, which mlx-lm 0.32.2 cannot convert \
             for a `{}` model either (its sanitize treats every pack as int4 and fails on the \
             uint8 scales; only kimi_k3's stacks fp4 packs as they are). Use the original float \
             checkpoint and quantize it with -q --q-mode {}",
            arch.name,
            &f[..5]
        ));
    }
    if format.is_none() || !compressed || remaps_packed_int4(arch.sanitize) {
        return Ok(());
    }
    if stacks_packs {
        return Err(format!(
            "this compressed-tensors int4 checkpoint is a `{}` model, whose mlx-lm sanitize \
             stacks the experts' packs without the affine biases MLX's int4 layers need, so \
             mlx-lm 0.32.2 cannot load it either. Use the original float checkpoint and \
             quantize it with -q",
            arch.name
        ));
    }
    let remapping: Vec<&str> = crate::arch::REGISTRY
        .iter()
        .filter(|a| remaps_packed_int4(a.sanitize))
        .map(|a| a.name)
        .collect();
    Err(format!(
        "this compressed-tensors checkpoint is a `{}` model, whose mlx-lm sanitize leaves the \
         int4 packs (`weight_packed`) as they are, so mlx-lm 0.32.2 cannot load it either (only \
         {} remap them). Use the original float checkpoint and quantize it with -q",
        arch.name,
        remapping.join(", ")
    ))
}

fn keeps_mx_packed(rules: &[crate::arch::Rule]) -> bool {
    use crate::arch::Rule;
    rules.iter().any(|r| match r {
        Rule::PackedMxScales { .. } => true,
        Rule::IfConfig { rules, .. }
        | Rule::IfConfigOr { rules, .. }
        | Rule::IfAny { rules, .. }
        | Rule::All(rules) => keeps_mx_packed(rules),
        _ => false,
    })
}

/// Whether some rule, here or in a conditional's rules, satisfies `f`.
fn any_rule(rules: &[crate::arch::Rule], f: &dyn Fn(&crate::arch::Rule) -> bool) -> bool {
    use crate::arch::Rule;
    rules.iter().any(|r| {
        f(r) || match r {
            Rule::IfConfig { rules, .. }
            | Rule::IfConfigOr { rules, .. }
            | Rule::IfAny { rules, .. }
            | Rule::InText(rules) => any_rule(rules, f),
            _ => false,
        }
    })
}

/// A sanitize step that renames ModelOpt's `weight_scale_2` (muse_spark's).
fn maps_modelopt(r: &crate::arch::Rule) -> bool {
    use crate::arch::Rule;
    match r {
        Rule::RenameSuffix { from, .. } => from.ends_with("_weight_scale_2"),
        Rule::SplitColumns { suffix, .. } => suffix.ends_with("_weight_scale_2"),
        _ => false,
    }
}

/// A sanitize step that keeps stacked compressed-tensors expert packs as uint32 words (kimi_k3's).
fn stacks_packed_experts(r: &crate::arch::Rule) -> bool {
    matches!(r, crate::arch::Rule::ViewU32 { pat, .. }
        if pat.matches("model.layers.1.mlp.switch_mlp.gate_proj.weight_packed"))
}

fn remaps_packed_int4(rules: &[crate::arch::Rule]) -> bool {
    use crate::arch::Rule;
    rules.iter().any(|r| match r {
        Rule::PackedInt4 => true,
        Rule::IfConfig { rules, .. } | Rule::IfConfigOr { rules, .. } | Rule::All(rules) => {
            remaps_packed_int4(rules)
        }
        _ => false,
    })
}

/// `cfg` with hf_quant_config.json's content as its `quantization_config` when neither it nor
/// its `text_config` has one and the folder has that file (NVIDIA ModelOpt exports), as
/// mlx-lm's loader reads it.
pub fn with_hf_quant_config(cfg: &Json, dir: &std::path::Path) -> Json {
    if quantization_config(cfg).is_some() || cfg.contains_key("quantization") {
        return cfg.clone();
    }
    let file: Option<Value> = std::fs::read(dir.join("hf_quant_config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut out = cfg.clone();
    if let Some(qc @ Value::Object(_)) = file {
        out.insert("quantization_config".into(), qc);
    }
    out
}

/// `quantization_config` where mlx-lm's loader looks for it.
pub fn quantization_config(cfg: &Json) -> Option<&Value> {
    cfg.get("quantization_config").or_else(|| {
        cfg.get("text_config")
            .and_then(|t| t.get("quantization_config"))
    })
}

/// `_transform_awq_weights`: every `P.qweight` with its `P.scales` (and `P.qzeros`) becomes
/// `P.weight`/`P.scales`/`P.biases` in MLX's layout; every other floating tensor is cast to
/// the scales' dtype (mlx-lm's `model_dtype`, that of the last layer it transformed).
fn awq_transform(
    method: &str,
    params: Vec<(String, Input)>,
) -> Result<Vec<(String, Input)>, String> {
    if let Some((name, _)) = params.iter().find(|(n, _)| n.ends_with(".g_idx")) {
        return Err(format!(
            "`{name}`: this GPTQ checkpoint uses act-order group indices (g_idx), which mlx-lm \
             does not support either. Use a checkpoint quantized without act-order (desc_act \
             false), or the float checkpoint with -q"
        ));
    }
    let mut by_name: std::collections::HashMap<String, Input> = params.iter().cloned().collect();
    let mut out = Vec::with_capacity(params.len());
    let mut model_dtype: Option<FloatType> = None;
    for (name, input) in &params {
        if let Some(prefix) = name.strip_suffix(".qweight") {
            let scales = by_name.remove(&format!("{prefix}.scales")).ok_or_else(|| {
                format!("`{name}` has no `{prefix}.scales`; the AWQ/GPTQ checkpoint is incomplete")
            })?;
            let qzeros = by_name.remove(&format!("{prefix}.qzeros"));
            let (ws, ss) = (input.shape(), scales.shape());
            let ok_shapes = ws.len() == 2
                && ss.len() == 2
                && ss[1] == ws[1] * 8
                && ws[0].is_multiple_of(8)
                && ss[0] > 0
                && ws[0].is_multiple_of(ss[0])
                && qzeros
                    .as_ref()
                    .is_none_or(|z| z.shape() == vec![ss[0], ws[1]]);
            if !ok_shapes {
                return Err(format!(
                    "`{name}` {ws:?} and its scales {ss:?} are not in AutoAWQ's layout \
                     (qweight [in, out/8], scales [in/G, out], qzeros [in/G, out/8])"
                ));
            }
            let Some(ft) = scales.float_type() else {
                return Err(format!("`{prefix}.scales` is not a float tensor"));
            };
            model_dtype = Some(ft);
            out.push((
                format!("{prefix}.weight"),
                Input::AwqWeight {
                    qweight: Box::new(input.clone()),
                },
            ));
            out.push((
                format!("{prefix}.scales"),
                Input::Transpose {
                    of: Box::new(scales.clone()),
                },
            ));
            out.push((
                format!("{prefix}.biases"),
                Input::AwqBiases {
                    qzeros: qzeros.map(Box::new),
                    scales: Box::new(scales),
                },
            ));
        }
    }
    let Some(model_dtype) = model_dtype else {
        return Err(format!(
            "the config says this is a pre-quantized checkpoint (quant_method `{method}`) but no \
             tensor ends in `.qweight`, so its weights are not AutoAWQ/GPTQ packs (mlx-lm fails \
             on it too). Remove `quantization_config` from config.json if the weights are floats"
        ));
    };
    for (name, input) in params {
        let is_pack_part = [".qweight", ".qzeros", ".scales"]
            .iter()
            .any(|s| name.ends_with(s));
        if is_pack_part {
            continue;
        }
        let input = match input.float_type() {
            Some(f) if f != model_dtype => Input::Cast {
                of: Box::new(input),
                to: model_dtype,
            },
            _ => input,
        };
        out.push((name, input));
    }
    Ok(out)
}
