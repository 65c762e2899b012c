//! `sweep`: keep the worktrees' own build directories lean, never making a current build stale.
//!
//! Cargo never collects a build directory: every variant ever built (other features, flags,
//! profiles, `cargo check`, `cargo test`, another toolchain) leaves its units, and every
//! workspace crate an incremental directory per variant, hundreds of MiB each. The store knows
//! every registered build directory (its roots), and can put back any stored dependency unit
//! with `cargo store checkout`, so it can trim them.
//!
//! # What goes
//!
//! In each build directory (the registered live roots, or the workspaces and build
//! directories given), for every place (profile, with or without a target triple) of both
//! layouts:
//!
//! - **Superseded units**: units (dependencies and workspace crates, binaries and tests
//!   alike) that no current build uses and that were not used for `--max-age`. Current means
//!   used, transitively, by the most recent build, check or test of a workspace target in its
//!   place; "used" is the newest modification or status change of the unit's files and of
//!   its dependents' (`cargo_store_units::usage` says how both are read from the directory),
//!   and for a unit an ingest last saw the current builds use, the time of that ingest.
//! - **Other toolchains**: the same, for units built by another toolchain than the
//!   workspace's; those of a toolchain that is no longer installed go whatever their age (no
//!   rustc can ever find them fresh again), unless a current build uses them.
//! - **Incremental directories**: a crate's directory whose newest session is older than
//!   `--max-age` (by the timestamp rustc puts in the session's name), unless it is the newest
//!   one of that crate or it is the one of a current unit (its session was made while cargo
//!   compiled that unit); and, in the directories that stay, the sessions rustc no longer
//!   reads (all but the newest finished one) once older than `--max-age`. A directory whose
//!   session lock rustc holds is never touched.
//! - `--max-size`: while a build directory holds more than that, the least recently used of
//!   everything above that is not current, whatever its age.
//!
//! Nothing that a current build uses goes, so the next build, check or test in the same
//! profile is as fresh as it was. Nothing else is touched either: not the uplifted files
//! (`target/debug/app`), not `doc/`, not a file the scan does not know as part of a unit.
//!
//! # Safety
//!
//! - **Cargo's lock.** A build directory is only swept while this command holds the build
//!   lock (`.cargo-lock`) of each of its places, taken without waiting: if cargo holds one,
//!   the directory is skipped and the report says so; a cargo that starts meanwhile waits
//!   ("Blocking waiting for file lock") until the sweep of that directory is done.
//! - **Only what the scan found.** Files are those of the units `cargo_store_units::scan`
//!   found and of incremental sessions, never a glob. Every path is checked to be inside the
//!   build directory and reached through real directories only (`lstat`, never following a
//!   symbolic link); a symbolic link is removed as a link, never followed; a file whose inode
//!   changed since the scan is left alone.
//! - **A kill at any moment** leaves a directory cargo builds in. A unit's fingerprint hash
//!   file goes first: from then on cargo rebuilds the unit if a build needs it, whatever is
//!   left of it. Then its outputs, then the rest of its fingerprint directory (the JSON last,
//!   so that a later scan still sees the leftover as an incomplete unit and sweeps it). An
//!   incremental session loses its lock file first, after which rustc never reads it.
//! - The store is only read (roots, which units are stored), under its shared lock, for a
//!   moment: a sweep never waits for a build, and builds and other commands never wait for it.
//!
//! "Bytes freed" counts a file only when its last link goes: a unit hard-linked from the store
//! (rustc outputs), or a binary cargo uplifted, frees nothing, and the report says how much it
//! removed and how much that freed separately. Design from cargo-sweep's idea, with what the
//! store knows instead of access times (see docs/guide.md).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use cargo_store_cas::{Access, CacheBucket, RootRecord, RootReference, Store, normalize_path, now};
use cargo_store_units::{
    IncrementalDirectory, Layout, Place, Scan, SessionLock, Toolchain, UnitFile, UnitKey, Workspace, crate_name_of,
    eligibility, find_places, incremental_directories, scan, usage,
};
use serde::Serialize;

use crate::gc::{RootState, root_state};
use crate::pause::pause;
use crate::progress::Progress;
use crate::{Error, REPORT_VERSION, elapsed_ms, load_workspace};

/// Default `--max-age` of a sweep: what no current build used for 7 days goes.
pub const DEFAULT_SWEEP_MAX_AGE: i64 = 7 * 24 * 3600;

/// Rustc leaves a `-working` session younger than this alone even when it can lock it: the
/// compiler that made it may not have locked it yet (rustc's own rule).
const WORKING_SESSION_GRACE_US: i64 = 10_000_000;

/// How much later than the compilation of a unit finished (its fingerprint's mtime) its
/// incremental session may have been created and still count as that compilation's: file
/// times come from the kernel's coarse clock, a few ms behind the one rustc names sessions
/// by; on a filesystem that keeps whole seconds (HFS+, ext3) or two (FAT), up to that much.
const SESSION_SLACK_NS: i64 = 50_000_000;
const COARSE_SESSION_SLACK_NS: i64 = 2_000_000_000;

const NS: i64 = 1_000_000_000;

/// What to sweep, and how.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The store directory.
    pub store: PathBuf,
    /// Workspaces or build directories to sweep; empty: every registered live root.
    pub paths: Vec<PathBuf>,
    /// What no current build used for this many seconds goes.
    pub max_age: i64,
    /// Then, while a build directory holds more than this many bytes, the least recently used
    /// of what no current build uses.
    pub max_size: Option<u64>,
    /// Change nothing; report what would go.
    pub dry_run: bool,
    /// Never wait for the store; a store that is busy or missing is nothing to sweep (what
    /// a timer runs).
    pub auto: bool,
}

impl SweepOptions {
    /// What a daily job runs: every registered root, the default age, no size budget, never
    /// waiting for the store.
    pub fn automatic(store: PathBuf) -> SweepOptions {
        SweepOptions {
            store,
            paths: Vec::new(),
            max_age: DEFAULT_SWEEP_MAX_AGE,
            max_size: None,
            dry_run: false,
            auto: true,
        }
    }
}

/// What was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SweptKind {
    /// A unit no current build uses, built by the workspace's toolchain.
    Superseded,
    /// A unit no current build uses, built by another toolchain.
    OtherToolchain,
    /// A crate's incremental directory.
    IncrementalDirectory,
    /// A session of an incremental directory that stays: one rustc no longer reads, or one a
    /// killed rustc left unfinished.
    IncrementalSession,
}

/// Why it was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SweptBecause {
    /// Not used for `--max-age`.
    Age,
    /// Built by a toolchain that is no longer installed.
    UninstalledToolchain,
    /// The build directory held more than `--max-size`: the least recently used went.
    Size,
}

