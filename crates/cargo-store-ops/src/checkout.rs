//! `checkout`: lay the stored units of a workspace's packages into its build directory.
//!
//! A checkout is a plan, then its application, so that `--dry-run`, `--explain` and the real
//! run can never disagree: [`Plan::new`] decides for every stored unit whether it is placed,
//! already there, built here by cargo itself, or left out and why, and for every file how it
//! is placed and with which mtime; a dry run reports the plan, a real run applies it.
//!
//! # What the plan decides
//!
//! - **Which copy.** One unit per name and place: the one whose fingerprint the build
//!   directory already holds, else the most recently used.
//! - **What is there.** A file that is there with the recorded size and mtime is left alone. A
//!   unit whose fingerprint file already holds the stored fingerprint was built here by cargo
//!   (its files have other mtimes, and some other bytes such as absolute paths in dep-info):
//!   it is "built here", never touched and never a conflict. Any other file that is there and
//!   differs makes its unit (and every unit above it) left out and reported, never
//!   overwritten. Objects are checked against the index (size, mtime, inode) before they are
//!   linked, so a damaged object is never handed out.
//! - **When.** Cargo rebuilds a unit whose dependency's outputs are newer than its own (see
//!   `cargo_store_units::Times`). The store may hold a unit from one build and its dependency
//!   from a later one, and the build directory may hold units cargo built here. So the plan
//!   walks the units dependencies first and gives each unit to be placed the times its
//!   dependencies require: when its stored times are too old, all of its files move later by
//!   the same amount and are placed as private copies (reflinks where possible), never as hard
//!   links, so no shared inode's mtime ever changes. Ingest heals the store so that this is
//!   rare (see `ingest`).
//!
//! The root is registered first, in the same transaction that reads the manifests, so a
//! garbage collection that starts the moment after sees this worktree's claim on the units.
//! The files are then placed in parallel by the link policy of `cargo-store-fs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::{Access, CacheBucket, PackageKey, Store, StoreDirectory, StoredFile, StoredUnit, now};
use cargo_store_fs::{FileTimes, LinkMode, LinkRequest, Linker, tag_cache_directory, write_new};
use cargo_store_units::{Layout, Times, Toolchain, UnitKind, Workspace, build_inputs_digest, repository_of};
use rayon::prelude::*;
use serde::Serialize;

use crate::pause::pause;
use crate::progress::{NoProgress, Progress};
use crate::{Error, REPORT_VERSION, elapsed_ms, load_workspace};

/// What to check out, and how.
#[derive(Debug, Clone)]
pub struct CheckoutOptions {
    /// The store directory.
    pub store: PathBuf,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_directory: Option<PathBuf>,
    /// `--link-mode`.
    pub link: LinkRequest,
    /// `--strict`: fail instead of falling back from the requested link mode.
    pub strict: bool,
    /// `--dry-run`: change nothing, report what would be placed.
    pub dry_run: bool,
    /// `--explain`: say for every package of the lock file why it was placed or not.
    pub explain: bool,
    /// Ingest first what the repository's other worktrees built (`--no-sync` turns it off);
    /// never in a dry run, which changes nothing.
    pub sync: bool,
    /// The remote to pull what the local store lacks from first (`None`: `--offline`, or no
    /// remote configured); never in a dry run.
    pub remote: Option<String>,
}

/// What a checkout did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckoutReport {
    /// Schema version of this report.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// The target directory.
    pub target_directory: PathBuf,
    /// The build directory files were placed into.
    pub build_directory: PathBuf,
    /// The toolchain namespace.
    pub toolchain: String,
    /// Units that got at least one file from this run.
    pub units_placed: u64,
    /// Of those, units placed with later mtimes than stored, as private copies, because a
    /// dependency in this build directory is newer than their stored copy.
    pub units_retimed: u64,
    /// Units that were entirely there already.
    pub units_present: u64,
    /// Units that cargo built here itself (the fingerprint is the stored one, the files have
    /// their own mtimes): left alone.
    pub units_built_here: u64,
    /// Units left out: a conflicting file, a damaged object, a unit here that cargo will
    /// rebuild, or a dependency left out.
    pub units_skipped: u64,
    /// Stored variants not considered: the newest builds of this repository's other
    /// worktrees with the same lock file and manifests used other variants of those packages
    /// (other features, RUSTFLAGS or profile settings), which the next build here will use too.
    pub units_other_variants: u64,
    /// Stored units left out because `cargo build` here never compiles their package (a
    /// dev-dependency, another platform's dependency) and no other worktree of this
    /// repository with the same lock file and manifests builds it.
    pub units_not_built_here: u64,
    /// Files placed by reflink.
    pub files_reflinked: u64,
    /// Files placed by hard link.
    pub files_hardlinked: u64,
    /// Files placed by copy.
    pub files_copied: u64,
    /// Empty files created.
    pub files_created: u64,
    /// Files that were there already.
    pub files_present: u64,
    /// Files hard-linked to another file of the same unit, as cargo made them
    /// (`build-script-build` and its twin): no inode is shared with the store.
    pub files_linked_within_units: u64,
    /// Bytes of the files placed, each inode once.
    pub bytes: u64,
    /// Files that exist with other contents, relative to the build directory: never replaced.
    pub conflicts: Vec<String>,
    /// When the store has no unit of this workspace's packages for its toolchain: the
    /// toolchains it has units of them for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_toolchains: Vec<String>,
    /// Fallbacks and damaged objects, for the user.
    pub warnings: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// With `--explain`: every package of the lock file, and why it was placed or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<crate::Explanation>,
    /// What the sync before the checkout ingested; `null` with `--no-sync` or `--dry-run`.
    pub sync: Option<crate::SyncReport>,
    /// What was pulled from the remote first; `null` without a remote, with `--offline` or
    /// `--dry-run`.
    pub remote: Option<crate::PullReport>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Checks the stored units of a workspace's packages out into its build directory.
