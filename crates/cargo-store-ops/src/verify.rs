//! `verify`: the store never lies.
//!
//! The quick check compares every object file's size, mtime and inode with what the index
//! recorded when it was written; an object that differs is rehashed, and either recorded anew
//! (same bytes: a restored backup, a copied store) or found damaged. `--full` rehashes every
//! object. A damaged object is moved to `quarantine/` at once, since handing it out is the
//! one thing worse than not having it. With `--repair` it is restored from a file of a
//! registered worktree that still hashes right; otherwise the units that list it, and the
//! units above them, are dropped (they will simply be built again). The index's own
//! consistency (SQLite's quick check, foreign keys) and the on-disk manifests are checked too.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::{
    Access, Eviction, FileIdentity, GcPlan, ObjectRecord, ObjectSource, ObjectState, Store, StoreDirectory, hash_file,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::{REPORT_VERSION, elapsed_ms};

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The store directory.
    pub store: PathBuf,
    /// Rehash every object.
    pub full: bool,
    /// Restore or drop what is damaged.
    pub repair: bool,
}

/// One thing found wrong.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The path concerned.
    pub path: PathBuf,
    /// What is wrong, and what was done about it.
    pub detail: String,
    /// Whether `--repair` fixed it.
    pub repaired: bool,
}

/// What kind of thing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// An object file the index records is gone.
    MissingObject,
    /// An object file's bytes are not the ones its name says.
    DamagedObject,
    /// A unit's manifest file is gone.
    MissingManifest,
    /// SQLite's own checks of the index failed.
    Index,
}

impl ProblemKind {
    /// Whether the problem is an object's.
    fn is_object(self) -> bool {
        matches!(self, ProblemKind::MissingObject | ProblemKind::DamagedObject)
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.pad(match self {
            ProblemKind::MissingObject => "missing-object",
            ProblemKind::DamagedObject => "damaged-object",
            ProblemKind::MissingManifest => "missing-manifest",
            ProblemKind::Index => "index",
        })
    }
}

/// What `verify` found and did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// Schema version.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// Whether the store is consistent now (after repairs, with `--repair`).
    pub consistent: bool,
    /// Whether every object was rehashed.
    pub full: bool,
    /// Objects checked.
    pub objects_checked: u64,
    /// Objects rehashed.
    pub objects_hashed: u64,
    /// Bytes rehashed.
    pub bytes_hashed: u64,
    /// Objects whose file changed place or time but not bytes: recorded anew.
    pub objects_refreshed: u64,
    /// Damaged objects moved to `quarantine/`.
    pub quarantined: Vec<PathBuf>,
    /// Objects restored from worktree files.
    pub objects_restored: u64,
    /// Units dropped because an object could not be restored.
    pub units_dropped: u64,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Verifies (and with `repair`, repairs) the store.
