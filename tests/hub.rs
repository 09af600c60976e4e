//! Hub sources and uploads against a local fake Hub (tests/hub_fake, 127.0.0.1 only): preflight
//! before download, the shared cache layout, resumable verified downloads (also after `kill`),
//! gated/missing/revision errors, offline use, the shorthand and `list`, and uploads (basic,
//! multipart, resumed after `kill`). The token must never appear in output or leave the Hub host.

mod common;
mod hub_fake;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hub_fake::FakeHub;

const TOKEN: &str = "hf_test_SECRET_token_123";

/// The llama fixture as a Hub repo: three shards + index, tokenizer, a card with front matter, a
/// `pytorch_model.bin` and `.gitattributes` that a conversion must not fetch.
fn llama_repo() -> Vec<(String, Vec<u8>)> {
    let src = common::fixtures().join("models/llama/hf");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name != "model.safetensors" {
            files.push((name, std::fs::read(e.path()).unwrap()));
        }
    }
    let whole = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&whole).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    let per = names.len().div_ceil(3);
    let mut weight_map = serde_json::Map::new();
    let tmp = tempfile::tempdir().unwrap();
    for (i, part) in names.chunks(per).enumerate() {
        let file = format!("model-0000{}-of-00003.safetensors", i + 1);
        let views: Vec<(String, safetensors::tensor::TensorView)> = part
            .iter()
            .map(|n| (n.clone(), st.tensor(n).unwrap()))
            .collect();
        let p = tmp.path().join(&file);
        safetensors::serialize_to_file(views, None, &p).unwrap();
        files.push((file.clone(), std::fs::read(&p).unwrap()));
        for n in part {
            weight_map.insert(n.clone(), file.clone().into());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    files.push((
        "model.safetensors.index.json".into(),
        index.to_string().into_bytes(),
    ));
    files.push((
        "README.md".into(),
        b"---\nlicense: apache-2.0\nlibrary_name: transformers\ntags:\n- text-generation\n---\n\n# Tiny llama\n".to_vec(),
    ));
    files.push(("pytorch_model.bin".into(), vec![7u8; 1000]));
    files.push((
        ".gitattributes".into(),
        b"*.safetensors filter=lfs\n".to_vec(),
    ));
    files
}

fn push(hub: &FakeHub, repo: &str, files: &[(String, Vec<u8>)]) -> String {
    let v: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    hub.push(repo, &v)
}

/// `hf2mlx` with a private HF home, pointed at the fake Hub, no token unless given.
fn cmd(hub: &FakeHub, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hf2mlx"));
    c.args(args)
        .current_dir(home)
        .env("HF_ENDPOINT", &hub.url)
        .env("HF_HOME", home.join("hf"))
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env_remove("HF_TOKEN")
        .env_remove("HUGGING_FACE_HUB_TOKEN")
        .env_remove("HF_TOKEN_PATH")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("TRANSFORMERS_OFFLINE")
        .env_remove("HF2MLX_MODELS");
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn cache(home: &Path, repo: &str) -> PathBuf {
    home.join("hf/hub")
        .join(format!("models--{}", repo.replace('/', "--")))
}

fn q4_expected() -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(common::fixtures().join("models/llama/expected/q4.json")).unwrap(),
    )
    .unwrap()
}

fn cdn_gets(hub: &FakeHub) -> Vec<hub_fake::Logged> {
    hub.log()
        .into_iter()
        .filter(|l| l.server == "cdn" && l.method == "GET")
        .collect()
}

