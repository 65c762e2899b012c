//! One store for several projects: the same units built by two projects at different times,
//! ingested in either order, must give every new worktree of either project a build that
//! recompiles no dependency, and the store must heal from the order that used to break it.
//!
//! The two projects share `leaf`, `mid`, `pm` and `native` and differ in one leaf crate of
//! their lock files (`extra` 1.0.0 or 1.0.1), so `top`, which depends on `mid` and `extra`, is
//! another unit in each. The project built second has newer copies of the shared units.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, Fixture, PROJECT_DEPENDENCIES, PROJECT_OUTPUT};
use crate::reports::CheckoutReport;

/// The fixture with two projects built one after the other: `older` (extra 1.0.0), then
/// `newer` (extra 1.0.1), whose copies of the shared units are later.
fn two_projects() -> (Fixture, PathBuf, PathBuf) {
    let fixture = Fixture::new();
    // Paths of other lengths, as real projects have: `deps/*.d` names the target directory, so
    // the same unit's files differ in size from one project to the other.
    let older = fixture.add_project("old-project", "1.0.0");
    let newer = fixture.add_project("newer", "1.0.1");
    fixture.build(&older, BuildMode::LEGACY_DEV);
    fixture.build(&newer, BuildMode::LEGACY_DEV);
    (fixture, older, newer)
}

/// Checks out a new worktree of `repository`, builds it, and asserts that no dependency unit
/// was compiled; returns the checkout's report.
fn new_worktree_is_fresh(fixture: &Fixture, repository: &Path, name: &str, output: u32) -> CheckoutReport {
    let worktree = fixture.add_worktree_of(repository, name);
    let report = fixture.checkout(&worktree, &[]);
    let build = fixture.build(&worktree, BuildMode::LEGACY_DEV);
    build.assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, &format!("new worktree {name}"));
    assert_eq!(build.run_binary("tool"), output, "{name}");
    report
}

#[test]
fn newer_project_ingested_first_gives_fresh_worktrees_of_both() {
    let (fixture, older, newer) = two_projects();
    let first = fixture.ingest(&newer);
    assert_eq!(first.units_retimed, 0, "{first:#?}");
    // The older project's copies of the shared units are older: the store takes their times,
    // so that the older project's own units are not older than their stored dependencies.
    let second = fixture.ingest(&older);
    assert!(second.units_retimed > 0, "{second:#?}");
    assert_eq!(second.units_retime_deferred, 0, "{second:#?}");

    let report = new_worktree_is_fresh(&fixture, &older, "older-2", PROJECT_OUTPUT);
    assert_eq!(report.units_retimed, 0, "the store is consistent, nothing needs later times: {report:#?}");
    let report = new_worktree_is_fresh(&fixture, &newer, "newer-2", PROJECT_OUTPUT + 1);
    assert_eq!(report.units_retimed, 0, "{report:#?}");
    // An older copy of a dependency never makes a dependent stale: the first ingest's own
    // worktree still builds fresh.
    fixture.build(&newer, BuildMode::LEGACY_DEV).assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, "newer");
    // And nothing more to do on a second ingest of either.
    for project in [&older, &newer] {
        let again = fixture.ingest(project);
        assert_eq!((again.units_added, again.units_retimed), (0, 0), "{again:#?}");
    }
}

#[test]
fn older_project_ingested_first_gives_fresh_worktrees_of_both() {
    let (fixture, older, newer) = two_projects();
    fixture.ingest(&older);
    let second = fixture.ingest(&newer);
    // Newer copies are never taken: the stored ones are consistent already.
    assert_eq!(second.units_retimed, 0, "{second:#?}");
    for (project, name, output) in [(&older, "older-2", PROJECT_OUTPUT), (&newer, "newer-2", PROJECT_OUTPUT + 1)] {
        let report = new_worktree_is_fresh(&fixture, project, name, output);
        assert_eq!(report.units_retimed, 0, "{report:#?}");
    }
}

#[test]
fn a_store_in_the_bad_order_heals() {
    let (fixture, older, newer) = two_projects();
    fixture.ingest(&newer);
    // Another command holds the store while the older project is ingested: its units go in,
    // but the shared units keep the newer times (the state older versions of cargo-store
    // left behind in this order).
    let held = File::open(fixture.store().join(".lock")).expect("open the store lock");
    held.lock_shared().expect("hold the store lock");
    let deferred = fixture.ingest(&older);
    assert!(deferred.units_retime_deferred > 0, "{deferred:#?}");
    assert_eq!(deferred.units_retimed, 0, "{deferred:#?}");

    // A checkout still gives a build that recompiles nothing: `top` is older than the stored
    // `mid`, so it is placed as a private copy with later times.
    let worktree = fixture.add_worktree_of(&older, "older-2");
    let report = fixture.checkout(&worktree, &[]);
    assert_eq!(report.units_retimed, 1, "{report:#?}");
    let build = fixture.build(&worktree, BuildMode::LEGACY_DEV);
    build.assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, "checkout from the bad store");
    assert_eq!(build.run_binary("tool"), PROJECT_OUTPUT);
    drop(held);

    // Ingesting that worktree heals the store from the copies it holds: later times, but
    // consistent ones. The next worktree needs no private copies.
    let healed = fixture.ingest(&worktree);
    assert!(healed.units_retimed > 0, "{healed:#?}");
    let report = new_worktree_is_fresh(&fixture, &older, "older-3", PROJECT_OUTPUT);
    assert_eq!(report.units_retimed, 0, "{report:#?}");
    assert!(report.files_hardlinked > 0, "{report:#?}");
    let report = new_worktree_is_fresh(&fixture, &newer, "newer-2", PROJECT_OUTPUT + 1);
    assert_eq!(report.units_retimed, 0, "{report:#?}");
}

