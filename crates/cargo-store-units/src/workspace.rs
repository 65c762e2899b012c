//! The workspace as `cargo metadata` describes it: where it builds, and which packages it uses.
//!
//! # Read, never resolve
//! cargo-store writes nothing in a workspace outside its target directory and never reaches
//! the network, yet a plain `cargo metadata` does both when `Cargo.toml` and `Cargo.lock`
//! disagree: it resolves again (downloading an index if needed) and rewrites the lock file, or
//! creates one where a repository commits none. So it runs with `--locked --offline`, and the
//! errors cargo 1.95 then gives are turned into ours ([`Error::LockOutdated`],
//! [`Error::LockMissing`], [`Error::Offline`]), each saying what to run first:
//! - lock out of date: `error: cannot update the lock file <path> because --locked was passed
//!   to prevent this` (after a `Locking N packages` line), exit 101, lock untouched;
//! - no lock: `error: cannot create the lock file <path> because --locked was passed to
//!   prevent this`, exit 101, nothing created;
//! - lock fine: the metadata, nothing written.
//!
//! # One path per directory
//! Cargo prints the target and build directories as configured, joined to the directory the
//! setting came from but not normalized (`CARGO_TARGET_DIR=../t` gives `/w/a/../t`). The store
//! registers a root per path, so both are normalized here ([`normalize_directory`]).

use std::path::{Component, Path, PathBuf};

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
    /// How it depends on each of them: for which builds and on which platforms.
    #[serde(default)]
    pub edges: Vec<Edge>,
}

/// How a package depends on another one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Edge {
    /// The dependency, as an index into [`Workspace::packages`].
    pub package: usize,
    /// Whether only tests, examples and benches use it (`[dev-dependencies]`): `cargo build`
    /// does not build it.
    pub dev_only: bool,
    /// The platforms (`cfg(...)` expressions or target triples) it is limited to; empty when
    /// it is used on every platform.
    pub platforms: Vec<String>,
}