#[test]
fn downloads_into_the_shared_cache_and_converts_like_a_local_folder() {
    let hub = FakeHub::start();
    hub.add_token(TOKEN, "alice");
    let files = llama_repo();
    let sha = push(&hub, "org/llama", &files);
    let home = tempfile::tempdir().unwrap();
    let o = run({
        let mut c = cmd(
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
        );
        c.env("HF_TOKEN", TOKEN);
        c
    });
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(TOKEN));
    // Same tensors as mlx-lm's conversion of the local checkpoint.
    assert_eq!(
        common::compare(&home.path().join("out"), &q4_expected()),
        Vec::<String>::new()
    );

    // huggingface_hub's layout: refs, blobs named by ETag, relative symlinks in the snapshot.
    let repo_dir = cache(home.path(), "org/llama");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(),
        sha
    );
    let snap = repo_dir.join("snapshots").join(&sha);
    for (name, data) in &files {
        let p = snap.join(name);
        let wanted = name != "pytorch_model.bin" && name != ".gitattributes";
        assert_eq!(p.exists(), wanted, "{name}");
        if wanted {
            assert_eq!(&std::fs::read(&p).unwrap(), data, "{name}");
            let target = std::fs::read_link(&p).unwrap();
            assert!(
                target.starts_with("../../blobs"),
                "{name}: {}",
                target.display()
            );
        }
    }
    let shard = &files
        .iter()
        .find(|f| f.0 == "model-00001-of-00003.safetensors")
        .unwrap()
        .1;
    assert!(
        repo_dir
            .join("blobs")
            .join(hub_fake::sha256_hex(shard))
            .is_file()
    );
    assert!(repo_dir.join(format!("trees/{sha}.json")).is_file());
    let leftovers: Vec<_> = std::fs::read_dir(repo_dir.join("blobs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".incomplete")
        })
        .collect();
    assert!(leftovers.is_empty());

    // Only conversion files were fetched; the token stayed on the Hub host.
    let log = hub.log();
    assert!(!log.iter().any(|l| l.url.contains("pytorch_model.bin")));
    assert!(
        log.iter()
            .filter(|l| l.server == "cdn")
            .all(|l| l.auth.is_none())
    );
    assert!(
        log.iter()
            .filter(|l| l.server == "hub")
            .all(|l| l.auth.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );

    // The card: source front matter kept, base_model + provenance, no token.
    let card = std::fs::read_to_string(home.path().join("out/README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: apache-2.0\nlibrary_name: mlx\ntags:\n- text-generation\n- mlx\nbase_model: org/llama\npipeline_tag: text-generation\n---\n"), "{card}");
    assert!(card.contains(&format!("commit `{sha}`")), "{card}");
    assert!(
        card.contains("- Command: `hf2mlx convert --hf-path org/llama --mlx-path out -q`"),
        "{card}"
    );
    assert!(!card.contains(TOKEN));

    // A second conversion reuses the cache: no byte of any file is downloaded again.
    hub.clear_log();
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out2",
            "--dtype",
            "float16",
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert!(cdn_gets(&hub).is_empty());
    assert!(
        !hub.log().iter().any(|l| l.url.contains("/resolve/")),
        "{:?}",
        hub.log()
    );
}

#[test]
fn preflight_stops_unsupported_models_before_any_weight_byte() {
    let hub = FakeHub::start();
    let mut files = llama_repo();
    for f in files.iter_mut().filter(|f| f.0 == "config.json") {
        let mut cfg: serde_json::Value = serde_json::from_slice(&f.1).unwrap();
        cfg["model_type"] = "brand_new_arch".into();
        f.1 = cfg.to_string().into_bytes();
    }
    push(&hub, "org/new", &files);
    let home = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/new", "--mlx-path", "out", "-q"],
    ));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("model type `brand_new_arch` is not supported"),
        "{}",
        text(&o)
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(cdn_gets(&hub).is_empty(), "no shard was touched");
    assert!(!cache(home.path(), "org/new").join("blobs").exists());
    assert!(!home.path().join("out").exists());
}