pub fn checkout(options: &CheckoutOptions, waiting: &mut dyn FnMut(&str)) -> crate::Result<CheckoutReport> {
    checkout_with_progress(options, waiting, &NoProgress)
}

/// [`checkout`], reporting the files placed to `progress`.
pub fn checkout_with_progress(
    options: &CheckoutOptions,
    waiting: &mut dyn FnMut(&str),
    progress: &dyn Progress,
) -> crate::Result<CheckoutReport> {
    let start = Instant::now();
    let store_existed = options.store.is_dir();
    let workspace =
        load_workspace(&options.store, options.manifest_path.as_deref(), options.target_directory.as_deref())?;
    let toolchain =
        Toolchain::detect_cached(&workspace.root, crate::cache(&options.store, CacheBucket::Rustc).as_deref())?;
    let namespace = toolchain.namespace();
    let packages = storable_packages(&workspace);
    let build_directory = workspace.build_directory.clone();
    let mut report = CheckoutReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        target_directory: workspace.target_directory.clone(),
        build_directory: build_directory.clone(),
        toolchain: namespace.clone(),
        units_placed: 0,
        units_retimed: 0,
        units_present: 0,
        units_built_here: 0,
        units_skipped: 0,
        units_other_variants: 0,
        units_not_built_here: 0,
        files_reflinked: 0,
        files_hardlinked: 0,
        files_copied: 0,
        files_created: 0,
        files_present: 0,
        files_linked_within_units: 0,
        bytes: 0,
        conflicts: Vec::new(),
        other_toolchains: Vec::new(),
        warnings: Vec::new(),
        dry_run: options.dry_run,
        explanations: Vec::new(),
        sync: None,
        remote: None,
        elapsed_ms: 0,
    };

    refuse_while_cargo_builds(&build_directory)?;
    let before = crate::sync::shape(&build_directory);
    if options.sync && !options.dry_run {
        report.sync = Some(crate::sync::sync(&options.store, &workspace, crate::sync::SYNC_BUDGET));
    }
    if let Some(remote) = options.remote.as_deref().filter(|_| !options.dry_run) {
        let pulled = crate::remote::pull_in_passing(&options.store, &workspace, remote, waiting)?;
        report.warnings.extend(pulled.warnings.iter().cloned());
        report.remote = Some(pulled);
    }
    // What cargo built here already, to say why it did not use the stored builds.
    let here = if options.explain { crate::misses::built_here(&workspace, &toolchain)? } else { Vec::new() };
    let mut store = Store::open(&options.store, Access::Shared, waiting)?;
    if !store_existed {
        crate::remember_workspace(
            &options.store,
            options.manifest_path.as_deref(),
            options.target_directory.as_deref(),
            &workspace,
        );
    }
    if !options.dry_run {
        create_target(&workspace.target_directory, &build_directory)?;
    }
    let mut context = crate::explain::ExplainContext { dry_run: options.dry_run, ..Default::default() };
    let mut stored_builds = Vec::new();
    let host_cfg_cache = store.directory().cache(CacheBucket::HostCfg);
    let (units, holding_fingerprints) = {
        let transaction = store.index_mut().transaction()?;
        let candidates = transaction.units_for_packages(&namespace, &packages)?;
        if candidates.is_empty() {
            let mut others = BTreeSet::new();
            for package in &packages {
                others.extend(transaction.package_toolchains(package)?.into_iter().map(|(toolchain, _)| toolchain));
            }
            report.other_toolchains = others.into_iter().filter(|toolchain| *toolchain != namespace).collect();
        }
        let repository = repository_of(&workspace.root);
        let preferred = match &repository {
            Some(repository) => transaction.current_units(repository, &build_inputs_digest(&workspace))?,
            None => HashSet::new(),
        };
        // What `cargo build` here never compiles (dev-dependencies, other platforms' crates)
        // is left out when the repository's other worktrees do not build it either.
        if !preferred.is_empty() || options.explain {
            let cfg = toolchain.host_cfg_cached(&workspace.root, Some(&host_cfg_cache))?;
            context.built = workspace.built_on(&toolchain.host, &cfg);
            context.host = toolchain.host.clone();
        }
        let not_built: HashSet<PackageKey> = if preferred.is_empty() {
            HashSet::new()
        } else {
            workspace
                .packages
                .iter()
                .zip(&context.built)
                .filter(|(_, built)| **built != Some(true))
                .filter_map(|(package, _)| package_key(package))
                .collect()
        };
        let selection = select(candidates, &build_directory, &preferred, &not_built);
        report.units_not_built_here = selection.not_built.values().sum();
        context.not_built = selection.not_built.clone();
        report.units_other_variants = selection.other_variants.values().sum();
        context.other_variants = selection.other_variants.clone();
        context.preferred = !preferred.is_empty();
        if options.explain {
            for package in &packages {
                context.toolchains.insert(package.clone(), transaction.package_toolchains(package)?);
                let mut versions = transaction.package_versions(&namespace, package)?;
                // Newest first (pre-releases and build metadata aside: this is for people).
                versions.sort_by_cached_key(|(version, _)| {
                    std::cmp::Reverse(
                        version.split(['.', '-', '+']).map(|part| part.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>(),
                    )
                });
                if !versions.is_empty() {
                    context.other_versions.insert(package.clone(), versions);
                }
            }
            let built: BTreeSet<PackageKey> = here.iter().map(|(package, _)| package.clone()).collect();
            let built: Vec<PackageKey> = built.into_iter().collect();
            stored_builds = transaction.units_for_packages(&namespace, &built)?;
            let outside: Vec<i64> = selection.dropped.iter().flat_map(|(_, missing)| missing.iter().copied()).collect();
            let outside: HashMap<i64, PackageKey> =
                transaction.units(&outside)?.into_iter().map(|unit| (unit.id, unit.package)).collect();
            for (package, missing) in &selection.dropped {
                let versions = context.dropped.entry(package.clone()).or_default();
                versions.extend(missing.iter().filter_map(|id| outside.get(id)).cloned());
            }
        }
        if !options.dry_run {
            let metadata =
                fs::metadata(&build_directory).map_err(Error::worktree("read metadata of", &build_directory))?;
            let timestamp = now();
            let root = transaction.register_root(&build_directory, metadata.dev(), metadata.ino(), timestamp)?;
            transaction.set_workspace(root, &workspace.root, repository.as_deref())?;
            let ids: Vec<i64> = selection.units.iter().map(|unit| unit.id).collect();
            transaction.reference(root, &ids, timestamp)?;
            transaction.commit()?;
        }
        (selection.units, selection.holding_fingerprints)
    };

    pause("checkout-registered");
    context.misses = crate::misses::misses(&here, &stored_builds, store.directory(), &build_directory);

    let plan = Plan::new(&units, &holding_fingerprints, &build_directory, store.directory());
    for (unit, planned) in units.iter().zip(&plan.units) {
        tracing::debug!("checkout: {} ({}): {:?}", unit.name, unit.fingerprint_name, planned.verdict);
    }
    for unit in &plan.units {
        match unit.verdict {
            Verdict::Place { delta } => {
                report.units_placed += 1;
                report.units_retimed += u64::from(delta > 0);
            }
            Verdict::Present => report.units_present += 1,
            Verdict::BuiltHere => report.units_built_here += 1,
            Verdict::Left(_) => report.units_skipped += 1,
        }
    }
    report.conflicts = plan.conflicts.clone();
    report.warnings.extend(plan.warnings.iter().cloned());
    report.files_present = plan.files.iter().filter(|file| matches!(file.action, Action::Keep)).count() as u64;
    if options.explain {
        report.explanations = crate::explain::explain(&workspace, &namespace, &plan, &context);
    }
    if options.dry_run {
        report.bytes = plan
            .files
            .iter()
            .filter(|file| matches!(file.action, Action::Place { .. }))
            .map(|file| file.file.size)
            .sum();
        report.elapsed_ms = elapsed_ms(start);
        return Ok(report);
    }
    apply(&plan, options, &store, &build_directory, progress, &mut report)?;
    // When nothing was here that an ingest has not seen (a new directory, or the shape the
    // last ingest saw), a sync need not ingest this directory until cargo builds here.
    if (before.is_none() || before == crate::sync::recorded_shape(&options.store, &build_directory))
        && let Some(after) = crate::sync::shape(&build_directory)
    {
        crate::sync::remember_shape(&options.store, &build_directory, &after);
    }
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// Carries out a plan: directories first (once each), then the files in parallel, then cargo's
/// own hard links within units. What another process placed meanwhile counts as present.
fn apply(
    plan: &Plan<'_>,
    options: &CheckoutOptions,
    store: &Store,
    build_directory: &Path,
    progress: &dyn Progress,
    report: &mut CheckoutReport,
) -> crate::Result<()> {
    let directories: BTreeSet<&Path> = plan
        .files
        .iter()
        .filter(|file| matches!(file.action, Action::Place { .. } | Action::LinkTo(_)))
        .filter_map(|file| file.destination.parent())
        .collect();
    for directory in directories {
        fs::create_dir_all(directory).map_err(Error::worktree("create directory", directory))?;
    }
    let directory = store.directory();
    let linker = Linker::new(options.link, options.strict, store.root(), build_directory);
    let to_place: Vec<&PlannedFile> =
        plan.files.iter().filter(|file| matches!(file.action, Action::Place { .. })).collect();
    progress.start("placing", to_place.len() as u64);
    let outcomes: Vec<crate::Result<Option<LinkMode>>> = to_place
        .par_iter()
        .map(|file| {
            let placed = place(directory, &linker, file);
            progress.advance(1);
            placed
        })
        .collect();
    progress.finish();
    let mut placed_units: BTreeSet<usize> = BTreeSet::new();
    for (file, outcome) in to_place.iter().zip(outcomes) {
        match outcome {
            Ok(Some(LinkMode::Reflink)) => report.files_reflinked += 1,
            Ok(Some(LinkMode::Hardlink)) => report.files_hardlinked += 1,
            Ok(Some(LinkMode::Copy)) => report.files_copied += 1,
            Ok(None) => report.files_created += 1,
            // Someone (a concurrent checkout, a build) put the file there meanwhile.
            Err(error) if is_already_exists(&error) => {
                report.files_present += 1;
                continue;
            }
            Err(error) => return Err(error),
        }
        placed_units.insert(file.unit);
        report.bytes += file.file.size;
    }
    for file in &plan.files {
        let Action::LinkTo(leader) = &file.action else { continue };
        match fs::hard_link(leader, &file.destination) {
            Ok(()) => {
                report.files_linked_within_units += 1;
                placed_units.insert(file.unit);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => report.files_present += 1,
            Err(error) => return Err(Error::worktree("hard-link", &file.destination)(error)),
        }
    }
    // A unit whose every file a concurrent checkout placed first was not placed by this one.
    let planned = report.units_placed;
    report.units_placed = placed_units.len() as u64;
    report.units_present += planned - report.units_placed;
    report.units_retimed = plan
        .units
        .iter()
        .enumerate()
        .filter(|(index, unit)| {
            matches!(unit.verdict, Verdict::Place { delta } if delta > 0) && placed_units.contains(index)
        })
        .count() as u64;
    report.warnings.extend(linker.warnings());
    Ok(())
}

/// What the plan decided for a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Files are placed, moved `delta` ns later than stored (0: as stored).
    Place { delta: i64 },
    /// Every file is there with the stored size and mtime.
    Present,
    /// Cargo built the unit here: its fingerprint file holds the stored fingerprint.
    BuiltHere,
    /// Not placed.
    Left(Reason),
}

/// Why a unit is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A file is there with other contents.
    Conflict,
    /// An object does not match the index.
    Damaged,
    /// The unit is here but older than a dependency: cargo will rebuild it.
    Stale,
    /// Some files were placed before with the stored times, which are too old now.
    PartlyPlaced,
    /// A dependency is left out or will be rebuilt.
    Dependency,
}

