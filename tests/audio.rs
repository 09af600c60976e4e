//! Speech conversions against mlx-audio 0.6.2: every tiny checkpoint under
//! `tests/fixtures/audio/<family>/<layout>/` (built from transformers' own model classes by
//! `tools/gen_audio_fixtures.py`), converted with every recorded setting, must give exactly the
//! tensors and config.json `mlx_audio.convert` wrote (`expected/<layout>-<variant>.json`), and
//! `mlx_audio.stt.load` must open our output.
//!
//! Whisper's encoder is quantized too (mlx-audio has no tower skip list), and a float32 output
//! holds float16 values, as mlx-audio's `sanitize` rounds every tensor to the model's float16
//! first: both are part of what the manifests pin down. Qwen2-Audio, Voxtral, Qwen3-ASR (Hub
//! `thinker.*` layout) and Granite Speech keep their encoders (and projectors, where the model's
//! `model_quant_predicate` says so) in float.

mod common;

use std::path::{Path, PathBuf};

use hf2mlx::cast::FloatType;
use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::Mode;
use serde_json::Value;

/// The settings `tools/gen_audio_fixtures.py` ran mlx_audio.convert with.
fn options(variant: &str, src: &Path, dst: &Path) -> ConvertOptions {
    let mut o = ConvertOptions::new(src, dst);
    match variant {
        "plain" => {}
        "q4" => o.quantize = true,
        "f16" => o.dtype = Some(FloatType::F16),
        "mxfp4" => {
            o.quantize = true;
            o.q_mode = Mode::Mxfp4;
        }
        "mixed_3_6" => {
            o.quantize = true;
            o.quant_predicate = Some("mixed_3_6".into());
        }
        other => panic!("test does not know variant {other}"),
    }
    o
}

/// Files we write that mlx-audio does not: the model card (mlx-audio writes README.md only when
/// uploading) and, for quantized outputs, the weight-error report.
const OUR_FILES: &[&str] = &["README.md", hf2mlx::eval::REPORT_FILE];

fn audio_root() -> PathBuf {
    common::fixtures().join("audio")
}

use common::sorted_dirs;

/// Differences between our output and an mlx-audio manifest: config.json must be equal as a
/// whole.
fn differences(out: &Path, expected: &Value) -> Vec<String> {
    // Granite Speech's `write_model_card` hook makes mlx-audio write a README.md of its own;
    // ours is our model card (see OUR_FILES), so neither side's card is compared.
    let mut expected = expected.clone();
    if let Some(Value::Array(files)) = expected.get_mut("files") {
        files.retain(|f| f != "README.md");
    }
    common::differences_from_converter(out, &expected, OUR_FILES, &[])
}