/// Entries removed of one kind, for one reason.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweptGroup {
    /// What they are.
    pub kind: SweptKind,
    /// Why they went.
    pub because: SweptBecause,
    /// How many units, incremental directories or sessions.
    pub entries: u64,
    /// The bytes of their files, each inode once.
    pub bytes: u64,
    /// The disk space that freed: a file still linked elsewhere (the store, an uplifted copy)
    /// frees nothing.
    pub bytes_freed: u64,
}

/// Why a build directory was not swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RootSkip {
    /// Cargo holds the build lock of one of its places (see `lock`).
    CargoBuilding,
    /// Its directory is gone.
    Missing,
    /// Another directory is at its path now.
    Replaced,
    /// It cannot be read (see `message`).
    Unreadable,
    /// No workspace that builds into it could be read (see `message`): without one, which
    /// units are the workspace's own cannot be told.
    NoWorkspace,
    /// Reading it failed (see `message`).
    Failed,
}

/// What a sweep did in one build directory.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RootSweep {
    /// The build directory.
    pub build_directory: PathBuf,
    /// The workspace that builds into it.
    pub workspace: Option<PathBuf>,
    /// Why it was not swept, if so.
    pub skipped: Option<RootSkip>,
    /// With `cargo-building`: the lock cargo holds.
    pub lock: Option<PathBuf>,
    /// With `unreadable`, `no-workspace` or `failed`: what went wrong.
    pub message: Option<String>,
    /// Units found (dependencies, workspace crates, binaries, tests), in every place.
    pub units: u64,
    /// Of those, the ones a current build uses: kept, whatever their age.
    pub units_current: u64,
    /// Incremental crate directories found.
    pub incremental_directories: u64,
    /// Incremental directories left alone because rustc holds one of their sessions.
    pub incremental_in_use: u64,
    /// The bytes of everything found (units and incremental directories), each inode once.
    pub bytes_before: u64,
    /// What of it remains.
    pub bytes_after: u64,
    /// What was removed, by kind and reason.
    pub removed: Vec<SweptGroup>,
    /// Units, incremental directories and sessions removed.
    pub entries_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// The disk space that freed.
    pub bytes_freed: u64,
    /// Dependency units removed that the store holds: `cargo store checkout` puts them back.
    pub units_restorable: u64,
    /// Files that could not be removed, with why (the rest of the sweep goes on).
    pub failures: Vec<String>,
}

/// Why a sweep from a timer did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SweepSkip {
    /// Another cargo-store command holds the store exclusively (a collection).
    Busy,
    /// There is no store yet.
    NoStore,
}

/// What a sweep did (or would do).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepReport {
    /// Schema version.
    pub version: u32,
    /// The store.
    pub store: PathBuf,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// `--max-age`, seconds.
    pub max_age: i64,
    /// `--max-size`, bytes.
    pub max_size: Option<u64>,
    /// With `auto`: why nothing was swept, if so.
    pub skipped: Option<SweepSkip>,
    /// Each build directory, in the order swept.
    pub roots: Vec<RootSweep>,
    /// Build directories swept.
    pub roots_swept: u64,
    /// Build directories skipped.
    pub roots_skipped: u64,
    /// Units, incremental directories and sessions removed, in all.
    pub entries_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// The disk space that freed.
    pub bytes_freed: u64,
    /// Dependency units removed that the store holds.
    pub units_restorable: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Sweeps the build directories of `options`.
pub fn sweep(
    options: &SweepOptions,
    waiting: &mut dyn FnMut(&str),
    progress: &dyn Progress,
) -> crate::Result<SweepReport> {
    let start = Instant::now();
    let mut report = SweepReport {
        version: REPORT_VERSION,
        store: options.store.clone(),
        dry_run: options.dry_run,
        max_age: options.max_age,
        max_size: options.max_size,
        skipped: None,
        roots: Vec::new(),
        roots_swept: 0,
        roots_skipped: 0,
        entries_removed: 0,
        bytes_removed: 0,
        bytes_freed: 0,
        units_restorable: 0,
        elapsed_ms: 0,
    };
    let known = match registered(options, waiting) {
        Ok(known) => known,
        Err(skip) => {
            report.skipped = Some(skip?);
            report.elapsed_ms = elapsed_ms(start);
            return Ok(report);
        }
    };
    let targets = if options.paths.is_empty() {
        known.into_iter().map(|root| Target::Registered(Box::new(root))).collect()
    } else {
        let mut targets = Vec::new();
        for path in &options.paths {
            targets.push(given(options, path, &known)?);
        }
        targets
    };
    let context = Context::new(options);
    for target in targets {
        let root = sweep_target(&context, target, progress);
        if root.skipped.is_some() {
            report.roots_skipped += 1;
        } else {
            report.roots_swept += 1;
        }
        report.entries_removed += root.entries_removed;
        report.bytes_removed += root.bytes_removed;
        report.bytes_freed += root.bytes_freed;
        report.units_restorable += root.units_restorable;
        report.roots.push(root);
    }
    report.elapsed_ms = elapsed_ms(start);
    Ok(report)
}

/// A registered root as the store has it.
#[derive(Debug, Clone)]
struct Registered {
    record: RootRecord,
    /// The workspace its last ingest or checkout came from.
    workspace: Option<PathBuf>,
    /// The units an ingest last saw its current builds use.
    current: Vec<RootReference>,
}

/// A build directory to sweep.
enum Target {
    Registered(Box<Registered>),
    /// Given on the command line: its workspace, loaded, and its registration, if any.
    Given {
        workspace: Box<Workspace>,
        build_directory: PathBuf,
        registered: Option<Box<Registered>>,
    },
}

/// Every root the store has, with its workspace and the units its current builds used.
/// `Err(Ok(skip))` when a timer's sweep has nothing to do; `Ok(empty)` when paths were given
/// and there is no store (a sweep never needs one then).
fn registered(
    options: &SweepOptions,
    waiting: &mut dyn FnMut(&str),
) -> Result<Vec<Registered>, crate::Result<SweepSkip>> {
    let opened = if options.auto {
        Store::try_open_existing(&options.store, Access::Shared)
    } else {
        Store::open_existing(&options.store, Access::Shared, waiting).map(Some)
    };
    let store = match opened {
        Ok(Some(store)) => store,
        Ok(None) => return Err(Ok(SweepSkip::Busy)),
        Err(cargo_store_cas::Error::NoStore { .. }) if options.auto => return Err(Ok(SweepSkip::NoStore)),
        Err(cargo_store_cas::Error::NoStore { .. }) if !options.paths.is_empty() => return Ok(Vec::new()),
        Err(error) => return Err(Err(error.into())),
    };
    let read = || -> cargo_store_cas::Result<Vec<Registered>> {
        let workspaces: HashMap<PathBuf, PathBuf> = store.index().root_workspaces(None)?.into_iter().collect();
        let mut known = Vec::new();
        for record in store.index().roots()? {
            let current = store.index().current_references(record.id)?;
            known.push(Registered { workspace: workspaces.get(&record.path).cloned(), current, record });
        }
        Ok(known)
    };
    read().map_err(|error| Err(error.into()))
}