/// The plan for one unit.
pub(crate) struct PlannedUnit {
    pub(crate) verdict: Verdict,
}

/// What to do with one file.
enum Action {
    /// It is there already: leave it.
    Keep,
    /// Place it from its object (or create it empty) with this mtime; `shareable` when the
    /// object's inode may be handed out as it is.
    Place { modified_ns: i64, shareable: bool },
    /// Hard-link it to this file of the same unit, as cargo had it.
    LinkTo(PathBuf),
    /// Its unit is not placed.
    Nothing,
}

/// One file of a planned unit.
struct PlannedFile<'a> {
    unit: usize,
    file: &'a StoredFile,
    destination: PathBuf,
    action: Action,
}

/// The whole decision of a checkout.
pub(crate) struct Plan<'a> {
    /// One per unit, in the order of the units given to [`Plan::new`].
    pub(crate) units: Vec<PlannedUnit>,
    /// The package of each unit.
    pub(crate) unit_packages: Vec<PackageKey>,
    files: Vec<PlannedFile<'a>>,
    conflicts: Vec<String>,
    warnings: Vec<String>,
}

/// What a destination holds.
enum Found {
    /// Nothing; the object is fine (`shareable` when its inode may be handed out).
    Missing { shareable: bool },
    /// Nothing, and the object is damaged.
    Damaged(String),
    /// The file, with the stored size and mtime.
    Same,
    /// Something else, with this mtime.
    Other { modified_ns: i64 },
}

