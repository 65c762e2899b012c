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
//! 4. Sweep orphan files from `objects/`, `manifests/` and `tmp/` whose last status change is
//!    older than [`ORPHAN_GRACE`] (`StoreDirectory::orphans`). Symbolic links are removed as
//!    links, never followed.
//! 5. Expire the store's caches (`StoreDirectory::expired_cache_entries`): an entry not used
//!    (read or written) for [`CACHE_MAX_AGE`] goes, as does the remembered shape of a build
//!    directory that is no longer registered, and a temporary file a killed writer left, once
//!    older than [`ORPHAN_GRACE`]. A reader marks an entry used at most once a day, so that is
//!    the precision of the rule. Losing an entry costs one question to cargo or rustc.
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
    Access, CacheExpiry, Eviction, GcPolicy, IndexTransaction, ObjectId, Referenced, RootRecord, Store, StoreDirectory,
    now, plan,
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
/// How long a cache entry may go unused before it is deleted: 30 days.
pub const CACHE_MAX_AGE: i64 = 30 * DAY;
/// How long a damaged object `verify` moved to `quarantine/` is kept for inspection.
pub const QUARANTINE_MAX_AGE: i64 = 30 * DAY;
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
    /// After collecting (not in a dry run, nor when an automatic collection was skipped),
    /// sweep the registered build directories with the default age ([`crate::sweep`]).
    pub sweep: bool,
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DroppedRoot {
    /// Its build directory.
    pub path: PathBuf,
    /// Why.
    pub reason: DropReason,
}

/// Why a root was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    /// With `--sweep`: what the sweep of the registered build directories after collecting did.
    pub sweep: Option<crate::SweepReport>,
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
    /// Orphan files deleted from `objects/`, `manifests/` and `tmp/`.
    pub orphans_deleted: u64,
    /// The bytes of the objects and orphans deleted.
    pub bytes_logical: u64,
    /// The disk space actually freed by deleting them (an object still hard-linked elsewhere
    /// frees nothing).
    pub bytes_freed: u64,
    /// Cache entries deleted from `cache/`: unused for [`CACHE_MAX_AGE`], or remembering a
    /// build directory that is no longer registered.
    pub cache_files_deleted: u64,
    /// The disk space that freed.
    pub cache_bytes_freed: u64,
    /// Damaged objects deleted from `quarantine/`, kept there for [`QUARANTINE_MAX_AGE`].
    pub quarantined_deleted: u64,
    /// The disk space that freed.
    pub quarantined_bytes_freed: u64,
    /// Bytes of all objects before.
    pub bytes_before: u64,
    /// Bytes of the objects that remain.
    pub bytes_after: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Collects garbage in the store.
