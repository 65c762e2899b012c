//! Rebuilding a lost or corrupt index from the object files and the on-disk manifests.
//!
//! The old index is never deleted: it is renamed aside (`index.sqlite.broken-<time>`) so that
//! nothing is lost if the rebuild was a mistake. Objects are recorded as they are on disk; a
//! unit comes back only if every object it lists is there and every unit it depends on came
//! back, so the rebuilt index never references what the store does not have. Roots are not in
//! the manifests: each worktree is registered again by its next ingest or checkout, and every
//! unit counts as used now, so that gc does not evict anything for lack of a root meanwhile.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use cargo_store_fs::FileTimes;
use std::os::unix::fs::MetadataExt;

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
    let root = prepare(root)?;
    let _lock = lock::acquire(&root.join(".lock"), Access::Exclusive, waiting)?;
    // An index written by a newer cargo-store is not damaged: rebuilding it here would throw
    // away what that version recorded (its roots, for one).
    let index_path = root.join("index.sqlite");
    if let Some(found) = recorded_version(&index_path)
        && found > supported_version()
    {
        return Err(crate::Error::NewerSchema { path: index_path, found, supported: supported_version() });
    }
    let now = crate::now();
    let mut report = RebuildReport::default();
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let path = root.join(name);
        let aside = root.join(format!("{name}.broken-{now}"));
        match fs::rename(&path, &aside) {
            Ok(()) => report.moved_aside.push(aside),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).context("move aside", path),
        }
    }
    let mut index = Index::open(&root.join("index.sqlite"))?;
    let transaction = index.transaction()?;

    let mut present: HashSet<ObjectId> = HashSet::new();
    let objects = root.join("objects");
    for prefix in read_directory(&objects)? {
        let Some(prefix_name) = prefix.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
            continue;
        };
        for file in read_directory(&prefix)? {
            let Some(id) = file
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| ObjectId::from_file_name(&prefix_name, name))
            else {
                continue;
            };
            let metadata = fs::symlink_metadata(&file).context("read metadata of", &file)?;
            if !metadata.is_file() {
                continue;
            }
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
    }

    let (units, unreadable) = manifest::read_all(&root)?;
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

fn read_directory(directory: &Path) -> crate::Result<Vec<PathBuf>> {
    match fs::read_dir(directory) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<io::Result<_>>()
            .context("read directory", directory),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error).context("read directory", directory),
    }
}
