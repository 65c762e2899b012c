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
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(home) = cargo_home {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    files.sort();
    files.dedup();
    files
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
        let current = std::env::current_dir().unwrap_or_default();
        let mut key = format!("{}\0{}", current.display(), start.display());
        if let Some(target) = &target {
            key.push('\0');
            key.push_str(&target.to_string_lossy());
        }
        let file = cache_directory.join(format!("{}.json", blake3::hash(key.as_bytes()).to_hex()));
        if let Some(entry) = fs::read(&file).ok().and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
            && entry.format == FORMAT
            && entry.environment == environment()
            && entry.files.iter().all(|(path, recorded)| state(path) == *recorded)
        {
            return Ok(entry.workspace);
        }
        let workspace = Workspace::load(manifest_path, target.as_deref())?;
        let entry = Entry {
            format: FORMAT,
            files: inputs(&workspace, &start)
                .into_iter()
                .map(|path| {
                    let recorded = state(&path);
                    (path, recorded)
                })
                .collect(),
            environment: environment(),
            workspace,
        };
        // The cache is an optimisation: failing to write it is not the user's problem.
        if fs::create_dir_all(cache_directory).is_ok()
            && let Ok(bytes) = serde_json::to_vec(&entry)
        {
            let temporary = cargo_store_fs::temporary_path(&file);
            if fs::write(&temporary, bytes).is_err() || fs::rename(&temporary, &file).is_err() {
                let _ = fs::remove_file(&temporary);
            }
        }
        Ok(entry.workspace)
    }
}
