//! `checkout`: lay the stored units of a workspace's packages into its build directory.
//!
//! The root is registered first, in the same transaction that reads the manifests, so a
//! garbage collection that starts the moment after sees this worktree's claim on the units.
//! Then every file is checked against what is on disk: a file that is already there with the
//! recorded size and mtime is left alone, a file that is there and differs makes its unit (and
//! every unit above it) skipped and reported, never overwritten. Objects are checked against
//! the index (size, mtime, inode) before they are linked, so a damaged object is never handed
//! out. The remaining files are placed in parallel by the link policy of `cargo-store-fs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::{Access, Objects, PackageKey, Store, StoredFile, StoredUnit, now};
use cargo_store_fs::{FileTimes, LinkMode, LinkRequest, Linker, write_new};
use cargo_store_target::{SourceKind, Toolchain, Workspace};
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
}

/// Why a package was or was not placed.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// `name vX.Y.Z`.
    pub package: String,
    /// Its source; `None` for path packages.
    pub source: Option<String>,
    /// `placed`, `present`, `skipped`, `not-stored`, `other-toolchain`, `incomplete`,
    /// `workspace-member`, `path-source`, `vendored-in-workspace` or `depends-on-path-source`.
    pub verdict: String,
    /// The reason in a sentence.
    pub detail: String,
}

/// What a checkout did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize)]
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
    /// Units that got at least one file.
    pub units_placed: u64,
    /// Units that were entirely there already.
    pub units_present: u64,
    /// Units left out: a conflicting file, a damaged object, or a dependency left out.
    pub units_skipped: u64,
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
    /// Bytes of the files placed.
    pub bytes: u64,
    /// Files that exist with other contents, relative to the build directory: never replaced.
    pub conflicts: Vec<String>,
    /// Fallbacks and damaged objects, for the user.
    pub warnings: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// With `--explain`: every package of the lock file, and why it was placed or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<Explanation>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// One file to place.
