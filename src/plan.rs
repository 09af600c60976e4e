//! The conversion plan: built from config.json and the safetensors headers alone, it names every
//! output tensor, where its bytes come from, what happens to them, and which shard they land in.
//! Dry runs, size estimates, the index file and preflight errors all come from here; the
//! executor only streams it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::arch::{self, Arch, apply};
use crate::cast::FloatType;
use crate::config::{self, DtypeSource, Json};
use crate::dtype::{DType, float_name};
use crate::error::{Error, Result};
use crate::quant::policy::{self, QuantRequest};
use crate::quant::{Mode, QuantSpec};
use crate::safetensors::{ShardLayout, SourceTensor};
use crate::source::Inventory;

/// mlx-lm's shard limit: 5 GiB (`5 << 30`), not 5 GB.
pub const DEFAULT_MAX_SHARD_SIZE: u64 = 5 << 30;

/// What the user asked for.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    pub hf_path: PathBuf,
    pub mlx_path: PathBuf,
    pub quantize: bool,
    pub q_bits: Option<u32>,
    pub q_group_size: Option<usize>,
    pub q_mode: Mode,
    pub dtype: Option<FloatType>,
    pub max_shard_size: u64,
    pub force: bool,
    pub trust_remote_code: bool,
}

impl ConvertOptions {
    pub fn new(hf_path: impl Into<PathBuf>, mlx_path: impl Into<PathBuf>) -> Self {
        ConvertOptions {
            hf_path: hf_path.into(),
            mlx_path: mlx_path.into(),
            quantize: false,
            q_bits: None,
            q_group_size: None,
            q_mode: Mode::Affine,
            dtype: None,
            max_shard_size: DEFAULT_MAX_SHARD_SIZE,
            force: false,
            trust_remote_code: false,
        }
    }

    /// The global quantization spec, validated, if `-q` was given.
    pub fn quant_request(&self) -> Result<Option<QuantRequest>> {
        if !self.quantize {
            if self.q_bits.is_some() || self.q_group_size.is_some() || self.q_mode != Mode::Affine {
                return Err(Error::Usage(
                    "--q-bits, --q-group-size and --q-mode only apply with -q/--quantize".into(),
                ));
            }
            return Ok(None);
        }
        let (gs, bits) = self.q_mode.defaults();
        let spec = QuantSpec {
            mode: self.q_mode,
            group_size: self.q_group_size.unwrap_or(gs),
            bits: self.q_bits.unwrap_or(bits),
        };
        spec.validate().map_err(Error::Usage)?;
        Ok(Some(QuantRequest { spec }))
    }
}

/// What happens to a parameter's bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// Bytes copied unchanged (non-float tensors, or floats already in the target dtype).
    Copy,
    /// Float conversion with round-to-nearest-even.
    Cast {
        #[serde(serialize_with = "ser_float")]
        from: FloatType,
        #[serde(serialize_with = "ser_float")]
        to: FloatType,
    },
    /// Cast to `float` (the weight dtype T), then quantize; scales/biases are stored as T.
    Quantize {
        #[serde(serialize_with = "ser_float")]
        from: FloatType,
        #[serde(serialize_with = "ser_float")]
        float: FloatType,
        mode: Mode,
        group_size: usize,
        bits: u32,
    },
}

fn ser_float<S: serde::Serializer>(t: &FloatType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(float_name(*t))
}

/// An output tensor's place: shard index and slot index in that shard's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub shard: usize,
    pub slot: usize,
}

/// One model parameter (as mlx-lm's model has it after `sanitize`) and how to produce it.
#[derive(Clone, Debug, Serialize)]
pub struct ParamPlan {
    /// Parameter path, e.g. `model.layers.0.mlp.up_proj.weight`.
    pub name: String,
    /// The checkpoint tensor it comes from.
    pub source: SourceTensor,
    #[serde(flatten)]
    pub op: Op,
    /// Where its outputs go: one placement, or weight/scales[/biases] for a quantized weight.
    pub outputs: Vec<Placement>,
}

impl ParamPlan {
    /// Elements along the last axis: the unit the executor streams in.
    pub fn row_len(&self) -> usize {
        self.source.shape.last().copied().unwrap_or(1).max(1)
    }

