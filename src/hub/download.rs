//! Fetches repo files into the cache: a few files at a time, each resumable (the partial blob is
//! `blobs/<etag>.incomplete`, continued with `Range: bytes=N-`), LFS files verified against their
//! sha256 and small files against their git blob id, and the snapshot's symlinks created only
//! once every file is complete, so an interrupted run never leaves a snapshot that looks like a
//! whole model.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use ureq::http::StatusCode;

use super::cache::{RepoCache, check_etag};
use super::client::{Client, Ctx, RemoteFile};
use crate::error::{Error, IoContext, Result};

/// Consecutive failed attempts (no new byte received) before a file's download gives up, as
/// `huggingface_hub`'s `http_get`.
const MAX_RETRIES: u32 = 5;
const CHUNK: usize = 1 << 20;

/// What a download did.
#[derive(Clone, Debug, Default)]
pub struct DownloadStats {
    /// Files whose bytes were transferred (fully or the rest of a partial file).
    pub fetched: Vec<String>,
    /// Bytes transferred in this run.
    pub bytes: u64,
    /// Files found complete in the cache.
    pub cached: usize,
}

/// Whether `file` is already complete in the cache (snapshot pointer or blob present).
pub fn is_cached(cache: &RepoCache, commit: &str, file: &RemoteFile) -> bool {
    cache.pointer_path(commit, &file.path).is_file() || cache.blob_path(file.etag()).is_file()
}

/// Bytes still to transfer for `files` (partial blobs count for what they hold).
pub fn bytes_to_fetch(cache: &RepoCache, commit: &str, files: &[RemoteFile]) -> u64 {
    files
        .iter()
        .filter(|f| !is_cached(cache, commit, f))
        .map(|f| {
            let have = fs::metadata(cache.incomplete_path(f.etag()))
                .map(|m| m.len())
                .unwrap_or(0);
            f.size.saturating_sub(have.min(f.size))
        })
        .sum()
}

