//! Uploads a converted model folder as one commit, the way `huggingface_hub` does without Xet:
//! create the repo if needed, ask `preupload` which files go through LFS, send LFS objects with
//! the batch API (basic single PUT, or multipart when the Hub asks for it), then commit every file
//! with the NDJSON commit API.
//!
//! Resuming: LFS objects the Hub already holds come back from the batch API without an upload
//! action and are skipped, so rerunning after an interruption sends only what is missing.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::HubSettings;
use super::client::{Client, Ctx};
use super::download::hex;
use super::files::check_repo_path;
use crate::error::{Error, IoContext, Result};

const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// What an upload did.
#[derive(Clone, Debug)]
pub struct UploadReport {
    pub commit_url: Option<String>,
    pub commit_oid: Option<String>,
    /// LFS files sent in this run.
    pub lfs_uploaded: Vec<String>,
    /// LFS files the Hub already had (from an earlier, interrupted run, or identical content).
    pub lfs_skipped: Vec<String>,
    /// Files committed inline (small text files).
    pub regular: Vec<String>,
}

struct LocalFile {
    path_in_repo: String,
    abs: PathBuf,
    size: u64,
    sha256: String,
    sample: Vec<u8>,
}

/// Uploads every file of `folder` to the model repo `repo_id` (created if missing, public unless
/// `private`) as one commit on `main`. `progress(done, total)` counts LFS bytes sent.
pub fn upload_folder(
    settings: &HubSettings,
    folder: &Path,
    repo_id: &str,
    private: bool,
    message: &str,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<UploadReport> {
    if settings.offline {
        return Err(Error::Hub(
            "HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it to use --upload-repo"
                .into(),
        ));
    }
    if settings.token.is_none() {
        return Err(Error::Hub(format!(
            "uploading to {repo_id} needs a token with write access: run `hf auth login`, set \
             HF_TOKEN, or pass --token (create one at {}/settings/tokens)",
            settings.endpoint
        )));
    }
    let client = Client::new(settings);
    let ctx = Ctx {
        repo: repo_id,
        revision: "main",
        file: None,
    };
    create_repo(&client, repo_id, private)?;
    let files = collect(folder)?;
    let modes = preupload(&client, repo_id, &files, ctx)?;
    let lfs: Vec<&LocalFile> = files
        .iter()
        .filter(|f| modes.get(&f.path_in_repo).map(String::as_str) == Some("lfs") && f.size > 0)
        .collect();
    let (lfs_uploaded, lfs_skipped) = upload_lfs(&client, repo_id, &lfs, progress, ctx)?;

    // The commit: LFS pointers by oid, small files inline as base64.
    let mut body = String::new();
    let header = json!({"key": "header", "value": {"summary": message, "description": ""}});
    body.push_str(&header.to_string());
    body.push('\n');
    let mut regular = Vec::new();
    for f in &files {
        let line = if lfs.iter().any(|l| l.path_in_repo == f.path_in_repo) {
            json!({"key": "lfsFile", "value": {"path": f.path_in_repo, "algo": "sha256", "oid": f.sha256, "size": f.size}})
        } else {
            let content = std::fs::read(&f.abs).at(&f.abs)?;
            regular.push(f.path_in_repo.clone());
            json!({"key": "file", "value": {"content": base64(&content), "path": f.path_in_repo, "encoding": "base64"}})
        };
        body.push_str(&line.to_string());
        body.push('\n');
    }
    let url = format!("{}/api/models/{repo_id}/commit/main", client.endpoint);
    let (_, answer) = client.post_json(&url, "application/x-ndjson", body.as_bytes(), ctx)?;
    Ok(UploadReport {
        commit_url: answer
            .get("commitUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        commit_oid: answer
            .get("commitOid")
            .and_then(Value::as_str)
            .map(str::to_string),
        lfs_uploaded,
        lfs_skipped,
        regular,
    })
}

/// `POST /api/repos/create`; an existing repo (409) is fine.
fn create_repo(client: &Client, repo_id: &str, private: bool) -> Result<()> {
    let (org, name) = repo_id.split_once('/').unwrap_or(("", repo_id));
    let mut payload = json!({"name": name, "organization": org});
    if private {
        payload["visibility"] = json!("private");
    }
    let url = format!("{}/api/repos/create", client.endpoint);
    let (status, headers, _) = client.post_json_status(&url, payload.to_string().as_bytes())?;
    match status {
        200..=299 | 409 => Ok(()),
        _ => Err(Error::Hub(format!(
            "cannot create {repo_id}: {}. The token needs write access to the `{org}` namespace",
            client.describe_status(
                status,
                &headers,
                Ctx {
                    repo: repo_id,
                    revision: "main",
                    file: None
                }
            )
        ))),
    }
}

/// Every regular file under `folder` (hidden files and folders skipped), hashed.
fn collect(folder: &Path) -> Result<Vec<LocalFile>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .at(dir)?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let p = e.path();
            if p.is_dir() {
                walk(&p, &rel, out)?;
            } else if p.is_file() {
                out.push((rel, p));
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(folder, "", &mut paths)?;
    if paths.is_empty() {
        return Err(Error::Hub(format!(
            "{} has no files to upload",
            folder.display()
        )));
    }
    let mut out = Vec::with_capacity(paths.len());
    for (rel, abs) in paths {
        check_repo_path(&rel)?;
        let mut f = File::open(&abs).at(&abs)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut sample = Vec::new();
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).at(&abs)?;
            if n == 0 {
                break;
            }
            if sample.len() < 512 {
                let take = (512 - sample.len()).min(n);
                sample.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        out.push(LocalFile {
            path_in_repo: rel,
            abs,
            size,
            sha256: hex(&hasher.finalize()),
            sample,
        });
    }
    Ok(out)
}

/// `POST /api/models/<repo>/preupload/main`, 256 files at a time: `lfs` or `regular` per path.
fn preupload(
    client: &Client,
    repo_id: &str,
    files: &[LocalFile],
    ctx: Ctx<'_>,
) -> Result<std::collections::HashMap<String, String>> {
    let url = format!("{}/api/models/{repo_id}/preupload/main", client.endpoint);
    let mut modes = std::collections::HashMap::new();
    for chunk in files.chunks(256) {
        let payload = json!({"files": chunk.iter().map(|f| json!({
            "path": f.path_in_repo,
            "sample": base64(&f.sample),
            "size": f.size,
        })).collect::<Vec<_>>()});
        let (_, answer) = client.post_json(
            &url,
            "application/json",
            payload.to_string().as_bytes(),
            ctx,
        )?;
        let list = answer
            .get("files")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::Hub(format!(
                    "{} sent a malformed preupload answer",
                    client.endpoint
                ))
            })?;
        for f in list {
            if let (Some(p), Some(m)) = (
                f.get("path").and_then(Value::as_str),
                f.get("uploadMode").and_then(Value::as_str),
            ) {
                modes.insert(p.to_string(), m.to_string());
            }
        }
    }
    for f in files {
        if !modes.contains_key(&f.path_in_repo) {
            return Err(Error::Hub(format!(
                "{} did not say how to upload {}",
                client.endpoint, f.path_in_repo
            )));
        }
    }
    Ok(modes)
}

