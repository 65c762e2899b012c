//! The operations of cargo-store, each a function from options to a report.
//!
//! Commands are thin wrappers over these functions (as cargo's commands are over `cargo::ops`):
//! they parse arguments, call one function here and print its report. Reports are plain
//! `Serialize` structs: the same value is printed for humans or as `--json`, whose schema
//! carries a [`REPORT_VERSION`].

mod checkout;
mod doctor;
mod error;
mod exec;
mod explain;
mod gc;
mod hint;
mod ingest;
mod misses;
mod pause;
mod progress;
mod remote;
mod repair;
mod roots;
mod status;
mod sweep;
mod sync;
mod verify;

pub use cargo_store_units::SkipReason;
pub use checkout::{CheckoutOptions, CheckoutReport, checkout, checkout_with_progress};
pub use doctor::{Check, CheckStatus, DoctorOptions, DoctorReport, LOW_SPACE, LinkSupport, doctor};
pub use error::Error;
pub use exec::{ExecEvents, ExecOptions, ExecReport, exec};
pub use explain::{Explanation, PackageVerdict};
pub use gc::{
    AUTO_INTERVAL, Auto, CACHE_MAX_AGE, DEFAULT_MAX_AGE, DEFAULT_MAX_SIZE, DroppedRoot, GcOptions, GcReport,
    MISSING_ROOT_GRACE, ORPHAN_GRACE, QUARANTINE_MAX_AGE, gc,
};
pub use gc::{DropReason, GcSkip};
pub use hint::hint_of;
pub use ingest::{IngestOptions, IngestReport, SkipGroup, ingest, ingest_with_progress};
pub use misses::{Miss, MissDifference};
pub use progress::{NoProgress, Progress};
pub use remote::{
    Discovery, PUSH_VARIABLE, PullOptions, PullReport, PushOptions, PushReport, REMOTE_VARIABLE, RemoteNamespace,
    RemoteTraffic, configured_remote, pull, push, push_requested,
};
pub use repair::{RepairReport, rebuild_index};
pub use roots::RootState;
pub use roots::{ForgetReport, RootEntry, RootsReport, forget, roots};
pub use status::{StatusReport, status};
pub use sweep::{
    DEFAULT_SWEEP_MAX_AGE, RootSkip, RootSweep, SweepOptions, SweepReport, SweepSkip, SweptBecause, SweptGroup,
    SweptKind, roots_with_sweep, sweep,
};
pub use sync::{REFRESH_BUDGET, SYNC_BUDGET, SyncReport, refresh, sync};
pub use verify::ProblemKind;
pub use verify::{Problem, VerifyOptions, VerifyReport, verify};

/// The version of the JSON schema of every report; bumped when a field changes meaning or
/// disappears (new fields may appear without a bump).
pub const REPORT_VERSION: u32 = 1;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Milliseconds elapsed since `start`, for reports.
pub(crate) fn elapsed_ms(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The workspace of `manifest_path` (or of the current directory), through the store's cache
/// of `cargo metadata` answers once the store exists.
pub(crate) fn load_workspace(
    store: &std::path::Path,
    manifest_path: Option<&std::path::Path>,
    target_directory: Option<&std::path::Path>,
) -> Result<cargo_store_units::Workspace> {
    let cache = cache(store, cargo_store_cas::CacheBucket::Workspaces);
    Ok(cargo_store_units::Workspace::load_cached(manifest_path, target_directory, cache.as_deref())?)
}

/// Keeps in the store's cache a workspace read before the store existed (by the command that
/// then created it), so that the next command does not ask cargo again.
pub(crate) fn remember_workspace(
    store: &std::path::Path,
    manifest_path: Option<&std::path::Path>,
    target_directory: Option<&std::path::Path>,
    workspace: &cargo_store_units::Workspace,
) {
    if let Some(cache) = cache(store, cargo_store_cas::CacheBucket::Workspaces) {
        workspace.remember(manifest_path, target_directory, &cache);
    }
}

/// The directory of one of the store's caches (`rustc -vV` answers for
/// `Toolchain::detect_cached`, say), once the store exists.
pub(crate) fn cache(store: &std::path::Path, bucket: cargo_store_cas::CacheBucket) -> Option<std::path::PathBuf> {
    store.is_dir().then(|| cargo_store_cas::StoreDirectory::new(store).cache(bucket))
}

/// A size for people: `512 B`, `1.5 KiB`, `3.0 GiB`.
pub fn format_bytes(count: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