    pub fn rows(&self) -> usize {
        let n: usize = self.source.shape.iter().product();
        n / self.row_len()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub source_dir: PathBuf,
    pub model_type: String,
    pub arch: &'static str,
    /// Cast target for floating tensors, if any.
    #[serde(serialize_with = "ser_opt_float")]
    pub dtype: Option<FloatType>,
    pub quantization: Option<Json>,
    /// Parameters in module-tree order.
    pub params: Vec<ParamPlan>,
    pub shards: Vec<ShardLayout>,
    /// The config.json text to write.
    #[serde(skip)]
    pub config_text: String,
    /// Files copied from the source folder unchanged.
    pub copied_files: Vec<String>,
    /// Sum of all output tensor bytes (the index's `total_size`).
    pub total_size: u64,
    /// Unquantized parameter count (the index's `total_parameters`).
    pub total_parameters: u64,
    /// Source tensors that `sanitize` dropped.
    pub dropped: Vec<String>,
    /// Notes for the user (e.g. dtype decisions).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub weight_files: Vec<PathBuf>,
}

fn ser_opt_float<S: serde::Serializer>(
    t: &Option<FloatType>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(float_name(*t)),
        None => s.serialize_none(),
    }
}

impl Plan {
    /// `total_size * 8 / total_parameters`, the figure mlx-lm prints after quantizing.
    pub fn bits_per_weight(&self) -> f64 {
        if self.total_parameters == 0 {
            return 0.0;
        }
        self.total_size as f64 * 8.0 / self.total_parameters as f64
    }

    /// Source bytes the executor reads.
    pub fn input_bytes(&self) -> u64 {
        self.params.iter().map(|p| p.source.nbytes).sum()
    }

    /// The `model.safetensors.index.json` text, as `save_model` writes it.
    pub fn index_json(&self) -> String {
        let mut weight_map: Vec<(&str, &str)> = self
            .shards
            .iter()
            .flat_map(|s| {
                s.tensors
                    .iter()
                    .map(move |t| (t.name.as_str(), s.file_name.as_str()))
            })
            .collect();
        weight_map.sort_unstable();
        let mut meta = Map::new();
        meta.insert("total_size".into(), Value::from(self.total_size));
        meta.insert(
            "total_parameters".into(),
            Value::from(self.total_parameters),
        );
        let mut wm = Map::new();
        for (k, v) in weight_map {
            wm.insert(k.into(), Value::from(v));
        }
        let mut index = Map::new();
        index.insert("metadata".into(), Value::Object(meta));
        index.insert("weight_map".into(), Value::Object(wm));
        crate::pyjson::to_string_indent4(&Value::Object(index))
    }
}

/// Builds the plan for a local checkpoint folder, reading only config files and headers.
pub fn build(opts: &ConvertOptions) -> Result<Plan> {
    // Usage errors first, then an unsupported architecture, before the folder is scanned.
    opts.quant_request()?;
    let cfg = config::load_config(&opts.hf_path)?;
    resolve_arch(&cfg, &opts.hf_path)?;
    build_from(opts, &Inventory::local(&opts.hf_path)?)
}

