//! For `checkout --explain`: the units cargo built in this build directory although the store
//! holds other builds of the same package version, and how those builds differ.
//!
//! A checkout places every stored unit that can be fresh here, but only cargo decides which
//! build of a package a workspace needs: a new project that enables another feature of a
//! stored crate, or builds with other `RUSTFLAGS`, compiles it afresh beside the placed one.
//! After that build, the unit it made sits in the build directory with its fingerprint JSON;
//! comparing it with the stored builds of the same target ([`Variant::differences`]) names the
//! cause, so the user knows whether aligning features or flags would make the store hit.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use cargo_store_cas::{PackageKey, StoreDirectory, StoredUnit};
use cargo_store_units::{Difference, DifferenceKind, Toolchain, Unit, Variant, Workspace, eligibility, scan};
use serde::Serialize;

/// A unit cargo built here of which the store holds only other builds.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Miss {
    /// The unit here, `<place>/<name>`, e.g. `debug/serde-0123456789abcdef`.
    pub unit: String,
    /// Its fingerprint hash file name, e.g. `lib-serde`.
    pub fingerprint_name: String,
    /// The stored build of the same target that is nearest to it, `<place>/<name>`.
    pub nearest: String,
    /// How they differ, the most telling first.
    pub differences: Vec<MissDifference>,
}

/// One way a unit built here differs from the nearest stored one.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MissDifference {
    /// What differs.
    pub kind: DifferenceKind,
    /// The difference in words, with the values where cargo records them.
    pub detail: String,
}

/// The units of registry and git packages that cargo built in `workspace`'s build directory
/// and that could be stored, with their packages.
pub(crate) fn built_here(workspace: &Workspace, toolchain: &Toolchain) -> crate::Result<Vec<(PackageKey, Unit)>> {
    let scanned = scan(&workspace.build_directory)?;
    let verdicts = eligibility(workspace, &scanned, toolchain).verdicts;
    Ok(scanned
        .units
        .into_iter()
        .zip(verdicts)
        .filter_map(|(unit, verdict)| {
            let package = crate::checkout::package_key(&workspace.packages[verdict.ok()?])?;
            Some((package, unit))
        })
        .collect())
}

/// For each package, the units of `here` that no unit of `stored` (this toolchain's units of
/// the same packages) is, compared with the nearest stored build of the same target. Units
/// without a stored build of their target are left out: the package's verdict already says
/// it is not stored.
pub(crate) fn misses(
    here: &[(PackageKey, Unit)],
    stored: &[StoredUnit],
    directory: &StoreDirectory,
    build_directory: &Path,
) -> BTreeMap<PackageKey, Vec<Miss>> {
    let fingerprints: HashSet<&str> = stored.iter().map(|unit| unit.fingerprint.as_str()).collect();
    let mut found: BTreeMap<PackageKey, Vec<Miss>> = BTreeMap::new();
    for (package, unit) in here {
        let Some(fingerprint) = &unit.fingerprint else { continue };
        if fingerprints.contains(fingerprint.as_str()) {
            continue;
        }
        let Some(built) = unit_variant(unit, build_directory) else { continue };
        let nearest = stored
            .iter()
            .filter(|candidate| candidate.package == *package && candidate.fingerprint_name == unit.fingerprint_name)
            .filter_map(|candidate| {
                let variant = stored_variant(candidate, directory)?;
                let differences = built.differences(&variant);
                let other_place = candidate.place != unit.place.path.to_string_lossy();
                Some(((differences.len(), other_place), candidate, differences))
            })
            .min_by(|a, b| a.0.cmp(&b.0));
        let Some((_, candidate, differences)) = nearest else { continue };
        let differences = if differences.is_empty() { vec![Difference::Unrecorded] } else { differences };
        let differences = differences
            .iter()
            .map(|difference| MissDifference { kind: difference.kind(), detail: difference.to_string() })
            .collect();
        found.entry(package.clone()).or_default().push(Miss {
            unit: format!("{}/{}", unit.place.path.display(), unit.name),
            fingerprint_name: unit.fingerprint_name.clone(),
            nearest: format!("{}/{}", candidate.place, candidate.name),
            differences,
        });
    }
    found
}

/// The fingerprint JSON of a unit in the build directory.
fn unit_variant(unit: &Unit, build_directory: &Path) -> Option<Variant> {
    let hash_file = unit.place.layout.fingerprint_file(&unit.place.path, &unit.name, &unit.fingerprint_name)?;
    let bytes = std::fs::read(build_directory.join(hash_file).with_extension("json")).ok()?;
    Variant::parse(&bytes)
}

/// The fingerprint JSON of a stored unit, read from its object.
fn stored_variant(unit: &StoredUnit, directory: &StoreDirectory) -> Option<Variant> {
    let layout = cargo_store_units::Layout::from_name(&unit.layout)?;
    let json = layout.fingerprint_file(Path::new(""), &unit.name, &unit.fingerprint_name)?.with_extension("json");
    let file = unit.files.iter().find(|file| file.path == json.as_os_str().as_encoded_bytes())?;
    let bytes = std::fs::read(directory.object_path(&file.object.as_ref()?.id)).ok()?;
    Variant::parse(&bytes)
}