impl<'a> Plan<'a> {
    /// Decides what to do with `units` (each of whose dependencies is among them) in
    /// `build_directory`, where the fingerprint files of `holding_fingerprints` hold the
    /// stored fingerprints.
    fn new(
        units: &'a [StoredUnit],
        holding_fingerprints: &HashSet<i64>,
        build_directory: &Path,
        directory: &StoreDirectory,
    ) -> Plan<'a> {
        let destinations: Vec<(usize, &StoredFile, PathBuf)> = units
            .iter()
            .enumerate()
            .flat_map(|(index, unit)| {
                let place = build_directory.join(&unit.place);
                unit.files.iter().map(move |file| (index, file, place.join(file.path())))
            })
            .collect();
        let found: Vec<Found> =
            destinations.par_iter().map(|(_, file, destination)| look(directory, file, destination)).collect();
        let built_here: Vec<bool> = units.iter().map(|unit| holding_fingerprints.contains(&unit.id)).collect();

        let mut conflicts = Vec::new();
        let mut warnings = Vec::new();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; units.len()];
        let mut partly: Vec<bool> = vec![false; units.len()];
        let mut here_times: Vec<Vec<(PathBuf, FileClassTime)>> = vec![Vec::new(); units.len()];
        for ((unit, file, destination), found) in destinations.iter().zip(&found) {
            match found {
                Found::Other { modified_ns } if built_here[*unit] => {
                    here_times[*unit].push((file.path().to_path_buf(), (file.class, *modified_ns)));
                    verdicts[*unit] = Some(Verdict::BuiltHere);
                }
                Found::Other { .. } => {
                    conflicts.push(relative(destination, build_directory));
                    verdicts[*unit] = Some(Verdict::Left(Reason::Conflict));
                }
                Found::Damaged(message) => {
                    warnings.push(message.clone());
                    if verdicts[*unit].is_none() {
                        verdicts[*unit] = Some(Verdict::Left(Reason::Damaged));
                    }
                }
                Found::Same => {
                    partly[*unit] = true;
                    here_times[*unit].push((file.path().to_path_buf(), (file.class, file.modified_ns)));
                }
                Found::Missing { .. } => {}
            }
        }
        // A unit built here may also have files placed earlier: they count as here.
        for (index, unit) in units.iter().enumerate() {
            if verdicts[index].is_none() && unit.files.iter().len() == here_times[index].len() {
                verdicts[index] = Some(Verdict::Present);
            }
        }

        // Dependencies first: the times each unit must have for cargo to find it fresh.
        let index_of: HashMap<i64, usize> = units.iter().enumerate().map(|(index, unit)| (unit.id, index)).collect();
        let mut effective: Vec<Option<Times>> = vec![None; units.len()];
        for index in dependency_order(units, &index_of) {
            let unit = &units[index];
            let kind = UnitKind::from_name(&unit.kind).unwrap_or(UnitKind::Library);
            let dependencies: Vec<usize> =
                unit.dependencies.iter().filter_map(|dependency| index_of.get(dependency).copied()).collect();
            let blocked = dependencies.iter().any(|&dependency| matches!(verdicts[dependency], Some(Verdict::Left(_))));
            match verdicts[index] {
                None if blocked => {
                    verdicts[index] = Some(Verdict::Left(Reason::Dependency));
                    continue;
                }
                // Here already, over a dependency that is not: cargo rebuilds both.
                Some(Verdict::Present | Verdict::BuiltHere) if blocked => {
                    verdicts[index] = Some(Verdict::Left(Reason::Stale));
                    continue;
                }
                _ => {}
            }
            let stored = Times::of(kind, unit.files.iter().map(|file| (file.path(), file.class, file.modified_ns)));
            let lag = |times: &Times| {
                dependencies
                    .iter()
                    .filter_map(|&dependency| effective[dependency].as_ref())
                    .map(|dependency| dependency.lag(times))
                    .max()
                    .unwrap_or(0)
            };
            match verdicts[index] {
                Some(Verdict::BuiltHere) => {
                    let times = Times::of(
                        kind,
                        here_times[index].iter().map(|(path, (class, time))| (path.as_path(), *class, *time)),
                    );
                    if lag(&times) > 0 {
                        verdicts[index] = Some(Verdict::Left(Reason::Stale));
                    } else {
                        effective[index] = Some(times);
                    }
                }
                Some(Verdict::Present) => {
                    if lag(&stored) > 0 {
                        verdicts[index] = Some(Verdict::Left(Reason::Stale));
                    } else {
                        effective[index] = Some(stored);
                    }
                }
                None => {
                    let delta = lag(&stored);
                    if delta > 0 && partly[index] {
                        verdicts[index] = Some(Verdict::Left(Reason::PartlyPlaced));
                    } else {
                        verdicts[index] = Some(Verdict::Place { delta });
                        effective[index] = Some(stored.shifted(delta));
                    }
                }
                Some(Verdict::Left(_) | Verdict::Place { .. }) => {}
            }
        }
        // Above a unit left out, nothing is placed (cargo rebuilds all of it).
        let verdicts: Vec<Verdict> =
            verdicts.into_iter().map(|verdict| verdict.unwrap_or(Verdict::Left(Reason::Dependency))).collect();
        let verdicts = left_with_dependents(units, &index_of, verdicts);

        let mut leaders: HashMap<(usize, u32), PathBuf> = HashMap::new();
        let files = destinations
            .into_iter()
            .zip(found)
            .map(|((unit, file, destination), found)| {
                let action = match (verdicts[unit], found) {
                    (Verdict::Place { .. }, Found::Same) => Action::Keep,
                    (Verdict::Place { delta }, Found::Missing { shareable }) => {
                        match file.link_group.map(|group| (unit, group)) {
                            Some(group) if leaders.contains_key(&group) => Action::LinkTo(leaders[&group].clone()),
                            group => {
                                if let Some(group) = group {
                                    leaders.insert(group, destination.clone());
                                }
                                Action::Place {
                                    modified_ns: file.modified_ns.saturating_add(delta),
                                    shareable: shareable && delta == 0,
                                }
                            }
                        }
                    }
                    (Verdict::Present | Verdict::BuiltHere, _) => Action::Keep,
                    _ => Action::Nothing,
                };
                PlannedFile { unit, file, destination, action }
            })
            .collect();
        Plan {
            units: verdicts.into_iter().map(|verdict| PlannedUnit { verdict }).collect(),
            unit_packages: units.iter().map(|unit| unit.package.clone()).collect(),
            files,
            conflicts,
            warnings,
        }
    }
}

