//! The bad-input corpus (`tests/fixtures/bad_inputs`, made by `tests/bad_inputs/generate.py`):
//! the binary runs on every malformed checkpoint and must fail with the expected error kind and
//! exit code, a message naming the file and tensor involved, write nothing (no output folder, no
//! temporary folder), and leave the source untouched. The valid base case must convert.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad_inputs")
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let bytes = if m.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (
                e.file_name().into_string().unwrap(),
                bytes,
                m.modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_bad_input_fails_cleanly_with_its_error_kind() {
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(corpus().join("cases.json")).unwrap()).unwrap();
    assert!(
        cases.len() >= 31,
        "the corpus must hold at least 30 bad inputs"
    );
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["case"].as_str().unwrap();
        let kind = c["kind"].as_str().unwrap();
        let code = c["exit"].as_i64().unwrap() as i32;
        let src = corpus().join(name);
        let before = snapshot(&src);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = Command::new(env!("CARGO_BIN_EXE_hf2mlx"))
            .args(["convert", "--hf-path"])
            .arg(&src)
            .arg("--mlx-path")
            .arg(&out)
            .args(
                c["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap()),
            )
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let mut problems = Vec::new();
        if o.status.code() != Some(code) {
            problems.push(format!("exit code {:?}, expected {code}", o.status.code()));
        }
        if kind == "ok" {
            if !out.join("model.safetensors").is_file() {
                problems.push("no output".into());
            }
        } else {
            if !err.starts_with(&format!("error[{kind}]: ")) {
                problems.push(format!("expected error[{kind}]"));
            }
            for n in c["needles"].as_array().unwrap() {
                if !err.contains(n.as_str().unwrap()) {
                    problems.push(format!("message lacks `{}`", n.as_str().unwrap()));
                }
            }
            let left: Vec<_> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            if !left.is_empty() {
                problems.push(format!("left behind {left:?}"));
            }
        }
        if snapshot(&src) != before {
            problems.push("the source folder changed".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n    stderr: {}",
                problems.join("; "),
                err.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
