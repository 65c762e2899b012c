//! Eligibility and idempotence: exactly the registry and git units are stored and placed, path
//! packages (`localdep`, a path dependency, and `app`, a workspace member) never are; a second
//! ingest of an unchanged target hashes nothing, a `--dry-run` checkout writes nothing, and a
//! second checkout into a target that already holds the units places nothing and changes no
//! file.

use std::path::Path;

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, Fixture, WORKSPACE_PACKAGES};
use crate::reports::skip_reasons;
use crate::support::{assert_tree_unchanged, is_cargo_bookkeeping, package_name, snapshot_tree};

/// Whether a path inside a target directory belongs to `package`: `app`, `app.d`, `app-<hash>`,
/// `libapp-<hash>.rlib` (legacy layout) or a directory named `app` (new layout).
fn belongs_to(relative: &Path, package: &str) -> bool {
    relative.components().any(|component| {
        let component = component.as_os_str().to_string_lossy();
        let library = format!("lib{package}");
        [package, library.as_str()].into_iter().any(|stem| {
            component == stem
                || component.starts_with(&format!("{stem}-"))
                || component.starts_with(&format!("{stem}."))
        })
    })
}

#[test]
fn path_packages_are_never_stored_nor_placed() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);

    let ingest = fixture.ingest(&worktree_a);
    assert_eq!(ingest.units_added, ELIGIBLE_UNITS, "{ingest:#?}");
    assert_eq!(ingest.units_already_stored, 0, "{ingest:#?}");
    assert!(ingest.units_skipped > 0, "{ingest:#?}");
    assert_eq!(
        ingest.skipped.iter().map(|group| group.units).sum::<u64>(),
        ingest.units_skipped,
        "the skipped groups do not add up: {ingest:#?}"
    );
    let reasons = skip_reasons();
    for group in &ingest.skipped {
        assert!(reasons.contains(&group.reason), "unknown skip reason {:?}: {ingest:#?}", group.reason);
    }
    assert!(
        ingest.skipped.iter().flat_map(|group| &group.packages).any(|package| package_name(package) == "localdep"),
        "ingest does not say it skipped localdep: {ingest:#?}"
    );

    let worktree_b = fixture.add_worktree("b");
    let checkout = fixture.checkout(&worktree_b, &[]);
    assert_eq!(checkout.units_placed, ELIGIBLE_UNITS, "{checkout:#?}");
    assert_eq!(checkout.units_skipped, 0, "{checkout:#?}");
    assert!(checkout.conflicts.is_empty(), "{checkout:#?}");

    let placed = snapshot_tree(&worktree_b.join("target"), |_| false);
    assert!(!placed.is_empty(), "checkout placed no file: {checkout:#?}");
    for package in WORKSPACE_PACKAGES {
        let leaked: Vec<_> = placed.keys().filter(|path| belongs_to(path, package)).collect();
        assert!(leaked.is_empty(), "checkout placed files of the path package {package}: {leaked:#?}");
    }
}

#[test]
fn repeated_ingest_and_checkout_change_nothing() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);

    let first = fixture.ingest(&worktree_a);
    assert!(first.units_added > 0, "{first:#?}");
    let objects = fixture.store().join("objects");
    let objects_before = snapshot_tree(&objects, |_| false);

    let second = fixture.ingest(&worktree_a);
    let context = format!("second ingest of an unchanged target: {second:#?}");
    assert_eq!(second.units_added, 0, "{context}");
    assert_eq!(second.units_already_stored, first.units_added + first.units_already_stored, "{context}");
    assert_eq!(second.files_hashed, 0, "{context}");
    assert_eq!(second.files_added, 0, "{context}");
    assert_eq!(second.bytes_added, 0, "{context}");
    assert_tree_unchanged(
        &objects_before,
        &snapshot_tree(&objects, |_| false),
        "the store's objects/ after a second ingest",
    );

    let worktree_b = fixture.add_worktree("b");
    let target_b = worktree_b.join("target");
    let dry_run = fixture.checkout(&worktree_b, &["--dry-run"]);
    assert!(dry_run.dry_run, "{dry_run:#?}");
    let written = snapshot_tree(&target_b, is_cargo_bookkeeping);
    assert!(
        written.is_empty(),
        "checkout --dry-run wrote into {}: {:#?}",
        target_b.display(),
        written.keys().collect::<Vec<_>>()
    );

    let first_checkout = fixture.checkout(&worktree_b, &[]);
    assert!(first_checkout.units_placed > 0, "{first_checkout:#?}");
    assert!(!first_checkout.dry_run, "{first_checkout:#?}");
    let placed = snapshot_tree(&target_b, is_cargo_bookkeeping);
    assert!(!placed.is_empty(), "checkout placed no file");

    let second_checkout = fixture.checkout(&worktree_b, &[]);
    let context = format!("second checkout into the same target: {second_checkout:#?}");
    assert_eq!(second_checkout.units_placed, 0, "{context}");
    assert_eq!(second_checkout.files_placed(), 0, "{context}");
    assert_eq!(second_checkout.units_present, first_checkout.units_placed + first_checkout.units_present, "{context}");
    assert_eq!(
        second_checkout.files_present,
        first_checkout.files_placed() + first_checkout.files_present,
        "{context}"
    );
    assert!(second_checkout.conflicts.is_empty(), "{context}");
    assert_tree_unchanged(
        &placed,
        &snapshot_tree(&target_b, is_cargo_bookkeeping),
        "worktree B's target after a second checkout",
    );
}

#[test]
fn belongs_to_recognises_both_layouts() {
    for path in [
        "debug/app",
        "debug/app.d",
        "debug/deps/app-0123abcd",
        "debug/deps/liblocaldep-0123abcd.rlib",
        "debug/.fingerprint/localdep-0123abcd/lib-localdep",
        "debug/build/localdep/0123abcd/fingerprint/lib-localdep",
    ] {
        let package = if path.contains("localdep") { "localdep" } else { "app" };
        assert!(belongs_to(Path::new(path), package), "{path}");
    }
    for path in [
        "debug/deps/libleaf-0123abcd.rlib",
        "debug/build/native-0123abcd/out/libseven.a",
        "debug/.fingerprint/gitdep-0123abcd/lib-gitdep",
    ] {
        assert!(!WORKSPACE_PACKAGES.iter().any(|package| belongs_to(Path::new(path), package)), "{path}");
    }
}

/// A dependency's rlib rewritten in place after cargo built it is still fresh to cargo, but it
/// is not what the fingerprint describes: ingest refuses it (and what depends on it), so no
/// other worktree ever gets the damaged file.
#[test]
fn a_file_changed_after_the_build_is_never_stored() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let deps = worktree_a.join("target/debug/deps");
    let rlib = std::fs::read_dir(&deps)
        .expect("deps")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("libleaf-") && name.ends_with(".rlib")
        })
        .expect("leaf's rlib");
    let mut bytes = std::fs::read(&rlib).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&rlib, &bytes).expect("rewrite in place");

    let report = fixture.ingest(&worktree_a);
    let changed = report.skipped.iter().find(|group| group.reason == "changed-after-build").expect("a changed unit");
    assert_eq!(changed.units, 1, "{report:#?}");
    assert!(changed.packages.iter().any(|package| package.starts_with("leaf")), "{report:#?}");
    // Everything built on leaf (mid, gitdep) is left out with it; pm and native's three units
    // do not depend on it.
    assert_eq!(report.units_added, 4, "{report:#?}");
    let status = fixture.status();
    assert_eq!(status.units, 4);
}
