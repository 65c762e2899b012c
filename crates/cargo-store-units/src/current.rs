//! Which units of a build directory its current builds use.
//!
//! A target directory keeps every variant it ever built: other features, other RUSTFLAGS,
//! another lock file's versions. The units that matter are the ones the newest build of each
//! workspace target (each binary, test, example and library, in each profile) was built
//! against, transitively: cargo's fingerprint of every unit lists its dependencies'
//! fingerprints, so this is read from the directory itself, without asking cargo or trusting
//! access times. A new worktree of the same repository builds those variants again, so a
//! checkout prefers them over the other variants of the same packages.

use std::collections::HashMap;
use std::path::Path;

use crate::eligibility::{Eligibility, SkipReason};
use crate::{Layout, Scan};

/// A workspace target in one place: place, layout, package name, fingerprint target name.
type Target<'a> = (&'a Path, Layout, &'a str, &'a str);

/// For every unit of `scan`, whether the newest build of some workspace target uses it.
pub fn current_units(scan: &Scan, eligibility: &Eligibility) -> Vec<bool> {
    let units = &scan.units;
    let mut by_fingerprint: HashMap<(Layout, &str), usize> = HashMap::new();
    for (index, unit) in units.iter().enumerate() {
        if let Some(hex) = &unit.fingerprint {
            by_fingerprint.entry((unit.place.layout, hex.as_str())).or_insert(index);
        }
    }
    // The newest build of each (place, package, target): binaries, tests and examples from
    // their fingerprints, libraries of workspace members from their units.
    let mut newest: HashMap<Target<'_>, (i64, Vec<usize>)> = HashMap::new();
    let mut offer = |key, finished: i64, dependencies: Vec<usize>| match newest.get(&key) {
        Some((current, _)) if *current >= finished => {}
        _ => {
            newest.insert(key, (finished, dependencies));
        }
    };
    for build in &scan.others {
        let dependencies = build
            .dependencies
            .iter()
            .filter_map(|hex| by_fingerprint.get(&(build.place.layout, hex.as_str())).copied())
            .collect();
        let key = (
            build.place.path.as_path(),
            build.place.layout,
            build.package_name.as_str(),
            build.fingerprint_name.as_str(),
        );
        offer(key, build.finished, dependencies);
    }
    for (index, unit) in units.iter().enumerate() {
        let member =
            matches!(&eligibility.verdicts[index], Err(skipped) if skipped.reason == SkipReason::WorkspaceMember);
        if member {
            let key = (
                unit.place.path.as_path(),
                unit.place.layout,
                unit.package_name.as_str(),
                unit.fingerprint_name.as_str(),
            );
            offer(key, unit.finished().unwrap_or(0), vec![index]);
        }
    }
    let mut current = vec![false; units.len()];
    let mut stack: Vec<usize> = newest.into_values().flat_map(|(_, dependencies)| dependencies).collect();
    while let Some(index) = stack.pop() {
        if std::mem::replace(&mut current[index], true) {
            continue;
        }
        stack.extend(eligibility.dependencies[index].iter().copied());
    }
    current
}
