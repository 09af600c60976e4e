//! Reliability: config-vs-weights validation has no false positives on every checkpoint shape
//! mlx-lm accepts; interrupted, killed and disk-full runs leave no half-written output and a
//! rerun succeeds; sources are never modified; NaN/Inf/subnormal weights convert exactly as
//! mlx-lm does; `--check-finite` reports them; symlinks never lead out of the source folder.
//!
//! Kill and interrupt points are chosen with the test-only `HF2MLX_TEST_PAUSE_AFTER` hook (the
//! binary stops at a phase and waits on stdin), so nothing here depends on timing.

mod common;

use common::{copy_dir, entries, llama, oracle_python, stderr};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
}

/// Every file's bytes and mtime, to prove a source was not touched.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    entries(dir)
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (n, std::fs::read(&p).unwrap(), m)
        })
        .collect()
}

/// Every (config, checkpoint tensors) pair of the mlx-lm survey passes the config-vs-weights
/// checks: they are exactly what mlx-lm's models accept.
#[test]
fn validation_accepts_every_surveyed_checkpoint() {
    let dir = common::fixtures().join("arch_survey");
    let mut n = 0;
    let mut bad = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let cfg = v["config"].as_object().unwrap().clone();
        let inputs: Vec<(String, Vec<usize>)> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let shape = e[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                (e[0].as_str().unwrap().to_string(), shape)
            })
            .collect();
        // As the planner does: only what sanitize keeps is checked (not MTP layers past
        // num_hidden_layers, vision towers, ...).
        let arch = hf2mlx::arch::find(v["model_type"].as_str().unwrap()).unwrap();
        let kept = hf2mlx::arch::apply::kept_inputs(arch, &cfg, &inputs).unwrap();
        let r = hf2mlx::validate::check_shapes(
            &cfg,
            inputs
                .iter()
                .zip(kept)
                .filter(|(_, k)| *k)
                .map(|((n, s), _)| (n.as_str(), s.as_slice())),
        );
        if let Err(e) = r {
            bad.push(format!("{}: {e:?}", p.display()));
        }
        n += 1;
    }
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(n > 100);
    // And every model fixture plans.
    for e in std::fs::read_dir(common::fixtures().join("models")).unwrap() {
        let hf = e.unwrap().path().join("hf");
        if hf.join("model.safetensors").exists() {
            let opts = hf2mlx::ConvertOptions::new(&hf, "unused");
            hf2mlx::plan(&opts).unwrap_or_else(|e| panic!("{}: {e}", hf.display()));
        }
    }
}

/// Starts a conversion that stops at `phase` (test-only hook) and returns once it is there.
fn spawn_paused(args: &[&str], cwd: &Path, phase: &str) -> Child {
    let mut child = bin()
        .args(args)
        .current_dir(cwd)
        .env("HF2MLX_TEST_PAUSE_AFTER", phase)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let want = format!("hf2mlx-test: paused at {phase}");
    loop {
        match lines.next() {
            Some(Ok(l)) if l == want => break,
            Some(Ok(_)) => continue,
            _ => panic!("the process ended before reaching phase {phase}"),
        }
    }
    // Keep draining stderr in the background so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn send(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
}

fn convert_args<'a>(src: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["convert", "--hf-path", src, "--mlx-path", "out", "-q"];
    v.extend(extra);
    v
}

fn expected_q4() -> Value {
    serde_json::from_slice(
        &std::fs::read(common::fixtures().join("models/llama/expected/q4.json")).unwrap(),
    )
    .unwrap()
}