/// The build directory a path on the command line names: a workspace (a directory holding
/// `Cargo.toml`), a registered build directory, or a build directory inside its workspace.
fn given(options: &SweepOptions, path: &Path, known: &[Registered]) -> crate::Result<Target> {
    let absolute = normalize_path(path).map_err(|error| cargo_store_cas::Error::io("resolve", path, error))?;
    let registered_at =
        |directory: &Path| known.iter().find(|root| root.record.path == directory).cloned().map(Box::new);
    let (manifest, expected) = if absolute.join("Cargo.toml").is_file() {
        (absolute.join("Cargo.toml"), None)
    } else if let Some(root) = registered_at(&absolute) {
        if let Some(workspace) = &root.workspace {
            (workspace.join("Cargo.toml"), Some(absolute.clone()))
        } else {
            return Ok(Target::Registered(root));
        }
    } else {
        let parent = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        if !absolute.is_dir() || !parent.join("Cargo.toml").is_file() {
            return Err(Error::NotABuildDirectory { path: absolute });
        }
        (parent.join("Cargo.toml"), Some(absolute.clone()))
    };
    let workspace = load_workspace(&options.store, Some(&manifest), expected.as_deref())?;
    if expected.as_ref().is_some_and(|expected| *expected != workspace.build_directory) {
        return Err(Error::NotABuildDirectory { path: absolute });
    }
    let build_directory = workspace.build_directory.clone();
    let registered = registered_at(&build_directory);
    Ok(Target::Given { workspace: Box::new(workspace), build_directory, registered })
}

/// What every build directory's sweep shares.
struct Context<'a> {
    options: &'a SweepOptions,
    /// The time now, ns (the store's clock, which tests set).
    now: i64,
    /// The fingerprint hashes of the installed toolchains, once asked; `None` inside when
    /// that cannot be told.
    installed: std::cell::OnceCell<Option<HashSet<u64>>>,
}

