//! Errors of the operations: the errors of the layers below, and the few that only an
//! operation can tell.

use std::path::PathBuf;

/// A failed operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] cargo_store_cas::Error),
    /// Reading the workspace or its target directory failed.
    #[error(transparent)]
    Target(#[from] cargo_store_units::Error),
    /// A filesystem operation failed.
    #[error(transparent)]
    Filesystem(#[from] cargo_store_fs::Error),
    /// A file or directory of a worktree (its target or build directory) could not be read or
    /// written: the hint is about the worktree, never about the store.
    #[error(transparent)]
    Worktree(cargo_store_fs::Error),
    /// A registered root cannot be read: collecting now could evict what it still uses.
    #[error("cannot read the registered build directory `{path}`: {source}")]
    RootUnreadable {
        /// The path that could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `roots forget` was given a path that is not a registered root.
    #[error("`{path}` is not a registered build directory")]
    UnknownRoot {
        /// The path given.
        path: PathBuf,
    },
    /// The build directory does not exist: there is nothing to ingest. The build may have gone
    /// elsewhere, as cargo-store reads the target directory from the same settings cargo does
    /// except the command line of that build.
    #[error("`{path}` does not exist: this workspace has not been built yet, or not into this directory")]
    NotBuilt {
        /// The build directory.
        path: PathBuf,
    },
    /// The remote failed (`pull` and `push` only: every other command goes on without it).
    #[error("{}", message.split('\n').next().unwrap_or_default())]
    Remote {
        /// What failed, with its hint on a `hint:` line.
        message: String,
    },
    /// This build of cargo-store has no remote tier.
    #[error("this cargo-store was built without the remote tier (the `remote` feature)")]
    RemoteDisabled,
    /// A command to run could not be started.
    #[error("cannot run `{program}`: {source}")]
    CommandNotStarted {
        /// The program.
        program: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Cargo holds the build lock of a directory that checkout would write into.
    #[error("cargo is building in `{path}` right now (it holds `{lock}`): checkout changed nothing")]
    CargoIsBuilding {
        /// The profile directory.
        path: PathBuf,
        /// Cargo's lock file in it.
        lock: PathBuf,
    },
    /// `sweep` was given a path that is neither a workspace nor a build directory whose
    /// workspace it can tell.
    #[error("`{path}` is neither a Cargo workspace nor a build directory whose workspace is known")]
    NotABuildDirectory {
        /// The path given.
        path: PathBuf,
    },
}

impl Error {
    /// What the user can do about it, printed after the whole message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Store(inner) => inner.hint(),
            Error::Target(inner) => inner.hint(),
            Error::Filesystem(inner) => inner.hint(),
            Error::Worktree(inner) => worktree_hint(inner),
            Error::RootUnreadable { path, .. } => Some(format!("fix its permissions or mount it again; if it is gone for good, run `cargo store roots forget {path}`", path = path.display())),
            Error::UnknownRoot { .. } => Some("`cargo store roots` lists them".to_owned()),
            Error::NotBuilt { .. } => Some("run `cargo build` first, then `cargo store ingest`; if the build went to another directory (`--target-dir`, `CARGO_TARGET_DIR` or `build.target-dir`), give ingest the same `--target-dir DIR`".to_owned()),
            Error::CommandNotStarted { program, .. } => Some(format!("check that `{program}` is installed, on PATH and executable")),
            Error::CargoIsBuilding { .. } => Some("run `cargo store checkout` again when the build has finished".to_owned()),
            Error::Remote { message } => message.split_once("\nhint: ").map(|(_, hint)| hint.to_owned()),
            Error::RemoteDisabled => Some("install it with the default features: `cargo install --path . --locked`".to_owned()),
            Error::NotABuildDirectory { .. } => Some("give the workspace's directory (the one with `Cargo.toml`), or a build directory that `cargo store ingest` or `checkout` registered (`cargo store roots` lists them)".to_owned()),
        }
    }
}

impl Error {
    /// An I/O failure on `path` of a worktree, while doing `action`.
    pub(crate) fn worktree(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Worktree(cargo_store_fs::Error::io(action, path, source))
    }
}

/// What to do when a worktree's file could not be read or written.
fn worktree_hint(error: &cargo_store_fs::Error) -> Option<String> {
    if let Some(hint) = error.hint() {
        return Some(hint);
    }
    match error.io_error()?.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => Some(
            "the worktree's filesystem is read-only: make it writable, or check out into a writable directory with `--target-dir DIR`".to_owned(),
        ),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Some(
            "the worktree's filesystem is full: free some space there (`cargo clean` in an old worktree frees its build), then run the command again".to_owned(),
        ),
        std::io::ErrorKind::PermissionDenied => {
            Some("check the permissions of the worktree's target directory, and who owns it".to_owned())
        }
        _ => None,
    }
}
