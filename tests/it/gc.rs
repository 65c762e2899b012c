//! Garbage collection with a clock the tests set (`CARGO_STORE_TEST_NOW`): objects stay while
//! any root holds their units; a deleted worktree's units go only after the grace period; an
//! unreadable root stops gc before it deletes anything; `--dry-run` changes nothing; the size
//! budget evicts least recently used units first; orphan files go only after their grace
//! period, and symbolic links are never followed out of the store; commands that run while gc
//! is paused mid-sweep leave a consistent store; `--auto` skips while another command holds the
//! store; an ingest over the size budget collects; cache entries go once unused for 30 days, or
//! once they remember a build directory that is no longer registered.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, Fixture};
use crate::reports::{GcReport, IngestReport, REPORT_VERSION, RootsReport, StatusReport};
use crate::support::{printed, run_json, snapshot_tree};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn real_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// `cargo-store <arguments>` at the time `now`.
fn store_at(fixture: &Fixture, now: i64, arguments: &[&str]) -> Command {
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_TEST_NOW", now.to_string()).args(arguments);
    command
}

fn gc_at(fixture: &Fixture, now: i64, arguments: &[&str]) -> GcReport {
    let mut all = vec!["gc", "--json"];
    all.extend_from_slice(arguments);
    let report: GcReport = run_json(&mut store_at(fixture, now, &all));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    report
}

fn status(fixture: &Fixture) -> StatusReport {
    run_json(fixture.cargo_store().args(["status", "--json"]))
}

/// A fixture with worktree A built and ingested and worktree B checked out, all at `now`.
fn two_roots(now: i64) -> Fixture {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let _: IngestReport =
        run_json(store_at(&fixture, now, &["ingest", "--json", "--manifest-path"]).arg(worktree_a.join("Cargo.toml")));
    let worktree_b = fixture.add_worktree("b");
    run_json::<serde_json::Value>(
        store_at(&fixture, now, &["checkout", "--json", "--manifest-path"]).arg(worktree_b.join("Cargo.toml")),
    );
    fixture
}

#[test]
fn units_stay_until_every_root_is_gone_and_its_grace_period_is_over() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    let objects = fixture.store().join("objects");
    let before = snapshot_tree(&objects, |_| false);
    let roots: RootsReport = run_json(fixture.cargo_store().args(["roots", "--json"]));
    assert_eq!(roots.version, REPORT_VERSION);
    let mut paths: Vec<&str> = roots.roots.iter().map(|root| root.path.as_str()).collect();
    paths.sort();
    let expected = [fixture.worktree_a().join("target"), fixture.root().join("b/target")];
    assert_eq!(paths, expected.iter().map(|path| path.to_str().expect("UTF-8")).collect::<Vec<_>>());
    assert!(roots.roots.iter().all(|root| root.state == "live" && root.units == ELIGIBLE_UNITS), "{roots:#?}");

    // A's worktree is deleted: its root is missing, B still holds every unit.
    fs::remove_dir_all(fixture.worktree_a().join("target")).expect("delete A's target");
    let report = gc_at(&fixture, t0 + DAY, &["--max-age", "1h"]);
    assert_eq!((report.roots_checked, report.roots_missing.len()), (2, 1), "{report:#?}");
    assert_eq!(report.units_evicted(), 0, "{report:#?}");
    let report = gc_at(&fixture, t0 + 8 * DAY, &["--max-age", "1h"]);
    assert_eq!(report.roots_dropped.len(), 1, "{report:#?}");
    assert_eq!(report.roots_dropped[0].reason, "missing", "{report:#?}");
    assert_eq!(Path::new(&report.roots_dropped[0].path), fixture.worktree_a().join("target"));
    assert_eq!(report.units_evicted(), 0, "{report:#?}");
    assert_eq!(snapshot_tree(&objects, |_| false), before, "objects changed while B holds them");

    // Then B goes too: nothing is deleted within the grace period, everything after it.
    fs::remove_dir_all(fixture.root().join("b").join("target")).expect("delete B's target");
    let report = gc_at(&fixture, t0 + 9 * DAY, &["--max-age", "1h"]);
    assert_eq!((report.units_evicted(), report.objects_deleted), (0, 0), "{report:#?}");
    assert_eq!(snapshot_tree(&objects, |_| false), before, "objects deleted within the grace period");
    let report = gc_at(&fixture, t0 + 16 * DAY, &["--max-age", "1h"]);
    assert_eq!(report.units_evicted_by_age, ELIGIBLE_UNITS, "{report:#?}");
    assert_eq!(report.objects_deleted as usize, before.len(), "{report:#?}");
    assert!(report.bytes_freed > 0, "{report:#?}");
    assert_eq!(report.bytes_logical, report.bytes_before, "everything was deleted: {report:#?}");
    let after = status(&fixture);
    assert_eq!((after.units, after.objects, after.roots), (0, 0, 0), "{after:#?}");
    assert!(snapshot_tree(&objects, |_| false).is_empty(), "object files left behind");
    crate::support::assert_store_consistent(&fixture, &fixture.store(), "the store after the test");
}

