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
    Target(#[from] cargo_store_target::Error),
    /// A filesystem operation failed.
    #[error(transparent)]
    Filesystem(#[from] cargo_store_fs::Error),
    /// The build directory does not exist: there is nothing to ingest.
    #[error(
        "`{path}` does not exist: this workspace has not been built yet\nhint: run `cargo build` first, then `cargo store ingest`"
    )]
    NotBuilt {
        /// The build directory.
        path: PathBuf,
    },
}
