//! The error type of the filesystem layer: every variant names the step and the paths, and
//! [`Error::hint`] what to do where the user can act.

use std::io;
use std::path::PathBuf;

/// A filesystem operation that failed, with the paths involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A generic I/O failure on one path.
    #[error("failed to {action} `{path}`")]
    Io {
        /// What was being done, as a verb phrase ("read", "create directory", ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Placing one file from another failed.
    #[error("failed to {mode} `{from}` to `{to}`")]
    Place {
        /// The link mode that was attempted.
        mode: crate::LinkMode,
        /// The source (a store object).
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `--strict` was given and the requested link mode does not work between two filesystems.
    #[error("{mode} is not possible from `{from}` to `{to}`: {reason}")]
    Unsupported {
        /// The link mode that was required.
        mode: crate::LinkMode,
        /// The source directory or file.
        from: PathBuf,
        /// The destination directory or file.
        to: PathBuf,
        /// What the system said.
        reason: String,
        /// What would have been used without `--strict`.
        fallback: crate::LinkMode,
    },
}

impl Error {
    /// What the user can do about it, printed after the whole message.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Io { .. } => None,
            Error::Place { .. } => None,
            Error::Unsupported { fallback, .. } => Some(format!(
                "drop `--strict` to fall back to {fallback}, or put the store on the same filesystem as the worktree (`--store` or CARGO_STORE_DIR)"
            )),
        }
    }
}

impl Error {
    /// Wraps an I/O error with the action and path it happened on.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    /// The underlying I/O error, if there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io { source, .. } | Error::Place { source, .. } => Some(source),
            Error::Unsupported { .. } => None,
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
