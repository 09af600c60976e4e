//! Pre-quantized Hugging Face sources (AWQ, GPTQ, compressed-tensors, ...) against mlx-lm 0.32.2: every fixture in
//! `tests/fixtures/prequant/<case>/hf` converted with each variant's flags must give the tensors
//! and config mlx_lm.convert wrote (`expected/<variant>.json`, recorded by
//! `tools/gen_prequant_fixtures.py`); where mlx-lm failed, hf2mlx must refuse too.

mod common;

use std::path::Path;

use hf2mlx::cast::FloatType;
use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::Mode;
use serde_json::Value;

/// The options for a manifest's `command` (mlx_lm.convert flags).
fn options(command: &str, src: &Path, dst: &Path) -> ConvertOptions {
    let mut o = ConvertOptions::new(src, dst);
    let mut it = command.split_whitespace().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().expect("flag value").to_string();
        match flag {
            "-q" => o.quantize = true,
            "-d" => o.dequantize = true,
            "--q-mode" => o.q_mode = Mode::parse(&val()).unwrap(),
            "--q-bits" => o.q_bits = Some(val().parse().unwrap()),
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

/// Where hf2mlx deliberately differs from mlx-lm's output: (case, variant, tensor-name part,
/// why). Only byte differences of matching tensors are forgiven, and each entry must still
/// differ, so the list cannot go stale.
const DELIBERATE: &[(&str, &str, &str, &str)] = &[(
    "muse_spark-modelopt",
    "dequantize",
    ".mlp.experts.",
    "mlx-lm's -d calls mx.dequantize without the nvfp4 global scale, so its expert weights are \
     off by that factor; hf2mlx applies it (see interop.rs dequantize_applies_nvfp4_global_scale)",
)];

/// Converts every variant of fixture `case` and returns the differences from mlx-lm.
fn check_case(case: &str) -> Vec<String> {
    let root = common::fixtures().join("prequant").join(case);
    let mut manifests: Vec<_> = std::fs::read_dir(root.join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    manifests.sort();
    assert!(!manifests.is_empty(), "{case} has no expected manifests");
    let mut failures = Vec::new();
    for m in manifests {
        let variant = m.file_stem().unwrap().to_string_lossy().to_string();
        let expected: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let opts = options(
            expected["command"].as_str().unwrap(),
            &root.join("hf"),
            &out,
        );
        let result = hf2mlx::convert(&opts, &|_, _| {});
        match (expected.get("error"), result) {
            (Some(_), Err(_)) => {}
            (Some(e), Ok(_)) => failures.push(format!(
                "{case}/{variant}: converted, but mlx-lm fails with {e}"
            )),
            (None, Err(e)) => failures.push(format!("{case}/{variant}: conversion failed: {e}")),
            (None, Ok(_)) => {
                let mut diffs = common::compare(&out, &expected);
                for (_, _, part, why) in DELIBERATE
                    .iter()
                    .filter(|(c, v, _, _)| *c == case && *v == variant)
                {
                    let before = diffs.len();
                    diffs.retain(|d| !(d.contains(part) && d.ends_with(": bytes differ")));
                    if diffs.len() == before {
                        diffs.push(format!("no longer differs where expected ({why})"));
                    }
                }
                if !diffs.is_empty() {
                    let head: Vec<_> = diffs.iter().take(8).cloned().collect();
                    failures.push(format!(
                        "{case}/{variant}: {} differences:\n    {}",
                        diffs.len(),
                        head.join("\n    ")
                    ));
                }
            }
        }
    }
    failures
}

macro_rules! cases {
    ($($test:ident => $case:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let failures = check_case($case);
                assert!(failures.is_empty(), "{}", failures.join("\n"));
            }
        )*
    };
}

cases!(
    awq => "awq",
    gptq => "gptq",
    gptq_with_group_indices_is_refused => "gptq-gidx",
    gpt_oss_mxfp4 => "gpt_oss-mxfp4",
    compressed_tensors_int4 => "deepseek_v3-compressed",
    compressed_tensors_nvfp4_is_refused => "deepseek_v3-compressed-nvfp4",
    compressed_tensors_without_the_remap_is_refused => "llama-compressed",
    modelopt_nvfp4_is_refused => "llama-modelopt-nvfp4",
    fp8_ue8m0_is_refused => "llama-fp8-ue8m0",
    minimax_m3_vl_mxfp8 => "minimax_m3_vl-mxfp8",
    minimax_m3_vl_bf16 => "minimax_m3_vl-bf16",
    deepseek_v41_fp8_and_fp4 => "deepseek_v41-fp8",
    muse_spark_modelopt_nvfp4 => "muse_spark-modelopt",
    kimi_k3_compressed_mxfp4_experts => "kimi_k3-compressed-mxfp4",
);

#[test]
fn prequantized_refusals_say_why() {
    for (case, needle) in [
        ("deepseek_v3-compressed-nvfp4", "nvfp4-pack-quantized"),
        ("llama-compressed", "`llama` model"),
        ("llama-modelopt-nvfp4", "muse_spark"),
        ("llama-fp8-ue8m0", "minimax_m3_vl"),
    ] {
        let root = common::fixtures().join("prequant").join(case);
        let tmp = tempfile::tempdir().unwrap();
        let opts = ConvertOptions::new(root.join("hf"), tmp.path().join("out"));
        let err = hf2mlx::convert(&opts, &|_, _| {}).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("-q"), "{case}: {err}");
    }
}

#[test]
fn act_order_refusal_names_the_tensor_and_the_way_out() {
    let root = common::fixtures().join("prequant").join("gptq-gidx");
    let tmp = tempfile::tempdir().unwrap();
    let opts = ConvertOptions::new(root.join("hf"), tmp.path().join("out"));
    let err = hf2mlx::convert(&opts, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains(".g_idx") && err.contains("desc_act"), "{err}");
}

/// ModelOpt exports may keep their settings in hf_quant_config.json only (mlx-lm's loader reads
/// it when config.json has no `quantization_config`): refused the same way.
#[test]
fn modelopt_settings_in_hf_quant_config_are_refused() {
    let fixture = common::fixtures()
        .join("prequant")
        .join("llama-modelopt-nvfp4")
        .join("hf");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for e in std::fs::read_dir(&fixture).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
    }
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    cfg.as_object_mut().unwrap().remove("quantization_config");
    std::fs::write(src.join("config.json"), cfg.to_string()).unwrap();
    std::fs::write(
        src.join("hf_quant_config.json"),
        r#"{"producer": {"name": "modelopt"}, "quantization": {"quant_algo": "NVFP4", "group_size": 16}}"#,
    )
    .unwrap();
    let opts = ConvertOptions::new(&src, tmp.path().join("out"));
    let err = hf2mlx::convert(&opts, &|_, _| {}).unwrap_err().to_string();
    assert!(
        err.contains("modelopt") && err.contains("muse_spark"),
        "{err}"
    );
}
