//! The `--json` reports of `ingest`, `checkout` and `status`, mirrored as typed structs so that
//! tests read fields instead of matching substrings. Every field of the contract is required:
//! a report that lacks one fails to deserialize and so fails the test.

use serde::Deserialize;

/// The JSON schema version every report carries.
pub const REPORT_VERSION: u32 = 1;

/// The skip reasons of the contract: a report may use no other. Read from the generated schema
/// of the reports (`SkipReason`), so the list cannot fall behind the enum.
pub fn skip_reasons() -> Vec<String> {
    crate::schema::enum_values("SkipReason")
}

/// `cargo-store ingest --json`.
#[derive(Debug, Deserialize)]
pub struct IngestReport {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The store directory.
    pub store: String,
    /// The ingested workspace's target directory.
    pub target_directory: String,
    /// The ingested workspace's build directory.
    pub build_directory: String,
    /// Units whose manifest was added to the store by this run.
    pub units_added: u64,
    /// Eligible units that were already in the store.
    pub units_already_stored: u64,
    /// Units that are not eligible.
    pub units_skipped: u64,
    /// Why units were skipped, grouped by reason.
    pub skipped: Vec<SkippedGroup>,
    /// New objects.
    pub files_added: u64,
    /// Files whose bytes were hashed by this run.
    pub files_hashed: u64,
    /// Bytes of new objects.
    pub bytes_added: u64,
    /// Stored units that took this build's (older or consistent) times.
    pub units_retimed: u64,
    /// Stored units that should have taken them, but the store was busy.
    pub units_retime_deferred: u64,
    /// Bytes that an existing object already held.
    #[allow(dead_code, reason = "part of the schema; no test can predict its value")]
    pub bytes_deduplicated: u64,
    /// Wall time.
    #[allow(dead_code, reason = "part of the schema; no test can predict its value")]
    pub elapsed_ms: u64,
}

/// One reason for skipping units, in [`IngestReport::skipped`].
#[derive(Debug, Deserialize)]
pub struct SkippedGroup {
    /// Kebab-case reason, e.g. `path-source`.
    pub reason: String,
    /// How many units were skipped for this reason.
    pub units: u64,
    /// The packages concerned (names or package ids).
    pub packages: Vec<String>,
}

/// `cargo-store checkout --json`.
#[derive(Debug, Deserialize)]
pub struct CheckoutReport {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The store directory.
    pub store: String,
    /// The target directory units were placed into.
    pub target_directory: String,
    /// Units whose files this run placed.
    pub units_placed: u64,
    /// Of those, units placed as copies with later mtimes than stored.
    pub units_retimed: u64,
    /// Units that cargo built in this target directory itself: left alone.
    pub units_built_here: u64,
    /// Stored variants left out for the ones this repository's builds use.
    pub units_other_variants: u64,
    /// Stored units of packages `cargo build` here never compiles, left out.
    pub units_not_built_here: u64,
    /// What the sync before the checkout did.
    pub sync: Option<SyncReport>,
    /// Units that the target directory already held.
    pub units_present: u64,
    /// Stored units that were not placed.
    pub units_skipped: u64,
    /// Files placed by reflink.
    pub files_reflinked: u64,
    /// Files placed by hard link.
    pub files_hardlinked: u64,
    /// Files placed by copy.
    pub files_copied: u64,
    /// Empty files created.
    pub files_created: u64,
    /// Files already present with the right content.
    pub files_present: u64,
    /// Files hard-linked to a twin inside their unit (cargo's own links), not to the store.
    pub files_linked_within_units: u64,
    /// Bytes placed.
    pub bytes: u64,
    /// Files that exist in the target with other content and were left alone.
    pub conflicts: Vec<String>,
    /// Warnings, e.g. a link-mode fallback.
    #[allow(dead_code, reason = "part of the schema; whether one appears depends on the filesystems")]
    pub warnings: Vec<String>,
    /// Whether this was a `--dry-run`.
    pub dry_run: bool,
    /// Wall time.
    #[allow(dead_code, reason = "part of the schema; no test can predict its value")]
    pub elapsed_ms: u64,
}

impl CheckoutReport {
    /// Files this run wrote into the target directory, however it wrote them.
    pub fn files_placed(&self) -> u64 {
        self.files_reflinked
            + self.files_hardlinked
            + self.files_copied
            + self.files_created
            + self.files_linked_within_units
    }
}

/// The `sync` of a [`CheckoutReport`].
#[derive(Debug, Clone, Deserialize)]
pub struct SyncReport {
    /// Other worktrees looked at.
    pub worktrees_checked: u64,
    /// Those ingested.
    pub worktrees_synced: u64,
    /// Units added by those ingests.
    pub units_added: u64,
    /// Lock files of build directories skipped because cargo held them.
    pub busy: Vec<std::path::PathBuf>,
    /// Ingests that failed, with why.
    pub failures: Vec<String>,
}

/// `cargo-store status --json`.
#[derive(Debug, Deserialize)]
pub struct StatusReport {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The store directory.
    pub store: String,
    /// Objects in the store.
    pub objects: u64,
    /// Units in the store.
    pub units: u64,
    /// Registered target directories.
    pub roots: u64,
    /// Size of the store on disk.
    pub bytes_on_disk: u64,
}

/// `cargo-store gc --json`.
#[derive(Debug, Deserialize)]
pub struct GcReport {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// With `--auto`, why nothing was done.
    pub skipped: Option<String>,
    /// Roots checked.
    pub roots_checked: u64,
    /// Roots whose directory is missing, within the grace period.
    pub roots_missing: Vec<String>,
    /// Roots dropped.
    pub roots_dropped: Vec<DroppedRoot>,
    /// References dropped because the unit left that build directory.
    pub references_dropped: u64,
    /// Units evicted as unreferenced and old.
    pub units_evicted_by_age: u64,
    /// Units evicted for the size budget.
    pub units_evicted_by_size: u64,
    /// Units evicted with a dependency.
    pub units_evicted_with_dependency: u64,
    /// Object files deleted.
    pub objects_deleted: u64,
    /// Orphan files deleted.
    pub orphans_deleted: u64,
    /// Bytes of what was deleted.
    pub bytes_logical: u64,
    /// Disk space freed.
    pub bytes_freed: u64,
    /// Cache entries deleted.
    pub cache_files_deleted: u64,
    /// Disk space that freed.
    pub cache_bytes_freed: u64,
    /// Bytes of objects before.
    pub bytes_before: u64,
    /// Bytes of objects after.
    pub bytes_after: u64,
}

impl GcReport {
    /// Every unit evicted, whatever the reason.
    pub fn units_evicted(&self) -> u64 {
        self.units_evicted_by_age + self.units_evicted_by_size + self.units_evicted_with_dependency
    }
}

/// A dropped root in a [`GcReport`].
#[derive(Debug, Deserialize)]
pub struct DroppedRoot {
    /// Its build directory.
    pub path: String,
    /// `missing` or `replaced`.
    pub reason: String,
}

/// `cargo-store roots --json`.
#[derive(Debug, Deserialize)]
pub struct RootsReport {
    /// Schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The roots.
    pub roots: Vec<RootEntry>,
}

/// One root of a [`RootsReport`].
#[derive(Debug, Deserialize)]
pub struct RootEntry {
    /// Its build directory.
    pub path: String,
    /// `live`, `missing`, `replaced` or `unreadable`.
    pub state: String,
    /// Units it references.
    pub units: u64,
    /// The bytes of those units, each inode once.
    pub bytes: u64,
}