/// Downloads `files` of `repo` at `commit` into the cache and links them into the snapshot.
/// `progress(done, total)` counts bytes of this run.
pub fn download(
    client: &Client,
    cache: &RepoCache,
    repo: &str,
    commit: &str,
    files: &[RemoteFile],
    workers: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DownloadStats> {
    cache.prepare()?;
    let mut todo: Vec<&RemoteFile> = files
        .iter()
        .filter(|f| !is_cached(cache, commit, f))
        .collect();
    // Largest first: the long transfers start early and the small files fill the gaps.
    todo.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    let total = bytes_to_fetch(cache, commit, files);
    let done = AtomicU64::new(0);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let fetched: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    let add = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        progress(d.min(total), total);
    };
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, todo.len().max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = todo.get(i) else { break };
                    match fetch_one(client, cache, repo, commit, f, &add) {
                        Ok(n) => {
                            if let Ok(mut v) = fetched.lock() {
                                v.push((f.path.clone(), n));
                            }
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = first_error.lock()
                                && slot.is_none()
                            {
                                *slot = Some(e);
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    link_snapshot(cache, commit, files)?;
    let fetched = fetched.into_inner().unwrap_or_default();
    Ok(DownloadStats {
        bytes: fetched.iter().map(|(_, n)| n).sum(),
        cached: files.len() - fetched.len(),
        fetched: fetched.into_iter().map(|(p, _)| p).collect(),
    })
}

/// Creates the snapshot symlinks once all blobs are present: weights first, `config.json` last,
/// so even a crash during linking leaves no folder that a loader would take for a model.
pub fn link_snapshot(cache: &RepoCache, commit: &str, files: &[RemoteFile]) -> Result<()> {
    let mut order: Vec<&RemoteFile> = files.iter().collect();
    order.sort_by_key(|f| match f.path.as_str() {
        "config.json" => 2,
        p if p.ends_with(".safetensors") => 0,
        _ => 1,
    });
    for f in order {
        let pointer = cache.pointer_path(commit, &f.path);
        if pointer.is_file() {
            continue;
        }
        let etag = f.etag();
        if !cache.blob_path(etag).is_file() {
            return Err(Error::Hub(format!(
                "{} is missing from the cache after its download; run again",
                f.path
            )));
        }
        cache.link(commit, &f.path, etag)?;
    }
    Ok(())
}

/// Downloads one file into `blobs/<etag>`, resuming a partial blob. Returns bytes transferred.
fn fetch_one(
    client: &Client,
    cache: &RepoCache,
    repo: &str,
    commit: &str,
    file: &RemoteFile,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    let ctx = Ctx {
        repo,
        revision: commit,
        file: Some(&file.path),
    };
    let meta = client.file_meta(repo, commit, &file.path)?;
    check_etag(&meta.etag, &file.path)?;
    if meta.etag != file.etag() {
        return Err(Error::Hub(format!(
            "the Hub reports two different versions of {} at commit {commit} (listing {}, file {}); \
             run again",
            file.path,
            file.etag(),
            meta.etag
        )));
    }
    let size = meta.size.unwrap_or(file.size);
    let blob = cache.blob_path(&meta.etag);
    let _lock = cache.lock_blob(&meta.etag)?;
    if blob.is_file() {
        return Ok(0); // another process finished it while we waited for the lock
    }
    let part_path = cache.incomplete_path(&meta.etag);
    let mut part = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&part_path)
        .at(&part_path)?;
    let mut offset = part.metadata().at(&part_path)?.len();
    if offset > size {
        part.set_len(0).at(&part_path)?;
        offset = 0;
    }
    let verify = file.lfs_sha256.is_some();
    let mut hasher = Sha256::new();
    if verify && offset > 0 {
        hash_prefix(&mut part, offset, &mut hasher).at(&part_path)?;
    }
    part.seek(SeekFrom::Start(offset)).at(&part_path)?;
    let mut transferred = 0u64;
    let mut retries = 0;
    let mut buf = vec![0u8; CHUNK];
    while offset < size {
        let resp = client.send_get(&meta.location, (offset > 0).then_some((offset, None)));
        let resp = match resp {
            Ok(r) => r,
            Err(_) if retries < MAX_RETRIES => {
                retries += 1;
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
            Err(e) => return Err(e),
        };
        let status = resp.status();
        let resp = client.check(resp, ctx)?;
        if offset > 0 && status == StatusCode::OK {
            // The server ignored Range: start over rather than append a second copy.
            part.set_len(0).at(&part_path)?;
            part.seek(SeekFrom::Start(0)).at(&part_path)?;
            offset = 0;
            hasher = Sha256::new();
        } else if status == StatusCode::PARTIAL_CONTENT {
            let start = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(offset) {
                return Err(Error::Hub(format!(
                    "the server answered a resumed download of {} from the wrong position; \
                     delete {} and run again",
                    file.path,
                    part_path.display()
                )));
            }
        } else if status != StatusCode::OK {
            return Err(Error::Hub(format!(
                "unexpected HTTP {} while downloading {} of {repo}",
                status.as_u16(),
                file.path
            )));
        }
        let mut reader = resp.into_body().into_reader();
        let before = offset;
        let outcome: std::io::Result<()> = loop {
            let want = CHUNK.min((size - offset) as usize);
            if want == 0 {
                break Ok(());
            }
            match reader.read(&mut buf[..want]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    part.write_all(&buf[..n]).at(&part_path)?;
                    if verify {
                        hasher.update(&buf[..n]);
                    }
                    offset += n as u64;
                    transferred += n as u64;
                    progress(n as u64);
                }
                Err(e) => break Err(e),
            }
        };
        if offset > before {
            retries = 0;
        }
        match outcome {
            Ok(()) if offset == size => {}
            Ok(()) | Err(_) if retries < MAX_RETRIES => {
                retries += 1;
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Ok(()) => {
                return Err(Error::Hub(format!(
                    "the download of {} stopped at {offset} of {size} bytes; run again to resume",
                    file.path
                )));
            }
            Err(e) => {
                return Err(Error::Hub(format!(
                    "downloading {} failed at {offset} of {size} bytes ({e}); run again to resume",
                    file.path
                )));
            }
        }
    }
    part.sync_all().at(&part_path)?;
    if let Some(expected) = &file.lfs_sha256 {
        let got = hex(&hasher.finalize());
        if !got.eq_ignore_ascii_case(expected) {
            drop(part);
            let _ = fs::remove_file(&part_path);
            return Err(Error::Hub(format!(
                "{} of {repo} is corrupt: sha256 {got}, expected {expected}. The partial file was \
                 removed; run again",
                file.path
            )));
        }
    }
    if file.lfs_sha256.is_none() && is_git_oid(&file.blob_id) {
        let got = git_blob_id(&mut part, size).at(&part_path)?;
        if !got.eq_ignore_ascii_case(&file.blob_id) {
            drop(part);
            let _ = fs::remove_file(&part_path);
            return Err(Error::Hub(format!(
                "{} of {repo} is corrupt: git blob id {got}, expected {}. The partial file was \
                 removed; run again",
                file.path, file.blob_id
            )));
        }
    }
    drop(part);
    fs::rename(&part_path, &blob).at(&blob)?;
    Ok(transferred)
}

fn is_git_oid(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Git's blob id: sha1 of `blob <len>\0` followed by the contents. Non-LFS files are small
/// (config, tokenizer, card), so hashing them again after the download costs nothing.
fn git_blob_id(f: &mut File, len: u64) -> std::io::Result<String> {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {len}\0").as_bytes());
    hash_prefix(f, len, &mut h)?;
    Ok(hex(&h.finalize()))
}

/// Feeds the first `len` bytes of `f` to `hasher` (sha256 for LFS resumes, sha1 for git ids).
fn hash_prefix(f: &mut File, len: u64, hasher: &mut impl Digest) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(0))?;
    let mut r = f.take(len);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