struct Placement<'a> {
    unit: usize,
    file: &'a StoredFile,
    destination: PathBuf,
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
    let workspace =
        load_workspace(&options.store, options.manifest_path.as_deref(), options.target_directory.as_deref())?;
    let namespace = Toolchain::detect(&workspace.root)?.namespace();
    let packages = storable_packages(&workspace);
    let build_directory = workspace.build_directory.clone();
    let mut report = CheckoutReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        target_directory: workspace.target_directory.clone(),
        build_directory: build_directory.clone(),
        toolchain: namespace.clone(),
        units_placed: 0,
        units_present: 0,
        units_skipped: 0,
        files_reflinked: 0,
        files_hardlinked: 0,
        files_copied: 0,
        files_created: 0,
        files_present: 0,
        files_linked_within_units: 0,
        bytes: 0,
        conflicts: Vec::new(),
        warnings: Vec::new(),
        dry_run: options.dry_run,
        explanations: Vec::new(),
        elapsed_ms: 0,
    };

    let mut store = Store::open(&options.store, Access::Shared, waiting)?;
    if !options.dry_run {
        create_target(&workspace.target_directory, &build_directory)?;
    }
    let mut toolchains: HashMap<PackageKey, Vec<(String, u64)>> = HashMap::new();
    let mut stored: HashMap<PackageKey, u64> = HashMap::new();
    let units = {
        let transaction = store.index_mut().transaction()?;
        let candidates = transaction.units_for_packages(&namespace, &packages)?;
        if options.explain {
            for package in &packages {
                toolchains.insert(package.clone(), transaction.package_toolchains(package)?);
            }
            for unit in &candidates {
                *stored.entry(unit.package.clone()).or_default() += 1;
            }
        }
        let units = select(candidates);
        if !options.dry_run {
            let metadata = fs::metadata(&build_directory)
                .map_err(|error| cargo_store_cas::Error::io("read metadata of", &build_directory, error))?;
            let root = transaction.register_root(&build_directory, metadata.dev(), metadata.ino(), now())?;
            let ids: Vec<i64> = units.iter().map(|unit| unit.id).collect();
            transaction.reference(root, &ids, now())?;
            transaction.commit()?;
        }
        units
    };

    pause("checkout-registered");

    // Look at what is on disk, and check the objects that will be used.
    let placements: Vec<Placement> = units
        .iter()
        .enumerate()
        .flat_map(|(unit, stored)| {
            let place = build_directory.join(&stored.place);
            stored.files.iter().map(move |file| Placement { unit, file, destination: place.join(file.path()) })
        })
        .collect();
    let objects = store.objects();
    let states: Vec<State> = placements.par_iter().map(|placement| state(objects, placement)).collect();
    let mut blocked: BTreeSet<usize> = BTreeSet::new();
    for (placement, state) in placements.iter().zip(&states) {
        match state {
            State::Conflict => {
                blocked.insert(placement.unit);
                report.conflicts.push(relative(&placement.destination, &build_directory));
            }
            State::Damaged(message) => {
                blocked.insert(placement.unit);
                report.warnings.push(message.clone());
            }
            State::Present | State::Missing { .. } => {}
        }
    }
    let skipped = with_dependents(&units, blocked);
    report.units_skipped = skipped.len() as u64;

    let mut to_place: Vec<(&Placement, bool)> = Vec::new();
    let mut linked_later: Vec<(&Placement, PathBuf)> = Vec::new();
    let mut group_leaders: HashMap<(usize, u32), PathBuf> = HashMap::new();
    let mut placed_units: BTreeSet<usize> = BTreeSet::new();
    for (placement, state) in placements.iter().zip(&states) {
        if skipped.contains(&placement.unit) {
            continue;
        }
        match state {
            State::Present => report.files_present += 1,
            &State::Missing { shareable } => {
                placed_units.insert(placement.unit);
                match placement.file.link_group.map(|group| (placement.unit, group)) {
                    Some(group) if group_leaders.contains_key(&group) => {
                        linked_later.push((placement, group_leaders[&group].clone()));
                    }
                    Some(group) => {
                        group_leaders.insert(group, placement.destination.clone());
                        to_place.push((placement, shareable));
                    }
                    None => to_place.push((placement, shareable)),
                }
            }
            State::Conflict | State::Damaged(_) => {}
        }
    }
    if options.explain {
        let verdicts = Verdicts {
            units: &units,
            skipped: &skipped,
            placed: &placed_units,
            toolchains: &toolchains,
            stored: &stored,
        };
        report.explanations = explain(&workspace, &namespace, &verdicts);
    }
    report.units_placed = placed_units.len() as u64;
    report.units_present = (units.len() - skipped.len() - placed_units.len()) as u64;

    if options.dry_run {
        for placement in
            to_place.iter().map(|(placement, _)| *placement).chain(linked_later.iter().map(|(placement, _)| *placement))
        {
            report.bytes += placement.file.size;
        }
        report.elapsed_ms = elapsed_ms(start);
        return Ok(report);
    }

    // Directories first (once each), then the files in parallel, then cargo's own hard links.
    let directories: BTreeSet<&Path> = to_place
        .iter()
        .map(|(placement, _)| *placement)
        .chain(linked_later.iter().map(|(placement, _)| *placement))
        .filter_map(|placement| placement.destination.parent())
        .collect();
    for directory in directories {
        fs::create_dir_all(directory)
            .map_err(|error| cargo_store_cas::Error::io("create directory", directory, error))?;
    }
    let linker = Linker::new(options.link, options.strict, store.root(), &build_directory);
    progress.start("placing", to_place.len() as u64);
    let outcomes: Vec<crate::Result<Option<LinkMode>>> = to_place
        .par_iter()
        .map(|&(placement, shareable)| {
            let placed = place(objects, &linker, placement, shareable);
            progress.advance(1);
            placed
        })
        .collect();
    progress.finish();
    for ((placement, _), outcome) in to_place.iter().zip(outcomes) {
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
        report.bytes += placement.file.size;
    }
    for (placement, leader) in linked_later {
        match fs::hard_link(&leader, &placement.destination) {
            Ok(()) => report.files_linked_within_units += 1,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => report.files_present += 1,
            Err(error) => return Err(cargo_store_cas::Error::io("hard-link", &placement.destination, error).into()),
        }
    }
    report.warnings.extend(linker.warnings());
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// The packages of a workspace whose units the store may hold: from a registry or git,
/// with sources outside the worktree.
pub(crate) fn storable_packages(workspace: &Workspace) -> Vec<PackageKey> {
    workspace
        .packages
        .iter()
        .filter(|package| package.source_kind != SourceKind::Path && !package.root.starts_with(&workspace.root))
        .filter_map(|package| {
            Some(PackageKey {
                name: package.id.name.clone(),
                version: package.id.version.clone(),
                source: package.id.source.clone()?,
            })
        })
        .collect()
}

