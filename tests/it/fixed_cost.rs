//! What a checkout into a new worktree costs before it places anything: `cargo metadata` is
//! not asked again for a worktree whose manifests, lock file and configuration have the same
//! contents as one already answered, and `rustc -vV` is remembered per toolchain.

use std::fs;
use std::path::{Path, PathBuf};

use crate::fixture::Fixture;
use crate::reports::CheckoutReport;
use crate::support::{printed, run_json};

/// A `cargo` that counts its runs in `<directory>/cargo-runs` and fails, for `CARGO` (which
/// cargo-store runs for `cargo metadata`).
fn failing_cargo(directory: &Path) -> PathBuf {
    let script = directory.join("failing-cargo/cargo");
    fs::create_dir_all(script.parent().expect("parent")).expect("create the fake cargo's directory");
    let counter = directory.join("cargo-runs");
    fs::write(&script, format!("#!/bin/sh\necho run >> '{}'\necho 'not cargo' >&2\nexit 1\n", counter.display()))
        .expect("write the fake cargo");
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("make the fake cargo executable");
    script
}

fn cargo_runs(directory: &Path) -> usize {
    fs::read_to_string(directory.join("cargo-runs")).map_or(0, |text| text.lines().count())
}

/// `cargo-store checkout --manifest-path <worktree>/Cargo.toml --json` with `CARGO=cargo`.
fn checkout_with_cargo(fixture: &Fixture, worktree: &Path, cargo: &Path) -> std::process::Output {
    let mut command = fixture.cargo_store();
    command.env("CARGO", cargo).arg("checkout").arg("--manifest-path").arg(worktree.join("Cargo.toml")).arg("--json");
    command.output().expect("run cargo-store")
}

#[test]
fn a_new_worktree_with_the_same_files_is_answered_without_cargo() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    // The first checkout creates the store, and keeps cargo's answer once the store is there.
    fixture.checkout(&worktree_a, &[]);
    let cargo = failing_cargo(fixture.root());
    let output = checkout_with_cargo(&fixture, &worktree_a, &cargo);
    assert!(output.status.success(), "the second command of a new store asked cargo: {}", printed(&output));
    assert_eq!(cargo_runs(fixture.root()), 0, "cargo was asked about A again");

    let worktree_b = fixture.add_worktree("b");
    let output = checkout_with_cargo(&fixture, &worktree_b, &cargo);
    assert!(output.status.success(), "{}", printed(&output));
    let report: CheckoutReport = serde_json::from_slice(&output.stdout).expect("a checkout report");
    assert_eq!(Path::new(&report.target_directory), worktree_b.join("target"), "{report:?}");
    assert!(worktree_b.join("target").is_dir(), "the checkout created B's target directory");
    assert_eq!(cargo_runs(fixture.root()), 0, "cargo was asked about B");

    // B's own entry was recorded: asked again, B is still answered without cargo.
    let output = checkout_with_cargo(&fixture, &worktree_b, &cargo);
    assert!(output.status.success(), "{}", printed(&output));
    assert_eq!(cargo_runs(fixture.root()), 0, "cargo was asked about B the second time");

    // `rustc -vV` was remembered too, once for both worktrees.
    let remembered = fs::read_dir(fixture.store().join("cache/rustc")).expect("the rustc cache").count();
    assert_eq!(remembered, 1, "one toolchain, one answer");

    // The fake cargo is the one that would run: without the cache, the checkout fails.
    fs::remove_dir_all(fixture.store().join("cache")).expect("remove the caches");
    let output = checkout_with_cargo(&fixture, &worktree_b, &cargo);
    assert!(!output.status.success(), "{}", printed(&output));
    assert_eq!(cargo_runs(fixture.root()), 1, "{}", printed(&output));
}

#[test]
fn a_new_worktree_with_another_configuration_asks_cargo() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.checkout(&worktree_a, &[]);
    fixture.checkout(&worktree_a, &[]);

    // C builds elsewhere: A's answer, rebased, would name the wrong target directory.
    let worktree_c = fixture.add_worktree("c");
    fs::create_dir_all(worktree_c.join(".cargo")).expect("create C's .cargo");
    fs::write(worktree_c.join(".cargo/config.toml"), "[build]\ntarget-dir = \"elsewhere\"\n")
        .expect("write C's configuration");
    // Cargo reads its configuration from the current directory upwards: run in C.
    let cargo = failing_cargo(fixture.root());
    let mut command = fixture.cargo_store();
    command.current_dir(&worktree_c).env("CARGO", &cargo).args(["checkout", "--json"]);
    let output = command.output().expect("run cargo-store");
    assert!(!output.status.success(), "{}", printed(&output));
    assert_eq!(cargo_runs(fixture.root()), 1, "cargo was not asked about C");

    let report: CheckoutReport = run_json(fixture.cargo_store().current_dir(&worktree_c).args(["checkout", "--json"]));
    assert_eq!(Path::new(&report.target_directory), worktree_c.join("elsewhere"), "{report:?}");
}
