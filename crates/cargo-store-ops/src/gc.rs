//! `gc`: keep the store bounded.
//!
//! Under the exclusive store lock, in one transaction:
//! 1. Check every root. A live root's reference to a unit is dropped when the unit's
//!    fingerprint file in that build directory no longer holds the stored fingerprint (after
//!    `cargo clean`, or a rebuild with other flags). A root whose directory is gone is marked
//!    missing, and dropped once it has been missing for [`MISSING_ROOT_GRACE`] (a removable
//!    disk may come back); one replaced by another directory (another inode) is dropped at
//!    once. A root that cannot be *read* aborts the collection: treating it as dead would evict
//!    units a worktree still uses.
//! 2. Plan (`cargo_store_cas::plan`): old unreferenced units, then least recently used units
//!    while over the size budget, always with their dependents.
//! 3. Delete the rows, commit, and only then delete the object files: a crash in between leaves
//!    orphan files, never a row without its file.
//! 4. Sweep orphan files from `objects/` and `tmp/` whose last status change is older than
//!    [`ORPHAN_GRACE`]. Symbolic links are removed as links, never followed.
//!
//! `--dry-run` runs the same steps and rolls the transaction back; `--auto` (what the timer
//! runs) does nothing if the store is busy, was collected less than [`AUTO_INTERVAL`] ago or
//! does not exist yet. gc never creates a store: without `--auto`, a missing one is an error.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::{
    Access, Eviction, GcPolicy, IndexTransaction, ObjectId, RootRecord, Store, manifest_path, now, plan,
};
use cargo_store_units::Layout;
use serde::Serialize;

use crate::pause::pause;
use crate::{Error, REPORT_VERSION, elapsed_ms};

/// Default `--max-age`: unreferenced units unused for 30 days go.
pub const DEFAULT_MAX_AGE: i64 = 30 * DAY;
/// Default `--max-size`: 20 GiB of objects.
pub const DEFAULT_MAX_SIZE: u64 = 20 << 30;
/// How long a root's directory may be missing before the root is dropped: 7 days.
pub const MISSING_ROOT_GRACE: i64 = 7 * DAY;
/// How old an orphan file must be before it is deleted: 1 hour.
pub const ORPHAN_GRACE: i64 = 3600;
/// `--auto` does nothing if the last collection is more recent than this: 20 hours, so that a
/// daily timer whose runs drift by up to an hour never skips every other day.
pub const AUTO_INTERVAL: i64 = 20 * 3600;

const DAY: i64 = 24 * 3600;
const LAST_GC: &str = "last_gc";

/// How to collect.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// The store directory.
    pub store: PathBuf,
    /// Unreferenced units unused for longer than this many seconds go.
    pub max_age: i64,
    /// Then least recently used units go while objects take more than this many bytes.
    pub max_size: u64,
    /// Change nothing; report what would go.
    pub dry_run: bool,
    /// Run only if nothing else holds the store, and only when it is due.
    pub auto: Option<Auto>,
}

/// When an automatic collection is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auto {
    /// `gc --auto`, from a timer: if the last collection is older than [`AUTO_INTERVAL`].
    Timer,
    /// After an ingest, as `git gc --auto`: if the objects take more than `max_size`.
    OverBudget,
}

/// A root that was dropped.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedRoot {
    /// Its build directory.
    pub path: PathBuf,
    /// Why.
    pub reason: DropReason,
}

/// Why a root was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// Gone for longer than the grace period.
    Missing,
    /// Another directory (or a file) is there now.
    Replaced,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.pad(match self {
            DropReason::Missing => "missing",
            DropReason::Replaced => "replaced",
        })
    }
}

/// Why `gc --auto` collected nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GcSkip {
    /// Another cargo-store command holds the store.
    Busy,
    /// The last collection is more recent than [`AUTO_INTERVAL`].
    Recent,
    /// The objects are within the size budget.
    UnderBudget,
    /// There is no store yet.
    NoStore,
}

