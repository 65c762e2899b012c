//! The store lock: `flock` on `<store>/.lock`, shared for normal commands and exclusive for
//! cleaning, as uv locks its cache.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::Context;

/// How a command holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Ingest, checkout, status: many at once.
    Shared,
    /// Garbage collection: alone.
    Exclusive,
}

/// Takes the lock on `path`, calling `waiting` once if another process holds it first.
pub(crate) fn acquire(path: &Path, access: Access, waiting: &mut dyn FnMut(&str)) -> crate::Result<File> {
    let file = open(path)?;
    if try_lock(&file, path, access)? {
        return Ok(file);
    }
    waiting(match access {
        Access::Shared => "waiting for the store lock: garbage collection is running",
        Access::Exclusive => "waiting for the store lock: an ingest or checkout is running",
    });
    match access {
        Access::Shared => file.lock_shared(),
        Access::Exclusive => file.lock(),
    }
    .context("lock", path)?;
    Ok(file)
}

/// Takes the lock on `path` only if that does not have to wait.
pub(crate) fn try_acquire(path: &Path, access: Access) -> crate::Result<Option<File>> {
    let file = open(path)?;
    Ok(try_lock(&file, path, access)?.then_some(file))
}

fn open(path: &Path) -> crate::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .context("open the store lock", path)
}

/// Whether the lock was taken without waiting.
fn try_lock(file: &File, path: &Path, access: Access) -> crate::Result<bool> {
    let attempt = match access {
        Access::Shared => file.try_lock_shared(),
        Access::Exclusive => file.try_lock(),
    };
    match attempt {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(error)) => Err(error).context("lock", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() -> crate::Result<()> {
        let directory = tempfile::tempdir().context("create", "tempdir")?;
        let path = directory.path().join(".lock");
        let first = try_acquire(&path, Access::Shared)?;
        let second = try_acquire(&path, Access::Shared)?;
        assert!(first.is_some() && second.is_some());
        assert!(try_acquire(&path, Access::Exclusive)?.is_none());
        drop((first, second));
        let exclusive = try_acquire(&path, Access::Exclusive)?;
        assert!(exclusive.is_some());
        assert!(try_acquire(&path, Access::Shared)?.is_none());
        Ok(())
    }
}
