//! The Cargo model of cargo-store: what is in a target directory, and what may be shared.
//!
//! This crate knows Cargo and nothing of the store. From a workspace it finds the target and
//! build directories ([`Workspace`]), recognises both on-disk layouts ([`Layout`]), enumerates
//! the build units in them ([`scan`]), decides which of them may be shared between worktrees
//! ([`eligibility`]) and names them with a [`UnitKey`]; a [`Variant`] says how two builds of
//! one unit differ.
//!
//! # Why a unit can move to another worktree
//!
//! For a package from a registry or a git repository, Cargo's unit hash (the `-<hash>` in file
//! names) and fingerprint do not depend on the worktree's path: the source lives at the same
//! absolute path under `~/.cargo` for every worktree of one user. Cargo then only checks the
//! filesystem: no dependency output newer than the unit's own output, `OUT_DIR` files not newer
//! than the dep-info. Files placed with their recorded mtimes pass these checks.
//!
//! # What cannot move
//!
//! Path packages (workspace members, path dependencies, `[patch]` paths) are fingerprinted by
//! mtime and keyed by path; sources vendored inside the worktree live at a different path in
//! each worktree; a build script that tracks an absolute path inside the target directory
//! would watch the old worktree. Such units, and every unit that depends on one, are
//! ineligible. The [`Eligibility`] of each unit says why.

mod cache;
mod current;
mod depinfo;
mod eligibility;
mod error;
mod freshness;
mod incremental;
mod key;
mod layout;
mod repository;
mod toolchain;
mod unit;
mod variant;
mod workspace;

pub use current::{Mode, Usage, Use, current_units, usage};
pub use eligibility::{Eligibility, SkipReason, Skipped, Verdict, eligibility};
pub use error::Error;
pub use freshness::Times;
pub use incremental::{
    IncrementalDirectory, Session, SessionLock, crate_name_of, incremental_directories, session_created_us,
};
pub use key::{LAYOUT_VERSION, UnitKey};
pub use layout::{Layout, Place, find_places};
pub use repository::{build_inputs_digest, repository_of};
pub use toolchain::Toolchain;
pub use unit::{Build, Scan, Unit, UnitFile, UnitKind, scan};
pub use variant::{Difference, DifferenceKind, Variant};
pub use workspace::{Edge, Package, PackageId, SourceKind, Workspace, cargo_home};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
