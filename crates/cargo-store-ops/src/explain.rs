//! `checkout --explain`: for every package of the lock file, why its units were placed or not.
//!
//! The verdicts are read off the checkout's own [`Plan`], so that an explanation, a dry run
//! and the real run never disagree, and off what the selection left out before the plan
//! (other variants, packages `cargo build` never compiles here, units built against other
//! versions). Packages built in the worktree itself (members, path sources, vendored sources,
//! and every package above one of them) are named as such without looking at the store. After
//! a build, a package cargo compiled although the store holds other builds of its version is
//! explained by how the builds differ (`crate::misses`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cargo_store_cas::PackageKey;
use cargo_store_units::{DifferenceKind, SkipReason, Workspace};
use serde::Serialize;

use crate::checkout::{Plan, Verdict, package_key};

/// What happened to a package's units, or why they were not placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PackageVerdict {
    /// Units were placed.
    Placed,
    /// Every unit was there already.
    Present,
    /// Cargo built the stored units here itself: left alone.
    BuiltHere,
    /// Units were left out (a conflicting file, a damaged object, a stale copy).
    Skipped,
    /// Nothing is stored for it.
    NotStored,
    /// The store has it only in other versions.
    OtherVersions,
    /// The store has it only for another toolchain.
    OtherToolchain,
    /// The store has it only as built against other versions of its dependencies.
    OtherDependencyVersions,
    /// Only other platforms use it.
    OtherPlatform,
    /// Only tests, examples or benches use it.
    DevOnly,
    /// Its stored units need units of other packages that are not stored.
    Incomplete,
    /// A member of the workspace.
    WorkspaceMember,
    /// A path dependency.
    PathSource,
    /// Its sources are inside the worktree.
    VendoredInWorkspace,
    /// It depends on a package built in the worktree.
    DependsOnPathSource,
    /// Cargo built it here with other features than any stored build.
    OtherFeatures,
    /// ... with other rustc flags.
    OtherFlags,
    /// ... with other profile settings.
    OtherProfile,
    /// ... with other lints or check-cfg settings.
    OtherSettings,
    /// ... with another value of a variable its build script watches.
    OtherEnvironment,
    /// ... against other builds of its dependencies.
    OtherDependencyBuilds,
    /// ... from other sources.
    OtherSource,
    /// ... differently in a way cargo does not write down.
    Unrecorded,
}

impl PackageVerdict {
    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            PackageVerdict::Placed => "placed",
            PackageVerdict::Present => "present",
            PackageVerdict::BuiltHere => "built-here",
            PackageVerdict::Skipped => "skipped",
            PackageVerdict::NotStored => "not-stored",
            PackageVerdict::OtherVersions => "other-versions",
            PackageVerdict::OtherToolchain => "other-toolchain",
            PackageVerdict::OtherDependencyVersions => "other-dependency-versions",
            PackageVerdict::OtherPlatform => "other-platform",
            PackageVerdict::DevOnly => "dev-only",
            PackageVerdict::Incomplete => "incomplete",
            PackageVerdict::WorkspaceMember => "workspace-member",
            PackageVerdict::PathSource => "path-source",
            PackageVerdict::VendoredInWorkspace => "vendored-in-workspace",
            PackageVerdict::DependsOnPathSource => "depends-on-path-source",
            PackageVerdict::OtherFeatures => "other-features",
            PackageVerdict::OtherFlags => "other-flags",
            PackageVerdict::OtherProfile => "other-profile",
            PackageVerdict::OtherSettings => "other-settings",
            PackageVerdict::OtherEnvironment => "other-environment",
            PackageVerdict::OtherDependencyBuilds => "other-dependency-builds",
            PackageVerdict::OtherSource => "other-source",
            PackageVerdict::Unrecorded => "unrecorded",
        }
    }
}

impl std::fmt::Display for PackageVerdict {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.pad(self.name())
    }
}

