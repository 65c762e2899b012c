//! Sync: before a checkout, ingest what the other worktrees of the same repository built.
//!
//! The store is only as current as its last ingest, and nobody remembers to ingest: a user
//! builds in the main worktree, adds a worktree, and wants its dependencies warm. So checkout
//! first looks at the repository's other worktrees (those `git worktree list` names, and the
//! registered roots of the same repository) and ingests the build directories that changed
//! since it last looked, with every rule of ingest (eligibility, the
//! checks against a concurrent build, the consistency of the store's times).
//!
//! It has to be cheap when nothing changed, since it runs on every checkout: a sibling's build
//! directory is only read if its *shape* changed, the modification times of its directories
//! down to the units' own (a build that adds or replaces units creates entries there), which
//! costs a few hundred `stat` calls and no hashing; its last shape is kept in the store's
//! cache. A sibling where cargo holds a build lock is skipped (tried, never waited for), and
//! no sibling is started once the time budget is spent. Sync never writes into a sibling: an
//! ingest only reads a build directory (and hard-links rustc outputs from it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cargo_store_cas::StoreDirectory;
use cargo_store_units::Workspace;
use serde::Serialize;

use crate::{IngestOptions, elapsed_ms, ingest};

/// How long a sync before a checkout may take before it starts no further ingest.
pub const SYNC_BUDGET: Duration = Duration::from_secs(5);

