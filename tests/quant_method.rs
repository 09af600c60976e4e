//! `--quant-method`: outputs of a non-default method load in stock mlx-lm, `mx.dequantize` of
//! every layer equals our own dequantization (`-d`), and config.json is exactly RTN's.
//!
//! Needs the oracle venv (see tests/interop.rs).

mod common;

use std::path::Path;
use std::process::Command;

use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::method::QuantMethod;

fn convert(src: &Path, dst: &Path, bits: u32, method: QuantMethod) {
    let mut o = ConvertOptions::new(src, dst);
    o.quantize = true;
    o.q_bits = Some(bits);
    o.quant_method = method;
    hf2mlx::convert(&o, &|_, _| {}).unwrap_or_else(|e| panic!("convert {bits}-bit: {e}"));
}

#[test]
fn search_outputs_load_in_mlx_lm_and_dequantize_like_ours() {
    outputs_load_in_mlx_lm_and_dequantize_like_ours(QuantMethod::Search);
}

#[test]
fn clipfit_outputs_load_in_mlx_lm_and_dequantize_like_ours() {
    outputs_load_in_mlx_lm_and_dequantize_like_ours(QuantMethod::Clipfit);
}

/// The method's folder loads with `mlx_lm.load`, `mx.dequantize` of every layer equals our `-d`
/// output, config.json is RTN's, and the weights differ from RTN's (the method did something).
fn outputs_load_in_mlx_lm_and_dequantize_like_ours(method: QuantMethod) {
    let py = common::oracle_python();
    let src = common::llama();
    let tmp = tempfile::tempdir().unwrap();
    let name = method.as_str();
    for bits in [3, 4] {
        let ours = tmp.path().join(format!("{name}-{bits}"));
        let rtn = tmp.path().join(format!("rtn-{bits}"));
        let deq = tmp.path().join(format!("deq-{bits}"));
        convert(&src, &ours, bits, method);
        convert(&src, &rtn, bits, QuantMethod::Rtn);
        let mut d = ConvertOptions::new(&ours, &deq);
        d.dequantize = true;
        hf2mlx::convert(&d, &|_, _| {}).unwrap_or_else(|e| panic!("dequantize: {e}"));
        let card = std::fs::read_to_string(ours.join("README.md")).unwrap();
        assert!(
            card.contains(&format!("- Quantization method: {name}")),
            "model card lacks the method:\n{card}"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/check_method.py");
        let out = Command::new(&py)
            .arg(script)
            .args([&ours, &deq, &rtn])
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{bits}-bit: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn quant_method_needs_affine_quantization() {
    let src = common::llama();
    let tmp = tempfile::tempdir().unwrap();
    let mut o = ConvertOptions::new(&src, tmp.path().join("o"));
    o.quant_method = QuantMethod::Search;
    let e = hf2mlx::convert(&o, &|_, _| {}).unwrap_err().to_string();
    assert!(e.contains("only apply with -q"), "{e}");
    o.quantize = true;
    o.q_mode = hf2mlx::quant::Mode::Mxfp4;
    let e = hf2mlx::convert(&o, &|_, _| {}).unwrap_err().to_string();
    assert!(e.contains("does not apply to --q-mode mxfp4"), "{e}");
}
