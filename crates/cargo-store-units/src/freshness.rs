//! The filesystem half of cargo's freshness check, for a set of units laid side by side.
//!
//! A unit whose fingerprint matches is still rebuilt when its files say it is older than what
//! it was built from. Cargo's rule (fingerprint `check_filesystem`, cargo 1.95) is a property
//! of the *set* of units in one build directory, not of a unit alone:
//!
//! - a unit is stale when a dependency's newest output is newer than the unit's own newest
//!   output (`dep_mtime > max_mtime`). When both are rlib-producing libraries the dependent
//!   only needed the dependency's metadata (pipelining), so only the `.rmeta` counts: its
//!   `.rlib` may legitimately be written after the dependent finished;
//! - a library is stale when a file of its build script's `OUT_DIR` that it read is newer
//!   than its dep-info file, whose mtime cargo sets to the start of the compilation. Which
//!   files it read is not recorded here, so every `OUT_DIR` file counts: in a real build they
//!   were all written before the library started, so this never rejects a consistent set.
//!
//! Equal times are fresh in both rules. Two target directories that built the same unit at
//! different times hold two valid copies with different mtimes; placing one copy under the
//! other build's dependents can break the first rule. [`Times::lag`] says by how much, and
//! [`Times::shifted`] what a unit's times become when all of its files are moved later by the
//! same amount, which keeps every relation among its own files (dep-info, outputs,
//! `invoked.timestamp`) and keeps it newer than the sources it was built from.

use std::path::Path;

use cargo_store_fs::FileClass;

use crate::UnitKind;

/// The times of one unit that cargo compares with its dependencies and dependents, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// What kind of unit it is.
    pub kind: UnitKind,
    /// Whether the unit links object code (a proc-macro, a build script, a dylib): a unit
    /// that links needs its dependencies' whole outputs, not only their metadata.
    pub links: bool,
    /// The newest of the unit's outputs (rlib, rmeta, shared object, executable, or the
    /// build script run's `output`); `None` when it has none.
    pub newest_output: Option<i64>,
    /// The `.rmeta`, for dependents that only need metadata; else the newest output.
    pub metadata: Option<i64>,
    /// The dep-info file in the fingerprint directory.
    pub dep_info: Option<i64>,
    /// The newest file of a build script run's `OUT_DIR`.
    pub newest_out_dir: Option<i64>,
}

impl Times {
    /// The times of a unit of `kind` made of `files` (path relative to the unit's place,
    /// class, mtime in ns), in either layout.
    pub fn of<'a>(kind: UnitKind, files: impl IntoIterator<Item = (&'a Path, FileClass, i64)>) -> Times {
        let mut times =
            Times { kind, links: false, newest_output: None, metadata: None, dep_info: None, newest_out_dir: None };
        let mut rmeta = None;
        for (path, class, modified) in files {
            let newest = |slot: &mut Option<i64>| *slot = Some(slot.map_or(modified, |time: i64| time.max(modified)));
            let output = match kind {
                UnitKind::Library | UnitKind::ProcMacro => {
                    matches!(class, FileClass::RustcOutput | FileClass::LinkedBinary)
                }
                UnitKind::BuildScript => class == FileClass::LinkedBinary,
                UnitKind::BuildScriptRun => is_run_output(path, class),
            };
            if output {
                newest(&mut times.newest_output);
                if class == FileClass::LinkedBinary {
                    times.links = true;
                }
                if path.extension().is_some_and(|extension| extension == "rmeta") {
                    newest(&mut rmeta);
                }
            }
            if class == FileClass::OutDir {
                newest(&mut times.newest_out_dir);
            }
            if class == FileClass::Metadata && is_dep_info(path) {
                newest(&mut times.dep_info);
            }
        }
        times.metadata = rmeta.or(times.newest_output);
        times
    }

    /// These times with every file moved `delta` ns later.
    pub fn shifted(self, delta: i64) -> Times {
        let shift = |time: Option<i64>| time.map(|time| time.saturating_add(delta));
        Times {
            newest_output: shift(self.newest_output),
            metadata: shift(self.metadata),
            dep_info: shift(self.dep_info),
            newest_out_dir: shift(self.newest_out_dir),
            ..self
        }
    }

    /// How many ns `dependent` would have to move later to be fresh against this dependency:
    /// 0 when it is fresh already.
    pub fn lag(&self, dependent: &Times) -> i64 {
        let metadata_only =
            dependent.kind == UnitKind::Library && !dependent.links && self.kind == UnitKind::Library && !self.links;
        let seen = if metadata_only { self.metadata } else { self.newest_output };
        let mut lag = match (seen, dependent.newest_output) {
            (Some(seen), Some(own)) => seen.saturating_sub(own),
            _ => 0,
        };
        if self.kind == UnitKind::BuildScriptRun
            && matches!(dependent.kind, UnitKind::Library | UnitKind::ProcMacro)
            && let (Some(out_dir), Some(dep_info)) = (self.newest_out_dir, dependent.dep_info)
        {
            lag = lag.max(out_dir.saturating_sub(dep_info));
        }
        lag.max(0)
    }

    /// Whether every time of `self` is at or before the same time of `other`: a dependent that
    /// is fresh against `other` is fresh against `self` too.
    pub fn no_later_than(&self, other: &Times) -> bool {
        let before = |mine: Option<i64>, theirs: Option<i64>| match (mine, theirs) {
            (Some(mine), Some(theirs)) => mine <= theirs,
            (None, None) => true,
            _ => false,
        };
        before(self.newest_output, other.newest_output)
            && before(self.metadata, other.metadata)
            && before(self.newest_out_dir, other.newest_out_dir)
    }
}

