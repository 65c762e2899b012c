//! Which units may be shared between worktrees, and why the others may not.
//!
//! Only closed sets are eligible: a unit of a registry or git package whose whole dependency
//! closure is eligible too. Everything that reads a worktree's own files (path packages,
//! sources vendored inside the worktree, build scripts watching the target directory) is
//! rebuilt from scratch in each worktree anyway, and so is everything above it.

use std::collections::HashMap;
use std::path::Path;

use crate::Toolchain;
use crate::unit::{Scan, Unit, UnitKind};
use crate::workspace::Workspace;

/// Why a unit is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A workspace member: built from the worktree itself.
    WorkspaceMember,
    /// A path dependency or a `[patch]` path: fingerprinted by mtime, keyed by path.
    PathSource,
    /// Built by another toolchain than the workspace's (another rustc, or the same release
    /// from another channel or commit): its fingerprint could never match here.
    OtherToolchain,
    /// A registry or git package whose sources are vendored inside the workspace, so they
    /// live at another path in every worktree.
    VendoredInWorkspace,
    /// A build script run that watches an absolute path inside the target directory or the
    /// workspace: in another worktree it would watch the wrong file.
    AbsolutePathInTarget,
    /// No package of the current `Cargo.lock` matches the unit (stale, or dep-info missing).
    UnknownPackage,
    /// Cargo is building the unit right now, or a build of it was interrupted: its
    /// fingerprint file is missing.
    Incomplete,
    /// A dependency recorded in its fingerprint is not in the build directory (stale unit).
    MissingDependency,
    /// A file of the unit was changed after cargo finished it (it is newer than the unit's
    /// fingerprint): cargo calls it fresh, but its bytes are not what was built.
    ChangedAfterBuild,
    /// A dependency's outputs are newer than the unit's: cargo rebuilds it on the next build.
    OlderThanDependency,
    /// One of its dependencies is ineligible.
    DependsOnIneligible,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.pad(self.name())
    }
}

impl SkipReason {
    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::WorkspaceMember => "workspace-member",
            SkipReason::PathSource => "path-source",
            SkipReason::OtherToolchain => "other-toolchain",
            SkipReason::VendoredInWorkspace => "vendored-in-workspace",
            SkipReason::AbsolutePathInTarget => "absolute-path-in-target",
            SkipReason::UnknownPackage => "unknown-package",
            SkipReason::Incomplete => "incomplete",
            SkipReason::MissingDependency => "missing-dependency",
            SkipReason::ChangedAfterBuild => "changed-after-build",
            SkipReason::OlderThanDependency => "older-than-dependency",
            SkipReason::DependsOnIneligible => "depends-on-ineligible",
        }
    }

    /// A sentence for humans.
    pub fn explanation(self) -> &'static str {
        match self {
            SkipReason::WorkspaceMember => "workspace members are built from the worktree itself",
            SkipReason::PathSource => "path dependencies are fingerprinted by mtime and path",
            SkipReason::OtherToolchain => "it was built by another toolchain than this workspace uses",
            SkipReason::VendoredInWorkspace => "sources vendored inside the workspace differ by path in each worktree",
            SkipReason::AbsolutePathInTarget => "its build script watches a path inside this target directory",
            SkipReason::UnknownPackage => "no package of the current Cargo.lock matches it (stale unit)",
            SkipReason::Incomplete => "cargo is building it, or its last build was interrupted",
            SkipReason::MissingDependency => "a dependency it was built against is gone (stale unit)",
            SkipReason::ChangedAfterBuild => {
                "a file of it was changed after cargo built it (newer than its fingerprint): rebuild it with `cargo clean -p PACKAGE` and `cargo build`"
            }
            SkipReason::OlderThanDependency => {
                "a dependency's outputs are newer than its own, so cargo rebuilds it: build again, then ingest"
            }
            SkipReason::DependsOnIneligible => "it depends on a unit that cannot be stored",
        }
    }
}

/// Why one unit was skipped, and its package when it could be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Why.
    pub reason: SkipReason,
    /// Index into `workspace.packages`.
    pub package: Option<usize>,
}

/// The verdict on one unit: `Ok(package index)` when it may be stored.
pub type Verdict = Result<usize, Skipped>;

/// The verdicts on every unit of a [`Scan`] and the dependency graph they were read from.
#[derive(Debug, Clone)]
pub struct Eligibility {
    /// One verdict per unit, in the order of `scan.units`.
    pub verdicts: Vec<Verdict>,
    /// The direct dependencies of each unit, as indices into `scan.units`.
    pub dependencies: Vec<Vec<usize>>,
}