impl<'a> Context<'a> {
    fn new(options: &'a SweepOptions) -> Context<'a> {
        Context { options, now: now().saturating_mul(NS), installed: std::cell::OnceCell::new() }
    }

    fn rustc_cache(&self) -> Option<PathBuf> {
        crate::cache(&self.options.store, CacheBucket::Rustc)
    }

    /// The fingerprint hashes of the toolchains rustup has installed; `None` without rustup.
    fn installed(&self) -> Option<&HashSet<u64>> {
        self.installed
            .get_or_init(|| {
                Toolchain::installed(self.rustc_cache().as_deref())
                    .map(|toolchains| toolchains.iter().map(Toolchain::fingerprint_hash).collect())
            })
            .as_ref()
    }
}

/// Sweeps one build directory; never fails (what went wrong is in the report).
fn sweep_target(context: &Context<'_>, target: Target, progress: &dyn Progress) -> RootSweep {
    let (build_directory, workspace, registered) = match target {
        Target::Registered(root) => (root.record.path.clone(), None, Some(root)),
        Target::Given { workspace, build_directory, registered } => (build_directory, Some(workspace), registered),
    };
    let mut report = RootSweep {
        build_directory: build_directory.clone(),
        workspace: workspace.as_ref().map(|workspace| workspace.root.clone()),
        skipped: None,
        lock: None,
        message: None,
        units: 0,
        units_current: 0,
        incremental_directories: 0,
        incremental_in_use: 0,
        bytes_before: 0,
        bytes_after: 0,
        removed: Vec::new(),
        entries_removed: 0,
        bytes_removed: 0,
        bytes_freed: 0,
        units_restorable: 0,
        failures: Vec::new(),
    };
    if let Some(root) = &registered {
        match root_state(&root.record) {
            Ok(RootState::Live) => {}
            Ok(RootState::Missing) => return skipped(report, RootSkip::Missing, None),
            Ok(RootState::Replaced) => return skipped(report, RootSkip::Replaced, None),
            Ok(RootState::Unreadable) => return skipped(report, RootSkip::Unreadable, None),
            Err(error) => return skipped(report, RootSkip::Unreadable, Some(error.to_string())),
        }
    }
    let workspace = match workspace {
        Some(workspace) => *workspace,
        None => match workspace_of(context, &build_directory, registered.as_deref()) {
            Ok(workspace) => workspace,
            Err(message) => return skipped(report, RootSkip::NoWorkspace, Some(message)),
        },
    };
    report.workspace = Some(workspace.root.clone());
    match sweep_directory(context, &workspace, registered.as_deref(), progress, &mut report) {
        Ok(()) => report,
        Err(Swept::Busy(lock)) => {
            report.lock = Some(lock);
            skipped(report, RootSkip::CargoBuilding, None)
        }
        Err(Swept::Failed(error)) => skipped(report, RootSkip::Failed, Some(error.to_string())),
    }
}

fn skipped(mut report: RootSweep, reason: RootSkip, message: Option<String>) -> RootSweep {
    report.skipped = Some(reason);
    report.message = message;
    report
}

/// The workspace that builds into a registered root: the one its last ingest or checkout
/// came from, else the one around it (`<workspace>/target`).
fn workspace_of(context: &Context<'_>, build_directory: &Path, root: Option<&Registered>) -> Result<Workspace, String> {
    let recorded = root.and_then(|root| root.workspace.clone());
    let around = build_directory.parent().filter(|parent| parent.join("Cargo.toml").is_file()).map(Path::to_path_buf);
    let Some(directory) = recorded.or(around) else {
        return Err("no workspace is recorded for it, and it is not inside one".to_owned());
    };
    let manifest = directory.join("Cargo.toml");
    let load = |target: Option<&Path>| {
        load_workspace(&context.options.store, Some(&manifest), target).map_err(|error| error.to_string())
    };
    let workspace = load(None)?;
    if workspace.build_directory == build_directory {
        return Ok(workspace);
    }
    // Built with `CARGO_TARGET_DIR` or `--target-dir` elsewhere: read it as that build saw it.
    let workspace = load(Some(build_directory))?;
    if workspace.build_directory == build_directory {
        Ok(workspace)
    } else {
        Err(format!("the workspace `{}` builds into `{}`", directory.display(), workspace.build_directory.display()))
    }
}

/// How the sweep of one directory ended early.
enum Swept {
    /// Cargo holds this lock.
    Busy(PathBuf),
    /// Something could not be read.
    Failed(Error),
}

impl<E: Into<Error>> From<E> for Swept {
    fn from(error: E) -> Swept {
        Swept::Failed(error.into())
    }
}

/// Sweeps the build directory of `workspace` under cargo's build locks.
fn sweep_directory(
    context: &Context<'_>,
    workspace: &Workspace,
    registered: Option<&Registered>,
    progress: &dyn Progress,
    report: &mut RootSweep,
) -> Result<(), Swept> {
    let options = context.options;
    let build_directory = &workspace.build_directory;
    let metadata =
        fs::symlink_metadata(build_directory).map_err(Error::worktree("read metadata of", build_directory))?;
    if !metadata.is_dir() {
        return Err(Swept::Failed(Error::NotABuildDirectory { path: build_directory.clone() }));
    }
    let places = find_places(build_directory)?;
    let _locks = lock_places(build_directory, &places, options.dry_run)?;
    let toolchain = Toolchain::detect_cached(&workspace.root, context.rustc_cache().as_deref())?;
    let scanned = scan(build_directory)?;
    let verdicts = eligibility(workspace, &scanned, &toolchain);
    let used = usage(&scanned, &verdicts, Some(&workspace.target_directory));
    let incremental = incremental_directories(build_directory, &places)?;

    // What an ingest last saw the current builds use, as of that ingest.
    let mut recorded: HashMap<(&str, &str, &str, &str), i64> = HashMap::new();
    if let Some(root) = registered {
        for reference in &root.current {
            let key = (
                reference.layout.as_str(),
                reference.place.as_str(),
                reference.name.as_str(),
                reference.fingerprint.as_str(),
            );
            recorded.insert(key, root.record.last_used.saturating_mul(NS));
        }
    }
    let toolchains = Toolchains::new(context, workspace, &toolchain, &scanned);
    let max_age = options.max_age.saturating_mul(NS);
    let expired = |last_used: i64| context.now.saturating_sub(last_used) > max_age;

    let mut plan = Plan::new(build_directory);
    report.units = (scanned.units.len() + scanned.others.len()) as u64;
    report.units_current = used.units.iter().chain(&used.builds).filter(|used| used.current).count() as u64;
    report.incremental_directories = incremental.len() as u64;

    // Units and builds.
    let mut windows: Vec<(&Path, String, i64, i64)> = Vec::new();
    for (index, unit) in scanned.units.iter().enumerate() {
        let mut last_used = used.units[index].last_used;
        if let Some(hex) = &unit.fingerprint {
            let place = unit.place.path.to_string_lossy();
            if let Some(time) =
                recorded.get(&(unit.place.layout.name(), place.as_ref(), unit.name.as_str(), hex.as_str()))
            {
                last_used = last_used.max(*time);
            }
        }
        let (kind, uninstalled) = toolchains.judge(unit.rustc);
        if used.units[index].current {
            if let Some(window) = compile_window(&unit.place, &unit.fingerprint_name, &unit.name, &unit.files) {
                windows.push(window);
            }
            plan.keep(&unit.files);
            continue;
        }
        let because = if uninstalled {
            Some(SweptBecause::UninstalledToolchain)
        } else {
            expired(last_used).then_some(SweptBecause::Age)
        };
        let key = verdicts.verdicts[index].is_ok().then(|| UnitKey::of(unit, &toolchain.namespace())).flatten();
        let steps = unit_steps(&unit.place, &unit.name, &unit.fingerprint_name, &unit.files, &unit.symlinks);
        plan.candidate(kind, because, last_used, unit.finished().unwrap_or(0), steps, key, None);
    }
    for (index, build) in scanned.others.iter().enumerate() {
        let last_used = used.builds[index].last_used;
        if used.builds[index].current || build.is_documentation() {
            if used.builds[index].current
                && let Some(window) = compile_window(&build.place, &build.fingerprint_name, &build.name, &build.files)
            {
                windows.push(window);
            }
            plan.keep(&build.files);
            continue;
        }
        let (kind, uninstalled) = toolchains.judge(build.rustc);
        let because = if uninstalled {
            Some(SweptBecause::UninstalledToolchain)
        } else {
            expired(last_used).then_some(SweptBecause::Age)
        };
        let steps = unit_steps(&build.place, &build.name, &build.fingerprint_name, &build.files, &build.symlinks);
        plan.candidate(kind, because, last_used, build.finished, steps, None, None);
    }

    // Incremental directories: the newest of each crate in each place stays by age.
    let mut newest: HashMap<(&Path, &str), i64> = HashMap::new();
    for directory in &incremental {
        let slot = newest.entry((directory.place.path.as_path(), directory.crate_name.as_str())).or_insert(i64::MIN);
        *slot = (*slot).max(directory.newest_us());
    }
    for directory in &incremental {
        let newest_us = directory.newest_us();
        let current = directory.newest_finalized().is_some_and(|session| {
            let created = session.created_us.saturating_mul(1000);
            windows.iter().any(|(place, crate_name, started, finished)| {
                let slack = if finished % NS == 0 { COARSE_SESSION_SLACK_NS } else { SESSION_SLACK_NS };
                *place == directory.place.path
                    && *crate_name == directory.crate_name
                    && created >= started - slack
                    && created <= finished + slack
            })
        });
        let newest_of_crate = newest[&(directory.place.path.as_path(), directory.crate_name.as_str())] == newest_us;
        let because =
            (!current && !newest_of_crate && expired(newest_us.saturating_mul(1000))).then_some(SweptBecause::Age);
        let parent = if current {
            plan.keep_tree(&directory.path);
            None
        } else {
            let steps = incremental_steps(directory);
            Some(plan.candidate(
                SweptKind::IncrementalDirectory,
                because,
                newest_us.saturating_mul(1000),
                newest_us.saturating_mul(1000),
                steps,
                None,
                Some(directory),
            ))
        };
        // Sessions rustc no longer reads, in a directory that may stay.
        if because.is_some() {
            continue;
        }
        let keep = directory.newest_finalized().map(|session| session.name.clone());
        let now_us = context.now / 1000;
        for session in &directory.sessions {
            if Some(&session.name) == keep.as_ref()
                || (!session.finalized && now_us.saturating_sub(session.created_us) < WORKING_SESSION_GRACE_US)
            {
                continue;
            }
            let created = session.created_us.saturating_mul(1000);
            let mut steps = Vec::new();
            if let Some(lock) = &session.lock_file {
                steps.push(Step::File(directory.path.join(lock)));
            }
            steps.push(Step::Tree(directory.path.join(&session.name)));
            let one = IncrementalDirectory {
                sessions: vec![session.clone()],
                orphan_lock_files: Vec::new(),
                ..directory.clone()
            };
            let index = plan.candidate(
                SweptKind::IncrementalSession,
                expired(created).then_some(SweptBecause::Age),
                created,
                created,
                steps,
                None,
                Some(&one),
            );
            plan.candidates[index].parent = parent;
        }
    }

    plan.measure(&mut report.failures);
    report.bytes_before = plan.bytes_before();
    plan.select(options.max_size);
    let restorable = plan.restorable(&options.store, options.auto);
    let outcome = plan.carry_out(options.dry_run, progress);
    report.units_restorable = restorable;
    report.incremental_in_use = outcome.in_use;
    report.failures.extend(outcome.failures);
    let mut groups: BTreeMap<(SweptKind, SweptBecause), SweptGroup> = BTreeMap::new();
    for removed in outcome.removed {
        let group = groups.entry((removed.kind, removed.because)).or_insert(SweptGroup {
            kind: removed.kind,
            because: removed.because,
            entries: 0,
            bytes: 0,
            bytes_freed: 0,
        });
        group.entries += 1;
        group.bytes += removed.bytes;
        group.bytes_freed += removed.bytes_freed;
    }
    report.removed = groups.into_values().collect();
    report.entries_removed = report.removed.iter().map(|group| group.entries).sum();
    report.bytes_removed = report.removed.iter().map(|group| group.bytes).sum();
    report.bytes_freed = report.removed.iter().map(|group| group.bytes_freed).sum();
    report.bytes_after = report.bytes_before.saturating_sub(report.bytes_removed);
    Ok(())
}

/// Which toolchain built a unit, as far as the fingerprints tell.
struct Toolchains {
    /// The workspace toolchain's hash, once some unit of the build directory is known to
    /// record it (cargo hashes toolchains the way this version expects).
    ours: Option<u64>,
    /// The hashes of the toolchains installed: rustup's, the workspace's, and those cargo
    /// recorded in `.rustc_info.json`; `None` without rustup, when that cannot be told.
    installed: Option<HashSet<u64>>,
}

impl Toolchains {
    fn new(context: &Context<'_>, workspace: &Workspace, toolchain: &Toolchain, scanned: &Scan) -> Toolchains {
        let ours = toolchain.fingerprint_hash();
        let understood = scanned.units.iter().any(|unit| unit.rustc == Some(ours));
        let mut installed = context.installed().cloned();
        if let Some(installed) = &mut installed {
            installed.insert(ours);
            let recorded = Toolchain::recorded_in(&workspace.build_directory)
                .into_iter()
                .chain(Toolchain::recorded_in(&workspace.target_directory));
            installed.extend(recorded.map(|toolchain| toolchain.fingerprint_hash()));
        }
        Toolchains { ours: understood.then_some(ours), installed }
    }