/// Sends the LFS objects the Hub does not have yet. Returns (uploaded, skipped) paths.
fn upload_lfs(
    client: &Client,
    repo_id: &str,
    files: &[&LocalFile],
    progress: &(dyn Fn(u64, u64) + Sync),
    ctx: Ctx<'_>,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut uploaded, mut skipped) = (Vec::new(), Vec::new());
    if files.is_empty() {
        return Ok((uploaded, skipped));
    }
    let url = format!("{}/{repo_id}.git/info/lfs/objects/batch", client.endpoint);
    let mut todo: Vec<(&LocalFile, Value)> = Vec::new();
    for chunk in files.chunks(256) {
        let payload = json!({
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": chunk.iter().map(|f| json!({"oid": f.sha256, "size": f.size})).collect::<Vec<_>>(),
            "hash_algo": "sha256",
            "ref": {"name": "main"},
        });
        let (_, answer) = client.post_json(&url, LFS_JSON, payload.to_string().as_bytes(), ctx)?;
        let objects = answer
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::Hub(format!(
                    "{} sent a malformed LFS batch answer",
                    client.endpoint
                ))
            })?;
        for f in chunk {
            let obj = objects
                .iter()
                .find(|o| o.get("oid").and_then(Value::as_str) == Some(f.sha256.as_str()))
                .ok_or_else(|| {
                    Error::Hub(format!("the LFS batch answer lacks {}", f.path_in_repo))
                })?;
            if let Some(err) = obj.get("error") {
                return Err(Error::Hub(format!(
                    "the Hub refused {}: {}",
                    f.path_in_repo,
                    err.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("LFS error")
                )));
            }
            match obj.get("actions") {
                Some(a) if a.get("upload").is_some() => todo.push((f, a.clone())),
                _ => skipped.push(f.path_in_repo.clone()),
            }
        }
    }
    let total: u64 = todo.iter().map(|(f, _)| f.size).sum();
    let mut done = 0u64;
    for (f, actions) in todo {
        let upload = &actions["upload"];
        let href = upload.get("href").and_then(Value::as_str).ok_or_else(|| {
            Error::Hub(format!(
                "the LFS upload action for {} has no href",
                f.path_in_repo
            ))
        })?;
        let header = upload.get("header").and_then(Value::as_object);
        let chunk_size = header.and_then(|h| h.get("chunk_size")).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        let mut file = File::open(&f.abs).at(&f.abs)?;
        match (chunk_size, header) {
            (Some(chunk), Some(h)) if chunk > 0 => {
                let mut parts: Vec<(u64, &str)> = h
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse::<u64>().ok()?, v.as_str()?)))
                    .collect();
                parts.sort_by_key(|p| p.0);
                if parts.len() as u64 != f.size.div_ceil(chunk) {
                    return Err(Error::Hub(format!(
                        "the Hub's multipart plan for {} does not match its size",
                        f.path_in_repo
                    )));
                }
                let mut etags = Vec::new();
                for (i, (num, part_url)) in parts.iter().enumerate() {
                    let start = i as u64 * chunk;
                    let len = chunk.min(f.size - start);
                    file.seek(SeekFrom::Start(start)).at(&f.abs)?;
                    let mut r = (&mut file).take(len);
                    let (status, headers, _) = client.put_reader(part_url, len, &mut r, &[])?;
                    if !(200..300).contains(&status) {
                        return Err(Error::Hub(format!(
                            "uploading part {num} of {} failed (HTTP {status}); run again to resume",
                            f.path_in_repo
                        )));
                    }
                    let etag = headers
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .filter(|e| !e.is_empty())
                        .ok_or_else(|| {
                            Error::Hub(format!("part {num} of {} got no ETag", f.path_in_repo))
                        })?;
                    etags.push(json!({"partNumber": num, "etag": etag}));
                    done += len;
                    progress(done, total);
                }
                let body = json!({"oid": f.sha256, "parts": etags});
                client.post_json(href, LFS_JSON, body.to_string().as_bytes(), ctx)?;
            }
            _ => {
                let extra: Vec<(String, String)> = header
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let (status, headers, _) = client.put_reader(href, f.size, &mut file, &extra)?;
                if !(200..300).contains(&status) {
                    return Err(Error::Hub(format!(
                        "uploading {} failed: {}; run again to resume",
                        f.path_in_repo,
                        client.describe_status(status, &headers, ctx)
                    )));
                }
                done += f.size;
                progress(done, total);
            }
        }
        if let Some(verify) = actions
            .get("verify")
            .and_then(|v| v.get("href"))
            .and_then(Value::as_str)
        {
            let body = json!({"oid": f.sha256, "size": f.size});
            client.post_json(verify, LFS_JSON, body.to_string().as_bytes(), ctx)?;
        }
        uploaded.push(f.path_in_repo.clone());
    }
    Ok((uploaded, skipped))
}

/// Standard base64 with padding (RFC 4648), for inline commit files and preupload samples.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