#[test]
fn dry_run_plans_from_headers_and_writes_nothing() {
    let hub = FakeHub::start();
    let files = llama_repo();
    let sha = push(&hub, "org/llama", &files);
    hub.with(|s| s.tree_page = 4); // exercise Link pagination
    let home = tempfile::tempdir().unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out",
            "-q",
            "--dry-run",
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("revision `main` = commit {sha}")),
        "{out}"
    );
    assert!(out.contains("fetch:       9 of 9 files"), "{out}");
    assert!(out.contains("model-00003-of-00003.safetensors"), "{out}");
    assert!(out.contains("disk:"), "{out}");
    assert!(out.contains("bits per weight"), "{out}");
    // Headers came from small Range reads; nothing reached the cache or the output.
    for l in cdn_gets(&hub) {
        assert!(l.range.is_some(), "{l:?}");
        assert!(l.sent() <= 256 << 10, "{l:?}");
    }
    assert!(!home.path().join("hf").exists());
    assert!(!home.path().join("out").exists());

    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "-q",
            "--dry-run",
            "--json",
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["hub"]["commit"], sha.as_str());
    assert_eq!(v["hub"]["to_fetch"].as_array().unwrap().len(), 9);
}

#[test]
fn gated_private_missing_and_bad_revision_say_what_to_do() {
    let hub = FakeHub::start();
    hub.add_token(TOKEN, "alice");
    hub.add_token("hf_other_BOB", "bob");
    push(&hub, "org/gated", &llama_repo());
    hub.repo("org/gated", |r| {
        r.gated = true;
        r.granted.insert("alice".into());
    });
    let home = tempfile::tempdir().unwrap();
    let dry = ["convert", "--hf-path", "org/gated", "-q", "--dry-run"];

    let o = run(cmd(&hub, home.path(), &dry));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("org/gated is a gated model") && text(&o).contains("hf auth login"),
        "{}",
        text(&o)
    );

    let mut c = cmd(&hub, home.path(), &dry);
    c.env("HF_TOKEN", "hf_other_BOB");
    let o = run(c);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the token from HF_TOKEN has no access")
            && text(&o).contains("Request access"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("hf_other_BOB"));

    // The token file of `hf auth login` is used when HF_TOKEN is not set.
    std::fs::create_dir_all(home.path().join("hf")).unwrap();
    std::fs::write(home.path().join("hf/token"), format!("{TOKEN}\n")).unwrap();
    let o = run(cmd(&hub, home.path(), &dry));
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(TOKEN));
    std::fs::remove_file(home.path().join("hf/token")).unwrap();

    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/missing", "--dry-run"],
    ));
    assert!(
        text(&o).contains("model repo org/missing not found")
            && text(&o).contains("if it is private"),
        "{}",
        text(&o)
    );
    let mut c = cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/missing", "--dry-run"],
    );
    c.env("HF_TOKEN", "hf_not_a_real_token");
    let o = run(c);
    assert!(text(&o).contains("invalid or expired"), "{}", text(&o));
    assert!(!text(&o).contains("hf_not_a_real_token"));
    let mut c = cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/missing",
            "--dry-run",
            "--token",
            "hf_other_BOB",
        ],
    );
    c.env("HF_TOKEN", TOKEN);
    let o = run(c);
    assert!(
        text(&o).contains("or the token from --token cannot see it"),
        "{}",
        text(&o)
    );

    push(&hub, "org/llama", &llama_repo());
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--revision",
            "nope",
            "--dry-run",
        ],
    ));
    assert!(
        text(&o).contains("revision `nope` not found in org/llama"),
        "{}",
        text(&o)
    );
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--revision",
            "../x",
            "--dry-run",
        ],
    ));
    assert!(
        text(&o).contains("is not a branch, tag or commit"),
        "{}",
        text(&o)
    );
}

