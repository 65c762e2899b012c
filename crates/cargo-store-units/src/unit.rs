//! Build units found in a build directory.
//!
//! A unit is recognised by its fingerprint directory, which holds a hash file named after the
//! kind of the unit (`lib-<crate>`, `build-script-build-script-<name>`,
//! `run-build-script-build-script-<name>`) beside its JSON description. The JSON lists the
//! fingerprints of the unit's dependencies, so the dependency graph is read from the build
//! directory itself: no `cargo build` has to be replayed. The hash file holds the fingerprint as
//! the hex of its little-endian bytes, the JSON as a decimal `u64`.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cargo_store_fs::{FileClass, FileTimes};
use serde::Deserialize;
use walkdir::WalkDir;

use crate::Times;
use crate::depinfo::first_rule_sources;
use crate::error::Context;
use crate::layout::{Layout, Place, find_places, is_unit_hash};

/// The kinds of units that dependencies are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKind {
    /// A library compiled by rustc (`.rlib`, `.rmeta`).
    Library,
    /// A proc-macro (a shared object loaded by rustc).
    ProcMacro,
    /// The compilation of a build script.
    BuildScript,
    /// The run of a build script: its `OUT_DIR` and output.
    BuildScriptRun,
}

impl UnitKind {
    /// The name stored in the index and shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            UnitKind::Library => "lib",
            UnitKind::ProcMacro => "proc-macro",
            UnitKind::BuildScript => "build-script",
            UnitKind::BuildScriptRun => "build-script-run",
        }
    }

    /// The kind for a name read from the index.
    pub fn from_name(name: &str) -> Option<UnitKind> {
        [UnitKind::Library, UnitKind::ProcMacro, UnitKind::BuildScript, UnitKind::BuildScriptRun]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// One regular file of a unit, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// The path relative to the unit's place.
    pub path: PathBuf,
    /// What the file is, which decides how it may be shared.
    pub class: FileClass,
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub modified: FileTimes,
    /// The last status change (ctime), ns: when the file was last written, placed here (by a
    /// checkout, say) or linked to or from another name (cargo's uplifted copies, the store).
    /// Nobody can set it, so unlike the access time it says something.
    pub changed_ns: i64,
    /// Permission bits.
    pub mode: u32,
    /// Device of the file.
    pub device: u64,
    /// Inode of the file (files of a unit with the same inode are hard links cargo made).
    pub inode: u64,
}

/// A build unit found in a build directory.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Where it was found.
    pub place: Place,
    /// `<pkg>-<hash>`, the name cargo gives its directories.
    pub name: String,
    /// The package name part of `name`.
    pub package_name: String,
    /// The unit hash part of `name`.
    pub hash: String,
    /// What kind of unit it is.
    pub kind: UnitKind,
    /// The name of the fingerprint hash file, e.g. `lib-serde`.
    pub fingerprint_name: String,
    /// The fingerprint hex from the hash file; `None` while cargo is (re)building it.
    pub fingerprint: Option<String>,
    /// The fingerprint hex of each dependency, from the fingerprint JSON.
    pub dependencies: Vec<String>,
    /// The hash of the toolchain that built it (`"rustc"` in the fingerprint JSON).
    pub rustc: Option<u64>,
    /// Source files from the unit's dep-info: they tell which package it was built from.
    pub sources: Vec<PathBuf>,
    /// Absolute paths a build script run asked cargo to watch (`rerun-if-changed`).
    pub tracked_paths: Vec<PathBuf>,
    /// Every regular file of the unit.
    pub files: Vec<UnitFile>,
    /// Symbolic links found in the unit: never followed and never stored.
    pub symlinks: Vec<PathBuf>,
}

impl Unit {
    /// The fingerprint hex its hash file in `build_directory` holds now; `None` if there is
    /// none (cargo is rebuilding the unit, or it was removed).
    pub fn current_fingerprint(&self, build_directory: &Path) -> Option<String> {
        let path = self.place.layout.fingerprint_file(&self.place.path, &self.name, &self.fingerprint_name)?;
        let text = fs::read_to_string(build_directory.join(path)).ok()?;
        Some(text.trim().to_owned()).filter(|hex| is_unit_hash(hex))
    }