/// A file's class and mtime, as the freshness rules need them.
type FileClassTime = (cargo_store_fs::FileClass, i64);

/// `verdicts` with every unit above a left-out unit left out too.
fn left_with_dependents(
    units: &[StoredUnit],
    index_of: &HashMap<i64, usize>,
    mut verdicts: Vec<Verdict>,
) -> Vec<Verdict> {
    loop {
        let mut changed = false;
        for (index, unit) in units.iter().enumerate() {
            if matches!(verdicts[index], Verdict::Left(_)) {
                continue;
            }
            let blocked = unit.dependencies.iter().any(|dependency| {
                index_of.get(dependency).is_some_and(|&found| matches!(verdicts[found], Verdict::Left(_)))
            });
            if blocked {
                verdicts[index] = if matches!(verdicts[index], Verdict::Place { .. }) {
                    Verdict::Left(Reason::Dependency)
                } else {
                    Verdict::Left(Reason::Stale)
                };
                changed = true;
            }
        }
        if !changed {
            return verdicts;
        }
    }
}

/// The units in an order where each comes after its dependencies among them.
fn dependency_order(units: &[StoredUnit], index_of: &HashMap<i64, usize>) -> Vec<usize> {
    fn visit(
        index: usize,
        units: &[StoredUnit],
        index_of: &HashMap<i64, usize>,
        visited: &mut Vec<bool>,
        order: &mut Vec<usize>,
    ) {
        if visited[index] {
            return;
        }
        visited[index] = true;
        for dependency in &units[index].dependencies {
            if let Some(&found) = index_of.get(dependency) {
                visit(found, units, index_of, visited, order);
            }
        }
        order.push(index);
    }
    let mut visited = vec![false; units.len()];
    let mut order = Vec::with_capacity(units.len());
    for index in 0..units.len() {
        visit(index, units, index_of, &mut visited, &mut order);
    }
    order
}