#[test]
fn revisions_resolve_to_commits_and_refs_are_recorded() {
    let hub = FakeHub::start();
    let files = llama_repo();
    let first = push(&hub, "org/llama", &files);
    hub.repo("org/llama", |r| {
        r.branches.insert("v1".into(), first.clone())
    });
    let mut newer = files.clone();
    for f in newer.iter_mut().filter(|f| f.0 == "config.json") {
        let mut cfg: serde_json::Value = serde_json::from_slice(&f.1).unwrap();
        cfg["model_type"] = "unsupported_v2".into();
        f.1 = cfg.to_string().into_bytes();
    }
    let second = push(&hub, "org/llama", &newer);
    let home = tempfile::tempdir().unwrap();
    // main moved to an unsupported config; v1 (a branch) and the first sha still convert.
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--dry-run"],
    ));
    assert!(text(&o).contains("unsupported_v2"), "{}", text(&o));
    for rev in ["v1", first.as_str()] {
        let o = run(cmd(
            &hub,
            home.path(),
            &[
                "convert",
                "--hf-path",
                "org/llama",
                "--revision",
                rev,
                "--mlx-path",
                &format!("out-{}", &rev[..2]),
                "-q",
            ],
        ));
        assert!(o.status.success(), "{rev}: {}", text(&o));
    }
    let repo_dir = cache(home.path(), "org/llama");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/v1")).unwrap(),
        first
    );
    assert!(!repo_dir.join("snapshots").join(&second).exists());
    let card = std::fs::read_to_string(home.path().join("out-v1/README.md")).unwrap();
    assert!(
        card.contains(&format!("revision `v1`, commit `{first}`")),
        "{card}"
    );
}

#[test]
fn offline_mode_uses_the_cache_only() {
    let hub = FakeHub::start();
    push(&hub, "org/llama", &llama_repo());
    let home = tempfile::tempdir().unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "a", "-q"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    // Offline, with an endpoint nobody listens on.
    let offline = |args: &[&str]| {
        let mut c = cmd(&hub, home.path(), args);
        c.env("HF_HUB_OFFLINE", "1")
            .env("HF_ENDPOINT", "http://127.0.0.1:9");
        run(c)
    };
    let o = offline(&["convert", "--hf-path", "org/llama", "--mlx-path", "b", "-q"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        common::compare(&home.path().join("b"), &q4_expected()),
        Vec::<String>::new()
    );
    let o = offline(&["convert", "--hf-path", "org/other", "--mlx-path", "c"]);
    assert!(
        text(&o).contains("HF_HUB_OFFLINE is set and org/other at `main` is not in the cache"),
        "{}",
        text(&o)
    );
    // A snapshot missing a shard is reported, not converted.
    let snap = std::fs::read_dir(cache(home.path(), "org/llama").join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(snap.join("model-00002-of-00003.safetensors")).unwrap();
    let o = offline(&["convert", "--hf-path", "org/llama", "--mlx-path", "d"]);
    assert!(
        text(&o).contains("incomplete: model-00002-of-00003.safetensors missing"),
        "{}",
        text(&o)
    );
}

#[test]
fn shorthand_writes_to_the_models_dir_and_list_shows_it() {
    let hub = FakeHub::start();
    let sha = push(&hub, "org/llama", &llama_repo());
    let home = tempfile::tempdir().unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "org/llama", "llama-4bit", "4"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        common::compare(&home.path().join("local-models/llama-4bit"), &q4_expected()),
        Vec::<String>::new()
    );
    let mut c = cmd(
        &hub,
        home.path(),
        &["convert", "org/llama", "llama-f16", "f16"],
    );
    c.env("HF2MLX_MODELS", home.path().join("elsewhere"));
    assert!(run(c).status.success());
    let local = common::fixtures().join("models/llama/hf");
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            local.to_str().unwrap(),
            "local-8",
            "8",
            "--models-dir",
            "elsewhere",
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));

    let o = run(cmd(&hub, home.path(), &["list"]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    let row = out
        .lines()
        .find(|l| l.starts_with("llama-4bit"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains("4-bit affine") && row.contains(&format!("org/llama @ {}", &sha[..12])),
        "{row}"
    );
    let o = run(cmd(
        &hub,
        home.path(),
        &["list", "--models-dir", "elsewhere"],
    ));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("llama-f16") && l.contains("float16")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("local-8")
            && l.contains("8-bit affine")
            && l.contains("local:hf")),
        "{out}"
    );
    let o = run(cmd(&hub, home.path(), &["convert", "org/llama", "x", "7"]));
    assert!(text(&o).contains("BITS `7`"), "{}", text(&o));
}