impl From<DifferenceKind> for PackageVerdict {
    fn from(kind: DifferenceKind) -> PackageVerdict {
        match kind {
            DifferenceKind::OtherToolchain => PackageVerdict::OtherToolchain,
            DifferenceKind::OtherPlatform => PackageVerdict::OtherPlatform,
            DifferenceKind::OtherFeatures => PackageVerdict::OtherFeatures,
            DifferenceKind::OtherFlags => PackageVerdict::OtherFlags,
            DifferenceKind::OtherProfile => PackageVerdict::OtherProfile,
            DifferenceKind::OtherSettings => PackageVerdict::OtherSettings,
            DifferenceKind::OtherEnvironment => PackageVerdict::OtherEnvironment,
            DifferenceKind::OtherDependencyBuilds => PackageVerdict::OtherDependencyBuilds,
            DifferenceKind::OtherSource => PackageVerdict::OtherSource,
            DifferenceKind::Unrecorded => PackageVerdict::Unrecorded,
        }
    }
}

/// Why a package was or was not placed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Explanation {
    /// `name vX.Y.Z`.
    pub package: String,
    /// Its source; `None` for path packages.
    pub source: Option<String>,
    /// What happened to it, or why not.
    pub verdict: PackageVerdict,
    /// The reason in a sentence.
    pub detail: String,
    /// Units cargo built here of which the store holds only other builds, and how they
    /// differ; then `verdict` is the kind of the first difference (`other-features`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<crate::Miss>,
    /// With the verdict `other-versions`: the versions the store has units of for this
    /// toolchain, newest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stored_versions: Vec<String>,
}

/// What `--explain` needs beside the plan.
#[derive(Default)]
pub(crate) struct ExplainContext {
    /// Per package, the toolchains the store has units of it for, with how many.
    pub(crate) toolchains: HashMap<PackageKey, Vec<(String, u64)>>,
    /// Per package whose stored units were all dropped, the packages of the stored
    /// dependencies they were built against that this workspace does not use.
    pub(crate) dropped: BTreeMap<PackageKey, BTreeSet<PackageKey>>,
    /// Per package, stored variants left out for the ones this repository's builds use.
    pub(crate) other_variants: BTreeMap<PackageKey, u64>,
    /// Whether other worktrees of this repository said which variants they use.
    pub(crate) preferred: bool,
    /// Per package of the workspace, whether `cargo build` compiles it on this host (`None`:
    /// only tests, examples or benches use it); see `Workspace::built_on`.
    pub(crate) built: Vec<Option<bool>>,
    /// The host's target triple.
    pub(crate) host: String,
    /// Per package that `cargo build` here never compiles, the stored units left out.
    pub(crate) not_built: BTreeMap<PackageKey, u64>,
    /// Per package, the other versions of it the store has units of for this toolchain.
    pub(crate) other_versions: HashMap<PackageKey, Vec<(String, u64)>>,
    /// Per package, the units cargo built here of which the store holds only other builds.
    pub(crate) misses: BTreeMap<PackageKey, Vec<crate::Miss>>,
    /// Whether nothing is placed (`--dry-run`): the verdicts say what would be.
    pub(crate) dry_run: bool,
}