/// What a collection did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    /// Schema version.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// With `--auto`: why nothing was done, if so.
    pub skipped: Option<GcSkip>,
    /// From the timer (`--auto`, not a dry run): the ingest of every live root that changed
    /// since it was last looked at, before collecting.
    pub refreshed: Option<crate::SyncReport>,
    /// Roots checked.
    pub roots_checked: u64,
    /// Roots whose directory is missing but still within the grace period.
    pub roots_missing: Vec<PathBuf>,
    /// Roots dropped.
    pub roots_dropped: Vec<DroppedRoot>,
    /// References dropped because the unit is no longer in that build directory.
    pub references_dropped: u64,
    /// Units evicted because they were unreferenced and old.
    pub units_evicted_by_age: u64,
    /// Units evicted to get under the size budget.
    pub units_evicted_by_size: u64,
    /// Units evicted because a unit they depend on was.
    pub units_evicted_with_dependency: u64,
    /// Object files deleted.
    pub objects_deleted: u64,
    /// Orphan files deleted from `objects/` and `tmp/`.
    pub orphans_deleted: u64,
    /// The bytes of what was deleted.
    pub bytes_logical: u64,
    /// The disk space actually freed (an object still hard-linked elsewhere frees nothing).
    pub bytes_freed: u64,
    /// Bytes of all objects before.
    pub bytes_before: u64,
    /// Bytes of the objects that remain.
    pub bytes_after: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Collects garbage in the store.
pub fn gc(options: &GcOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<GcReport> {
    let start = Instant::now();
    let mut report = GcReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        dry_run: options.dry_run,
        skipped: None,
        refreshed: None,
        roots_checked: 0,
        roots_missing: Vec::new(),
        roots_dropped: Vec::new(),
        references_dropped: 0,
        units_evicted_by_age: 0,
        units_evicted_by_size: 0,
        units_evicted_with_dependency: 0,
        objects_deleted: 0,
        orphans_deleted: 0,
        bytes_logical: 0,
        bytes_freed: 0,
        bytes_before: 0,
        bytes_after: 0,
        elapsed_ms: 0,
    };
    // The timer keeps the store current: builds that nobody ingested reach it before anything
    // is collected. That never fails the collection.
    if options.auto == Some(Auto::Timer) && !options.dry_run {
        report.refreshed = Some(
            crate::refresh(&options.store, crate::REFRESH_BUDGET)
                .unwrap_or_else(|error| crate::SyncReport { failures: vec![error.to_string()], ..Default::default() }),
        );
    }
    // Collecting never creates a store: there is nothing to collect in one that is not there,
    // and a store made at a mistyped `--store` would only hide the typo. Asked by hand (or with
    // `--dry-run`) that is an error, as for every command that reads the store; from the timer,
    // which may well be installed before the first ingest, it is a skip.
    let opened = if options.auto.is_some() {
        Store::try_open_existing(&options.store, Access::Exclusive)
    } else {
        Store::open_existing(&options.store, Access::Exclusive, waiting).map(Some)
    };
    let (opened, skipped) = match opened {
        Ok(Some(store)) => (Some(store), None),
        Ok(None) => (None, Some(GcSkip::Busy)),
        Err(cargo_store_cas::Error::NoStore { .. }) if options.auto == Some(Auto::Timer) => {
            (None, Some(GcSkip::NoStore))
        }
        Err(error) => return Err(error.into()),
    };
    let Some(mut store) = opened else {
        report.skipped = skipped;
        report.elapsed_ms = elapsed_ms(start);
        return Ok(report);
    };
    let timestamp = now();
    let objects = store.objects().clone();
    let root = store.root().to_path_buf();
    let transaction = store.index_mut().transaction()?;
    let skipped = match options.auto {
        Some(Auto::Timer) => {
            transaction.setting(LAST_GC)?.is_some_and(|last| timestamp - last < AUTO_INTERVAL).then_some(GcSkip::Recent)
        }
        Some(Auto::OverBudget) => (transaction.object_bytes()? <= options.max_size).then_some(GcSkip::UnderBudget),
        None => None,
    };
    if let Some(reason) = skipped {
        report.skipped = Some(reason);
        report.elapsed_ms = elapsed_ms(start);
        return Ok(report);
    }

    for record in transaction.roots()? {
        report.roots_checked += 1;
        check_root(&transaction, &record, timestamp, &mut report)?;
    }
    let inputs = transaction.gc_inputs()?;
    let plan = plan(&inputs, &GcPolicy { now: timestamp, max_age: options.max_age, max_size: options.max_size });
    pause("gc-planned");
    for (_, reason) in &plan.units {
        match reason {
            Eviction::Age => report.units_evicted_by_age += 1,
            Eviction::Size => report.units_evicted_by_size += 1,
            Eviction::Dependency => report.units_evicted_with_dependency += 1,
        }
    }
    report.bytes_before = plan.bytes_before;
    report.bytes_after = plan.bytes_after;
    transaction.delete_planned(&plan)?;
    if options.dry_run {
        drop(transaction);
    } else {
        transaction.set_setting(LAST_GC, timestamp)?;
        transaction.commit()?;
    }

    for object in &plan.objects {
        let path = objects.path(&object.object);
        report.bytes_logical += object.size;
        match remove(&path, options.dry_run) {
            Ok(freed) => {
                report.objects_deleted += 1;
                report.bytes_freed += freed;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(cargo_store_cas::Error::io("delete", &path, error).into()),
        }
    }
    let evicted: HashSet<i64> = plan.units.iter().map(|(unit, _)| *unit).collect();
    let mut manifests = HashSet::new();
    for unit in &inputs.units {
        if !evicted.contains(&unit.id) || options.dry_run {
            manifests.insert(root.join(manifest_path(&unit.key)));
        } else {
            objects.remove_manifest(&unit.key)?;
        }
    }
    let deleted: HashSet<ObjectId> = plan.objects.iter().map(|object| object.object).collect();
    let known: HashSet<ObjectId> =
        inputs.objects.iter().map(|object| object.object).filter(|object| !deleted.contains(object)).collect();
    let kept = Kept { objects: &known, deleted: &deleted, manifests: &manifests };
    sweep_orphans(&root, &kept, timestamp, options.dry_run, &mut report)?;
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// What the filesystem says about a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootState {
    /// The registered directory is there.
    Live,
    /// Nothing is there.
    Missing,
    /// Another directory (or a file) is there now.
    Replaced,
    /// Its path cannot be looked at (permissions).
    Unreadable,
}

impl std::fmt::Display for RootState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.pad(match self {
            RootState::Live => "live",
            RootState::Missing => "missing",
            RootState::Replaced => "replaced",
            RootState::Unreadable => "unreadable",
        })
    }
}