    /// The kind of a unit built by the toolchain `rustc`, and whether that toolchain is gone.
    fn judge(&self, rustc: Option<u64>) -> (SweptKind, bool) {
        match (self.ours, rustc) {
            (Some(ours), Some(rustc)) if rustc != ours => (
                SweptKind::OtherToolchain,
                self.installed.as_ref().is_some_and(|installed| !installed.contains(&rustc)),
            ),
            _ => (SweptKind::Superseded, false),
        }
    }
}

/// Takes cargo's build lock (`.cargo-lock`) of every place, without waiting, to hold while
/// sweeping: `Busy` with the lock cargo holds. A place with no lock file gets one, as cargo
/// itself makes it, so that a cargo starting now waits (a dry run creates nothing).
fn lock_places(build_directory: &Path, places: &[Place], dry_run: bool) -> Result<Vec<fs::File>, Swept> {
    let mut locks = Vec::new();
    let mut seen = HashSet::new();
    for place in places {
        if !seen.insert(place.path.clone()) {
            continue;
        }
        let path = build_directory.join(&place.path).join(".cargo-lock");
        if fs::symlink_metadata(&path).is_ok_and(|metadata| !metadata.is_file()) {
            return Err(Swept::Failed(Error::NotABuildDirectory { path }));
        }
        let file = match fs::OpenOptions::new().read(true).write(true).create(!dry_run).truncate(false).open(&path) {
            Ok(file) => file,
            Err(error) if dry_run && error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(Swept::Failed(Error::worktree("open", &path)(error))),
        };
        match file.try_lock() {
            Ok(()) => locks.push(file),
            Err(fs::TryLockError::WouldBlock) => return Err(Swept::Busy(path)),
            Err(fs::TryLockError::Error(error)) => {
                return Err(Swept::Failed(Error::worktree("lock", &path)(error)));
            }
        }
    }
    Ok(locks)
}

/// When cargo compiled a unit, for recognising its incremental session: the place, the crate
/// name, the earliest time in its fingerprint directory (cargo writes `invoked.timestamp`
/// before it starts rustc) and when it finished, ns.
fn compile_window<'a>(
    place: &'a Place,
    fingerprint_name: &str,
    name: &str,
    files: &[UnitFile],
) -> Option<(&'a Path, String, i64, i64)> {
    let crate_name = crate_name_of(fingerprint_name)?;
    let hash_file = place.layout.fingerprint_file(Path::new(""), name, fingerprint_name)?;
    let directory = hash_file.parent()?;
    let times = files.iter().filter(|file| file.path.starts_with(directory)).map(|file| file.modified.modified_ns);
    let started = times.clone().min()?;
    let finished = times.max()?;
    Some((place.path.as_path(), crate_name, started, finished))
}

/// What removing one entry does, in order.
#[derive(Debug, Clone)]
enum Step {
    /// Remove this file (relative to the build directory) if it is still the one scanned (or
    /// a link): never a directory.
    File(PathBuf),
    /// Remove this directory tree, not following links.
    Tree(PathBuf),
    /// Remove the empty directories of this tree, deepest first, and it if it is empty then.
    EmptyDirectories(PathBuf),
}

/// The steps that remove a unit: its fingerprint hash file first (cargo rebuilds a unit
/// without one), then its outputs and links, then the rest of its fingerprint directory with
/// the JSON last (a later scan still sees what a kill left as an incomplete unit), then its
/// own directories.
fn unit_steps(
    place: &Place,
    name: &str,
    fingerprint_name: &str,
    files: &[UnitFile],
    symlinks: &[PathBuf],
) -> Vec<Step> {
    let hash_file = place.layout.fingerprint_file(Path::new(""), name, fingerprint_name);
    let fingerprint_directory = hash_file.as_deref().and_then(Path::parent).map(Path::to_path_buf);
    let in_fingerprint =
        |path: &Path| fingerprint_directory.as_deref().is_some_and(|directory| path.starts_with(directory));
    let json = format!("{fingerprint_name}.json");
    let at = |path: &Path| place.path.join(path);
    let mut steps = Vec::new();
    if let Some(hash_file) = &hash_file
        && files.iter().any(|file| file.path == *hash_file)
    {
        steps.push(Step::File(at(hash_file)));
    }
    for file in files.iter().filter(|file| !in_fingerprint(&file.path)) {
        steps.push(Step::File(at(&file.path)));
    }
    for link in symlinks {
        steps.push(Step::File(at(link)));
    }
    let mut fingerprint_files: Vec<&UnitFile> =
        files.iter().filter(|file| in_fingerprint(&file.path) && Some(&file.path) != hash_file.as_ref()).collect();
    fingerprint_files.sort_by_key(|file| file.path.file_name().is_some_and(|file_name| *file_name == *json));
    steps.extend(fingerprint_files.into_iter().map(|file| Step::File(at(&file.path))));
    let paths = files.iter().map(|file| file.path.as_path()).chain(symlinks.iter().map(PathBuf::as_path));
    for directory in own_directories(place, paths) {
        steps.push(Step::EmptyDirectories(at(&directory)));
    }
    steps
}

