//! `ingest`: move the dependency units of a built target directory into the store.
//!
//! The steps, and why they are in this order:
//! 1. Scan the build directory and decide eligibility (no store lock needed yet).
//! 2. Take the store lock shared and look the unit keys up: a unit already stored costs one
//!    index lookup and no hashing, so a no-op ingest reads only fingerprint files.
//! 3. Hash the files of new units in parallel, once per inode.
//! 4. Write the objects that are not stored yet, in parallel. Rustc outputs on the store's
//!    filesystem are hard-linked in (rustc replaces them by rename, so the inode never
//!    changes under us); everything else is copied and hashed again on the way, so a file that
//!    cargo rewrote meanwhile is never stored under a stale hash.
//! 5. Commit objects, manifests, dependencies and the root in one transaction.
//! 6. Heal: give stored units the times of this build's copies where that makes the store
//!    consistent or older (see below), under the exclusive lock if it is free right now.
//!
//! # Times
//!
//! One unit key is one set of bytes, but every build directory that built the unit has its
//! own copy with its own mtimes, and cargo compares mtimes across units (see
//! `cargo_store_units::Times`). The store keeps one copy per key, so which copy it keeps
//! decides whether the units of other builds that depend on it are fresh next to it. Two rules
//! keep every stored unit fresh next to its stored dependencies, whatever order builds are
//! ingested in:
//!
//! - a unit of this build that is already stored takes this build's times when they are no
//!   later (an older copy never makes a dependent stale) or when the stored times are stale
//!   against the stored dependencies, provided this build's times are fresh against them;
//! - units are visited dependencies first, so a dependency takes its older times before its
//!   dependents are judged against it.
//!
//! Taking other times means other inodes for the objects that are hard-linked into worktrees
//! (`.rlib`, `.rmeta`): this build's files, hashed again, replace them in the store (the old
//! inodes stay where they are linked). That needs the exclusive lock, tried without waiting:
//! when another command holds the store, the heal waits for the next ingest, and checkout
//! places the affected units as copies with later times meanwhile.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;

use cargo_store_cas::{
    Access, CacheBucket, FileIdentity, ManifestEntry, NewUnit, ObjectId, ObjectRecord, ObjectSource, PackageKey, Store,
    StoredUnit, hash_file, now,
};
use cargo_store_units::{
    SkipReason, Times, Toolchain, Unit, UnitFile, UnitKey, UnitKind, build_inputs_digest, current_units, eligibility,
    repository_of, scan,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::gc::{Auto, DEFAULT_MAX_AGE, GcOptions, GcReport, gc};
use crate::pause::pause;
use crate::progress::{NoProgress, Progress};
use crate::{Error, REPORT_VERSION, elapsed_ms, load_workspace};

/// What to ingest, and into which store.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The store directory.
    pub store: PathBuf,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_directory: Option<PathBuf>,
    /// If the store is bigger than this after the ingest, collect garbage (as `git gc --auto`
    /// does), unless another command holds the store; `None` never does.
    pub size_budget: Option<u64>,
    /// `--push`: then push the workspace's units to this remote (failures are warnings).
    pub push: Option<String>,
}

/// Units skipped for one reason.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SkipGroup {
    /// Why they were skipped.
    pub reason: SkipReason,
    /// The reason in a sentence.
    pub explanation: String,
    /// How many units.
    pub units: u64,
    /// The packages they belong to (`name vX.Y.Z`), or unit names when the package is unknown.
    pub packages: Vec<String>,
}

/// What an ingest did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IngestReport {
    /// Schema version of this report.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// The target directory.
    pub target_directory: PathBuf,
    /// The build directory that was scanned.
    pub build_directory: PathBuf,
    /// The toolchain namespace the units were filed under.
    pub toolchain: String,
    /// Units stored by this ingest.
    pub units_added: u64,
    /// Eligible units that were stored already.
    pub units_already_stored: u64,
    /// Units not stored.
    pub units_skipped: u64,
    /// Skipped units by reason.
    pub skipped: Vec<SkipGroup>,
    /// Files of the units added.
    pub files_added: u64,
    /// Files whose bytes were hashed.
    pub files_hashed: u64,
    /// Bytes of new objects written to the store.
    pub bytes_added: u64,
    /// Bytes of added files whose object was already stored.
    pub bytes_deduplicated: u64,
    /// Symbolic links found in units: never followed, never stored.
    pub symlinks_ignored: u64,
    /// Stored units that took this build's times (see the module docs of `ingest`).
    pub units_retimed: u64,
    /// Stored units that should take this build's times, but another command held the store:
    /// the next ingest does it.
    pub units_retime_deferred: u64,
    /// The collection run because the store went over its size budget, if any.
    pub gc: Option<GcReport>,
    /// What `--push` pushed; `null` without it.
    pub push: Option<crate::PushReport>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Ingests the build directory of a workspace into the store.
