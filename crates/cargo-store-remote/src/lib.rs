//! The remote tier: units and objects shared between machines through an existing object
//! store (S3 or anything that speaks it) or a shared directory, reached through Apache OpenDAL.
//!
//! The local store stays the one that checkout places from: a remote only fills it (pull) and
//! is filled from it (push). This crate knows the remote's layout and protocol; which units to
//! pull or push is for `cargo-store-ops` to decide.
//!
//! # Layout
//!
//! ```text
//! <bucket>/<prefix>/cargo-store-v1/
//!   objects/ab/cdef…[.x]                      one per blake3 hash, as in the local store
//!   namespaces/<namespace>/
//!     namespace.json                          the toolchain and CARGO_HOME it stands for
//!     units/<key hash>.json                   a unit's manifest (the local store's format)
//!     packages/<package hash>/<key hash>      an empty marker per unit of a package
//!     resolves/<resolve digest>.json          every manifest pushed for one resolve
//! ```
//!
//! - **Namespaces.** A unit is fresh on another machine only when the toolchain is the same
//!   and the registry sources sit at the same absolute path (`CARGO_HOME`: cargo fingerprints a
//!   registry package by the path of its sources). Both are hashed into the namespace, so a
//!   machine with another toolchain or home simply finds nothing, instead of units cargo would
//!   rebuild. Objects are shared by all namespaces: bytes are bytes.
//! - **Discovery in a bounded number of requests.** A checkout of a workspace reads one
//!   object: the index of its resolve (the registry and git packages of its lock file, see
//!   `Workspace::resolve_digest`), which holds the manifests of every unit pushed for that
//!   resolve. Only when that index is missing (a lock file no machine pushed yet, say a branch
//!   that bumped one crate) does it list, per package, the markers under `packages/`, and
//!   read the manifests they name: one request per package plus one per unit, in parallel,
//!   never a listing of the bucket. Then one request per object it lacks.
//!
//! # Publishing order
//!
//! A push writes objects first, each once and never replaced (`If-None-Match: *` where the
//! service supports it, which S3 does; a directory checks first and renames into place), then
//! each unit's manifest only once its objects and its dependencies' manifests are there, then
//! the markers, then the resolve index. So whatever a push killed at any point leaves, a visible
//! manifest always has everything it needs; objects without a manifest are only wasted space.
//! A puller trusts nothing anyway: every object's blake3 is checked before it enters the local
//! store, and a manifest must parse and carry the key it was asked for.
//!
//! # Failure costs seconds
//!
//! Every request has a timeout (connect, then the request: [`Settings::timeout`]). The first
//! request of a command that fails to get an answer, three failures in a row later on, or one
//! failure that no retry can mend (wrong credentials, no such bucket) turn the remote off for
//! the rest of the command: later calls fail at once with [`Error::Off`], and the caller goes on
//! with the local store. There is no retry layer: a missing unit costs one build, a stalled
//! command costs everyone's patience.
//!
//! # Runtime
//!
//! OpenDAL is asynchronous; the rest of cargo-store is not. A [`Remote`] owns a
//! current-thread tokio runtime and every method blocks on it, running its requests
//! concurrently inside (up to [`Settings::concurrency`] at once).

mod error;
mod remote;
mod url;

pub use error::Error;
pub use remote::{Check, CheckResult, Namespace, Remote, Settings, Traffic};
pub use url::RemoteUrl;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
