//! Unit keys: what makes two units interchangeable.
//!
//! `<pkg>-<hash>` alone is not enough: git revisions, RUSTFLAGS that only remap paths and
//! vendored sources reuse file names with different fingerprints. The key is the layout
//! version, the place, the unit's name and kind, its fingerprint and the toolchain namespace.

use std::fmt;

use crate::Unit;

/// The version of the key scheme and of the manifest layout; bump it when either changes
/// meaning, and old units simply stop matching.
pub const LAYOUT_VERSION: u32 = 1;

/// The identity of a stored unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey(String);

impl UnitKey {
    /// The key of a scanned unit built by the toolchain `namespace`; `None` if the unit has no
    /// fingerprint (cargo is building it).
    pub fn of(unit: &Unit, namespace: &str) -> Option<UnitKey> {
        let fingerprint = unit.fingerprint.as_deref()?;
        Some(UnitKey(format!(
            "{LAYOUT_VERSION}|{}|{}|{}|{}|{fingerprint}|{namespace}",
            unit.place.layout.name(),
            unit.place.path.to_string_lossy(),
            unit.name,
            unit.fingerprint_name,
        )))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