/// Fails when cargo holds the build lock (`.cargo-lock`) of a profile directory of
/// `build_directory`: what it is writing would look like conflicts, and the files placed now
/// could be replaced under it. The lock is only tried, never waited for, and let go at once.
fn refuse_while_cargo_builds(build_directory: &Path) -> crate::Result<()> {
    match cargo_lock_held(build_directory) {
        Some(lock) => {
            let path = lock.parent().unwrap_or(build_directory).to_path_buf();
            Err(Error::CargoIsBuilding { path, lock })
        }
        None => Ok(()),
    }
}

/// The first `.cargo-lock` of a profile directory of `build_directory` that cargo holds now,
/// if any; tried, never waited for.
pub(crate) fn cargo_lock_held(build_directory: &Path) -> Option<PathBuf> {
    // Profile directories are `<profile>` and `<triple>/<profile>`.
    let locks = walkdir::WalkDir::new(build_directory)
        .min_depth(2)
        .max_depth(3)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| entry.depth() < 3 || entry.file_name() == ".cargo-lock")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file() && entry.file_name() == ".cargo-lock");
    for entry in locks {
        let Ok(file) = fs::File::open(entry.path()) else { continue };
        if let Err(fs::TryLockError::WouldBlock) = file.try_lock() {
            return Some(entry.into_path());
        }
    }
    None
}