    /// The bytes of the unit's files, each inode once: cargo hard-links a build script's
    /// executable to a second name, which takes no second copy.
    pub fn bytes(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.files.iter().filter(|file| seen.insert((file.device, file.inode))).map(|file| file.size).sum()
    }

    /// The times cargo compares with this unit's dependencies and dependents.
    pub fn times(&self) -> Times {
        Times::of(self.kind, self.files.iter().map(|file| (file.path.as_path(), file.class, file.modified.modified_ns)))
    }

    /// Whether a file of the unit outside its fingerprint directory is newer than the
    /// fingerprint hash file. Cargo writes that file last, right after the unit's outputs, so
    /// a newer file was changed after cargo finished the unit (rewritten in place, or
    /// damaged): cargo still calls the unit fresh, but its bytes are not what the fingerprint
    /// describes.
    pub fn changed_after_build(&self) -> bool {
        let (Some(hash_file), Some(finished)) = (self.hash_file(), self.finished()) else {
            return false;
        };
        let directory = hash_file.parent().unwrap_or(&hash_file);
        self.files.iter().any(|file| !file.path.starts_with(directory) && file.modified.modified_ns > finished)
    }

    /// When cargo finished the unit: the mtime of its fingerprint hash file, in ns.
    pub fn finished(&self) -> Option<i64> {
        let hash_file = self.hash_file()?;
        self.files.iter().find(|file| file.path == hash_file).map(|file| file.modified.modified_ns)
    }

    /// The fingerprint hash file, relative to the unit's place.
    fn hash_file(&self) -> Option<PathBuf> {
        self.place.layout.fingerprint_file(Path::new(""), &self.name, &self.fingerprint_name)
    }
}

/// Everything found in a build directory.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The units of the kinds dependencies are made of.
    pub units: Vec<Unit>,
    /// Units of other kinds (binaries, tests, examples, docs): never stored, but their
    /// fingerprints say which units the builds that made them used.
    pub others: Vec<Build>,
}

/// A unit of a kind that is not stored (a binary, a test, an example), as its fingerprint
/// directory describes it: what it was built against, when, and its files.
#[derive(Debug, Clone)]
pub struct Build {
    /// Where it was found.
    pub place: Place,
    /// `<pkg>-<hash>`, the name cargo gives its directories.
    pub name: String,
    /// The package name part of its name.
    pub package_name: String,
    /// The name of its fingerprint hash file, e.g. `bin-app` or `test-integration-test-app`.
    pub fingerprint_name: String,
    /// The fingerprint hex from the hash file; `None` while cargo is (re)building it.
    pub fingerprint: Option<String>,
    /// The fingerprint hex of each dependency.
    pub dependencies: Vec<String>,
    /// The hash of the toolchain that built it (`"rustc"` in the fingerprint JSON).
    pub rustc: Option<u64>,
    /// When cargo finished it (the fingerprint hash file's mtime, ns).
    pub finished: i64,
    /// Every regular file of the unit in the build directory: its fingerprint directory and
    /// its outputs (`deps/<crate>-<hash>*` or `examples/<crate>-<hash>*` in the legacy layout,
    /// the unit's own directory in the per-unit one). Documentation has no outputs here: it
    /// goes to `doc/` of the target directory.
    pub files: Vec<UnitFile>,
    /// Symbolic links found among them: never followed.
    pub symlinks: Vec<PathBuf>,
}

impl Build {
    /// Whether it is documentation (`cargo doc`, `doc-lib-*`), whose output is outside the
    /// build directory.
    pub fn is_documentation(&self) -> bool {
        other_target(&self.fingerprint_name).is_none()
    }
}

/// Enumerates the units of every place of `build_directory`. Symbolic links are never followed.
pub fn scan(build_directory: &Path) -> crate::Result<Scan> {
    let mut scan = Scan::default();
    for place in find_places(build_directory)? {
        let absolute = build_directory.join(&place.path);
        match place.layout {
            Layout::Legacy => scan_legacy(&absolute, &place, &mut scan)?,
            Layout::PerUnit => scan_per_unit(&absolute, &place, &mut scan)?,
        }
    }
    Ok(scan)
}

