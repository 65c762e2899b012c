//! Stress: several threads run random `ingest`, `checkout`, `gc` and `status` commands against
//! one store for a bounded time, and every one of them succeeds; afterwards the store is
//! consistent and every worktree builds with every dependency fresh.
//!
//! The design lets many worktrees use the store at once: ingest and checkout share the store
//! lock, gc takes it alone (and waits for it, or with `--auto` skips), SQLite queues writers on
//! its busy timeout, and objects are published without ever replacing a file. This test puts
//! that to work with four worktrees of the fixture (A built in debug, R built in release, C and
//! D never built) and [`THREADS`] threads, each looping over operations drawn by a [`Prng`]
//! seeded from the test's name and the thread's number:
//!
//! - `ingest` of A or R (it stores or finds every eligible unit);
//! - `checkout` into C or D, sometimes after deleting its target directory (it places or finds
//!   every unit, with no conflict and nothing skipped; two checkouts into one worktree may run
//!   at once, but a target is never deleted under a running checkout, which would be the test's
//!   doing, not the tool's);
//! - `gc` plain, `gc --max-size 1` (evicts everything) or `gc --auto` (skips when busy or
//!   recent);
//! - `status`.
//!
//! Every command must exit 0; nothing is asserted about timing. The load lasts
//! [`DEFAULT_SECONDS`] seconds, or `CARGO_STORE_STRESS_SECONDS`. Then A and R are ingested once
//! more (so that a unit evicted last does not make "all fresh" meaningless), every worktree gets
//! a final checkout and is built (A and C in debug, R and D in release): every dependency is
//! fresh and the app prints the right number. The test prints its size: threads, processes,
//! operations per kind and duration.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::{GcReport, REPORT_VERSION};
use crate::support::{Prng, Scene, assert_store_consistent, run_json};

/// Seconds of load when `CARGO_STORE_STRESS_SECONDS` does not say.
const DEFAULT_SECONDS: u64 = 20;

/// Overrides [`DEFAULT_SECONDS`].
const SECONDS_VARIABLE: &str = "CARGO_STORE_STRESS_SECONDS";

/// Threads running commands at the same time.
const THREADS: usize = 5;

/// What a thread does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    /// `ingest` of a built worktree.
    Ingest,
    /// `checkout` into a fresh worktree as it is.
    Checkout,
    /// `checkout` into a fresh worktree whose target directory was just deleted.
    CheckoutAfterDelete,
    /// `gc` with the default budget.
    Gc,
    /// `gc --max-size 1`: evicts every unit.
    GcEvicting,
    /// `gc --auto`: skips when another command holds the store or it ran recently.
    GcAuto,
    /// `status`.
    Status,
}

impl Operation {
    /// The operations with their weights: ingests and checkouts are what the store is for.
    const WEIGHTED: [(Operation, u64); 7] = [
        (Operation::Ingest, 3),
        (Operation::Checkout, 3),
        (Operation::CheckoutAfterDelete, 2),
        (Operation::Gc, 1),
        (Operation::GcEvicting, 1),
        (Operation::GcAuto, 1),
        (Operation::Status, 2),
    ];

