//! Which units of a build directory its current builds use, and when each unit was last used.
//!
//! A target directory keeps every variant it ever built: other features, other RUSTFLAGS,
//! another lock file's versions, `cargo check`'s metadata-only units, other toolchains. The
//! units that matter are the ones the most recent build, check and test of each workspace
//! target (each binary, test, example and member library, in each profile) were built
//! against, transitively: cargo's fingerprint of every unit lists its dependencies'
//! fingerprints, so this is read from the directory itself, without asking cargo or trusting
//! access times. A new worktree of the same repository builds those variants again, so a
//! checkout prefers them over the other variants of the same packages; and a sweep never
//! removes them.
//!
//! # The most recent build of a target
//!
//! A *slot* is one target in one place, built one way: (place, package, fingerprint name,
//! [`Mode`]). `cargo build` and `cargo check` of one library write units with the same
//! fingerprint name (`lib-app`) and other hashes, so the mode keeps them apart: a check's
//! outputs are metadata only. `cargo test` builds other targets (`test-lib-app`,
//! `test-integration-test-it`) and so has slots of its own.
//!
//! Which unit of a slot is the most recent is told by when cargo finished it (the mtime of
//! its fingerprint hash file), except that a build that finds a unit fresh writes nothing:
//! `cargo build` after `RUSTFLAGS=... cargo build` reuses the older units and leaves the
//! newer ones from the other flags beside them. What such a build does write is the
//! uplifted copy of binaries, examples and the libraries asked for (`target/debug/app`, a
//! hard link to the unit's own output, replaced on every build, fresh or not). So where an
//! uplifted file shares its inode with a unit of a slot, that unit is the most recent, with
//! whatever of the slot cargo finished after that link was made (a `cargo test`, which
//! uplifts nothing, builds the library after the last `cargo build` uplifted it). A fresh
//! `cargo check` or `cargo test` of an older variant leaves no trace at all: that variant is
//! only protected by its age.
//!
//! # When a unit was last used
//!
//! The last time anything happened to a unit's files: the newest modification or status
//! change (ctime) of any of them, and the same of every unit that depends on it (a
//! dependency is used whenever its dependent is). A status change records cargo's
//! uplifting, a checkout placing the unit here, an ingest linking it into the store; none of
//! it can be set after the fact, unlike the access time, which `relatime` and `noatime`
//! mounts do not keep anyway.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use cargo_store_fs::FileClass;

use crate::eligibility::{Eligibility, SkipReason};
use crate::unit::UnitFile;
use crate::{Layout, Scan};

/// What a unit's outputs say about the command that built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// `cargo build`, `cargo test` or `cargo run`: code.
    Build,
    /// `cargo check` (or clippy): metadata only (`.rmeta`).
    Check,
}

impl Mode {
    /// The mode of a unit made of `files`: a check when every output is an `.rmeta`.
    pub fn of(files: &[UnitFile]) -> Mode {
        let mut outputs =
            files.iter().filter(|file| matches!(file.class, FileClass::RustcOutput | FileClass::LinkedBinary));
        let mut any = false;
        let all_metadata = outputs.all(|file| {
            any = true;
            file.path.extension().is_some_and(|extension| extension == "rmeta")
        });
        if any && all_metadata { Mode::Check } else { Mode::Build }
    }
}

/// How the current builds use one unit (or build) of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Use {
    /// Whether the most recent build, check or test of some workspace target in its place
    /// uses it (see the module docs).
    pub current: bool,
    /// The last time anything happened to it or to a unit that depends on it, ns since the
    /// epoch (see the module docs).
    pub last_used: i64,
}

/// The use of every unit and build of a scan.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// One per unit of `scan.units`, in that order.
    pub units: Vec<Use>,
    /// One per build of `scan.others`, in that order.
    pub builds: Vec<Use>,
}

/// For every unit of `scan`, whether the most recent build of some workspace target uses it,
/// judged by the build directory alone (without the uplifted files of the target directory).
pub fn current_units(scan: &Scan, eligibility: &Eligibility) -> Vec<bool> {
    usage(scan, eligibility, None).units.into_iter().map(|used| used.current).collect()
}