/// `kill -9` at every phase: the destination never appears, at most one temporary folder is
/// left, the next run removes it and produces the exact expected output, and the source is
/// untouched throughout.
#[test]
fn kill_9_at_any_phase_then_rerun() {
    let src = llama();
    let before = snapshot(&src);
    for phase in ["begin", "read", "commit"] {
        let tmp = tempfile::tempdir().unwrap();
        let args = convert_args(src.to_str().unwrap(), &["--max-shard-size", "300KB"]);
        let mut child = spawn_paused(&args, tmp.path(), phase);
        send(&child, "KILL");
        child.wait().unwrap();
        let left = entries(tmp.path());
        assert!(!left.contains(&"out".to_string()), "{phase}: {left:?}");
        assert!(
            left.len() == 1 && left[0].starts_with(".out.hf2mlx-tmp-"),
            "{phase}: {left:?}"
        );
        let o = bin().args(&args).current_dir(tmp.path()).output().unwrap();
        assert!(o.status.success(), "{phase}: {}", stderr(&o));
        assert_eq!(
            entries(tmp.path()),
            vec!["out"],
            "{phase}: stale temp not removed"
        );
        assert_eq!(
            common::compare(&tmp.path().join("out"), &expected_q4()),
            Vec::<String>::new()
        );
    }
    assert!(snapshot(&src) == before, "the source folder changed");
}

/// Ctrl-C and SIGTERM remove the temporary folder at once and exit with 130; a `--force`
/// replacement interrupted (or killed) before its swap leaves the previous output whole.
#[test]
fn interrupt_removes_the_temporary_folder() {
    let src = llama();
    for (signal, phase) in [("INT", "read"), ("TERM", "begin"), ("INT", "commit")] {
        let tmp = tempfile::tempdir().unwrap();
        let args = convert_args(src.to_str().unwrap(), &[]);
        let mut child = spawn_paused(&args, tmp.path(), phase);
        send(&child, signal);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{signal} at {phase}");
        assert!(
            entries(tmp.path()).is_empty(),
            "SIG{signal} at {phase}: {:?}",
            entries(tmp.path())
        );
    }

    // Replacing an existing output: interrupted or killed, the old one stays complete.
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .args(convert_args(src.to_str().unwrap(), &[]))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let old = snapshot(&tmp.path().join("out"));
    for signal in ["INT", "KILL"] {
        let args = vec![
            "convert",
            "--hf-path",
            src.to_str().unwrap(),
            "--mlx-path",
            "out",
            "--force",
        ];
        let mut child = spawn_paused(&args, tmp.path(), "commit");
        send(&child, signal);
        child.wait().unwrap();
        assert!(
            snapshot(&tmp.path().join("out")) == old,
            "SIG{signal}: old output damaged"
        );
    }
    // The rerun replaces it and leaves nothing else.
    let args = vec![
        "convert",
        "--hf-path",
        src.to_str().unwrap(),
        "--mlx-path",
        "out",
        "--force",
    ];
    let o = bin().args(&args).current_dir(tmp.path()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(entries(tmp.path()), vec!["out"]);
}

/// A file-size limit (RLIMIT_FSIZE, as `ulimit -f`) makes writes fail like a full disk: the
/// run fails with `disk_full`, exit code 5, and leaves nothing.
#[test]
fn file_size_limit_fails_cleanly() {
    let src = llama();
    let tmp = tempfile::tempdir().unwrap();
    // SIGXFSZ ignored (inherited through exec), so the write returns EFBIG instead of killing.
    let o = Command::new("bash")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 200; exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_hf2mlx"))
        .args([
            "convert",
            "--hf-path",
            src.to_str().unwrap(),
            "--mlx-path",
            "out",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error[disk_full]:"),
        "{}",
        stderr(&o)
    );
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

/// A real ENOSPC on a 1 MiB tmpfs (in a private mount namespace; skipped where unprivileged
/// namespaces are unavailable): the write fails mid-stream, nothing is left, and after the
/// file system grows the rerun succeeds.
#[test]
fn no_space_left_on_device_fails_cleanly() {
    let src = llama();
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"
        mount -t tmpfs -o size=1m tmpfs "$1" || exit 77
        cd "$1"
        "$2" convert --hf-path "$3" --mlx-path out; echo "first=$?"
        echo "left=[$(ls -A)]"
        mount -o remount,size=32m "$1"
        "$2" convert --hf-path "$3" --mlx-path out; echo "second=$?"
        echo "after=[$(ls -A)]"
    "#;
    let o = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(env!("CARGO_BIN_EXE_hf2mlx"))
        .arg(&src)
        .output();
    let o = match o {
        Ok(o) if o.status.code() != Some(77) && o.status.success() => o,
        other => {
            eprintln!("skipped: no private tmpfs mount here ({other:?})");
            return;
        }
    };
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("first=5"), "{out}\n{}", stderr(&o));
    assert!(stderr(&o).contains("error[disk_full]:"), "{}", stderr(&o));
    assert!(out.contains("left=[]"), "{out}");
    assert!(
        out.contains("second=0") && out.contains("after=[out]"),
        "{out}\n{}",
        stderr(&o)
    );
}

/// A shard that shrinks after planning (a read error mid-conversion) fails with `io`, names
/// the file, and leaves nothing.
#[test]
fn read_error_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    let args = convert_args("src", &[]);
    let mut child = spawn_paused(&args, tmp.path(), "begin");
    let shard = src.join("model.safetensors");
    let len = std::fs::metadata(&shard).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&shard)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    // Resume; the error text goes to the drained stderr, so check code and folder.
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5));
    assert_eq!(entries(tmp.path()), vec!["src"]);
    // The same failure through the library names the file.
    let opts = {
        let mut o = hf2mlx::ConvertOptions::new(&src, tmp.path().join("out2"));
        o.quantize = true;
        o
    };
    let e = hf2mlx::convert(&opts, &|_, _| {}).unwrap_err();
    assert!(e.to_string().contains("model.safetensors"), "{e}");
    assert_eq!(entries(tmp.path()), vec!["src"]);
}