/// Looks at a root's directory. An error other than "not found" means it cannot be read.
pub(crate) fn root_state(record: &RootRecord) -> io::Result<RootState> {
    match fs::metadata(&record.path) {
        Ok(metadata) if metadata.is_dir() && metadata.dev() == record.device && metadata.ino() == record.inode => {
            Ok(RootState::Live)
        }
        Ok(_) => Ok(RootState::Replaced),
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            Ok(RootState::Missing)
        }
        Err(error) => Err(error),
    }
}

fn unreadable(path: &Path, source: io::Error) -> Error {
    Error::RootUnreadable { path: path.to_path_buf(), source }
}

/// Updates one root and its references (step 1 of the module docs).
fn check_root(
    transaction: &IndexTransaction<'_>,
    record: &RootRecord,
    timestamp: i64,
    report: &mut GcReport,
) -> crate::Result<()> {
    match root_state(record).map_err(|error| unreadable(&record.path, error))? {
        RootState::Replaced => {
            transaction.forget_root(record.id)?;
            report.roots_dropped.push(DroppedRoot { path: record.path.clone(), reason: DropReason::Replaced });
        }
        RootState::Missing => {
            let since = record.missing_since.unwrap_or(timestamp);
            if timestamp - since >= MISSING_ROOT_GRACE {
                transaction.forget_root(record.id)?;
                report.roots_dropped.push(DroppedRoot { path: record.path.clone(), reason: DropReason::Missing });
            } else {
                transaction.set_root_missing(record.id, Some(since))?;
                report.roots_missing.push(record.path.clone());
            }
        }
        // `root_state` reports an unreadable path as an error, handled above.
        RootState::Unreadable => {}
        RootState::Live => {
            if record.missing_since.is_some() {
                transaction.set_root_missing(record.id, None)?;
            }
            let mut stale = Vec::new();
            for reference in transaction.references(record.id)? {
                let fingerprint = Layout::from_name(&reference.layout).and_then(|layout| {
                    layout.fingerprint_file(Path::new(&reference.place), &reference.name, &reference.fingerprint_name)
                });
                let Some(fingerprint) = fingerprint else {
                    stale.push(reference.unit_id);
                    continue;
                };
                let path = record.path.join(fingerprint);
                match fs::read_to_string(&path) {
                    Ok(found) if found.trim() == reference.fingerprint => {}
                    Ok(_) => stale.push(reference.unit_id),
                    Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                        stale.push(reference.unit_id);
                    }
                    Err(error) => return Err(unreadable(&path, error)),
                }
            }
            report.references_dropped += stale.len() as u64;
            transaction.drop_references(record.id, &stale)?;
        }
    }
    Ok(())
}

