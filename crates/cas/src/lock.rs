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
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .context("open the store lock", path)?;
    let attempt = match access {
        Access::Shared => file.try_lock_shared(),
        Access::Exclusive => file.try_lock(),
    };
    match attempt {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(error)) => return Err(error).context("lock", path),
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
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .context("open the store lock", path)?;
    let attempt = match access {
        Access::Shared => file.try_lock_shared(),
        Access::Exclusive => file.try_lock(),
    };
    match attempt {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(error).context("lock", path),
    }
}
