//! `repair --rebuild-index`: recreate a lost or corrupt index (see `cargo_store_cas::rebuild_index`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::Store;
use serde::Serialize;

use crate::{REPORT_VERSION, elapsed_ms};

/// What a rebuild did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RepairReport {
    /// Schema version.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// Where the previous index files were moved (never deleted).
    pub moved_aside: Vec<PathBuf>,
    /// Objects recorded from `objects/`.
    pub objects: u64,
    /// Units restored from `manifests/`.
    pub units: u64,
    /// Units left out because an object or a dependency is missing.
    pub units_dropped: u64,
    /// Manifest files that could not be read.
    pub manifests_unreadable: Vec<PathBuf>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Rebuilds the index of the store at `store`, which must exist: rebuilding where there is no
/// store would only create an empty one ([`cargo_store_cas::Error::NoStore`] instead).
pub fn rebuild_index(store: &Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<RepairReport> {
    let start = Instant::now();
    let store = Store::existing(store)?;
    let rebuilt = cargo_store_cas::rebuild_index(&store, waiting)?;
    Ok(RepairReport {
        version: REPORT_VERSION,
        store,
        moved_aside: rebuilt.moved_aside,
        objects: rebuilt.objects,
        units: rebuilt.units,
        units_dropped: rebuilt.units_dropped,
        manifests_unreadable: rebuilt.manifests_unreadable,
        elapsed_ms: elapsed_ms(start),
    })
}