pub fn ingest(options: &IngestOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<IngestReport> {
    ingest_with_progress(options, waiting, &NoProgress)
}

/// [`ingest`], reporting the files hashed and stored to `progress`.
pub fn ingest_with_progress(
    options: &IngestOptions,
    waiting: &mut dyn FnMut(&str),
    progress: &dyn Progress,
) -> crate::Result<IngestReport> {
    let start = Instant::now();
    let store_existed = options.store.is_dir();
    let workspace =
        load_workspace(&options.store, options.manifest_path.as_deref(), options.target_directory.as_deref())?;
    let build_directory = workspace.build_directory.clone();
    let build_metadata = match std::fs::metadata(&build_directory) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotBuilt { path: build_directory });
        }
        Err(error) => return Err(Error::worktree("read metadata of", &build_directory)(error)),
    };
    let shape = crate::sync::shape(&build_directory);
    // `rustc -vV` takes as long as the scan of a large target: run them side by side.
    let (toolchain, scanned) = std::thread::scope(|scope| {
        let toolchain = scope.spawn(|| {
            Toolchain::detect_cached(&workspace.root, crate::cache(&options.store, CacheBucket::Rustc).as_deref())
        });
        let scanned = scan(&build_directory);
        (toolchain.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), scanned)
    });
    let (toolchain, scanned) = (toolchain?, scanned?);
    let namespace = toolchain.namespace();
    let verdicts = eligibility(&workspace, &scanned, &toolchain);
    let units = &scanned.units;

    let mut report = IngestReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        target_directory: workspace.target_directory.clone(),
        build_directory: build_directory.clone(),
        toolchain: namespace.clone(),
        units_added: 0,
        units_already_stored: 0,
        units_skipped: 0,
        skipped: Vec::new(),
        files_added: 0,
        files_hashed: 0,
        bytes_added: 0,
        bytes_deduplicated: 0,
        symlinks_ignored: 0,
        units_retimed: 0,
        units_retime_deferred: 0,
        gc: None,
        push: None,
        elapsed_ms: 0,
    };
    let mut skipped: BTreeMap<SkipReason, BTreeSet<String>> = BTreeMap::new();
    let mut skipped_counts: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut skip = |reason: SkipReason, label: String| {
        tracing::debug!("ingest: {label} skipped: {reason}");
        skipped.entry(reason).or_default().insert(label);
        *skipped_counts.entry(reason).or_default() += 1;
    };

    // Keys of eligible units; units with symlinks are stored without them.
    let mut keys: Vec<Option<UnitKey>> = vec![None; units.len()];
    for (index, unit) in units.iter().enumerate() {
        report.symlinks_ignored += unit.symlinks.len() as u64;
        match verdicts.verdicts[index] {
            Ok(_) => keys[index] = UnitKey::of(unit, &namespace),
            Err(skipped) => {
                let label = skipped
                    .package
                    .map(|package| workspace.packages[package].id.to_string())
                    .unwrap_or_else(|| unit.name.clone());
                skip(skipped.reason, label);
            }
        }
    }

    let mut store = Store::open(&options.store, Access::Shared, waiting)?;
    if !store_existed {
        crate::remember_workspace(
            &options.store,
            options.manifest_path.as_deref(),
            options.target_directory.as_deref(),
            &workspace,
        );
    }
    let stored = store.index().unit_ids(keys.iter().flatten().map(UnitKey::as_str))?;
    let new_units: Vec<usize> = (0..units.len())
        .filter(|&index| keys[index].as_ref().is_some_and(|key| !stored.contains_key(key.as_str())))
        .collect();
    report.units_already_stored = (0..units.len())
        .filter(|&index| keys[index].as_ref().is_some_and(|key| stored.contains_key(key.as_str())))
        .count() as u64;

    // Hash every non-empty file of the new units, once per inode.
    let mut by_inode: BTreeMap<(u64, u64), (usize, usize)> = BTreeMap::new();
    for &unit in &new_units {
        for (file_index, file) in units[unit].files.iter().enumerate() {
            if file.size > 0 {
                by_inode.entry((file.device, file.inode)).or_insert((unit, file_index));
            }
        }
    }
    progress.start("hashing", by_inode.len() as u64);
    let hashed: Vec<((u64, u64), crate::Result<ObjectId>)> = by_inode
        .par_iter()
        .map(|(&inode, &(unit, file_index))| {
            let file = &units[unit].files[file_index];
            let path = build_directory.join(&units[unit].place.path).join(&file.path);
            let id = hash_file(&path, &identity(file))
                .map(|hash| ObjectId { hash: *hash.as_bytes(), executable: file.mode & 0o111 != 0 });
            progress.advance(1);
            (inode, id.map_err(Error::from))
        })
        .collect();
    report.files_hashed = hashed.len() as u64;
    let mut objects: HashMap<(u64, u64), ObjectId> = HashMap::new();
    let mut changed_units: BTreeSet<usize> = BTreeSet::new();
    for (inode, id) in hashed {
        match id {
            Ok(id) => {
                objects.insert(inode, id);
            }
            // The file vanished while we read it: cargo is rebuilding this unit.
            Err(error) => {
                tracing::debug!("{error}");
                changed_units.insert(by_inode[&inode].0);
            }
        }
    }

    // Write the objects that are not stored yet; one source file per object, preferring one
    // that may be hard-linked into the store.
    let unique: BTreeSet<ObjectId> = objects.values().copied().collect();
    let present = store.index().objects(unique.iter())?;
    let mut sources: BTreeMap<ObjectId, (usize, usize)> = BTreeMap::new();
    for (inode, &(unit, file_index)) in &by_inode {
        let Some(id) = objects.get(inode) else { continue };
        if present.contains_key(id) {
            continue;
        }
        let better = |current: &(usize, usize)| {
            !units[current.0].files[current.1].class.hardlink_by_default()
                && units[unit].files[file_index].class.hardlink_by_default()
        };
        match sources.get(id) {
            Some(current) if !better(current) => {}
            _ => {
                sources.insert(*id, (unit, file_index));
            }
        }
    }
    let store_device = store.device();
    let directory = store.directory().clone();
    progress.start("storing", sources.len() as u64);
    let written: Vec<(ObjectId, usize, crate::Result<cargo_store_cas::StagedObject>)> = sources
        .par_iter()
        .map(|(&id, &(unit, file_index))| {
            let file = &units[unit].files[file_index];
            let path = build_directory.join(&units[unit].place.path).join(&file.path);
            let source = ObjectSource {
                path: &path,
                identity: identity(file),
                hardlink: file.class.hardlink_by_default() && file.device == store_device,
                writable: file.class.hardlink_allowed(),
            };
            let staged = directory.store(id, &source);
            progress.advance(1);
            (id, unit, staged.map_err(Error::from))
        })
        .collect();
    let mut records: Vec<ObjectRecord> = present.values().copied().collect();
    let mut created: BTreeSet<ObjectId> = BTreeSet::new();
    for (id, unit, staged) in written {
        match staged {
            Ok(staged) => {
                if staged.created {
                    created.insert(id);
                    report.bytes_added += staged.record.size;
                }
                records.push(staged.record);
            }
            Err(Error::Store(cargo_store_cas::Error::Changed { path })) => {
                tracing::debug!("{} changed while it was being stored", path.display());
                changed_units.insert(unit);
            }
            Err(error) => return Err(error),
        }
    }

    // Commit, dependencies before dependents; a unit whose files changed under us is left out,
    // and so is everything that depends on it.
    // Cargo clears a unit's fingerprint before it rebuilds the unit and writes it back last: a
    // fingerprint that still holds what the scan read means the files checked above belong to
    // that build of the unit.
    for &unit in &new_units {
        if units[unit].current_fingerprint(&build_directory) != units[unit].fingerprint {
            changed_units.insert(unit);
        }
    }
    pause("ingest-staged");
    let order = topological(&new_units, &verdicts.dependencies);
    let timestamp = now();
    let transaction = store.index_mut().transaction()?;
    for record in &records {
        transaction.insert_object(record, timestamp)?;
    }
    let mut unit_ids: Vec<i64> = stored.values().copied().collect();
    let mut committed: BTreeSet<usize> = BTreeSet::new();
    // The row of every unit of the scan that is stored, already or now.
    let mut rows: HashMap<usize, i64> =
        (0..units.len()).filter_map(|index| Some((index, *stored.get(keys[index].as_ref()?.as_str())?))).collect();
    for unit_index in order {
        let unit = &units[unit_index];
        let ready = verdicts.dependencies[unit_index].iter().all(|dependency| {
            committed.contains(dependency)
                || keys[*dependency].as_ref().is_some_and(|key| stored.contains_key(key.as_str()))
        });
        if changed_units.contains(&unit_index) || !ready {
            skip(SkipReason::Incomplete, unit.name.clone());
            continue;
        }
        let Ok(package) = verdicts.verdicts[unit_index] else { continue };
        let Some(key) = &keys[unit_index] else { continue };
        let package = &workspace.packages[package];
        let new_unit = manifest(unit, key, &namespace, package, &objects, &verdicts.dependencies[unit_index], &keys);
        for file in &unit.files {
            if file.size == 0 {
                continue;
            }
            if let Some(id) = objects.get(&(file.device, file.inode))
                && !created.contains(id)
            {
                report.bytes_deduplicated += file.size;
            }
        }
        report.files_added += unit.files.len() as u64;
        // Write transactions are serialised, so a unit is either stored by a concurrent ingest
        // already (keep its row and manifest) or inserted here with its manifest.
        let id = match transaction.unit_id(&new_unit.key)? {
            Some(id) => id,
            None => {
                directory.write_manifest(&new_unit)?;
                transaction.insert_unit(&new_unit, timestamp)?
            }
        };
        unit_ids.push(id);
        rows.insert(unit_index, id);
        committed.insert(unit_index);
        report.units_added += 1;
    }
    let root = transaction.register_root(&build_directory, build_metadata.dev(), build_metadata.ino(), timestamp)?;
    transaction.reference(root, &unit_ids, timestamp)?;
    // What this directory's newest builds use, for new worktrees of the same repository.
    let current: Vec<i64> = current_units(&scanned, &verdicts)
        .into_iter()
        .enumerate()
        .filter(|&(_, current)| current)
        .filter_map(|(index, _)| rows.get(&index).copied())
        .collect();
    transaction.set_current(root, &build_inputs_digest(&workspace), &current)?;
    transaction.set_workspace(root, &workspace.root, repository_of(&workspace.root).as_deref())?;
    transaction.commit()?;
    progress.finish();
    // A sync need not look here again until cargo builds here again. The shape is the one from
    // before the scan, so whatever a build added meanwhile is looked at next time.
    if let Some(shape) = &shape {
        crate::sync::remember_shape(&options.store, &build_directory, shape);
    }
    let retimes = plan_retimes(&store, units, &verdicts.dependencies, &rows, &build_directory)?;
    drop(store);
    if !retimes.is_empty() {
        match retime(&options.store, &retimes)? {
            Some(count) => report.units_retimed = count,
            None => report.units_retime_deferred = retimes.len() as u64,
        }
    }
    if let Some(remote) = &options.push {
        report.push = Some(crate::remote::push_in_passing(&options.store, &workspace, remote, waiting)?);
    }
    if let Some(max_size) = options.size_budget {
        let options = GcOptions {
            store: options.store.clone(),
            max_age: DEFAULT_MAX_AGE,
            max_size,
            dry_run: false,
            auto: Some(Auto::OverBudget),
            sweep: false,
        };
        let collected = gc(&options, &mut |_| {})?;
        report.gc = collected.skipped.is_none().then_some(collected);
    }

    report.units_skipped = skipped_counts.values().sum();
    report.skipped = skipped
        .into_iter()
        .map(|(reason, labels)| SkipGroup {
            reason,
            explanation: reason.explanation().to_owned(),
            units: skipped_counts[&reason],
            packages: labels.into_iter().collect(),
        })
        .collect();
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// A stored unit that is to take the times of this build's copy.
struct Retime {
    /// Its row.
    unit: i64,
    /// The stored times decided against: if they changed meanwhile, leave the unit alone.
    expected: Vec<(Vec<u8>, i64)>,
    /// The new times, per file.
    times: Vec<(Vec<u8>, i64)>,
    /// Objects to be replaced by this build's files (path, what it was when scanned).
    objects: Vec<(ObjectId, PathBuf, FileIdentity)>,
}