/// Symlinks inside the folder (and a Hugging Face cache snapshot's links into its `blobs`)
/// are followed; links out of the folder are refused for files hf2mlx reads and ignored
/// otherwise.
#[test]
fn symlinks_do_not_lead_out_of_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    copy_dir(&llama(), &outside);

    // HF cache layout: snapshots/<rev>/x -> ../../blobs/<hash>
    let repo = tmp.path().join("models--org--tiny");
    let snap = repo.join("snapshots/abc");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    for e in std::fs::read_dir(&outside).unwrap() {
        let e = e.unwrap();
        let blob = repo
            .join("blobs")
            .join(format!("blob-{}", e.file_name().to_str().unwrap()));
        std::fs::copy(e.path(), &blob).unwrap();
        let target = Path::new("../../blobs").join(blob.file_name().unwrap());
        std::os::unix::fs::symlink(target, snap.join(e.file_name())).unwrap();
    }
    // An unrelated link out of the folder is ignored.
    std::os::unix::fs::symlink("/etc/hostname", snap.join("notes.txt")).unwrap();
    let opts = hf2mlx::ConvertOptions::new(&snap, tmp.path().join("ok"));
    hf2mlx::convert(&opts, &|_, _| {}).unwrap();

    // A link inside the folder is fine; one leaving it is not, whatever file it replaces.
    let src = tmp.path().join("src");
    copy_dir(&llama(), &src);
    std::fs::create_dir(src.join("sub")).unwrap();
    std::fs::rename(src.join("model.safetensors"), src.join("sub/w.safetensors")).unwrap();
    std::os::unix::fs::symlink("sub/w.safetensors", src.join("model.safetensors")).unwrap();
    let opts = hf2mlx::ConvertOptions::new(&src, tmp.path().join("ok2"));
    hf2mlx::convert(&opts, &|_, _| {}).unwrap();
    for name in ["tokenizer.json", "config.json", "model.safetensors"] {
        std::fs::remove_file(src.join(name)).unwrap();
        std::os::unix::fs::symlink(outside.join(name), src.join(name)).unwrap();
        let opts = hf2mlx::ConvertOptions::new(&src, tmp.path().join("bad"));
        let e = hf2mlx::convert(&opts, &|_, _| {}).unwrap_err();
        assert_eq!(e.kind(), "unsafe_path", "{name}: {e}");
        assert!(e.to_string().contains(name), "{e}");
        assert!(!tmp.path().join("bad").exists());
        std::fs::remove_file(src.join(name)).unwrap();
        std::fs::copy(outside.join(name), src.join(name)).unwrap();
    }
}

/// Tensors as (name, dtype, shape, bytes), owned.
type OwnedTensors = Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>;

