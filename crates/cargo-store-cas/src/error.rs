//! Errors of the store: each names the path and, where the user can act, says what to do in
//! [`Error::hint`]: a read-only or full filesystem under the store gets a hint about the store.

use std::io;
use std::path::PathBuf;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation of `cargo-store-fs` failed.
    #[error(transparent)]
    Filesystem(cargo_store_fs::Error),
    /// A unit was to be stored before one of its dependencies: a bug of its caller, never a
    /// damaged index.
    #[error(
        "cannot store the unit `{unit}`: its dependency `{dependency}` is not stored (a bug in cargo-store; nothing was stored)"
    )]
    MissingDependency {
        /// The key of the unit.
        unit: String,
        /// The key of the dependency.
        dependency: String,
    },
    /// The store is on a read-only filesystem.
    #[error("cannot write `{path}`: the filesystem is read-only")]
    ReadOnly {
        /// What could not be written.
        path: PathBuf,
    },
    /// The store's filesystem is full.
    #[error("no space left on the device of `{path}`")]
    Full {
        /// What could not be written.
        path: PathBuf,
    },
    /// The index could not be read or written.
    #[error("the store index `{path}` could not be used: {error}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// The SQLite error, in the message (not a cause: it would be printed twice).
        error: rusqlite::Error,
    },
    /// The index was written by a newer cargo-store.
    #[error(
        "the store index `{path}` has schema version {found}, newer than this cargo-store understands ({supported})"
    )]
    NewerSchema {
        /// The index file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store directory belongs to another user or is writable by others.
    #[error("the store `{path}` {problem}")]
    Unsafe {
        /// The store directory.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: String,
    },
    /// The store was written with a newer on-disk layout.
    #[error("the store `{path}` has layout version {found}, this cargo-store understands {supported}")]
    NewerLayout {
        /// The store directory.
        path: PathBuf,
        /// The version found.
        found: String,
        /// The version this build writes.
        supported: u32,
    },
    /// A file changed between the moment it was hashed and the moment it was stored.
    #[error("`{path}` changed while it was being stored")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A command that only reads the store (or collects it) was pointed at a path that holds
    /// no store; it creates none there.
    #[error("no store at `{path}`{detail}")]
    NoStore {
        /// The path given.
        path: PathBuf,
        /// What is there instead, if anything (empty when nothing is).
        detail: &'static str,
    },
    /// `CARGO_STORE_DIR` holds a relative path.
    #[error("CARGO_STORE_DIR is the relative path `{path}`, which would name another store in every directory")]
    RelativeLocation {
        /// The value of the variable.
        path: PathBuf,
    },
    /// No store location could be determined.
    #[error("no store location: neither CARGO_STORE_DIR, XDG_CACHE_HOME nor HOME is set")]
    NoLocation,
}

impl Error {
    /// What the user can do about it, printed after the whole message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Filesystem(inner) => inner.hint(),
            Error::MissingDependency { .. } => None,
            Error::ReadOnly { .. } => Some("cargo-store needs a writable store: remount it read-write, or use another store with `--store DIR` or CARGO_STORE_DIR".to_owned()),
            Error::Full { .. } => Some("free some space there, or shrink the store with `cargo store gc --max-size SIZE`; what was being written was left out of the store".to_owned()),
            Error::Index { .. } => Some("if it is damaged, `cargo store repair --rebuild-index` rebuilds it from the objects and manifests (the old file is kept aside)".to_owned()),
            Error::NewerSchema { .. } => Some("upgrade cargo-store, or use another store with `--store`".to_owned()),
            Error::Unsafe { hint, .. } => Some(hint.clone()),
            Error::NewerLayout { .. } => Some("upgrade cargo-store, or use another store with `--store`".to_owned()),
            Error::Changed { .. } => None,
            Error::NoStore { .. } => Some("`cargo store ingest` creates the store after a build; if the store is elsewhere, check `--store` and CARGO_STORE_DIR".to_owned()),
            Error::RelativeLocation { .. } => Some("set CARGO_STORE_DIR to an absolute path (a relative `--store` on the command line is fine)".to_owned()),
            Error::NoLocation => Some("pass `--store DIR` or set CARGO_STORE_DIR".to_owned()),
        }
    }
}

impl Error {
    /// Wraps an I/O error with the action and path it happened on.
    ///
    /// A read-only or full filesystem becomes [`Error::ReadOnly`] or [`Error::Full`]: those
    /// need another hint than a failed read.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::ReadOnlyFilesystem => Error::ReadOnly { path: path.into() },
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::Full { path: path.into() },
            _ => Error::Filesystem(cargo_store_fs::Error::io(action, path, source)),
        }
    }
}

impl From<cargo_store_fs::Error> for Error {
    fn from(error: cargo_store_fs::Error) -> Self {
        let path = match &error {
            cargo_store_fs::Error::Io { path, .. } | cargo_store_fs::Error::Place { to: path, .. } => {
                Some(path.clone())
            }
            cargo_store_fs::Error::Unsupported { .. } => None,
        };
        match (error.io_error().map(io::Error::kind), path) {
            (Some(io::ErrorKind::ReadOnlyFilesystem), Some(path)) => Error::ReadOnly { path },
            (Some(io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded), Some(path)) => Error::Full { path },
            _ => Error::Filesystem(error),
        }
    }
}

/// Adds [`Error::io`] context to an `io::Result`.
pub(crate) trait Context<T> {
    fn context(self, action: &'static str, path: impl Into<PathBuf>) -> crate::Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, action: &'static str, path: impl Into<PathBuf>) -> crate::Result<T> {
        self.map_err(|source| Error::io(action, path, source))
    }
}
