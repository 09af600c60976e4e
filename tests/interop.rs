//! Interop with the real consumer: our output must load in stock `mlx_lm.load` and give exactly
//! the logits of the model `mlx_lm.convert` itself writes for the same checkpoint and flags.
//!
//! Needs the pinned oracle (mlx[cpu] 0.32.4, mlx-lm 0.32.2): `tools/mlx-oracle.sh` makes it and
//! `scripts/test.sh` runs it first. Point `HF2MLX_ORACLE_PYTHON` at another python if you have one.

mod common;

use common::oracle_python;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use hf2mlx::cast::FloatType;
use hf2mlx::plan::ConvertOptions;
use hf2mlx::quant::Mode;

/// Copies a fixture checkpoint, optionally editing its config.
fn fixture_copy(
    arch: &str,
    dst: &Path,
    edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>),
) -> PathBuf {
    let src = common::fixtures().join("models").join(arch).join("hf");
    common::copy_dir(&src, dst);
    let cfg_path = dst.join("config.json");
    let mut cfg: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    dst.to_path_buf()
}

fn check(name: &str, src: &Path, flags: &[&str]) {
    let py = oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let ours = tmp.path().join("ours");

    let out = Command::new(&py)
        .args(["-m", "mlx_lm", "convert", "--hf-path"])
        .arg(src)
        .arg("--mlx-path")
        .arg(&reference)
        .args(flags)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run mlx_lm.convert");
    assert!(
        out.status.success(),
        "{name}: mlx_lm.convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut opts = ConvertOptions::new(src, &ours);
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        match *f {
            "-q" => opts.quantize = true,
            "--q-bits" => opts.q_bits = it.next().map(|v| v.parse().unwrap()),
            "--q-group-size" => opts.q_group_size = it.next().map(|v| v.parse().unwrap()),
            "--q-mode" => opts.q_mode = it.next().and_then(|v| Mode::parse(v)).unwrap(),
            "--quant-predicate" => opts.quant_predicate = it.next().map(|v| v.to_string()),
            "-d" => opts.dequantize = true,
            "--dtype" => {
                opts.dtype = it.next().map(|v| match *v {
                    "float16" => FloatType::F16,
                    "bfloat16" => FloatType::BF16,
                    _ => FloatType::F32,
                })
            }
            other => panic!("unknown flag {other}"),
        }
    }
    hf2mlx::convert(&opts, &|_, _| {}).unwrap_or_else(|e| panic!("{name}: hf2mlx failed: {e}"));

    // Tensor for tensor: same names, dtypes, shapes and bytes as mlx-lm's own output.
    let (a, b) = (common::describe(&ours), common::describe(&reference));
    assert_eq!(
        a.tensors, b.tensors,
        "{name}: tensors differ from mlx_lm.convert's"
    );
    assert_eq!(
        a.config, b.config,
        "{name}: config.json differs from mlx_lm.convert's"
    );
    assert_eq!(
        a.index, b.index,
        "{name}: index differs from mlx_lm.convert's"
    );
    // Beyond the contract: with mlx's data order emulated, the shard files themselves are
    // byte-identical to what mlx-lm writes on Linux, and so are config.json and the index.
    let shard_files = b.files.iter().filter(|f| f.ends_with(".safetensors"));
    for f in shard_files.chain(
        [
            "config.json".to_string(),
            "model.safetensors.index.json".to_string(),
        ]
        .iter(),
    ) {
        let x = std::fs::read(ours.join(f)).unwrap();
        let y = std::fs::read(reference.join(f)).unwrap();
        assert!(
            x == y,
            "{name}: {f} is not byte-identical to mlx_lm.convert's"
        );
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/compare_logits.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(&ours)
        .arg(&reference)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: mlx_lm.load of our output differs from mlx-lm's own conversion:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn llama_untied() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("llama"), |_| {});
    check("llama bf16", &src, &[]);
    check("llama q4", &src, &["-q"]);
    check(
        "llama q3 g32",
        &src,
        &["-q", "--q-bits", "3", "--q-group-size", "32"],
    );
}

#[test]
fn llama_tied() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("llama_tied"), |c| {
        c.insert("tie_word_embeddings".into(), true.into());
    });
    check("llama tied bf16", &src, &[]);
    check("llama tied q4", &src, &["-q"]);
}

#[test]
fn qwen2() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("qwen2", &tmp.path().join("qwen2"), |_| {});
    check("qwen2 bf16", &src, &[]);
    check("qwen2 q4", &src, &["-q"]);
    check("qwen2 q6", &src, &["-q", "--q-bits", "6"]);
}

/// Rewrites every BF16 tensor of the copy's model.safetensors as F32.
fn widen_to_f32(dir: &Path) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let widened: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            assert_eq!(v.dtype(), safetensors::Dtype::BF16);
            let data = v
                .data()
                .chunks_exact(2)
                .flat_map(|c| {
                    half::bf16::from_le_bytes([c[0], c[1]])
                        .to_f32()
                        .to_le_bytes()
                })
                .collect();
            (n, v.shape().to_vec(), data)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = widened
        .iter()
        .map(|(n, s, d)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                    .unwrap(),
            )
        })
        .collect();
    drop(st);
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