/// The topmost directories that only this unit's files are in: everything under a place but
/// `deps/`, `examples/`, `.fingerprint/`, `build/` and, in the per-unit layout,
/// `build/<package>/`, which other units share.
fn own_directories<'a>(place: &Place, paths: impl Iterator<Item = &'a Path>) -> Vec<PathBuf> {
    let shared = |directory: &Path| {
        let parts: Vec<_> = directory.components().collect();
        match parts.as_slice() {
            [] => true,
            [first] => [".fingerprint", "deps", "examples", "build"].iter().any(|name| first.as_os_str() == *name),
            [first, _] => place.layout == Layout::PerUnit && first.as_os_str() == "build",
            _ => false,
        }
    };
    let mut own: Vec<PathBuf> = paths
        .filter_map(|path| {
            let mut topmost = None;
            for ancestor in path.ancestors().skip(1) {
                if shared(ancestor) {
                    break;
                }
                topmost = Some(ancestor.to_path_buf());
            }
            topmost
        })
        .collect();
    own.sort();
    own.dedup();
    own
}

/// The steps that remove an incremental crate directory: each session's lock file before the
/// session (rustc never reads a session without one), leftover lock files, then the
/// directory if nothing else is in it.
fn incremental_steps(directory: &IncrementalDirectory) -> Vec<Step> {
    let mut steps = Vec::new();
    for session in &directory.sessions {
        if let Some(lock) = &session.lock_file {
            steps.push(Step::File(directory.path.join(lock)));
        }
        steps.push(Step::Tree(directory.path.join(&session.name)));
    }
    for lock in &directory.orphan_lock_files {
        steps.push(Step::File(directory.path.join(lock)));
    }
    steps.push(Step::EmptyDirectories(directory.path.clone()));
    steps
}

/// A file as `lstat` saw it when planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    blocks: u64,
    links: u64,
}

impl Identity {
    fn of(metadata: &fs::Metadata) -> Identity {
        Identity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.len(),
            blocks: metadata.blocks(),
            links: metadata.nlink(),
        }
    }
}

/// Something the sweep may remove.
struct Candidate {
    kind: SweptKind,
    /// Why it goes by age (or toolchain), if it does.
    because: Option<SweptBecause>,
    /// When it was last used, ns: the least recently used go first under `--max-size`.
    last_used: i64,
    /// When cargo finished it, ns: among equals, dependents (finished later) go first.
    finished: i64,
    steps: Vec<Step>,
    /// For a stored kind of unit: its key, to tell whether checkout can put it back.
    key: Option<UnitKey>,
    /// For an incremental directory or session: what to lock before removing it.
    sessions: Option<IncrementalDirectory>,
    /// For an incremental session: the candidate of its directory.
    parent: Option<usize>,
    /// Its files, from `measure`.
    files: Vec<(PathBuf, Identity)>,
    /// Its bytes, each inode once.
    bytes: u64,
    /// Chosen to go, and why.
    chosen: Option<SweptBecause>,
}

/// What one entry's removal did.
struct Removed {
    kind: SweptKind,
    because: SweptBecause,
    bytes: u64,
    bytes_freed: u64,
}

/// What carrying out a plan did.
struct Outcome {
    removed: Vec<Removed>,
    in_use: u64,
    failures: Vec<String>,
}

/// Everything found in one build directory: what stays, and the candidates.
struct Plan<'a> {
    build_directory: &'a Path,
    candidates: Vec<Candidate>,
    /// The inodes and sizes of what stays (current units, current incremental directories).
    kept: HashMap<(u64, u64), u64>,
    guard: Guard<'a>,
}

