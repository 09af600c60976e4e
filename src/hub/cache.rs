//! The Hugging Face cache, in exactly the layout of Python `huggingface_hub`, so each tool uses
//! the other's downloads:
//!
//! ```text
//! <cache>/models--org--name/blobs/<etag>                 file contents (git sha1 or LFS sha256)
//!                          blobs/<etag>.incomplete      a download in progress (resumed with Range)
//!                          snapshots/<commit>/<path>    relative symlinks to ../../blobs/<etag>
//!                          refs/<revision>              the commit a branch or tag resolved to
//!                          trees/<commit>.json          the file listing (huggingface_hub ≥ 2.x)
//! <cache>/.locks/models--org--name/<etag>.lock          flock held while a blob is written
//! ```

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::client::RemoteFile;
use crate::error::{Error, IoContext, Result};

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// One model repo's folder in the cache.
#[derive(Clone, Debug)]
pub struct RepoCache {
    pub cache_dir: PathBuf,
    pub repo_dir: PathBuf,
    folder_name: String,
}

/// Blob names come from server headers: accept only what the Hub sends (hex digests), so a
/// hostile server cannot write outside `blobs/`.
pub fn check_etag(etag: &str, file: &str) -> Result<()> {
    let ok = matches!(etag.len(), 40 | 64) && etag.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(Error::Hub(format!(
            "the Hub sent an unexpected ETag `{etag}` for {file}; refusing to use it as a cache file name"
        )))
    }
}