/// How long the timer's refresh of every root may take before it starts no further ingest.
pub const REFRESH_BUDGET: Duration = Duration::from_secs(300);

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct SyncReport {
    /// Other worktrees of the repository that were looked at.
    pub worktrees_checked: u64,
    /// Those whose build directory was ingested because it changed.
    pub worktrees_synced: u64,
    /// Units the store gained from them.
    pub units_added: u64,
    /// Build directories skipped because cargo was building there.
    pub busy: Vec<PathBuf>,
    /// Worktrees not looked at because the time budget was spent.
    pub worktrees_deferred: u64,
    /// Worktrees whose ingest failed, with why (a sync never fails a checkout).
    pub failures: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// Ingests the changed build directories of the other worktrees of `workspace`'s repository
/// into `store`.
pub fn sync(store: &Path, workspace: &Workspace, budget: Duration) -> SyncReport {
    let start = Instant::now();
    let mut candidates = Vec::new();
    // Where a sibling builds, as this workspace would: its own `target/` when ours is inside
    // our worktree. A target directory outside (a shared CARGO_TARGET_DIR) is ours.
    if let Some(own) = toplevel(&workspace.root)
        && let Ok(relative) = workspace.root.strip_prefix(&own)
        && let Ok(inside) = workspace.build_directory.strip_prefix(&workspace.root)
    {
        for worktree in worktrees(&workspace.root).into_iter().filter(|worktree| *worktree != own) {
            let root = worktree.join(relative);
            candidates.push((root.join("Cargo.toml"), root.join(inside)));
        }
    }
    // The repository's registered roots too: a worktree that git no longer lists (moved by
    // hand, or pruned while its directory lives on) still builds what the next one needs.
    if let Some(repository) = cargo_store_units::repository_of(&workspace.root)
        && let Ok(Some(opened)) = cargo_store_cas::Store::try_open_existing(store, cargo_store_cas::Access::Shared)
        && let Ok(registered) = opened.index().root_workspaces(Some(&repository))
    {
        for (build_directory, root) in registered {
            if build_directory != workspace.build_directory
                && !candidates.iter().any(|(_, known)| *known == build_directory)
            {
                candidates.push((root.join("Cargo.toml"), build_directory));
            }
        }
    }
    ingest_changed(store, candidates, start, budget)
}

/// Ingests every live registered root whose workspace is known and whose build directory
/// changed since it was last looked at: what the timer runs before it collects, so that
/// builds nobody ingested (an IDE's, an agent's in a worktree made without the hook) still
/// reach the store.
pub fn refresh(store: &Path, budget: Duration) -> crate::Result<SyncReport> {
    let start = Instant::now();
    let roots = match cargo_store_cas::Store::try_open_existing(store, cargo_store_cas::Access::Shared)? {
        Some(opened) => opened.index().root_workspaces(None)?,
        None => Vec::new(),
    };
    let candidates =
        roots.into_iter().map(|(build_directory, workspace)| (workspace.join("Cargo.toml"), build_directory));
    Ok(ingest_changed(store, candidates.collect(), start, budget))
}

/// Ingests each (manifest, build directory) of `candidates` that changed, until `budget` after
/// `start` is spent.
fn ingest_changed(store: &Path, candidates: Vec<(PathBuf, PathBuf)>, start: Instant, budget: Duration) -> SyncReport {
    let mut report = SyncReport::default();
    for (manifest, build_directory) in candidates {
        if !manifest.is_file() {
            continue;
        }
        if start.elapsed() > budget {
            report.worktrees_deferred += 1;
            continue;
        }
        report.worktrees_checked += 1;
        ingest_if_changed(store, &manifest, &build_directory, &mut report);
    }
    report.elapsed_ms = elapsed_ms(start);
    report
}

/// Ingests the workspace of `manifest` if its build directory changed shape since the last
/// look and cargo is not building there, adding what happened to `report`.
fn ingest_if_changed(store: &Path, manifest: &Path, build_directory: &Path, report: &mut SyncReport) {
    let Some(current) = shape(build_directory) else {
        tracing::debug!("sync: {} does not exist", build_directory.display());
        return;
    };
    if recorded_shape(store, build_directory).is_some_and(|recorded| recorded == current) {
        tracing::debug!("sync: {} unchanged since it was last looked at", build_directory.display());
        return;
    }
    if let Some(lock) = crate::checkout::cargo_lock_held(build_directory) {
        tracing::debug!("sync: {} skipped, cargo holds {}", build_directory.display(), lock.display());
        report.busy.push(lock);
        return;
    }
    tracing::debug!("sync: {} changed, ingesting it", build_directory.display());
    // The build directory looked at is the one ingested, whatever the workspace's
    // configuration says today (a registered root may have been built with CARGO_TARGET_DIR).
    let options = IngestOptions {
        store: store.to_path_buf(),
        manifest_path: Some(manifest.to_path_buf()),
        target_directory: Some(build_directory.to_path_buf()),
        size_budget: None,
        push: None,
    };
    match ingest(&options, &mut |_| {}) {
        // Ingest remembers the shape it saw: a failed build directory is tried again next time.
        Ok(ingested) => {
            report.worktrees_synced += 1;
            report.units_added += ingested.units_added;
        }
        Err(error) => report.failures.push(format!("{}: {error}", manifest.display())),
    }
}

/// The shape of `build_directory` when it was last ingested (or checked out into with nothing
/// unseen in it).
pub(crate) fn recorded_shape(store: &Path, build_directory: &Path) -> Option<String> {
    let record = StoreDirectory::new(store).sync_shape_path(build_directory);
    cargo_store_fs::read_cache_entry(&record).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Remembers `shape` as the shape of `build_directory` whose every unit is stored or was
/// looked at by an ingest. An optimisation: failing to remember is not the user's problem.
/// Called once the build directory is registered: gc deletes the shapes of build directories
/// that are not.
pub(crate) fn remember_shape(store: &Path, build_directory: &Path, shape: &str) {
    cargo_store_fs::write_cache_entry(&StoreDirectory::new(store).sync_shape_path(build_directory), shape.as_bytes());
}

/// The top directory of the git worktree that `directory` is in.
fn toplevel(directory: &Path) -> Option<PathBuf> {
    let output = git(directory, &["rev-parse", "--show-toplevel"])?;
    let path = PathBuf::from(String::from_utf8_lossy(&output).trim_end_matches('\n'));
    path.canonicalize().ok()
}

/// The worktrees of the repository `directory` is in, as `git worktree list` names them
/// (prunable and bare entries left out).
fn worktrees(directory: &Path) -> Vec<PathBuf> {
    let Some(output) = git(directory, &["worktree", "list", "--porcelain", "-z"]) else { return Vec::new() };
    let mut worktrees = Vec::new();
    let mut current: Option<PathBuf> = None;
    let mut usable = true;
    for field in output.split(|&byte| byte == 0) {
        let field = String::from_utf8_lossy(field);
        if field.is_empty() {
            if let Some(path) = current.take().filter(|_| usable) {
                worktrees.extend(path.canonicalize().ok());
            }
            usable = true;
        } else if let Some(path) = field.strip_prefix("worktree ") {
            current = Some(PathBuf::from(path));
        } else if field == "bare" || field.starts_with("prunable") {
            usable = false;
        }
    }
    worktrees.extend(current.filter(|_| usable).and_then(|path| path.canonicalize().ok()));
    worktrees
}

fn git(directory: &Path, arguments: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git").args(arguments).current_dir(directory).output().ok()?;
    output.status.success().then_some(output.stdout)
}

/// The shape of a build directory: every directory down to the units' own (`<profile>`,
/// `.fingerprint/<unit>`, `build/<package>/<hash>`, with a target triple one level deeper)
/// and its modification time, `incremental/` left out. `None` if it does not exist.
pub(crate) fn shape(build_directory: &Path) -> Option<String> {
    use std::fmt::Write as _;
    use std::os::unix::fs::MetadataExt;
    if !build_directory.is_dir() {
        return None;
    }
    let mut shape = String::new();
    let walker = walkdir::WalkDir::new(build_directory)
        .max_depth(5)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.file_type().is_dir() && entry.file_name() != "incremental");
    for entry in walker.filter_map(Result::ok) {
        let Ok(metadata) = entry.metadata() else { continue };
        let _ = writeln!(
            shape,
            "{} {} {}",
            entry.path().strip_prefix(build_directory).unwrap_or(entry.path()).display(),
            metadata.mtime(),
            metadata.mtime_nsec()
        );
    }
    Some(shape)
}
