//! Bad input, as users meet it: commands run outside a Cargo project or before a build, units
//! built by another toolchain, a store owned by another user or writable by others, a store on
//! a read-only or full filesystem or on another filesystem than the worktree, `--strict`
//! hard links across filesystems, a corrupt index or one from a newer cargo-store, symbolic
//! links out of the target directory, a build running during ingest, and file names that are
//! not UTF-8.
//!
//! Every failure must be one a user can act on: exit code 1, stderr starting with `error:`,
//! naming the offending path, and a `hint:` line; and it must change nothing: the store's
//! object files (by [`snapshot_tree`]), its index counts (by `status --json`) and the
//! worktrees' target directories stay as they were.
//!
//! What the user reads is snapshotted in full beside these checks ([`crate::snapshot`]), with
//! the fixture's paths as `[ROOT]` and `[STORE]`.
//!
//! Tests that need root (to give the store away, or to mount a tmpfs for a read-only or a full
//! store) are `#[ignore = "needs root"]`: they show as ignored in a plain `cargo test`, and
//! `.ci/run`, which runs as root, runs them with `--include-ignored`; run that way without root
//! they fail. Tests that need a second filesystem use `/dev/shm`, and say so on stderr and
//! return when it is not one.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use tempfile::TempDir;

use crate::fixture::{
    Build, BuildMode, DEPENDENCIES, ELIGIBLE_UNITS, EXPECTED_OUTPUT, EXPECTED_OUTPUT_OTHER_FLAVOR, Fixture,
};
use crate::reports::{CheckoutReport, IngestReport, REPORT_VERSION, StatusReport};
use crate::snapshot::{Filters, cargo_store_snapshot, render, render_each};
use crate::support::{
    assert_tree_unchanged, describe, is_cargo_bookkeeping, package_name, printed, run, run_json, snapshot_tree,
    tree_changes,
};

/// Runs `command` to completion, whatever its exit status.
fn attempt(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)))
}

/// Asserts what a user must see when a command fails: exit code 1, stderr starting with
/// `error:`, every path of `names`, a `hint:` line, and for each entry of `says` one of its
/// alternatives (case-insensitively). Returns stderr.
fn assert_error(output: &Output, context: &str, names: &[&Path], says: &[&[&str]]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let shown = format!("{context}\n{}", printed(output));
    assert_eq!(output.status.code(), Some(1), "wrong exit code: {shown}");
    assert!(stderr.starts_with("error:"), "stderr does not start with `error:`: {shown}");
    for path in names {
        assert!(
            stderr.contains(&path.display().to_string()),
            "the message does not name `{}`: {shown}",
            path.display()
        );
    }
    assert!(
        stderr.lines().any(|line| line.trim_start().starts_with("hint:")),
        "the message has no `hint:` line: {shown}"
    );
    let lowercase = stderr.to_lowercase();
    for alternatives in says {
        assert!(
            alternatives.iter().any(|phrase| lowercase.contains(&phrase.to_lowercase())),
            "the message says none of {alternatives:?}: {shown}"
        );
    }
    stderr
}

/// The `cargo-store` binary under test with `store` instead of the fixture's own store.
fn cargo_store_in(fixture: &Fixture, store: &Path) -> Command {
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_DIR", store);
    command
}

/// `status --json` of `store`: (objects, units, roots).
fn counts_in(fixture: &Fixture, store: &Path) -> (u64, u64, u64) {
    let report: StatusReport = run_json(cargo_store_in(fixture, store).args(["status", "--json"]));
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    (report.objects, report.units, report.roots)
}

/// `ingest --json` of `worktree` into `store`.
fn ingest_in(fixture: &Fixture, store: &Path, worktree: &Path) -> IngestReport {
    let report: IngestReport = run_json(
        cargo_store_in(fixture, store).args(["ingest", "--json", "--manifest-path"]).arg(worktree.join("Cargo.toml")),
    );
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    report
}

/// `checkout --json` from `store` into `worktree`, plus `extra` arguments.
fn checkout_command(fixture: &Fixture, store: &Path, worktree: &Path, extra: &[&str]) -> Command {
    let mut command = cargo_store_in(fixture, store);
    command.args(["checkout", "--json", "--manifest-path"]).arg(worktree.join("Cargo.toml")).args(extra);
    command
}

