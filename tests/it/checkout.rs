//! Checkout behaviour a user relies on beyond freshness: a file that is already there with
//! other contents is reported and never overwritten (and its unit and dependents are left
//! out), `--link-mode copy` shares no inode with the store, a target directory created by
//! checkout is tagged as a cache, cargo's own hard links inside a unit are recreated, and on a
//! reflink-capable filesystem (`CARGO_STORE_TEST_REFLINK_DIR`) `--link-mode reflink --strict`
//! reflinks and still gives an all-fresh build.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::support::snapshot_tree;

/// The first file under `directory` (recursively) whose name satisfies `matches`.
fn find_file(directory: &Path, matches: impl Fn(&str) -> bool) -> PathBuf {
    walkdir::WalkDir::new(directory)
        .into_iter()
        .filter_map(Result::ok)
        .find(|entry| entry.file_type().is_file() && matches(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.into_path())
        .unwrap_or_else(|| panic!("no matching file under {}", directory.display()))
}

#[test]
fn an_existing_different_file_is_reported_and_never_overwritten() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);

    let worktree_b = fixture.add_worktree("b");
    let original =
        find_file(&worktree_a.join("target/debug/deps"), |name| name.starts_with("libmid-") && name.ends_with(".rlib"));
    let relative = original.strip_prefix(worktree_a.join("target")).expect("inside A's target");
    let squatter = worktree_b.join("target").join(relative);
    fs::create_dir_all(squatter.parent().expect("parent")).expect("create B's deps");
    fs::write(&squatter, b"not an rlib").expect("write the squatting file");

    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.conflicts, vec![relative.to_string_lossy().into_owned()], "{report:#?}");
    assert_eq!(fs::read(&squatter).expect("read"), b"not an rlib", "checkout overwrote an existing file");
    // mid is left out, and so is gitdep, which depends on it; the other units are placed.
    assert_eq!(report.units_skipped, 2, "{report:#?}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS - 2, "{report:#?}");
    let gitdep = worktree_b.join("target/debug/.fingerprint");
    let placed_gitdep = fs::read_dir(&gitdep)
        .expect("fingerprints were placed")
        .filter_map(Result::ok)
        .any(|entry| entry.file_name().to_string_lossy().starts_with("gitdep-"));
    assert!(!placed_gitdep, "a unit depending on a conflicting unit was placed");
}

#[test]
fn copy_mode_shares_no_inode_and_builds_fresh() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");

    let report = fixture.checkout(&worktree_b, &["--link-mode", "copy"]);
    assert_eq!(report.files_hardlinked, 0, "{report:#?}");
    assert_eq!(report.files_reflinked, 0, "{report:#?}");
    assert!(report.files_copied > 0, "{report:#?}");
    let store_inodes: std::collections::BTreeSet<u64> =
        snapshot_tree(&fixture.store().join("objects"), |_| false).values().map(|state| state.inode).collect();
    for (path, state) in snapshot_tree(&worktree_b.join("target"), |_| false) {
        assert!(!store_inodes.contains(&state.inode), "{} shares its inode with the store", path.display());
    }

    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build in B after a copy checkout");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn a_created_target_is_tagged_and_cargo_hard_links_are_recreated() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    assert!(!worktree_b.join("target").exists());

    let report = fixture.checkout(&worktree_b, &[]);
    assert!(report.units_placed > 0, "{report:#?}");
    let tag = fs::read_to_string(worktree_b.join("target/CACHEDIR.TAG")).expect("CACHEDIR.TAG in the new target");
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"), "{tag}");

    // `build-script-build` is a hard link cargo makes to `build_script_build-<hash>`.
    let script = find_file(&worktree_b.join("target/debug/build"), |name| name == "build-script-build");
    let twin = find_file(script.parent().expect("unit directory"), |name| {
        name.starts_with("build_script_build-") && !name.ends_with(".d")
    });
    let (script, twin) = (fs::metadata(&script).expect("stat"), fs::metadata(&twin).expect("stat"));
    assert_eq!(script.ino(), twin.ino(), "the build script and its twin are no longer one inode");
}

/// Needs `CARGO_STORE_TEST_REFLINK_DIR`, a directory on a reflink-capable filesystem (XFS with
/// `reflink=1`, Btrfs), so it is ignored unless asked for; `.ci/run` mounts a small XFS image
/// for it and runs it with the other ignored tests.
#[test]
#[ignore = "needs CARGO_STORE_TEST_REFLINK_DIR on XFS (reflink=1) or Btrfs"]
fn reflink_mode_reflinks_on_a_capable_filesystem() {
    let directory = std::env::var_os("CARGO_STORE_TEST_REFLINK_DIR").unwrap_or_else(|| {
        panic!("set CARGO_STORE_TEST_REFLINK_DIR to a directory on XFS (reflink=1) or Btrfs to run this test")
    });
    let fixture = Fixture::new_in(Path::new(&directory));
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");

    let report = fixture.checkout(&worktree_b, &["--link-mode", "reflink", "--strict"]);
    assert!(report.files_reflinked > 0, "{report:#?}");
    assert_eq!(report.files_hardlinked, 0, "{report:#?}");
    assert!(report.warnings.is_empty(), "{report:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build in B after a reflink checkout");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

/// What `cargo metadata` said is remembered between commands; a change cargo would see (here a
/// new `.cargo/config.toml` moving the target directory) must be seen too.
#[test]
fn a_changed_cargo_configuration_is_seen_by_the_next_checkout() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let first: crate::reports::CheckoutReport =
        crate::support::run_json(fixture.cargo_store().current_dir(&worktree_b).args(["checkout", "--json"]));
    assert_eq!(Path::new(&first.target_directory), worktree_b.join("target"));

    fs::create_dir_all(worktree_b.join(".cargo")).expect("create .cargo");
    fs::write(worktree_b.join(".cargo/config.toml"), "[build]\ntarget-dir = \"elsewhere\"\n").expect("write config");
    // Cargo reads its configuration from the current directory, so run from inside B.
    let second: crate::reports::CheckoutReport =
        crate::support::run_json(fixture.cargo_store().current_dir(&worktree_b).args(["checkout", "--json"]));
    assert_eq!(Path::new(&second.target_directory), worktree_b.join("elsewhere"), "{second:#?}");
    assert_eq!(second.units_placed, ELIGIBLE_UNITS, "{second:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build into the configured target directory");
}

