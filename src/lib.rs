//! hf2mlx: convert Hugging Face checkpoints into Apple MLX model folders that `mlx_lm.load`
//! opens unchanged, tensor-for-tensor identical to `mlx_lm.convert`, streaming in bounded memory.
//!
//! Pipeline: [`source`] (find files) → [`plan`] (config + headers → every output tensor, its
//! source, transform and shard) → [`exec`] (stream row blocks through the [`quant`] and [`cast`]
//! kernels on all cores) → [`output`] (temporary folder, fsync, rename).

pub mod arch;
pub mod audio;
pub mod cast;
pub mod config;
pub mod dtype;
pub mod error;
pub mod eval;
pub mod exec;
pub mod finite;
pub mod gguf;
pub mod hub;
pub mod multimodal;
pub mod output;
pub mod plan;
pub mod pyjson;
pub mod quant;
pub mod report;
pub mod safetensors;
pub mod source;
pub mod source_quant;
pub mod stdout;
pub mod validate;

use std::path::PathBuf;

pub use error::{Error, Result};
pub use plan::{ConvertOptions, Plan};

/// What a finished conversion reports.
#[derive(Debug, Clone)]
pub struct Report {
    pub mlx_path: PathBuf,
    pub bits_per_weight: f64,
    pub total_size: u64,
    pub total_parameters: u64,
    pub tensors: usize,
    pub shards: usize,
    /// `--eval` results, when asked for.
    pub quality: Option<eval::EvalReport>,
}

/// Builds the conversion plan without reading any tensor data.
pub fn plan(opts: &ConvertOptions) -> Result<Plan> {
    plan::build(opts)
}

/// Converts `opts.hf_path` into `opts.mlx_path`. `progress(done, total)` is called with source
/// bytes processed.
pub fn convert(opts: &ConvertOptions, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Report> {
    let plan = plan::build(opts)?;
    execute_plan(&plan, opts, progress)
}

/// Writes the output of an already built plan (e.g. planned from remote headers, then
/// downloaded). The shards are re-opened and must still match what was planned.
pub fn execute_plan(
    plan: &Plan,
    opts: &ConvertOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Report> {
    execute_plan_with_card(plan, opts, None, progress)
}

/// [`execute_plan`], with provenance for the model card (source repo and commit, command line,
/// the source card's front matter) — what a Hub source or `--upload-repo` records.
pub fn execute_plan_with_card(
    plan: &Plan,
    opts: &ConvertOptions,
    provenance: Option<&output::Provenance>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Report> {
    // A GGUF's tokenizer and generation files are generated from its metadata.
    let (ckpt, generated) = if gguf::convert::is_gguf_plan(plan) {
        if opts.eval.is_some() {
            return Err(Error::Usage(
                "--eval needs a Hugging Face or MLX source folder; for a GGUF, run `hf2mlx \
                 import-gguf` first and convert (or evaluate against) that folder"
                    .into(),
            ));
        }
        gguf::convert::open_source(plan)?
    } else {
        (open_unchanged(plan)?, Vec::new())
    };
    // After the download (Hub sources) and before the output folder exists.
    if opts.check_finite {
        finite::check(&plan.weight_files)?;
    }
    if opts.eval.is_some() {
        // Fail before converting, not after.
        eval::model::check_config(&plan.inventory.config)?;
    }
    let tx = output::Transaction::begin(&opts.mlx_path, opts.force)?;
    let total = plan.input_bytes();
    let done = std::sync::atomic::AtomicU64::new(0);
    // Quantized outputs always get a per-tensor weight error report (sampled, cheap).
    let errors = plan
        .quantization
        .is_some()
        .then(|| eval::weight_error::WeightErrors::new(plan.params.len()));
    exec::execute_measured(
        plan,
        &ckpt,
        tx.dir(),
        &|n| {
            let d = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            progress(d, total);
        },
        errors.as_ref(),
    )?;
    tx.write_file("model.safetensors.index.json", plan.index_json().as_bytes())?;
    tx.write_file("config.json", plan.config_text.as_bytes())?;
    for name in &plan.copied_files {
        tx.copy_file(&plan.source_dir.join(name), name)?;
    }
    for (name, text) in &generated {
        tx.write_file(name, text.as_bytes())?;
    }
    // `--eval`: the finished (still temporary) folder against its source, before the rename,
    // so a failed evaluation leaves no output behind.
    let quality = match &opts.eval {
        Some(e) => {
            let mut r = eval::evaluate(&plan.source_dir, &[tx.dir().to_path_buf()], e)?;
            for m in &mut r.models {
                m.path = opts.mlx_path.clone();
            }
            Some(r)
        }
        None => None,
    };
    let mut card = output::model_card_with(plan, provenance);
    if let Some(q) = &quality {
        card.push_str(&output::quality_section(q));
    }
    tx.write_file("README.md", card.as_bytes())?;
    if errors.is_some() || quality.is_some() {
        let weight_error = errors.as_ref().map(|e| e.report(plan));
        let json = eval::conversion_report_json(weight_error.as_deref(), quality.as_ref());
        tx.write_file(eval::REPORT_FILE, json.as_bytes())?;
    }
    let mlx_path = tx.commit()?;
    Ok(Report {
        mlx_path,
        bits_per_weight: plan.bits_per_weight(),
        total_size: plan.total_size,
        total_parameters: plan.total_parameters,
        tensors: plan.shards.iter().map(|s| s.tensors.len()).sum(),
        shards: plan.shards.len(),
        quality,
    })
}

/// Opens a plan's safetensors shards, refusing any whose tensors changed since planning (e.g. a
/// Hub download replaced them).
fn open_unchanged(plan: &Plan) -> Result<safetensors::Checkpoint> {
    let ckpt = safetensors::Checkpoint::open(&plan.weight_files)?;
    let on_disk: std::collections::HashMap<&str, &safetensors::SourceTensor> =
        ckpt.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in plan.params.iter().flat_map(|p| p.input.sources()) {
        if on_disk.get(t.name.as_str()) != Some(&t) {
            return Err(Error::Source(format!(
                "{} changed since the conversion was planned (tensor `{}`); run again",
                plan.source_dir.display(),
                t.name
            )));
        }
    }
    Ok(ckpt)
}
