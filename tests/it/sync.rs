//! Sync: a checkout first ingests what the repository's other worktrees built, so a worktree
//! made right after a build (with nobody running `cargo store ingest`) is warm, also after a
//! lock file bump; a sibling where cargo is building is skipped without waiting; `--no-sync`
//! reads no sibling; and a sync never writes into a sibling's target directory.

use std::fs;

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, Fixture, PROJECT_DEPENDENCIES, PROJECT_OUTPUT};
use crate::support::{run, snapshot_tree};

#[test]
fn a_worktree_added_after_a_build_is_warm_without_any_ingest() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let before = snapshot_tree(&worktree_a.join("target"), |_| false);
    // The hook runs `cargo store checkout` during `git worktree add`.
    run(fixture.cargo_store().args(["hook", "install", "--repository"]).arg(&worktree_a));
    let worktree_b = fixture.add_worktree("b");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("a worktree added after a build that nobody ingested");
    assert_eq!(snapshot_tree(&worktree_a.join("target"), |_| false), before, "the sync wrote into A's target");

    // Nothing changed in A since: the next checkout reads no sibling's units again.
    let report = fixture.checkout(&fixture.add_worktree("c"), &[]);
    let sync = report.sync.expect("a sync report");
    assert_eq!((sync.worktrees_synced, sync.units_added), (0, 0), "{sync:#?}");
    assert!(sync.worktrees_checked >= 2, "{sync:#?}");
}

#[test]
fn a_lock_file_bump_built_in_the_main_worktree_reaches_the_next_worktree() {
    let fixture = Fixture::new();
    let project = fixture.add_project("project", "1.0.0");
    fixture.build(&project, BuildMode::LEGACY_DEV);
    run(fixture.cargo_store().args(["hook", "install", "--repository"]).arg(&project));
    let first = fixture.add_worktree_of(&project, "first");
    fixture.build(&first, BuildMode::LEGACY_DEV).assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, "first");

    // Bump `extra` in the main worktree, build, commit; nobody ingests.
    let manifest = project.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("read the manifest");
    fs::write(&manifest, text.replace("extra = \"=1.0.0\"", "extra = \"=1.0.1\"")).expect("bump extra");
    run(fixture.cargo(&project).args(["build", "--offline"]));
    run(fixture.git(&project).args(["commit", "--quiet", "--all", "--message", "bump extra"]));
    let second = fixture.add_worktree_of(&project, "second");
    let build = fixture.build(&second, BuildMode::LEGACY_DEV);
    build.assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, "a worktree after a lock bump");
    assert_eq!(build.run_binary("tool"), PROJECT_OUTPUT + 1);
}

#[test]
fn a_sibling_where_cargo_builds_is_skipped_without_waiting() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let lock = fs::File::open(worktree_a.join("target/debug/.cargo-lock")).expect("cargo's lock");
    lock.lock().expect("hold the lock as cargo does");
    let worktree_b = fixture.add_worktree("b");
    let report = fixture.checkout(&worktree_b, &[]);
    let sync = report.sync.clone().expect("a sync report");
    assert_eq!(sync.busy, vec![worktree_a.join("target/debug/.cargo-lock")], "{sync:#?}");
    assert_eq!((sync.worktrees_synced, report.units_placed), (0, 0), "{report:#?}");
    drop(lock);
    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
}

#[test]
fn no_sync_reads_no_sibling() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let worktree_b = fixture.add_worktree("b");
    let report = fixture.checkout(&worktree_b, &["--no-sync"]);
    assert!(report.sync.is_none(), "{report:#?}");
    assert_eq!(report.units_placed, 0, "{report:#?}");
    assert_eq!(fixture.status().units, 0, "--no-sync ingested a sibling");
}

/// The timer's `gc --auto` first ingests the registered build directories that changed: a
/// build nobody ingested (here a release build in a checked-out worktree) reaches the store.
#[test]
fn the_timer_ingests_registered_roots_before_it_collects() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &["--no-sync"]);
    fixture.build(&worktree_b, BuildMode::LEGACY_RELEASE);
    let report: serde_json::Value = crate::support::run_json(fixture.cargo_store().args(["gc", "--auto", "--json"]));
    assert_eq!(report["refreshed"]["units_added"], ELIGIBLE_UNITS, "{report:#}");
    assert_eq!(fixture.status().units, 2 * ELIGIBLE_UNITS, "{report:#}");
    // What the timer's log shows.
    let output = run(fixture.cargo_store().args(["gc", "--auto"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Ingested 0 of 2 registered build directories that changed"), "{stdout}");
    let release = fixture.add_worktree("c");
    fixture.checkout(&release, &["--no-sync"]);
    fixture.build(&release, BuildMode::LEGACY_RELEASE).assert_dependencies_fresh("release units the timer stored");
}

/// What an ingest or a checkout has just seen is not ingested again by the next sync: only a
/// build makes a sibling worth reading.
#[test]
fn a_sync_reads_only_siblings_that_built_since() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let first = fixture.checkout(&worktree_b, &[]).sync.expect("a sync report");
    assert_eq!((first.worktrees_checked, first.worktrees_synced), (1, 0), "{first:#?}");
    let second = fixture.checkout(&fixture.add_worktree("c"), &[]).sync.expect("a sync report");
    assert_eq!((second.worktrees_checked, second.worktrees_synced), (2, 0), "{second:#?}");
    fixture.build(&worktree_b, BuildMode::LEGACY_RELEASE);
    let third = fixture.checkout(&fixture.add_worktree("d"), &[]).sync.expect("a sync report");
    assert_eq!((third.worktrees_synced, third.units_added), (1, ELIGIBLE_UNITS), "{third:#?}");
    assert!(third.failures.is_empty() && third.busy.is_empty(), "{third:#?}");
}

/// A sibling that builds outside its worktree (CARGO_TARGET_DIR) is not where `git worktree
/// list` suggests; once registered, its build directory is synced from the store's record.
#[test]
fn a_registered_build_directory_outside_its_worktree_is_synced() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let elsewhere = fixture.root().join("b-target");
    let mut checkout = fixture.cargo_store();
    checkout.args(["checkout", "--no-sync", "--json"]).current_dir(&worktree_b).env("CARGO_TARGET_DIR", &elsewhere);
    run(&mut checkout);
    let mut release = fixture.build_command(&worktree_b, BuildMode::LEGACY_RELEASE);
    run(release.env("CARGO_TARGET_DIR", &elsewhere));
    assert!(!worktree_b.join("target").exists(), "the release build went to CARGO_TARGET_DIR");

    let report = fixture.checkout(&fixture.add_worktree("c"), &[]);
    let sync = report.sync.expect("a sync report");
    assert_eq!((sync.worktrees_synced, sync.units_added), (1, ELIGIBLE_UNITS), "{sync:#?}");
    let worktree_d = fixture.add_worktree("d");
    fixture.checkout(&worktree_d, &["--no-sync"]);
    fixture
        .build(&worktree_d, BuildMode::LEGACY_RELEASE)
        .assert_dependencies_fresh("release units synced from b-target");
}