/// Builds the plan from an inventory (local or remote).
pub fn build_from(opts: &ConvertOptions, inv: &Inventory) -> Result<Plan> {
    let quant = opts.quant_request()?;
    let dir = inv.dir.as_path();
    let cfg = inv.config.clone();
    let arch = resolve_arch(&cfg, dir)?;
    refuse_prequantized(&cfg, dir)?;
    let tensors = inv.tensors()?;

    let mut notes = Vec::new();
    let dtype = config::resolve_dtype(&cfg, opts.dtype);
    match dtype {
        Some((t, src)) => notes.push(format!(
            "floating tensors cast to {} ({})",
            float_name(t),
            match src {
                DtypeSource::Flag => "--dtype",
                DtypeSource::TorchDtype => "config torch_dtype",
                DtypeSource::TextConfigDtype => "config text_config.dtype",
            }
        )),
        None => {
            if let Some(v5) = config::has_only_v5_dtype(&cfg) {
                notes.push(format!(
                    "config.json says \"dtype\": \"{v5}\" but has no torch_dtype; like mlx-lm, tensors keep \
                     their stored dtypes (pass --dtype {v5} to cast)"
                ));
            }
        }
    }
    let dtype = dtype.map(|(t, _)| t);

    // sanitize: rename/drop by the architecture's rules.
    let named: Vec<(String, SourceTensor)> =
        tensors.iter().map(|t| (t.name.clone(), t.clone())).collect();
    let kept = apply::sanitize(arch, &cfg, named);
    let kept_sources: std::collections::HashSet<&str> =
        kept.iter().map(|(_, t)| t.name.as_str()).collect();
    let dropped: Vec<String> = tensors
        .iter()
        .filter(|t| !kept_sources.contains(t.name.as_str()))
        .map(|t| t.name.clone())
        .collect();
    let mut params = kept;
    params.sort_by(|a, b| apply::module_order(arch, &a.0, &b.0));
    if let Some(w) = params.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::Plan(format!(
            "two checkpoint tensors become the same parameter `{}` after renaming; the checkpoint \
             mixes key layouts",
            w[0].0
        )));
    }

    // Per-parameter operation, and the flat list of outputs in module order.
    let mut quant_cfg = quant.map(|q| {
        let mut m = Map::new();
        m.insert("group_size".into(), Value::from(q.spec.group_size));
        m.insert("bits".into(), Value::from(q.spec.bits));
        m.insert("mode".into(), Value::from(q.spec.mode.as_str()));
        m
    });
    let mut planned = Vec::with_capacity(params.len());
    let mut outputs: Vec<(String, DType, Vec<usize>)> = Vec::new();
    let mut total_parameters: u64 = 0;
    for (name, src) in params {
        check_loadable(&src, &inv.weight_files)?;
        total_parameters += src.shape.iter().product::<usize>() as u64;
        let float = src.dtype.float_type();
        let target = match (float, dtype) {
            (Some(_), Some(t)) if apply::may_cast(arch, &name) => Some(t),
            (Some(f), _) => Some(f),
            (None, _) => None,
        };
        let decision = match (&quant, float) {
            (Some(q), Some(_)) => policy::decide(arch, &name, &src.shape, q),
            _ => None,
        };
        let first = outputs.len();
        let op = if let (Some(d), Some(from), Some(t)) = (&decision, float, target) {
            if let (Some(entry), Some(qc)) = (&d.config_entry, quant_cfg.as_mut()) {
                let layer = name.strip_suffix(".weight").unwrap_or(&name);
                qc.insert(layer.to_string(), Value::Object(entry.clone()));
            }
            check_quantizable_shape(&name, &src.shape, &d.spec)?;
            let base = name.strip_suffix(".weight").unwrap_or(&name);
            for (suffix, dt, shape) in d.spec.output_tensors(&src.shape, DType::from_float(t)) {
                outputs.push((format!("{base}.{suffix}"), dt, shape));
            }
            Op::Quantize {
                from,
                float: t,
                mode: d.spec.mode,
                group_size: d.spec.group_size,
                bits: d.spec.bits,
            }
        } else {
            let (op, out_dtype) = match (float, target) {
                (Some(f), Some(t)) if f != t => (Op::Cast { from: f, to: t }, DType::from_float(t)),
                _ => (Op::Copy, src.dtype.mlx_storage()),
            };
            outputs.push((name.clone(), out_dtype, src.shape.clone()));
            op
        };
        let n_out = outputs.len() - first;
        planned.push((
            ParamPlan {
                name,
                source: src,
                op,
                outputs: Vec::new(),
            },
            first,
            n_out,
        ));
    }

    // Greedy sharding in module order, exactly like `make_shards`.
    let (shards, placements) = make_shards(outputs, opts.max_shard_size);
    let params = planned
        .into_iter()
        .map(|(mut p, first, n)| {
            p.outputs = placements[first..first + n].to_vec();
            p
        })
        .collect::<Vec<_>>();
    let total_size = shards.iter().map(|s| s.data_len()).sum();
    let (_, config_text) = config::output_config(cfg.clone(), quant_cfg.clone());

    let plan = Plan {
        source_dir: dir.to_path_buf(),
        model_type: config::model_type(&cfg).unwrap_or_default().to_string(),
        arch: arch.name,
        dtype,
        quantization: quant_cfg,
        params,
        shards,
        config_text,
        copied_files: inv.copied_files.clone(),
        total_size,
        total_parameters,
        dropped,
        notes,
        weight_files: inv.weight_files.clone(),
    };
    Ok(plan)
}