#[test]
fn a_cleaned_target_releases_its_units_and_a_live_root_keeps_them() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    // `cargo clean` in B: the root stays (its directory is there) but holds nothing any more.
    let worktree_b = fixture.root().join("b");
    fs::remove_dir_all(worktree_b.join("target/debug")).expect("clean B");
    let report = gc_at(&fixture, t0 + 40 * DAY, &["--max-age", "30d"]);
    assert_eq!(report.references_dropped, ELIGIBLE_UNITS, "{report:#?}");
    // A still holds every unit, however old.
    assert_eq!(report.units_evicted(), 0, "{report:#?}");
    assert_eq!(status(&fixture).units, ELIGIBLE_UNITS);
}

#[test]
fn an_unreadable_root_aborts_gc_before_it_deletes_anything() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    let before = snapshot_tree(&fixture.store().join("objects"), |_| false);
    // B's path now loops (ELOOP): it exists but cannot be read, for root too.
    let worktree_b = fixture.root().join("b");
    fs::rename(&worktree_b, fixture.root().join("b-moved")).expect("move B");
    symlink(&worktree_b, &worktree_b).expect("symlink loop");

    let output =
        store_at(&fixture, t0 + 100 * DAY, &["gc", "--max-age", "1h", "--max-size", "1"]).output().expect("run gc");
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read the registered build directory"), "{stderr}");
    assert!(stderr.contains(&worktree_b.join("target").display().to_string()), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(snapshot_tree(&fixture.store().join("objects"), |_| false), before, "gc deleted objects");
    assert_eq!(status(&fixture).units, ELIGIBLE_UNITS);
}

#[test]
fn dry_run_reports_but_changes_nothing() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    fs::remove_dir_all(fixture.worktree_a().join("target")).expect("delete A's target");
    fs::remove_dir_all(fixture.root().join("b").join("target")).expect("delete B's target");
    // A first collection sees both roots missing; 100 days later both are past their grace.
    let report = gc_at(&fixture, t0 + DAY, &["--max-age", "1h"]);
    assert_eq!(report.roots_missing.len(), 2, "{report:#?}");
    let objects = fixture.store().join("objects");
    let before = snapshot_tree(&objects, |_| false);
    let report = gc_at(&fixture, t0 + 100 * DAY, &["--dry-run", "--max-age", "1h"]);
    assert!(report.dry_run);
    assert_eq!(report.roots_dropped.len(), 2, "{report:#?}");
    assert_eq!(report.units_evicted_by_age, ELIGIBLE_UNITS, "{report:#?}");
    assert_eq!(report.objects_deleted as usize, before.len(), "{report:#?}");
    assert_eq!(snapshot_tree(&objects, |_| false), before, "a dry run deleted objects");
    let after = status(&fixture);
    assert_eq!((after.units, after.roots), (ELIGIBLE_UNITS, 2), "a dry run changed the index: {after:#?}");
}

#[test]
fn the_size_budget_evicts_the_least_recently_used_units_first() {
    let t0 = real_now();
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    // The debug units are used at t0, the release units an hour later.
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let debug: IngestReport =
        run_json(store_at(&fixture, t0, &["ingest", "--json", "--manifest-path"]).arg(worktree_a.join("Cargo.toml")));
    let debug_bytes = status(&fixture).bytes_on_disk;
    fixture.build(&worktree_a, BuildMode::LEGACY_RELEASE);
    let release: IngestReport = run_json(
        store_at(&fixture, t0 + HOUR, &["ingest", "--json", "--manifest-path"]).arg(worktree_a.join("Cargo.toml")),
    );
    assert_eq!((debug.units_added, release.units_added), (ELIGIBLE_UNITS, ELIGIBLE_UNITS));
    let total = status(&fixture).bytes_on_disk;
    let release_bytes = total - debug_bytes;

    // A budget that fits the release units but not both: the debug units go, all of them
    // (the closure rule means no debug unit may outlive a dependency), the release ones stay.
    let budget = (release_bytes + debug_bytes / 2).to_string();
    let report = gc_at(&fixture, t0 + 2 * HOUR, &["--max-size", &budget]);
    assert_eq!(report.units_evicted_by_size + report.units_evicted_with_dependency, ELIGIBLE_UNITS, "{report:#?}");
    assert!(report.bytes_after <= release_bytes + debug_bytes / 2, "{report:#?}");
    assert_eq!(status(&fixture).units, ELIGIBLE_UNITS);
    crate::support::assert_store_consistent(&fixture, &fixture.store(), "the store after the test");

    // Without a sync, which would store A's debug units again.
    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &["--no-sync"]);
    let release_build = fixture.build(&worktree_b, BuildMode::LEGACY_RELEASE);
    release_build.assert_dependencies_fresh("release build after the debug units were evicted");
    let debug_build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    assert!(!debug_build.unit("leaf", "lib").fresh, "a debug unit survived a budget that had no room for it");
}