/// Cargo's home directory: `CARGO_HOME`, else `~/.cargo`. Registry and git sources are
/// unpacked under it, and cargo fingerprints a registry package by the absolute path of its
/// sources, so units built under one home are fresh only under the same path.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
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
    /// A digest of the resolve: the registry and git packages this workspace depends on (name,
    /// version, source), sorted. Two checkouts with the same resolve can use the same units
    /// whatever else differs between them (members' sources, comments in `Cargo.lock`).
    pub fn resolve_digest(&self) -> String {
        let mut packages: Vec<&PackageId> =
            self.packages.iter().filter(|package| package.id.source.is_some()).map(|package| &package.id).collect();
        packages.sort_by(|a, b| (&a.name, &a.version, &a.source).cmp(&(&b.name, &b.version, &b.source)));
        packages.dedup();
        let mut hasher = blake3::Hasher::new();
        for id in packages {
            for part in [id.name.as_str(), id.version.as_str(), id.source.as_deref().unwrap_or_default()] {
                hasher.update(part.as_bytes());
                hasher.update(&[0]);
            }
        }
        hasher.finalize().to_hex().to_string()
    }

    /// Why `package` is built in each worktree from the worktree's own files, never shared:
    /// a member, a path dependency (fingerprinted by mtime and path), or sources vendored
    /// inside the workspace (at another path in each worktree). `None` for a package from a
    /// registry or git whose sources live outside, which may be shared unless it depends on
    /// one of the others.
    pub fn why_local(&self, package: &Package) -> Option<crate::SkipReason> {
        if package.member {
            Some(crate::SkipReason::WorkspaceMember)
        } else if package.source_kind == SourceKind::Path {
            Some(crate::SkipReason::PathSource)
        } else if package.root.starts_with(&self.root) {
            Some(crate::SkipReason::VendoredInWorkspace)
        } else {
            None
        }
    }

    /// For every package, whether `cargo build` of the workspace's members on `host` (a target
    /// triple, with the `cfg` values `rustc --print cfg` prints for it) compiles it: reached
    /// from a member through dependencies that are not dev-only and not limited to other
    /// platforms. `None` for a package only tests, examples or benches reach; the other
    /// platforms' packages are `Some(false)`.
    pub fn built_on(&self, host: &str, cfg: &[String]) -> Vec<Option<bool>> {
        use cargo_metadata::cargo_platform::{Cfg, Platform};
        let cfg: Vec<Cfg> = cfg.iter().filter_map(|line| line.parse().ok()).collect();
        let applies = |edge: &Edge| {
            edge.platforms.is_empty()
                || edge
                    .platforms
                    .iter()
                    .any(|platform| platform.parse::<Platform>().map_or(true, |platform| platform.matches(host, &cfg)))
        };
        // Some(true): built by `cargo build`; None: by tests only; Some(false): not here.
        let mut reached: Vec<Option<bool>> = vec![Some(false); self.packages.len()];
        let mut stack: Vec<(usize, bool)> = self
            .packages
            .iter()
            .enumerate()
            .filter(|(_, package)| package.member)
            .map(|(index, _)| (index, true))
            .collect();
        while let Some((index, built)) = stack.pop() {
            let state = if built { Some(true) } else { None };
            match (reached[index], state) {
                (Some(true), _) | (None, None) => continue,
                _ => reached[index] = state,
            }
            for edge in self.packages[index].edges.iter().filter(|edge| applies(edge)) {
                // A dev-dependency of a member is built by its tests, not by `cargo build`.
                let member_dev = edge.dev_only && self.packages[index].member;
                stack.push((edge.package, built && !member_dev));
            }
        }
        reached
    }

    /// Asks `cargo metadata` about the workspace of `manifest_path` (or of the current
    /// directory). `target_directory` overrides the target directory as `--target-dir` would.
    pub fn load(manifest_path: Option<&Path>, target_directory: Option<&Path>) -> crate::Result<Workspace> {
        let mut command = MetadataCommand::new();
        // See the module docs: read the lock file as it is, and never download.
        command.other_options(vec!["--locked".to_owned(), "--offline".to_owned()]);
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
        let shown = crate::cache::start_manifest(manifest_path)
            .or_else(|| manifest_path.map(Path::to_path_buf))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let metadata = command.exec().map_err(|error| match error {
            cargo_metadata::Error::CargoMetadata { stderr } => metadata_error(shown, &stderr),
            other => Error::Metadata { manifest: shown, message: other.to_string() },
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
        let edges: std::collections::HashMap<_, Vec<Edge>> = metadata
            .resolve
            .iter()
            .flat_map(|resolve| &resolve.nodes)
            .map(|node| {
                let edges = node
                    .deps
                    .iter()
                    .filter_map(|dependency| {
                        let package = *index.get(&dependency.pkg)?;
                        let kinds = &dependency.dep_kinds;
                        let dev_only = !kinds.is_empty()
                            && kinds.iter().all(|kind| kind.kind == cargo_metadata::DependencyKind::Development);
                        // Limited to some platforms only if every way it is used is limited.
                        let platforms = if kinds.iter().all(|kind| kind.target.is_some()) {
                            kinds.iter().filter_map(|kind| kind.target.as_ref()).map(ToString::to_string).collect()
                        } else {
                            Vec::new()
                        };
                        Some(Edge { package, dev_only, platforms })
                    })
                    .collect();
                (&node.id, edges)
            })
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
                    edges: edges.get(&package.id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        let target_directory = normalize_directory(metadata.target_directory.as_std_path());
        Ok(Workspace {
            root: metadata.workspace_root.into_std_path_buf(),
            build_directory: metadata
                .build_directory
                .map(|directory| normalize_directory(directory.as_std_path()))
                .unwrap_or_else(|| target_directory.clone()),
            target_directory,
            packages,
        })
    }
}

/// Our error for what `cargo metadata --locked --offline` printed on stderr about the
/// workspace of `manifest` (see the module docs for what cargo says).
fn metadata_error(manifest: PathBuf, stderr: &str) -> Error {
    // Cargo's own `error: ` prefix would read as a second error.
    let lines: Vec<&str> =
        stderr.trim().lines().map(|line| line.trim_start().strip_prefix("error: ").unwrap_or(line)).collect();
    let workspace_lock = || manifest.parent().map(|directory| directory.join("Cargo.lock")).unwrap_or_default();
    // `cannot update the lock file <path> because --locked ...` (cargo 1.95), or `the lock file
    // <path> needs to be updated but --locked ...` (older cargo).
    if let Some(line) = lines.iter().find(|line| line.contains("lock file") && line.contains("--locked")) {
        let lock = line
            .split_once("lock file ")
            .and_then(|(_, rest)| rest.split_once(" because").or_else(|| rest.split_once(" needs")))
            .map(|(path, _)| PathBuf::from(path))
            .filter(|path| path.is_absolute())
            .unwrap_or_else(workspace_lock);
        let directory = lock.parent().map(Path::to_path_buf).unwrap_or_default();
        return if line.contains("cannot create") || !lock.exists() {
            Error::LockMissing { manifest, lock, directory }
        } else {
            Error::LockOutdated { manifest, lock, directory }
        };
    }
    let message = lines.join("\n");
    if message.contains("--offline") || message.contains("offline mode") {
        let directory = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        // Cargo's reminder that offline mode was asked for: cargo-store asked, not the user.
        let message = lines.iter().filter(|line| !line.starts_with("As a reminder")).copied().collect::<Vec<_>>();
        return Error::Offline { manifest, directory, message: message.join("\n") };
    }
    Error::Metadata { manifest, message }
}

/// `path` made absolute (against the current directory), with `.` and `..` resolved, so that
/// every spelling of one directory gives one path: the longest leading part that exists is
/// canonicalized (a `..` after a symbolic link goes where the kernel goes), the rest, which
/// does not exist and so holds no link, is normalized lexically.
pub fn normalize_directory(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for existing in absolute.ancestors() {
        let Ok(mut normalized) = existing.canonicalize() else { continue };
        let rest = absolute.strip_prefix(existing).unwrap_or(Path::new(""));
        for component in rest.components() {
            match component {
                Component::CurDir => {}
                Component::ParentDir => {
                    normalized.pop();
                }
                other => normalized.push(other),
            }
        }
        return normalized;
    }
    absolute
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_directory_normalizes_to_one_path() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let root = directory.path().canonicalize().expect("canonicalize");
        std::fs::create_dir_all(root.join("a/b")).expect("create a/b");
        std::os::unix::fs::symlink(root.join("a/b"), root.join("link")).expect("symlink");
        // Existing directories, through `..`, `.` and a symbolic link.
        assert_eq!(normalize_directory(&root.join("a/b/../b/./")), root.join("a/b"));
        assert_eq!(normalize_directory(&root.join("link")), root.join("a/b"));
        assert_eq!(normalize_directory(&root.join("link/..")), root.join("a"));
        // Directories that do not exist yet.
        assert_eq!(normalize_directory(&root.join("a/../t")), root.join("t"));
        assert_eq!(normalize_directory(&root.join("new/./x/../t")), root.join("new/t"));
        assert_eq!(normalize_directory(&root.join("link/new/..")), root.join("a/b"));
    }

    #[test]
    fn cargos_lock_file_errors_become_ours() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let root = directory.path().canonicalize().expect("canonicalize");
        let manifest = root.join("Cargo.toml");
        let lock = root.join("Cargo.lock");
        let help = "help: to generate the lock file without accessing the network, remove the --locked flag and use --offline instead.";
        let missing = format!(
            "error: cannot create the lock file {} because --locked was passed to prevent this\n{help}\n",
            lock.display()
        );
        let error = metadata_error(manifest.clone(), &missing);
        assert!(
            matches!(&error, Error::LockMissing { lock: path, directory, .. } if *path == lock && *directory == root),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(&format!("`{}`", lock.display())), "{text}");
        assert!(error.hint().is_some_and(|hint| hint.contains("cargo generate-lockfile")), "{error:?}");
        assert!(!text.contains("--locked"), "the user passed no --locked: {text}");

        std::fs::write(&lock, "version = 4\n").expect("write the lock");
        let outdated = format!(
            "    Locking 1 package to latest compatible version\nerror: cannot update the lock file {} because --locked was passed to prevent this\n{help}\n",
            lock.display()
        );
        let error = metadata_error(manifest.clone(), &outdated);
        assert!(matches!(&error, Error::LockOutdated { lock: path, .. } if *path == lock), "{error:?}");
        assert!(error.to_string().contains("does not update lock files"), "{error}");

        let offline = "error: no matching package named `serde` found\nlocation searched: crates.io index\nAs a reminder, you're using offline mode (--offline) which can sometimes cause surprising resolution failures, if this error is too confusing you may wish to retry without `--offline`.";
        let error = metadata_error(manifest.clone(), offline);
        assert!(matches!(&error, Error::Offline { .. }), "{error:?}");
        assert!(error.to_string().contains("no matching package named `serde` found"), "{error}");
        assert!(!error.to_string().contains("As a reminder"), "{error}");

        let other = metadata_error(manifest, "error: failed to parse manifest at `/x/Cargo.toml`");
        assert!(
            matches!(&other, Error::Metadata { message, .. } if message == "failed to parse manifest at `/x/Cargo.toml`")
        );
    }

    #[test]
    fn source_kinds() {
        assert_eq!(SourceKind::of(Some("registry+https://github.com/rust-lang/crates.io-index")), SourceKind::Registry);
        assert_eq!(SourceKind::of(Some("sparse+https://index.crates.io/")), SourceKind::Registry);
        assert_eq!(SourceKind::of(Some("git+https://example.org/repo#0123abc")), SourceKind::Git);
        assert_eq!(SourceKind::of(None), SourceKind::Path);
    }
}