/// Whether the build directory's fingerprint file of `unit` holds the stored fingerprint.
fn holds_fingerprint(build_directory: &Path, unit: &StoredUnit) -> bool {
    Layout::from_name(&unit.layout)
        .and_then(|layout| layout.fingerprint_file(Path::new(&unit.place), &unit.name, &unit.fingerprint_name))
        .and_then(|path| fs::read_to_string(build_directory.join(path)).ok())
        .is_some_and(|text| text.trim() == unit.fingerprint)
}

/// The key units of `package` are filed under; `None` for a path package.
pub(crate) fn package_key(package: &cargo_store_units::Package) -> Option<PackageKey> {
    Some(PackageKey {
        name: package.id.name.clone(),
        version: package.id.version.clone(),
        source: package.id.source.clone()?,
    })
}

/// The packages of a workspace whose units the store may hold: from a registry or git,
/// with sources outside the worktree.
pub(crate) fn storable_packages(workspace: &Workspace) -> Vec<PackageKey> {
    workspace.packages.iter().filter(|package| workspace.why_local(package).is_none()).filter_map(package_key).collect()
}

impl Reason {
    /// The reason in words, for `--explain`.
    pub(crate) fn sentence(self) -> &'static str {
        match self {
            Reason::Conflict => "a file is there with other contents (never overwritten)",
            Reason::Damaged => "an object does not match the index (run `cargo store verify`)",
            Reason::Stale => "the copy here is older than a dependency, so cargo rebuilds it",
            Reason::PartlyPlaced => "some files were placed before with times that are too old now",
            Reason::Dependency => "a unit it depends on is left out or rebuilt",
        }
    }
}

/// The units chosen for a checkout, and the packages whose stored units were all dropped.
struct Selection {
    units: Vec<StoredUnit>,
    /// The units whose fingerprint file in the build directory holds their fingerprint.
    holding_fingerprints: HashSet<i64>,
    /// Per dropped unit's package, the row ids of its dependencies that were not candidates.
    dropped: Vec<(PackageKey, Vec<i64>)>,
    /// Per package, how many stored variants were left out for `preferred` ones.
    other_variants: BTreeMap<PackageKey, u64>,
    /// Per package that the build never compiles, how many stored units were left out.
    not_built: BTreeMap<PackageKey, u64>,
}

/// Chooses the units to place among `units`, the stored units of the workspace's packages:
///
/// 1. Variants: of the stored units of one package, kind and target in one place (other
///    features, RUSTFLAGS, profile settings: other names), keep the `preferred` ones when
///    there are any (what this repository's other worktrees with the same inputs build);
///    without them every variant is kept, since which one the next build uses is not known.
/// 2. One unit per (layout, place, name): a name is one set of paths, and two stored units
///    with the same name (built with other flags elsewhere) cannot both be there. The one
///    whose fingerprint the build directory holds wins, else the most recently used.
/// 3. Units whose dependencies are not all kept are dropped.
///
/// Before all that, units of `not_built` packages (what `cargo build` here never compiles) go
/// unless some of them are preferred.
fn select(
    units: Vec<StoredUnit>,
    build_directory: &Path,
    preferred: &HashSet<i64>,
    not_built: &HashSet<PackageKey>,
) -> Selection {
    let candidates: BTreeSet<i64> = units.iter().map(|unit| unit.id).collect();
    let group = |unit: &StoredUnit| {
        (
            unit.layout.clone(),
            unit.place.clone(),
            unit.package.clone(),
            unit.kind.clone(),
            unit.fingerprint_name.clone(),
        )
    };
    let groups_with_preferred: HashSet<_> =
        units.iter().filter(|unit| preferred.contains(&unit.id)).map(group).collect();
    let packages_with_preferred: HashSet<PackageKey> =
        units.iter().filter(|unit| preferred.contains(&unit.id)).map(|unit| unit.package.clone()).collect();
    let mut other_variants: BTreeMap<PackageKey, u64> = BTreeMap::new();
    let mut not_built_units: BTreeMap<PackageKey, u64> = BTreeMap::new();
    let mut best: BTreeMap<(String, String, String), (bool, StoredUnit)> = BTreeMap::new();
    for unit in units {
        if not_built.contains(&unit.package) && !packages_with_preferred.contains(&unit.package) {
            *not_built_units.entry(unit.package.clone()).or_default() += 1;
            continue;
        }
        if !preferred.contains(&unit.id) && groups_with_preferred.contains(&group(&unit)) {
            *other_variants.entry(unit.package.clone()).or_default() += 1;
            continue;
        }
        let here = holds_fingerprint(build_directory, &unit);
        let slot = (unit.layout.clone(), unit.place.clone(), unit.name.clone());
        match best.get(&slot) {
            Some((current_here, current))
                if (*current_here, current.last_used, current.id) >= (here, unit.last_used, unit.id) => {}
            _ => {
                best.insert(slot, (here, unit));
            }
        }
    }
    let holding_fingerprints: HashSet<i64> = best.values().filter(|(here, _)| *here).map(|(_, unit)| unit.id).collect();
    let mut units: Vec<StoredUnit> = best.into_values().map(|(_, unit)| unit).collect();
    let mut dropped = Vec::new();
    loop {
        let kept: BTreeSet<i64> = units.iter().map(|unit| unit.id).collect();
        let before = units.len();
        units.retain(|unit| {
            let keep = unit.dependencies.iter().all(|dependency| kept.contains(dependency));
            if !keep {
                let outside: Vec<i64> =
                    unit.dependencies.iter().copied().filter(|dependency| !candidates.contains(dependency)).collect();
                dropped.push((unit.package.clone(), outside));
            }
            keep
        });
        if units.len() == before {
            return Selection { units, holding_fingerprints, dropped, other_variants, not_built: not_built_units };
        }
    }
}

