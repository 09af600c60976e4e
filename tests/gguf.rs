//! GGUF import: dequantization kernels against vectors from the `gguf` Python package
//! (tools/gen_gguf_vectors.py), the header parser on good and bad input, and whole conversions
//! of the tiny GGUF fixtures (tools/gen_gguf_fixtures.py) against the recorded results of the
//! Python reference (tools/gguf_to_hf.py) and of `mlx_lm.convert` on its output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hf2mlx::gguf::{GgmlType, dequantize, parse};
use safetensors::SafeTensors;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gguf")
        .join(name)
}

const TYPES: [GgmlType; 13] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

#[test]
fn dequantization_is_bit_exact_with_the_gguf_package() {
    let bytes = std::fs::read(fixture("dequant.safetensors")).expect("vector file");
    let st = SafeTensors::deserialize(&bytes).expect("safetensors");
    for ty in TYPES {
        let raw = st.tensor(&format!("{}/raw", ty.name())).expect("raw");
        let deq = st.tensor(&format!("{}/deq", ty.name())).expect("deq");
        let expected: Vec<u32> = deq
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut out = vec![f32::NAN; expected.len()];
        dequantize(ty, raw.data(), &mut out).expect("lengths agree");
        let mismatches: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].to_bits() != expected[i])
            .collect();
        assert!(
            mismatches.is_empty(),
            "{}: {} of {} values differ, first at {}: got {} expected {}",
            ty.name(),
            mismatches.len(),
            out.len(),
            mismatches[0],
            out[mismatches[0]],
            f32::from_bits(expected[mismatches[0]])
        );
        // Row by row gives the same values: blocks are independent.
        let rows = deq.shape()[0];
        let (rb, re) = (raw.data().len() / rows, expected.len() / rows);
        let mut row = vec![0f32; re];
        dequantize(ty, &raw.data()[rb..2 * rb], &mut row).expect("one row");
        assert_eq!(row, out[re..2 * re], "{}", ty.name());
    }
}