/// Removes a file (not following a symlink) and returns the disk space that frees: none if
/// another hard link keeps the inode alive. With `dry_run`, only measures.
fn remove(path: &Path, dry_run: bool) -> io::Result<u64> {
    let metadata = fs::symlink_metadata(path)?;
    let freed = if metadata.nlink() <= 1 { metadata.blocks() * 512 } else { 0 };
    if !dry_run {
        if metadata.is_dir() {
            fs::remove_dir_all(path)?;
        } else {
            fs::remove_file(path)?;
        }
    }
    Ok(freed)
}

/// What the orphan sweep must leave alone.
struct Kept<'a> {
    /// Objects the index lists after the collection.
    objects: &'a HashSet<ObjectId>,
    /// Objects the collection deletes (still there in a dry run).
    deleted: &'a HashSet<ObjectId>,
    /// Manifest files of the units that remain.
    manifests: &'a HashSet<PathBuf>,
}

/// Deletes files in `objects/` and `manifests/` that no index row names and anything in
/// `tmp/`, once older than [`ORPHAN_GRACE`] by their last status change (publishing an object
/// changes it; its mtime is the build's, not the store's). Never descends into a symbolic link.
fn sweep_orphans(
    root: &Path,
    kept: &Kept<'_>,
    timestamp: i64,
    dry_run: bool,
    report: &mut GcReport,
) -> crate::Result<()> {
    let old_enough = |metadata: &fs::Metadata| timestamp - metadata.ctime() >= ORPHAN_GRACE;
    let orphan = |path: &Path, metadata: &fs::Metadata, report: &mut GcReport| -> crate::Result<()> {
        report.bytes_logical += metadata.len();
        match remove(path, dry_run) {
            Ok(freed) => {
                report.orphans_deleted += 1;
                report.bytes_freed += freed;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(cargo_store_cas::Error::io("delete", path, error).into()),
        }
    };
    let objects = root.join("objects");
    for directory in entries(&objects)? {
        let metadata =
            fs::symlink_metadata(&directory).map_err(|error| cargo_store_cas::Error::io("read", &directory, error))?;
        if !metadata.is_dir() {
            if old_enough(&metadata) {
                orphan(&directory, &metadata, report)?;
            }
            continue;
        }
        let prefix = directory.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for file in entries(&directory)? {
            let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            let id = ObjectId::from_file_name(&prefix, &name);
            let metadata = match fs::symlink_metadata(&file) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(cargo_store_cas::Error::io("read", &file, error).into()),
            };
            let listed = id.is_some_and(|id| kept.objects.contains(&id) || (dry_run && kept.deleted.contains(&id)));
            if (!listed || !metadata.is_file()) && old_enough(&metadata) {
                orphan(&file, &metadata, report)?;
            }
        }
    }
    for directory in entries(&root.join("manifests"))? {
        let listed = |path: &Path| kept.manifests.contains(path);
        let files = match fs::symlink_metadata(&directory) {
            Ok(metadata) if metadata.is_dir() => entries(&directory)?,
            _ => vec![directory.clone()],
        };
        for file in files {
            if let Ok(metadata) = fs::symlink_metadata(&file)
                && !(listed(&file) && metadata.is_file())
                && old_enough(&metadata)
            {
                orphan(&file, &metadata, report)?;
            }
        }
    }
    for entry in entries(&root.join("tmp"))? {
        if let Ok(metadata) = fs::symlink_metadata(&entry)
            && old_enough(&metadata)
        {
            orphan(&entry, &metadata, report)?;
        }
    }
    Ok(())
}

/// The entries of a directory; none if it does not exist.
fn entries(directory: &Path) -> crate::Result<Vec<PathBuf>> {
    match fs::read_dir(directory) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<io::Result<_>>()
            .map_err(|error| cargo_store_cas::Error::io("read directory", directory, error).into()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(cargo_store_cas::Error::io("read directory", directory, error).into()),
    }
}