/// The commands that use the store, each as a user would run it: ingest of A, checkout into B,
/// status, gc, roots and verify, and with `repair` also `repair --rebuild-index`.
fn store_commands(
    fixture: &Fixture,
    worktree_a: &Path,
    worktree_b: &Path,
    repair: bool,
) -> Vec<(&'static str, Command)> {
    let mut commands = Vec::new();
    let mut ingest = fixture.cargo_store();
    ingest.arg("ingest").arg("--manifest-path").arg(worktree_a.join("Cargo.toml"));
    commands.push(("ingest", ingest));
    let mut checkout = fixture.cargo_store();
    checkout.arg("checkout").arg("--manifest-path").arg(worktree_b.join("Cargo.toml"));
    commands.push(("checkout", checkout));
    for name in ["status", "gc", "roots", "verify"] {
        let mut command = fixture.cargo_store();
        command.arg(name);
        commands.push((name, command));
    }
    if repair {
        let mut command = fixture.cargo_store();
        command.args(["repair", "--rebuild-index"]);
        commands.push(("repair --rebuild-index", command));
    }
    commands
}

/// A fixture with worktree A built and ingested into the fixture's store.
fn ingested() -> Fixture {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let report = fixture.ingest(&worktree_a);
    assert_eq!(report.units_added, ELIGIBLE_UNITS, "{report:#?}");
    fixture
}

/// What must not change when a command fails: the store's object files, its index counts,
/// and worktree A's target directory.
struct Unchanged {
    objects: crate::support::TreeSnapshot,
    counts: (u64, u64, u64),
    target_a: crate::support::TreeSnapshot,
}

impl Unchanged {
    fn record(fixture: &Fixture, store: &Path) -> Unchanged {
        Unchanged {
            objects: snapshot_tree(&store.join("objects"), |_| false),
            counts: counts_in(fixture, store),
            target_a: snapshot_tree(&fixture.worktree_a().join("target"), is_cargo_bookkeeping),
        }
    }

    /// Checks the object files and A's target (which need no working store).
    fn assert_files(&self, fixture: &Fixture, store: &Path, context: &str) {
        assert!(!self.objects.is_empty(), "{context}: the store held no object to begin with");
        assert_tree_unchanged(
            &self.objects,
            &snapshot_tree(&store.join("objects"), |_| false),
            &format!("{context}: the store's objects/"),
        );
        assert_tree_unchanged(
            &self.target_a,
            &snapshot_tree(&fixture.worktree_a().join("target"), is_cargo_bookkeeping),
            &format!("{context}: worktree A's target"),
        );
    }

    /// Checks the files and the index counts.
    fn assert_all(&self, fixture: &Fixture, store: &Path, context: &str) {
        self.assert_files(fixture, store, context);
        assert_eq!(counts_in(fixture, store), self.counts, "{context}: the index counts (objects, units, roots)");
    }
}

/// The run unit of native's build script in the legacy layout: the
/// `target/debug/build/native-<hash>/` directory with an `output` file beside `out/`.
fn native_run_unit(worktree: &Path) -> PathBuf {
    let build = worktree.join("target/debug/build");
    fs::read_dir(&build)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", build.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("native-"))
                && path.join("output").is_file()
        })
        .unwrap_or_else(|| panic!("no run unit of native's build script under {}", build.display()))
}

/// Whether this process runs as root (mounting and `chown` need it).
fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// Fails the test unless it runs as root: the tests that need it are `#[ignore = "needs root"]`
/// and run only when asked for (`--include-ignored`), so without root they must not pass.
fn require_root(what: &str) {
    assert!(is_root(), "{what} needs root: run this test as root (as `.ci/run` does), or leave it ignored");
}

/// A tmpfs mounted for one test, unmounted when dropped (also when the test panics). Declare it
/// after the [`Fixture`] it is mounted in, so that it is dropped first.
struct Mount {
    point: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs with `options` at `point` (created if needed); panics when that is not
    /// possible here (see [`require_root`]).
    fn tmpfs(point: &Path, options: &str) -> Mount {
        require_root("mounting a tmpfs");
        fs::create_dir_all(point).unwrap_or_else(|error| panic!("cannot create {}: {error}", point.display()));
        run(Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(point));
        Mount { point: point.to_path_buf() }
    }

    /// Remounts with `options` (e.g. `remount,ro`); panics if that fails.
    fn remount(&self, options: &str) {
        run(Command::new("mount").args(["-o", options]).arg(&self.point));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.point).status().is_ok_and(|status| status.success());
        if !unmounted {
            // Something still has a file open there: detach it rather than leak the mount.
            let _ = Command::new("umount").arg("-l").arg(&self.point).status();
        }
    }
}

/// A store directory on `/dev/shm` when that is another filesystem than the fixture's; `None`,
/// after saying why on stderr, otherwise.
fn store_on_other_filesystem(fixture: &Fixture) -> Option<(TempDir, PathBuf)> {
    let shm = Path::new("/dev/shm");
    let Ok(metadata) = fs::metadata(shm) else {
        eprintln!("skipped: /dev/shm does not exist");
        return None;
    };
    let fixture_device = fs::metadata(fixture.root()).expect("stat the fixture").dev();
    if metadata.dev() == fixture_device {
        eprintln!("skipped: /dev/shm is on the same filesystem as {}", fixture.root().display());
        return None;
    }
    let directory =
        tempfile::Builder::new().prefix("cargo-store-it-").tempdir_in(shm).expect("create a directory in /dev/shm");
    let store = directory.path().canonicalize().expect("canonicalize the /dev/shm directory").join("store");
    Some((directory, store))
}