/// What the explanations are drawn from.
struct Verdicts<'a> {
    units: &'a [StoredUnit],
    skipped: &'a BTreeSet<usize>,
    placed: &'a BTreeSet<usize>,
    toolchains: &'a HashMap<PackageKey, Vec<(String, u64)>>,
    stored: &'a HashMap<PackageKey, u64>,
}

/// Why each package of the workspace was placed or not.
fn explain(workspace: &Workspace, namespace: &str, verdicts: &Verdicts<'_>) -> Vec<Explanation> {
    // Packages that are built in the worktree, and so make everything above them too.
    let local: Vec<bool> = workspace
        .packages
        .iter()
        .map(|package| package.source_kind == SourceKind::Path || package.root.starts_with(&workspace.root))
        .collect();
    let mut above_local = vec![None; workspace.packages.len()];
    fn reaches_local(index: usize, workspace: &Workspace, local: &[bool], memo: &mut Vec<Option<bool>>) -> bool {
        if let Some(known) = memo[index] {
            return known;
        }
        memo[index] = Some(false);
        let found = workspace.packages[index]
            .dependencies
            .iter()
            .any(|&dependency| local[dependency] || reaches_local(dependency, workspace, local, memo));
        memo[index] = Some(found);
        found
    }
    let mut explanations: Vec<Explanation> = workspace
        .packages
        .iter()
        .enumerate()
        .map(|(index, package)| {
            let (verdict, detail) = if package.member {
                ("workspace-member", "built in the worktree itself".to_owned())
            } else if package.source_kind == SourceKind::Path {
                (
                    "path-source",
                    "path dependencies are fingerprinted by mtime and path: built in the worktree".to_owned(),
                )
            } else if package.root.starts_with(&workspace.root) {
                ("vendored-in-workspace", "its sources are inside the worktree, at another path in each one".to_owned())
            } else if reaches_local(index, workspace, &local, &mut above_local) {
                (
                    "depends-on-path-source",
                    "it depends on a package built in the worktree, so it is built there too".to_owned(),
                )
            } else {
                package_verdict(package, namespace, verdicts)
            };
            Explanation {
                package: package.id.to_string(),
                source: package.id.source.clone(),
                verdict: verdict.to_owned(),
                detail,
            }
        })
        .collect();
    explanations.sort_by(|a, b| a.package.cmp(&b.package));
    explanations
}

/// The verdict on a registry or git package from what the store has of it.
fn package_verdict(
    package: &cargo_store_target::Package,
    namespace: &str,
    verdicts: &Verdicts<'_>,
) -> (&'static str, String) {
    let key = PackageKey {
        name: package.id.name.clone(),
        version: package.id.version.clone(),
        source: package.id.source.clone().unwrap_or_default(),
    };
    let mine: Vec<usize> = (0..verdicts.units.len()).filter(|&unit| verdicts.units[unit].package == key).collect();
    if mine.is_empty() {
        let others: Vec<String> = verdicts
            .toolchains
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(toolchain, _)| toolchain != namespace)
            .map(|(toolchain, count)| format!("{toolchain} ({count} units)"))
            .collect();
        return if verdicts.stored.get(&key).copied().unwrap_or(0) > 0 {
            ("incomplete", "its stored units need units of other packages that are not stored".to_owned())
        } else if !others.is_empty() {
            ("other-toolchain", format!("stored only for another toolchain: {}", others.join(", ")))
        } else {
            ("not-stored", "not stored yet: build it in a worktree and run `cargo store ingest` there".to_owned())
        };
    }
    let skipped = mine.iter().filter(|unit| verdicts.skipped.contains(unit)).count();
    let placed = mine.iter().filter(|unit| verdicts.placed.contains(unit)).count();
    if skipped > 0 {
        (
            "skipped",
            format!(
                "{skipped} of {} units left out: a conflicting file, a damaged object, or a dependency left out",
                mine.len()
            ),
        )
    } else if placed > 0 {
        ("placed", format!("{placed} of {} units placed", mine.len()))
    } else {
        ("present", format!("all {} units were already there", mine.len()))
    }
}