    fn draw(random: &mut Prng) -> Operation {
        let total: u64 = Operation::WEIGHTED.iter().map(|(_, weight)| weight).sum();
        let mut ticket = random.below(total);
        for (operation, weight) in Operation::WEIGHTED {
            if ticket < weight {
                return operation;
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the total weight")
    }
}

/// A worktree of the fixture and how the test uses it.
struct Worktree {
    path: PathBuf,
    /// How it is built at the end (and, for A and R, before the load).
    mode: BuildMode,
    /// Built before the load: ingested, and never checked out into while the load runs (so
    /// that an ingest never scans a unit a checkout is half-way through placing).
    built: bool,
    /// Checkouts into this worktree hold it shared; deleting its target holds it exclusively.
    target: RwLock<()>,
}

#[test]
fn concurrent_commands_all_succeed_and_leave_a_consistent_store() {
    let seconds = match std::env::var(SECONDS_VARIABLE) {
        Ok(value) => value.parse().unwrap_or_else(|error| panic!("{SECONDS_VARIABLE}={value}: {error}")),
        Err(_) => DEFAULT_SECONDS,
    };
    let fixture = Fixture::new();
    let worktree =
        |path: PathBuf, mode: BuildMode, built: bool| Worktree { path, mode, built, target: RwLock::new(()) };
    let worktrees = [
        worktree(fixture.worktree_a(), BuildMode::LEGACY_DEV, true),
        worktree(fixture.add_worktree("r"), BuildMode::LEGACY_RELEASE, true),
        worktree(fixture.add_worktree("c"), BuildMode::LEGACY_DEV, false),
        worktree(fixture.add_worktree("d"), BuildMode::LEGACY_RELEASE, false),
    ];
    for built in worktrees.iter().filter(|worktree| worktree.built) {
        fixture.build(&built.path, built.mode);
    }
    // gc and status need a store: the first ingest makes it.
    fixture.ingest(&fixture.worktree_a());

    let counts: BTreeMap<Operation, AtomicU64> =
        Operation::WEIGHTED.iter().map(|&(operation, _)| (operation, AtomicU64::new(0))).collect();
    let failed = AtomicBool::new(false);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (fixture, worktrees, counts, failed) = (&fixture, &worktrees, &counts, &failed);
            scope.spawn(move || {
                let seed = Prng::seed_of(&format!("{}::thread-{thread}", module_path!()));
                let mut random = Prng::from_seed(seed);
                let _stop_the_others = StopOnPanic(failed);
                while Instant::now() < deadline && !failed.load(Ordering::Relaxed) {
                    let operation = Operation::draw(&mut random);
                    let _scene = Scene(format!("stress thread {thread} (seed {seed}): {operation:?}"));
                    perform(fixture, worktrees, operation, &mut random);
                    counts[&operation].fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let load = start.elapsed();
    let counts: BTreeMap<Operation, u64> =
        counts.iter().map(|(&operation, count)| (operation, count.load(Ordering::Relaxed))).collect();
    let operations: u64 = counts.values().sum();
    assert_store_consistent(&fixture, &fixture.store(), "after the concurrent commands");

    // Every unit stored again, then every worktree completed and built.
    let mut processes = operations;
    for built in worktrees.iter().filter(|worktree| worktree.built) {
        ingest(&fixture, built);
        processes += 1;
    }
    for worktree in &worktrees {
        checkout(&fixture, worktree);
        processes += 1;
    }
    assert_store_consistent(&fixture, &fixture.store(), "after the final ingests and checkouts");
    for worktree in &worktrees {
        let context = format!("final build of {} after the stress", worktree.path.display());
        let build = fixture.build(&worktree.path, worktree.mode);
        build.assert_dependencies_fresh(&context);
        assert_eq!(build.run_app(), EXPECTED_OUTPUT, "{context}");
    }
    let status = fixture.status();
    eprintln!(
        "stress test: {THREADS} threads, {} worktrees, {processes} cargo-store processes ({operations} under load \
         for {load:.1?}, {:.1?} in all): {counts:?}; the store ends with {} units, {} objects, {} roots",
        worktrees.len(),
        start.elapsed(),
        status.units,
        status.objects,
        status.roots
    );
    assert_eq!(status.units, 2 * ELIGIBLE_UNITS, "the debug and release units of the final ingests: {status:#?}");
    assert_eq!(status.roots, worktrees.len() as u64, "one root per worktree: {status:#?}");
}

/// Runs one operation, on a worktree drawn at random; panics unless every command succeeds.
fn perform(fixture: &Fixture, worktrees: &[Worktree], operation: Operation, random: &mut Prng) {
    let mut pick = |built: bool| {
        let candidates: Vec<&Worktree> = worktrees.iter().filter(|worktree| worktree.built == built).collect();
        candidates[random.below(candidates.len() as u64) as usize]
    };
    match operation {
        Operation::Ingest => ingest(fixture, pick(true)),
        Operation::Checkout => checkout(fixture, pick(false)),
        Operation::CheckoutAfterDelete => {
            let worktree = pick(false);
            {
                let _alone = worktree.target.write().expect("no thread panicked holding the target");
                match fs::remove_dir_all(worktree.path.join("target")) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => panic!("cannot delete the target of {}: {error}", worktree.path.display()),
                }
            }
            checkout(fixture, worktree);
        }
        Operation::Gc => gc(fixture, &[]),
        Operation::GcEvicting => gc(fixture, &["--max-size", "1"]),
        Operation::GcAuto => gc(fixture, &["--auto"]),
        Operation::Status => {
            fixture.status();
        }
    }
}

/// `ingest` of a built worktree: every eligible unit is stored, by this run or before it.
fn ingest(fixture: &Fixture, worktree: &Worktree) {
    let report = fixture.ingest(&worktree.path);
    assert_eq!(report.units_added + report.units_already_stored, ELIGIBLE_UNITS, "{report:#?}");
}

/// `checkout` into a worktree: nothing is in the way and nothing is left out.
fn checkout(fixture: &Fixture, worktree: &Worktree) {
    let _shared = worktree.target.read().expect("no thread panicked holding the target");
    let report = fixture.checkout(&worktree.path, &[]);
    assert!(report.conflicts.is_empty(), "{report:#?}");
    assert_eq!(report.units_skipped, 0, "{report:#?}");
}

/// `gc --json` with `arguments`.
fn gc(fixture: &Fixture, arguments: &[&str]) {
    let report: GcReport = run_json(fixture.cargo_store().args(["gc", "--json"]).args(arguments));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
}

/// Tells the other threads to stop when this one fails, so that the test ends promptly.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}
