//! The command line as users meet it: refusals, dry runs, sharding, and that a failed run leaves
//! nothing behind.

mod common;

use common::{copy_dir, entries, llama, stderr};

use std::path::Path;
use std::process::{Command, Output};

fn hf2mlx(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn converts_with_defaults_and_refuses_existing_output() {
    let tmp = tempfile::tempdir().unwrap();
    let src = llama();
    let o = hf2mlx(
        &["convert", "--hf-path", src.to_str().unwrap(), "-q"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // default --mlx-path, and mlx-lm's bits-per-weight line
    assert!(tmp.path().join("mlx_model/model.safetensors").is_file());
    assert!(
        stderr(&o).contains("Quantized model with 4.519 bits per weight."),
        "{}",
        stderr(&o)
    );

    let o = hf2mlx(&["convert", "--model", src.to_str().unwrap()], tmp.path());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("already exists") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );

    // --force replaces it (now unquantized: no scales)
    let o = hf2mlx(
        &["convert", "--model", src.to_str().unwrap(), "--force"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let d = common::describe(&tmp.path().join("mlx_model"));
    assert!(!d.tensors.keys().any(|k| k.ends_with(".scales")));
    assert_eq!(entries(tmp.path()), vec!["mlx_model"]);
}

#[test]
fn dry_run_writes_nothing_and_reports_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let src = llama();
    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            src.to_str().unwrap(),
            "--mlx-path",
            "out",
            "-q",
            "--dry-run",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("4.519 bits per weight"), "{text}");
    assert!(text.contains("114 quantized"), "{text}");
    assert!(entries(tmp.path()).is_empty());

    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            src.to_str().unwrap(),
            "--mlx-path",
            "out",
            "-q",
            "--dry-run",
            "--json",
        ],
        tmp.path(),
    );
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["total_size"], 1409280);
    assert_eq!(plan["total_parameters"], 2494592);
    assert_eq!(plan["params"][0]["name"], "model.embed_tokens.weight");
    assert!(entries(tmp.path()).is_empty());
}

#[test]
fn unknown_model_type_fails_at_once_listing_supported_types() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let cfg = std::fs::read_to_string(src.join("config.json")).unwrap();
    std::fs::write(
        src.join("config.json"),
        cfg.replace(
            "\"model_type\": \"llama\"",
            "\"model_type\": \"no_such_model\"",
        ),
    )
    .unwrap();
    let o = hf2mlx(
        &["convert", "--hf-path", "src", "--mlx-path", "out"],
        tmp.path(),
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("`no_such_model` is not supported")
            && e.contains("llama")
            && e.contains("mistral"),
        "{e}"
    );
    assert_eq!(entries(tmp.path()), vec!["src"]);
}

#[test]
fn missing_tokenizer_and_missing_shard_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    std::fs::remove_file(src.join("tokenizer.json")).unwrap();
    let o = hf2mlx(
        &["convert", "--hf-path", "src", "--mlx-path", "out"],
        tmp.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no tokenizer"), "{}", stderr(&o));

    copy_dir(&llama(), &src);
    std::fs::write(
        src.join("model.safetensors.index.json"),
        r#"{"metadata": {}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    let o = hf2mlx(
        &["convert", "--hf-path", "src", "--mlx-path", "out"],
        tmp.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("model-00002-of-00002.safetensors"),
        "{}",
        stderr(&o)
    );
    assert_eq!(entries(tmp.path()), vec!["src"]);
}

#[test]
fn bad_quantization_settings_are_refused_before_work() {
    let tmp = tempfile::tempdir().unwrap();
    let src = llama();
    for (args, needle) in [
        (vec!["-q", "--q-bits", "7"], "bits"),
        (vec!["-q", "--q-group-size", "48"], "group size"),
        (
            vec!["-q", "--q-mode", "mxfp4", "--q-group-size", "64"],
            "mxfp4",
        ),
        (vec!["--q-bits", "4"], "-q"),
    ] {
        let mut a = vec![
            "convert",
            "--hf-path",
            src.to_str().unwrap(),
            "--mlx-path",
            "out",
        ];
        a.extend(args);
        let o = hf2mlx(&a, tmp.path());
        assert!(!o.status.success(), "{a:?}");
        assert!(stderr(&o).contains(needle), "{a:?}: {}", stderr(&o));
    }
    assert!(entries(tmp.path()).is_empty());
}