/// The stored units of this build that should take its times (see the module docs).
fn plan_retimes(
    store: &Store,
    units: &[Unit],
    dependencies: &[Vec<usize>],
    rows: &HashMap<usize, i64>,
    build_directory: &std::path::Path,
) -> crate::Result<Vec<Retime>> {
    let mut indices: Vec<usize> = rows.keys().copied().collect();
    indices.sort_unstable();
    let ids: Vec<i64> = indices.iter().map(|index| rows[index]).collect();
    let mut stored: HashMap<i64, StoredUnit> =
        store.index().units(&ids)?.into_iter().map(|unit| (unit.id, unit)).collect();
    // Stored dependencies outside this build (there should be none: one key, one graph).
    let outside: Vec<i64> = stored
        .values()
        .flat_map(|unit| unit.dependencies.iter().copied())
        .filter(|dependency| !stored.contains_key(dependency))
        .collect();
    for unit in store.index().units(&outside)? {
        stored.insert(unit.id, unit);
    }
    let mut current: HashMap<i64, Times> = stored.values().map(|unit| (unit.id, stored_times(unit))).collect();
    let mut retimes = Vec::new();
    for index in topological(&indices, dependencies) {
        let (unit, row) = (&units[index], rows[&index]);
        let Some(stored_unit) = stored.get(&row) else { continue };
        let on_disk: BTreeMap<&[u8], &UnitFile> =
            unit.files.iter().map(|file| (file.path.as_os_str().as_bytes(), file)).collect();
        // The same files; not always the same sizes: `deps/*.d` names the target directory it
        // was built in. Only the times are taken, the stored bytes stay (an object is only
        // replaced by a file with its very bytes, see `StoreDirectory::replace`).
        let same_files = on_disk.len() == stored_unit.files.len()
            && stored_unit.files.iter().all(|file| on_disk.contains_key(file.path.as_slice()));
        if !same_files
            || stored_unit
                .files
                .iter()
                .all(|file| on_disk[file.path.as_slice()].modified.modified_ns == file.modified_ns)
        {
            continue;
        }
        let (mine, theirs) = (unit.times(), current[&row]);
        let dependencies: Vec<Times> =
            stored_unit.dependencies.iter().filter_map(|dependency| current.get(dependency).copied()).collect();
        let fresh = |times: &Times| dependencies.iter().all(|dependency| dependency.lag(times) == 0);
        if !(fresh(&mine) && (!fresh(&theirs) || (mine != theirs && mine.no_later_than(&theirs)))) {
            continue;
        }
        current.insert(row, mine);
        let place = build_directory.join(&unit.place.path);
        retimes.push(Retime {
            unit: row,
            expected: stored_unit.files.iter().map(|file| (file.path.clone(), file.modified_ns)).collect(),
            times: stored_unit
                .files
                .iter()
                .map(|file| (file.path.clone(), on_disk[file.path.as_slice()].modified.modified_ns))
                .collect(),
            objects: stored_unit
                .files
                .iter()
                .filter_map(|file| {
                    let found = on_disk[file.path.as_slice()];
                    let record = file.object.as_ref()?;
                    (found.class.hardlink_by_default()
                        && found.device == store.device()
                        && found.size == file.size
                        && found.modified.modified_ns != file.modified_ns)
                        .then(|| (record.id, place.join(&found.path), identity(found)))
                })
                .collect(),
        });
    }
    Ok(retimes)
}