/// `--explain` says, per package of the lock file, why it was placed or not.
#[test]
fn explain_says_why_each_package_was_placed_or_not() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let worktree_b = fixture.add_worktree("b");
    let verdicts = |report: &serde_json::Value| -> std::collections::BTreeMap<String, String> {
        report["explanations"]
            .as_array()
            .expect("explanations")
            .iter()
            .map(|explanation| {
                let package = explanation["package"].as_str().expect("package");
                let name = package.split(' ').next().expect("a name").to_owned();
                (name, explanation["verdict"].as_str().expect("verdict").to_owned())
            })
            .collect()
    };
    let explain = || -> serde_json::Value {
        crate::support::run_json(
            fixture
                .cargo_store()
                .args(["checkout", "--dry-run", "--explain", "--json", "--manifest-path"])
                .arg(worktree_b.join("Cargo.toml")),
        )
    };

    let before = verdicts(&explain());
    for package in ["leaf", "mid", "pm", "native", "gitdep"] {
        assert_eq!(before[package], "not-stored", "{before:#?}");
    }
    assert_eq!(before["app"], "workspace-member", "{before:#?}");
    assert_eq!(before["localdep"], "workspace-member", "{before:#?}");

    fixture.ingest(&worktree_a);
    let after = verdicts(&explain());
    for package in ["leaf", "mid", "pm", "native", "gitdep"] {
        assert_eq!(after[package], "placed", "{after:#?}");
    }
    fixture.checkout(&worktree_b, &[]);
    let again = verdicts(&explain());
    assert_eq!(again["native"], "present", "{again:#?}");
}

/// While cargo holds a profile directory's build lock, checkout says so and writes nothing,
/// instead of reporting cargo's half-written files as conflicts.
#[test]
fn checkout_refuses_while_cargo_builds_there() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let profile = worktree_b.join("target/debug");
    fs::create_dir_all(&profile).expect("create the profile directory");
    let lock = fs::File::create(profile.join(".cargo-lock")).expect("create cargo's lock");
    lock.lock().expect("hold the lock as cargo does");
    let output = fixture
        .cargo_store()
        .args(["checkout", "--manifest-path"])
        .arg(worktree_b.join("Cargo.toml"))
        .output()
        .expect("run checkout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cargo is building in") && stderr.contains(".cargo-lock"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(fs::read_dir(&profile).expect("read").count(), 1, "checkout wrote into a directory cargo builds in");
    drop(lock);
    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
}

/// The bytes a dry run announces are the bytes the checkout places, and the bytes `roots`
/// shows for the worktree: cargo's second name of a build script (a hard link within the unit)
/// is counted once.
#[test]
fn dry_run_checkout_and_roots_count_the_same_bytes() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let planned = fixture.checkout(&worktree_b, &["--dry-run"]);
    let placed = fixture.checkout(&worktree_b, &[]);
    assert!(placed.files_linked_within_units > 0, "{placed:#?}");
    assert_eq!(planned.bytes, placed.bytes, "{planned:#?}\n{placed:#?}");
    let roots: crate::reports::RootsReport = crate::support::run_json(fixture.cargo_store().args(["roots", "--json"]));
    let root = roots
        .roots
        .iter()
        .find(|root| Path::new(&root.path) == worktree_b.join("target"))
        .unwrap_or_else(|| panic!("B is not a root: {roots:#?}"));
    assert_eq!(root.bytes, placed.bytes, "{roots:#?}\n{placed:#?}");
}

/// Two checkouts racing into one worktree place every file once between them: each reports
/// only what it placed itself, and the worktree builds fresh.
#[test]
fn concurrent_checkouts_of_one_worktree_place_each_file_once() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let alone = fixture.checkout(&fixture.add_worktree("alone"), &[]);
    let worktree_b = fixture.add_worktree("b");
    let spawn = || {
        fixture
            .cargo_store()
            .args(["checkout", "--json", "--manifest-path"])
            .arg(worktree_b.join("Cargo.toml"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start checkout")
    };
    let (first, second) = (spawn(), spawn());
    let reports: Vec<crate::reports::CheckoutReport> = [first, second]
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("wait for checkout");
            assert!(output.status.success(), "{}", crate::support::printed(&output));
            serde_json::from_slice(&output.stdout).expect("a checkout report")
        })
        .collect();
    let placed: u64 = reports.iter().map(|report| report.files_placed()).sum();
    assert_eq!(placed, alone.files_placed(), "{reports:#?}");
    assert!(reports.iter().map(|report| report.units_placed).sum::<u64>() >= ELIGIBLE_UNITS, "{reports:#?}");
    fixture.build(&worktree_b, BuildMode::LEGACY_DEV).assert_dependencies_fresh("B after two checkouts");
}