/// Splits a fixture into two input shards with an index, converts it into small output shards,
/// and checks the tensors are still exactly mlx-lm's and the index describes the shards.
#[test]
fn sharded_input_and_output() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let whole = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::remove_file(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&whole).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    let (a, b) = names.split_at(names.len() / 2);
    let mut weight_map = serde_json::Map::new();
    for (i, part) in [a, b].iter().enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let views: Vec<(String, safetensors::tensor::TensorView)> = part
            .iter()
            .map(|n| (n.clone(), st.tensor(n).unwrap()))
            .collect();
        safetensors::serialize_to_file(views, None, &src.join(&file)).unwrap();
        for n in part.iter() {
            weight_map.insert(n.clone(), file.clone().into());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    std::fs::write(src.join("model.safetensors.index.json"), index.to_string()).unwrap();

    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            "src",
            "--mlx-path",
            "out",
            "-q",
            "--max-shard-size",
            "300KB",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let files = entries(&out);
    let shards: Vec<&String> = files
        .iter()
        .filter(|f| f.ends_with(".safetensors"))
        .collect();
    assert!(shards.len() >= 4, "{files:?}");
    assert_eq!(
        shards[0],
        &format!("model-00001-of-{:05}.safetensors", shards.len())
    );

    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("models/llama/expected/q4.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(common::compare(&out, &expected), Vec::<String>::new());

    // Every shard within the limit unless it holds a single tensor; the index maps each tensor
    // to the file that holds it.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.safetensors.index.json")).unwrap())
            .unwrap();
    for f in &shards {
        let bytes = std::fs::read(out.join(f)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let data: usize = st.tensors().iter().map(|(_, v)| v.data().len()).sum();
        assert!(data <= 300_000 || st.len() == 1, "{f}: {data} bytes");
        for n in st.names() {
            assert_eq!(index["weight_map"][n], f.as_str());
        }
    }
}

#[test]
fn configurations_an_architecture_does_not_cover_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let cfg = std::fs::read_to_string(src.join("config.json")).unwrap();
    let cfg = cfg.replace(
        "\"model_type\": \"llama\"",
        "\"model_type\": \"mistral3\", \"text_config\": {\"model_type\": \"mistral4\"}",
    );
    std::fs::write(src.join("config.json"), cfg).unwrap();
    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            "src",
            "--mlx-path",
            "out",
            "--dry-run",
        ],
        tmp.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("text_config.model_type") && stderr(&o).contains("mistral4"),
        "{}",
        stderr(&o)
    );
    assert_eq!(entries(tmp.path()), vec!["src"]);
}

/// Custom model code is never executed: without --trust-remote-code it is refused (as mlx-lm
/// does); with it, an unknown model type converts with the generic decoder rules and the code
/// travels along.
#[test]
fn trust_remote_code_never_runs_code_but_converts() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let cfg = std::fs::read_to_string(src.join("config.json")).unwrap();
    let cfg = cfg.replace(
        "\"model_type\": \"llama\"",
        "\"model_type\": \"my_custom_llm\", \"model_file\": \"modeling_custom.py\"",
    );
    std::fs::write(src.join("config.json"), cfg).unwrap();
    // If anything executed this, the marker file would appear.
    let marker = tmp.path().join("EXECUTED");
    std::fs::write(
        src.join("modeling_custom.py"),
        format!(
            "open({:?}, 'w').write('ran')\n",
            marker.display().to_string()
        ),
    )
    .unwrap();

    let o = hf2mlx(
        &["convert", "--hf-path", "src", "--mlx-path", "out", "-q"],
        tmp.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--trust-remote-code"), "{}", stderr(&o));
    assert!(!tmp.path().join("out").exists());

    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            "src",
            "--mlx-path",
            "out",
            "-q",
            "--trust-remote-code",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("out/modeling_custom.py").is_file());
    assert!(!marker.exists());
    // Same tensors as the llama rules give.
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("models/llama/expected/q4.json")).unwrap(),
    )
    .unwrap();
    let got = common::describe(&tmp.path().join("out"));
    for (k, v) in expected["tensors"].as_object().unwrap() {
        assert_eq!(got.tensors[k].sha256, v["sha256"].as_str().unwrap(), "{k}");
    }
    assert_eq!(
        got.tensors.len(),
        expected["tensors"].as_object().unwrap().len()
    );
}