fn check_variant(variant: &str) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for family in sorted_dirs(&audio_root()) {
        for src in sorted_dirs(&family) {
            let layout = src.file_name().unwrap().to_string_lossy().to_string();
            if !layout.starts_with("hf") {
                continue;
            }
            let p = family
                .join("expected")
                .join(format!("{layout}-{variant}.json"));
            let expected: Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}")))
                    .unwrap();
            let name = format!("{}/{layout}", family.file_name().unwrap().to_string_lossy());
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            let result = hf2mlx::convert(&options(variant, &src, &out), &|_, _| {});
            match (result, expected.get("error")) {
                // Where mlx-audio refuses a setting, so do we (with a way out).
                (Err(_), Some(_)) => {}
                (Ok(_), Some(e)) => failures.push(format!(
                    "{name}: converted although mlx-audio refuses it ({e})"
                )),
                (Err(e), None) => failures.push(format!("{name}: conversion failed: {e}")),
                (Ok(_), None) => {
                    let d = differences(&out, &expected);
                    if !d.is_empty() {
                        let head: Vec<_> = d.iter().take(8).cloned().collect();
                        failures.push(format!(
                            "{name}: {} differences:\n    {}",
                            d.len(),
                            head.join("\n    ")
                        ));
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} audio fixtures found");
    assert!(
        failures.is_empty(),
        "{variant}: {} of {checked} audio fixtures differ from mlx-audio:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn plain() {
    check_variant("plain");
}

#[test]
fn q4() {
    check_variant("q4");
}

#[test]
fn f16() {
    check_variant("f16");
}

#[test]
fn mxfp4() {
    check_variant("mxfp4");
}

/// mlx-lm's recipes as mlx-audio vendors them; Whisper (no `down_proj`) and Voxtral (its
/// `Model` has no `layers` to count) are refused by both.
#[test]
fn mixed_3_6() {
    check_variant("mixed_3_6");
}

/// A Whisper config without `torch_dtype` (transformers 5 writes `dtype`) gets no convert-level
/// cast in mlx-audio, so its output keeps the model's float16: the tensors mlx-audio writes
/// for `--dtype float16` (checked against mlx_audio.convert when the fixtures were recorded).
#[test]
fn whisper_without_torch_dtype_is_float16() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let hf = audio_root().join("whisper/hf");
    for e in std::fs::read_dir(&hf).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
    }
    let mut config: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    assert!(config.remove("torch_dtype").is_some());
    std::fs::write(
        src.join("config.json"),
        serde_json::to_vec(&Value::Object(config)).unwrap(),
    )
    .unwrap();
    let out = tmp.path().join("out");
    hf2mlx::convert(&ConvertOptions::new(&src, &out), &|_, _| {}).unwrap();
    let expected: Value = serde_json::from_slice(
        &std::fs::read(audio_root().join("whisper/expected/hf-f16.json")).unwrap(),
    )
    .unwrap();
    let got = common::describe(&out);
    let et = expected["tensors"].as_object().unwrap();
    assert_eq!(got.tensors.len(), et.len());
    for (k, e) in et {
        let g = &got.tensors[k];
        assert_eq!(g.dtype, e["dtype"].as_str().unwrap(), "{k}");
        assert_eq!(g.sha256, e["sha256"].as_str().unwrap(), "{k}");
    }
    assert!(got.config.get("torch_dtype").is_none());
}

/// Granite Speech 5.0 ships an optional `out_llm.safetensors` (a BPE head for speculative
/// decoding) next to its weights. `mlx_audio.convert` copies it unchanged, and its loader finds
/// it there: with the file present, every setting must give what mlx-audio wrote for the `hf`
/// checkpoint plus that file (`expected/hf-head-*.json`: the head's bare `weight`/`bias` are in
/// the copied file, none in the model's shards). Other families leave such a file behind.
#[test]
fn granite_speech_bpe_head_is_copied_unchanged() {
    let family = audio_root().join("granite_speech");
    let head = family.join("out_llm.safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("hf-head");
    common::copy_dir(&family.join("hf"), &src);
    std::fs::copy(&head, src.join("out_llm.safetensors")).unwrap();
    for variant in ["plain", "q4", "f16", "mxfp4", "mixed_3_6"] {
        let out = tmp.path().join(format!("out-{variant}"));
        hf2mlx::convert(&options(variant, &src, &out), &|_, _| {}).unwrap();
        let p = family.join(format!("expected/hf-head-{variant}.json"));
        let expected: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(
            differences(&out, &expected),
            Vec::<String>::new(),
            "{variant}"
        );
        assert_eq!(
            std::fs::read(out.join("out_llm.safetensors")).unwrap(),
            std::fs::read(&head).unwrap(),
            "{variant}"
        );
    }

    let whisper = tmp.path().join("whisper");
    common::copy_dir(&audio_root().join("whisper/hf"), &whisper);
    std::fs::copy(&head, whisper.join("out_llm.safetensors")).unwrap();
    let out = tmp.path().join("out-whisper");
    hf2mlx::convert(&ConvertOptions::new(&whisper, &out), &|_, _| {}).unwrap();
    assert!(!out.join("out_llm.safetensors").exists());
}

/// A speech model has no text-only conversion; `--text-only` says so instead of guessing.
#[test]
fn text_only_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = ConvertOptions::new(audio_root().join("whisper/hf"), tmp.path().join("out"));
    o.text_only = true;
    let err = hf2mlx::plan(&o).unwrap_err().to_string();
    assert!(err.contains("Drop --text-only"), "{err}");
}

/// Whisper has no `down_proj` for a mixed recipe to rank; mlx-audio raises, and so do we.
#[test]
fn mixed_recipe_without_down_proj_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = ConvertOptions::new(audio_root().join("whisper/hf"), tmp.path().join("out"));
    o.quantize = true;
    o.quant_predicate = Some("mixed_3_6".into());
    let err = hf2mlx::plan(&o).unwrap_err().to_string();
    assert!(err.contains("down_proj"), "{err}");
}

