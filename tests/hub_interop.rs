//! The shared cache works both ways with the real client: Python `huggingface_hub` (from the
//! oracle venv) downloads from the fake Hub into a cache that hf2mlx then converts offline, and
//! finds what hf2mlx downloaded with `snapshot_download(local_files_only=True)`; it can also
//! download what hf2mlx uploaded.
//!
//! Needs the oracle venv (`tools/mlx-oracle.sh`, run by scripts/test.sh) or `HF2MLX_ORACLE_PYTHON`.

mod common;

use common::oracle_python;
mod hub_fake;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hub_fake::FakeHub;

fn env_for(c: &mut Command, hub: &FakeHub, home: &Path) {
    c.current_dir(home)
        .env("HF_ENDPOINT", &hub.url)
        .env("HF_HOME", home.join("hf"))
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env_remove("HF_TOKEN")
        .env_remove("HF_TOKEN_PATH")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("TRANSFORMERS_OFFLINE");
}

fn python(hub: &FakeHub, home: &Path, script: &str, extra_env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(oracle_python());
    env_for(&mut c, hub, home);
    c.args(["-c", script]);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn hf2mlx(hub: &FakeHub, home: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hf2mlx"));
    env_for(&mut c, hub, home);
    c.args(args);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The llama fixture as a Hub repo, with a card and files conversion does not need.
fn push_llama(hub: &FakeHub, repo: &str) -> String {
    let src = common::fixtures().join("models/llama/hf");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.push((
        "README.md".into(),
        b"---\nlicense: mit\n---\n# tiny\n".to_vec(),
    ));
    files.push(("pytorch_model.bin".into(), vec![1u8; 100]));
    let v: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    hub.push(repo, &v)
}

const ALLOW: &str = "['*.json', 'model*.safetensors', '*.py', 'tokenizer.model', '*.tiktoken', 'tiktoken.model', '*.txt', '*.jsonl', '*.jinja']";

fn q4_expected() -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(common::fixtures().join("models/llama/expected/q4.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn hf2mlx_converts_offline_from_a_cache_python_filled() {
    let hub = FakeHub::start();
    let sha = push_llama(&hub, "org/llama");
    let home = tempfile::tempdir().unwrap();
    let script = format!(
        "from huggingface_hub import snapshot_download\n\
         p = snapshot_download('org/llama', allow_patterns={ALLOW} + ['README.md'])\nprint(p)"
    );
    let o = python(&hub, home.path(), &script, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let printed = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        printed.ends_with(&format!("models--org--llama/snapshots/{sha}")),
        "{printed}"
    );

    // Offline and with nobody listening: everything must come from Python's cache.
    let o = hf2mlx(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out",
            "-q",
        ],
        &[
            ("HF_HUB_OFFLINE", "1"),
            ("HF_ENDPOINT", "http://127.0.0.1:9"),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        common::compare(&home.path().join("out"), &q4_expected()),
        Vec::<String>::new()
    );
    let card = std::fs::read_to_string(home.path().join("out/README.md")).unwrap();
    assert!(
        card.starts_with("---\nlicense: mit\nbase_model: org/llama\n"),
        "{card}"
    );
    assert!(card.contains(&sha));

    // Online, hf2mlx finds Python's blobs and downloads nothing.
    hub.clear_log();
    let o = hf2mlx(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "out2"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !hub.log().iter().any(|l| l.server == "cdn"),
        "{:?}",
        hub.log()
    );
}

#[test]
fn python_finds_what_hf2mlx_downloaded() {
    let hub = FakeHub::start();
    let sha = push_llama(&hub, "org/llama");
    let home = tempfile::tempdir().unwrap();
    let o = hf2mlx(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));

    hub.clear_log();
    let script = format!(
        "from huggingface_hub import snapshot_download, hf_hub_download, get_cached_repo_tree\n\
         p = snapshot_download('org/llama', local_files_only=True, allow_patterns={ALLOW})\nprint(p)\n\
         print(hf_hub_download('org/llama', 'config.json', local_files_only=True))\n\
         print(len(get_cached_repo_tree('org/llama')))\n\
         import os\nprint(sorted(os.listdir(p)))\n"
    );
    let o = python(&hub, home.path(), &script, &[("HF_HUB_OFFLINE", "1")]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].ends_with(&format!("models--org--llama/snapshots/{sha}")),
        "{out}"
    );
    assert!(
        lines[1].ends_with(&format!("snapshots/{sha}/config.json")),
        "{out}"
    );
    assert_eq!(lines[2], "7", "{out}"); // the whole listing, for completeness checks
    assert!(
        lines[3].contains("'model.safetensors'") && !lines[3].contains("pytorch_model.bin"),
        "{out}"
    );
    assert!(
        hub.log().is_empty(),
        "Python went to the network: {:?}",
        hub.log()
    );

    // Online, Python's own snapshot_download of the same patterns re-downloads nothing.
    let script = format!(
        "from huggingface_hub import snapshot_download\nprint(snapshot_download('org/llama', allow_patterns={ALLOW}))"
    );
    let o = python(&hub, home.path(), &script, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !hub.log()
            .iter()
            .any(|l| l.server == "cdn" || l.method == "GET" && l.url.contains("/resolve/")),
        "{:?}",
        hub.log()
    );
}

#[test]
fn python_downloads_what_hf2mlx_uploaded() {
    let hub = FakeHub::start();
    hub.add_token("hf_writer_TOKEN", "alice");
    let home = tempfile::tempdir().unwrap();
    let local = common::fixtures().join("models/llama/hf");
    let o = hf2mlx(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            local.to_str().unwrap(),
            "--mlx-path",
            "out",
            "-q",
            "--upload-repo",
            "alice/tiny-4bit",
        ],
        &[("HF_TOKEN", "hf_writer_TOKEN")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let script = "from huggingface_hub import snapshot_download\nprint(snapshot_download('alice/tiny-4bit'))";
    let o = python(&hub, home.path(), script, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    for e in std::fs::read_dir(home.path().join("out")).unwrap() {
        let e = e.unwrap();
        assert_eq!(
            std::fs::read(dir.join(e.file_name())).unwrap(),
            std::fs::read(e.path()).unwrap(),
            "{:?}",
            e.file_name()
        );
    }
    assert_eq!(common::compare(&dir, &q4_expected()), Vec::<String>::new());
}
