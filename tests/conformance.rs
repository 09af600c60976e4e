//! Conformance with mlx-lm: convert every fixture checkpoint with every setting mlx-lm 0.32.2
//! was run with (`tests/fixtures/models/<arch>/expected/<variant>.json`) and require identical
//! tensors (name, dtype, shape, sha256 of bytes), config.json and index metadata.

mod common;

use std::path::Path;

use hf2mlx::cast::FloatType;
use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::Mode;
use serde_json::Value;

/// Turns a manifest's `command` (mlx_lm.convert flags) into options.
fn options(command: &str, src: &Path, dst: &Path) -> ConvertOptions {
    let mut o = ConvertOptions::new(src, dst);
    let mut it = command.split_whitespace().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().expect("flag value").to_string();
        match flag {
            "-q" => o.quantize = true,
            "--q-bits" => o.q_bits = Some(val().parse().unwrap()),
            "--q-group-size" => o.q_group_size = Some(val().parse().unwrap()),
            "--q-mode" => o.q_mode = Mode::parse(&val()).unwrap(),
            "--quant-predicate" => o.quant_predicate = Some(val()),
            "-d" => o.dequantize = true,
            "(input:" => break,
            "--dtype" => {
                o.dtype = Some(match val().as_str() {
                    "float16" => FloatType::F16,
                    "bfloat16" => FloatType::BF16,
                    _ => FloatType::F32,
                })
            }
            other => panic!("test does not know flag {other}"),
        }
    }
    o
}

/// Converts every fixture that has `variant` and checks it; panics with all differences.
fn check_variant(variant: &str) {
    let root = common::fixtures().join("models");
    let mut archs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    archs.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for arch in archs {
        let manifest = arch.join("expected").join(format!("{variant}.json"));
        let Ok(bytes) = std::fs::read(&manifest) else {
            continue;
        };
        let expected: Value = serde_json::from_slice(&bytes).unwrap();
        let name = arch.file_name().unwrap().to_string_lossy().to_string();
        if expected.get("error").is_some() {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let command = expected["command"].as_str().unwrap();
        // `-d (input: the q4 output)`: dequantize what `-q` wrote (identical to mlx-lm's q4,
        // which the q4 variant checks).
        let src = if command.contains("input: the q4 output") {
            let q4 = tmp.path().join("q4");
            let mut o = ConvertOptions::new(arch.join("hf"), &q4);
            o.quantize = true;
            hf2mlx::convert(&o, &|_, _| {}).unwrap();
            q4
        } else {
            arch.join("hf")
        };
        let opts = options(command, &src, &out);
        match hf2mlx::convert(&opts, &|_, _| {}) {
            Err(e) => failures.push(format!("{name}: conversion failed: {e}")),
            Ok(_) => {
                let diffs = common::compare(&out, &expected);
                if !diffs.is_empty() {
                    let n = diffs.len();
                    let head: Vec<_> = diffs.into_iter().take(8).collect();
                    failures.push(format!(
                        "{name}: {n} differences:\n    {}",
                        head.join("\n    ")
                    ));
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no fixture has variant {variant}");
    assert!(
        failures.is_empty(),
        "{variant}: {} of {checked} fixtures differ from mlx-lm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

macro_rules! variants {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { check_variant(stringify!($name)); } )*
    };
}

variants!(
    plain,
    f16,
    q2,
    q3g32,
    q4,
    q5,
    q6,
    q8g128,
    mxfp4,
    nvfp4,
    mxfp8,
    mixed_2_6,
    mixed_3_4,
    mixed_3_6,
    mixed_4_6,
    dequantize_from_q4,
);
