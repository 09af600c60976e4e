//! A Hub model before and after download: resolve the revision to a commit, list the files,
//! then plan the whole conversion from `config.json` and the safetensors headers (HTTP range
//! reads of a few KiB per shard) — so an unsupported architecture, a gated repo, a missing shard
//! or a full disk stop the run in seconds, not after hours of download.
//!
//! Offline (`HF_HUB_OFFLINE`), the same steps run against the cache only.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::cache::RepoCache;
use super::client::{Client, RemoteFile};
use super::download::{self, DownloadStats};
use super::files::wanted_files;
use super::{HubSettings, check_revision, is_commit_sha};
use crate::config::{Json, apply_generation_config};
use crate::error::{Error, Result};
use crate::plan::{ConvertOptions, Plan};
use crate::safetensors::{Header, MAX_HEADER_LEN, parse_header, read_header};
use crate::source::{
    Inventory, check_has_tokenizer, check_index_files, check_index_tensors, is_listed_file,
    is_weight_file,
};

/// First bytes read from each shard: enough for the header of most checkpoints in one request.
const FIRST_READ: u64 = 256 << 10;

/// A Hub model repo at a resolved commit, with the files a conversion needs.
pub struct HubModel {
    pub repo_id: String,
    /// The revision as asked (`main` when not given).
    pub revision: String,
    /// The commit it resolved to.
    pub commit: String,
    pub cache: RepoCache,
    /// Every file of the commit (for the shared tree cache).
    pub listing: Vec<RemoteFile>,
    /// The files conversion needs (mlx-lm's allow patterns, plus README.md).
    pub files: Vec<RemoteFile>,
    /// `None` offline.
    client: Option<Client>,
    workers: usize,
}

/// The result of the preflight: the plan, and what downloading it costs.
pub struct Preflight {
    pub inventory: Inventory,
    pub plan: Plan,
    /// Needed files not yet complete in the cache.
    pub to_fetch: Vec<RemoteFile>,
    /// Bytes left to download (partial files count for what they already hold).
    pub download_bytes: u64,
}

/// Resolves `revision` (default `main`) of `repo_id` and lists its files, online or, with
/// `HF_HUB_OFFLINE`, from the cache.
pub fn open_model(
    settings: &HubSettings,
    repo_id: &str,
    revision: Option<&str>,
) -> Result<HubModel> {
    let revision = revision.unwrap_or("main").to_string();
    check_revision(&revision)?;
    let cache = RepoCache::new(&settings.cache_dir, repo_id);
    if settings.offline {
        return open_offline(settings, repo_id, revision, cache);
    }
    let client = Client::new(settings);
    let info = client.revision_info(repo_id, &revision)?;
    if info.gated && !client.has_token() {
        return Err(Error::Hub(format!(
            "{repo_id} is a gated model: you must accept its conditions and be logged in. Accept \
             them at {}, then run `hf auth login`, set HF_TOKEN, or pass --token",
            settings.repo_url(repo_id)
        )));
    }
    let commit = info.sha;
    // A commit's listing never changes: reuse the one a previous run (ours or Python's) cached.
    let listing = match cache.read_tree(&commit) {
        Some(l) => l,
        None => client.list_files(repo_id, &commit)?,
    };
    let files = wanted_files(&listing)?;
    Ok(HubModel {
        repo_id: repo_id.to_string(),
        revision,
        commit,
        cache,
        listing,
        files,
        client: Some(client),
        workers: settings.workers,
    })
}