/// The field of the ingest report that counts symbolic links found in units.
#[derive(Debug, Deserialize)]
struct SymlinkCount {
    /// Symbolic links never followed and never stored.
    symlinks_ignored: u64,
}

#[test]
fn commands_outside_a_cargo_project_fail_and_say_where_they_looked() {
    let fixture = ingested();
    let unchanged = Unchanged::record(&fixture, &fixture.store());
    let plain = fixture.root().join("plain");
    fs::create_dir_all(&plain).expect("create a plain directory");
    fs::write(plain.join("notes.txt"), "not a project\n").expect("write a file in the plain directory");
    let plain_before = snapshot_tree(&plain, |_| false);
    let manifest = plain.join("Cargo.toml");

    let mut runs = Vec::new();
    for command in ["ingest", "checkout"] {
        let output = attempt(fixture.cargo_store().arg(command).arg("--manifest-path").arg(&manifest));
        let context = format!("{command} --manifest-path {}", manifest.display());
        assert_error(&output, &context, &[&manifest], &[]);
        runs.push((format!("{command} --manifest-path [ROOT]/plain/Cargo.toml"), output));

        let output = attempt(fixture.cargo_store().arg(command).current_dir(&plain));
        let context = format!("{command} run from {}", plain.display());
        assert_error(&output, &context, &[&plain], &[]);
        runs.push((format!("{command} (in [ROOT]/plain)"), output));
    }
    let text = render_each(runs.iter().map(|(what, output)| (what.as_str(), output)));
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!(text, @"
    $ cargo store ingest --manifest-path [ROOT]/plain/Cargo.toml
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: ingest failed
      caused by: `cargo metadata` failed for `[ROOT]/plain/Cargo.toml`: manifest path `[ROOT]/plain/Cargo.toml` does not exist
    hint: run this from a Cargo project, or pass `--manifest-path path/to/Cargo.toml`

    $ cargo store ingest (in [ROOT]/plain)
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: ingest failed
      caused by: `cargo metadata` failed for `[ROOT]/plain`: could not find `Cargo.toml` in `[ROOT]/plain` or any parent directory
    hint: run this from a Cargo project, or pass `--manifest-path path/to/Cargo.toml`

    $ cargo store checkout --manifest-path [ROOT]/plain/Cargo.toml
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: checkout failed
      caused by: `cargo metadata` failed for `[ROOT]/plain/Cargo.toml`: manifest path `[ROOT]/plain/Cargo.toml` does not exist
    hint: run this from a Cargo project, or pass `--manifest-path path/to/Cargo.toml`

    $ cargo store checkout (in [ROOT]/plain)
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: checkout failed
      caused by: `cargo metadata` failed for `[ROOT]/plain`: could not find `Cargo.toml` in `[ROOT]/plain` or any parent directory
    hint: run this from a Cargo project, or pass `--manifest-path path/to/Cargo.toml`
    "));
    assert_tree_unchanged(&plain_before, &snapshot_tree(&plain, |_| false), "the plain directory");
    unchanged.assert_all(&fixture, &fixture.store(), "commands outside a Cargo project");
}

#[test]
fn ingest_before_any_build_fails_and_says_to_build_first() {
    let fixture = ingested();
    let unchanged = Unchanged::record(&fixture, &fixture.store());
    let worktree_b = fixture.add_worktree("b");
    let target_b = worktree_b.join("target");

    let output = cargo_store_snapshot!(
        Filters::of(&fixture),
        fixture.cargo_store().arg("ingest").arg("--manifest-path").arg(worktree_b.join("Cargo.toml")),
        @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: ingest failed
      caused by: `[ROOT]/b/target` does not exist: this workspace has not been built yet, or not into this directory
    hint: run `cargo build` first, then `cargo store ingest`; if the build went to another directory (`--target-dir`, `CARGO_TARGET_DIR` or `build.target-dir`), give ingest the same `--target-dir DIR`
    "
    );
    assert_error(&output, "ingest in a worktree never built", &[&target_b], &[&["cargo build"]]);
    assert!(!target_b.exists(), "a failed ingest created {}", target_b.display());
    unchanged.assert_all(&fixture, &fixture.store(), "ingest in a worktree never built");
}

#[test]
fn units_of_another_toolchain_are_skipped_and_nothing_is_stored() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let wrapper = fixture.other_toolchain_rustc();

    let mut command = fixture.build_command(&worktree_a, BuildMode::LEGACY_DEV);
    command.env("RUSTC", &wrapper);
    Build::run(&mut command);

    let report = fixture.ingest(&worktree_a);
    let context = format!("ingest without the wrapper of units built with it: {report:#?}");
    assert_eq!(report.units_added, 0, "{context}");
    assert_eq!((report.files_added, report.bytes_added), (0, 0), "{context}");
    let group = report
        .skipped
        .iter()
        .find(|group| group.reason == "other-toolchain")
        .unwrap_or_else(|| panic!("no unit skipped as `other-toolchain`: {context}"));
    assert_eq!(group.units, ELIGIBLE_UNITS, "{context}");
    let mut packages: Vec<&str> = group.packages.iter().map(|package| package_name(package)).collect();
    packages.sort_unstable();
    packages.dedup();
    assert_eq!(packages, DEPENDENCIES, "{context}");
    // What a person reads: the reason, and the command that would store them.
    cargo_store_snapshot!(
        Filters::of(&fixture),
        fixture.cargo_store().arg("ingest").arg("--manifest-path").arg(worktree_a.join("Cargo.toml")),
        @"
    exit code: 0
    ----- stdout -----
    Ingested 0 units from `[ROOT]/a/target` in [ELAPSED]: [SIZE] added, [SIZE] deduplicated
      0 units already stored, 0 files hashed, 0 files in new units
      8 units skipped:
        workspace-member: 1 unit of 1 package (localdep v0.1.0); workspace members are built from the worktree itself
        other-toolchain: 7 units of 5 packages (gitdep v0.1.0, leaf v1.0.0, mid v1.0.0, native v1.0.0, pm v1.0.0); it was built by another toolchain than this workspace uses
          built by `[RUSTC] other-toolchain` (this workspace uses `[TOOLCHAIN]`): to store them, ingest with that toolchain: `cargo +TOOLCHAIN store ingest` (or with the RUSTC of that build)

    ----- stderr -----
    "
    );
    let status = fixture.status();
    assert_eq!((status.objects, status.units), (0, 0), "{context}\n{status:#?}");
    assert!(snapshot_tree(&fixture.store().join("objects"), |_| false).is_empty(), "{context}: objects were written");
}