/// Writes `tensors` as the safetensors file `path`.
fn write_tensors(path: &Path, tensors: &OwnedTensors) {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// The llama fixture with NaN, ±Inf, subnormals and huge values planted in a few weights:
/// scattered, a whole quantization group of NaN, a group of Inf, a group of subnormals.
fn poisoned_llama(dst: &Path) -> PathBuf {
    copy_dir(&llama(), dst);
    let path = dst.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: OwnedTensors = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let put = |d: &mut Vec<u8>, i: usize, bits: u16| {
        d[2 * i..2 * i + 2].copy_from_slice(&bits.to_le_bytes())
    };
    for (name, dtype, _, data) in owned.iter_mut() {
        assert_eq!(*dtype, safetensors::Dtype::BF16);
        match name.as_str() {
            "model.layers.0.self_attn.q_proj.weight" => {
                for (i, bits) in [
                    0x7fc0u16, 0xffc0, 0x7f80, 0xff80, 0x0001, 0x8001, 0x007f, 0x7f7f, 0xff7f,
                ]
                .iter()
                .enumerate()
                {
                    put(data, i * 7 + 3, *bits);
                }
                for i in 64..128 {
                    put(data, i, 0x7fc1); // a whole group of NaN (payload kept)
                }
                for i in 128..192 {
                    put(data, i, if i % 2 == 0 { 0x7f80 } else { 0xff80 });
                }
                for i in 192..256 {
                    put(
                        data,
                        i,
                        (i as u16 % 5) | if i % 3 == 0 { 0x8000 } else { 0 },
                    );
                }
            }
            "model.embed_tokens.weight" => {
                put(data, 5, 0x7f80);
                put(data, 300, 0xffc0);
            }
            "model.layers.1.mlp.down_proj.weight" => {
                for i in 0..64 {
                    put(data, i, 0x7f7f); // bf16 max: overflows float16 to Inf
                }
            }
            _ => {}
        }
    }
    drop(st);
    write_tensors(&path, &owned);
    dst.to_path_buf()
}

/// NaN, Inf and subnormal weights convert exactly as `mlx_lm.convert` converts them (tensor
/// bytes compared; logits are NaN by construction, so not compared), in every mode.
#[test]
fn non_finite_weights_convert_exactly_as_mlx_lm() {
    let py = oracle_python();
    let tmp = tempfile::tempdir().unwrap();
    let src = poisoned_llama(&tmp.path().join("src"));
    for (i, flags) in [
        vec![],
        vec!["-q"],
        vec!["-q", "--q-bits", "3", "--q-group-size", "32"],
        vec!["-q", "--dtype", "float16"],
        vec!["--dtype", "float16"],
        vec!["-q", "--q-mode", "mxfp4"],
        vec!["-q", "--q-mode", "nvfp4"],
        vec!["-q", "--q-mode", "mxfp8"],
    ]
    .into_iter()
    .enumerate()
    {
        let reference = tmp.path().join(format!("ref{i}"));
        let ours = tmp.path().join(format!("ours{i}"));
        let o = Command::new(&py)
            .args(["-m", "mlx_lm", "convert", "--hf-path"])
            .arg(&src)
            .arg("--mlx-path")
            .arg(&reference)
            .args(&flags)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{flags:?}: mlx_lm.convert: {}",
            stderr(&o)
        );
        let o = bin()
            .args(["convert", "--hf-path"])
            .arg(&src)
            .arg("--mlx-path")
            .arg(&ours)
            .args(&flags)
            .output()
            .unwrap();
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        let (a, b) = (common::describe(&ours), common::describe(&reference));
        let diff: Vec<&String> = b
            .tensors
            .iter()
            .filter(|(k, v)| a.tensors.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            diff.is_empty() && a.tensors.len() == b.tensors.len(),
            "{flags:?}: {diff:?}"
        );
    }
}

