//! Rebuilding a lost or corrupt index from the object files and the on-disk manifests.
//!
//! The old index is never deleted: it is renamed aside (`index.sqlite.broken-<time>`) so that
//! nothing is lost if the rebuild was a mistake. Objects are recorded as they are on disk; a
//! unit comes back only if every object it lists is there and every unit it depends on came
//! back, so the rebuilt index never references what the store does not have. Roots are not in
//! the manifests: each worktree is registered again by its next ingest or checkout, and every
//! unit counts as used now, so that gc does not evict anything for lack of a root meanwhile.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cargo_store_fs::FileTimes;

use crate::error::Context;
use crate::index::{Index, ObjectRecord, recorded_version, supported_version};
use crate::lock::{self, Access};
use crate::store::prepare;
use crate::{ObjectId, manifest};

/// What a rebuild found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Where the previous index files were moved.
    pub moved_aside: Vec<PathBuf>,
    /// Objects recorded.
    pub objects: u64,
    /// Units restored.
    pub units: u64,
    /// Units left out: an object or a dependency is missing.
    pub units_dropped: u64,
    /// Manifest files that could not be read.
    pub manifests_unreadable: Vec<PathBuf>,
}

/// Recreates the index of the store at `root` from its objects and manifests, under the
/// exclusive store lock.
pub fn rebuild_index(root: &Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<RebuildReport> {
    let directory = prepare(root)?;
    let _lock = lock::acquire(&directory.lock_path(), Access::Exclusive, waiting)?;
    // An index written by a newer cargo-store is not damaged: rebuilding it here would throw
    // away what that version recorded (its roots, for one).
    let index_path = directory.index_path();
    if let Some(found) = recorded_version(&index_path)
        && found > supported_version()
    {
        return Err(crate::Error::NewerSchema { path: index_path, found, supported: supported_version() });
    }
    let now = crate::now();
    let mut report = RebuildReport::default();
    for suffix in ["", "-wal", "-shm"] {
        let path = with_suffix(&index_path, suffix);
        let aside = with_suffix(&path, &format!(".broken-{now}"));
        match fs::rename(&path, &aside) {
            Ok(()) => report.moved_aside.push(aside),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).context("move aside", path),
        }
    }
    let mut index = Index::open(&index_path)?;
    let transaction = index.transaction()?;

    let mut present: HashSet<ObjectId> = HashSet::new();
    for (id, metadata) in directory.object_files()? {
        let record = ObjectRecord {
            id,
            size: metadata.len(),
            modified_ns: FileTimes::of(&metadata).modified_ns,
            inode: metadata.ino(),
        };
        transaction.insert_object(&record, now)?;
        present.insert(id);
        report.objects += 1;
    }

    let (units, unreadable) = manifest::read_all(&directory)?;
    report.manifests_unreadable = unreadable;
    let mut pending: Vec<_> = units
        .into_iter()
        .filter(|unit| {
            let complete = unit.files.iter().all(|file| file.object.is_none_or(|object| present.contains(&object)));
            if !complete {
                report.units_dropped += 1;
            }
            complete
        })
        .collect();
    let mut restored: HashSet<String> = HashSet::new();
    loop {
        let (ready, waiting_units): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|unit| unit.dependencies.iter().all(|key| restored.contains(key)));
        if ready.is_empty() {
            report.units_dropped += waiting_units.len() as u64;
            break;
        }
        for unit in ready {
            transaction.insert_unit(&unit, now)?;
            restored.insert(unit.key);
            report.units += 1;
        }
        pending = waiting_units;
    }
    transaction.commit()?;
    Ok(report)
}

/// `path` with `suffix` added to its file name (`index.sqlite` → `index.sqlite-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}