/// What the fingerprint directory says about a unit.
struct Fingerprint {
    kind: Option<UnitKind>,
    fingerprint_name: String,
    crate_name: String,
    hex: Option<String>,
    dependencies: Vec<String>,
    rustc: Option<u64>,
    tracked_paths: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct FingerprintJson {
    #[serde(default)]
    rustc: Option<u64>,
    #[serde(default)]
    deps: Vec<Vec<serde_json::Value>>,
    #[serde(default)]
    local: Vec<serde_json::Value>,
}

/// Reads the hash file and JSON of a fingerprint directory. Returns `None` if the directory
/// holds no fingerprint (an interrupted build) or one of another kind (bins, tests, docs).
fn read_fingerprint(directory: &Path) -> crate::Result<Option<Fingerprint>> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .context("read directory", directory)?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let Some(json_name) =
        names.iter().find(|name| name.ends_with(".json") && !name.starts_with("dep-") && !name.starts_with("output-"))
    else {
        return Ok(None);
    };
    let target = json_name.trim_end_matches(".json").to_owned();
    let (kind, crate_name) = if let Some(name) = target.strip_prefix("run-build-script-") {
        (Some(UnitKind::BuildScriptRun), name.to_owned())
    } else if let Some(name) = target.strip_prefix("build-script-") {
        (Some(UnitKind::BuildScript), name.to_owned())
    } else if let Some(name) = target.strip_prefix("lib-") {
        (Some(UnitKind::Library), name.to_owned())
    } else {
        (None, String::new())
    };
    let hex = fs::read_to_string(directory.join(&target))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|hex| is_unit_hash(hex));
    let json_path = directory.join(json_name);
    let json: Option<FingerprintJson> = fs::read(&json_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let rustc = json.as_ref().and_then(|json| json.rustc);
    let (dependencies, tracked_paths) = match json {
        Some(json) => (
            json.deps
                .iter()
                .filter_map(|entry| entry.last().and_then(serde_json::Value::as_u64))
                .map(fingerprint_hex)
                .collect(),
            json.local.iter().flat_map(absolute_tracked_paths).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Some(Fingerprint { kind, fingerprint_name: target, crate_name, hex, dependencies, rustc, tracked_paths }))
}

/// The hex form cargo writes to a fingerprint hash file for a fingerprint value.
fn fingerprint_hex(value: u64) -> String {
    value.to_le_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The absolute paths of a `RerunIfChanged` local fingerprint (relative ones are inside the
/// package source, which is the same for every worktree).
fn absolute_tracked_paths(local: &serde_json::Value) -> Vec<PathBuf> {
    local
        .get("RerunIfChanged")
        .and_then(|value| value.get("paths"))
        .and_then(serde_json::Value::as_array)
        .map(|paths| {
            paths
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

/// Splits `<pkg>-<hash>` into its parts.
fn split_name(name: &str) -> Option<(&str, &str)> {
    let (package, hash) = name.rsplit_once('-')?;
    is_unit_hash(hash).then_some((package, hash))
}

/// The entries of a legacy `deps/` or `examples/` directory grouped by stem (`lib<crate>-<hash>`
/// or `<crate>-<hash>`), read once.
fn outputs_of(directory: &Path) -> HashMap<String, Vec<String>> {
    let mut outputs: HashMap<String, Vec<String>> = HashMap::new();
    if !is_real_directory(directory) {
        return outputs;
    }
    if let Ok(entries) = fs::read_dir(directory) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or_default().to_owned();
            outputs.entry(stem).or_default().push(name);
        }
    }
    outputs
}

/// For a fingerprint hash file of a unit of another kind (`[test-]<kind>-<target>`, as
/// cargo's `fingerprint::filename` names it), the target's name and whether its outputs go
/// to `examples/`; `None` for documentation (`doc-*`), whose outputs are not in the build
/// directory, and for a name of no known kind.
fn other_target(fingerprint_name: &str) -> Option<(&str, bool)> {
    let name = fingerprint_name.strip_prefix("test-").unwrap_or(fingerprint_name);
    [("bin-", false), ("integration-test-", false), ("bench-", false), ("lib-", false), ("example-", true)]
        .into_iter()
        .find_map(|(kind, examples)| name.strip_prefix(kind).map(|target| (target, examples)))
}

fn scan_legacy(place_directory: &Path, place: &Place, scan: &mut Scan) -> crate::Result<()> {
    let fingerprints = place_directory.join(".fingerprint");
    let outputs = outputs_of(&place_directory.join("deps"));
    let mut examples_outputs = None;
    if !is_real_directory(&fingerprints) {
        return Ok(());
    }
    let mut directories: Vec<_> = fs::read_dir(&fingerprints)
        .context("read directory", &fingerprints)?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    directories.sort();
    for name in directories {
        let Some((package_name, hash)) = split_name(&name) else {
            continue;
        };
        let Some(fingerprint) = read_fingerprint(&fingerprints.join(&name))? else {
            continue;
        };
        let Some(mut kind) = fingerprint.kind else {
            let mut collector = Collector::new(place_directory);
            collector.add_tree(Path::new(".fingerprint").join(&name), |_| FileClass::Metadata)?;
            if let Some((target, examples)) = other_target(&fingerprint.fingerprint_name) {
                // Binaries, tests and examples are named after the crate (`-` made `_`);
                // a `cargo check` of one writes `lib<crate>-<hash>.rmeta`.
                let stem = format!("{}-{hash}", target.replace('-', "_"));
                let directory = if examples { "examples" } else { "deps" };
                let found: &HashMap<String, Vec<String>> = if examples {
                    examples_outputs.get_or_insert_with(|| outputs_of(&place_directory.join("examples")))
                } else {
                    &outputs
                };
                for output in [found.get(&stem), found.get(&format!("lib{stem}"))].into_iter().flatten().flatten() {
                    collector.add_tree(Path::new(directory).join(output), output_class)?;
                }
            }
            scan.others.push(collector.other(place, &name, package_name, fingerprint));
            continue;
        };
        let mut collector = Collector::new(place_directory);
        collector.add_tree(Path::new(".fingerprint").join(&name), |_| FileClass::Metadata)?;
        let mut dep_info = None;
        match kind {
            UnitKind::Library | UnitKind::ProcMacro => {
                let stem = format!("{}-{hash}", fingerprint.crate_name);
                let names = [outputs.get(&stem), outputs.get(&format!("lib{stem}"))];
                for output in names.into_iter().flatten().flatten() {
                    collector.add_tree(Path::new("deps").join(output), output_class)?;
                }
                dep_info = Some(Path::new("deps").join(format!("{stem}.d")));
            }
            UnitKind::BuildScript => {
                let directory = Path::new("build").join(&name);
                collector.add_tree(directory.clone(), |path| {
                    if has_extension(path, "d") { FileClass::Metadata } else { FileClass::LinkedBinary }
                })?;
                dep_info = collector
                    .files
                    .iter()
                    .find(|file| file.path.starts_with(&directory) && has_extension(&file.path, "d"))
                    .map(|file| file.path.clone());
            }
            UnitKind::BuildScriptRun => {
                let directory = Path::new("build").join(&name);
                let out = directory.join("out");
                collector.add_tree(directory, |path| {
                    if path.starts_with(&out) { FileClass::OutDir } else { FileClass::Metadata }
                })?;
            }
        }
        if kind == UnitKind::Library && is_proc_macro(&collector.files) {
            kind = UnitKind::ProcMacro;
        }
        scan.units.push(collector.finish(place, &name, package_name, hash, kind, fingerprint, dep_info));
    }
    Ok(())
}

fn scan_per_unit(place_directory: &Path, place: &Place, scan: &mut Scan) -> crate::Result<()> {
    let build = place_directory.join("build");
    if !is_real_directory(&build) {
        return Ok(());
    }
    let mut packages: Vec<_> = fs::read_dir(&build)
        .context("read directory", &build)?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    for package_name in packages {
        let package_directory = build.join(&package_name);
        let Ok(entries) = fs::read_dir(&package_directory) else {
            continue;
        };
        let mut hashes: Vec<_> = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|hash| is_unit_hash(hash))
            .collect();
        hashes.sort();
        for hash in hashes {
            let unit_directory = Path::new("build").join(&package_name).join(&hash);
            // `cargo test --no-run` makes the `out/` of a doctest unit it never builds: a
            // directory with no fingerprint is no unit.
            let fingerprint_directory = place_directory.join(&unit_directory).join("fingerprint");
            if !fs::symlink_metadata(&fingerprint_directory).is_ok_and(|metadata| metadata.is_dir()) {
                continue;
            }
            let Some(fingerprint) = read_fingerprint(&fingerprint_directory)? else {
                continue;
            };
            let Some(mut kind) = fingerprint.kind else {
                let mut collector = Collector::new(place_directory);
                collector.add_tree(unit_directory.clone(), |path| {
                    if path.starts_with(unit_directory.join("fingerprint")) || has_extension(path, "d") {
                        FileClass::Metadata
                    } else {
                        output_class(path)
                    }
                })?;
                let name = format!("{package_name}-{hash}");
                scan.others.push(collector.other(place, &name, &package_name, fingerprint));
                continue;
            };
            let mut collector = Collector::new(place_directory);
            let out = unit_directory.join("out");
            let run = kind == UnitKind::BuildScriptRun;
            collector.add_tree(unit_directory.clone(), |path| {
                if !path.starts_with(&out) {
                    FileClass::Metadata
                } else if run {
                    FileClass::OutDir
                } else {
                    output_class(path)
                }
            })?;
            let dep_info = collector
                .files
                .iter()
                .find(|file| file.path.starts_with(&out) && has_extension(&file.path, "d"))
                .map(|file| file.path.clone());
            if kind == UnitKind::Library && is_proc_macro(&collector.files) {
                kind = UnitKind::ProcMacro;
            }
            let name = format!("{package_name}-{hash}");
            scan.units.push(collector.finish(place, &name, &package_name, &hash, kind, fingerprint, dep_info));
        }
    }
    Ok(())
}

/// Whether `path` is a directory itself, not a symbolic link to one: units are never read
/// through a link.
fn is_real_directory(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|metadata| metadata.is_dir())
}

/// The class of a rustc output file by its extension.
fn output_class(path: &Path) -> FileClass {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("rlib" | "rmeta") => FileClass::RustcOutput,
        Some("d") => FileClass::Metadata,
        _ => FileClass::LinkedBinary,
    }
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|found| found == extension)
}