#[test]
fn orphans_go_after_their_grace_period_and_symlinks_are_never_followed() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    let store = fixture.store();
    let outside = fixture.root().join("outside");
    fs::create_dir_all(&outside).expect("outside directory");
    fs::write(outside.join("precious"), b"keep me").expect("outside file");

    let orphan_object = store.join("objects/ab").join("c".repeat(62));
    fs::create_dir_all(orphan_object.parent().expect("parent")).expect("objects/ab");
    fs::write(&orphan_object, b"left by a crash").expect("orphan object");
    fs::write(store.join("tmp/.cargo-store-1-1.tmp"), b"half written").expect("orphan tmp file");
    symlink(&outside, store.join("objects/zz")).expect("symlink to a directory outside");
    symlink(outside.join("precious"), store.join("objects/ab").join("d".repeat(62)))
        .expect("symlink to a file outside");
    symlink(&outside, store.join("tmp/escape")).expect("symlink in tmp");

    let report = gc_at(&fixture, t0, &[]);
    assert_eq!(report.orphans_deleted, 0, "orphans deleted within their grace period: {report:#?}");
    assert!(orphan_object.exists());

    let report = gc_at(&fixture, t0 + 2 * HOUR, &[]);
    assert_eq!(report.orphans_deleted, 5, "{report:#?}");
    assert!(!orphan_object.exists() && !store.join("tmp/.cargo-store-1-1.tmp").exists());
    assert!(fs::symlink_metadata(store.join("objects/zz")).is_err(), "the symlink itself is removed");
    assert_eq!(fs::read(outside.join("precious")).expect("outside file survives"), b"keep me");
    assert_eq!(status(&fixture).units, ELIGIBLE_UNITS, "live units were touched");
    crate::support::assert_store_consistent(&fixture, &store, "the store after the test");
}

/// Starts `command` paused at `point`, and waits until it is there.
fn start_paused(mut command: Command, point: &str, flag: &Path) -> Child {
    command.env("CARGO_STORE_TEST_PAUSE", format!("{point}={}", flag.display()));
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the paused command");
    let start = Instant::now();
    while !flag.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "the command never reached {point}");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn finish(child: Child) -> std::process::Output {
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", printed(&output));
    output
}

#[test]
fn commands_during_a_paused_gc_leave_a_consistent_store() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    let flag = fixture.root().join("gc-paused");
    // Root A is live: gc evicts by size, so it deletes what A holds.
    let gc =
        start_paused(store_at(&fixture, t0 + 100 * DAY, &["gc", "--json", "--max-size", "1"]), "gc-planned", &flag);

    // An ingest of A and a checkout into C start while gc holds the store.
    let worktree_c = fixture.add_worktree("c");
    let mut ingest = store_at(&fixture, t0 + 100 * DAY, &["ingest", "--json", "--no-gc", "--manifest-path"]);
    ingest.arg(fixture.worktree_a().join("Cargo.toml")).stdout(Stdio::piped()).stderr(Stdio::piped());
    let ingest = ingest.spawn().expect("start ingest");
    std::thread::sleep(Duration::from_millis(300));
    fs::remove_file(&flag).expect("let gc go on");
    let collected: GcReport = serde_json::from_slice(&finish(gc).stdout).expect("gc report");
    assert!(collected.units_evicted() > 0, "{collected:#?}");
    let ingested = finish(ingest);
    assert!(String::from_utf8_lossy(&ingested.stderr).contains("waiting for the store lock"), "{}", printed(&ingested));
    let ingested: IngestReport = serde_json::from_slice(&ingested.stdout).expect("ingest report");
    assert_eq!(ingested.units_added, ELIGIBLE_UNITS, "the ingest after gc must store the units again: {ingested:#?}");
    crate::support::assert_store_consistent(&fixture, &fixture.store(), "the store after the test");

    fixture.checkout(&worktree_c, &[]);
    fixture.build(&worktree_c, BuildMode::LEGACY_DEV).assert_dependencies_fresh("build in C after gc and ingest");
}