fn open_offline(
    settings: &HubSettings,
    repo_id: &str,
    revision: String,
    cache: RepoCache,
) -> Result<HubModel> {
    let not_cached = |what: String| {
        Error::Hub(format!(
            "HF_HUB_OFFLINE is set and {what} is not in the cache ({}). Unset HF_HUB_OFFLINE to \
             download it, or point HF_HUB_CACHE/HF_HOME at the cache that holds it",
            settings.cache_dir.display()
        ))
    };
    let commit = if is_commit_sha(&revision) {
        revision.clone()
    } else {
        cache
            .read_ref(&revision)
            .ok_or_else(|| not_cached(format!("{repo_id} at `{revision}`")))?
    };
    let snapshot = cache.snapshot_dir(&commit);
    if !snapshot.is_dir() {
        return Err(not_cached(format!("{repo_id} at commit {commit}")));
    }
    let listing = match cache.read_tree(&commit) {
        Some(l) => l,
        None => snapshot_listing(&cache, &commit)?,
    };
    let files = wanted_files(&listing)?;
    let missing: Vec<&str> = files
        .iter()
        .filter(|f| !cache.pointer_path(&commit, &f.path).is_file())
        .map(|f| f.path.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Hub(format!(
            "HF_HUB_OFFLINE is set and the cached snapshot of {repo_id} ({commit}) is incomplete: \
             {} missing. Unset HF_HUB_OFFLINE to finish the download",
            missing.join(", ")
        )));
    }
    Ok(HubModel {
        repo_id: repo_id.to_string(),
        revision,
        commit,
        cache,
        listing,
        files,
        client: None,
        workers: settings.workers,
    })
}

