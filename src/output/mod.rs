//! The output folder, written transactionally: everything goes into a hidden temporary sibling
//! of `--mlx-path`, is fsynced, and is renamed into place only when complete. A crash leaves
//! at worst a temporary folder, which the next run removes.

mod card;

pub use card::model_card;

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

const TMP_MARK: &str = ".hf2mlx-tmp-";

pub struct Transaction {
    final_path: PathBuf,
    tmp: PathBuf,
    force: bool,
    committed: bool,
}

impl Transaction {
    /// Refuses an existing destination unless `force`; removes stale temporary folders left by
    /// runs that died; creates a fresh temporary folder.
    pub fn begin(final_path: &Path, force: bool) -> Result<Transaction> {
        if final_path.exists() && !force {
            return Err(Error::OutputExists(final_path.to_path_buf()));
        }
        let parent = parent_dir(final_path);
        fs::create_dir_all(&parent).at(&parent)?;
        let name = file_name(final_path)?;
        clean_stale(&parent, &name);
        let tmp = parent.join(format!(".{name}{TMP_MARK}{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).at(&tmp)?;
        }
        fs::create_dir(&tmp).at(&tmp)?;
        Ok(Transaction {
            final_path: final_path.to_path_buf(),
            tmp,
            force,
            committed: false,
        })
    }

    /// The temporary folder to write into.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Writes a small file into the temporary folder.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let p = self.tmp.join(name);
        fs::write(&p, bytes).at(&p)
    }

    /// Copies a file into the temporary folder.
    pub fn copy_file(&self, src: &Path, name: &str) -> Result<()> {
        let p = self.tmp.join(name);
        fs::copy(src, &p).at(src)?;
        Ok(())
    }

    /// Syncs every file and moves the folder into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        for e in fs::read_dir(&self.tmp).at(&self.tmp)? {
            let p = e.at(&self.tmp)?.path();
            fs::File::open(&p).and_then(|f| f.sync_all()).at(&p)?;
        }
        sync_dir(&self.tmp)?;
        if self.final_path.exists() {
            if !self.force {
                return Err(Error::OutputExists(self.final_path.clone()));
            }
            // Replace: move the old folder aside first so the swap is two renames.
            let mut old = self.tmp.clone().into_os_string();
            old.push(".old");
            let old = PathBuf::from(old);
            fs::rename(&self.final_path, &old).at(&self.final_path)?;
            fs::rename(&self.tmp, &self.final_path).at(&self.final_path)?;
            let _ = if old.is_dir() {
                fs::remove_dir_all(&old)
            } else {
                fs::remove_file(&old)
            };
        } else {
            fs::rename(&self.tmp, &self.final_path).at(&self.final_path)?;
        }
        sync_dir(&parent_dir(&self.final_path))?;
        self.committed = true;
        Ok(self.final_path.clone())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Usage(format!("--mlx-path {} must name a folder", p.display())))
}

/// Removes `.NAME.hf2mlx-tmp-PID` folders whose process is gone.
fn clean_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let fname = e.file_name();
        let Some(rest) = fname.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or("");
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|f| f.sync_all()).at(dir)
}
