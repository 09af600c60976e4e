//! Fuzzes the planner: a config.json and one to three shard headers, through
//! `source::Inventory` into `plan::build_from`. Any input must give a plan or an error, never a
//! panic, and an accepted plan must place every output tensor exactly once.
//!
//! Input layout: byte 0 = options (bit 0 quantize, bits 1-2 mode, bit 3 small shards, bit 4
//! data length taken from the header's largest offset rather than the file), then the config
//! JSON, then NUL-separated header JSONs.
#![no_main]

use std::path::PathBuf;

use hf2mlx::plan::{ConvertOptions, build_from};
use hf2mlx::quant::Mode;
use hf2mlx::safetensors::parse_header;
use hf2mlx::source::Inventory;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The data length a header claims: its largest end offset.
fn claimed_len(json: &[u8]) -> u64 {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(json) else {
        return 0;
    };
    m.values()
        .filter_map(|v| v.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let Some(cfg) = parts.next() else { return };
    let Ok(Value::Object(config)) = serde_json::from_slice::<Value>(cfg) else {
        return;
    };
    let raw: Vec<&[u8]> = parts.take(3).collect();
    if raw.is_empty() {
        return;
    }
    let n = raw.len();
    let mut headers = Vec::new();
    let mut files = Vec::new();
    for (i, h) in raw.iter().enumerate() {
        let len = if flags & 16 != 0 {
            claimed_len(h)
        } else {
            (h.len() as u64) / 2
        };
        let Ok(h) = parse_header(h, len) else { return };
        headers.push(h);
        files.push(PathBuf::from(if n == 1 {
            "/fuzz/model.safetensors".to_string()
        } else {
            format!("/fuzz/model-{:05}-of-{n:05}.safetensors", i + 1)
        }));
    }
    let inv = Inventory {
        dir: PathBuf::from("/fuzz"),
        config,
        weight_files: files,
        headers,
        copied_files: vec![],
    };
    let mut opts = ConvertOptions::new("/fuzz", "/fuzz-out");
    opts.quantize = flags & 1 != 0;
    opts.q_mode = match (flags >> 1) & 3 {
        0 => Mode::Affine,
        1 => Mode::Mxfp4,
        2 => Mode::Nvfp4,
        _ => Mode::Mxfp8,
    };
    if flags & 8 != 0 {
        opts.max_shard_size = 4096;
    }
    let Ok(plan) = build_from(&opts, &inv) else {
        return;
    };
    let placed: usize = plan.params.iter().map(|p| p.outputs.len()).sum();
    let slots: usize = plan.shards.iter().map(|s| s.tensors.len()).sum();
    assert_eq!(placed, slots);
    let mut seen = std::collections::HashSet::new();
    for p in &plan.params {
        for o in &p.outputs {
            assert!(seen.insert((o.shard, o.slot)), "slot used twice");
        }
    }
    let _ = plan.index_json();
});