impl RepoCache {
    pub fn new(cache_dir: &Path, repo_id: &str) -> RepoCache {
        let folder_name = format!("models--{}", repo_id.replace('/', "--"));
        RepoCache {
            cache_dir: cache_dir.to_path_buf(),
            repo_dir: cache_dir.join(&folder_name),
            folder_name,
        }
    }

    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.repo_dir.join("snapshots").join(commit)
    }

    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.repo_dir.join("blobs").join(etag)
    }

    pub fn incomplete_path(&self, etag: &str) -> PathBuf {
        self.repo_dir
            .join("blobs")
            .join(format!("{etag}.incomplete"))
    }

    /// `snapshots/<commit>/<path>` (path already checked by `check_repo_path`).
    pub fn pointer_path(&self, commit: &str, path: &str) -> PathBuf {
        let mut p = self.snapshot_dir(commit);
        for part in path.split('/') {
            p.push(part);
        }
        p
    }

    /// The commit a branch or tag resolved to last time (`refs/<revision>`).
    pub fn read_ref(&self, revision: &str) -> Option<String> {
        let text = fs::read_to_string(self.repo_dir.join("refs").join(revision)).ok()?;
        let sha = text.trim().to_string();
        super::is_commit_sha(&sha).then_some(sha)
    }

    /// Records `refs/<revision>` atomically (temporary file + rename), as `huggingface_hub` does;
    /// nothing is written for a revision that already is a commit id.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<()> {
        if revision == commit {
            return Ok(());
        }
        let path = self.repo_dir.join("refs").join(revision);
        if fs::read_to_string(&path).is_ok_and(|t| t == commit) {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.repo_dir).to_path_buf();
        fs::create_dir_all(&dir).at(&dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("ref"),
            std::process::id()
        ));
        fs::write(&tmp, commit).at(&tmp)?;
        fs::rename(&tmp, &path).at(&path)
    }

    /// Creates the cache folders and the CACHEDIR.TAG backup tools look for.
    pub fn prepare(&self) -> Result<()> {
        for d in [
            self.repo_dir.join("blobs"),
            self.cache_dir.join(".locks").join(&self.folder_name),
        ] {
            fs::create_dir_all(&d).at(&d)?;
        }
        let tag = self.cache_dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = fs::write(&tag, CACHEDIR_TAG);
        }
        Ok(())
    }

    /// Takes the per-blob lock `huggingface_hub` uses (`flock` on
    /// `.locks/models--org--name/<etag>.lock`), so two processes — ours or Python's — never write
    /// the same blob at once. Released when the returned file is dropped.
    pub fn lock_blob(&self, etag: &str) -> Result<File> {
        let dir = self.cache_dir.join(".locks").join(&self.folder_name);
        fs::create_dir_all(&dir).at(&dir)?;
        let path = dir.join(format!("{etag}.lock"));
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        f.lock().at(&path)?;
        Ok(f)
    }

    /// Points `snapshots/<commit>/<path>` at its blob with a relative symlink (as
    /// `_create_symlink`), replacing whatever was there.
    pub fn link(&self, commit: &str, path: &str, etag: &str) -> Result<()> {
        let pointer = self.pointer_path(commit, path);
        let parent = pointer.parent().unwrap_or(&self.repo_dir).to_path_buf();
        fs::create_dir_all(&parent).at(&parent)?;
        let depth = path.split('/').count() + 1; // snapshots/<commit>/[dirs/]file
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        if fs::symlink_metadata(&pointer).is_ok() {
            if fs::read_link(&pointer).is_ok_and(|t| t == target) {
                return Ok(());
            }
            fs::remove_file(&pointer).at(&pointer)?;
        }
        symlink(&target, &pointer)
    }

    fn tree_path(&self, commit: &str) -> PathBuf {
        self.repo_dir.join("trees").join(format!("{commit}.json"))
    }

    /// Writes `trees/<commit>.json` in `huggingface_hub`'s format (version 1), so its offline
    /// `snapshot_download` can tell a complete snapshot from a partial one, and so can we.
    pub fn write_tree(&self, commit: &str, files: &[RemoteFile]) -> Result<()> {
        let mut sorted: Vec<&RemoteFile> = files.iter().collect();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        let mut map = Map::new();
        for f in sorted {
            let mut e = Map::new();
            e.insert("size".into(), Value::from(f.size));
            e.insert("blob_id".into(), Value::from(f.blob_id.clone()));
            if let Some(sha) = &f.lfs_sha256 {
                e.insert("lfs_sha256".into(), Value::from(sha.clone()));
                e.insert("lfs_size".into(), Value::from(f.size));
            }
            if let Some(x) = &f.xet_hash {
                e.insert("xet_hash".into(), Value::from(x.clone()));
            }
            map.insert(f.path.clone(), Value::Object(e));
        }
        let mut root = Map::new();
        root.insert("format_version".into(), Value::from(1));
        root.insert("files".into(), Value::Object(map));
        let text = serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default();
        let path = self.tree_path(commit);
        let dir = path.parent().unwrap_or(&self.repo_dir).to_path_buf();
        fs::create_dir_all(&dir).at(&dir)?;
        let tmp = dir.join(format!(".{commit}.{}.tmp", std::process::id()));
        fs::write(&tmp, text).at(&tmp)?;
        fs::rename(&tmp, &path).at(&path)
    }

    /// Reads `trees/<commit>.json` if a previous download (ours or Python's) left one.
    pub fn read_tree(&self, commit: &str) -> Option<Vec<RemoteFile>> {
        let bytes = fs::read(self.tree_path(commit)).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        if v.get("format_version")?.as_u64()? != 1 {
            return None;
        }
        let files = v.get("files")?.as_object()?;
        let mut out = Vec::with_capacity(files.len());
        for (path, e) in files {
            out.push(RemoteFile {
                path: path.clone(),
                size: e.get("size")?.as_u64()?,
                blob_id: e.get("blob_id")?.as_str()?.to_string(),
                lfs_sha256: e
                    .get("lfs_sha256")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                xet_hash: e
                    .get("xet_hash")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        Some(out)
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link).at(link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> Result<()> {
    // Without symlinks, copy the blob, as huggingface_hub does.
    let blob = link.parent().unwrap_or(Path::new(".")).join(target);
    fs::copy(&blob, link).at(link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_refs() {
        let tmp = tempfile::tempdir().unwrap();
        let c = RepoCache::new(tmp.path(), "org/name");
        assert!(c.repo_dir.ends_with("models--org--name"));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        c.write_ref("main", sha).unwrap();
        assert_eq!(c.read_ref("main").as_deref(), Some(sha));
        c.write_ref("refs/pr/1", sha).unwrap();
        assert_eq!(c.read_ref("refs/pr/1").as_deref(), Some(sha));
        c.prepare().unwrap();
        let etag = "a".repeat(64);
        fs::write(c.blob_path(&etag), b"x").unwrap();
        c.link(sha, "sub/dir/f.json", &etag).unwrap();
        assert_eq!(
            fs::read(c.pointer_path(sha, "sub/dir/f.json")).unwrap(),
            b"x"
        );
        assert_eq!(
            fs::read_link(c.pointer_path(sha, "sub/dir/f.json")).unwrap(),
            Path::new("../../../../blobs").join(&etag)
        );
        assert!(check_etag("../x", "f").is_err());
        assert!(check_etag(&etag, "f").is_ok());
    }
}
