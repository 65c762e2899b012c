//! The workspace as `cargo metadata` describes it: where it builds, and which packages it uses.

use std::path::{Path, PathBuf};

use cargo_metadata::MetadataCommand;

use crate::Error;

/// Where a package's source comes from, which decides whether its units can be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SourceKind {
    /// A registry (crates.io, an alternative registry, or a directory source replacing one):
    /// immutable once published.
    Registry,
    /// A git repository pinned to a revision: immutable too.
    Git,
    /// A path on disk: workspace members, path dependencies, `[patch]` paths.
    Path,
}

impl SourceKind {
    /// The kind of a `cargo metadata` source string (`None` for path packages).
    pub fn of(source: Option<&str>) -> SourceKind {
        match source {
            Some(source) if source.starts_with("git+") => SourceKind::Git,
            Some(source) if source.starts_with("registry+") || source.starts_with("sparse+") => SourceKind::Registry,
            _ => SourceKind::Path,
        }
    }
}

/// A package's identity across worktrees: name, version and source as `cargo metadata` and
/// `Cargo.lock` spell them. Path packages have no source: they are never shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PackageId {
    /// The package name.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// The source, e.g. `registry+https://github.com/rust-lang/crates.io-index` or
    /// `git+https://example.org/repo#<commit>`; `None` for a path package.
    pub source: Option<String>,
}

impl std::fmt::Display for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// One package of the workspace's resolve.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Package {
    /// Name, version, source.
    pub id: PackageId,
    /// The directory holding its `Cargo.toml`.
    pub root: PathBuf,
    /// Registry, git or path.
    pub source_kind: SourceKind,
    /// Whether it is a member of the workspace.
    pub member: bool,
    /// Its dependencies (of every kind), as indices into [`Workspace::packages`].
    pub dependencies: Vec<usize>,
}

/// A Cargo workspace and the directories it builds into.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Workspace {
    /// The workspace root directory.
    pub root: PathBuf,
    /// Where final artifacts go (`target/` unless configured).
    pub target_directory: PathBuf,
    /// Where intermediate artifacts go: the build units live here. The same as the target
    /// directory unless `build.build-dir` is set.
    pub build_directory: PathBuf,
    /// Every package of the resolve, members included.
    pub packages: Vec<Package>,
}

impl Workspace {
    /// Asks `cargo metadata` about the workspace of `manifest_path` (or of the current
    /// directory). `target_directory` overrides the target directory as `--target-dir` would.
    pub fn load(manifest_path: Option<&Path>, target_directory: Option<&Path>) -> crate::Result<Workspace> {
        let mut command = MetadataCommand::new();
        // Without this, cargo rewrites the target directory's `.rustc_info.json` with the
        // toolchain it runs now, erasing the record of the toolchain that built the units
        // (see `eligibility`), and a checkout would write into a target it only reads.
        command.env("CARGO_CACHE_RUSTC_INFO", "0");
        if let Some(path) = manifest_path {
            command.manifest_path(path);
        }
        if let Some(directory) = target_directory {
            let directory = std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf());
            command.env("CARGO_TARGET_DIR", directory);
        }
        let shown = manifest_path.map(Path::to_path_buf).or_else(|| std::env::current_dir().ok()).unwrap_or_default();
        let metadata = command.exec().map_err(|error| Error::Metadata {
            manifest: shown,
            message: match error {
                // Cargo's own `error: ` prefix would read as a second error.
                cargo_metadata::Error::CargoMetadata { stderr } => stderr
                    .trim()
                    .lines()
                    .map(|line| line.strip_prefix("error: ").unwrap_or(line))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            },
        })?;
        let members: std::collections::HashSet<_> = metadata.workspace_members.iter().collect();
        let index: std::collections::HashMap<_, _> =
            metadata.packages.iter().enumerate().map(|(index, package)| (&package.id, index)).collect();
        let dependencies: std::collections::HashMap<_, Vec<usize>> = metadata
            .resolve
            .iter()
            .flat_map(|resolve| &resolve.nodes)
            .map(|node| (&node.id, node.dependencies.iter().filter_map(|id| index.get(id).copied()).collect()))
            .collect();
        let packages = metadata
            .packages
            .iter()
            .map(|package| {
                let source = package.source.as_ref().map(|source| source.repr.clone());
                let manifest = package.manifest_path.as_std_path();
                Package {
                    source_kind: SourceKind::of(source.as_deref()),
                    id: PackageId { name: package.name.to_string(), version: package.version.to_string(), source },
                    root: manifest.parent().unwrap_or(manifest).to_path_buf(),
                    member: members.contains(&package.id),
                    dependencies: dependencies.get(&package.id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        let target_directory = metadata.target_directory.into_std_path_buf();
        Ok(Workspace {
            root: metadata.workspace_root.into_std_path_buf(),
            build_directory: metadata
                .build_directory
                .map(|directory| directory.into_std_path_buf())
                .unwrap_or_else(|| target_directory.clone()),
            target_directory,
            packages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds() {
        assert_eq!(SourceKind::of(Some("registry+https://github.com/rust-lang/crates.io-index")), SourceKind::Registry);
        assert_eq!(SourceKind::of(Some("sparse+https://index.crates.io/")), SourceKind::Registry);
        assert_eq!(SourceKind::of(Some("git+https://example.org/repo#0123abc")), SourceKind::Git);
        assert_eq!(SourceKind::of(None), SourceKind::Path);
    }
}