/// Without a cached listing, the snapshot folder's own files (recursively) are the listing.
fn snapshot_listing(cache: &RepoCache, commit: &str) -> Result<Vec<RemoteFile>> {
    fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<RemoteFile>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let p = e.path();
            if p.is_dir() {
                walk(&p, &rel, out);
            } else if let Ok(m) = std::fs::metadata(&p) {
                // The blob name is the symlink target's file name.
                let blob = std::fs::read_link(&p)
                    .ok()
                    .and_then(|t| t.file_name().and_then(|n| n.to_str()).map(str::to_string))
                    .unwrap_or_default();
                let lfs = (blob.len() == 64).then(|| blob.clone());
                out.push(RemoteFile {
                    path: rel,
                    size: m.len(),
                    blob_id: blob,
                    lfs_sha256: lfs,
                    xet_hash: None,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(&cache.snapshot_dir(commit), "", &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

impl HubModel {
    /// The folder the files are (or will be) in: `snapshots/<commit>`.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.cache.snapshot_dir(&self.commit)
    }

    pub fn is_offline(&self) -> bool {
        self.client.is_none()
    }

    /// The file's complete bytes in the cache: its snapshot link, or its blob when an earlier,
    /// interrupted run finished it (links are made only once all files are there).
    fn local_copy(&self, f: &RemoteFile) -> Option<PathBuf> {
        let pointer = self.cache.pointer_path(&self.commit, &f.path);
        if pointer.is_file() {
            return Some(pointer);
        }
        let blob = self.cache.blob_path(f.etag());
        (super::cache::check_etag(f.etag(), &f.path).is_ok() && blob.is_file()).then_some(blob)
    }

    fn file(&self, name: &str) -> Option<&RemoteFile> {
        self.files.iter().find(|f| f.path == name)
    }

    /// A whole (small) file: from the snapshot if present, else over HTTP.
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(f) = self.file(name) else {
            return Ok(None);
        };
        if let Some(local) = self.local_copy(f) {
            return std::fs::read(&local)
                .map(Some)
                .map_err(|e| Error::io(&local, e));
        }
        let Some(client) = &self.client else {
            return Ok(None);
        };
        client
            .read_range(&self.repo_id, &self.commit, name, 0, f.size)
            .map(Some)
    }

    fn parse_json(&self, name: &str, bytes: &[u8]) -> Result<Json> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Error::Config {
                file: self.snapshot_dir().join(name),
                msg: format!("{name} of {} is not a JSON object", self.repo_id),
            }),
            Err(e) => Err(Error::Config {
                file: self.snapshot_dir().join(name),
                msg: format!("{name} of {} is not valid JSON ({e})", self.repo_id),
            }),
        }
    }

    /// A shard's header: read locally when cached, else with one or two Range requests.
    fn header(&self, f: &RemoteFile) -> Result<Header> {
        if let Some(local) = self.local_copy(f) {
            let file = std::fs::File::open(&local).map_err(|e| Error::io(&local, e))?;
            return read_header(&file, &local);
        }
        let bad = |msg: String| Error::Safetensors {
            file: self.snapshot_dir().join(&f.path),
            msg: format!("{msg} (read from {} on the Hub)", self.repo_id),
        };
        if let Some(h) = self.header_from_partial(f) {
            return Ok(h);
        }
        let Some(client) = &self.client else {
            return Err(bad("not in the cache".into()));
        };
        if f.size < 8 {
            return Err(bad(format!(
                "file is {} bytes, too short for a safetensors header",
                f.size
            )));
        }
        let first = client.read_range(
            &self.repo_id,
            &self.commit,
            &f.path,
            0,
            FIRST_READ.min(f.size),
        )?;
        if first.len() < 8 {
            return Err(bad("the server returned fewer than 8 bytes".into()));
        }
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&first[..8]);
        let n = u64::from_le_bytes(len8);
        if n > MAX_HEADER_LEN {
            return Err(bad(format!(
                "header length {n} exceeds the {MAX_HEADER_LEN}-byte limit"
            )));
        }
        if 8 + n > f.size {
            return Err(bad(format!(
                "header length {n} is beyond the end of the {}-byte file",
                f.size
            )));
        }
        let mut json = first[8..].to_vec();
        json.truncate(n as usize);
        if (json.len() as u64) < n {
            let rest = client.read_range(
                &self.repo_id,
                &self.commit,
                &f.path,
                first.len() as u64,
                8 + n,
            )?;
            json.extend_from_slice(&rest);
        }
        if json.len() as u64 != n {
            return Err(bad("the server returned a truncated header".into()));
        }
        parse_header(&json, f.size - 8 - n).map_err(bad)
    }

    /// The header of a shard whose interrupted download already holds it (`.incomplete`), so a
    /// resumed run asks the network only for the missing bytes. The download's sha256 check
    /// and the executor's re-validation of the plan still cover these bytes.
    fn header_from_partial(&self, f: &RemoteFile) -> Option<Header> {
        let path = self.cache.incomplete_path(f.etag());
        let mut file = std::fs::File::open(&path).ok()?;
        let have = file.metadata().ok()?.len();
        let mut len8 = [0u8; 8];
        std::io::Read::read_exact(&mut file, &mut len8).ok()?;
        let n = u64::from_le_bytes(len8);
        if n > MAX_HEADER_LEN || 8 + n > have || 8 + n > f.size {
            return None;
        }
        let mut json = vec![0u8; n as usize];
        std::io::Read::read_exact(&mut file, &mut json).ok()?;
        parse_header(&json, f.size - 8 - n).ok()
    }

    /// Plans the conversion from metadata only: config, index and shard headers.
    pub fn preflight(&self, opts: &ConvertOptions) -> Result<Preflight> {
        let dir = self.snapshot_dir();
        let label = format!("{} ({})", self.repo_id, self.commit);
        let top: BTreeSet<String> = self
            .files
            .iter()
            .filter(|f| !f.path.contains('/'))
            .map(|f| f.path.clone())
            .collect();
        let Some(config_bytes) = self.read_small("config.json")? else {
            return Err(Error::Source(format!(
                "{label} has no config.json; it is not a Hugging Face transformers model"
            )));
        };
        let mut config = self.parse_json("config.json", &config_bytes)?;
        if let Some(gen_bytes) = self.read_small("generation_config.json")?
            && let Ok(generation) = self.parse_json("generation_config.json", &gen_bytes)
        {
            apply_generation_config(&mut config, &generation);
        }
        let copied_files: Vec<String> = top.iter().filter(|n| is_listed_file(n)).cloned().collect();
        let weight_names: Vec<&String> = top.iter().filter(|n| is_weight_file(n)).collect();

        // Architecture, pre-quantized and usage errors first: they need only the config.
        let bare = Inventory {
            dir: dir.clone(),
            config: config.clone(),
            weight_files: Vec::new(),
            headers: Vec::new(),
            copied_files: copied_files.clone(),
        };
        if let Err(e) = crate::plan::build_from(opts, &bare)
            && !matches!(e, Error::Plan(_) | Error::Safetensors { .. })
        {
            return Err(e);
        }

        if weight_names.is_empty() {
            let others: Vec<&str> = self
                .listing
                .iter()
                .map(|f| f.path.as_str())
                .filter(|n| {
                    [".bin", ".pt", ".pth", ".gguf", ".safetensors"]
                        .iter()
                        .any(|e| n.ends_with(e))
                })
                .collect();
            let hint = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (found {}; only model*.safetensors weights are converted, as in mlx-lm)",
                    others.join(", ")
                )
            };
            return Err(Error::Source(format!(
                "{label} has no model*.safetensors files{hint}"
            )));
        }
        check_has_tokenizer(top.iter().map(String::as_str), &label)?;
        let index_name = "model.safetensors.index.json";
        let index_path = dir.join(index_name);
        let index = match self.read_small(index_name)? {
            Some(bytes) => {
                let index = self.parse_json(index_name, &bytes)?;
                check_index_files(&index, &top, &index_path)?;
                Some(index)
            }
            None => None,
        };

        let shards: Vec<&RemoteFile> = weight_names.iter().filter_map(|n| self.file(n)).collect();
        let headers = self.headers(&shards)?;
        let inventory = Inventory {
            dir: dir.clone(),
            config,
            weight_files: shards.iter().map(|f| dir.join(&f.path)).collect(),
            headers,
            copied_files,
        };
        if let Some(index) = &index {
            check_index_tensors(
                index,
                &index_path,
                &inventory.weight_files,
                &inventory.tensors()?,
            )?;
        }
        let plan = crate::plan::build_from(opts, &inventory)?;
        let to_fetch: Vec<RemoteFile> = self
            .files
            .iter()
            .filter(|f| !download::is_cached(&self.cache, &self.commit, f))
            .cloned()
            .collect();
        let download_bytes = download::bytes_to_fetch(&self.cache, &self.commit, &self.files);
        Ok(Preflight {
            inventory,
            plan,
            to_fetch,
            download_bytes,
        })
    }

    /// Shard headers, fetched a few at a time, in shard order.
    fn headers(&self, shards: &[&RemoteFile]) -> Result<Vec<Header>> {
        let slots: Vec<Mutex<Option<Result<Header>>>> =
            shards.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..self.workers.clamp(1, shards.len().max(1)) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = shards.get(i) else { break };
                        let h = self.header(f);
                        let failed = h.is_err();
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(h);
                        }
                        if failed {
                            next.store(shards.len(), Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let mut out = Vec::with_capacity(shards.len());
        for (slot, f) in slots.into_iter().zip(shards) {
            match slot.into_inner().ok().flatten() {
                Some(h) => out.push(h?),
                None => {
                    return Err(Error::Hub(format!(
                        "the header of {} was not read (an earlier shard failed)",
                        f.path
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Fetches every needed file into the cache (resuming partial ones) and links the snapshot.
    /// Records `refs/<revision>` and the commit's listing first, as `huggingface_hub` does.
    pub fn download(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<DownloadStats> {
        let Some(client) = &self.client else {
            // Offline: open_offline already checked that every file is in the snapshot.
            return Ok(DownloadStats {
                cached: self.files.len(),
                ..DownloadStats::default()
            });
        };
        self.cache.prepare()?;
        self.cache.write_ref(&self.revision, &self.commit)?;
        self.cache.write_tree(&self.commit, &self.listing)?;
        download::download(
            client,
            &self.cache,
            &self.repo_id,
            &self.commit,
            &self.files,
            self.workers,
            progress,
        )
    }

    /// The source repo's README.md after download (its front matter goes into the new card).
    pub fn original_card(&self) -> Option<String> {
        let p = self.cache.pointer_path(&self.commit, "README.md");
        std::fs::read_to_string(p).ok()
    }
}