/// The times of a stored unit.
fn stored_times(unit: &StoredUnit) -> Times {
    let kind = UnitKind::from_name(&unit.kind).unwrap_or(UnitKind::Library);
    Times::of(kind, unit.files.iter().map(|file| (file.path(), file.class, file.modified_ns)))
}

/// Gives the units of `retimes` their new times, if the exclusive store lock is free now;
/// `None` if it is not. Returns how many units took them.
fn retime(store: &std::path::Path, retimes: &[Retime]) -> crate::Result<Option<u64>> {
    let Some(mut store) = Store::try_open(store, Access::Exclusive)? else {
        return Ok(None);
    };
    let directory = store.directory().clone();
    let transaction = store.index_mut().transaction()?;
    let ids: Vec<i64> = retimes.iter().map(|retime| retime.unit).collect();
    let now_stored: HashMap<i64, StoredUnit> =
        transaction.units(&ids)?.into_iter().map(|unit| (unit.id, unit)).collect();
    let mut count = 0;
    for retime in retimes {
        let unchanged = now_stored.get(&retime.unit).is_some_and(|unit| {
            let mut times: Vec<(Vec<u8>, i64)> =
                unit.files.iter().map(|file| (file.path.clone(), file.modified_ns)).collect();
            times.sort();
            let mut expected = retime.expected.clone();
            expected.sort();
            times == expected
        });
        if !unchanged {
            continue;
        }
        let mut records = Vec::new();
        for (id, path, identity) in &retime.objects {
            let source = ObjectSource { path, identity: *identity, hardlink: true, writable: true };
            match directory.replace(*id, &source) {
                Ok(record) => records.push(record),
                // Changed since the scan, or other bytes than the stored object (a build that
                // is not reproducible): the object stays, and is copied with the new time.
                Err(error @ (cargo_store_cas::Error::Changed { .. } | cargo_store_cas::Error::Filesystem(_))) => {
                    tracing::debug!("{error}");
                }
                Err(error) => return Err(error.into()),
            }
        }
        transaction.retime_unit(retime.unit, &retime.times, &records)?;
        directory.write_manifest(&transaction.new_unit(retime.unit)?)?;
        count += 1;
    }
    transaction.commit()?;
    Ok(Some(count))
}

