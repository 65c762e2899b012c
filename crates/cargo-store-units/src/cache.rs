//! Remembering what `cargo metadata` said, so that a command with nothing to do stays fast.
//!
//! `cargo metadata` costs 100-200 ms, more than a no-op ingest or checkout may take in all. Its
//! answer depends only on files (the manifests, `Cargo.lock`, cargo's configuration files) and
//! a few environment variables, so it is kept in a cache file together with the size, mtime
//! and inode of each such file and the value of each such variable, and reused while none of
//! them changed. A change to any of them (a dependency added, a config edited, a lock file
//! updated) means asking cargo again. A workspace without a lock file is refused, so never
//! remembered; a lock file deleted after an answer was remembered changes its state and so
//! means asking cargo again, which then refuses it.
//!
//! # A new worktree
//!
//! The entry above is keyed by the current directory and the manifest's path, so a new
//! worktree of a repository would miss it, though cargo's answer for it differs only in its
//! paths. A second entry is therefore kept under the contents of the manifest cargo starts from
//! and of the nearest `Cargo.lock` above it, recording the digest of every input inside the
//! workspace root (manifests, lock file, `.cargo/config.toml`). A workspace whose inputs have
//! the same contents, whose configuration outside the root is the same set of unchanged files
//! and whose environment is the same gets that answer with every path under the old root moved
//! to the new one ([`rebase`]); packages outside the root (registry and git sources) stay. An
//! answer whose target or build directory, or a path package, lies outside the old root is not
//! reused: where those would be for the new worktree only cargo knows.
//!
//! # Expiry
//!
//! Entries are read and written through `cargo_store_fs::read_cache_entry` and
//! `write_cache_entry`: a read marks the entry used, so that whoever owns the cache directory
//! (the store's gc) can delete the entries nobody read for a while. This crate only ever gets
//! the directory, and never learns where it lies.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Workspace;

// 3: target and build directories normalized (see `normalize_directory`).
const FORMAT: u32 = 4;

/// The environment variables that change where cargo builds or what it reads. (Not
/// `CARGO_NET_OFFLINE`: cargo-store always reads offline.)
const ENVIRONMENT: [&str; 5] =
    ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_BUILD_DIR", "CARGO_HOME", "HOME"];

/// A file's size, mtime (ns) and inode; `None` when it does not exist.
type FileState = Option<(u64, i64, u64)>;

/// What the answer of cargo for one workspace root depended on, for another root with the same
/// files (see the module docs).
#[derive(Serialize, Deserialize)]
struct ContentEntry {
    format: u32,
    workspace: Workspace,
    /// The manifest cargo started from, relative to the root.
    start: PathBuf,
    /// The inputs inside the root, relative to it, with the digest of their contents (`None`
    /// for a file that did not exist).
    inside: Vec<(PathBuf, Option<String>)>,
    /// The inputs outside the root that existed, with their states.
    outside: Vec<(PathBuf, FileState)>,
    environment: Vec<(String, Option<String>)>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    workspace: Workspace,
    files: Vec<(PathBuf, FileState)>,
    environment: Vec<(String, Option<String>)>,
}

fn state(path: &Path) -> FileState {
    let metadata = fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec(), metadata.ino()))
}

fn environment() -> Vec<(String, Option<String>)> {
    ENVIRONMENT.iter().map(|name| ((*name).to_owned(), std::env::var(name).ok())).collect()
}

/// The files `cargo metadata`'s answer about `workspace` depends on.
fn inputs(workspace: &Workspace, start: &Path) -> Vec<PathBuf> {
    let mut files = vec![start.to_path_buf(), workspace.root.join("Cargo.toml"), workspace.root.join("Cargo.lock")];
    // Members, path dependencies and `[patch]` paths: their manifests take part in the
    // resolve. (A workspace without a lock file is never cached: cargo-store refuses it.)
    files.extend(
        workspace
            .packages
            .iter()
            .filter(|package| package.source_kind == crate::SourceKind::Path)
            .map(|package| package.root.join("Cargo.toml")),
    );
    // Cargo reads its configuration from the current directory upwards.
    let current = std::env::current_dir().unwrap_or_default();
    let directories = current.ancestors().chain(start.ancestors()).chain(workspace.root.ancestors());
    for directory in directories {
        files.push(directory.join(".cargo/config.toml"));
        files.push(directory.join(".cargo/config"));
    }
    if let Some(home) = crate::cargo_home() {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    files.sort();
    files.dedup();
    files
}

fn digest(path: &Path) -> Option<String> {
    fs::read(path).ok().map(|bytes| blake3::hash(&bytes).to_hex().to_string())
}

/// Where the content entry for a workspace started from `start` is looked up: the contents of
/// `start` and of the nearest `Cargo.lock` above it, and the environment.
fn content_file(cache_directory: &Path, start: &Path) -> Option<PathBuf> {
    let manifest = fs::read(start).ok()?;
    let lock = start.ancestors().skip(1).find_map(|directory| fs::read(directory.join("Cargo.lock")).ok())?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&FORMAT.to_le_bytes());
    for part in [&manifest, &lock, &serde_json::to_vec(&environment()).ok()?] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Some(cache_directory.join("by-content").join(format!("{}.json", hasher.finalize().to_hex())))
}