/// Why each package of the workspace was placed or not.
pub(crate) fn explain(
    workspace: &Workspace,
    namespace: &str,
    plan: &Plan<'_>,
    context: &ExplainContext,
) -> Vec<Explanation> {
    // Packages that are built in the worktree, and so make everything above them too.
    let local: Vec<bool> = workspace.packages.iter().map(|package| workspace.why_local(package).is_some()).collect();
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
            let (verdict, detail) = if let Some(reason) = workspace.why_local(package) {
                let verdict = match reason {
                    SkipReason::WorkspaceMember => PackageVerdict::WorkspaceMember,
                    SkipReason::PathSource => PackageVerdict::PathSource,
                    _ => PackageVerdict::VendoredInWorkspace,
                };
                let detail = match reason {
                    SkipReason::WorkspaceMember => reason.explanation().to_owned(),
                    _ => format!("{}: built in each worktree", reason.explanation()),
                };
                (verdict, detail)
            } else if reaches_local(index, workspace, &local, &mut above_local) {
                (
                    PackageVerdict::DependsOnPathSource,
                    "it depends on a package built in the worktree, so it is built there too".to_owned(),
                )
            } else {
                let verdict = package_verdict(package, namespace, plan, context);
                let left_out = package_key(package)
                    .and_then(|key| context.not_built.get(&key).copied())
                    .map(|count| format!("; {count} stored units not placed: no other worktree of this repository builds it"))
                    .unwrap_or_default();
                match (verdict.0, context.built.get(index).copied().flatten()) {
                    (PackageVerdict::NotStored | PackageVerdict::OtherVersions, Some(false)) => (
                        PackageVerdict::OtherPlatform,
                        format!("never built on this host ({}): only other platforms use it{left_out}", context.host),
                    ),
                    (PackageVerdict::NotStored | PackageVerdict::OtherVersions, None) if context.built.get(index).is_some() => (
                        PackageVerdict::DevOnly,
                        format!(
                            "only tests, examples or benches use it: `cargo build` does not build it, `cargo test` does{left_out}"
                        ),
                    ),
                    _ => verdict,
                }
            };
            let misses = package_key(package).and_then(|key| context.misses.get(&key)).cloned().unwrap_or_default();
            // A dependency built another way is a consequence; name the cause where one shows.
            let kinds = || misses.iter().flat_map(|miss| &miss.differences);
            let first = kinds()
                .find(|difference| difference.kind != DifferenceKind::OtherDependencyBuilds)
                .or_else(|| kinds().next());
            let (verdict, detail) = match first {
                Some(first) => {
                    let described: Vec<String> = misses
                        .iter()
                        .map(|miss| {
                            let differences: Vec<&str> =
                                miss.differences.iter().map(|difference| difference.detail.as_str()).collect();
                            format!("{} ({}): {}", miss.fingerprint_name, miss.unit, differences.join("; "))
                        })
                        .collect();
                    (
                        PackageVerdict::from(first.kind),
                        format!(
                            "cargo built {} of its units here in a way no stored build of them matches: {} (besides: {detail})",
                            misses.len(),
                            described.join("; ")
                        ),
                    )
                }
                None => (verdict, detail),
            };
            let stored_versions = match (verdict, package_key(package)) {
                (PackageVerdict::OtherVersions, Some(key)) => context
                    .other_versions
                    .get(&key)
                    .into_iter()
                    .flatten()
                    .map(|(version, _)| version.clone())
                    .collect(),
                _ => Vec::new(),
            };
            Explanation {
                package: package.id.to_string(),
                source: package.id.source.clone(),
                verdict,
                detail,
                misses,
                stored_versions,
            }
        })
        .collect();
    explanations.sort_by(|a, b| a.package.cmp(&b.package));
    explanations
}