fn resolve_arch(cfg: &Json, dir: &Path) -> Result<&'static Arch> {
    let Some(model_type) = config::model_type(cfg) else {
        return Err(Error::Config {
            file: dir.join("config.json"),
            msg: "no `model_type`; hf2mlx needs it to know the architecture".into(),
        });
    };
    let arch = arch::find(model_type).ok_or_else(|| Error::UnsupportedModel {
        model_type: model_type.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        supported: arch::supported_model_types().join(", "),
    })?;
    for u in arch.unsupported {
        let mut v = Some(&Value::Object(cfg.clone()));
        for k in u.key {
            v = v.and_then(|x| x.get(*k));
        }
        if v.and_then(Value::as_str) == Some(u.equals) {
            return Err(Error::Source(format!(
                "{}: `{}` = \"{}\" is not supported: {}",
                dir.join("config.json").display(),
                u.key.join("."),
                u.equals,
                u.reason
            )));
        }
    }
    Ok(arch)
}

/// Checkpoints that are already quantized need loader transforms this version doesn't do yet;
/// converting them as floats would silently produce garbage.
fn refuse_prequantized(cfg: &Json, dir: &Path) -> Result<()> {
    if cfg.contains_key("quantization") {
        return Err(Error::Source(format!(
            "{} is already an MLX-quantized model; converting quantized MLX models is not supported yet",
            dir.display()
        )));
    }
    let qc = cfg.get("quantization_config").or_else(|| {
        cfg.get("text_config")
            .and_then(|t| t.get("quantization_config"))
    });
    if let Some(qc) = qc {
        let method = qc
            .get("quant_method")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        return Err(Error::Source(format!(
            "{} is a pre-quantized checkpoint (quant_method `{method}`), which hf2mlx cannot convert yet; \
             use the original float checkpoint",
            dir.display()
        )));
    }
    Ok(())
}

/// mlx cannot load these dtypes; fail in the plan rather than write something mlx rejects.
fn check_loadable(t: &SourceTensor, files: &[PathBuf]) -> Result<()> {
    match t.dtype {
        DType::F64 | DType::F8E5M2 => Err(Error::Safetensors {
            file: files[t.file].clone(),
            msg: format!(
                "tensor `{}` is {}, which mlx cannot load; convert the checkpoint to float32 or bfloat16 first",
                t.name,
                t.dtype.as_str()
            ),
        }),
        _ => Ok(()),
    }
}

fn check_quantizable_shape(name: &str, shape: &[usize], spec: &QuantSpec) -> Result<()> {
    let k = shape.last().copied().unwrap_or(0);
    let n: usize = shape.iter().product();
    if shape.len() < 2 || k % spec.group_size != 0 {
        return Err(Error::Plan(format!(
            "cannot quantize `{name}` {shape:?} with group size {}",
            spec.group_size
        )));
    }
    // mlx's CPU fp4 packer reshapes to (-1, 4, 8): it needs N·K to be a multiple of 32.
    if spec.mode == Mode::Nvfp4 && !n.is_multiple_of(32) {
        return Err(Error::Plan(format!(
            "cannot nvfp4-quantize `{name}` {shape:?}: mlx needs its element count to be a multiple of 32"
        )));
    }
    Ok(())
}

/// Greedy split in order: a new shard starts when the next tensor would push the current one
/// past `max` (a tensor larger than `max` gets a shard of its own). Returns layouts and, for each
/// input tensor, its placement.
pub fn make_shards(
    tensors: Vec<(String, DType, Vec<usize>)>,
    max: u64,
) -> (Vec<ShardLayout>, Vec<Placement>) {
    let mut groups: Vec<Vec<(String, DType, Vec<usize>)>> = Vec::new();
    let mut size = 0u64;
    for t in tensors {
        let nbytes = t.2.iter().product::<usize>() as u64 * t.1.size() as u64;
        if groups.is_empty() || size + nbytes > max {
            groups.push(Vec::new());
            size = 0;
        }
        size += nbytes;
        if let Some(g) = groups.last_mut() {
            g.push(t);
        }
    }
    let n = groups.len();
    let mut placements = Vec::new();
    let shards = groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            placements.extend((0..g.len()).map(|slot| Placement { shard: i, slot }));
            let name = if n == 1 {
                "model.safetensors".to_string()
            } else {
                format!("model-{:05}-of-{:05}.safetensors", i + 1, n)
            };
            ShardLayout::new(name, g)
        })
        .collect();
    (shards, placements)
}
