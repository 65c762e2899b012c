//! What a person reads: one run of each command's main cases against the fixture, its exit
//! code, stdout and stderr compared whole with a snapshot ([`cargo_store_snapshot!`]). The
//! behavior behind each line is asserted elsewhere, from the `--json` reports; these catch
//! what only a reader notices: a wrong hint, a cause said twice, a count that is always 0.
//!
//! Each test tells one story on one fixture, since a fixture's build takes seconds: ingest,
//! checkout, status and roots; gc; verify and repair.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fixture::{BuildMode, Fixture};
use crate::snapshot::{Filters, cargo_store_snapshot};
use crate::support::run;

/// `cargo-store <arguments> --manifest-path <worktree>/Cargo.toml`.
fn in_worktree(fixture: &Fixture, worktree: &Path, arguments: &[&str]) -> std::process::Command {
    let mut command = fixture.cargo_store();
    command.args(arguments).arg("--manifest-path").arg(worktree.join("Cargo.toml"));
    command
}

#[test]
fn ingest_checkout_status_and_roots() {
    let fixture = Fixture::new();
    let filters = Filters::of(&fixture);
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);

    cargo_store_snapshot!(filters, &mut in_worktree(&fixture, &worktree_a, &["ingest"]), @"
    exit code: 0
    ----- stdout -----
    Ingested 7 units from `[ROOT]/a/target` in [ELAPSED]: [SIZE] added, [SIZE] deduplicated
      0 units already stored, 48 files hashed, 50 files in new units
      1 unit skipped:
        workspace-member: 1 unit of 1 package (localdep v0.1.0); workspace members are built from the worktree itself

    ----- stderr -----
    ");
    cargo_store_snapshot!(filters, &mut in_worktree(&fixture, &worktree_a, &["ingest"]), @"
    exit code: 0
    ----- stdout -----
    Ingested 0 units from `[ROOT]/a/target` in [ELAPSED]: [SIZE] added, [SIZE] deduplicated
      7 units already stored, 0 files hashed, 0 files in new units
      1 unit skipped:
        workspace-member: 1 unit of 1 package (localdep v0.1.0); workspace members are built from the worktree itself

    ----- stderr -----
    ");

    let worktree_b = fixture.add_worktree("b");
    cargo_store_snapshot!(
        "checkout_dry_run_explain",
        filters,
        &mut in_worktree(&fixture, &worktree_b, &["checkout", "--dry-run", "--explain"])
    );
    // How auto mode places each file depends on the filesystem of the temporary directory
    // (reflinks where it can, then hard links for rustc's outputs, copies for the rest).
    let placed = filters
        .clone()
        .regex(r"\d+ hardlinked, \d+ reflinked, \d+ copied", "[N] hardlinked, [N] reflinked, [N] copied");
    cargo_store_snapshot!(placed, &mut in_worktree(&fixture, &worktree_b, &["checkout"]), @"
    exit code: 0
    ----- stdout -----
    Checked out 7 units into `[ROOT]/b/target` in [ELAPSED] ([SIZE])
      files: [N] hardlinked, [N] reflinked, [N] copied, 1 created, 1 linked within units, 0 already there

    ----- stderr -----
    ");
    cargo_store_snapshot!(filters, &mut in_worktree(&fixture, &worktree_b, &["checkout"]), @"
    exit code: 0
    ----- stdout -----
    Nothing to check out into `[ROOT]/b/target` ([ELAPSED]): 7 units already there

    ----- stderr -----
    ");

    cargo_store_snapshot!(filters, fixture.cargo_store().arg("status"), @"
    exit code: 0
    ----- stdout -----
    store:   [STORE]
    objects: 38 ([SIZE])
    units:   7
    roots:   2

    ----- stderr -----
    ");
    // The size and age columns are right-aligned: their padding depends on the value.
    let roots = filters
        .clone()
        .regex(r" {2,}\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b", "  [SIZE]")
        .regex(r" {2,}(just now|\d+[mhd] ago)\b", "  [TIME]");
    cargo_store_snapshot!(roots, fixture.cargo_store().arg("roots"), @"
    exit code: 0
    ----- stdout -----
    STATE        UNITS       SIZE  LAST USED  PATH
    live             7  [SIZE]  [TIME]  [ROOT]/a/target
    live             7  [SIZE]  [TIME]  [ROOT]/b/target

    ----- stderr -----
    ");
}

/// Seconds since the epoch.
fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

#[test]
fn gc_with_and_without_dry_run() {
    let fixture = Fixture::new();
    let filters = Filters::of(&fixture);
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    // B is checked out, then deleted without a word to the store; A drops `pm` from its
    // target (a unit no stored unit depends on: one that is would be kept with it).
    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &[]);
    fs::remove_dir_all(&worktree_b).expect("delete worktree B");
    run(fixture.git(&worktree_a).args(["worktree", "prune"]));
    run(fixture.cargo(&worktree_a).args(["clean", "--offline", "-p", "pm"]));

    // The next day gc finds B gone, and keeps its root for the grace period: nothing goes.
    let gc_at = |days: i64, arguments: &[&str]| {
        let mut command = fixture.cargo_store();
        command
            .env("CARGO_STORE_TEST_NOW", (now() + days * 86_400).to_string())
            .args(["gc", "--max-age", "7d"])
            .args(arguments);
        command
    };
    cargo_store_snapshot!(filters, &mut gc_at(1, &["--dry-run"]), @"
    exit code: 0
    ----- stdout -----
    Would delete 0 units and 0 files from `[STORE]` in [ELAPSED]: [SIZE] ([SIZE] freed on disk)
      store: [SIZE] -> [SIZE]
      roots: 2 checked, 1 missing (kept for 7 days), 0 dropped, 1 stale reference dropped

    ----- stderr -----
    ");
    cargo_store_snapshot!(filters, &mut gc_at(1, &[]), @"
    exit code: 0
    ----- stdout -----
    Deleted 0 units and 0 files from `[STORE]` in [ELAPSED]: [SIZE] ([SIZE] freed on disk)
      store: [SIZE] -> [SIZE]
      roots: 2 checked, 1 missing (kept for 7 days), 0 dropped, 1 stale reference dropped

    ----- stderr -----
    ");
    // Ten days later B's root is past its grace period, and with it goes the last hold on
    // `pm`, unused for longer than `--max-age`.
    cargo_store_snapshot!(filters, &mut gc_at(10, &["--dry-run"]), @"
    exit code: 0
    ----- stdout -----
    Would delete 1 unit and 4 files from `[STORE]` in [ELAPSED]: [SIZE] ([SIZE] freed on disk)
      units: 1 unused and unreferenced, 0 over the size budget, 0 with a dependency
      store: [SIZE] -> [SIZE]
      cache: 1 file not used for 30 days, or for build directories no longer registered ([SIZE] freed on disk)
      roots: 2 checked, 0 missing (kept for 7 days), 1 dropped, 0 stale references dropped
      dropped root (missing): `[ROOT]/b/target`

    ----- stderr -----
    ");
    cargo_store_snapshot!(filters, &mut gc_at(10, &[]), @"
    exit code: 0
    ----- stdout -----
    Deleted 1 unit and 4 files from `[STORE]` in [ELAPSED]: [SIZE] ([SIZE] freed on disk)
      units: 1 unused and unreferenced, 0 over the size budget, 0 with a dependency
      store: [SIZE] -> [SIZE]
      cache: 1 file not used for 30 days, or for build directories no longer registered ([SIZE] freed on disk)
      roots: 2 checked, 0 missing (kept for 7 days), 1 dropped, 0 stale references dropped
      dropped root (missing): `[ROOT]/b/target`

    ----- stderr -----
    ");
    cargo_store_snapshot!(filters, fixture.cargo_store().arg("status"), @"
    exit code: 0
    ----- stdout -----
    store:   [STORE]
    objects: 34 ([SIZE])
    units:   6
    roots:   1

    ----- stderr -----
    ");
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

/// Overwrites bytes in the middle of a file in place: same size, same inode, a new mtime.
fn damage(path: &Path) {
    let mut permissions = fs::metadata(path).expect("stat").permissions();
    permissions.set_mode(permissions.mode() | 0o200);
    fs::set_permissions(path, permissions).expect("make writable");
    let mut file = fs::OpenOptions::new().write(true).open(path).expect("open for writing");
    let middle = fs::metadata(path).expect("stat").len() / 2;
    file.seek(SeekFrom::Start(middle)).expect("seek");
    file.write_all(b"DAMAGED!").expect("write");
}

#[test]
fn verify_clean_damaged_and_repaired() {
    let fixture = Fixture::new();
    let filters = Filters::of(&fixture);
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);

    cargo_store_snapshot!(filters, fixture.cargo_store().arg("verify"), @"
    exit code: 0
    ----- stdout -----
    Checked 38 objects in `[STORE]` in [ELAPSED] (0 rehashed, [SIZE]): consistent

    ----- stderr -----
    ");

    // The native build script's executable: a copy in the store, so A still has the bytes.
    let script = walkdir::WalkDir::new(worktree_a.join("target/debug/build"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|entry| entry.file_name() == "build-script-build")
        .expect("native's build script")
        .into_path();
    damage(&find_object(&fixture.store(), &fs::read(&script).expect("read the script")));
    cargo_store_snapshot!(filters, fixture.cargo_store().arg("verify"), @"
    exit code: 1
    ----- stdout -----
    Checked 38 objects in `[STORE]` in [ELAPSED] (1 rehashed, [SIZE]): problems remain

    ----- stderr -----
    problem: damaged-object `[STORE]/objects/[HASH].x`: its bytes do not match its hash; moved to `[STORE]/quarantine/[HASH].x.[TIME]`
    hint: run `cargo store verify --repair` to restore or drop what is damaged
    ");
    cargo_store_snapshot!(filters, fixture.cargo_store().args(["verify", "--repair"]), @"
    exit code: 0
    ----- stdout -----
    Checked 38 objects in `[STORE]` in [ELAPSED] (0 rehashed, [SIZE]): consistent
      1 object restored, 0 units dropped, 0 objects recorded anew

    ----- stderr -----
    repaired: missing-object `[STORE]/objects/[HASH].x`: the file is missing; restored from `[ROOT]/a/target/debug/build/native-[HASH]/build-script-build`
    ");
    cargo_store_snapshot!(filters, fixture.cargo_store().args(["verify", "--full"]), @"
    exit code: 0
    ----- stdout -----
    Checked 38 objects in `[STORE]` in [ELAPSED] (38 rehashed, [SIZE]): consistent

    ----- stderr -----
    ");

    fs::remove_file(fixture.store().join("index.sqlite")).expect("delete the index");
    cargo_store_snapshot!(filters, fixture.cargo_store().args(["repair", "--rebuild-index"]), @"
    exit code: 0
    ----- stdout -----
    Rebuilt the index of `[STORE]` in [ELAPSED]: 38 objects, 7 units

    ----- stderr -----
    ");
}
