//! The content-addressed store: objects on disk, the SQLite index, and the store lock.
//!
//! ```text
//! ~/.cache/cargo-store/                  mode 0700, owned by the user
//!   CACHEDIR.TAG                         so backup tools skip it
//!   VERSION                              the on-disk layout version ("1")
//!   .lock                                flock: shared for ingest/checkout, exclusive for gc
//!   index.sqlite[-wal,-shm]              objects, units (manifests), dependencies, roots (WAL mode)
//!   index.sqlite.broken-<time>           an index moved aside by `repair --rebuild-index`
//!   objects/ab/cdef…[.x]                 one file per blake3 hash (+ executable bit)
//!   manifests/ab/cdef….json              each unit's manifest, named by the hash of its key
//!   quarantine/<hash>[.x].<time>         objects found damaged, kept for inspection
//!   tmp/                                 files being written; renamed into objects/ when complete
//!   cache/                               answers worth remembering; gc deletes unused ones
//!     workspaces/<hash>.json             `cargo metadata`, by directory, manifest and target dir
//!     workspaces/by-content/<hash>.json  the same, by the contents of manifest and lock file
//!     rustc/<hash>.txt                   `rustc -vV`, by the identity of the rustc that runs
//!     host-cfg/<hash>.txt                `rustc --print cfg`, by toolchain and RUSTFLAGS
//!     sync/<hash>.txt                    a build directory's shape when last ingested, by its path
//! ```
//!
//! [`StoreDirectory`] is the one owner of these names: nothing outside this crate builds a
//! path under the root. Orphans (files no index row names) and cache expiry are described
//! there.
//!
//! # Locking
//!
//! Ingest and checkout take the store lock *shared* for their whole run, so any number of them
//! run at once (and builds in worktrees never wait on each other: cargo-store holds no lock
//! while cargo runs). Garbage collection takes it *exclusive* for its sweep, so it never deletes
//! an object that a running ingest is about to reference. SQLite serialises the writes
//! themselves (WAL mode, `busy_timeout`), and every command commits once.
//!
//! # Crash safety
//!
//! An object is written under `tmp/`, given its final mode and mtime, and only then given
//! its name under `objects/` (without replacing anything there). The index row that references
//! it is committed after that. So a crash at any point leaves at worst an orphan file, never a
//! row that points at a missing object. `ON DELETE RESTRICT` from manifests to objects makes the
//! database itself refuse to drop an object that a unit still lists.
//!
//! # Compatibility
//!
//! The schema is migrated by an append-only list of SQL files (`migrations/` at the repository
//! root) keyed by `PRAGMA user_version`, as cargo does for its global cache tracker. An index
//! written by a newer cargo-store is refused with a clear message instead of being guessed at.
//!
//! # Filesystems
//!
//! Objects are read-only, except those that may be hard-linked into worktrees (rustc outputs,
//! linked binaries): rustc refuses to replace a read-only output file, so those are
//! owner-writable (see [`ObjectId::mode`]). A mode only stops non-root writers anyway; what
//! actually protects objects is the link policy of `cargo-store-fs`, which never hands out an
//! inode that a build could write in place.

mod clock;
mod directory;
mod error;
mod gc;
mod index;
mod integrity;
mod lock;
mod manifest;
mod object;
mod rebuild;
mod roots;
mod store;

pub use clock::now;
pub use directory::{CacheBucket, CacheExpiry, Garbage, ObjectState, Referenced, StoreDirectory};
pub use error::Error;
pub use gc::{Eviction, GcInputs, GcObject, GcPlan, GcPolicy, GcUnit, plan};
pub use index::{
    Index, IndexTransaction, ManifestEntry, NewUnit, ObjectRecord, PackageKey, StoredFile, StoredUnit, Totals,
};
pub use integrity::ObjectCopy;
pub use lock::Access;
pub use object::{FileIdentity, ObjectId, hash_file};
pub use rebuild::{RebuildReport, rebuild_index};
pub use roots::{RootRecord, RootReference};
pub use store::{ObjectSource, StagedObject, Store, normalize_path};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
