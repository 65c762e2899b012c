//! Safety: a build in worktree B that rewrites transplanted units in place (native's build
//! script reruns with another `NATIVE_FLAVOR`, so `cc`, `ar` and the script rewrite OUT_DIR, and
//! native's lib and its dependents recompile) must change no byte, mtime or mode of any store
//! object nor of any file of worktree A's target; A then still builds entirely fresh. The same
//! rebuild in A itself, right after `ingest`, must work and leave the store as it was.

use crate::fixture::{Build, BuildMode, EXPECTED_OUTPUT, EXPECTED_OUTPUT_OTHER_FLAVOR, Fixture};
use crate::support::{assert_tree_unchanged, is_cargo_bookkeeping, snapshot_tree};

#[test]
fn rebuilding_in_b_changes_neither_the_store_nor_worktree_a() {
    let fixture = Fixture::new();
    let mode = BuildMode::LEGACY_DEV;
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, mode);
    let ingest = fixture.ingest(&worktree_a);
    assert!(ingest.units_added > 0, "{ingest:#?}");

    let worktree_b = fixture.add_worktree("b");
    let checkout = fixture.checkout(&worktree_b, &[]);
    assert!(checkout.units_placed > 0, "{checkout:#?}");

    let objects = fixture.store().join("objects");
    let target_a = worktree_a.join("target");
    let objects_before = snapshot_tree(&objects, |_| false);
    let target_a_before = snapshot_tree(&target_a, is_cargo_bookkeeping);
    assert!(!objects_before.is_empty(), "the store holds no object");
    assert!(!target_a_before.is_empty(), "A's target holds no file");

    let mut command = fixture.build_command(&worktree_b, mode);
    command.env("NATIVE_FLAVOR", "other");
    let rebuilt = Build::run(&mut command);
    let context = "build in B with NATIVE_FLAVOR=other after checkout";
    assert!(!rebuilt.unit("native", "lib").fresh, "{}", rebuilt.explain("did not rebuild native's lib", context));
    assert_eq!(rebuilt.run_app(), EXPECTED_OUTPUT_OTHER_FLAVOR, "{context}");

    assert_tree_unchanged(
        &objects_before,
        &snapshot_tree(&objects, |_| false),
        "the store's objects/ after a rebuild in B",
    );
    assert_tree_unchanged(
        &target_a_before,
        &snapshot_tree(&target_a, is_cargo_bookkeeping),
        "worktree A's target after a rebuild in B",
    );

    let again = fixture.build(&worktree_a, mode);
    again.assert_all_fresh("build in A after a rebuild in B");
    assert_eq!(again.run_app(), EXPECTED_OUTPUT, "app in A after a rebuild in B");
}

#[test]
fn rebuilding_in_a_after_ingest_changes_no_store_object() {
    let fixture = Fixture::new();
    let mode = BuildMode::LEGACY_DEV;
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, mode);
    let ingest = fixture.ingest(&worktree_a);
    assert!(ingest.units_added > 0, "{ingest:#?}");

    let objects = fixture.store().join("objects");
    let objects_before = snapshot_tree(&objects, |_| false);
    assert!(!objects_before.is_empty(), "the store holds no object");

    // Ingest may share inodes with A's files; A's own rebuild must neither fail because of
    // that nor write through them.
    let mut command = fixture.build_command(&worktree_a, mode);
    command.env("NATIVE_FLAVOR", "other");
    let rebuilt = Build::run(&mut command);
    let context = "build in A with NATIVE_FLAVOR=other after ingest";
    assert!(!rebuilt.unit("native", "lib").fresh, "{}", rebuilt.explain("did not rebuild native's lib", context));
    assert_eq!(rebuilt.run_app(), EXPECTED_OUTPUT_OTHER_FLAVOR, "{context}");
    assert_tree_unchanged(
        &objects_before,
        &snapshot_tree(&objects, |_| false),
        "the store's objects/ after a rebuild in A",
    );

    // The store still serves the units as they were ingested (without a sync, which would
    // store A's other flavour too).
    let worktree_b = fixture.add_worktree("b");
    let checkout = fixture.checkout(&worktree_b, &["--no-sync"]);
    assert!(checkout.units_placed > 0, "{checkout:#?}");
    let built = fixture.build(&worktree_b, mode);
    let context = format!("build in B after a rebuild in A: {checkout:#?}");
    built.assert_dependencies_fresh(&context);
    assert_eq!(built.run_app(), EXPECTED_OUTPUT, "{context}");
}