/// A library unit that produced a shared object and no rlib is a proc-macro.
fn is_proc_macro(files: &[UnitFile]) -> bool {
    !files.iter().any(|file| has_extension(&file.path, "rlib"))
        && files.iter().any(|file| file.class == FileClass::LinkedBinary)
}

/// Gathers the files of one unit.
struct Collector<'a> {
    place_directory: &'a Path,
    files: Vec<UnitFile>,
    symlinks: Vec<PathBuf>,
}

impl<'a> Collector<'a> {
    fn new(place_directory: &'a Path) -> Self {
        Collector { place_directory, files: Vec::new(), symlinks: Vec::new() }
    }

    /// Adds the file or directory tree at `relative` (to the place), classifying each file.
    fn add_tree(&mut self, relative: PathBuf, class: impl Fn(&Path) -> FileClass) -> crate::Result<()> {
        let root = self.place_directory.join(&relative);
        // Not even the root: a unit's directory or output that is a link is a link, whatever
        // it points to.
        for entry in WalkDir::new(&root).follow_links(false).follow_root_links(false).sort_by_file_name() {
            let entry = match entry {
                Ok(entry) => entry,
                // A file that vanished while we looked: cargo is building here. The unit is
                // caught as incomplete by its missing or changed fingerprint.
                Err(error) if error.io_error().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => continue,
                Err(error) => {
                    let path = error.path().unwrap_or(&root).to_path_buf();
                    let source = error.into_io_error().unwrap_or_else(|| std::io::Error::other("filesystem loop"));
                    return Err(cargo_store_fs::Error::io("read", path, source).into());
                }
            };
            let Ok(path) = entry.path().strip_prefix(self.place_directory) else {
                continue;
            };
            let path = path.to_path_buf();
            // Left by a killed checkout: never part of the unit.
            if cargo_store_fs::is_temporary(entry.file_name()) {
                continue;
            }
            if entry.path_is_symlink() {
                self.symlinks.push(path);
                continue;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let metadata = match entry.metadata() {
                Ok(metadata) => metadata,
                Err(_) => continue,
            };
            self.files.push(UnitFile {
                class: class(&path),
                size: metadata.len(),
                modified: FileTimes::of(&metadata),
                changed_ns: metadata.ctime().saturating_mul(1_000_000_000).saturating_add(metadata.ctime_nsec()),
                mode: metadata.mode() & 0o7777,
                device: metadata.dev(),
                inode: metadata.ino(),
                path,
            });
        }
        Ok(())
    }

    /// A unit of another kind made of the files gathered.
    fn other(self, place: &Place, name: &str, package_name: &str, fingerprint: Fingerprint) -> Build {
        let hash_file = place.layout.fingerprint_file(Path::new(""), name, &fingerprint.fingerprint_name);
        let finished = self
            .files
            .iter()
            .find(|file| Some(&file.path) == hash_file.as_ref())
            .map_or(0, |file| file.modified.modified_ns);
        Build {
            place: place.clone(),
            name: name.to_owned(),
            package_name: package_name.to_owned(),
            fingerprint_name: fingerprint.fingerprint_name,
            fingerprint: fingerprint.hex,
            dependencies: fingerprint.dependencies,
            rustc: fingerprint.rustc,
            finished,
            files: self.files,
            symlinks: self.symlinks,
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of a unit that the scan found apart")]
    fn finish(
        self,
        place: &Place,
        name: &str,
        package_name: &str,
        hash: &str,
        kind: UnitKind,
        fingerprint: Fingerprint,
        dep_info: Option<PathBuf>,
    ) -> Unit {
        let sources = dep_info
            .and_then(|path| fs::read_to_string(self.place_directory.join(path)).ok())
            .map(|text| first_rule_sources(&text))
            .unwrap_or_default();
        Unit {
            place: place.clone(),
            name: name.to_owned(),
            package_name: package_name.to_owned(),
            hash: hash.to_owned(),
            kind,
            fingerprint_name: fingerprint.fingerprint_name,
            fingerprint: fingerprint.hex,
            dependencies: fingerprint.dependencies,
            rustc: fingerprint.rustc,
            sources,
            tracked_paths: fingerprint.tracked_paths,
            files: self.files,
            symlinks: self.symlinks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_hex_is_little_endian() {
        // Observed in a real target dir: the JSON value 1453670895045828229 and the hash
        // file `85de8727fa792c14` belong to the same unit.
        assert_eq!(fingerprint_hex(1_453_670_895_045_828_229), "85de8727fa792c14");
    }

    #[test]
    fn splits_unit_names() {
        assert_eq!(split_name("serde_json-0123456789abcdef"), Some(("serde_json", "0123456789abcdef")));
        assert_eq!(split_name("a-b-0123456789abcdef"), Some(("a-b", "0123456789abcdef")));
        assert_eq!(split_name("nohash"), None);
    }

    #[test]
    fn classifies_rustc_outputs() {
        assert_eq!(output_class(Path::new("deps/libx-1.rlib")), FileClass::RustcOutput);
        assert_eq!(output_class(Path::new("deps/libx-1.rmeta")), FileClass::RustcOutput);
        assert_eq!(output_class(Path::new("deps/x-1.d")), FileClass::Metadata);
        assert_eq!(output_class(Path::new("deps/libx-1.so")), FileClass::LinkedBinary);
    }
}