/// Splits the inputs of `workspace` into those inside its root, with their digests, and the
/// existing ones outside it, with their states.
#[expect(clippy::type_complexity, reason = "two lists of paths with their states, used once by the caller")]
fn content_inputs(workspace: &Workspace, start: &Path) -> (Vec<(PathBuf, Option<String>)>, Vec<(PathBuf, FileState)>) {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    // Sources vendored inside the root (a directory source replacing a registry) are rebased
    // too: they must be there in the new root.
    let mut files = inputs(workspace, start);
    files.extend(
        workspace
            .packages
            .iter()
            .filter(|package| package.root.starts_with(&workspace.root))
            .map(|package| package.root.join("Cargo.toml")),
    );
    files.sort();
    files.dedup();
    for path in files {
        match path.strip_prefix(&workspace.root) {
            Ok(relative) => inside.push((relative.to_path_buf(), digest(&path))),
            Err(_) => {
                let recorded = state(&path);
                if recorded.is_some() {
                    outside.push((path, recorded));
                }
            }
        }
    }
    inside.sort();
    outside.sort();
    (inside, outside)
}

/// `workspace` with every path under its root moved under `root`; `None` when its target or
/// build directory or a path package lies outside its root, so that where they would be for
/// `root` cannot be told.
fn rebase(workspace: &Workspace, root: &Path) -> Option<Workspace> {
    let old = &workspace.root;
    let moved = |path: &Path| path.strip_prefix(old).ok().map(|relative| root.join(relative));
    let mut rebased = workspace.clone();
    rebased.root = root.to_path_buf();
    rebased.target_directory = moved(&workspace.target_directory)?;
    rebased.build_directory = moved(&workspace.build_directory)?;
    for package in &mut rebased.packages {
        match moved(&package.root) {
            Some(path) => package.root = path,
            None if package.source_kind == crate::SourceKind::Path => return None,
            None => {}
        }
    }
    Some(rebased)
}

/// The answer remembered for another root whose inputs have the same contents, rebased onto
/// the root of `start` (see the module docs).
fn reuse_by_content(cache_directory: &Path, start: &Path) -> Option<Workspace> {
    let entry: ContentEntry =
        serde_json::from_slice(&cargo_store_fs::read_cache_entry(&content_file(cache_directory, start)?)?).ok()?;
    if entry.format != FORMAT || entry.environment != environment() {
        return None;
    }
    // The new root: `start` without the manifest's path relative to the old root.
    let mut root = start;
    for _ in entry.start.components() {
        root = root.parent()?;
    }
    if root.join(&entry.start) != start {
        return None;
    }
    let workspace = rebase(&entry.workspace, root)?;
    let (inside, outside) = content_inputs(&workspace, start);
    (inside == entry.inside && outside == entry.outside).then_some(workspace)
}

/// Remembers `workspace`, cargo's answer for `start`, for other roots with the same inputs.
fn record_by_content(cache_directory: &Path, start: &Path, workspace: &Workspace) {
    let (Some(file), Ok(relative)) = (content_file(cache_directory, start), start.strip_prefix(&workspace.root)) else {
        return;
    };
    if rebase(workspace, &workspace.root).is_none() {
        return;
    }
    let (inside, outside) = content_inputs(workspace, start);
    // Run from elsewhere (another worktree, as sync does) with a configuration of its own
    // there, the answer fits no other root: keep the entry that may.
    let current = std::env::current_dir().unwrap_or_default();
    let own = |path: &Path| {
        path.parent().and_then(Path::parent).is_some_and(|directory| {
            current.starts_with(directory) && !workspace.root.starts_with(directory) && !start.starts_with(directory)
        })
    };
    if outside.iter().any(|(path, _)| own(path)) {
        return;
    }
    let entry = ContentEntry {
        format: FORMAT,
        workspace: workspace.clone(),
        start: relative.to_path_buf(),
        inside,
        outside,
        environment: environment(),
    };
    write_entry(&file, &entry);
}

