//! End to end: build in worktree A, `ingest`, add worktree B, `checkout` into B, build B. Every
//! registry and git dependency must then be `Fresh` in B, only the workspace's own crates
//! compile, and the binary prints the right number. Covered for the legacy layout, the new
//! layout (`-Zbuild-dir-new-layout`) and `--release`, with `--manifest-path` and from inside B.
//!
//! `fixture_is_transplantable` guards the fixture itself: a plain `cp -a` of A's target into B
//! must already give all-fresh dependencies, without cargo-store.

use std::path::Path;
use std::process::Command;

use crate::fixture::{BuildMode, EXPECTED_OUTPUT, Fixture};
use crate::reports::{CheckoutReport, IngestReport, REPORT_VERSION};
use crate::support::{run, run_json};

/// How `checkout` finds worktree B.
#[derive(Clone, Copy, Debug)]
enum CheckoutFrom {
    /// `--manifest-path B/Cargo.toml`, run from elsewhere.
    ManifestPath,
    /// No `--manifest-path`, current directory B.
    CurrentDirectory,
}

fn transplant(mode: BuildMode, from: CheckoutFrom) {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let first = fixture.build(&worktree_a, mode);
    assert_eq!(first.run_app(), EXPECTED_OUTPUT, "app built in worktree A");

    let ingest = fixture.ingest(&worktree_a);
    assert_ingested_into_store(&fixture, &ingest, &worktree_a);

    let worktree_b = fixture.add_worktree("b");
    let checkout = match from {
        CheckoutFrom::ManifestPath => fixture.checkout(&worktree_b, &[]),
        CheckoutFrom::CurrentDirectory => {
            let report: CheckoutReport =
                run_json(fixture.cargo_store().args(["checkout", "--json"]).current_dir(&worktree_b));
            assert_eq!(report.version, REPORT_VERSION, "{report:?}");
            report
        }
    };
    let context = format!("build in worktree B after checkout ({mode:?}, {from:?}): {checkout:#?}");
    assert!(checkout.units_placed > 0, "{context}");
    assert!(checkout.files_placed() > 0, "{context}");
    assert!(checkout.bytes > 0, "{context}");
    assert_eq!(Path::new(&checkout.store), fixture.store(), "{context}");
    assert!(checkout.conflicts.is_empty(), "{context}");
    assert!(!checkout.dry_run, "{context}");
    assert_eq!(Path::new(&checkout.target_directory), worktree_b.join("target"), "{context}");

    let second = fixture.build(&worktree_b, mode);
    second.assert_dependencies_fresh(&context);
    second.assert_workspace_compiled(&context);
    assert_eq!(second.run_app(), EXPECTED_OUTPUT, "{context}");
}

/// The report of the first ingest of A names A's directories and the store, and stored units.
fn assert_ingested_into_store(fixture: &Fixture, ingest: &IngestReport, worktree_a: &Path) {
    assert!(ingest.units_added > 0, "{ingest:#?}");
    assert!(ingest.files_added > 0, "{ingest:#?}");
    assert!(ingest.bytes_added > 0, "{ingest:#?}");
    assert_eq!(Path::new(&ingest.store), fixture.store(), "{ingest:#?}");
    assert_eq!(Path::new(&ingest.target_directory), worktree_a.join("target"), "{ingest:#?}");
    assert_eq!(Path::new(&ingest.build_directory), worktree_a.join("target"), "{ingest:#?}");
}

#[test]
fn legacy_layout_dependencies_are_fresh_after_checkout() {
    transplant(BuildMode::LEGACY_DEV, CheckoutFrom::ManifestPath);
}

#[test]
fn checkout_from_inside_the_worktree() {
    transplant(BuildMode::LEGACY_DEV, CheckoutFrom::CurrentDirectory);
}

#[test]
fn new_layout_dependencies_are_fresh_after_checkout() {
    transplant(BuildMode::NEW_LAYOUT_DEV, CheckoutFrom::ManifestPath);
}

#[test]
fn release_dependencies_are_fresh_after_checkout() {
    transplant(BuildMode::LEGACY_RELEASE, CheckoutFrom::ManifestPath);
}

/// Without cargo-store: a copy of A's target that keeps every mtime (`cp -a`) makes B's
/// dependencies fresh. If this fails, the fixture (or cargo) broke, not cargo-store.
fn transplant_by_copy(mode: BuildMode) {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let first = fixture.build(&worktree_a, mode);
    assert!(
        first.units.iter().all(|unit| !unit.fresh),
        "{}",
        first.explain("reused a unit in a fresh fixture", "first build in A")
    );
    for unit in &first.units {
        let expected_source = if unit.package() == "gitdep" {
            "git+"
        } else if unit.is_path_package() {
            "path+"
        } else {
            "registry+"
        };
        assert!(unit.package_id.starts_with(expected_source), "{} is not a {expected_source} package", unit.package_id);
    }
    assert_eq!(first.run_app(), EXPECTED_OUTPUT, "app built in worktree A");

    let worktree_b = fixture.add_worktree("b");
    run(Command::new("cp").arg("-a").arg(worktree_a.join("target")).arg(worktree_b.join("target")));

    let context = format!("build in B with a `cp -a` of A's target ({mode:?})");
    let second = fixture.build(&worktree_b, mode);
    second.assert_dependencies_fresh(&context);
    second.assert_workspace_compiled(&context);
    assert_eq!(second.run_app(), EXPECTED_OUTPUT, "{context}");
}

#[test]
fn fixture_is_transplantable() {
    transplant_by_copy(BuildMode::LEGACY_DEV);
}

#[test]
fn fixture_is_transplantable_in_the_new_layout() {
    transplant_by_copy(BuildMode::NEW_LAYOUT_DEV);
}