#[test]
fn a_worktree_that_built_the_units_itself_has_no_conflicts() {
    let (fixture, older, newer) = two_projects();
    fixture.ingest(&newer);
    // The older project built the shared units itself: same bytes, other mtimes. They are
    // "built here", never conflicts, and nothing of them is touched.
    let before = crate::support::snapshot_tree(&older.join("target"), |_| false);
    let report = fixture.checkout(&older, &[]);
    assert!(report.conflicts.is_empty(), "{report:#?}");
    assert!(report.units_built_here >= 4, "{report:#?}");
    assert_eq!(report.units_placed, 0, "{report:#?}");
    assert_eq!(
        crate::support::snapshot_tree(&older.join("target"), |_| false),
        before,
        "checkout changed a file built here"
    );
    fixture.build(&older, BuildMode::LEGACY_DEV).assert_no_dependency_recompiled(&PROJECT_DEPENDENCIES, "older");
}

#[test]
fn checkout_places_the_variants_this_repository_builds() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    // Another repository built the same packages with other RUSTFLAGS: other units of the same
    // packages, in the same profile directory.
    let other = fixture.root().join("other");
    crate::support::run(fixture.git(fixture.root()).arg("clone").arg("--quiet").arg(&worktree_a).arg(&other));
    let mut variant = fixture.build_command(&other, BuildMode::LEGACY_DEV);
    variant.env("RUSTFLAGS", "--cfg=cargo_store_variant");
    crate::fixture::Build::run(&mut variant);
    fixture.ingest(&other);
    assert_eq!(fixture.status().units, 2 * ELIGIBLE_UNITS);

    // A new worktree of A gets A's variants only: the ones its next build uses.
    let worktree_b = fixture.add_worktree("b");
    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
    assert_eq!(report.units_other_variants, ELIGIBLE_UNITS, "{report:#?}");
    fixture.build(&worktree_b, BuildMode::LEGACY_DEV).assert_dependencies_fresh("B");
    // A new worktree of the other repository gets its variants, built with its RUSTFLAGS.
    let other_b = fixture.add_worktree_of(&other, "other-b");
    let report = fixture.checkout(&other_b, &[]);
    assert_eq!((report.units_placed, report.units_other_variants), (ELIGIBLE_UNITS, ELIGIBLE_UNITS), "{report:#?}");
    let mut build = fixture.build_command(&other_b, BuildMode::LEGACY_DEV);
    build.env("RUSTFLAGS", "--cfg=cargo_store_variant");
    crate::fixture::Build::run(&mut build).assert_dependencies_fresh("other-b");
}

/// `--explain` tells the packages a build here never compiles from the ones it lacks.
#[test]
fn explain_tells_other_platforms_and_dev_dependencies_from_missing_units() {
    let (fixture, older, _newer) = two_projects();
    fixture.ingest(&older);
    let worktree = fixture.add_worktree_of(&older, "older-2");
    let report: serde_json::Value = crate::support::run_json(
        fixture
            .cargo_store()
            .args(["checkout", "--dry-run", "--explain", "--json", "--manifest-path"])
            .arg(worktree.join("Cargo.toml")),
    );
    let verdict = |name: &str| -> String {
        report["explanations"]
            .as_array()
            .expect("explanations")
            .iter()
            .find(|explanation| {
                explanation["package"].as_str().is_some_and(|package| package.starts_with(&format!("{name} ")))
            })
            .and_then(|explanation| explanation["verdict"].as_str())
            .unwrap_or_else(|| panic!("no explanation for {name}: {report:#}"))
            .to_owned()
    };
    assert_eq!(verdict("winonly"), "other-platform", "{report:#}");
    assert_eq!(verdict("devonly"), "dev-only", "{report:#}");
    for package in PROJECT_DEPENDENCIES {
        assert_eq!(verdict(package), "placed", "{package}: {report:#}");
    }
    assert_eq!(verdict("tool"), "workspace-member", "{report:#}");
}

/// A dependency only tests use is placed where this repository's worktrees run the tests,
/// and left out where they only build.
#[test]
fn dev_dependencies_are_placed_only_where_the_repository_builds_tests() {
    let (fixture, older, newer) = two_projects();
    let mut tests = fixture.cargo(&newer);
    tests.args(["test", "--no-run", "--locked", "--offline"]);
    crate::support::run(&mut tests);
    fixture.ingest(&older);
    fixture.ingest(&newer);

    let report = new_worktree_is_fresh(&fixture, &older, "older-2", PROJECT_OUTPUT);
    assert_eq!(report.units_not_built_here, 1, "devonly is not placed where only `cargo build` runs: {report:#?}");
    let worktree = fixture.add_worktree_of(&newer, "newer-2");
    let report = fixture.checkout(&worktree, &[]);
    assert_eq!(report.units_not_built_here, 0, "{report:#?}");
    let mut tests = fixture.cargo(&worktree);
    tests.args(["test", "--no-run", "--locked", "--offline", "--message-format=json"]);
    let build = crate::fixture::Build::run(&mut tests);
    let devonly = build.units.iter().find(|unit| unit.package() == "devonly").expect("devonly was built");
    assert!(devonly.fresh, "the tests' dev-dependency was placed: {report:#?}");
}
