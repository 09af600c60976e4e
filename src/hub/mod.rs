//! Hugging Face Hub sources and uploads: a small synchronous client on `ureq`, the Python
//! `huggingface_hub` cache layout (so either tool reuses the other's downloads), a preflight that
//! plans the conversion from `config.json` and HTTP range reads of the safetensors headers before
//! any weight byte is fetched, resumable verified downloads, and uploads through the commit API.
//!
//! Environment variables follow `huggingface_hub`: `HF_ENDPOINT`, `HF_TOKEN`, `HF_TOKEN_PATH`,
//! `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_HUB_DOWNLOAD_TIMEOUT`,
//! `HF_HUB_DISABLE_IMPLICIT_TOKEN`.
//!
//! The token is held in [`Token`], whose `Debug`/`Display` never show it; it is only ever put in
//! an `Authorization` header sent to the endpoint's own host (never across a redirect to a CDN).

mod cache;
mod client;
mod disk;
mod download;
mod files;
mod models;
mod preflight;
mod run;
mod upload;

use std::path::{Path, PathBuf};

pub use cache::RepoCache;
pub use client::{Client, RemoteFile};
pub use disk::{device_of, free_space};
pub use download::DownloadStats;
pub use files::{DEFAULT_ALLOW_PATTERNS, check_repo_path, fnmatch, wanted_files};
pub use models::{
    DEFAULT_MODELS_DIR, LocalModel, Precision, format_list, list_models, models_dir,
    parse_precision,
};
pub use preflight::{HubModel, Preflight, open_model};
pub use run::{HubRun, convert, redacted_command_line, upload_command};
pub use upload::{UploadReport, upload_folder};

use crate::error::{Error, Result};

/// The public Hub, used when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A Hub access token. Deliberately opaque: it cannot be printed or logged by accident.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Trims whitespace and newlines like `huggingface_hub`'s `_clean_token`; empty → none.
    pub fn new(raw: &str) -> Option<Token> {
        let t = raw.replace(['\r', '\n'], "");
        let t = t.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }

    /// The `Authorization` header value. Only the HTTP client calls this.
    fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where the token came from, so error messages can say what to fix without showing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Flag,
    Env,
    File,
}

impl TokenSource {
    pub fn describe(self) -> &'static str {
        match self {
            TokenSource::Flag => "--token",
            TokenSource::Env => "HF_TOKEN",
            TokenSource::File => "the token file written by `hf auth login`",
        }
    }
}

/// How to reach the Hub and where the shared cache is, resolved once from flags and environment.
#[derive(Clone, Debug)]
pub struct HubSettings {
    /// Without a trailing slash, e.g. `https://huggingface.co`.
    pub endpoint: String,
    pub token: Option<(Token, TokenSource)>,
    /// The hub cache folder (`HF_HUB_CACHE`, else `$HF_HOME/hub`).
    pub cache_dir: PathBuf,
    /// `HF_HUB_OFFLINE`: use only what is cached, never open a connection.
    pub offline: bool,
    /// Seconds without data before a download read gives up and is retried
    /// (`HF_HUB_DOWNLOAD_TIMEOUT`, default 10 as in `huggingface_hub`).
    pub read_timeout_secs: u64,
    /// Files downloaded at the same time.
    pub workers: usize,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `huggingface_hub`'s `_is_true`: 1, ON, YES, TRUE (any case).
fn env_true(name: &str) -> bool {
    env_nonempty(name)
        .is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"))
}

/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
pub fn hf_home() -> PathBuf {
    if let Some(h) = env_nonempty("HF_HOME") {
        return expand_home(&h);
    }
    let cache = env_nonempty("XDG_CACHE_HOME")
        .map(|x| expand_home(&x))
        .unwrap_or_else(|| home_dir().join(".cache"));
    cache.join("huggingface")
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home_dir().join(rest),
        None if p == "~" => home_dir(),
        None => PathBuf::from(p),
    }
}