/// `--check-finite` lists the tensors with NaN/Inf and their counts, exits 3 and writes
/// nothing; on a clean checkpoint it passes and the conversion runs.
#[test]
fn check_finite_reports_nan_and_inf() {
    let tmp = tempfile::tempdir().unwrap();
    let src = poisoned_llama(&tmp.path().join("src"));
    let o = bin()
        .args([
            "convert",
            "--hf-path",
            "src",
            "--mlx-path",
            "out",
            "--check-finite",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{e}");
    assert!(
        e.starts_with("error[non_finite]: 2 tensors contain NaN or Inf"),
        "{e}"
    );
    // q_proj: 2 scattered NaN + 64 NaN; 2 scattered Inf + 64 Inf.
    assert!(
        e.contains("model.layers.0.self_attn.q_proj.weight (model.safetensors): 66 NaN, 66 Inf of 16384 values"),
        "{e}"
    );
    assert!(
        e.contains("model.embed_tokens.weight (model.safetensors): 1 NaN, 1 Inf"),
        "{e}"
    );
    assert_eq!(entries(tmp.path()), vec!["src"]);
    let found = hf2mlx::finite::scan(&[src.join("model.safetensors")]).unwrap();
    assert_eq!(found.len(), 2);

    let o = bin()
        .args(["convert", "--hf-path"])
        .arg(llama())
        .args(["--mlx-path", "out", "--check-finite", "-q"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("every floating tensor is finite"));
    assert!(tmp.path().join("out/model.safetensors").is_file());
}

/// The llama fixture with a 300 000-token vocabulary, so that `embed_tokens` and `lm_head` hold
/// 77 MB each: past the 64 MB after which the buffered write path starts writeback and drops
/// written pages from the page cache. Values are a fixed pseudo-random sequence.
fn large_vocab_llama(dst: &Path) -> PathBuf {
    const VOCAB: usize = 300_000;
    copy_dir(&llama(), dst);
    let config_path = dst.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["vocab_size"] = VOCAB.into();
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let path = dst.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut owned: OwnedTensors = Vec::new();
    for (name, view) in st.tensors() {
        let (shape, data) = if name.ends_with("embed_tokens.weight") || name == "lm_head.weight" {
            let shape = vec![VOCAB, view.shape()[1]];
            let mut data = Vec::with_capacity(shape[0] * shape[1] * 2);
            for _ in 0..shape[0] * shape[1] {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // bf16 values in ±[2^-8, 2^-6): sign, exponent 119..=121, random mantissa.
                let bits = ((state >> 63) << 15) as u16
                    | ((119 + (state >> 40) % 3) << 7) as u16
                    | ((state >> 33) & 0x7f) as u16;
                data.extend_from_slice(&bits.to_le_bytes());
            }
            (shape, data)
        } else {
            (view.shape().to_vec(), view.data().to_vec())
        };
        owned.push((name, view.dtype(), shape, data));
    }
    drop(st);
    write_tensors(&path, &owned);
    dst.to_path_buf()
}

/// Writing through the page cache (the fallback where `O_DIRECT` is refused, forced here with
/// `HF2MLX_DIRECT_IO=0`) produces the same shards as direct writes, also for tensors large
/// enough that written pages are dropped from the cache while the conversion runs.
#[test]
fn buffered_writes_equal_direct_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = large_vocab_llama(&tmp.path().join("src"));
    let src = src.to_str().unwrap();
    for flags in [vec![], vec!["-q"]] {
        let mut shards = Vec::new();
        for direct in ["1", "0"] {
            let out = tmp.path().join(format!("out-{direct}"));
            let out_str = out.to_str().unwrap().to_string();
            let mut args = vec!["convert", "--hf-path", src, "--mlx-path", &out_str];
            args.extend(&flags);
            let o = bin()
                .args(&args)
                .env(hf2mlx::safetensors::DIRECT_IO_ENV, direct)
                .output()
                .unwrap();
            assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
            let files: Vec<(String, Vec<u8>)> = entries(&out)
                .into_iter()
                .filter(|n| n.ends_with(".safetensors") || n.ends_with(".index.json"))
                .map(|n| {
                    let bytes = std::fs::read(out.join(&n)).unwrap();
                    (n, bytes)
                })
                .collect();
            assert!(!files.is_empty());
            shards.push(files);
            std::fs::remove_dir_all(&out).unwrap();
        }
        assert!(
            shards[0] == shards[1],
            "{flags:?}: buffered and direct writes differ"
        );
    }
}
