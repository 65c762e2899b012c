//! The two on-disk layouts of a Cargo build directory, detected in one place.
//!
//! ```text
//! Legacy (cargo ≤ 1.99 default)            Per-unit (-Zbuild-dir-new-layout, default from 1.100)
//! <build-dir>/[<triple>/]<profile>/        <build-dir>/[<triple>/]<profile>/
//!   .fingerprint/<pkg>-<hash>/               build/<pkg>/<hash>/
//!   deps/lib<crate>-<hash>.{rlib,rmeta,so}     fingerprint/
//!   deps/<crate>-<hash>.d                      out/      rustc outputs, or OUT_DIR of a run unit
//!   build/<pkg>-<hash>/  (script or OUT_DIR)   run/      output, stderr, root-output
//! ```
//!
//! A *place* is one `[<triple>/]<profile>` directory in one layout. Units are stored relative to
//! their place, so a unit can be laid into any build directory at the same place.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Context;

/// How a place arranges its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// `.fingerprint/`, `deps/` and `build/<pkg>-<hash>/` side by side.
    Legacy,
    /// One self-contained `build/<pkg>/<hash>/` directory per unit.
    PerUnit,
}

impl Layout {
    /// The name stored in the index and shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Legacy => "legacy",
            Layout::PerUnit => "per-unit",
        }
    }

    /// The layout for a name read from the index.
    pub fn from_name(name: &str) -> Option<Layout> {
        [Layout::Legacy, Layout::PerUnit].into_iter().find(|layout| layout.name() == name)
    }

    /// Where the fingerprint hash file of the unit `<pkg>-<hash>` (`name`) with the hash file
    /// `target` (e.g. `lib-serde`) is, relative to the build directory: its content says which
    /// build of the unit is there. `None` if `name` is not `<pkg>-<hash>`.
    pub fn fingerprint_file(self, place: &Path, name: &str, fingerprint_name: &str) -> Option<PathBuf> {
        let (package, hash) = name.rsplit_once('-').filter(|(_, hash)| is_unit_hash(hash))?;
        Some(match self {
            Layout::Legacy => place.join(".fingerprint").join(name).join(fingerprint_name),
            Layout::PerUnit => place.join("build").join(package).join(hash).join("fingerprint").join(fingerprint_name),
        })
    }
}

/// One `[<triple>/]<profile>` directory of a build directory, in one layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// The layout of the units found here.
    pub layout: Layout,
    /// The directory relative to the build directory, e.g. `debug` or
    /// `x86_64-unknown-linux-gnu/release`.
    pub path: PathBuf,
}

/// Finds every place in `build_directory`: profile directories at depth one, and target-triple
/// profile directories at depth two. A directory holding both layouts yields two places.
pub fn find_places(build_directory: &Path) -> crate::Result<Vec<Place>> {
    let mut places = Vec::new();
    for first in subdirectories(build_directory)? {
        let relative = PathBuf::from(&first);
        let absolute = build_directory.join(&first);
        let found = places_in(&absolute, &relative);
        if found.is_empty() {
            for second in subdirectories(&absolute)? {
                places.extend(places_in(&absolute.join(&second), &relative.join(&second)));
            }
        } else {
            places.extend(found);
        }
    }
    places.sort_by(|a, b| a.path.cmp(&b.path).then(a.layout.cmp(&b.layout)));
    Ok(places)
}

fn places_in(absolute: &Path, relative: &Path) -> Vec<Place> {
    let mut places = Vec::new();
    if absolute.join(".fingerprint").is_dir() {
        places.push(Place { layout: Layout::Legacy, path: relative.to_path_buf() });
    }
    if has_per_unit_build(&absolute.join("build")) {
        places.push(Place { layout: Layout::PerUnit, path: relative.to_path_buf() });
    }
    places
}

/// Whether `build/` holds `<pkg>/<hash>/fingerprint/` directories (legacy `build/` holds
/// `<pkg>-<hash>/` directories with no such level).
fn has_per_unit_build(build: &Path) -> bool {
    let Ok(packages) = fs::read_dir(build) else {
        return false;
    };
    packages.flatten().any(|package| {
        fs::read_dir(package.path()).is_ok_and(|mut hashes| {
            hashes.any(|hash| {
                hash.is_ok_and(|hash| {
                    is_unit_hash(&hash.file_name().to_string_lossy()) && hash.path().join("fingerprint").is_dir()
                })
            })
        })
    })
}

/// Whether a name is a 16-digit lowercase hex unit hash.
pub(crate) fn is_unit_hash(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// The names of the subdirectories of `directory` that do not start with a dot, sorted.
fn subdirectories(directory: &Path) -> crate::Result<Vec<String>> {
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).context("read directory", directory),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.context("read directory", directory)?;
        let is_directory = entry.file_type().is_ok_and(|kind| kind.is_dir());
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_directory && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_files_of_both_layouts() {
        let place = Path::new("debug");
        assert_eq!(
            Layout::Legacy.fingerprint_file(place, "serde-0123456789abcdef", "lib-serde"),
            Some(PathBuf::from("debug/.fingerprint/serde-0123456789abcdef/lib-serde"))
        );
        assert_eq!(
            Layout::PerUnit.fingerprint_file(place, "serde-0123456789abcdef", "lib-serde"),
            Some(PathBuf::from("debug/build/serde/0123456789abcdef/fingerprint/lib-serde"))
        );
        assert_eq!(Layout::Legacy.fingerprint_file(place, "serde", "lib-serde"), None);
        assert_eq!(Layout::from_name("per-unit"), Some(Layout::PerUnit));
    }

    #[test]
    fn finds_profiles_triples_and_both_layouts() {
        let directory = tempfile::tempdir().expect("tempdir");
        let root = directory.path();
        for path in [
            "debug/.fingerprint/a-0123456789abcdef",
            "release/build/a/0123456789abcdef/fingerprint",
            "x86_64-unknown-linux-gnu/debug/.fingerprint",
            "doc/src",
        ] {
            fs::create_dir_all(root.join(path)).expect("mkdir");
        }
        let places = find_places(root).expect("places");
        let found: Vec<_> =
            places.iter().map(|place| (place.layout, place.path.to_string_lossy().into_owned())).collect();
        assert_eq!(
            found,
            vec![
                (Layout::Legacy, "debug".to_owned()),
                (Layout::PerUnit, "release".to_owned()),
                (Layout::Legacy, "x86_64-unknown-linux-gnu/debug".to_owned()),
            ]
        );
    }
}