/// Integer and FP8 tensors are never cast or quantized: they pass through (FP8 as `U8`, the
/// way mlx loads and writes it), while float tensors are cast.
#[test]
fn integer_and_fp8_tensors_pass_through() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let f8: Vec<u8> = (0..=255u8).collect();
    let i64s: Vec<u8> = (0..8i64)
        .flat_map(|v| (v * 1_000_000_007).to_le_bytes())
        .collect();
    let mut views: Vec<(String, safetensors::tensor::TensorView)> =
        st.tensors().into_iter().collect();
    views.push((
        "model.layers.0.self_attn.q_proj.input_scale".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F8_E4M3, vec![16, 16], &f8)
            .unwrap(),
    ));
    views.push((
        "model.position_ids".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![8], &i64s).unwrap(),
    ));
    safetensors::serialize_to_file(views, None, &src.join("model2.safetensors")).unwrap();
    drop(st);
    std::fs::remove_file(src.join("model.safetensors")).unwrap();
    std::fs::rename(
        src.join("model2.safetensors"),
        src.join("model.safetensors"),
    )
    .unwrap();

    let o = hf2mlx(
        &[
            "convert",
            "--hf-path",
            "src",
            "--mlx-path",
            "out",
            "-q",
            "--dtype",
            "float16",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let d = common::describe(&tmp.path().join("out"));
    let f8_out = &d.tensors["model.layers.0.self_attn.q_proj.input_scale"];
    assert_eq!(
        (f8_out.dtype.as_str(), f8_out.shape.as_slice()),
        ("U8", &[16u64, 16][..])
    );
    assert_eq!(
        f8_out.sha256,
        common::hex(&<sha2::Sha256 as sha2::Digest>::digest(&f8))
    );
    let ints = &d.tensors["model.position_ids"];
    assert_eq!(ints.dtype, "I64");
    assert_eq!(
        ints.sha256,
        common::hex(&<sha2::Sha256 as sha2::Digest>::digest(&i64s))
    );
    assert_eq!(d.tensors["model.norm.weight"].dtype, "F16");
    assert_eq!(d.tensors["model.layers.0.mlp.up_proj.scales"].dtype, "F16");
}

/// A config.json that links out of the folder is refused before it is read (the error is about
/// the link, not about the garbage it points to).
#[test]
fn escaping_config_link_is_refused_before_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    std::fs::write(tmp.path().join("outside.json"), "not json at all").unwrap();
    std::fs::remove_file(src.join("config.json")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside.json"), src.join("config.json")).unwrap();
    let o = hf2mlx(
        &["convert", "--hf-path", "src", "--mlx-path", "out"],
        tmp.path(),
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("symlink") && !e.contains("invalid JSON"), "{e}");
    assert!(!tmp.path().join("out").exists());
}

/// Runs hf2mlx with stdout connected to a pipe whose read end is already closed, as in
/// `hf2mlx architectures | head -0`: every write to stdout fails with a broken pipe.
fn hf2mlx_into_closed_pipe(args: &[&str], cwd: &Path) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
        .args(args)
        .current_dir(cwd)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly_with_status_0() {
    let tmp = tempfile::tempdir().unwrap();
    let src = llama();
    let src = src.to_str().unwrap();
    std::fs::create_dir(tmp.path().join("models")).unwrap();
    copy_dir(&llama(), &tmp.path().join("models/llama"));
    let runs: [&[&str]; 6] = [
        &["architectures"],
        &["architectures", "--json"],
        &["architectures", "--markdown"],
        &[
            "convert",
            "--hf-path",
            src,
            "--mlx-path",
            "out",
            "--dry-run",
        ],
        &[
            "convert",
            "--hf-path",
            src,
            "--mlx-path",
            "out",
            "--dry-run",
            "--json",
        ],
        &["list", "--models-dir", "models"],
    ];
    for args in runs {
        let o = hf2mlx_into_closed_pipe(args, tmp.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "hf2mlx {args:?}: {err}");
        assert!(!err.contains("panicked"), "hf2mlx {args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "hf2mlx {args:?}: {err}");
    }
    assert!(!tmp.path().join("out").exists());
}
