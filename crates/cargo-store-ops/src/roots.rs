//! `roots`: the build directories the store keeps units for, and forgetting one.

use std::path::{Path, PathBuf};

use cargo_store_cas::{Access, RootRecord, Store, normalize_path};
use serde::Serialize;

pub use crate::gc::RootState;
use crate::gc::root_state;
use crate::{Error, REPORT_VERSION};

/// One registered build directory.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RootEntry {
    /// The build directory.
    pub path: PathBuf,
    /// What is at its path now.
    pub state: RootState,
    /// Since when gc has seen it missing, seconds since the epoch.
    pub missing_since: Option<i64>,
    /// Units it references.
    pub units: u64,
    /// Bytes of those units.
    pub bytes: u64,
    /// When an ingest or checkout last used it, seconds since the epoch.
    pub last_used: i64,
    /// With `roots --sweepable`: the bytes of the units and incremental directories in it.
    pub disk_bytes: Option<u64>,
    /// With `roots --sweepable`: the bytes `cargo store sweep` (default age) would remove.
    pub sweepable_bytes: Option<u64>,
    /// With `roots --sweepable`: the disk space that would free.
    pub sweepable_bytes_freed: Option<u64>,
}

/// Every root.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RootsReport {
    /// Schema version.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// The roots, by path.
    pub roots: Vec<RootEntry>,
}

/// A forgotten root.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ForgetReport {
    /// Schema version.
    pub version: u32,
    /// The root that was dropped.
    pub path: PathBuf,
    /// How many units it referenced.
    pub units: u64,
}

/// Lists the roots of the store, with what the filesystem says about each now.
pub fn roots(store: &Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<RootsReport> {
    let opened = Store::open_existing(store, Access::Shared, waiting)?;
    let roots = opened
        .index()
        .roots()?
        .into_iter()
        .map(|record| RootEntry {
            state: root_state(&record).unwrap_or(RootState::Unreadable),
            missing_since: record.missing_since,
            units: record.units,
            bytes: record.bytes,
            last_used: record.last_used,
            disk_bytes: None,
            sweepable_bytes: None,
            sweepable_bytes_freed: None,
            path: record.path,
        })
        .collect();
    Ok(RootsReport { version: REPORT_VERSION, store: opened.root().to_path_buf(), roots })
}

/// Drops the root at `path` (a build directory, or a worktree whose `target/` is registered),
/// so that gc no longer keeps units for it.
///
/// `path` and every registered path are compared normalized ([`normalize_path`]), so any
/// spelling of the directory names it: relative (`../old/target`), with `.` or `..` in it,
/// through a symbolic link, or absolute; and also once the directory is gone.
pub fn forget(store: &Path, path: &Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<ForgetReport> {
    let mut opened = Store::open_existing(store, Access::Shared, waiting)?;
    let given =
        normalize_path(path).map_err(|error| Error::Filesystem(cargo_store_fs::Error::io("resolve", path, error)))?;
    let candidates = [given.clone(), given.join("target")];
    let transaction = opened.index_mut().transaction()?;
    let roots: Vec<(PathBuf, RootRecord)> = transaction
        .roots()?
        .into_iter()
        .map(|root| (normalize_path(&root.path).unwrap_or_else(|_| root.path.clone()), root))
        .collect();
    let found = candidates.iter().find_map(|candidate| {
        roots.iter().find(|(normalized, root)| normalized == candidate || &root.path == candidate)
    });
    let Some((_, record)) = found else {
        return Err(Error::UnknownRoot { path: given });
    };
    transaction.forget_root(record.id)?;
    transaction.commit()?;
    Ok(ForgetReport { version: REPORT_VERSION, path: record.path.clone(), units: record.units })
}
