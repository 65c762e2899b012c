//! Filesystem primitives for cargo-store.
//!
//! Everything that touches a file on behalf of the store or a worktree goes through this crate,
//! so that the two rules the whole product rests on are enforced in one place:
//!
//! - **Exact timestamps.** Cargo decides freshness by comparing modification times, so every
//!   file that is placed into a target directory carries exactly the mtime it had when it was
//!   ingested, to the nanosecond ([`FileTimes`], [`set_times`]).
//! - **No build may change a store object.** Which files may share an inode with the store is
//!   decided by their [`FileClass`]; how a file is actually placed (reflink, hardlink or copy,
//!   with fallbacks probed once per pair of filesystems) is decided by the [`Linker`].
//!
//! Files are never half-written at their final name: they are prepared under a temporary name in
//! the destination directory and published with a no-clobber hard link ([`publish`]), the same
//! idea as uv's and cargo's "write then rename", but without ever replacing a file that is
//! already there. Cache entries, which may be replaced, are renamed over the old one instead
//! ([`write_cache_entry`]).

mod cache;
mod class;
mod error;
mod link;
mod probe;
mod publish;
mod time;

pub use cache::{CACHEDIR_TAG_SIGNATURE, USE_RESOLUTION, read_cache_entry, tag_cache_directory, write_cache_entry};
pub use class::FileClass;
pub use error::Error;
pub use link::{LinkMode, LinkRequest, Linker};
pub use probe::{Filesystem, LinkProbe, filesystem, nearest_existing, probe_links};
pub use publish::{TEMPORARY_PREFIX, is_temporary, publish, temporary_path, write_new};
pub use time::{FileTimes, set_times};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
