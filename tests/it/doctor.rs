//! `cargo store doctor`: what it tells a user about their set-up, read from its `--json`
//! report. A store on another filesystem than the worktree (`/dev/shm`; skipped when that is
//! missing or on the same filesystem) must come out as a warning that checkout copies every
//! file, with a hint; a store beside the worktree as working hard links; outside a Cargo
//! project the store is still checked; a store writable by others is an error (exit 1).
//! Doctor must change nothing: it creates no store, and its probe files do not outlive it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::fixture::Fixture;
use crate::reports::REPORT_VERSION;
use crate::support::{describe, printed, run_json};

/// `cargo-store doctor --json`.
#[derive(Debug, Deserialize)]
struct DoctorReport {
    version: u32,
    store: PathBuf,
    workspace: Option<PathBuf>,
    build_directory: Option<PathBuf>,
    toolchain: Option<String>,
    links: Option<Links>,
    checks: Vec<Check>,
}

/// [`DoctorReport::links`]: what the probe found.
#[derive(Debug, Deserialize)]
struct Links {
    reflink: bool,
    hardlink: bool,
    same_filesystem: bool,
}

/// One check of a [`DoctorReport`].
#[derive(Debug, Deserialize)]
struct Check {
    name: String,
    status: Status,
    detail: String,
    hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warning,
    Error,
}

impl DoctorReport {
    /// The check called `name`; panics, showing the report, if there is none.
    fn check(&self, name: &str) -> &Check {
        self.checks.iter().find(|check| check.name == name).unwrap_or_else(|| panic!("no `{name}` check in {self:#?}"))
    }

    fn has(&self, name: &str) -> bool {
        self.checks.iter().any(|check| check.name == name)
    }

    fn errors(&self) -> Vec<&Check> {
        self.checks.iter().filter(|check| check.status == Status::Error).collect()
    }
}

/// `cargo-store doctor --json` on `store` for worktree A of `fixture`.
fn doctor_in_worktree(fixture: &Fixture, store: &Path) -> Command {
    let mut command = fixture.cargo_store();
    command
        .env("CARGO_STORE_DIR", store)
        .args(["doctor", "--json", "--manifest-path"])
        .arg(fixture.worktree_a().join("Cargo.toml"));
    command
}

/// Creates the store at `store`, as any command does on first use.
fn create_store(fixture: &Fixture, store: &Path) {
    let mut command = fixture.cargo_store();
    // Read-only commands never create a store; a checkout (of nothing yet) does.
    command
        .env("CARGO_STORE_DIR", store)
        .args(["checkout", "--quiet", "--manifest-path"])
        .arg(fixture.worktree_a().join("Cargo.toml"));
    let output = command.output().unwrap_or_else(|error| panic!("cannot start `{}`: {error}", describe(&command)));
    assert!(output.status.success(), "`{}` failed\n{}", describe(&command), printed(&output));
}

/// The temporary files of cargo-store (`.cargo-store-*.tmp`) directly in `directory`.
fn leftover_probes(directory: &Path) -> Vec<PathBuf> {
    match fs::read_dir(directory) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(".cargo-store-")))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_store_on_another_filesystem_is_a_warning_that_checkout_copies() {
    let fixture = Fixture::new();
    let shm = Path::new("/dev/shm");
    let Ok(shm_metadata) = fs::metadata(shm) else {
        eprintln!("skipped: /dev/shm does not exist");
        return;
    };
    if shm_metadata.dev() == fs::metadata(fixture.root()).expect("stat the fixture").dev() {
        eprintln!("skipped: /dev/shm is on the same filesystem as {}", fixture.root().display());
        return;
    }
    let directory =
        tempfile::Builder::new().prefix("cargo-store-it-").tempdir_in(shm).expect("create a directory in /dev/shm");
    let parent = directory.path().canonicalize().expect("canonicalize the /dev/shm directory");
    let store = parent.join("store");

    let report: DoctorReport = run_json(&mut doctor_in_worktree(&fixture, &store));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    assert_eq!(report.store, store, "{report:#?}");
    assert_eq!(report.workspace.as_deref(), Some(fixture.worktree_a().as_path()), "{report:#?}");
    assert_eq!(report.build_directory, Some(fixture.worktree_a().join("target")), "{report:#?}");
    assert!(report.toolchain.as_deref().is_some_and(|toolchain| toolchain.starts_with("rustc ")), "{report:#?}");

    let links = report.check("link-modes");
    assert_eq!(links.status, Status::Warning, "{report:#?}");
    assert!(links.detail.contains("different filesystems"), "{links:#?}");
    assert!(links.detail.contains("falls back to copy"), "{links:#?}");
    let hint = links.hint.as_deref().unwrap_or_else(|| panic!("a warning without a hint: {links:#?}"));
    assert!(hint.contains("--store") && hint.contains("CARGO_STORE_DIR"), "{links:#?}");
    let probed = report.links.as_ref().unwrap_or_else(|| panic!("no probe result: {report:#?}"));
    assert!(!probed.hardlink && !probed.reflink && !probed.same_filesystem, "{report:#?}");
    assert!(report.check("build-filesystem").detail.contains("not the store's"), "{report:#?}");

    // Warnings are not errors: doctor exited 0 (run_json checked it), and changed nothing.
    assert!(report.errors().is_empty(), "{report:#?}");
    assert_eq!(report.check("store").status, Status::Ok, "{report:#?}");
    assert!(!store.exists(), "doctor created the store {}", store.display());
    for place in [parent.as_path(), &fixture.worktree_a()] {
        assert!(leftover_probes(place).is_empty(), "probe files left in {}", place.display());
    }
}