/// Runs every store command against a store made unsafe by `spoil`, expecting each to refuse
/// with a message naming the store and saying `says`; `restore` undoes `spoil` before the
/// checks that nothing changed. Returns what the commands printed, for a snapshot.
fn assert_unsafe_store_refused(
    fixture: &Fixture,
    what: &str,
    says: &[&[&str]],
    spoil: impl Fn(&Path),
    restore: impl Fn(&Path),
) -> String {
    let store = fixture.store();
    let worktree_a = fixture.worktree_a();
    let worktree_b = fixture.add_worktree("b");
    let unchanged = Unchanged::record(fixture, &store);
    let metadata_before = fs::metadata(&store).expect("stat the store");

    spoil(&store);
    let spoiled = fs::metadata(&store).expect("stat the store");
    let mut runs = Vec::new();
    for (name, mut command) in store_commands(fixture, &worktree_a, &worktree_b, true) {
        let output = attempt(&mut command);
        assert_error(&output, &format!("{name} with {what}"), &[&store], says);
        runs.push((name, output));
    }
    let after = fs::metadata(&store).expect("stat the store");
    assert_eq!(
        (after.uid(), after.gid(), after.mode()),
        (spoiled.uid(), spoiled.gid(), spoiled.mode()),
        "a refusing command changed the owner or mode of the store"
    );
    assert!(!worktree_b.join("target").exists(), "a refused checkout created B's target");
    restore(&store);
    let restored = fs::metadata(&store).expect("stat the store");
    assert_eq!((restored.uid(), restored.mode()), (metadata_before.uid(), metadata_before.mode()));
    unchanged.assert_all(fixture, &store, what);
    render_each(runs.iter().map(|(name, output)| (*name, output)))
}

#[test]
#[ignore = "needs root"]
fn a_store_owned_by_another_user_is_refused() {
    require_root("giving the store to another user");
    let fixture = ingested();
    let text = assert_unsafe_store_refused(
        &fixture,
        "a store owned by user 65534",
        &[&["owned by"]],
        |store| std::os::unix::fs::chown(store, Some(65534), Some(65534)).expect("chown the store"),
        |store| std::os::unix::fs::chown(store, Some(0), Some(0)).expect("chown the store back"),
    );
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!("store_owned_by_another_user", text));
}

#[test]
fn a_store_writable_by_others_is_refused() {
    let fixture = ingested();
    let text = assert_unsafe_store_refused(
        &fixture,
        "a store of mode 0777",
        &[&["writable"]],
        |store| fs::set_permissions(store, fs::Permissions::from_mode(0o777)).expect("chmod 0777"),
        |store| fs::set_permissions(store, fs::Permissions::from_mode(0o700)).expect("chmod 0700"),
    );
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!("store_writable_by_others", text));
}