/// Keeps one unit per (layout, place, name): a name is one set of paths, and two stored units
/// with the same name (built with other flags elsewhere) cannot both be there. The most
/// recently used wins. Then drops units whose dependencies are not all kept.
fn select(units: Vec<StoredUnit>) -> Vec<StoredUnit> {
    let mut best: BTreeMap<(String, String, String), StoredUnit> = BTreeMap::new();
    for unit in units {
        let slot = (unit.layout.clone(), unit.place.clone(), unit.name.clone());
        match best.get(&slot) {
            Some(current) if (current.last_used, current.id) >= (unit.last_used, unit.id) => {}
            _ => {
                best.insert(slot, unit);
            }
        }
    }
    let mut units: Vec<StoredUnit> = best.into_values().collect();
    loop {
        let kept: BTreeSet<i64> = units.iter().map(|unit| unit.id).collect();
        let before = units.len();
        units.retain(|unit| unit.dependencies.iter().all(|dependency| kept.contains(dependency)));
        if units.len() == before {
            return units;
        }
    }
}

/// The indices of `blocked` units and of every unit that depends on one of them.
fn with_dependents(units: &[StoredUnit], mut blocked: BTreeSet<usize>) -> BTreeSet<usize> {
    let index_of: HashMap<i64, usize> = units.iter().enumerate().map(|(index, unit)| (unit.id, index)).collect();
    loop {
        let before = blocked.len();
        for (index, unit) in units.iter().enumerate() {
            if unit
                .dependencies
                .iter()
                .any(|dependency| index_of.get(dependency).is_some_and(|found| blocked.contains(found)))
            {
                blocked.insert(index);
            }
        }
        if blocked.len() == before {
            return blocked;
        }
    }
}

/// What is at a destination, or wrong with the object meant for it.
enum State {
    /// Not there; `shareable` when the object's inode may be handed out as is.
    Missing {
        shareable: bool,
    },
    Present,
    Conflict,
    Damaged(String),
}

fn state(objects: &Objects, placement: &Placement) -> State {
    let file = placement.file;
    match fs::symlink_metadata(&placement.destination) {
        Ok(metadata) => {
            if metadata.is_file()
                && metadata.len() == file.size
                && FileTimes::of(&metadata).modified_ns == file.modified_ns
            {
                State::Present
            } else {
                State::Conflict
            }
        }
        Err(_) => match &file.object {
            None => State::Missing { shareable: false },
            Some(record) => {
                let path = objects.path(&record.id);
                match fs::symlink_metadata(&path) {
                    Ok(metadata)
                        if metadata.is_file()
                            && metadata.len() == record.size
                            && FileTimes::of(&metadata).modified_ns == record.modified_ns
                            && metadata.ino() == record.inode =>
                    {
                        State::Missing {
                            shareable: metadata.mode() & 0o200 != 0 && record.modified_ns == file.modified_ns,
                        }
                    }
                    Ok(_) => State::Damaged(format!(
                        "object `{}` does not match the index (size, mtime or inode changed); its unit was not checked out\nhint: run `cargo store verify`",
                        path.display()
                    )),
                    Err(error) => State::Damaged(format!(
                        "object `{}` is unreadable ({error}); its unit was not checked out\nhint: run `cargo store verify`",
                        path.display()
                    )),
                }
            }
        },
    }
}

/// Places one file; `None` when an empty file was created.
fn place(
    objects: &Objects,
    linker: &Linker,
    placement: &Placement,
    shareable: bool,
) -> crate::Result<Option<LinkMode>> {
    let file = placement.file;
    let times = FileTimes { modified_ns: file.modified_ns };
    match &file.object {
        None => {
            write_new(&placement.destination, &[], file.mode, Some(times))?;
            Ok(None)
        }
        Some(record) => {
            let mode = linker.place(
                &objects.path(&record.id),
                &placement.destination,
                file.class,
                file.mode,
                times,
                shareable,
            )?;
            Ok(Some(mode))
        }
    }
}

fn is_already_exists(error: &Error) -> bool {
    match error {
        Error::Filesystem(error) => error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists),
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
        fs::create_dir_all(directory)
            .map_err(|error| cargo_store_cas::Error::io("create directory", directory, error))?;
    }
    if created {
        let tag = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n# For information about cache directory tags see https://bford.info/cachedir/\n";
        match write_new(&target_directory.join("CACHEDIR.TAG"), tag.as_bytes(), 0o644, None) {
            Ok(()) => {}
            Err(error) if error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