pub fn verify(options: &VerifyOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<VerifyReport> {
    let start = Instant::now();
    let mut store = Store::open_existing(&options.store, Access::Exclusive, waiting)?;
    let directory = store.directory().clone();
    let mut report = VerifyReport {
        version: REPORT_VERSION,
        store: directory.root().to_path_buf(),
        consistent: true,
        full: options.full,
        objects_checked: 0,
        objects_hashed: 0,
        bytes_hashed: 0,
        objects_refreshed: 0,
        quarantined: Vec::new(),
        objects_restored: 0,
        units_dropped: 0,
        problems: Vec::new(),
        elapsed_ms: 0,
    };
    let transaction = store.index_mut().transaction()?;
    for detail in transaction.database_problems()? {
        report.problems.push(Problem {
            kind: ProblemKind::Index,
            path: directory.index_path(),
            detail,
            repaired: false,
        });
    }

    let all = transaction.all_objects()?;
    report.objects_checked = all.len() as u64;
    let findings: Vec<(ObjectState, u64)> =
        all.par_iter().map(|(_, record)| directory.check_object(record, options.full)).collect();
    let mut lost: Vec<i64> = Vec::new();
    for ((row, record), (finding, hashed)) in all.iter().zip(findings) {
        report.objects_hashed += u64::from(hashed > 0);
        report.bytes_hashed += hashed;
        let path = directory.object_path(&record.id);
        let (kind, detail) = match finding {
            ObjectState::Intact => continue,
            ObjectState::Refreshed(current) => {
                transaction.update_object(*row, &current)?;
                report.objects_refreshed += 1;
                continue;
            }
            ObjectState::Missing => (ProblemKind::MissingObject, "the file is missing".to_owned()),
            ObjectState::Damaged(detail) => {
                let shared = sharing_inode(&transaction, *row, &path)?;
                let moved = directory.quarantine(&record.id)?;
                report.quarantined.push(moved.clone());
                let mut detail = format!("{detail}; moved to `{}`", moved.display());
                if !shared.is_empty() {
                    let files: Vec<String> = shared.iter().map(|file| format!("`{}`", file.display())).collect();
                    detail.push_str(&format!(
                        "; the same damaged file is hard-linked into worktrees as {}: delete those files, then run `cargo build` there (or `cargo store checkout` once the object is restored)",
                        files.join(", ")
                    ));
                }
                (ProblemKind::DamagedObject, detail)
            }
        };
        let mut problem = Problem { kind, path: path.clone(), detail, repaired: false };
        if options.repair {
            match restore(&transaction, &directory, *row, record)? {
                Some(from) => {
                    problem.repaired = true;
                    problem.detail.push_str(&format!("; restored from `{}`", from.display()));
                    report.objects_restored += 1;
                }
                None => lost.push(*row),
            }
        }
        report.problems.push(problem);
    }

    // Units that need an object nobody can restore go, with everything above them.
    let mut dropped_keys = Vec::new();
    if !lost.is_empty() {
        let units = transaction.units_needing(&lost)?;
        let keys: std::collections::HashMap<i64, String> = transaction.unit_keys()?.into_iter().collect();
        dropped_keys = units.iter().filter_map(|unit| keys.get(unit).cloned()).collect();
        let lost_set: HashSet<i64> = lost.iter().copied().collect();
        let plan = GcPlan {
            units: units.iter().map(|&unit| (unit, Eviction::Dependency)).collect(),
            objects: transaction
                .gc_inputs()?
                .objects
                .into_iter()
                .filter(|object| lost_set.contains(&object.id))
                .collect(),
            bytes_before: 0,
            bytes_after: 0,
        };
        transaction.delete_planned(&plan)?;
        report.units_dropped = units.len() as u64;
        for problem in report.problems.iter_mut().filter(|problem| problem.kind.is_object() && !problem.repaired) {
            problem.repaired = true;
            problem.detail.push_str("; the units that need it were dropped and will be built again");
        }
    }

    // Every unit's manifest must be on disk, or the index could not be rebuilt from it.
    for (unit, key) in transaction.unit_keys()? {
        let path = directory.manifest_path(&key);
        if path.is_file() {
            continue;
        }
        let mut problem = Problem {
            kind: ProblemKind::MissingManifest,
            path: path.clone(),
            detail: format!("the manifest of unit `{key}` is missing"),
            repaired: false,
        };
        if options.repair {
            directory.write_manifest(&transaction.new_unit(unit)?)?;
            problem.repaired = true;
            problem.detail.push_str("; written again from the index");
        }
        report.problems.push(problem);
    }
    transaction.commit()?;
    for key in dropped_keys {
        directory.remove_manifest(&key)?;
    }
    report.consistent = report.problems.iter().all(|problem| problem.repaired);
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// The files of registered build directories that are the object file at `path` itself (the
/// same inode, through a hard link): damaged with it.
fn sharing_inode(
    transaction: &cargo_store_cas::IndexTransaction<'_>,
    row: i64,
    path: &Path,
) -> crate::Result<Vec<PathBuf>> {
    let Ok(object) = fs::symlink_metadata(path) else { return Ok(Vec::new()) };
    if object.nlink() < 2 {
        return Ok(Vec::new());
    }
    Ok(transaction
        .object_copies(row)?
        .into_iter()
        .map(|copy| copy.path)
        .filter(|copy| {
            fs::symlink_metadata(copy).is_ok_and(|found| found.dev() == object.dev() && found.ino() == object.ino())
        })
        .collect())
}

/// Restores an object from a registered worktree file that still hashes right; returns the
/// file it came from.
fn restore(
    transaction: &cargo_store_cas::IndexTransaction<'_>,
    directory: &StoreDirectory,
    row: i64,
    record: &ObjectRecord,
) -> crate::Result<Option<PathBuf>> {
    for copy in transaction.object_copies(row)? {
        let Ok(metadata) = fs::symlink_metadata(&copy.path) else { continue };
        if !metadata.is_file() || metadata.len() != record.size {
            continue;
        }
        let identity = FileIdentity::of(&metadata);
        if !hash_file(&copy.path, &identity).is_ok_and(|hash| hash.as_bytes() == &record.id.hash) {
            continue;
        }
        let source =
            ObjectSource { path: &copy.path, identity, hardlink: false, writable: copy.class.hardlink_allowed() };
        let staged = directory.store(record.id, &source)?;
        transaction.update_object(row, &staged.record)?;
        return Ok(Some(copy.path));
    }
    Ok(None)
}
