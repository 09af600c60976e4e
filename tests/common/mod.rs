//! Shared test helpers: describe an MLX output folder the way `../shared/tools/manifest.py`
//! does (every tensor's dtype, shape and sha256; config.json and the index parsed), using the
//! official `safetensors` crate as an independent reader.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The bundled tiny Llama checkpoint.
pub fn llama() -> PathBuf {
    fixtures().join("models/llama/hf")
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Entries of `dir`, sorted: to check that nothing (not even a temporary folder) was left behind.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Copies the files of `src` (flat) into `dst`.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
}

/// The pinned mlx/mlx-lm oracle's python: `HF2MLX_ORACLE_PYTHON`, else the venv
/// `tools/mlx-oracle.sh` makes (`MLX_ORACLE_VENV`, default `~/.cache/hf2mlx/mlx-oracle`).
/// Missing is a failure with instructions, never a silent skip.
pub fn oracle_python() -> PathBuf {
    if let Some(p) = std::env::var_os("HF2MLX_ORACLE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("MLX_ORACLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hf2mlx/mlx-oracle")
        });
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "this test needs the mlx-lm oracle venv ({}): run `bash tools/mlx-oracle.sh` once (or \
         use scripts/test.sh, which does), or set HF2MLX_ORACLE_PYTHON",
        py.display()
    );
    py
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorDesc {
    pub dtype: String,
    pub shape: Vec<u64>,
    pub sha256: String,
}

pub struct Described {
    pub files: Vec<String>,
    pub config: Value,
    pub index: Option<Value>,
    pub tensors: BTreeMap<String, TensorDesc>,
}

pub fn describe(dir: &Path) -> Described {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut tensors = BTreeMap::new();
    for f in files.iter().filter(|f| f.ends_with(".safetensors")) {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .unwrap_or_else(|e| panic!("{f}: the safetensors crate rejects our output: {e}"));
        for (name, view) in st.tensors() {
            let dtype = format!("{:?}", view.dtype());
            let prev = tensors.insert(
                name.clone(),
                TensorDesc {
                    dtype,
                    shape: view.shape().iter().map(|&d| d as u64).collect(),
                    sha256: hex(&Sha256::digest(view.data())),
                },
            );
            assert!(prev.is_none(), "tensor {name} written twice");
        }
    }
    let read = |n: &str| -> Option<Value> {
        std::fs::read(dir.join(n))
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap())
    };
    Described {
        files,
        config: read("config.json").expect("config.json written"),
        index: read("model.safetensors.index.json"),
        tensors,
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Differences between an output folder and an expected manifest (empty = identical).
pub fn compare(dir: &Path, expected: &Value) -> Vec<String> {
    let got = describe(dir);
    let mut bad = Vec::new();
    let et = expected["tensors"].as_object().expect("manifest tensors");
    for (k, e) in et {
        match got.tensors.get(k) {
            None => bad.push(format!("missing tensor {k}")),
            Some(g) => {
                // safetensors' Dtype debug names equal the file's dtype strings.
                let edt = e["dtype"].as_str().unwrap();
                if g.dtype != edt {
                    bad.push(format!("{k}: dtype {} != expected {edt}", g.dtype));
                }
                let es: Vec<u64> = e["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect();
                if g.shape != es {
                    bad.push(format!("{k}: shape {:?} != expected {es:?}", g.shape));
                }
                if g.sha256 != e["sha256"].as_str().unwrap() {
                    bad.push(format!("{k}: bytes differ"));
                }
            }
        }
    }
    for k in got.tensors.keys() {
        if !et.contains_key(k) {
            bad.push(format!("unexpected tensor {k}"));
        }
    }
    let ec = expected["config"].as_object().unwrap();
    let gc = got.config.as_object().unwrap();
    for k in ec.keys().chain(gc.keys()) {
        if ec.get(k) != gc.get(k) {
            bad.push(format!(
                "config.{k}: {:?} != expected {:?}",
                gc.get(k),
                ec.get(k)
            ));
        }
    }
    if let Some(ei) = expected.get("index") {
        let gi = got.index.as_ref().map(|i| &i["metadata"]);
        if gi != Some(&ei["metadata"]) {
            bad.push(format!(
                "index metadata {gi:?} != expected {:?}",
                ei["metadata"]
            ));
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

/// The subfolders of `dir`, sorted.
pub fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Differences between an output folder and a manifest of mlx-vlm's or mlx-audio's own
/// conversion: tensors (name, dtype, shape, bytes), files other than `our_files` (the ones we
/// write and they do not), and config.json keys other than `config_differences`.
pub fn differences_from_converter(
    out: &Path,
    expected: &Value,
    our_files: &[&str],
    config_differences: &[&str],
) -> Vec<String> {
    let got = describe(out);
    let mut bad = Vec::new();
    let et = expected["tensors"].as_object().expect("manifest tensors");
    for (k, e) in et {
        match got.tensors.get(k) {
            None => bad.push(format!("missing tensor {k}")),
            Some(g) => {
                let shape: Vec<u64> = e["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect();
                if g.dtype != e["dtype"].as_str().unwrap() || g.shape != shape {
                    bad.push(format!(
                        "{k}: {} {:?} != expected {} {shape:?}",
                        g.dtype, g.shape, e["dtype"]
                    ));
                } else if g.sha256 != e["sha256"].as_str().unwrap() {
                    bad.push(format!("{k}: bytes differ"));
                }
            }
        }
    }
    for k in got.tensors.keys().filter(|k| !et.contains_key(*k)) {
        bad.push(format!("unexpected tensor {k}"));
    }
    let files: Vec<&str> = expected["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = got
        .files
        .iter()
        .map(String::as_str)
        .filter(|f| !our_files.contains(f))
        .collect();
    if ours != files {
        bad.push(format!("files {ours:?} != expected {files:?}"));
    }
    let (ec, gc) = (
        expected["config"].as_object().unwrap(),
        got.config.as_object().unwrap(),
    );
    for k in ec.keys().chain(gc.keys()) {
        if !config_differences.contains(&k.as_str()) && ec.get(k) != gc.get(k) {
            bad.push(format!(
                "config.{k}: {:?} != expected {:?}",
                gc.get(k),
                ec.get(k)
            ));
        }
    }
    bad
}
