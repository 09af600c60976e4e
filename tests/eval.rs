//! `hf2mlx eval` and `convert --eval`: the metrics behave (zero against itself, worse with
//! fewer bits), the forward pass matches mlx-lm's logits, and `convert --eval` writes its report
//! inside the transaction.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hf2mlx::eval::{EvalOptions, evaluate, load_model};
use hf2mlx::plan::ConvertOptions;
use serde_json::Value;

fn convert(src: &Path, dst: &Path, bits: Option<u32>) {
    let mut o = ConvertOptions::new(src, dst);
    if let Some(b) = bits {
        o.quantize = true;
        o.q_bits = Some(b);
    }
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
}

/// Enough tokens of the built-in text for stable averages, in a few windows.
fn opts() -> EvalOptions {
    EvalOptions {
        window: 128,
        max_tokens: Some(384),
        ..EvalOptions::default()
    }
}

#[test]
fn model_against_itself_has_zero_kl_and_fewer_bits_degrade_monotonically() {
    let tmp = tempfile::tempdir().unwrap();
    // Peaked predictions (tools/make_eval_fixture.py): the usual random fixture predicts almost
    // uniformly, so its KL hardly moves with the bits.
    let src = common::fixtures().join("eval/llama-peaked");
    let plain = tmp.path().join("plain");
    convert(&src, &plain, None);
    let mut models = vec![plain.clone()];
    for bits in [8, 4, 2] {
        let out = tmp.path().join(format!("q{bits}"));
        convert(&src, &out, Some(bits));
        models.push(out);
    }
    let r = evaluate(&src, &models, &opts()).unwrap();
    assert_eq!(r.models.len(), 4);
    let same = &r.models[0];
    assert!(same.tokens > 300, "{}", same.tokens);
    assert_eq!(same.mean_kl, 0.0, "{same:?}");
    assert_eq!(same.p99_kl, 0.0, "{same:?}");
    assert_eq!(same.top1_agreement, 1.0);
    assert!((same.perplexity - r.reference_perplexity).abs() < 1e-9);
    let kl: Vec<f64> = r.models[1..].iter().map(|m| m.mean_kl).collect();
    let p99: Vec<f64> = r.models[1..].iter().map(|m| m.p99_kl).collect();
    let top1: Vec<f64> = r.models[1..].iter().map(|m| m.top1_agreement).collect();
    // Measured: 0.013, 1.0, 7.3 nats; the steps are far apart, not noise.
    assert!(kl[0] > 0.0 && kl[0] < 0.1, "8-bit mean KL: {kl:?}");
    assert!(
        kl[1] > 2.0 * kl[0] && kl[2] > 2.0 * kl[1],
        "mean KL 8/4/2 bits: {kl:?}"
    );
    assert!(
        p99[0] < p99[1] && p99[1] < p99[2],
        "p99 KL 8/4/2 bits: {p99:?}"
    );
    assert!(
        top1[0] > top1[1] && top1[1] > top1[2],
        "top-1 8/4/2 bits: {top1:?}"
    );
    for m in &r.models {
        assert!(m.p99_kl >= m.mean_kl * 0.5, "{m:?}");
        assert!(m.perplexity.is_finite() && m.perplexity > 1.0, "{m:?}");
    }
}

#[test]
fn mlx_reference_and_text_file_work() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::llama();
    let q4 = tmp.path().join("q4");
    convert(&src, &q4, Some(4));
    let text = tmp.path().join("text.txt");
    std::fs::write(&text, "A short text about rivers and bridges. ".repeat(30)).unwrap();
    let o = EvalOptions {
        text_file: Some(text),
        window: 64,
        max_tokens: None,
    };
    // An MLX folder as the reference: the same quantized model is exactly itself.
    let r = evaluate(&q4, std::slice::from_ref(&q4), &o).unwrap();
    assert_eq!(r.models[0].mean_kl, 0.0);
    assert!(r.text.ends_with("text.txt"));
    let too_short = EvalOptions {
        max_tokens: Some(1),
        ..o
    };
    let e = evaluate(&q4, std::slice::from_ref(&q4), &too_short).unwrap_err();
    assert!(e.to_string().contains("fewer than 2 tokens"), "{e}");
}

