//! The output folder, written transactionally: everything goes into a hidden temporary sibling
//! of `--mlx-path`, is fsynced, and is renamed into place only when complete. A crash (even
//! `kill -9`) leaves at worst a temporary folder, which the next run removes; Ctrl-C, SIGTERM and
//! SIGHUP remove it at once (see [`install_signal_cleanup`]).
//!
//! Each temporary folder is held with an exclusive `flock` on its directory handle for the life
//! of the run. The lock dies with the process however it dies, so "is this temporary folder
//! stale?" is "can I lock it?": no PID guessing, no `/proc` (which macOS lacks), no PID reuse.

mod card;

pub use card::{
    CardInfo, Provenance, SourceRef, model_card, model_card_with, quality_section, read_card_info,
};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, IoContext, Result};

const TMP_MARK: &str = ".hf2mlx-tmp-";

/// Temporary folders of this process that are not committed yet. The signal handler removes
/// them; `commit` holds the lock across its renames so a signal cannot cut a swap in half.
static ACTIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn active() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Transaction {
    final_path: PathBuf,
    tmp: PathBuf,
    force: bool,
    committed: bool,
    /// The temporary folder, opened and `flock`ed while this run lives.
    _lock: fs::File,
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
        let mut reg = active();
        fs::create_dir(&tmp).at(&tmp)?;
        let lock = match fs::File::open(&tmp).and_then(|f| f.try_lock().map(|_| f).map_err(io_of)) {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_dir(&tmp);
                return Err(Error::io(&tmp, e));
            }
        };
        reg.push(tmp.clone());
        drop(reg);
        test_pause("begin");
        Ok(Transaction {
            final_path: final_path.to_path_buf(),
            tmp,
            force,
            committed: false,
            _lock: lock,
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

    /// Copies a file into the temporary folder (the source is only read).
    pub fn copy_file(&self, src: &Path, name: &str) -> Result<()> {
        let p = self.tmp.join(name);
        let mut from = fs::File::open(src).at(src)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .at(&p)?;
        // io::copy reports read and write failures alike; name the file that was written.
        std::io::copy(&mut from, &mut to).at(&p)?;
        Ok(())
    }

    /// Syncs every file and moves the folder into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        test_pause("commit");
        for e in fs::read_dir(&self.tmp).at(&self.tmp)? {
            let p = e.at(&self.tmp)?.path();
            fs::File::open(&p).and_then(|f| f.sync_all()).at(&p)?;
        }
        sync_dir(&self.tmp)?;
        // From here until the folder is in place, a signal waits (the handler needs this lock).
        let mut reg = active();
        if self.final_path.exists() {
            if !self.force {
                return Err(Error::OutputExists(self.final_path.clone()));
            }
            if exchange(&self.tmp, &self.final_path).at(&self.final_path)? {
                // One atomic swap: the old output now sits at the temporary path (a kill from
                // here on leaves the new output in place and a stale folder the next run
                // removes).
                let _ = if self.tmp.is_dir() {
                    fs::remove_dir_all(&self.tmp)
                } else {
                    fs::remove_file(&self.tmp)
                };
            } else {
                // No atomic exchange on this system: move the old folder aside first, so the
                // swap is two renames.
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
            }
        } else {
            fs::rename(&self.tmp, &self.final_path).at(&self.final_path)?;
        }
        reg.retain(|p| p != &self.tmp);
        self.committed = true;
        drop(reg);
        sync_dir(&parent_dir(&self.final_path))?;
        Ok(self.final_path.clone())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.committed {
            let mut reg = active();
            let _ = fs::remove_dir_all(&self.tmp);
            reg.retain(|p| p != &self.tmp);
        }
    }
}

fn io_of(e: fs::TryLockError) -> std::io::Error {
    match e {
        fs::TryLockError::Error(e) => e,
        fs::TryLockError::WouldBlock => std::io::Error::from(std::io::ErrorKind::WouldBlock),
    }
}

/// Installs a handler for SIGINT (Ctrl-C), SIGTERM and SIGHUP that removes this process's
/// temporary output folders, prints `error[interrupted]` and exits with code 130. For the
/// command line; a library user keeps their own signal policy (an unwinding error still removes
/// the folder through `Drop`).
///
/// Why the `ctrlc` crate: it runs the handler on an ordinary thread woken through a self-pipe,
/// not inside the signal context, so removing a folder (not async-signal-safe) is allowed there;
/// with its `termination` feature it covers SIGTERM and SIGHUP too. signal-hook could do the
/// same with more code of ours around it.
pub fn install_signal_cleanup() {
    let _ = ctrlc::set_handler(|| {
        // Hold the registry until exit: a commit in progress finishes its renames first, and
        // none starts afterwards.
        let reg = active();
        for tmp in reg.iter() {
            // Move it out of the way first (atomic): writer threads still running then fail to
            // create files in it instead of racing the removal.
            let mut dead = tmp.clone().into_os_string();
            dead.push(".cancelled");
            let dead = PathBuf::from(dead);
            let victim = if fs::rename(tmp, &dead).is_ok() {
                &dead
            } else {
                tmp
            };
            for _ in 0..3 {
                if fs::remove_dir_all(victim).is_ok() || !victim.exists() {
                    break;
                }
            }
        }
        eprintln!("error[interrupted]: {}", Error::Interrupted("a signal"));
        std::process::exit(130);
    });
}

/// Test-only hook: with `HF2MLX_TEST_PAUSE_AFTER=<phase>` the process prints
/// `hf2mlx-test: paused at <phase>` on stderr when it reaches that phase and waits for a line
/// on stdin (or its end) before going on, so tests can kill or interrupt it at a chosen point
/// without timing. Phases: `begin` (temporary folder created, empty), `read` (first tensor
/// read: shard files created and sized, data partly written), `commit` (all files written,
/// before fsync and rename). Each phase pauses once per process.
pub fn test_pause(phase: &str) {
    static PAUSED: AtomicBool = AtomicBool::new(false);
    let Some(want) = std::env::var_os("HF2MLX_TEST_PAUSE_AFTER") else {
        return;
    };
    if want != phase || PAUSED.swap(true, Ordering::SeqCst) {
        return;
    }
    eprintln!("hf2mlx-test: paused at {phase}");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
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

/// Removes `.NAME.hf2mlx-tmp-*` folders no live run holds: a folder is stale when its lock can
/// be taken (its owner died, however). Folders on file systems without `flock` fall back to
/// "does the PID in the name still exist" where `/proc` tells.
pub fn clean_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let fname = e.file_name();
        let Some(rest) = fname.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let path = e.path();
        // Never follow a symlink planted under our name.
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let stale = match fs::File::open(&path).map(|f| (f.try_lock(), f)) {
            Ok((Ok(()), _lock)) => true,
            Ok((Err(fs::TryLockError::WouldBlock), _)) => false,
            _ => {
                let pid = rest.split('.').next().unwrap_or("");
                !pid.parse::<u32>().is_ok_and(|pid| {
                    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
                })
            }
        };
        if stale {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|f| f.sync_all()).at(dir)
}

/// Atomically swaps two paths with Linux's `renameat2(RENAME_EXCHANGE)`. `Ok(false)` when the
/// kernel or filesystem does not support it (the caller falls back to two renames).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: `ca` and `cb` are valid NUL-terminated strings that live across the call, which
    // only reads them; AT_FDCWD makes relative paths resolve like `fs::rename`'s.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}
