//! `verify` and `repair`: a damaged object is found (by the quick check when its size, mtime or
//! inode moved, by `--full` when only its bytes did), moved to `quarantine/`, and with
//! `--repair` restored from a worktree file or, when none is left, dropped with every unit
//! that needs it; a lost index is rebuilt from the manifests. Each ends with a store that
//! `verify --full` finds consistent and a worktree that builds fresh from it.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::REPORT_VERSION;
use crate::support::{printed, run_json};

/// `cargo-store verify --json`.
#[derive(Debug, Deserialize)]
struct VerifyReport {
    version: u32,
    consistent: bool,
    objects_checked: u64,
    quarantined: Vec<PathBuf>,
    objects_restored: u64,
    units_dropped: u64,
    problems: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct Problem {
    kind: String,
    path: PathBuf,
    detail: String,
    repaired: bool,
}

/// `cargo-store repair --rebuild-index --json`.
#[derive(Debug, Deserialize)]
struct RepairReport {
    version: u32,
    objects: u64,
    units: u64,
    units_dropped: u64,
    moved_aside: Vec<PathBuf>,
}

/// Runs `verify` with `arguments`; returns the report and the exit code.
fn verify(fixture: &Fixture, arguments: &[&str]) -> (VerifyReport, Output) {
    let output = fixture.cargo_store().args(["verify", "--json"]).args(arguments).output().expect("run verify");
    let report: VerifyReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("verify printed no report: {error}\n{}", printed(&output)));
    assert_eq!(report.version, REPORT_VERSION);
    (report, output)
}

fn assert_consistent(fixture: &Fixture) {
    let (report, output) = verify(fixture, &["--full"]);
    assert!(report.consistent && report.problems.is_empty(), "{report:#?}");
    assert_eq!(output.status.code(), Some(0));
}