#[test]
fn interrupted_connections_and_bad_partial_files_are_recovered() {
    let hub = FakeHub::start();
    let files = llama_repo();
    push(&hub, "org/llama", &files);
    let home = tempfile::tempdir().unwrap();
    // 1. The connection breaks mid-file: the same run resumes with Range.
    hub.with(|s| s.break_once = Some(("lfs/".into(), 100_000)));
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "a", "-q"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        cdn_gets(&hub)
            .iter()
            .any(|l| l.range.as_deref() == Some("bytes=100000-")),
        "{:?}",
        cdn_gets(&hub)
    );
    assert_eq!(
        common::compare(&home.path().join("a"), &q4_expected()),
        Vec::<String>::new()
    );

    // 2. A partial blob with wrong bytes is caught by the sha256 check and removed.
    let home = tempfile::tempdir().unwrap();
    let (name, shard) = files
        .iter()
        .find(|f| f.0 == "model-00002-of-00003.safetensors")
        .unwrap();
    let oid = hub_fake::sha256_hex(shard);
    let blobs = cache(home.path(), "org/llama").join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(format!("{oid}.incomplete")), vec![0xAAu8; 5000]).unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "b", "-q"],
    ));
    assert!(!o.status.success());
    assert!(
        text(&o).contains(&format!("{name} of org/llama is corrupt")),
        "{}",
        text(&o)
    );
    assert!(!blobs.join(format!("{oid}.incomplete")).exists());
    assert!(!home.path().join("b").exists());
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "b", "-q"],
    ));
    assert!(o.status.success(), "{}", text(&o));

    // 2b. The same for a small (non-LFS) file, caught by its git blob id.
    let home = tempfile::tempdir().unwrap();
    let config = &files.iter().find(|f| f.0 == "config.json").unwrap().1;
    let git_oid = hub_fake::git_oid(config);
    let blobs = cache(home.path(), "org/llama").join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(format!("{git_oid}.incomplete")), b"{\"x\": 1}").unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "b", "-q"],
    ));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("config.json of org/llama is corrupt: git blob id"),
        "{}",
        text(&o)
    );
    assert!(!blobs.join(format!("{git_oid}.incomplete")).exists());
    assert!(!home.path().join("b").exists());

    // 3. A server that ignores Range: the partial file is restarted, not appended to.
    let home = tempfile::tempdir().unwrap();
    let blobs = cache(home.path(), "org/llama").join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(format!("{oid}.incomplete")), &shard[..7000]).unwrap();
    hub.with(|s| s.ignore_range = true);
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/llama", "--mlx-path", "c", "-q"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(blobs.join(&oid)).unwrap(), *shard);
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn killed_download_resumes_without_refetching_finished_files() {
    let hub = FakeHub::start();
    let files = llama_repo();
    let sha = push(&hub, "org/llama", &files);
    let slow = files
        .iter()
        .find(|f| f.0 == "model-00003-of-00003.safetensors")
        .unwrap();
    let slow_oid = hub_fake::sha256_hex(&slow.1);
    hub.with(|s| s.slow_download = Some((slow_oid.clone(), 8192, Duration::from_millis(30))));
    let home = tempfile::tempdir().unwrap();
    let child = cmd(
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
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let blobs = cache(home.path(), "org/llama").join("blobs");
    let others: Vec<String> = files
        .iter()
        .filter(|f| f.0.ends_with(".safetensors") && f.0 != slow.0)
        .map(|f| hub_fake::sha256_hex(&f.1))
        .collect();
    wait_for(
        "the fast shards and part of the slow one",
        Duration::from_secs(60),
        || {
            others.iter().all(|o| blobs.join(o).is_file())
                && std::fs::metadata(blobs.join(format!("{slow_oid}.incomplete")))
                    .is_ok_and(|m| m.len() > 50_000)
        },
    );
    kill(child);
    // Nothing looks like a finished snapshot: no config.json, no shards linked.
    let snap = cache(home.path(), "org/llama").join("snapshots").join(&sha);
    assert!(!snap.join("config.json").exists());
    assert!(!snap.join("model-00001-of-00003.safetensors").exists());
    let partial = std::fs::metadata(blobs.join(format!("{slow_oid}.incomplete")))
        .unwrap()
        .len();
    assert!(partial > 0 && partial < slow.1.len() as u64);
    assert!(!home.path().join("out").exists());

    hub.with(|s| s.slow_download = None);
    hub.clear_log();
    let o = run(cmd(
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
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        common::compare(&home.path().join("out"), &q4_expected()),
        Vec::<String>::new()
    );
    // The rerun fetched only the rest of the unfinished shard.
    let gets = cdn_gets(&hub);
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert!(gets[0].url.contains(&slow_oid));
    let start: u64 = gets[0]
        .range
        .as_deref()
        .unwrap()
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(
        start >= partial,
        "resumed at {start}, partial file had {partial}"
    );
    for o in &others {
        assert!(
            !hub.log().iter().any(|l| l.url.contains(o.as_str())),
            "{o} fetched again"
        );
    }
}

/// `--check-finite` on a Hub source scans the downloaded shards before anything is written.
#[test]
fn check_finite_scans_hub_sources_after_download() {
    let hub = FakeHub::start();
    let mut files = llama_repo();
    let (name, shard) = files
        .iter_mut()
        .find(|(n, _)| n == "model-00001-of-00003.safetensors")
        .unwrap();
    let n = u64::from_le_bytes(shard[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&shard[8..8 + n]).unwrap();
    let (tensor, info) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| *k != "__metadata__")
        .unwrap();
    let tensor = tensor.clone();
    let start = 8 + n + info["data_offsets"][0].as_u64().unwrap() as usize;
    // All-ones bytes are NaN in f32, f16 and bf16 alike.
    shard[start..start + 4].fill(0xff);
    let name = name.clone();
    push(&hub, "org/nan", &files);
    let home = tempfile::tempdir().unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/nan",
            "--mlx-path",
            "out",
            "--check-finite",
        ],
    ));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{tensor} ({name}): ")),
        "{}",
        text(&o)
    );
    assert!(!home.path().join("out").exists());
    // Without the flag the same source converts, as with mlx-lm.
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/nan", "--mlx-path", "out"],
    ));
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn odd_file_names_are_refused() {
    let hub = FakeHub::start();
    let mut files = llama_repo();
    files.push(("sub/../../escape.json".into(), b"{}".to_vec()));
    push(&hub, "org/evil", &files);
    let home = tempfile::tempdir().unwrap();
    let o = run(cmd(
        &hub,
        home.path(),
        &["convert", "--hf-path", "org/evil", "--mlx-path", "out"],
    ));
    assert!(!o.status.success());
    assert!(text(&o).contains("hf2mlx refuses to write"), "{}", text(&o));
    assert!(!home.path().join("hf/hub/escape.json").exists());
}