/// `mlx_audio.stt.load` (0.6.2) opens our output, and the parameters it ends up with (after its
/// load-time sanitize) equal the tensors we wrote; Whisper's sanitize casts floats to its
/// float16 model dtype on every load, so there floats are compared as float16.
#[test]
fn mlx_audio_loads_our_output() {
    let py = common::oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
import sys, json
import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_audio.stt import load
out, load_dtype, no_hook = sys.argv[1], sys.argv[2], sys.argv[3]
if no_hook:
    # The hook only builds the processor (Voxtral's needs mistral_common's Tekken tokenizer,
    # which the fixture does not carry); the weights are loaded before it runs.
    import importlib
    delattr(importlib.import_module(no_hook).Model, "post_load_hook")
model = load(out)
params = dict(tree_flatten(model.parameters()))
saved = mx.load(out + "/model.safetensors")
def loaded_as(v):
    return v if v.dtype == mx.uint32 or not load_dtype else v.astype(getattr(mx, load_dtype))
differ = sorted(k for k, v in saved.items() if not (k in params and params[k].shape == v.shape
                and params[k].dtype == loaded_as(v).dtype
                and mx.array_equal(params[k], loaded_as(v)).item()))
print(json.dumps({"saved": len(saved), "differ": differ, "params": len(params)}))
"#;
    for family in sorted_dirs(&audio_root()) {
        let name = family.file_name().unwrap().to_string_lossy().to_string();
        for quantize in [false, true] {
            let out = tmp.path().join(format!("{name}-{quantize}"));
            let mut o = ConvertOptions::new(family.join("hf"), &out);
            o.quantize = quantize;
            hf2mlx::convert(&o, &|_, _| {}).unwrap();
            let r = std::process::Command::new(&py)
                .args(["-c", script])
                .arg(&out)
                .arg(if name == "whisper" { "float16" } else { "" })
                .arg(if name == "voxtral" {
                    "mlx_audio.stt.models.voxtral"
                } else {
                    ""
                })
                .env("HF_HUB_OFFLINE", "1")
                .output()
                .unwrap();
            assert!(
                r.status.success(),
                "{name}: mlx_audio.stt.load failed (is mlx-audio in the oracle venv? run \
                 `bash tools/mlx-oracle.sh --vlm`): {}",
                common::stderr(&r)
            );
            let line = String::from_utf8_lossy(&r.stdout);
            let v: Value = serde_json::from_str(line.lines().last().unwrap_or("")).unwrap();
            // mlx-audio's bug, not ours: Qwen2-Audio's sanitize runs again on load and moves the
            // encoder's conv kernels a second time unless the checkpoint holds quantization
            // scales, so an unquantized model (its own conversion too) loads them transposed.
            let known: &[&str] = if name == "qwen2_audio" && !quantize {
                &["audio_tower.conv1.weight", "audio_tower.conv2.weight"]
            } else {
                &[]
            };
            assert_eq!(
                v["differ"],
                serde_json::json!(known),
                "{name} (q={quantize}): {v}"
            );
            assert_eq!(v["saved"], v["params"], "{name} (q={quantize}): {v}");
        }
    }
}