/// Writes `value` as JSON to the cache entry `file`, all or nothing; the cache is an
/// optimisation: failing to write it is not the user's problem.
fn write_entry(file: &Path, value: &impl Serialize) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        cargo_store_fs::write_cache_entry(file, &bytes);
    }
}

/// The manifest cargo would start from: the given one, or the nearest `Cargo.toml` above the
/// current directory.
pub(crate) fn start_manifest(manifest_path: Option<&Path>) -> Option<PathBuf> {
    match manifest_path {
        Some(path) => std::path::absolute(path).ok(),
        None => {
            let current = std::env::current_dir().ok()?;
            current.ancestors().map(|directory| directory.join("Cargo.toml")).find(|path| path.is_file())
        }
    }
}

impl Workspace {
    /// [`Workspace::load`], through a cache in `cache_directory`, created if needed (see the
    /// module docs). Without a cache directory, or when the manifest cannot be found, it asks
    /// cargo.
    pub fn load_cached(
        manifest_path: Option<&Path>,
        target_directory: Option<&Path>,
        cache_directory: Option<&Path>,
    ) -> crate::Result<Workspace> {
        let (Some(cache_directory), Some(start)) = (cache_directory, start_manifest(manifest_path)) else {
            return Workspace::load(manifest_path, target_directory);
        };
        let target = target_directory.and_then(|directory| std::path::absolute(directory).ok());
        let file = entry_file(cache_directory, &start, target.as_deref());
        if let Some(entry) =
            cargo_store_fs::read_cache_entry(&file).and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
            && entry.format == FORMAT
            && entry.environment == environment()
            && entry.files.iter().all(|(path, recorded)| state(path) == *recorded)
        {
            tracing::debug!("cargo metadata: answered from {}", file.display());
            return Ok(entry.workspace);
        }
        // A new worktree: the answer for another one with the same files, unless the target
        // directory is given, which the content entry does not record.
        let reused = target.is_none().then(|| reuse_by_content(cache_directory, &start)).flatten();
        let asked = reused.is_none();
        if asked {
            tracing::debug!("cargo metadata: asked (no entry, or its inputs changed: {})", file.display());
        } else {
            tracing::debug!("cargo metadata: answered for another worktree with the same files, rebased");
        }
        let workspace = match reused {
            Some(workspace) => workspace,
            None => Workspace::load(manifest_path, target.as_deref())?,
        };
        if asked && target.is_none() {
            record_by_content(cache_directory, &start, &workspace);
        }
        record(&file, &start, &workspace);
        Ok(workspace)
    }

    /// Keeps this answer, read without a cache (before the cache directory existed), in
    /// `cache_directory` as [`Workspace::load_cached`] would have, so that the next command
    /// does not ask cargo again.
    pub fn remember(&self, manifest_path: Option<&Path>, target_directory: Option<&Path>, cache_directory: &Path) {
        let Some(start) = start_manifest(manifest_path) else { return };
        let target = target_directory.and_then(|directory| std::path::absolute(directory).ok());
        if target.is_none() {
            record_by_content(cache_directory, &start, self);
        }
        record(&entry_file(cache_directory, &start, target.as_deref()), &start, self);
    }
}

/// The cache entry for the workspace of the manifest `start` read from the current directory,
/// with `target` as its target directory when given.
fn entry_file(cache_directory: &Path, start: &Path, target: Option<&Path>) -> PathBuf {
    let current = std::env::current_dir().unwrap_or_default();
    let mut key = format!("{}\0{}", current.display(), start.display());
    if let Some(target) = target {
        key.push('\0');
        key.push_str(&target.to_string_lossy());
    }
    cache_directory.join(format!("{}.json", blake3::hash(key.as_bytes()).to_hex()))
}

/// Writes the entry for `workspace` to `file`, with the states of its inputs now.
fn record(file: &Path, start: &Path, workspace: &Workspace) {
    let entry = Entry {
        format: FORMAT,
        files: inputs(workspace, start)
            .into_iter()
            .map(|path| {
                let recorded = state(&path);
                (path, recorded)
            })
            .collect(),
        environment: environment(),
        workspace: workspace.clone(),
    };
    write_entry(file, &entry);
}