/// A unit or a build of the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Entry {
    Unit(usize),
    Build(usize),
}

/// A workspace target in one place, built one way: place, layout, package, fingerprint name,
/// mode.
type Slot<'a> = (&'a Path, Layout, &'a str, &'a str, Mode);

/// How the current builds of `scan` use each of its units and builds. `target_directory`,
/// where cargo uplifts binaries and the libraries asked for, tells which variant of a target
/// the last build used when that build found it fresh; without it, the most recently
/// finished variant counts.
pub fn usage(scan: &Scan, eligibility: &Eligibility, target_directory: Option<&Path>) -> Usage {
    let entries: Vec<Entry> =
        (0..scan.units.len()).map(Entry::Unit).chain((0..scan.others.len()).map(Entry::Build)).collect();
    let place = |entry: Entry| match entry {
        Entry::Unit(index) => &scan.units[index].place,
        Entry::Build(index) => &scan.others[index].place,
    };
    let files = |entry: Entry| match entry {
        Entry::Unit(index) => scan.units[index].files.as_slice(),
        Entry::Build(index) => scan.others[index].files.as_slice(),
    };
    let finished = |entry: Entry| match entry {
        Entry::Unit(index) => scan.units[index].finished().unwrap_or(0),
        Entry::Build(index) => scan.others[index].finished,
    };
    // Fingerprints are unique per layout; a unit's dependencies are in its own layout, at
    // its own place when a build directory holds the unit twice.
    let mut by_fingerprint: HashMap<(Layout, &str), Vec<Entry>> = HashMap::new();
    for &entry in &entries {
        let hex = match entry {
            Entry::Unit(index) => scan.units[index].fingerprint.as_deref(),
            Entry::Build(index) => scan.others[index].fingerprint.as_deref(),
        };
        if let Some(hex) = hex {
            by_fingerprint.entry((place(entry).layout, hex)).or_default().push(entry);
        }
    }
    let position = |entry: Entry| match entry {
        Entry::Unit(index) => index,
        Entry::Build(index) => scan.units.len() + index,
    };
    let dependencies: Vec<Vec<Entry>> = entries
        .iter()
        .map(|&entry| {
            let hexes = match entry {
                Entry::Unit(index) => &scan.units[index].dependencies,
                Entry::Build(index) => &scan.others[index].dependencies,
            };
            hexes
                .iter()
                .filter_map(|hex| {
                    let candidates = by_fingerprint.get(&(place(entry).layout, hex.as_str()))?;
                    candidates
                        .iter()
                        .find(|candidate| place(**candidate) == place(entry))
                        .or(candidates.first())
                        .copied()
                })
                .collect()
        })
        .collect();

    let uplifted = target_directory.map(|directory| uplifted_files(directory, scan)).unwrap_or_default();
    // The newest uplift of each entry's outputs, ns.
    let uplift = |entry: Entry| {
        files(entry)
            .iter()
            .filter(|file| matches!(file.class, FileClass::RustcOutput | FileClass::LinkedBinary))
            .filter_map(|file| uplifted.get(&(file.device, file.inode)).copied())
            .max()
    };

    // The slots: binaries, tests and examples, and the units of workspace members.
    let mut slots: HashMap<Slot<'_>, Vec<Entry>> = HashMap::new();
    for &entry in &entries {
        let (package, fingerprint_name) = match entry {
            Entry::Build(index) => (&scan.others[index].package_name, &scan.others[index].fingerprint_name),
            Entry::Unit(index) => {
                let member = matches!(
                    eligibility.verdicts.get(index),
                    Some(Err(skipped)) if skipped.reason == SkipReason::WorkspaceMember
                );
                if !member {
                    continue;
                }
                (&scan.units[index].package_name, &scan.units[index].fingerprint_name)
            }
        };
        let place = place(entry);
        let key =
            (place.path.as_path(), place.layout, package.as_str(), fingerprint_name.as_str(), Mode::of(files(entry)));
        slots.entry(key).or_default().push(entry);
    }

    let mut current = vec![false; entries.len()];
    let mut stack: Vec<Entry> = Vec::new();
    for members in slots.values() {
        let selected = members.iter().filter_map(|&entry| Some((uplift(entry)?, entry))).max_by_key(|(time, _)| *time);
        match selected {
            Some((linked, entry)) => {
                stack.push(entry);
                stack.extend(members.iter().copied().filter(|&other| finished(other) > linked));
            }
            None => {
                let newest = members.iter().map(|&entry| finished(entry)).max().unwrap_or(0);
                stack.extend(members.iter().copied().filter(|&entry| finished(entry) == newest));
            }
        }
    }
    while let Some(entry) = stack.pop() {
        if std::mem::replace(&mut current[position(entry)], true) {
            continue;
        }
        stack.extend(dependencies[position(entry)].iter().copied());
    }

    // Last use: the entry's own files, then from every dependent down, dependents first.
    let mut last_used: Vec<i64> = entries
        .iter()
        .map(|&entry| files(entry).iter().map(|file| file.modified.modified_ns.max(file.changed_ns)).max().unwrap_or(0))
        .collect();
    for entry in dependents_first(&entries, &dependencies, position) {
        let time = last_used[position(entry)];
        for &dependency in &dependencies[position(entry)] {
            let slot = &mut last_used[position(dependency)];
            *slot = (*slot).max(time);
        }
    }
    let uses: Vec<Use> = entries
        .iter()
        .map(|&entry| Use { current: current[position(entry)], last_used: last_used[position(entry)] })
        .collect();
    let (units, builds) = uses.split_at(scan.units.len());
    Usage { units: units.to_vec(), builds: builds.to_vec() }
}