/// Decides which units of `scan` may be stored for `toolchain`, the workspace's.
///
/// Units whose fingerprint records another toolchain hash than
/// [`Toolchain::fingerprint_hash`] are skipped. That check is only made once it is known to
/// hash the way this cargo does: some unit carries the hash of the toolchain, or of a toolchain
/// that cargo recorded in the build directory's `.rustc_info.json`. Otherwise (a cargo that
/// hashes differently) it is left out rather than made wrong.
pub fn eligibility(workspace: &Workspace, scan: &Scan, toolchain: &Toolchain) -> Eligibility {
    let known: Vec<u64> = std::iter::once(toolchain.fingerprint_hash())
        .chain(Toolchain::recorded_in(&workspace.build_directory).iter().map(Toolchain::fingerprint_hash))
        .chain(Toolchain::recorded_in(&workspace.target_directory).iter().map(Toolchain::fingerprint_hash))
        .collect();
    let understood = scan.units.iter().any(|unit| unit.rustc.is_some_and(|rustc| known.contains(&rustc)));
    let rustc = understood.then(|| toolchain.fingerprint_hash());
    let units = &scan.units;
    // Fingerprints are unique per layout; a build directory that holds both layouts has the
    // same unit twice, and a unit's dependencies are in its own layout.
    let mut by_fingerprint: HashMap<(crate::Layout, &str), Vec<usize>> = HashMap::new();
    for (index, unit) in units.iter().enumerate() {
        if let Some(hex) = &unit.fingerprint {
            by_fingerprint.entry((unit.place.layout, hex.as_str())).or_default().push(index);
        }
    }
    let mut missing = vec![false; units.len()];
    let dependencies: Vec<Vec<usize>> = units
        .iter()
        .enumerate()
        .map(|(index, unit)| {
            unit.dependencies
                .iter()
                .filter_map(|hex| {
                    let candidates = by_fingerprint.get(&(unit.place.layout, hex.as_str()));
                    let found = candidates.and_then(|candidates| {
                        candidates
                            .iter()
                            .find(|&&candidate| units[candidate].place == unit.place)
                            .or_else(|| candidates.first())
                            .copied()
                    });
                    if found.is_none() {
                        missing[index] = true;
                    }
                    found
                })
                .collect()
        })
        .collect();

    let packages: Vec<Option<usize>> =
        (0..units.len()).map(|index| package_of(workspace, units, &dependencies, index)).collect();

    let graph = Graph { workspace, units, dependencies: &dependencies, packages: &packages, missing: &missing, rustc };
    let mut verdicts: Vec<Option<Verdict>> = vec![None; units.len()];
    for index in 0..units.len() {
        let _ = resolve(&graph, &mut verdicts, index);
    }
    let verdicts = verdicts
        .into_iter()
        .map(|verdict| verdict.unwrap_or(Err(Skipped { reason: SkipReason::UnknownPackage, package: None })))
        .collect();
    Eligibility { verdicts, dependencies }
}

/// What the verdicts are decided from.
struct Graph<'a> {
    workspace: &'a Workspace,
    units: &'a [Unit],
    dependencies: &'a [Vec<usize>],
    packages: &'a [Option<usize>],
    missing: &'a [bool],
    rustc: Option<u64>,
}

/// The verdict of one unit, after those of its dependencies (the graph is acyclic; a unit
/// being resolved is provisionally ineligible, which also ends any cycle a corrupt directory
/// could contain).
fn resolve(graph: &Graph<'_>, verdicts: &mut Vec<Option<Verdict>>, index: usize) -> Verdict {
    if let Some(verdict) = verdicts[index] {
        return verdict;
    }
    let package = graph.packages[index];
    verdicts[index] = Some(Err(Skipped { reason: SkipReason::DependsOnIneligible, package }));
    let verdict = match local_reason(graph, index) {
        Some(reason) => Err(Skipped { reason, package }),
        None => {
            let mut verdict = package.ok_or(Skipped { reason: SkipReason::UnknownPackage, package: None });
            for &dependency in &graph.dependencies[index] {
                if resolve(graph, verdicts, dependency).is_err() {
                    verdict = Err(Skipped { reason: SkipReason::DependsOnIneligible, package });
                    break;
                }
            }
            verdict
        }
    };
    verdicts[index] = Some(verdict);
    verdict
}

/// Why a unit is ineligible by itself, regardless of its dependencies.
fn local_reason(graph: &Graph<'_>, index: usize) -> Option<SkipReason> {
    let (workspace, unit) = (graph.workspace, &graph.units[index]);
    let Some(package) = graph.packages[index].map(|index| &workspace.packages[index]) else {
        return Some(SkipReason::UnknownPackage);
    };
    if let Some(reason) = workspace.why_local(package) {
        return Some(reason);
    }
    if unit.fingerprint.is_none() {
        return Some(SkipReason::Incomplete);
    }
    if graph.rustc.is_some_and(|rustc| unit.rustc != Some(rustc)) {
        return Some(SkipReason::OtherToolchain);
    }
    let inside = |path: &Path| {
        path.starts_with(&workspace.root)
            || path.starts_with(&workspace.target_directory)
            || path.starts_with(&workspace.build_directory)
    };
    if unit.tracked_paths.iter().any(|path| inside(path)) {
        return Some(SkipReason::AbsolutePathInTarget);
    }
    if graph.missing[index] {
        return Some(SkipReason::MissingDependency);
    }
    if unit.changed_after_build() {
        return Some(SkipReason::ChangedAfterBuild);
    }
    let times = unit.times();
    if graph.dependencies[index].iter().any(|&dependency| graph.units[dependency].times().lag(&times) > 0) {
        return Some(SkipReason::OlderThanDependency);
    }
    None
}

/// The package a unit was built from: by its dep-info sources, or for a build script run, by
/// the build script it ran.
fn package_of(workspace: &Workspace, units: &[Unit], dependencies: &[Vec<usize>], index: usize) -> Option<usize> {
    let unit = &units[index];
    if unit.kind == UnitKind::BuildScriptRun {
        return dependencies[index]
            .iter()
            .find(|&&dependency| {
                units[dependency].kind == UnitKind::BuildScript && units[dependency].package_name == unit.package_name
            })
            .and_then(|&dependency| package_of(workspace, units, dependencies, dependency));
    }
    // Rustc runs in the workspace root with relative paths for path packages there.
    let source = unit.sources.iter().map(|source| workspace.root.join(source)).find(|source| {
        !source.starts_with(&workspace.build_directory) && !source.starts_with(&workspace.target_directory)
    })?;
    workspace
        .packages
        .iter()
        .enumerate()
        .filter(|(_, package)| source.starts_with(&package.root) && package.id.name == unit.package_name)
        .max_by_key(|(_, package)| package.root.components().count())
        .map(|(index, _)| index)
}
