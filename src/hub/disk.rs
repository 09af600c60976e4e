//! Free disk space, so a conversion that cannot fit stops before downloading anything.

use std::path::Path;

/// Bytes available to an unprivileged user on the filesystem holding `path` (or its nearest
/// existing ancestor, since the cache or output folder may not exist yet). `None` if unknown.
pub fn free_space(path: &Path) -> Option<u64> {
    let mut p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    loop {
        if p.exists() {
            return statvfs_avail(&p);
        }
        if !p.pop() {
            return None;
        }
    }
}

#[cfg(unix)]
fn statvfs_avail(p: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    if rc != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(not(unix))]
fn statvfs_avail(_p: &Path) -> Option<u64> {
    None
}

/// The device a path lives on, to tell whether the cache and the output share a filesystem.
#[cfg(unix)]
pub fn device_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    loop {
        if let Ok(m) = std::fs::metadata(&p) {
            return Some(m.dev());
        }
        if !p.pop() {
            return None;
        }
    }
}

#[cfg(not(unix))]
pub fn device_of(_path: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_space_for_missing_children() {
        let tmp = tempfile::tempdir().unwrap();
        let n = super::free_space(&tmp.path().join("a/b/c"));
        assert!(n.is_some_and(|n| n > 0));
        assert_eq!(
            super::device_of(&tmp.path().join("x/y")),
            super::device_of(tmp.path())
        );
    }
}
