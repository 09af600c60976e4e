//! hf2mlx: convert Hugging Face checkpoints into Apple MLX model folders that `mlx_lm.load`
//! opens unchanged, tensor-for-tensor identical to `mlx_lm.convert`, streaming in bounded memory.
//!
//! Pipeline: [`source`] (find files) → [`plan`] (config + headers → every output tensor, its
//! source, transform and shard) → [`exec`] (stream row blocks through the [`quant`] and [`cast`]
//! kernels on all cores) → [`output`] (temporary folder, fsync, rename).

pub mod arch;
pub mod cast;
pub mod config;
pub mod dtype;
pub mod error;
pub mod exec;
pub mod finite;
pub mod hub;
pub mod multimodal;
pub mod output;
pub mod plan;
pub mod pyjson;
pub mod quant;
pub mod report;
pub mod safetensors;
pub mod source;
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
    let tx = output::Transaction::begin(&opts.mlx_path, opts.force)?;
    let total = plan.input_bytes();
    let done = std::sync::atomic::AtomicU64::new(0);
    exec::execute(plan, &ckpt, tx.dir(), &|n| {
        let d = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        progress(d, total);
    })?;
    tx.write_file("model.safetensors.index.json", plan.index_json().as_bytes())?;
    tx.write_file("config.json", plan.config_text.as_bytes())?;
    for name in &plan.copied_files {
        tx.copy_file(&plan.source_dir.join(name), name)?;
    }
    tx.write_file(
        "README.md",
        output::model_card_with(plan, provenance).as_bytes(),
    )?;
    let mlx_path = tx.commit()?;
    Ok(Report {
        mlx_path,
        bits_per_weight: plan.bits_per_weight(),
        total_size: plan.total_size,
        total_parameters: plan.total_parameters,
        tensors: plan.shards.iter().map(|s| s.tensors.len()).sum(),
        shards: plan.shards.len(),
    })
}