/// F32 weights with `torch_dtype: bfloat16` are cast; with only the transformers-5 `dtype` key
/// they are not (mlx-lm ignores that key, and so do we by default).
#[test]
fn dtype_decisions_match_mlx_lm() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("f32"), |_| {});
    widen_to_f32(&src);
    check("f32 weights, torch_dtype bf16", &src, &[]);
    check("f32 weights, torch_dtype bf16, q4", &src, &["-q"]);
    check(
        "f32 weights, --dtype float16, q4",
        &src,
        &["-q", "--dtype", "float16"],
    );

    let v5 = fixture_copy("llama", &tmp.path().join("v5"), |c| {
        c.remove("torch_dtype");
    });
    widen_to_f32(&v5);
    check("f32 weights, only dtype key", &v5, &[]);
    check("f32 weights, only dtype key, q4", &v5, &["-q"]);

    let f32cfg = fixture_copy("qwen2", &tmp.path().join("qwen2f32"), |c| {
        c.insert("torch_dtype".into(), "float32".into());
    });
    check(
        "qwen2 torch_dtype float32, q4",
        &f32cfg,
        &["-q", "--q-bits", "5"],
    );
}

#[test]
fn fp_modes_and_recipes_load_with_mlx_lm_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("llama"), |_| {});
    check("llama mxfp4", &src, &["-q", "--q-mode", "mxfp4"]);
    check("llama nvfp4", &src, &["-q", "--q-mode", "nvfp4"]);
    check("llama mxfp8", &src, &["-q", "--q-mode", "mxfp8"]);
    check(
        "llama mixed_3_6",
        &src,
        &["-q", "--quant-predicate", "mixed_3_6"],
    );
    check(
        "llama mixed_2_6 g32",
        &src,
        &[
            "-q",
            "--quant-predicate",
            "mixed_2_6",
            "--q-group-size",
            "32",
        ],
    );
}

/// `-d` of outputs in every mode equals mlx-lm's `-d` of the same input.
#[test]
fn dequantize_every_mode_like_mlx_lm() {
    let py = oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("qwen2", &tmp.path().join("qwen2"), |_| {});
    for (i, mode) in ["affine", "mxfp4", "nvfp4", "mxfp8"].iter().enumerate() {
        let quantized = tmp.path().join(format!("q{i}"));
        let mut o = ConvertOptions::new(&src, &quantized);
        o.quantize = true;
        o.q_mode = Mode::parse(mode).unwrap();
        hf2mlx::convert(&o, &|_, _| {}).unwrap();
        // mlx_lm.convert needs the tokenizer in its input folder: ours is there.
        check(&format!("-d from {mode}"), &quantized, &["-d"]);
    }
    let _ = py;
}

fn oracle_check(name: &str, src: &Path, opts: ConvertOptions) {
    let py = oracle_python();
    hf2mlx::convert(&opts, &|_, _| {}).unwrap_or_else(|e| panic!("{name}: hf2mlx failed: {e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/check_quantized.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(src)
        .arg(&opts.mlx_path)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: differs from mx.quantize or does not load:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Per-layer controls no mlx-lm command offers: every layer must still be exactly what
/// `mx.quantize` gives for the settings config.json records, and mlx_lm.load must take it.
#[test]
fn overrides_embedding_bits_and_requantization_match_mx_quantize() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("llama"), |_| {});
    let out = |n: &str| tmp.path().join(n);

    let mut o = ConvertOptions::new(&src, out("emb8"));
    o.quantize = true;
    o.q_bits_embedding = Some(8);
    oracle_check("embedding bits", &src, o);

    let mut o = ConvertOptions::new(&src, out("overrides"));
    o.quantize = true;
    o.q_overrides = vec![
        r"layers\.[0-3]\.=6".into(),
        r"mlp\.down_proj=affine:8:32".into(),
        r"self_attn\.o_proj=mxfp8".into(),
        r"layers\.15\.mlp=skip".into(),
        "lm_head=nvfp4".into(),
    ];
    oracle_check("overrides", &src, o);

    // --q-rebalance (untied llama): embedding at 3 bits, lm_head at 5, recorded per layer, and
    // the same size as uniform 4-bit.
    let mut o = ConvertOptions::new(&src, out("rebalance"));
    o.quantize = true;
    o.q_rebalance = true;
    oracle_check("rebalance", &src, o);
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out("rebalance").join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["quantization"]["model.embed_tokens"]["bits"], 3);
    assert_eq!(cfg["quantization"]["lm_head"]["bits"], 5);
    let mut o = ConvertOptions::new(&src, out("uniform4"));
    o.quantize = true;
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let size = |d: &str| {
        std::fs::metadata(out(d).join("model.safetensors"))
            .unwrap()
            .len()
    };
    // Same tensors, same element counts: the headers differ only in the offsets' digits.
    assert!(size("rebalance").abs_diff(size("uniform4")) < 64);

    // fp global mode mixed with affine layers
    let mut o = ConvertOptions::new(&src, out("fpmix"));
    o.quantize = true;
    o.q_mode = Mode::Mxfp4;
    o.q_bits_embedding = Some(6);
    o.q_overrides = vec!["v_proj=mxfp8".into(), "q_proj=5".into()];
    oracle_check("fp mix", &src, o);

    // re-quantize a 4-bit model to 8-bit and to mxfp4: dequantize, then quantize
    let q4 = out("q4");
    let mut o = ConvertOptions::new(&src, &q4);
    o.quantize = true;
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    for (n, mode, bits) in [("re8", Mode::Affine, 8), ("remx", Mode::Mxfp4, 4)] {
        let mut o = ConvertOptions::new(&q4, out(n));
        o.quantize = true;
        o.q_mode = mode;
        o.q_bits = Some(bits);
        oracle_check(n, &q4, o);
    }
}