impl HubSettings {
    /// Reads the environment. `token_flag` (from `--token`) wins over `HF_TOKEN`, which wins over
    /// the token file (`HF_TOKEN_PATH`, else `$HF_HOME/token`).
    pub fn from_env(token_flag: Option<&str>) -> HubSettings {
        let endpoint = env_nonempty("HF_ENDPOINT")
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let cache_dir = env_nonempty("HF_HUB_CACHE")
            .or_else(|| env_nonempty("HUGGINGFACE_HUB_CACHE"))
            .map(|p| expand_home(&p))
            .unwrap_or_else(|| hf_home().join("hub"));
        let token = match token_flag.and_then(Token::new) {
            Some(t) => Some((t, TokenSource::Flag)),
            None if env_true("HF_HUB_DISABLE_IMPLICIT_TOKEN") => None,
            None => {
                let env = env_nonempty("HF_TOKEN")
                    .or_else(|| env_nonempty("HUGGING_FACE_HUB_TOKEN"))
                    .and_then(|t| Token::new(&t))
                    .map(|t| (t, TokenSource::Env));
                env.or_else(|| {
                    let path = env_nonempty("HF_TOKEN_PATH")
                        .map(|p| expand_home(&p))
                        .unwrap_or_else(|| hf_home().join("token"));
                    std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| Token::new(&t))
                        .map(|t| (t, TokenSource::File))
                })
            }
        };
        let offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
        let read_timeout_secs = env_nonempty("HF_HUB_DOWNLOAD_TIMEOUT")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .map(|v| v.ceil() as u64)
            .unwrap_or(10);
        HubSettings {
            endpoint,
            token,
            cache_dir,
            offline,
            read_timeout_secs,
            workers: 4,
        }
    }

    /// A web page of the repo, for messages ("accept the license at …").
    pub fn repo_url(&self, repo_id: &str) -> String {
        format!("{}/{repo_id}", self.endpoint)
    }
}

/// Whether `s` is shaped like a Hub model id `ORG/NAME` (the rules of `huggingface_hub`'s
/// `validate_repo_id`: letters, digits, `-`, `_`, `.`; no `--` or `..`; at most 96 characters
/// per part; neither part starts or ends with `-` or `.`).
pub fn is_repo_id(s: &str) -> bool {
    let Some((org, name)) = s.split_once('/') else {
        return false;
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 96
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !p.starts_with(['-', '.'])
            && !p.ends_with(['-', '.'])
    };
    part_ok(org) && part_ok(name) && !s.contains("--") && !s.contains("..") && !s.ends_with(".git")
}

/// The source of a conversion: a local folder, or a Hub repo when the argument is not an existing
/// path and looks like `ORG/NAME`.
pub fn classify_source(arg: &Path) -> Result<Option<String>> {
    if arg.exists() {
        return Ok(None);
    }
    let s = arg.to_string_lossy();
    if is_repo_id(&s) {
        return Ok(Some(s.into_owned()));
    }
    Err(Error::Source(format!(
        "{s} is neither an existing folder nor a Hugging Face repo id (ORG/NAME). Give --hf-path \
         a local checkpoint folder or a Hub id such as Qwen/Qwen2.5-0.5B-Instruct"
    )))
}

/// Checks a revision given with `--revision` before it is used in a URL or a cache path
/// (`refs/<revision>`): branch, tag, `refs/pr/N` or a commit sha.
pub fn check_revision(rev: &str) -> Result<()> {
    let bad = rev.is_empty()
        || rev.starts_with('/')
        || rev.ends_with('/')
        || rev
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || rev.chars().any(|c| c.is_control() || c == '\\' || c == ' ');
    if bad {
        return Err(Error::Usage(format!(
            "--revision `{rev}` is not a branch, tag or commit id"
        )));
    }
    Ok(())
}

/// A 40-hex-digit git commit id, as the Hub reports resolved revisions.
pub fn is_commit_sha(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids() {
        assert!(is_repo_id("Qwen/Qwen2.5-0.5B-Instruct"));
        assert!(is_repo_id("mlx-community/Llama-3.2-1B-Instruct-4bit"));
        assert!(!is_repo_id("gpt2"));
        assert!(!is_repo_id("./models/x"));
        assert!(!is_repo_id("a/b/c"));
        assert!(!is_repo_id("org/../x"));
        assert!(!is_repo_id("org/-x"));
        assert!(!is_repo_id("org/x--y"));
        assert!(!is_repo_id("/abs"));
    }

    #[test]
    fn revisions() {
        for ok in [
            "main",
            "v1.0",
            "refs/pr/1",
            "0123456789abcdef0123456789abcdef01234567",
        ] {
            assert!(check_revision(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/../b", "/main", "a b", "x\n"] {
            assert!(check_revision(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_is_cleaned_and_never_shown() {
        let t = Token::new("  hf_secret\r\n").unwrap();
        assert_eq!(t.bearer(), "Bearer hf_secret");
        assert!(!format!("{t:?}").contains("secret"));
        assert!(Token::new(" \n").is_none());
    }
}