/// A minimal GGUF v3 file: `kv` string metadata plus one Q8_0 tensor of `[rows, 32]`.
fn tiny_gguf(kv: &[(&str, &str)], rows: u64) -> Vec<u8> {
    let s = |b: &mut Vec<u8>, x: &str| {
        b.extend((x.len() as u64).to_le_bytes());
        b.extend(x.as_bytes());
    };
    let mut b = Vec::new();
    b.extend(b"GGUF");
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend((kv.len() as u64).to_le_bytes());
    for (k, v) in kv {
        s(&mut b, k);
        b.extend(8u32.to_le_bytes());
        s(&mut b, v);
    }
    s(&mut b, "blk.0.attn_v.weight");
    b.extend(2u32.to_le_bytes());
    b.extend(32u64.to_le_bytes());
    b.extend(rows.to_le_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.resize(b.len().div_ceil(32) * 32, 0);
    for r in 0..rows {
        b.extend(half::f16::from_f32(0.5).to_le_bytes());
        b.extend((0..32).map(|i| (i as i8 - r as i8) as u8));
    }
    b
}

#[test]
fn a_valid_header_parses() {
    let bytes = tiny_gguf(&[("general.architecture", "llama")], 3);
    let f = parse(&bytes[..], bytes.len() as u64).expect("valid");
    assert_eq!(f.architecture(), Some("llama"));
    let t = &f.tensors[0];
    assert_eq!((t.shape(), t.nbytes), (vec![3, 32], 3 * 34));
    assert_eq!(t.ggml_type(), Ok(GgmlType::Q8_0));
    let mut x = vec![0f32; 32];
    let at = t.offset as usize;
    dequantize(GgmlType::Q8_0, &bytes[at..at + 34], &mut x).expect("decode");
    assert_eq!(x[3], 1.5);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = tiny_gguf(&[("general.architecture", "llama"), ("x", "yz")], 2);
    for n in 0..bytes.len() {
        let r = parse(&bytes[..n], n as u64);
        assert!(r.is_err(), "prefix of {n} bytes parsed");
    }
    let msg = parse(&bytes[..bytes.len() - 1], bytes.len() as u64 - 1).unwrap_err();
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn corrupt_headers_are_explained() {
    let good = tiny_gguf(&[("general.architecture", "llama")], 2);
    let parse_err = |b: &[u8]| parse(b, b.len() as u64).unwrap_err();
    let mut b = good.clone();
    b[0] = b'X';
    assert!(parse_err(&b).contains("not a GGUF file"));
    let mut b = good.clone();
    b[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(parse_err(&b).contains("version 1"));
    let mut b = good.clone();
    b[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert!(parse_err(&b).contains("big-endian"));
    let mut b = good.clone();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(parse_err(&b).contains("more than a file"));
    // The string length of the first key claims more than the file.
    let mut b = good.clone();
    b[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(parse_err(&b).contains("file ends"));
    // Unknown value type.
    let mut b = good.clone();
    let at = 24 + 8 + "general.architecture".len();
    b[at..at + 4].copy_from_slice(&77u32.to_le_bytes());
    assert!(parse_err(&b).contains("unknown metadata value type 77"));
    // A row that is not whole blocks, and an unsupported tensor type.
    let name_end = good
        .windows(6)
        .position(|w| w == b"weight")
        .expect("tensor name")
        + 6;
    let mut b = good.clone();
    b[name_end + 4..name_end + 12].copy_from_slice(&33u64.to_le_bytes());
    assert!(parse_err(&b).contains("whole Q8_0 blocks"));
    let mut b = good.clone();
    b[name_end + 20..name_end + 24].copy_from_slice(&23u32.to_le_bytes());
    let f = parse(&b[..], b.len() as u64).expect("listed");
    assert!(f.tensors[0].ggml_type().unwrap_err().contains("IQ4_XS"));
    // Misaligned offset.
    let mut b = good;
    b[name_end + 24..name_end + 32].copy_from_slice(&4u64.to_le_bytes());
    assert!(parse_err(&b).contains("alignment"));
}

fn hf2mlx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
        .args(args)
        .output()
        .expect("run hf2mlx")
}

fn expected(name: &str, file: &str) -> serde_json::Value {
    let p = fixture(&format!("expected/{name}/{file}"));
    serde_json::from_slice(&std::fs::read(&p).expect("expected file")).expect("json")
}

fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).expect("written")).expect("json")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `import-gguf` writes what tools/gguf_to_hf.py writes: same tensors (bf16 bytes), config and
/// tokenizer files.
#[test]
fn import_gguf_matches_the_python_reference() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["tiny-llama", "tiny-qwen2", "tiny-qwen3"] {
        let out = tmp.path().join(name);
        let o = hf2mlx(&["import-gguf", s(&fixture(&format!("{name}.gguf"))), s(&out)]);
        assert!(o.status.success(), "{name}: {}", common::stderr(&o));
        let bad = common::compare(&out, &expected(name, "hf.json"));
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        for f in [
            "tokenizer.json",
            "tokenizer_config.json",
            "generation_config.json",
        ] {
            assert_eq!(
                json_file(&out.join(f)),
                expected(name, f),
                "{name}: {f} differs from tools/gguf_to_hf.py's"
            );
        }
    }
}

/// `convert --hf-path x.gguf` equals `mlx_lm.convert` of the Python reference's checkpoint,
/// plain and 4-bit.
#[test]
fn convert_from_gguf_matches_mlx_lm_on_the_reference_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["tiny-llama", "tiny-qwen2", "tiny-qwen3"] {
        for (variant, flags) in [("mlx_plain.json", &[][..]), ("mlx_q4.json", &["-q"][..])] {
            let out = tmp.path().join(format!("{name}-{variant}"));
            let src = fixture(&format!("{name}.gguf"));
            let mut args = vec!["convert", "--hf-path", s(&src), "--mlx-path", s(&out)];
            args.extend(flags);
            let o = hf2mlx(&args);
            assert!(
                o.status.success(),
                "{name} {variant}: {}",
                common::stderr(&o)
            );
            let bad = common::compare(&out, &expected(name, variant));
            assert!(bad.is_empty(), "{name} {variant}: {bad:#?}");
            for f in ["tokenizer.json", "tokenizer_config.json"] {
                assert_eq!(json_file(&out.join(f)), expected(name, f), "{name}: {f}");
            }
        }
    }
}

