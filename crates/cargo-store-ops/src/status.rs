//! `status`: what the store holds.

use std::path::PathBuf;

use cargo_store_cas::{Access, Store};
use serde::Serialize;

use crate::REPORT_VERSION;

/// The store at a glance.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StatusReport {
    /// Schema version of this report.
    pub version: u32,
    /// The store directory.
    pub store: PathBuf,
    /// Objects.
    pub objects: u64,
    /// Units.
    pub units: u64,
    /// Registered roots.
    pub roots: u64,
    /// Bytes of all objects (each counted once, however many worktrees link it).
    pub bytes_on_disk: u64,
}

/// Reports what the store at `store` holds; [`cargo_store_cas::Error::NoStore`] if there is
/// none (a status never creates a store).
pub fn status(store: &std::path::Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<StatusReport> {
    let opened = Store::open_existing(store, Access::Shared, waiting)?;
    let totals = opened.index().totals()?;
    Ok(StatusReport {
        version: REPORT_VERSION,
        store: opened.root().to_path_buf(),
        objects: totals.objects,
        units: totals.units,
        roots: totals.roots,
        bytes_on_disk: totals.object_bytes,
    })
}
