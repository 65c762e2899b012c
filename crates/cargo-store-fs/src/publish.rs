//! Publishing files under their final name without ever clobbering one.
//!
//! A file is prepared completely (bytes, permissions, mtime) under a temporary name in the same
//! directory, then given its final name with `link(2)`, which fails if the name exists. So a
//! reader never sees a partial file at a final name, and a file that a concurrent writer (or a
//! build) put there first is never replaced. A crash leaves at worst a hidden temporary file.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Context;
use crate::time::{FileTimes, set_file_times};

/// The prefix of every temporary file this crate creates beside a final path.
pub const TEMPORARY_PREFIX: &str = ".cargo-store-";

/// Whether a file name is one of this crate's temporary names: such files are left only by a
/// process that was killed, and are never part of a build unit.
pub fn is_temporary(name: &std::ffi::OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let name = name.as_bytes();
    name.starts_with(TEMPORARY_PREFIX.as_bytes()) && name.ends_with(b".tmp")
}

/// A fresh temporary path in the same directory as `path` (and so on the same filesystem).
pub fn temporary_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(TEMPORARY_PREFIX);
    name.push(format!("{}-{count}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Gives `temporary` the name `destination`, failing with [`io::ErrorKind::AlreadyExists`] if
/// something is already there. The temporary name is gone afterwards, whatever the outcome.
pub fn publish(temporary: &Path, destination: &Path) -> crate::Result<()> {
    let linked = fs::hard_link(temporary, destination);
    let result = match linked {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
        // Filesystems without hard links (some FUSE and network mounts): fall back to a
        // rename guarded by an existence check. The window between the two is the price of
        // such a filesystem.
        Err(_) => match fs::symlink_metadata(destination) {
            Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
            Err(_) => {
                return fs::rename(temporary, destination).context("rename into", destination);
            }
        },
    };
    let _ = fs::remove_file(temporary);
    result.context("publish", destination)
}

/// Writes `bytes` to a new file at `destination` with `mode` and `times`, atomically and without
/// replacing an existing file.
pub fn write_new(destination: &Path, bytes: &[u8], mode: u32, times: Option<FileTimes>) -> crate::Result<()> {
    let temporary = temporary_path(destination);
    let prepared = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)
            .context("create", &temporary)?;
        file.write_all(bytes).context("write", &temporary)?;
        file.set_permissions(fs::Permissions::from_mode(mode)).context("set the permissions of", &temporary)?;
        if let Some(times) = times {
            set_file_times(&file, &temporary, times)?;
        }
        Ok(())
    })();
    if let Err(error) = prepared {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    publish(&temporary, destination)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        let temporary = temporary_path(Path::new("/target/debug/deps/libx-0123456789abcdef.rlib"));
        assert!(is_temporary(temporary.file_name().expect("a name")));
        assert!(!is_temporary(std::ffi::OsStr::new("libx-0123456789abcdef.rlib")));
        assert!(!is_temporary(std::ffi::OsStr::new(".cargo-store-notes.txt")));
    }

    #[test]
    fn publish_never_replaces_an_existing_file() -> crate::Result<()> {
        let directory = tempfile::tempdir().map_err(|e| crate::Error::io("create", "tmp", e))?;
        let destination = directory.path().join("file");
        write_new(&destination, b"first", 0o644, None)?;
        let second = write_new(&destination, b"second", 0o644, None);
        let kind = second.as_ref().err().and_then(|e| e.io_error()).map(io::Error::kind);
        assert_eq!(kind, Some(io::ErrorKind::AlreadyExists));
        assert_eq!(fs::read(&destination).map_err(|e| crate::Error::io("read", &destination, e))?, b"first");
        let leftovers =
            fs::read_dir(directory.path()).map_err(|e| crate::Error::io("read", directory.path(), e))?.count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        Ok(())
    }
}