#[test]
fn upload_creates_the_repo_and_commits_with_lfs_and_provenance() {
    let hub = FakeHub::start();
    hub.add_token(TOKEN, "alice");
    let sha = push(&hub, "org/llama", &llama_repo());
    // Objects above 500 kB go multipart (chunks of 256 KiB), the rest single PUT.
    hub.with(|s| {
        s.multipart_above = 500_000;
        s.multipart_chunk = 256 << 10;
    });
    let home = tempfile::tempdir().unwrap();
    let mut c = cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out",
            "--max-shard-size",
            "700KB",
            "-q",
            "--upload-repo",
            "alice/llama-4bit",
            "--token",
            TOKEN,
        ],
    );
    c.env("HF_TOKEN", "hf_wrong_one");
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(TOKEN));
    let out = home.path().join("out");
    let remote = hub.head_files("alice/llama-4bit");
    let mut local: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    local.sort();
    for name in &local {
        assert_eq!(
            remote.get(name),
            Some(&std::fs::read(out.join(name)).unwrap()),
            "{name}"
        );
    }
    assert!(
        local.iter().filter(|n| n.ends_with(".safetensors")).count() >= 2,
        "{local:?}"
    );
    let card = String::from_utf8(remote["README.md"].clone()).unwrap();
    assert!(
        card.contains("\n# alice/llama-4bit\n") && card.contains("load(\"alice/llama-4bit\")"),
        "{card}"
    );
    assert!(
        card.contains(&format!("commit `{sha}`")) && card.contains("base_model: org/llama"),
        "{card}"
    );
    assert!(!card.contains(TOKEN));
    let log = hub.log();
    assert!(
        log.iter()
            .filter(|l| l.server == "cdn")
            .all(|l| l.auth.is_none())
    );
    assert!(
        log.iter().any(|l| l.url.contains("/part/2")),
        "multipart was used"
    );
    if local.iter().any(|n| {
        n.ends_with(".safetensors") && std::fs::metadata(out.join(n)).unwrap().len() <= 500_000
    }) {
        assert!(
            log.iter()
                .any(|l| l.method == "PUT" && !l.url.contains("/part/")),
            "single PUT was used"
        );
    }

    // Without a token, the upload is refused before converting.
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            "org/llama",
            "--mlx-path",
            "out3",
            "--upload-repo",
            "alice/x",
        ],
    ));
    assert!(
        text(&o).contains("--upload-repo needs a token"),
        "{}",
        text(&o)
    );
    assert!(!home.path().join("out3").exists());
}

