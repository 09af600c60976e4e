//! Human-readable summaries: the dry-run plan and byte sizes.

use std::fmt::Write;

use crate::plan::{ConvertOptions, Input, Op, Plan};

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{x:.2} {}", UNITS[u])
    }
}

/// The `--dry-run` text: what would be written, how big, and why.
pub fn dry_run_summary(plan: &Plan, opts: &ConvertOptions) -> String {
    let mut s = String::new();
    let (mut copied, mut cast, mut quantized, mut dequantized) = (0, 0, 0, 0);
    for p in &plan.params {
        match (&p.op, &p.input) {
            (Op::Copy, _) => copied += 1,
            (Op::Float { .. }, Input::Quantized { .. }) => dequantized += 1,
            (Op::Float { .. }, _) => cast += 1,
            (Op::Quantize { .. }, _) => quantized += 1,
        }
    }
    let _ = writeln!(
        s,
        "source:      {} (model_type {}, rules {})",
        plan.source_dir.display(),
        plan.model_type,
        plan.arch
    );
    let _ = writeln!(
        s,
        "mode:        {}",
        if plan.audio {
            "audio (mlx-audio layout and quantization rules)"
        } else if plan.multimodal {
            "vlm (vision/audio towers kept in float, mlx-vlm layout; --text-only for mlx-lm's text model)"
        } else {
            "text (mlx-lm)"
        }
    );
    let _ = writeln!(s, "destination: {}", opts.mlx_path.display());
    let _ = writeln!(
        s,
        "parameters:  {} tensors ({} quantized, {} dequantized, {} cast, {} copied), {} dropped by sanitize",
        plan.params.len(),
        quantized,
        dequantized,
        cast,
        copied,
        plan.dropped.len()
    );
    let _ = writeln!(s, "weights:     {} parameters", plan.total_parameters);
    match &plan.quantization {
        Some(q) => {
            let per_layer = q.len().saturating_sub(3);
            let _ = writeln!(
                s,
                "quantize:    {} {}-bit, group size {}{}",
                q.get("mode").and_then(|v| v.as_str()).unwrap_or(""),
                q.get("bits").map(|v| v.to_string()).unwrap_or_default(),
                q.get("group_size")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                if per_layer > 0 {
                    format!(" ({per_layer} layers with their own settings)")
                } else {
                    String::new()
                }
            );
        }
        None => {
            let _ = writeln!(s, "quantize:    no");
        }
    }
    if let Some(t) = plan.dtype {
        let _ = writeln!(s, "dtype:       {}", crate::dtype::float_name(t));
    }
    let _ = writeln!(
        s,
        "output:      {} in {} file(s), {:.3} bits per weight (input {})",
        human_bytes(plan.total_size),
        plan.shards.len(),
        plan.bits_per_weight(),
        human_bytes(plan.input_bytes())
    );
    let _ = writeln!(
        s,
        "memory:      about {} peak (streaming; independent of model size)",
        human_bytes(plan.peak_memory_estimate())
    );
    for shard in &plan.shards {
        let _ = writeln!(
            s,
            "  {}  {} tensors, {}",
            shard.file_name,
            shard.tensors.len(),
            human_bytes(shard.data_len())
        );
    }
    if !plan.copied_files.is_empty() {
        let _ = writeln!(s, "copied:      {}", plan.copied_files.join(", "));
    }
    let _ = writeln!(s, "other settings (size, bits per weight):");
    for e in crate::plan::estimates(plan, opts) {
        let _ = writeln!(
            s,
            "  {:<18} {:>12}  {:.3}",
            e.setting,
            human_bytes(e.total_size),
            e.bits_per_weight
        );
    }
    for n in &plan.notes {
        let _ = writeln!(s, "note:        {n}");
    }
    s
}