/// The file a build script run's freshness is measured by: `output` (legacy layout) or
/// `run/stdout` (per-unit layout), where cargo keeps what the script printed.
fn is_run_output(path: &Path, class: FileClass) -> bool {
    if class != FileClass::Metadata {
        return false;
    }
    let mut components = path.components().rev().map(|component| component.as_os_str());
    match (components.next(), components.next()) {
        (Some(name), Some(parent)) => {
            (name == "stdout" && parent == "run") || (name == "output" && path.components().count() == 3)
        }
        _ => false,
    }
}

/// Cargo's dep-info file in a fingerprint directory (`dep-lib-<crate>`), whose mtime is the
/// start of the unit's compilation.
fn is_dep_info(path: &Path) -> bool {
    let mut components = path.components().rev().map(|component| component.as_os_str());
    let name = components.next().and_then(|name| name.to_str()).unwrap_or_default();
    let parent = components.next();
    let grandparent = components.next();
    name.starts_with("dep-") && (parent == Some("fingerprint".as_ref()) || grandparent == Some(".fingerprint".as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(rlib: i64, rmeta: i64) -> Times {
        let files = [
            (Path::new("deps/liba-0123456789abcdef.rlib"), FileClass::RustcOutput, rlib),
            (Path::new("deps/liba-0123456789abcdef.rmeta"), FileClass::RustcOutput, rmeta),
            (Path::new(".fingerprint/a-0123456789abcdef/dep-lib-a"), FileClass::Metadata, rmeta - 50),
            (Path::new("deps/a-0123456789abcdef.d"), FileClass::Metadata, rlib + 5),
        ];
        Times::of(UnitKind::Library, files)
    }

    #[test]
    fn outputs_of_each_kind() {
        let times = library(200, 100);
        assert_eq!((times.newest_output, times.metadata, times.dep_info), (Some(200), Some(100), Some(50)));
        assert!(!times.links);
        let run = Times::of(
            UnitKind::BuildScriptRun,
            [
                (Path::new("build/n-0123456789abcdef/output"), FileClass::Metadata, 30),
                (Path::new("build/n-0123456789abcdef/out/libn.a"), FileClass::OutDir, 20),
                (Path::new("build/n-0123456789abcdef/out/output"), FileClass::OutDir, 40),
            ],
        );
        assert_eq!((run.newest_output, run.newest_out_dir), (Some(30), Some(40)));
        let per_unit = Times::of(
            UnitKind::BuildScriptRun,
            [(Path::new("build/n/0123456789abcdef/run/stdout"), FileClass::Metadata, 7)],
        );
        assert_eq!(per_unit.newest_output, Some(7));
        let script = Times::of(
            UnitKind::BuildScript,
            [(Path::new("build/n-0123456789abcdef/build_script_build-0123456789abcdef"), FileClass::LinkedBinary, 9)],
        );
        assert!(script.links);
        assert_eq!(script.newest_output, Some(9));
    }

    #[test]
    fn a_pipelined_library_only_sees_the_metadata() {
        // The dependency's rlib finished after the dependent: fresh, as in a real build.
        let dependency = library(300, 100);
        let dependent = library(250, 200);
        assert_eq!(dependency.lag(&dependent), 0);
        // A unit that links needs the rlib.
        let proc_macro = Times::of(
            UnitKind::ProcMacro,
            [(Path::new("deps/libm-0123456789abcdef.so"), FileClass::LinkedBinary, 250)],
        );
        assert_eq!(dependency.lag(&proc_macro), 50);
    }

    #[test]
    fn a_newer_dependency_makes_a_lag_that_a_shift_removes() {
        let dependency = library(1_000, 900);
        let dependent = library(500, 400);
        // Two libraries: the dependency's rmeta (900) against the dependent's newest output.
        let lag = dependency.lag(&dependent);
        assert_eq!(lag, 400);
        assert_eq!(dependency.lag(&dependent.shifted(lag)), 0);
        assert!(dependent.no_later_than(&dependency));
        assert!(!dependency.no_later_than(&dependent));
    }

    #[test]
    fn out_dir_files_must_not_be_newer_than_the_dep_info() {
        let run = Times::of(
            UnitKind::BuildScriptRun,
            [
                (Path::new("build/n-0123456789abcdef/output"), FileClass::Metadata, 10),
                (Path::new("build/n-0123456789abcdef/out/generated.rs"), FileClass::OutDir, 80),
            ],
        );
        // Outputs newer than the run's output, dep-info (50) older than the OUT_DIR file.
        assert_eq!(run.lag(&library(200, 100)), 30);
    }
}