/// The verdict on a registry or git package from the plan for its units.
fn package_verdict(
    package: &cargo_store_units::Package,
    namespace: &str,
    plan: &Plan<'_>,
    context: &ExplainContext,
) -> (PackageVerdict, String) {
    let key = PackageKey {
        name: package.id.name.clone(),
        version: package.id.version.clone(),
        source: package.id.source.clone().unwrap_or_default(),
    };
    let mine: Vec<Verdict> = plan
        .units
        .iter()
        .zip(plan.unit_packages.iter())
        .filter(|(_, unit_package)| **unit_package == key)
        .map(|(unit, _)| unit.verdict)
        .collect();
    if mine.is_empty() {
        if let Some(versions) = context.dropped.get(&key).filter(|versions| !versions.is_empty()) {
            let names: Vec<String> =
                versions.iter().map(|package| format!("{} v{}", package.name, package.version)).collect();
            return (
                PackageVerdict::OtherDependencyVersions,
                format!(
                    "stored only as built against {}, which this lock file does not use: build it here, then ingest",
                    names.join(", ")
                ),
            );
        }
        let others: Vec<String> = context
            .toolchains
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(toolchain, _)| toolchain != namespace)
            .map(|(toolchain, count)| format!("{toolchain} ({count} units)"))
            .collect();
        return if context.dropped.contains_key(&key) {
            (PackageVerdict::Incomplete, "its stored units need units of other packages that are not stored".to_owned())
        } else if !others.is_empty() {
            (
                PackageVerdict::OtherToolchain,
                format!("stored only for another toolchain: {}; this workspace uses {namespace}", others.join(", ")),
            )
        } else if let Some(versions) = context.other_versions.get(&key) {
            let versions: Vec<String> = versions
                .iter()
                .map(|(version, count)| format!("v{version} ({count} unit{})", if *count == 1 { "" } else { "s" }))
                .collect();
            (
                PackageVerdict::OtherVersions,
                format!(
                    "this lock file uses v{}; the store has {}: where the manifests allow it, `cargo update -p {}@{} --precise VERSION` makes a stored one usable",
                    key.version,
                    versions.join(", "),
                    key.name,
                    key.version
                ),
            )
        } else {
            (
                PackageVerdict::NotStored,
                "not stored yet: build it in a worktree and run `cargo store ingest` there".to_owned(),
            )
        };
    }
    let variants = match context.other_variants.get(&key) {
        Some(count) => format!(
            "; {count} other stored variants left out: the newest builds of this repository's other worktrees use these"
        ),
        None if context.preferred => String::new(),
        None => "; every stored variant is placed: no other worktree of this repository with the same lock file and manifests has said which ones it builds".to_owned(),
    };
    let (verdict, detail) = unit_verdicts(&mine, context.dry_run);
    (verdict, detail + &variants)
}

/// The verdict on a package from the verdicts on its units.
fn unit_verdicts(mine: &[Verdict], dry_run: bool) -> (PackageVerdict, String) {
    let total = mine.len();
    let count = |wanted: fn(&Verdict) -> bool| mine.iter().filter(|verdict| wanted(verdict)).count();
    let left = count(|verdict| matches!(verdict, Verdict::Left(_)));
    let placed = count(|verdict| matches!(verdict, Verdict::Place { .. }));
    let retimed = count(|verdict| matches!(verdict, Verdict::Place { delta } if *delta > 0));
    let built_here = count(|verdict| matches!(verdict, Verdict::BuiltHere));
    let present = count(|verdict| matches!(verdict, Verdict::Present));
    if left > 0 {
        let reasons: BTreeSet<&str> = mine
            .iter()
            .filter_map(|verdict| match verdict {
                Verdict::Left(reason) => Some(reason.sentence()),
                _ => None,
            })
            .collect();
        let reasons: Vec<&str> = reasons.into_iter().collect();
        (PackageVerdict::Skipped, format!("{left} of {total} units left out: {}", reasons.join("; ")))
    } else if placed > 0 {
        let placed_word = if dry_run { "would be placed" } else { "placed" };
        let mut detail = format!("{placed} of {total} units {placed_word}");
        if retimed > 0 {
            detail.push_str(&format!(
                " ({retimed} as copies with later mtimes, because a dependency here is newer than their stored copy)"
            ));
        }
        if built_here + present > 0 {
            detail.push_str(&format!(", {} already here", built_here + present));
        }
        (PackageVerdict::Placed, detail)
    } else if built_here > 0 {
        (PackageVerdict::BuiltHere, format!("{built_here} of {total} units were built here by cargo; left alone"))
    } else {
        (PackageVerdict::Present, format!("all {present} units were already there"))
    }
}