/// nvfp4 layers with a `global_scale` dequantize with it (mlx-lm's `-d` drops it).
#[test]
fn dequantize_applies_nvfp4_global_scale() {
    let py = oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_copy("llama", &tmp.path().join("llama"), |_| {});
    let q = tmp.path().join("nvfp4");
    let mut o = ConvertOptions::new(&src, &q);
    o.quantize = true;
    o.q_mode = Mode::Nvfp4;
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let expected = tmp.path().join("expected.safetensors");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/make_global_scale.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(&q)
        .arg(&expected)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let d = tmp.path().join("dequantized");
    let mut o = ConvertOptions::new(&q, &d);
    o.dequantize = true;
    hf2mlx::convert(&o, &|_, _| {}).unwrap();
    let got = common::describe(&d);
    let want = std::fs::read(&expected).unwrap();
    let want = safetensors::SafeTensors::deserialize(&want).unwrap();
    for (name, view) in want.tensors() {
        let g = &got.tensors[&name];
        assert_eq!(g.dtype, "BF16", "{name}");
        assert_eq!(
            g.sha256,
            common::hex(&sha2::Sha256::digest(view.data())),
            "{name}: not mx.dequantize(global_scale=...)"
        );
    }
    assert!(
        !got.tensors
            .keys()
            .any(|k| k.ends_with("global_scale") || k.ends_with(".scales"))
    );
}

/// An MLX checkpoint in the layout older mlx-lm versions wrote for the deepseek_v3 family,
/// `kv_b_proj` itself quantized: mlx-lm's `sanitize` dequantizes it, splits it into
/// `embed_q`/`unembed_out` and quantizes both again with the bits and group size the shapes
/// give. Re-saving it and `--dtype float16` must match `mlx_lm.convert` tensor for tensor (and in
/// logits); `-d` is checked by tests/interop/check_dequantized_mla.py, because mlx-lm's `-d`
/// leaves those two layers quantized and writes a model that does not load.
#[test]
fn quantized_kv_b_proj_splits_like_mlx_lm() {
    let py = oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    // The last: `embed_q` [4, 512, 128] spans several row blocks of the executor.
    for (bits, group_size, rank, head_dim) in [
        ("8", "32", "32", "32"),
        ("3", "32", "32", "32"),
        ("4", "32", "512", "128"),
    ] {
        let src = tmp.path().join(format!("src{bits}"));
        let run = |args: &[&std::ffi::OsStr]| {
            let out = Command::new(&py)
                .args(args)
                .env("HF_HUB_OFFLINE", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            scripts.join("make_quantized_kv_b.py").as_os_str(),
            common::fixtures().join("models/deepseek_v3/hf").as_os_str(),
            src.as_os_str(),
            bits.as_ref(),
            group_size.as_ref(),
            rank.as_ref(),
            head_dim.as_ref(),
        ]);
        check(&format!("kv_b_proj {bits}-bit"), &src, &[]);
        check(
            &format!("kv_b_proj {bits}-bit, float16"),
            &src,
            &["--dtype", "float16"],
        );

        let (ours, reference) = (tmp.path().join("ours-d"), tmp.path().join("reference-d"));
        let _ = std::fs::remove_dir_all(&ours);
        let _ = std::fs::remove_dir_all(&reference);
        run(&[
            "-m".as_ref(),
            "mlx_lm".as_ref(),
            "convert".as_ref(),
            "--hf-path".as_ref(),
            src.as_os_str(),
            "--mlx-path".as_ref(),
            reference.as_os_str(),
            "-d".as_ref(),
        ]);
        let mut opts = ConvertOptions::new(&src, &ours);
        opts.dequantize = true;
        hf2mlx::convert(&opts, &|_, _| {}).unwrap();
        run(&[
            scripts.join("check_dequantized_mla.py").as_os_str(),
            ours.as_os_str(),
            reference.as_os_str(),
            group_size.as_ref(),
            bits.as_ref(),
        ]);
    }
}