impl<'a> Plan<'a> {
    fn new(build_directory: &'a Path) -> Plan<'a> {
        Plan { build_directory, candidates: Vec::new(), kept: HashMap::new(), guard: Guard::new(build_directory) }
    }

    /// Counts the files of a unit that stays.
    fn keep(&mut self, files: &[UnitFile]) {
        for file in files {
            self.kept.insert((file.device, file.inode), file.size);
        }
    }

    /// Counts the files of a tree that stays.
    fn keep_tree(&mut self, relative: &Path) {
        for entry in
            walkdir::WalkDir::new(self.build_directory.join(relative)).follow_links(false).into_iter().flatten()
        {
            if let Ok(metadata) = entry.metadata()
                && metadata.is_file()
            {
                self.kept.insert((metadata.dev(), metadata.ino()), metadata.len());
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "every fact of one candidate, recorded in one place")]
    fn candidate(
        &mut self,
        kind: SweptKind,
        because: Option<SweptBecause>,
        last_used: i64,
        finished: i64,
        steps: Vec<Step>,
        key: Option<UnitKey>,
        sessions: Option<&IncrementalDirectory>,
    ) -> usize {
        self.candidates.push(Candidate {
            kind,
            because,
            last_used,
            finished,
            steps,
            key,
            sessions: sessions.cloned(),
            parent: None,
            files: Vec::new(),
            bytes: 0,
            chosen: None,
        });
        self.candidates.len() - 1
    }

    /// Looks at every file of every candidate (`lstat`, inside real directories only).
    fn measure(&mut self, failures: &mut Vec<String>) {
        let build_directory = self.build_directory;
        for candidate in &mut self.candidates {
            let mut files = Vec::new();
            for step in &candidate.steps {
                match step {
                    Step::File(path) => {
                        if !self.guard.inside(path) {
                            continue;
                        }
                        if let Ok(metadata) = fs::symlink_metadata(build_directory.join(path))
                            && !metadata.is_dir()
                        {
                            files.push((path.clone(), Identity::of(&metadata)));
                        }
                    }
                    Step::Tree(path) => {
                        if !self.guard.inside(path) {
                            continue;
                        }
                        for entry in walkdir::WalkDir::new(build_directory.join(path)).follow_links(false) {
                            match entry {
                                Ok(entry) if !entry.file_type().is_dir() => {
                                    if let Ok(metadata) = entry.metadata() {
                                        let relative =
                                            entry.path().strip_prefix(build_directory).unwrap_or(entry.path());
                                        files.push((relative.to_path_buf(), Identity::of(&metadata)));
                                    }
                                }
                                Ok(_) => {}
                                Err(error)
                                    if error
                                        .io_error()
                                        .is_some_and(|error| error.kind() == io::ErrorKind::NotFound) => {}
                                Err(error) => {
                                    failures.push(format!("{}: {error}", build_directory.join(path).display()))
                                }
                            }
                        }
                    }
                    Step::EmptyDirectories(_) => {}
                }
            }
            let mut seen = HashSet::new();
            candidate.bytes = files
                .iter()
                .filter(|(_, identity)| seen.insert((identity.device, identity.inode)))
                .map(|(_, identity)| identity.size)
                .sum();
            candidate.files = files;
        }
    }

    /// The bytes of everything found, each inode once.
    fn bytes_before(&self) -> u64 {
        let mut all = self.kept.clone();
        for candidate in &self.candidates {
            for (_, identity) in &candidate.files {
                all.insert((identity.device, identity.inode), identity.size);
            }
        }
        all.values().sum()
    }

    /// Chooses what goes: what expired, then while over `max_size` the least recently used of
    /// the rest.
    fn select(&mut self, max_size: Option<u64>) {
        for candidate in &mut self.candidates {
            candidate.chosen = candidate.because;
        }
        let Some(max_size) = max_size else { return };
        let mut remaining = self.bytes_before().saturating_sub(self.chosen_bytes());
        if remaining <= max_size {
            return;
        }
        let mut order: Vec<usize> =
            (0..self.candidates.len()).filter(|&index| self.candidates[index].chosen.is_none()).collect();
        order.sort_by_key(|&index| {
            (self.candidates[index].last_used, std::cmp::Reverse(self.candidates[index].finished))
        });
        for index in order {
            if remaining <= max_size {
                break;
            }
            if self.candidates[index].parent.is_some_and(|parent| self.candidates[parent].chosen.is_some()) {
                continue;
            }
            self.candidates[index].chosen = Some(SweptBecause::Size);
            remaining = remaining.saturating_sub(self.candidates[index].bytes);
        }
    }

    fn chosen_bytes(&self) -> u64 {
        let mut seen = HashSet::new();
        self.candidates
            .iter()
            .filter(|candidate| candidate.chosen.is_some())
            .flat_map(|candidate| &candidate.files)
            .filter(|(_, identity)| seen.insert((identity.device, identity.inode)))
            .map(|(_, identity)| identity.size)
            .sum()
    }

    /// How many of the units chosen the store holds (checkout can put them back). Without the
    /// store at hand (none, or a collection holds it and `auto` says not to wait), none.
    fn restorable(&self, store: &Path, auto: bool) -> u64 {
        let keys: Vec<&str> = self
            .candidates
            .iter()
            .filter(|candidate| candidate.chosen.is_some())
            .filter_map(|candidate| candidate.key.as_ref().map(UnitKey::as_str))
            .collect();
        if keys.is_empty() {
            return 0;
        }
        let opened = if auto {
            Store::try_open_existing(store, Access::Shared).ok().flatten()
        } else {
            Store::open_existing(store, Access::Shared, &mut |_| {}).ok()
        };
        opened.and_then(|store| store.index().unit_ids(keys.iter().copied()).ok()).map_or(0, |found| found.len() as u64)
    }

    /// Removes what was chosen (or, in a dry run, counts what that would free).
    fn carry_out(self, dry_run: bool, progress: &dyn Progress) -> Outcome {
        let Plan { build_directory, candidates, mut guard, .. } = self;
        let mut outcome = Outcome { removed: Vec::new(), in_use: 0, failures: Vec::new() };
        let mut order: Vec<usize> = (0..candidates.len()).filter(|&index| candidates[index].chosen.is_some()).collect();
        order.sort_by_key(|&index| (candidates[index].last_used, std::cmp::Reverse(candidates[index].finished)));
        // Links to each inode among everything chosen: a dry run frees an inode's blocks when
        // all of them go.
        let mut chosen_links: HashMap<(u64, u64), u64> = HashMap::new();
        for &index in &order {
            for (_, identity) in &candidates[index].files {
                *chosen_links.entry((identity.device, identity.inode)).or_default() += 1;
            }
        }
        let total = order.iter().map(|&index| candidates[index].files.len() as u64).sum();
        progress.start("removing", total);
        let mut counted: HashSet<(u64, u64)> = HashSet::new();
        let mut removed_inodes: HashSet<(u64, u64)> = HashSet::new();
        for index in order {
            let candidate = &candidates[index];
            if candidate.parent.is_some_and(|parent| candidates[parent].chosen.is_some()) {
                continue;
            }
            let Some(because) = candidate.chosen else { continue };
            // Rustc's session locks, held until the entry is gone.
            let mut locks: Vec<SessionLock> = Vec::new();
            let mut in_use = false;
            if let Some(directory) = &candidate.sessions {
                let crate_directory = build_directory.join(&directory.path);
                for session in &directory.sessions {
                    match session.try_lock(&crate_directory) {
                        Ok(Some(lock)) => locks.push(lock),
                        Ok(None) => in_use = true,
                        Err(error) => {
                            outcome
                                .failures
                                .push(format!("{}: {error}", crate_directory.join(&session.name).display()));
                            in_use = true;
                        }
                    }
                }
            }
            if in_use {
                outcome.in_use += 1;
                continue;
            }
            let bytes_freed = if dry_run {
                let mut freed = 0;
                for (_, identity) in &candidate.files {
                    let key = (identity.device, identity.inode);
                    if chosen_links.get(&key).copied().unwrap_or(0) >= identity.links && counted.insert(key) {
                        freed += identity.blocks * 512;
                    }
                }
                progress.advance(candidate.files.len() as u64);
                freed
            } else {
                let identities: HashMap<&Path, Identity> =
                    candidate.files.iter().map(|(path, identity)| (path.as_path(), *identity)).collect();
                let mut freed = 0;
                for (number, step) in candidate.steps.iter().enumerate() {
                    freed += apply(build_directory, &mut guard, step, &identities, progress, &mut outcome.failures);
                    if number == 0 {
                        // After a unit's fingerprint hash file, a session's lock file.
                        pause("sweep-removing");
                    }
                }
                freed
            };
            drop(locks);
            let candidate = &candidates[index];
            let bytes = candidate
                .files
                .iter()
                .filter(|(_, identity)| removed_inodes.insert((identity.device, identity.inode)))
                .map(|(_, identity)| identity.size)
                .sum();
            outcome.removed.push(Removed { kind: candidate.kind, because, bytes, bytes_freed });
        }
        progress.finish();
        outcome
    }
}

/// Carries out one step of removing an entry from `build_directory`; returns the disk space
/// it freed.
fn apply(
    build_directory: &Path,
    guard: &mut Guard<'_>,
    step: &Step,
    identities: &HashMap<&Path, Identity>,
    progress: &dyn Progress,
    failures: &mut Vec<String>,
) -> u64 {
    let mut freed = 0;
    match step {
        Step::File(path) => {
            if !guard.inside(path) {
                return 0;
            }
            let absolute = build_directory.join(path);
            let Ok(metadata) = fs::symlink_metadata(&absolute) else { return 0 };
            let same = identities
                .get(path.as_path())
                .is_some_and(|planned| (planned.device, planned.inode) == (metadata.dev(), metadata.ino()));
            if metadata.is_dir() || !same {
                return 0;
            }
            match fs::remove_file(&absolute) {
                Ok(()) => {
                    if metadata.nlink() <= 1 && !metadata.file_type().is_symlink() {
                        freed += metadata.blocks() * 512;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => failures.push(format!("{}: {error}", absolute.display())),
            }
            progress.advance(1);
        }
        Step::Tree(path) => {
            if !guard.inside(path) {
                return 0;
            }
            let walker = walkdir::WalkDir::new(build_directory.join(path)).follow_links(false).contents_first(true);
            for entry in walker {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) if error.io_error().is_some_and(|error| error.kind() == io::ErrorKind::NotFound) => {
                        continue;
                    }
                    Err(error) => {
                        failures.push(error.to_string());
                        continue;
                    }
                };
                if entry.file_type().is_dir() {
                    let _ = fs::remove_dir(entry.path());
                    continue;
                }
                let Ok(metadata) = entry.metadata() else { continue };
                match fs::remove_file(entry.path()) {
                    Ok(()) => {
                        if metadata.nlink() <= 1 && metadata.is_file() {
                            freed += metadata.blocks() * 512;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => failures.push(format!("{}: {error}", entry.path().display())),
                }
                progress.advance(1);
            }
        }
        Step::EmptyDirectories(path) => {
            if !guard.inside(path) {
                return 0;
            }
            let walker = walkdir::WalkDir::new(build_directory.join(path)).follow_links(false).contents_first(true);
            for entry in walker.into_iter().flatten().filter(|entry| entry.file_type().is_dir()) {
                // Not empty: something the scan did not know is in it, and stays.
                let _ = fs::remove_dir(entry.path());
            }
        }
    }
    freed
}

/// Checks that paths relative to the build directory stay inside it and are reached through
/// real directories only: no `..`, no absolute path, no symbolic link on the way.
struct Guard<'a> {
    build_directory: &'a Path,
    /// Directories known to be real, relative.
    checked: HashSet<PathBuf>,
}

impl<'a> Guard<'a> {
    fn new(build_directory: &'a Path) -> Guard<'a> {
        Guard { build_directory, checked: HashSet::new() }
    }

    fn inside(&mut self, relative: &Path) -> bool {
        if relative.as_os_str().is_empty()
            || !relative.components().all(|component| matches!(component, Component::Normal(_)))
        {
            return false;
        }
        if !self.checked.contains(Path::new("")) {
            match fs::symlink_metadata(self.build_directory) {
                Ok(metadata) if metadata.is_dir() => {
                    self.checked.insert(PathBuf::new());
                }
                _ => return false,
            }
        }
        for ancestor in relative.ancestors().skip(1).collect::<Vec<_>>().into_iter().rev() {
            if self.checked.contains(ancestor) {
                continue;
            }
            match fs::symlink_metadata(self.build_directory.join(ancestor)) {
                Ok(metadata) if metadata.is_dir() => {
                    self.checked.insert(ancestor.to_path_buf());
                }
                _ => return false,
            }
        }
        true
    }
}

/// [`crate::roots`] with, for every live root, what it holds and what a sweep with the default
/// age would free (a dry run of it: a scan of every root).
pub fn roots_with_sweep(store: &Path, waiting: &mut dyn FnMut(&str)) -> crate::Result<crate::RootsReport> {
    let mut roots = crate::roots(store, waiting)?;
    let options = SweepOptions {
        store: store.to_path_buf(),
        paths: Vec::new(),
        max_age: DEFAULT_SWEEP_MAX_AGE,
        max_size: None,
        dry_run: true,
        auto: false,
    };
    let swept = sweep(&options, waiting, &crate::NoProgress)?;
    let by_path: HashMap<&Path, &RootSweep> = swept
        .roots
        .iter()
        .filter(|root| root.skipped.is_none())
        .map(|root| (root.build_directory.as_path(), root))
        .collect();
    for root in &mut roots.roots {
        if let Some(swept) = by_path.get(root.path.as_path()) {
            root.disk_bytes = Some(swept.bytes_before);
            root.sweepable_bytes = Some(swept.bytes_removed);
            root.sweepable_bytes_freed = Some(swept.bytes_freed);
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refuses_escapes_and_symbolic_links() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let build = temporary.path().join("target");
        fs::create_dir_all(build.join("debug/deps")).expect("mkdir");
        fs::create_dir_all(temporary.path().join("elsewhere")).expect("mkdir");
        std::os::unix::fs::symlink(temporary.path().join("elsewhere"), build.join("debug/linked")).expect("symlink");
        let mut guard = Guard::new(&build);
        assert!(guard.inside(Path::new("debug/deps/libx-0123456789abcdef.rlib")));
        assert!(!guard.inside(Path::new("debug/linked/file")), "went through a symbolic link");
        assert!(!guard.inside(Path::new("debug/../../elsewhere/file")), "followed `..`");
        assert!(!guard.inside(Path::new("/etc/passwd")), "took an absolute path");
        assert!(!guard.inside(Path::new("")), "took the build directory itself");
        assert!(!guard.inside(Path::new("debug/missing/file")), "a directory that is not there");
    }

    #[test]
    fn a_unit_loses_its_fingerprint_first_and_its_json_last() {
        let place = Place { layout: Layout::Legacy, path: PathBuf::from("debug") };
        let file = |path: &str, class| UnitFile {
            path: PathBuf::from(path),
            class,
            size: 1,
            modified: cargo_store_fs::FileTimes { modified_ns: 0 },
            changed_ns: 0,
            mode: 0o644,
            device: 1,
            inode: 1,
        };
        use cargo_store_fs::FileClass::{Metadata, RustcOutput};
        let files = [
            file(".fingerprint/a-0123456789abcdef/dep-lib-a", Metadata),
            file(".fingerprint/a-0123456789abcdef/lib-a", Metadata),
            file(".fingerprint/a-0123456789abcdef/lib-a.json", Metadata),
            file(".fingerprint/a-0123456789abcdef/invoked.timestamp", Metadata),
            file("deps/liba-0123456789abcdef.rlib", RustcOutput),
            file("deps/liba-0123456789abcdef.dSYM/Contents/Info.plist", Metadata),
        ];
        let steps = unit_steps(&place, "a-0123456789abcdef", "lib-a", &files, &[]);
        let described: Vec<String> = steps
            .iter()
            .map(|step| match step {
                Step::File(path) => format!("file {}", path.display()),
                Step::Tree(path) => format!("tree {}", path.display()),
                Step::EmptyDirectories(path) => format!("directories {}", path.display()),
            })
            .collect();
        assert_eq!(
            described,
            [
                "file debug/.fingerprint/a-0123456789abcdef/lib-a",
                "file debug/deps/liba-0123456789abcdef.rlib",
                "file debug/deps/liba-0123456789abcdef.dSYM/Contents/Info.plist",
                "file debug/.fingerprint/a-0123456789abcdef/dep-lib-a",
                "file debug/.fingerprint/a-0123456789abcdef/invoked.timestamp",
                "file debug/.fingerprint/a-0123456789abcdef/lib-a.json",
                "directories debug/.fingerprint/a-0123456789abcdef",
                "directories debug/deps/liba-0123456789abcdef.dSYM",
            ]
        );
    }
}