/// A worktree whose target directory is on a read-only filesystem: the error is about the
/// worktree, and never tells the user to move the store.
#[test]
#[ignore = "needs root"]
fn a_read_only_worktree_is_named_not_the_store() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let target = worktree_b.join("target");
    let mount = Mount::tmpfs(&target, "size=64m");
    mount.remount("remount,ro");
    let checkout = attempt(&mut checkout_command(&fixture, &fixture.store(), &worktree_b, &["--no-sync"]));
    mount.remount("remount,rw");
    let stderr = assert_error(&checkout, "checkout into a read-only worktree", &[&target], &[&["read-only"]]);
    assert!(stderr.contains("worktree"), "the hint is not about the worktree: {stderr}");
    assert!(!stderr.contains("--store") && !stderr.contains("CARGO_STORE_DIR"), "blames the store: {stderr}");
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!(render(&checkout), @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: checkout failed
      caused by: failed to create directory `[ROOT]/b/target/debug/.fingerprint/gitdep-[HASH]`
      caused by: Read-only file system (os error 30)
    hint: the worktree's filesystem is read-only: make it writable, or check out into a writable directory with `--target-dir DIR`
    "));
}

#[test]
#[ignore = "needs root"]
fn a_store_on_a_read_only_filesystem_fails_and_says_so() {
    let fixture = Fixture::new();
    let store = fixture.store();
    let mount = Mount::tmpfs(&store, "size=256m,mode=0700");
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    // A release build gives the next ingest units to write.
    fixture.build(&worktree_a, BuildMode::LEGACY_RELEASE);
    let worktree_b = fixture.add_worktree("b");
    let unchanged = Unchanged::record(&fixture, &store);
    mount.remount("remount,ro");

    let ingest = attempt(fixture.cargo_store().arg("ingest").arg("--manifest-path").arg(worktree_a.join("Cargo.toml")));
    let checkout = attempt(&mut checkout_command(&fixture, &store, &worktree_b, &[]));
    // What was lost or changed first, then what the user was told.
    assert!(!worktree_b.join("target").exists(), "a failed checkout created B's target");
    unchanged.assert_files(&fixture, &store, "commands on a read-only store");
    mount.remount("remount,rw");
    unchanged.assert_all(&fixture, &store, "commands on a read-only store");
    crate::support::assert_store_consistent(&fixture, &store, "the store after the test");
    assert_error(&ingest, "ingest into a read-only store", &[&store], &[&["read-only"]]);
    assert_error(&checkout, "checkout from a read-only store", &[&store], &[&["read-only"]]);
    let filters = Filters::of(&fixture);
    filters.settings().bind(|| insta::assert_snapshot!(render(&ingest), @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: ingest failed
      caused by: cannot write `[STORE]/.lock`: the filesystem is read-only
    hint: cargo-store needs a writable store: remount it read-write, or use another store with `--store DIR` or CARGO_STORE_DIR
    "));
    filters.settings().bind(|| insta::assert_snapshot!(render(&checkout), @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: checkout failed
      caused by: cannot write `[STORE]/.lock`: the filesystem is read-only
    hint: cargo-store needs a writable store: remount it read-write, or use another store with `--store DIR` or CARGO_STORE_DIR
    "));
}

/// Garbage where the index was: not an SQLite file at all.
fn garbage() -> Vec<u8> {
    (0..64 * 1024u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

#[test]
fn a_corrupt_index_fails_every_command_and_says_how_to_rebuild_it() {
    let fixture = ingested();
    let store = fixture.store();
    let worktree_b = fixture.add_worktree("b");
    let unchanged = Unchanged::record(&fixture, &store);
    let index = store.join("index.sqlite");
    fs::write(&index, garbage()).expect("overwrite the index");
    for suffix in ["-wal", "-shm"] {
        let path = store.join(format!("index.sqlite{suffix}"));
        if let Err(error) = fs::remove_file(&path) {
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "remove {}: {error}", path.display());
        }
    }

    let mut runs = Vec::new();
    for (name, mut command) in store_commands(&fixture, &fixture.worktree_a(), &worktree_b, false) {
        let output = attempt(&mut command);
        assert_error(
            &output,
            &format!("{name} with a corrupt index"),
            &[&index],
            &[&["cargo store repair --rebuild-index"]],
        );
        runs.push((name, output));
    }
    let text = render_each(runs.iter().map(|(name, output)| (*name, output)));
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!("corrupt_index", text));
    assert_eq!(fs::read(&index).expect("read the index"), garbage(), "a failing command rewrote the corrupt index");
    assert!(!worktree_b.join("target").exists(), "a failed checkout created B's target");
    unchanged.assert_files(&fixture, &store, "commands with a corrupt index");

    // The hint works: the rebuilt index serves every unit again.
    run(fixture.cargo_store().args(["repair", "--rebuild-index"]));
    let (objects, units, _roots) = counts_in(&fixture, &store);
    assert_eq!((objects, units), (unchanged.counts.0, unchanged.counts.1), "objects and units after the rebuild");
    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build in B after `cargo store repair --rebuild-index`");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn an_index_from_a_newer_cargo_store_is_refused_with_upgrade_advice() {
    let fixture = ingested();
    let store = fixture.store();
    let worktree_b = fixture.add_worktree("b");
    let unchanged = Unchanged::record(&fixture, &store);
    let index = store.join("index.sqlite");
    let user_version = |connection: &rusqlite::Connection| -> i64 {
        connection.query_row("PRAGMA user_version", [], |row| row.get(0)).expect("read user_version")
    };
    {
        let connection = rusqlite::Connection::open(&index).expect("open the index");
        connection.pragma_update(None, "user_version", 99).expect("set user_version");
        assert_eq!(user_version(&connection), 99);
    }

    let mut runs = Vec::new();
    for (name, mut command) in store_commands(&fixture, &fixture.worktree_a(), &worktree_b, true) {
        let output = attempt(&mut command);
        assert_error(&output, &format!("{name} with schema version 99"), &[&index], &[&["upgrade"]]);
        runs.push((name, output));
    }
    let text = render_each(runs.iter().map(|(name, output)| (*name, output)));
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!("index_from_a_newer_cargo_store", text));
    let connection =
        rusqlite::Connection::open_with_flags(&index, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    assert_eq!(user_version(&connection), 99, "a refusing command changed the schema version");
    assert!(!worktree_b.join("target").exists(), "a refused checkout created B's target");
    unchanged.assert_files(&fixture, &store, "commands with a newer index");
}

#[test]
#[ignore = "needs root"]
fn a_full_disk_during_ingest_fails_and_leaves_a_consistent_store() {
    let fixture = Fixture::new();
    let store = fixture.store();
    // Smaller than the fixture's objects (about 10 MB), large enough for the index.
    let _mount = Mount::tmpfs(&store, "size=3m,mode=0700");
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let target_a = worktree_a.join("target");
    let target_a_before = snapshot_tree(&target_a, is_cargo_bookkeeping);

    let output = attempt(fixture.cargo_store().arg("ingest").arg("--manifest-path").arg(worktree_a.join("Cargo.toml")));
    // What was lost or changed first, then what the user was told.
    assert_tree_unchanged(&target_a_before, &snapshot_tree(&target_a, is_cargo_bookkeeping), "worktree A's target");
    crate::support::assert_store_consistent(&fixture, &store, "the store after the test");
    let status = fixture.status();
    assert_eq!(Path::new(&status.store), store, "{status:#?}");
    run(fixture.cargo_store().args(["verify", "--full"]));
    let stderr = assert_error(&output, "ingest into a full store", &[], &[&["no space left", "disk is full"]]);
    Filters::of(&fixture).settings().bind(|| insta::assert_snapshot!(render(&output), @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: ingest failed
      caused by: no space left on the device of `[STORE]/tmp/[TMP]`
    hint: free some space there, or shrink the store with `cargo store gc --max-size SIZE`; what was being written was left out of the store
    "));
    assert!(
        stderr.contains(&store.display().to_string()) || stderr.contains(&target_a.display().to_string()),
        "the message names no path of the store or of the target: {stderr}"
    );
}

#[test]
fn checkout_from_another_filesystem_copies_and_warns_once() {
    let fixture = Fixture::new();
    let Some((_directory, store)) = store_on_other_filesystem(&fixture) else { return };
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let ingest = ingest_in(&fixture, &store, &worktree_a);
    assert_eq!(ingest.units_added, ELIGIBLE_UNITS, "{ingest:#?}");

    let worktree_b = fixture.add_worktree("b");
    let target_b = worktree_b.join("target");
    let report: CheckoutReport = run_json(&mut checkout_command(&fixture, &store, &worktree_b, &[]));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
    assert_eq!(report.files_hardlinked, 0, "{report:#?}");
    assert!(report.files_copied > 0, "{report:#?}");
    assert_eq!(report.warnings.len(), 1, "one fallback, one warning: {report:#?}");
    let warning = &report.warnings[0];
    for path in [&store, &target_b] {
        assert!(
            warning.contains(&path.display().to_string()),
            "the warning does not name {}: {warning}",
            path.display()
        );
    }

    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build in B after a checkout from another filesystem");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn strict_hardlinks_across_filesystems_fail_and_replace_nothing() {
    let fixture = Fixture::new();
    let Some((_directory, store)) = store_on_other_filesystem(&fixture) else { return };
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    ingest_in(&fixture, &store, &worktree_a);
    let objects_before = snapshot_tree(&store.join("objects"), |_| false);
    let counts_before = counts_in(&fixture, &store);

    // B's target already holds a file of the user's and one of the files checkout would place.
    let worktree_b = fixture.add_worktree("b");
    let target_b = worktree_b.join("target");
    let deps = Path::new("debug/deps");
    let rlib = fs::read_dir(worktree_a.join("target").join(deps))
        .expect("list A's deps")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .find(|name| name.to_string_lossy().starts_with("libleaf-") && name.to_string_lossy().ends_with(".rlib"))
        .expect("leaf's rlib in A");
    fs::create_dir_all(target_b.join(deps)).expect("create B's deps");
    fs::copy(worktree_a.join("target").join(deps).join(&rlib), target_b.join(deps).join(&rlib)).expect("copy rlib");
    let mtime = filetime::FileTime::from_last_modification_time(
        &fs::metadata(worktree_a.join("target").join(deps).join(&rlib)).expect("stat"),
    );
    filetime::set_file_mtime(target_b.join(deps).join(&rlib), mtime).expect("set the copy's mtime");
    fs::write(target_b.join("debug/notes.txt"), "mine\n").expect("write a user file into B's target");
    let target_b_before = snapshot_tree(&target_b, |_| false);

    let output =
        attempt(&mut checkout_command(&fixture, &store, &worktree_b, &["--link-mode", "hardlink", "--strict"]));
    assert_error(
        &output,
        "checkout --link-mode hardlink --strict across filesystems",
        &[&store, &target_b],
        &[&["hardlink"], &["not possible"]],
    );
    let filters = Filters::new().path(&store, "[STORE]").path(fixture.root(), "[ROOT]");
    filters.settings().bind(|| insta::assert_snapshot!(render(&output), @"
    exit code: 1
    ----- stdout -----

    ----- stderr -----
    error: checkout failed
      caused by: hardlink is not possible from `[STORE]` to `[ROOT]/b/target`: Invalid cross-device link (os error 18)
    hint: drop `--strict` to fall back to copy, or put the store on the same filesystem as the worktree (`--store` or CARGO_STORE_DIR)
    "));

    let target_b_after = snapshot_tree(&target_b, |_| false);
    let replaced: Vec<String> = tree_changes(&target_b_before, &target_b_after)
        .into_iter()
        .filter(|change| !change.starts_with("added: "))
        .collect();
    assert!(replaced.is_empty(), "a failed checkout replaced or removed files of B's target:\n{}", replaced.join("\n"));
    // Observed and accepted: the files placed in parallel before the first hard link failed
    // (private copies of metadata and OUT_DIR files, about 40) stay. They must be exactly what
    // a checkout places, so that following the hint, without `--strict`, finishes the job.
    let added = tree_changes(&target_b_before, &target_b_after).len();
    eprintln!("a failed strict checkout left {added} new files in B's target");
    assert_tree_unchanged(&objects_before, &snapshot_tree(&store.join("objects"), |_| false), "the store's objects/");
    let counts_after = counts_in(&fixture, &store);
    assert_eq!((counts_after.0, counts_after.1), (counts_before.0, counts_before.1), "objects and units");

    let report: CheckoutReport =
        run_json(&mut checkout_command(&fixture, &store, &worktree_b, &["--link-mode", "hardlink"]));
    assert!(report.conflicts.is_empty(), "the failed checkout left files a checkout does not place: {report:#?}");
    assert_eq!(report.units_placed + report.units_present, ELIGIBLE_UNITS, "{report:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build in B after a failed strict checkout and a checkout without --strict");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn symlinks_out_of_the_target_are_neither_followed_nor_stored_nor_placed() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let outside = fixture.root().join("outside");
    let secret = b"outside the target directory: never store this\n";
    fs::create_dir_all(outside.join("directory")).expect("create the outside directory");
    fs::write(outside.join("secret.txt"), secret).expect("write the outside file");
    fs::write(outside.join("directory/inner.txt"), secret).expect("write the file in the outside directory");
    let outside_before = snapshot_tree(&outside, |_| false);
    let out = native_run_unit(&worktree_a).join("out");
    symlink(outside.join("secret.txt"), out.join("link-to-file")).expect("symlink to the outside file");
    symlink(outside.join("directory"), out.join("link-to-directory")).expect("symlink to the outside directory");

    let output =
        run(fixture.cargo_store().args(["ingest", "--json", "--manifest-path"]).arg(worktree_a.join("Cargo.toml")));
    let count: SymlinkCount = serde_json::from_slice(&output.stdout).expect("the ingest report");
    assert_eq!(count.symlinks_ignored, 2, "{}", printed(&output));
    assert_tree_unchanged(&outside_before, &snapshot_tree(&outside, |_| false), "the files outside the target");
    let objects = snapshot_tree(&fixture.store().join("objects"), |_| false);
    for (path, state) in &objects {
        let stored = fs::read(fixture.store().join("objects").join(path)).expect("read an object");
        assert_ne!(stored, secret, "the outside file was stored as {path:?} ({state:?})");
    }

    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &[]);
    let target_b = worktree_b.join("target");
    for entry in walkdir::WalkDir::new(&target_b).follow_links(false) {
        let entry = entry.expect("walk B's target");
        let name = entry.file_name().to_string_lossy();
        assert!(!entry.path_is_symlink(), "checkout placed a symlink: {}", entry.path().display());
        assert!(!name.starts_with("link-to-"), "checkout placed {}", entry.path().display());
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).expect("read a file of B's target");
            assert_ne!(bytes, secret, "checkout placed a copy of the outside file at {}", entry.path().display());
        }
    }
    assert_tree_unchanged(&outside_before, &snapshot_tree(&outside, |_| false), "the files outside the target");
}

#[test]
fn ingest_during_a_build_stores_only_consistent_units() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    // Each build flips native's flavor, so cargo reruns its build script and rebuilds its lib
    // and app in place while ingest reads the same target directory.
    let flavors = ["other", "", "other"];
    let mut ingests = 0;
    for flavor in flavors {
        let mut build = fixture.build_command(&worktree_a, BuildMode::LEGACY_DEV);
        build.env("NATIVE_FLAVOR", flavor);
        let build = std::thread::spawn(move || Build::run(&mut build));
        loop {
            let finished = build.is_finished();
            let output = attempt(
                fixture
                    .cargo_store()
                    .args(["ingest", "--json", "--no-gc", "--manifest-path"])
                    .arg(worktree_a.join("Cargo.toml")),
            );
            ingests += 1;
            assert!(output.status.success(), "ingest during a build failed\n{}", printed(&output));
            let report: IngestReport = serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|error| panic!("no ingest report: {error}\n{}", printed(&output)));
            assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
            if finished {
                break;
            }
        }
        let built = build.join().expect("the build thread panicked");
        let expected = if flavor == "other" { EXPECTED_OUTPUT_OTHER_FLAVOR } else { EXPECTED_OUTPUT };
        assert_eq!(built.run_app(), expected, "app in A after the build with NATIVE_FLAVOR={flavor:?}");
    }
    eprintln!("{ingests} ingests ran during {} builds", flavors.len());
    crate::support::assert_store_consistent(&fixture, &fixture.store(), "the store after the test");
    // Every stored object still hashes to its name: nothing was stored half-rewritten.
    run(fixture.cargo_store().args(["verify", "--full"]));

    let worktree_c = fixture.add_worktree("c");
    fixture.checkout(&worktree_c, &[]);
    let mut build = fixture.build_command(&worktree_c, BuildMode::LEGACY_DEV);
    build.env("NATIVE_FLAVOR", "other");
    let built = Build::run(&mut build);
    assert_eq!(built.run_app(), EXPECTED_OUTPUT_OTHER_FLAVOR, "{}", built.explain("ran with a wrong result", "C"));
}

#[test]
fn a_file_name_that_is_not_utf8_survives_ingest_and_checkout() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let unit = native_run_unit(&worktree_a);
    let name = OsStr::from_bytes(b"caf\xe9.bin");
    let file = unit.join("out").join(name);
    let contents = b"a file whose name is Latin-1\n";
    fs::write(&file, contents).expect("write the non-UTF-8 file");
    let neighbour = fs::metadata(unit.join("out/generated.rs")).expect("stat generated.rs");
    let mtime = filetime::FileTime::from_last_modification_time(&neighbour);
    filetime::set_file_mtime(&file, mtime).expect("give it its neighbour's mtime");

    let ingest = fixture.ingest(&worktree_a);
    assert_eq!(ingest.units_added, ELIGIBLE_UNITS, "{ingest:#?}");
    let worktree_b = fixture.add_worktree("b");
    let checkout = fixture.checkout(&worktree_b, &[]);
    assert!(checkout.conflicts.is_empty(), "{checkout:#?}");

    let relative = unit.strip_prefix(&worktree_a).expect("the unit is in A");
    let placed = worktree_b.join(relative).join("out").join(name);
    let metadata = fs::symlink_metadata(&placed)
        .unwrap_or_else(|error| panic!("{} was not placed: {error}\n{checkout:#?}", placed.display()));
    assert!(metadata.is_file(), "{} is not a regular file", placed.display());
    assert_eq!(fs::read(&placed).expect("read the placed file"), contents);
    assert_eq!(filetime::FileTime::from_last_modification_time(&metadata), mtime, "{}", placed.display());
}