pub fn gc(options: &GcOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<GcReport> {
    let mut report = collect(options, waiting)?;
    // The store is let go first: the sweep reads it, never waiting for it.
    if options.sweep && !options.dry_run && report.skipped.is_none() {
        let start = Instant::now();
        let swept = crate::sweep(&crate::SweepOptions::automatic(options.store.clone()), waiting, &crate::NoProgress)?;
        report.sweep = Some(swept);
        report.elapsed_ms += elapsed_ms(start);
    }
    Ok(report)
}

/// The collection itself: [`gc`] without the sweep.
fn collect(options: &GcOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<GcReport> {
    let start = Instant::now();
    let mut report = GcReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        dry_run: options.dry_run,
        skipped: None,
        refreshed: None,
        sweep: None,
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
        cache_files_deleted: 0,
        cache_bytes_freed: 0,
        quarantined_deleted: 0,
        quarantined_bytes_freed: 0,
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
    let directory = store.directory().clone();
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

    let roots = transaction.roots()?;
    for record in &roots {
        report.roots_checked += 1;
        check_root(&transaction, record, timestamp, &mut report)?;
    }
    let inputs = transaction.gc_inputs()?;
    let plan = plan(&inputs, &GcPolicy { now: timestamp, max_age: options.max_age, max_size: options.max_size });
    pause("gc-planned");
    for (unit, reason) in &plan.units {
        tracing::debug!("gc: unit {unit} goes ({reason:?})");
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
        report.bytes_logical += object.size;
        if let Some(freed) = directory.delete_object(&object.object, options.dry_run)? {
            report.objects_deleted += 1;
            report.bytes_freed += freed;
        }
    }
    let evicted: HashSet<i64> = plan.units.iter().map(|(unit, _)| *unit).collect();
    let mut unit_keys = HashSet::new();
    for unit in &inputs.units {
        if !evicted.contains(&unit.id) || options.dry_run {
            unit_keys.insert(unit.key.as_str());
        } else {
            directory.remove_manifest(&unit.key)?;
        }
    }
    // A dry run deletes no object: those it would delete are still listed, not orphans.
    let deleted: HashSet<ObjectId> = plan.objects.iter().map(|object| object.object).collect();
    let objects: HashSet<ObjectId> = inputs
        .objects
        .iter()
        .map(|object| object.object)
        .filter(|object| options.dry_run || !deleted.contains(object))
        .collect();
    let referenced = Referenced { objects: &objects, unit_keys: &unit_keys };
    for orphan in directory.orphans(&referenced, timestamp, ORPHAN_GRACE)? {
        report.bytes_logical += orphan.bytes();
        if let Some(freed) = directory.delete(&orphan, options.dry_run)? {
            report.orphans_deleted += 1;
            report.bytes_freed += freed;
        }
    }
    expire_caches(&directory, &roots, timestamp, options.dry_run, &mut report)?;
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// Deletes the cache entries that expired (step 5 of the module docs); the build directories
/// still registered are those of `roots` that this collection did not drop.
fn expire_caches(
    directory: &StoreDirectory,
    roots: &[RootRecord],
    timestamp: i64,
    dry_run: bool,
    report: &mut GcReport,
) -> crate::Result<()> {
    let dropped: HashSet<&Path> = report.roots_dropped.iter().map(|root| root.path.as_path()).collect();
    let build_directories: Vec<PathBuf> =
        roots.iter().map(|root| root.path.clone()).filter(|path| !dropped.contains(path.as_path())).collect();
    let expiry = CacheExpiry {
        now: timestamp,
        max_age: CACHE_MAX_AGE,
        grace: ORPHAN_GRACE,
        build_directories: &build_directories,
    };
    for entry in directory.expired_cache_entries(&expiry)? {
        if let Some(freed) = directory.delete(&entry, dry_run)? {
            report.cache_files_deleted += 1;
            report.cache_bytes_freed += freed;
        }
    }
    for damaged in directory.expired_quarantine(timestamp, QUARANTINE_MAX_AGE)? {
        if let Some(freed) = directory.delete(&damaged, dry_run)? {
            report.quarantined_deleted += 1;
            report.quarantined_bytes_freed += freed;
        }
    }
    Ok(())
}

/// What the filesystem says about a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use cargo_store_cas::CacheBucket;
    use cargo_store_fs::{FileTimes, set_times};

    /// A cache entry at `path`, last used `age` seconds ago.
    fn entry(path: &Path, age: i64) {
        fs::create_dir_all(path.parent().expect("a bucket")).expect("create the bucket");
        fs::write(path, b"answer").expect("write the entry");
        set_times(path, FileTimes { modified_ns: (now() - age) * 1_000_000_000 }).expect("age the entry");
    }

    #[test]
    fn gc_expires_unused_cache_entries_and_keeps_fresh_ones() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let root = temporary.path().join("store");
        let directory = Store::open(&root, Access::Shared, &mut |_| {}).expect("create the store").directory().clone();
        let fresh = [
            directory.cache(CacheBucket::Workspaces).join("fresh.json"),
            directory.cache(CacheBucket::Rustc).join("fresh.txt"),
            directory.cache(CacheBucket::HostCfg).join("fresh.txt"),
            // Just written by an ingest whose root gc does not see yet: within the grace period.
            directory.sync_shape_path(Path::new("/work/new/target")),
        ];
        let old = [
            directory.cache(CacheBucket::Workspaces).join("by-content").join("old.json"),
            directory.cache(CacheBucket::Rustc).join("old.txt"),
            directory.cache(CacheBucket::HostCfg).join("old.txt"),
            // A build directory that is not registered (any more): it goes after the grace period.
            directory.sync_shape_path(Path::new("/work/gone/target")),
        ];
        for path in &fresh {
            entry(path, 60);
        }
        for path in &old[..3] {
            entry(path, CACHE_MAX_AGE + DAY);
        }
        entry(&old[3], 2 * ORPHAN_GRACE);

        let options = GcOptions {
            store: root,
            max_age: DEFAULT_MAX_AGE,
            max_size: DEFAULT_MAX_SIZE,
            dry_run: true,
            auto: None,
            sweep: false,
        };
        let report = gc(&options, &mut |_| {}).expect("a dry run");
        assert_eq!(report.cache_files_deleted, old.len() as u64, "{report:#?}");
        assert!(old.iter().all(|path| path.exists()), "a dry run deleted a cache entry");

        let report = gc(&GcOptions { dry_run: false, ..options }, &mut |_| {}).expect("gc");
        assert_eq!(report.cache_files_deleted, old.len() as u64, "{report:#?}");
        assert!(report.cache_bytes_freed > 0, "{report:#?}");
        assert_eq!(
            (report.orphans_deleted, report.bytes_logical),
            (0, 0),
            "cache entries are not orphans: {report:#?}"
        );
        for path in &old {
            assert!(!path.exists(), "{} was kept", path.display());
        }
        for path in &fresh {
            assert!(path.exists(), "{} was deleted", path.display());
        }
    }
}