#[test]
fn a_store_beside_the_worktree_hard_links() {
    let fixture = Fixture::new();
    let store = fixture.store();
    create_store(&fixture, &store);

    let report: DoctorReport = run_json(&mut doctor_in_worktree(&fixture, &store));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    let probed = report.links.as_ref().unwrap_or_else(|| panic!("no probe result: {report:#?}"));
    assert!(probed.hardlink && probed.same_filesystem, "{report:#?}");
    let links = report.check("link-modes");
    assert_eq!(links.status, Status::Ok, "{report:#?}");
    // Either "hard links work ..." or, on a filesystem that clones, "reflinks work ... (hard
    // links too)".
    assert!(links.detail.contains("hard links"), "{links:#?}");
    assert!(links.hint.is_none(), "{links:#?}");
    assert!(report.check("build-filesystem").detail.ends_with("the store's filesystem"), "{report:#?}");
    for name in ["store", "lock", "index", "workspace", "toolchain"] {
        assert_eq!(report.check(name).status, Status::Ok, "{report:#?}");
    }
    let lock = report.check("lock");
    assert!(lock.detail.contains("shared and exclusive locks"), "{lock:#?}");
    let index = report.check("index");
    assert!(index.detail.starts_with("0 units, 0 objects"), "{index:#?}");
    for place in [store.join("tmp"), fixture.worktree_a()] {
        assert!(leftover_probes(&place).is_empty(), "probe files left in {}", place.display());
    }
}

#[test]
fn outside_a_cargo_project_the_store_is_still_checked() {
    let fixture = Fixture::new();
    let store = fixture.store();
    create_store(&fixture, &store);
    let plain = fixture.root().join("plain");
    fs::create_dir_all(&plain).expect("create a directory outside any project");
    if let Some(manifest) = plain.ancestors().map(|directory| directory.join("Cargo.toml")).find(|path| path.is_file())
    {
        eprintln!("skipped: the temporary directory is inside a Cargo project ({})", manifest.display());
        return;
    }

    let report: DoctorReport = run_json(fixture.cargo_store().args(["doctor", "--json"]).current_dir(&plain));
    let workspace = report.check("workspace");
    assert_eq!(workspace.status, Status::Warning, "{report:#?}");
    assert!(workspace.detail.contains("not in a Cargo project"), "{workspace:#?}");
    assert!(workspace.hint.as_deref().is_some_and(|hint| hint.contains("--manifest-path")), "{workspace:#?}");
    assert_eq!((&report.workspace, &report.build_directory), (&None, &None), "{report:#?}");
    assert!(report.links.is_none(), "{report:#?}");
    assert!(!report.has("link-modes") && !report.has("build-filesystem"), "{report:#?}");
    for name in ["store", "lock", "index", "toolchain"] {
        assert_eq!(report.check(name).status, Status::Ok, "{report:#?}");
    }
    for name in ["store-filesystem", "store-space"] {
        assert_ne!(report.check(name).status, Status::Error, "{report:#?}");
    }
    assert!(report.check("store").detail.contains(&store.display().to_string()), "{report:#?}");
}

#[test]
fn a_store_writable_by_others_is_an_error_and_exits_1() {
    let fixture = Fixture::new();
    let store = fixture.store();
    create_store(&fixture, &store);
    fs::set_permissions(&store, fs::Permissions::from_mode(0o777)).expect("make the store world-writable");

    let mut command = doctor_in_worktree(&fixture, &store);
    let output = command.output().unwrap_or_else(|error| panic!("cannot start `{}`: {error}", describe(&command)));
    assert_eq!(output.status.code(), Some(1), "`{}`\n{}", describe(&command), printed(&output));
    let report: DoctorReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no doctor report: {error}\n{}", printed(&output)));
    let check = report.check("store");
    assert_eq!(check.status, Status::Error, "{report:#?}");
    assert!(check.detail.contains("writable by other users"), "{check:#?}");
    assert!(check.detail.contains(&store.display().to_string()), "{check:#?}");
    assert!(check.hint.as_deref().is_some_and(|hint| hint.contains("chmod 700")), "{check:#?}");
    // An unsafe store is not opened: no lock taken, nothing counted, nothing probed inside it.
    assert!(!report.has("lock") && !report.has("index"), "{report:#?}");
    assert!(leftover_probes(&store.join("tmp")).is_empty());

    // The same verdict for people, on stdout, with the hint under the check.
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_DIR", &store).arg("doctor").current_dir(fixture.worktree_a());
    let output = command.output().unwrap_or_else(|error| panic!("cannot start `{}`: {error}", describe(&command)));
    assert_eq!(output.status.code(), Some(1), "`{}`\n{}", describe(&command), printed(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().position(|line| line.starts_with("error") && line.contains("writable by other users"));
    let line = line.unwrap_or_else(|| panic!("no error line for the store:\n{text}"));
    let hint = text.lines().nth(line + 1).unwrap_or_default();
    assert!(hint.trim_start().starts_with("hint: run `chmod 700"), "{text}");
    assert!(text.lines().last().is_some_and(|last| last.starts_with("1 error")), "{text}");

    // Doctor reports; it does not repair.
    assert_eq!(fs::metadata(&store).expect("stat the store").mode() & 0o777, 0o777);
}