/// The object file whose contents are `bytes`.
fn find_object(store: &Path, bytes: &[u8]) -> PathBuf {
    walkdir::WalkDir::new(store.join("objects"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .find(|entry| fs::read(entry.path()).is_ok_and(|content| content == bytes))
        .expect("an object with these bytes")
        .into_path()
}

/// Flips bytes in the middle of a file in place: same size, same inode.
fn damage(path: &Path) {
    let mut permissions = fs::metadata(path).expect("stat").permissions();
    permissions.set_mode(permissions.mode() | 0o200);
    fs::set_permissions(path, permissions).expect("make writable");
    let mut file = fs::OpenOptions::new().write(true).open(path).expect("open for writing");
    let middle = fs::metadata(path).expect("stat").len() / 2;
    file.seek(SeekFrom::Start(middle)).expect("seek");
    file.write_all(b"DAMAGED!").expect("write");
}

fn rlib_of(worktree: &Path, package: &str) -> PathBuf {
    walkdir::WalkDir::new(worktree.join("target/debug/deps"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|entry| {
            let name = entry.file_name().to_string_lossy();
            name.starts_with(&format!("lib{package}-")) && name.ends_with(".rlib")
        })
        .expect("the rlib")
        .into_path()
}

#[test]
fn a_damaged_object_is_quarantined_and_restored_from_a_worktree() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    assert_consistent(&fixture);

    // The native build script's executable is a copy in the store (a linked binary), so A
    // still has good bytes to restore it from.
    let script = walkdir::WalkDir::new(worktree_a.join("target/debug/build"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|entry| entry.file_name() == "build-script-build")
        .expect("native's build script")
        .into_path();
    let object = find_object(&fixture.store(), &fs::read(&script).expect("read the script"));
    damage(&object);

    let (report, output) = verify(&fixture, &[]);
    assert_eq!(output.status.code(), Some(1), "{report:#?}");
    assert!(!report.consistent);
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    assert_eq!((report.problems[0].kind.as_str(), &report.problems[0].path), ("damaged-object", &object));
    assert_eq!(report.quarantined.len(), 1, "{report:#?}");
    assert!(report.quarantined[0].starts_with(fixture.store().join("quarantine")) && report.quarantined[0].is_file());
    assert!(!object.exists(), "a damaged object stays where checkout would find it");
    assert!(String::from_utf8_lossy(&output.stderr).contains("hint: run `cargo store verify --repair`"));

    let (report, output) = verify(&fixture, &["--repair"]);
    assert_eq!(output.status.code(), Some(0), "{report:#?}");
    assert_eq!((report.objects_restored, report.units_dropped), (1, 0), "{report:#?}");
    assert!(report.problems.iter().all(|problem| problem.repaired), "{report:#?}");
    assert_eq!(fs::read(&object).expect("restored"), fs::read(&script).expect("script"));
    assert_consistent(&fixture);

    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &[]);
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build after the object was restored");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);

    // The damaged copy is kept for a month, then gc deletes it.
    let quarantined = &report_quarantined_path(&fixture);
    let gc = |days: i64| -> serde_json::Value {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
        crate::support::run_json(
            fixture.cargo_store().env("CARGO_STORE_TEST_NOW", (now + days * 86_400).to_string()).args(["gc", "--json"]),
        )
    };
    assert_eq!(gc(0)["quarantined_deleted"], 0);
    assert!(quarantined.is_file(), "gc deleted a damaged object on the day it was quarantined");
    assert_eq!(gc(31)["quarantined_deleted"], 1);
    assert!(!quarantined.exists(), "a month-old damaged object is still in quarantine");
}

/// The one file in the store's `quarantine/`.
fn report_quarantined_path(fixture: &Fixture) -> std::path::PathBuf {
    let mut files: Vec<_> = fs::read_dir(fixture.store().join("quarantine"))
        .expect("the quarantine directory")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

#[test]
fn an_object_nobody_can_restore_drops_its_units_and_their_dependents() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let leaf = rlib_of(&worktree_a, "leaf");
    let object = find_object(&fixture.store(), &fs::read(&leaf).expect("read leaf's rlib"));
    // A's target goes, so no worktree holds good bytes any more.
    fs::remove_dir_all(worktree_a.join("target")).expect("delete A's target");
    damage(&object);

    let (report, output) = verify(&fixture, &["--repair"]);
    assert_eq!(output.status.code(), Some(0), "{report:#?}");
    // leaf, and mid and gitdep above it; localdep is not stored.
    assert_eq!((report.objects_restored, report.units_dropped), (0, 3), "{report:#?}");
    assert_consistent(&fixture);

    let worktree_b = fixture.add_worktree("b");
    let checkout = fixture.checkout(&worktree_b, &[]);
    assert_eq!(checkout.units_placed, ELIGIBLE_UNITS - 3, "{checkout:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    for package in ["leaf", "mid", "gitdep"] {
        assert!(!build.unit(package, "lib").fresh, "{package} was not rebuilt");
    }
    assert!(build.unit("pm", "proc-macro").fresh, "pm should come from the store");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn only_a_full_verify_sees_bytes_changed_behind_an_unchanged_mtime() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let mid = rlib_of(&worktree_a, "mid");
    let object = find_object(&fixture.store(), &fs::read(&mid).expect("read mid's rlib"));
    let mtime = filetime::FileTime::from_last_modification_time(&fs::metadata(&object).expect("stat"));
    fs::remove_dir_all(worktree_a.join("target")).expect("delete A's target");
    damage(&object);
    filetime::set_file_mtime(&object, mtime).expect("put the mtime back");

    let (quick, _) = verify(&fixture, &[]);
    assert!(quick.consistent, "the quick check trusts size, mtime and inode: {quick:#?}");
    let (full, output) = verify(&fixture, &["--full"]);
    assert_eq!(output.status.code(), Some(1), "{full:#?}");
    assert_eq!(full.problems.len(), 1, "{full:#?}");
    assert_eq!(full.problems[0].path, object);
}

#[test]
fn a_lost_index_is_rebuilt_from_the_manifests() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let store = fixture.store();
    let (before, _) = verify(&fixture, &[]);
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = fs::remove_file(store.join(name));
    }
    fs::write(store.join("index.sqlite"), b"this is not a database").expect("corrupt the index");

    let report: RepairReport = run_json(fixture.cargo_store().args(["repair", "--rebuild-index", "--json"]));
    assert_eq!(report.version, REPORT_VERSION);
    assert_eq!((report.units, report.units_dropped), (ELIGIBLE_UNITS, 0), "{report:#?}");
    assert_eq!(report.objects, before.objects_checked, "{report:#?}");
    assert_eq!(report.moved_aside.len(), 1, "{report:#?}");
    assert_eq!(fs::read(&report.moved_aside[0]).expect("the old index is kept"), b"this is not a database");
    assert_consistent(&fixture);

    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &[]);
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build from a rebuilt index");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

/// An object damaged through a hard link is damaged in every worktree that shares its inode:
/// verify names those files, so the user can delete them and build again.
#[test]
fn a_damaged_hard_linked_object_names_the_worktree_files_that_share_it() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &[]);
    let rlib_a = rlib_of(&worktree_a, "mid");
    let rlib_b = rlib_of(&worktree_b, "mid");
    let object = find_object(&fixture.store(), &fs::read(&rlib_a).expect("read the rlib"));
    // Damaged in place without a change of size or mtime: only a full verify sees it.
    let modified = fs::metadata(&object).expect("stat").modified().expect("mtime");
    damage(&rlib_b);
    fs::File::options().write(true).open(&object).expect("open").set_modified(modified).expect("keep the mtime");

    let (report, output) = verify(&fixture, &["--full"]);
    assert_eq!(output.status.code(), Some(1), "{report:#?}");
    let problem = report.problems.iter().find(|problem| problem.path == object).expect("the damaged object");
    for file in [&rlib_a, &rlib_b] {
        assert!(problem.detail.contains(&file.display().to_string()), "{file:?} not named: {report:#?}");
    }
    assert!(problem.detail.contains("delete those files"), "{report:#?}");
}