/// The files cargo uplifted into the places of `target_directory` (`<place>/<name>` and
/// `<place>/examples/<name>`) that are hard links, by (device, inode), with the time of their
/// last status change (when cargo linked them there), ns.
fn uplifted_files(target_directory: &Path, scan: &Scan) -> HashMap<(u64, u64), i64> {
    let mut places: Vec<&Path> = scan.units.iter().map(|unit| unit.place.path.as_path()).collect();
    places.extend(scan.others.iter().map(|build| build.place.path.as_path()));
    places.sort();
    places.dedup();
    let mut uplifted = HashMap::new();
    for place in places {
        for directory in [target_directory.join(place), target_directory.join(place).join("examples")] {
            let Ok(entries) = std::fs::read_dir(&directory) else { continue };
            for entry in entries.flatten() {
                let Ok(metadata) = entry.path().symlink_metadata() else { continue };
                if metadata.is_file() && metadata.nlink() > 1 {
                    let changed = metadata.ctime().saturating_mul(1_000_000_000).saturating_add(metadata.ctime_nsec());
                    uplifted.insert((metadata.dev(), metadata.ino()), changed);
                }
            }
        }
    }
    uplifted
}

/// `entries` ordered so that each comes before its dependencies (the graph is acyclic; a
/// cycle a corrupt directory could hold is cut where it is met).
fn dependents_first(entries: &[Entry], dependencies: &[Vec<Entry>], position: impl Fn(Entry) -> usize) -> Vec<Entry> {
    // Depth-first post-order lists dependencies first; reversed, dependents come first.
    let mut state = vec![0u8; entries.len()];
    let mut order = Vec::with_capacity(entries.len());
    for &root in entries {
        if state[position(root)] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[position(root)] = 1;
        while let Some((entry, next)) = stack.pop() {
            match dependencies[position(entry)].get(next) {
                Some(&dependency) => {
                    stack.push((entry, next + 1));
                    if state[position(dependency)] == 0 {
                        state[position(dependency)] = 1;
                        stack.push((dependency, 0));
                    }
                }
                None => {
                    state[position(entry)] = 2;
                    order.push(entry);
                }
            }
        }
    }
    order.reverse();
    order
}