#[test]
fn killed_upload_resumes_without_resending_stored_objects() {
    let hub = FakeHub::start();
    hub.add_token(TOKEN, "alice");
    let home = tempfile::tempdir().unwrap();
    let local = common::fixtures().join("models/llama/hf");
    let o = run(cmd(
        &hub,
        home.path(),
        &[
            "convert",
            "--hf-path",
            local.to_str().unwrap(),
            "--mlx-path",
            "out",
            "--max-shard-size",
            "600KB",
            "-q",
        ],
    ));
    assert!(o.status.success(), "{}", text(&o));
    let out = home.path().join("out");
    let shards: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .collect();
        v.sort();
        v
    };
    assert!(shards.len() >= 3);
    hub.with(|s| s.slow_upload = Some((16 << 10, Duration::from_millis(15))));
    let mut c = cmd(&hub, home.path(), &["upload", "out", "alice/up"]);
    c.env("HF_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = c.spawn().unwrap();
    wait_for("two stored LFS objects", Duration::from_secs(120), || {
        hub.with(|s| s.lfs.len()) >= 2
    });
    kill(child);
    let stored: Vec<String> = hub.with(|s| s.lfs.keys().cloned().collect());
    assert!(stored.len() < shards.len(), "killed too late");
    assert!(
        !hub.with(|s| s.repos["alice/up"].commits.len() > 1),
        "no commit yet"
    );

    hub.with(|s| s.slow_upload = None);
    hub.clear_log();
    let mut c = cmd(&hub, home.path(), &["upload", "out", "alice/up"]);
    c.env("HF_TOKEN", TOKEN);
    let o = run(c);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{} already there", stored.len())),
        "{}",
        text(&o)
    );
    for l in hub.log().iter().filter(|l| l.method == "PUT") {
        assert!(
            !stored.iter().any(|s| l.url.contains(s.as_str())),
            "{} sent again",
            l.url
        );
    }
    let remote = hub.head_files("alice/up");
    for s in &shards {
        let name = s.file_name().unwrap().to_str().unwrap();
        assert_eq!(remote.get(name), Some(&std::fs::read(s).unwrap()), "{name}");
    }
}
