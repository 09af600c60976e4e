//! Checkpoints that arrive quantized in a non-MLX format: converted where mlx-lm's model
//! dequantizes them in `sanitize` (fp8 block scales: the conformance fixtures `*-fp8`), refused
//! with a clear error everywhere else, never converted as if the codes were floats.

mod common;

use std::path::Path;

use hf2mlx::ConvertOptions;
use serde_json::{Value, json};

/// A copy of fixture `name`'s checkpoint with `edit` applied to its config.json.
fn with_config(name: &str, tmp: &Path, edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let src = common::fixtures().join("models").join(name).join("hf");
    let dst = tmp.join("hf");
    common::copy_dir(&src, &dst);
    let path = dst.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(&path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    dst
}

fn convert_error(src: &Path, tmp: &Path) -> String {
    let opts = ConvertOptions::new(src, tmp.join("out"));
    match hf2mlx::convert(&opts, &|_, _| {}) {
        Ok(_) => panic!("{} converted, but must be refused", src.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fp8_is_refused_where_the_model_does_not_dequantize_it() {
    // ministral3's sanitize multiplies the raw fp8 bytes by the scale (no `from_fp8`).
    let tmp = tempfile::tempdir().unwrap();
    let src = with_config("ministral3-untied", tmp.path(), |c| {
        c["quantization_config"] = json!({"quant_method": "fp8", "weight_block_size": [128, 128]});
    });
    let err = convert_error(&src, tmp.path());
    assert!(
        err.contains("pre-quantized") && err.contains("fp8"),
        "{err}"
    );
}

#[test]
fn mxfp8_style_fp8_is_not_dequantized_as_blocks() {
    // ue8m0 scales over 32x32 blocks are mxfp8 to mlx-lm's loader, not 128x128 tiles.
    let tmp = tempfile::tempdir().unwrap();
    let src = with_config("deepseek_v3-fp8", tmp.path(), |c| {
        c["quantization_config"] = json!({
            "quant_method": "fp8", "scale_fmt": "ue8m0", "weight_block_size": [32, 32]
        });
    });
    let err = convert_error(&src, tmp.path());
    assert!(err.contains("pre-quantized"), "{err}");
}

/// `pack-quantized` int4 converts (tests/prequant_sources.rs); the other compressed-tensors
/// formats mlx-lm 0.32.2 cannot convert, and neither do we.
#[test]
fn compressed_tensors_other_than_int4_packs_are_refused() {
    for format in [
        "float-quantized",
        "nvfp4-pack-quantized",
        "mxfp4-pack-quantized",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let src = with_config("deepseek_v3", tmp.path(), |c| {
            c["quantization_config"] =
                json!({"quant_method": "compressed-tensors", "format": format});
        });
        let err = convert_error(&src, tmp.path());
        assert!(err.contains("compressed-tensors"), "{format}: {err}");
        assert!(!tmp.path().join("out").exists(), "{format}");
    }
}

#[test]
fn dequantize_flag_on_fp8_gives_the_float_model_without_its_quantization_config() {
    // mlx_lm.convert -d: sanitize already dequantized; only `quantization_config` goes.
    let root = common::fixtures().join("models").join("deepseek_v3-fp8");
    let mut expected: Value =
        serde_json::from_slice(&std::fs::read(root.join("expected/plain.json")).unwrap()).unwrap();
    expected["config"]
        .as_object_mut()
        .unwrap()
        .remove("quantization_config");
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = ConvertOptions::new(root.join("hf"), tmp.path().join("out"));
    opts.dequantize = true;
    hf2mlx::convert(&opts, &|_, _| {}).unwrap();
    let diffs = common::compare(&tmp.path().join("out"), &expected);
    assert!(diffs.is_empty(), "{diffs:#?}");
}
