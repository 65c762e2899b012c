//! Errors of the Cargo model: each names the path or the command that failed; [`Error::hint`]
//! says what to do about it, as data, so that every printer puts it where it belongs.

use std::io;
use std::path::PathBuf;

/// A failure to read a workspace or a target directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `cargo metadata` could not be run or failed.
    #[error("`cargo metadata` failed for `{manifest}`: {message}")]
    Metadata {
        /// The manifest (or directory) cargo was asked about.
        manifest: PathBuf,
        /// What cargo said.
        message: String,
    },
    /// `Cargo.lock` no longer matches the manifests: reading the workspace would resolve it
    /// again and rewrite the lock file, which cargo-store never does.
    #[error(
        "`{lock}` is out of date with the dependencies of `{manifest}`, and cargo-store does not update lock files"
    )]
    LockOutdated {
        /// The manifest cargo was asked about.
        manifest: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The workspace root, where the lock file is.
        directory: PathBuf,
    },
    /// The workspace has no `Cargo.lock`: reading it would create one, which cargo-store never
    /// does (a repository may commit none on purpose).
    #[error("there is no lock file `{lock}` for `{manifest}`, and cargo-store does not create lock files")]
    LockMissing {
        /// The manifest cargo was asked about.
        manifest: PathBuf,
        /// Where the lock file would be.
        lock: PathBuf,
        /// The workspace root.
        directory: PathBuf,
    },
    /// Reading the workspace needs something not on this machine yet (an index, a package, a
    /// git checkout), and cargo-store never reaches the network.
    #[error("reading the workspace of `{manifest}` needs the network, and cargo-store does not use it: {message}")]
    Offline {
        /// The manifest cargo was asked about.
        manifest: PathBuf,
        /// Where to run `cargo fetch`.
        directory: PathBuf,
        /// What cargo said.
        message: String,
    },
    /// `rustc -vV` could not be run or its output was not understood.
    #[error("failed to ask `{rustc}` for its version in `{directory}`: {message}")]
    Toolchain {
        /// The rustc command.
        rustc: String,
        /// Where it was run.
        directory: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file or directory of the target directory could not be read.
    #[error(transparent)]
    Filesystem(#[from] cargo_store_fs::Error),
}

impl Error {
    /// What the user can do about it, printed after the whole message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Metadata { .. } => {
                Some("run this from a Cargo project, or pass `--manifest-path path/to/Cargo.toml`".to_owned())
            }
            Error::LockOutdated { directory, .. } => Some(format!(
                "run `cargo build` (or `cargo update --workspace`) in `{}` to update it, then run the command again",
                directory.display()
            )),
            Error::LockMissing { directory, .. } => Some(format!(
                "run `cargo build` (or `cargo generate-lockfile`) in `{}` first, then run the command again",
                directory.display()
            )),
            Error::Offline { directory, .. } => Some(format!(
                "run `cargo fetch` (or `cargo build`) in `{}` first, then run the command again",
                directory.display()
            )),
            Error::Toolchain { .. } => Some("check that rustc works here (`rustc -vV`), or set RUSTC".to_owned()),
            Error::Filesystem(inner) => inner.hint(),
        }
    }
}

/// Adds the action and path to an `io::Result`'s error ([`cargo_store_fs::Error::Io`]).
pub(crate) trait Context<T> {
    fn context(self, action: &'static str, path: impl Into<PathBuf>) -> crate::Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, action: &'static str, path: impl Into<PathBuf>) -> crate::Result<T> {
        self.map_err(|source| Error::Filesystem(cargo_store_fs::Error::io(action, path, source)))
    }
}