#[test]
fn import_gguf_dtype_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture("tiny-llama.gguf");
    let out = tmp.path().join("f32");
    let o = hf2mlx(&["import-gguf", s(&src), s(&out), "--dtype", "float32"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let d = common::describe(&out);
    assert!(d.tensors.values().all(|t| t.dtype == "F32"));
    assert_eq!(d.config["torch_dtype"], "float32");
    // Like convert, an existing output folder is refused without --force.
    let again = hf2mlx(&["import-gguf", s(&src), s(&out)]);
    assert!(!again.status.success());
    assert!(common::stderr(&again).contains("already exists"));

    // Not a GGUF; a truncated GGUF: clear errors, nothing written.
    let not = tmp.path().join("x.gguf");
    std::fs::write(&not, b"GGML....").unwrap();
    let o = hf2mlx(&["import-gguf", s(&not), s(&tmp.path().join("o1"))]);
    assert!(
        common::stderr(&o).contains("not a GGUF file"),
        "{}",
        common::stderr(&o)
    );
    let bytes = std::fs::read(&src).unwrap();
    let cut = tmp.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    for args in [
        vec!["import-gguf", s(&cut), s(&tmp.path().join("o2"))],
        vec![
            "convert",
            "--hf-path",
            s(&cut),
            "--mlx-path",
            s(&tmp.path().join("o3")),
        ],
    ] {
        let o = hf2mlx(&args);
        let e = common::stderr(&o);
        assert!(!o.status.success() && e.contains("truncated"), "{e}");
    }
    assert!(!tmp.path().join("o2").exists() && !tmp.path().join("o3").exists());
}

/// The SentencePiece vocabulary (no merges in the file) is rebuilt with merges derived from the
/// scores, byte fallback and BOS, as transformers' converter does.
#[test]
fn sentencepiece_tokenizer_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("spm");
    let o = hf2mlx(&["import-gguf", s(&fixture("tiny-llama-spm.gguf")), s(&out)]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let t = json_file(&out.join("tokenizer.json"));
    assert_eq!(t["model"]["byte_fallback"], true);
    let merges = t["model"]["merges"].as_array().unwrap();
    // Best-scored piece first: `▁a` (score -7) is made from `▁` + `a`.
    assert_eq!(merges[0], serde_json::json!(["\u{2581}", "a"]));
    let c = json_file(&out.join("tokenizer_config.json"));
    assert_eq!(
        (&c["bos_token"], &c["add_bos_token"], &c["tokenizer_class"]),
        (
            &serde_json::json!("<s>"),
            &serde_json::json!(true),
            &serde_json::json!("LlamaTokenizer")
        )
    );
}

/// Corrupting any byte of a real header (every position, several values) never panics in the
/// parser, the Hugging Face mapping or the tokenizer rebuild; what parses still decodes.
#[test]
fn corrupted_fixtures_never_panic() {
    let bytes = std::fs::read(fixture("tiny-llama-spm.gguf")).unwrap();
    let good = parse(&bytes[..], bytes.len() as u64).unwrap();
    let header_end = good.data_start as usize;
    let mut parsed = 0;
    for at in (0..header_end).step_by(3) {
        for v in [0x00u8, 0xFF, 0x7F, bytes[at] ^ 0x01] {
            let mut b = bytes.clone();
            b[at] = v;
            let Ok(f) = parse(&b[..], b.len() as u64) else {
                continue;
            };
            parsed += 1;
            for t in &f.tensors {
                if let Ok(ty) = t.ggml_type() {
                    let mut out = vec![0f32; t.numel() as usize];
                    let data = &b[t.offset as usize..(t.offset + t.nbytes) as usize];
                    dequantize(ty, data, &mut out).expect("validated tensor decodes");
                }
            }
            let _ = hf2mlx::gguf::model::describe(&f);
            let _ = hf2mlx::gguf::tokenizer::files(&f);
        }
    }
    assert!(
        parsed > 100,
        "mutations should mostly hit values, not structure"
    );
}

#[test]
fn check_finite_reads_gguf_tensors() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture("tiny-llama.gguf");
    let out = tmp.path().join("ok");
    let o = hf2mlx(&[
        "convert",
        "--hf-path",
        s(&src),
        "--mlx-path",
        s(&out),
        "--check-finite",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let mut bytes = std::fs::read(&src).unwrap();
    let f = parse(&bytes[..], bytes.len() as u64).unwrap();
    let norm = f
        .tensors
        .iter()
        .find(|t| t.name == "blk.1.attn_norm.weight")
        .unwrap();
    let at = norm.offset as usize + 8;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let bad = tmp.path().join("nan.gguf");
    std::fs::write(&bad, &bytes).unwrap();
    let o = hf2mlx(&[
        "convert",
        "--hf-path",
        s(&bad),
        "--mlx-path",
        s(&tmp.path().join("no")),
        "--check-finite",
    ]);
    let e = common::stderr(&o);
    assert!(
        !o.status.success() && e.contains("model.layers.1.input_layernorm.weight"),
        "{e}"
    );
}