/// What a file of a unit looked like when it was scanned.
fn identity(file: &UnitFile) -> FileIdentity {
    FileIdentity { size: file.size, inode: file.inode, times: file.modified }
}

/// The manifest of a unit about to be stored.
fn manifest(
    unit: &Unit,
    key: &UnitKey,
    namespace: &str,
    package: &cargo_store_units::Package,
    objects: &HashMap<(u64, u64), ObjectId>,
    dependencies: &[usize],
    keys: &[Option<UnitKey>],
) -> NewUnit {
    // Files of the unit that share an inode were hard links cargo made; number the groups.
    let mut inodes: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for file in &unit.files {
        *inodes.entry((file.device, file.inode)).or_default() += 1;
    }
    let groups: BTreeMap<(u64, u64), u32> = inodes
        .into_iter()
        .filter(|&(_, count)| count > 1)
        .enumerate()
        .map(|(group, (inode, _))| (inode, u32::try_from(group).unwrap_or(u32::MAX)))
        .collect();
    NewUnit {
        key: key.as_str().to_owned(),
        toolchain: namespace.to_owned(),
        layout: unit.place.layout.name().to_owned(),
        place: unit.place.path.to_string_lossy().into_owned(),
        name: unit.name.clone(),
        kind: unit.kind.name().to_owned(),
        fingerprint_name: unit.fingerprint_name.clone(),
        fingerprint: unit.fingerprint.clone().unwrap_or_default(),
        package: PackageKey {
            name: package.id.name.clone(),
            version: package.id.version.clone(),
            source: package.id.source.clone().unwrap_or_default(),
        },
        bytes: unit.bytes(),
        files: unit
            .files
            .iter()
            .map(|file| ManifestEntry {
                path: file.path.as_os_str().as_bytes().to_vec(),
                object: if file.size == 0 { None } else { objects.get(&(file.device, file.inode)).copied() },
                size: file.size,
                mode: file.mode,
                modified_ns: file.modified.modified_ns,
                class: file.class,
                link_group: groups.get(&(file.device, file.inode)).copied(),
            })
            .collect(),
        dependencies: dependencies
            .iter()
            .filter_map(|&dependency| keys[dependency].as_ref().map(|key| key.as_str().to_owned()))
            .collect(),
    }
}

/// `units` ordered so that each comes after its dependencies among them.
fn topological(units: &[usize], dependencies: &[Vec<usize>]) -> Vec<usize> {
    let wanted: BTreeSet<usize> = units.iter().copied().collect();
    let mut visited = BTreeSet::new();
    let mut order = Vec::with_capacity(units.len());
    fn visit(
        index: usize,
        wanted: &BTreeSet<usize>,
        dependencies: &[Vec<usize>],
        visited: &mut BTreeSet<usize>,
        order: &mut Vec<usize>,
    ) {
        if !visited.insert(index) {
            return;
        }
        for &dependency in &dependencies[index] {
            visit(dependency, wanted, dependencies, visited, order);
        }
        if wanted.contains(&index) {
            order.push(index);
        }
    }
    for &unit in units {
        visit(unit, &wanted, dependencies, &mut visited, &mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first() {
        // 0 depends on 1, 1 on 2; 3 is alone.
        let dependencies = vec![vec![1], vec![2], vec![], vec![]];
        let order = topological(&[0, 1, 2, 3], &dependencies);
        let position = |unit| order.iter().position(|&u| u == unit).expect("present");
        assert!(position(2) < position(1) && position(1) < position(0));
        assert_eq!(order.len(), 4);
    }
}