/// What is at a destination, or wrong with the object meant for it.
fn look(directory: &StoreDirectory, file: &StoredFile, destination: &Path) -> Found {
    match fs::symlink_metadata(destination) {
        Ok(metadata) => {
            let modified_ns = FileTimes::of(&metadata).modified_ns;
            if metadata.is_file() && metadata.len() == file.size && modified_ns == file.modified_ns {
                Found::Same
            } else {
                Found::Other { modified_ns }
            }
        }
        Err(_) => match &file.object {
            None => Found::Missing { shareable: false },
            Some(record) => {
                let path = directory.object_path(&record.id);
                match fs::symlink_metadata(&path) {
                    Ok(metadata)
                        if metadata.is_file()
                            && metadata.len() == record.size
                            && FileTimes::of(&metadata).modified_ns == record.modified_ns
                            && metadata.ino() == record.inode =>
                    {
                        Found::Missing {
                            shareable: metadata.mode() & 0o200 != 0 && record.modified_ns == file.modified_ns,
                        }
                    }
                    Ok(_) => Found::Damaged(format!(
                        "object `{}` does not match the index (size, mtime or inode changed); its unit was not checked out\nhint: run `cargo store verify`",
                        path.display()
                    )),
                    Err(error) => Found::Damaged(format!(
                        "object `{}` is unreadable ({error}); its unit was not checked out\nhint: run `cargo store verify`",
                        path.display()
                    )),
                }
            }
        },
    }
}

/// Places one file; `None` when an empty file was created.
fn place(directory: &StoreDirectory, linker: &Linker, planned: &PlannedFile<'_>) -> crate::Result<Option<LinkMode>> {
    let Action::Place { modified_ns, shareable } = planned.action else { return Ok(None) };
    let file = planned.file;
    let times = FileTimes { modified_ns };
    match &file.object {
        // What fails here is writing into the worktree (objects were checked by the plan).
        None => {
            write_new(&planned.destination, &[], file.mode, Some(times)).map_err(Error::Worktree)?;
            Ok(None)
        }
        Some(record) => {
            let mode = linker
                .place(
                    &directory.object_path(&record.id),
                    &planned.destination,
                    file.class,
                    file.mode,
                    times,
                    shareable,
                )
                .map_err(Error::Worktree)?;
            Ok(Some(mode))
        }
    }
}

fn is_already_exists(error: &Error) -> bool {
    match error {
        Error::Filesystem(error) | Error::Worktree(error) => {
            error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists)
        }
        _ => false,
    }
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).to_string_lossy().into_owned()
}

/// Creates the target and build directories, tagging the target directory as a cache the way
/// cargo does when it creates one.
fn create_target(target_directory: &Path, build_directory: &Path) -> crate::Result<()> {
    let created = !target_directory.exists();
    for directory in [target_directory, build_directory] {
        fs::create_dir_all(directory).map_err(Error::worktree("create directory", directory))?;
    }
    if created {
        tag_cache_directory(target_directory, "cargo")?;
    }
    Ok(())
}