#[test]
fn auto_gc_skips_while_another_command_holds_the_store() {
    let t0 = real_now();
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let flag = fixture.root().join("ingest-paused");
    let mut ingest = store_at(&fixture, t0, &["ingest", "--json", "--no-gc", "--manifest-path"]);
    ingest.arg(worktree_a.join("Cargo.toml"));
    let ingest = start_paused(ingest, "ingest-staged", &flag);

    let report = gc_at(&fixture, t0, &["--auto"]);
    assert_eq!(report.skipped.as_deref(), Some("busy"), "{report:#?}");
    fs::remove_file(&flag).expect("let ingest go on");
    finish(ingest);
    crate::support::assert_store_consistent(&fixture, &fixture.store(), "the store after the test");

    // Free now: it runs, and right after that it is not due.
    let report = gc_at(&fixture, t0, &["--auto"]);
    assert_eq!(report.skipped, None, "{report:#?}");
    let report = gc_at(&fixture, t0 + HOUR, &["--auto"]);
    assert_eq!(report.skipped.as_deref(), Some("recent"), "{report:#?}");
    let report = gc_at(&fixture, t0 + 2 * DAY, &["--auto"]);
    assert_eq!(report.skipped, None, "{report:#?}");
}

#[test]
fn an_ingest_over_the_size_budget_collects() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let report: serde_json::Value = run_json(
        fixture
            .cargo_store()
            .args(["ingest", "--json", "--max-size", "1", "--manifest-path"])
            .arg(worktree_a.join("Cargo.toml")),
    );
    let collected: GcReport = serde_json::from_value(report["gc"].clone()).expect("ingest reports its collection");
    assert_eq!(collected.skipped, None, "{collected:#?}");
    assert!(collected.units_evicted() > 0 && collected.bytes_after <= 1, "{collected:#?}");
    assert_eq!(status(&fixture).units, 0);

    let quiet: serde_json::Value = run_json(
        fixture
            .cargo_store()
            .args(["ingest", "--json", "--no-gc", "--max-size", "1", "--manifest-path"])
            .arg(worktree_a.join("Cargo.toml")),
    );
    assert!(quiet["gc"].is_null(), "--no-gc still collected: {quiet}");
    assert_eq!(status(&fixture).units, ELIGIBLE_UNITS);
}

#[test]
fn unused_cache_entries_go_and_the_ones_in_use_stay() {
    let t0 = real_now();
    let fixture = two_roots(t0);
    let cache = fixture.store().join("cache");
    let entries = |bucket: &str| snapshot_tree(&cache.join(bucket), |_| false).len();
    let before = snapshot_tree(&cache, |_| false);
    for bucket in ["workspaces", "rustc", "sync"] {
        assert!(entries(bucket) > 0, "ingest and checkout remember nothing in cache/{bucket}: {before:#?}");
    }
    let report = gc_at(&fixture, t0 + DAY, &[]);
    assert_eq!(report.cache_files_deleted, 0, "{report:#?}");
    assert_eq!(snapshot_tree(&cache, |_| false).len(), before.len(), "cache entries in use were deleted");

    // B's worktree is deleted: once its root is dropped, the shape remembered for it goes.
    fs::remove_dir_all(fixture.root().join("b")).expect("delete B");
    let shapes = entries("sync");
    gc_at(&fixture, t0 + 2 * DAY, &[]);
    assert_eq!(entries("sync"), shapes, "a missing root's shape went within its grace period");
    let report = gc_at(&fixture, t0 + 10 * DAY, &[]);
    assert_eq!(report.roots_dropped.len(), 1, "{report:#?}");
    assert_eq!((report.cache_files_deleted, entries("sync")), (1, shapes - 1), "{report:#?}");

    // Nothing was used since t0 but one entry, read on day 30: 31 days on, only that one stays.
    let rustc = snapshot_tree(&cache.join("rustc"), |_| false);
    let used = cache.join("rustc").join(rustc.keys().next().expect("a rustc entry"));
    let day_30 = filetime::FileTime::from_unix_time(t0 + 30 * DAY, 0);
    filetime::set_file_mtime(&used, day_30).expect("mark the entry used on day 30");
    let remaining = snapshot_tree(&cache, |_| false).len() as u64;
    let report = gc_at(&fixture, t0 + 31 * DAY, &[]);
    assert_eq!(report.cache_files_deleted, remaining - 1, "{report:#?}");
    assert!(report.cache_bytes_freed > 0, "{report:#?}");
    assert_eq!(report.units_evicted(), 0, "A still holds every unit: {report:#?}");
    let left: Vec<_> = snapshot_tree(&cache, |_| false).into_keys().collect();
    assert_eq!(left, vec![used.strip_prefix(&cache).expect("under cache/").to_path_buf()]);

    // The next checkout asks cargo and rustc again, and places every unit.
    let worktree_c = fixture.add_worktree("c");
    let checkout = fixture.checkout(&worktree_c, &["--no-sync"]);
    assert_eq!(checkout.units_placed, ELIGIBLE_UNITS, "{checkout:#?}");
    assert!(entries("workspaces") > 0, "the checkout remembered nothing");
}
