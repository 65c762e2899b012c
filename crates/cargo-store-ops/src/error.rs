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
    /// A registered root cannot be read: collecting now could evict what it still uses.
    #[error(
        "cannot read the registered build directory `{path}`: {source}\nhint: fix its permissions or mount it again; if it is gone for good, run `cargo store roots forget {path}`"
    )]
    RootUnreadable {
        /// The path that could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `roots forget` was given a path that is not a registered root.
    #[error("`{path}` is not a registered build directory\nhint: `cargo store roots` lists them")]
    UnknownRoot {
        /// The path given.
        path: PathBuf,
    },
    /// The build directory does not exist: there is nothing to ingest. The build may have gone
    /// elsewhere, as cargo-store reads the target directory from the same settings cargo does
    /// except the command line of that build.
    #[error(
        "`{path}` does not exist: this workspace has not been built yet, or not into this directory\nhint: run `cargo build` first, then `cargo store ingest`; if the build went to another directory (`--target-dir`, `CARGO_TARGET_DIR` or `build.target-dir`), give ingest the same `--target-dir DIR`"
    )]
    NotBuilt {
        /// The build directory.
        path: PathBuf,
    },
    /// A command to run could not be started.
    #[error("cannot run `{program}`: {source}\nhint: check that `{program}` is installed, on PATH and executable")]
    CommandNotStarted {
        /// The program.
        program: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Cargo holds the build lock of a directory that checkout would write into.
    #[error(
        "cargo is building in `{path}` right now (it holds `{lock}`): checkout changed nothing\nhint: run `cargo store checkout` again when the build has finished"
    )]
    CargoIsBuilding {
        /// The profile directory.
        path: PathBuf,
        /// Cargo's lock file in it.
        lock: PathBuf,
    },
}