#[test]
fn cli_eval_prints_a_table_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::llama();
    let q4 = tmp.path().join("q4");
    convert(&src, &q4, Some(4));
    let run = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
            .args(["eval", "--reference"])
            .arg(&src)
            .arg(&q4)
            .args(["--max-tokens", "200", "--window", "100"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", common::stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let table = run(&[]);
    assert!(
        table.contains("mean KL") && table.contains("perplexity"),
        "{table}"
    );
    let json: Value = serde_json::from_str(&run(&["--json"])).unwrap();
    let m = &json["models"][0];
    assert_eq!(m["tokens"], 198);
    assert!(m["mean_kl"].as_f64().unwrap() > 0.0, "{json}");
    assert!(m["p99_kl"].as_f64().unwrap() >= m["mean_kl"].as_f64().unwrap());
}

#[test]
fn unsupported_family_is_a_clear_error() {
    let src = common::fixtures().join("models/starcoder2/hf");
    let e = match load_model(&src) {
        Err(e) => e,
        Ok(_) => panic!("starcoder2 is not an eval family"),
    };
    assert_eq!(e.kind(), "eval");
    assert!(
        e.to_string().contains("cannot run model type `starcoder2`"),
        "{e}"
    );
    // `convert --eval` refuses before converting: nothing is written.
    let tmp = tempfile::tempdir().unwrap();
    let mut o = ConvertOptions::new(&src, tmp.path().join("out"));
    o.eval = Some(EvalOptions::default());
    let e = hf2mlx::convert(&o, &|_, _| {}).unwrap_err();
    assert_eq!(e.kind(), "eval");
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}

#[test]
fn convert_eval_writes_card_and_report_before_installing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::llama();
    let out = tmp.path().join("q3");
    let mut o = ConvertOptions::new(&src, &out);
    o.quantize = true;
    o.q_bits = Some(3);
    o.eval = Some(opts());
    let report = hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let q = report.quality.expect("--eval result");
    assert_eq!(q.models[0].path, out);
    assert!(q.models[0].mean_kl > 0.0);
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        card.contains("## Quality") && card.contains("mean KL"),
        "{card}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("hf2mlx-report.json")).unwrap()).unwrap();
    assert_eq!(json["eval"]["models"][0]["mean_kl"], q.models[0].mean_kl);
    let tensors = json["weight_error"]["tensors"].as_array().unwrap();
    // Every quantized weight of the 16-layer fixture (7 per layer + embedding + head).
    assert_eq!(tensors.len(), 16 * 7 + 2, "{json}");
    for t in tensors {
        assert_eq!(t["bits"], 3);
        assert!(t["elements_sampled"].as_u64().unwrap() > 0, "{t}");
        let snr = t["snr_db"].as_f64().unwrap();
        assert!(snr > 5.0 && snr < 30.0, "3-bit SNR out of range: {t}");
    }
    // No temporary folder left next to the output.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("q3")]);
}

#[test]
fn weight_error_falls_with_more_bits_and_float_output_has_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::llama();
    let snr = |bits: u32| -> f64 {
        let out = tmp.path().join(format!("w{bits}"));
        convert(&src, &out, Some(bits));
        let json: Value =
            serde_json::from_slice(&std::fs::read(out.join("hf2mlx-report.json")).unwrap())
                .unwrap();
        assert!(json["eval"].is_null());
        let t = &json["weight_error"]["tensors"].as_array().unwrap()[3];
        t["snr_db"].as_f64().unwrap()
    };
    let (s2, s4, s8) = (snr(2), snr(4), snr(8));
    // Roughly 6 dB per bit.
    assert!(s2 < s4 && s4 < s8, "{s2} {s4} {s8}");
    assert!(s8 - s4 > 15.0, "{s4} {s8}");
    let plain = tmp.path().join("plain");
    convert(&src, &plain, None);
    assert!(!plain.join("hf2mlx-report.json").exists());
}

/// Our logits for `ids` written for the python side; returns the python's verdict.
fn check_against_mlx_lm(model: &Path, ids: &[u32], tol: f64, tmp: &Path) -> Value {
    let logits = load_model(model).unwrap().logits(ids).unwrap();
    let ids_path = tmp.join("ids.json");
    let ours = tmp.join("ours.f32");
    std::fs::write(&ids_path, serde_json::to_string(ids).unwrap()).unwrap();
    let bytes: Vec<u8> = logits.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&ours, bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/eval_logits.py");
    let o = Command::new(common::oracle_python())
        .arg(script)
        .arg(model)
        .arg(&ids_path)
        .arg(&ours)
        .arg(tol.to_string())
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}: logits differ from mlx-lm: {line} {}",
        model.display(),
        common::stderr(&o)
    );
    serde_json::from_str(line.trim()).unwrap()
}

#[test]
fn forward_pass_matches_mlx_lm_logits_for_every_family() {
    let tmp = tempfile::tempdir().unwrap();
    let ids: Vec<u32> = (0..40).map(|i| (i * 37 + 11) % 500).collect();
    for family in hf2mlx::eval::model::FAMILIES {
        let src = common::fixtures().join(format!("models/{family}/hf"));
        if !src.exists() {
            // gemma2 has no fixture; its switches are covered by gemma's and by the unit code.
            continue;
        }
        // mlx_lm.load needs an MLX folder: float, and 4-bit (our dequantization path).
        for bits in [None, Some(4)] {
            let out = tmp.path().join(format!("{family}-{bits:?}"));
            convert(&src, &out, bits);
            check_against_mlx_lm(&out, &ids, 1e-4, tmp.path());
        }
    }
}

/// The real model of the manual checks, when this machine has it (it is not redistributable in
/// the repository): SmolLM2-135M-Instruct, bf16 llama.
#[test]
fn forward_pass_matches_mlx_lm_logits_on_a_real_model() {
    let real = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/hf2mlx/models/SmolLM2-135M-Instruct");
    if !real.join("config.json").exists() {
        eprintln!("skipped: {} not present", real.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ids = hf2mlx::eval::tokenize(&real, &hf2mlx::eval::BUILTIN_CORPUS[..600]).unwrap();
    for bits in [None, Some(4)] {
        let out = tmp.path().join(format!("{bits:?}"));
        convert(&real, &out, bits);
        check_against_mlx_lm(&out, &ids, 1e-4, tmp.path());
    }
}
