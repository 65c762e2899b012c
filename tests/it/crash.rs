//! Crash safety: `ingest`, `checkout` and `gc` killed with SIGKILL, at random moments and at
//! the tool's pause points, leave a store that is consistent and a next command that works.
//!
//! The design promises that objects are written under `tmp/` and renamed into place before the
//! index commit that names them, and that gc commits its deletions before it deletes files: a
//! crash leaves at worst orphan files, never a row pointing at a missing object. This module
//! checks that promise the way a crash would, with `kill -9`:
//!
//! - **at random moments**: a normal run of each command is timed first; then the command is
//!   started again and again, each time killed after a delay drawn uniformly from that whole run
//!   (plus a fifth) by a [`Prng`] seeded from the test's name, so that a failure names the seed
//!   and delay that led to it (`CARGO_STORE_CRASH_SEED` replays or varies them). Most of an
//!   ingest's or a checkout's run is `cargo metadata`, so half of their delays are drawn from
//!   the part of the run that touches the store or the target only. Only a process
//!   that was really killed counts (its exit status says SIGKILL); one that finished first must
//!   have succeeded. Every run is given real work: each ingest starts from a store that lost the
//!   units (no store at all, or one emptied by `gc --max-size 1`), each checkout from a deleted
//!   target directory, each gc from a store that was just filled again.
//! - **at the pause points** (`CARGO_STORE_TEST_PAUSE`): `ingest-staged` (objects written, not
//!   committed), `checkout-registered` (root registered, nothing placed) and `gc-planned` (plan
//!   made, nothing deleted), each killed while it waits there.
//!
//! After every kill: the store is consistent ([`assert_store_consistent`]; orphan files are
//! allowed), and the next command works: after an ingest, a full ingest stores every eligible
//! unit; after a checkout, a second checkout completes the target with nothing in its way (and
//! on a sample of the kills `cargo build` there reports every dependency fresh and the app
//! prints the right number); after a gc, gc runs again and empties the store. At the end the
//! test prints how many kills of each command it survived and what state each kill left (so a
//! reader can see that kills landed inside the commands' critical sections, not only before
//! them), and asserts at least [`MINIMUM_KILLS`].
//!
//! A second test covers what a killed checkout leaves in the *worktree*: its temporary files
//! (`.cargo-store-<pid>-<n>.tmp`) beside the files it was placing. They must never be ingested
//! into the store, from where every later checkout would spread them.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::{CheckoutReport, GcReport, IngestReport, REPORT_VERSION, StatusReport};
use crate::support::{Prng, Scene, assert_store_consistent, describe, printed, run, run_json};

/// Kills at random moments that each command must survive.
const INGEST_KILLS: u32 = 20;
const CHECKOUT_KILLS: u32 = 20;
const GC_KILLS: u32 = 15;

/// The whole test must survive at least this many kills, pause points included.
const MINIMUM_KILLS: u32 = 50;

/// A command may finish before its kill; give up after this many attempts per kill wanted.
const ATTEMPTS_PER_KILL: u32 = 4;

/// Complete runs timed to learn how long a command takes.
const TIMED_RUNS: u32 = 3;

/// After every this many killed checkouts, build in the worktree (the slow check).
const BUILD_EVERY: u32 = 5;

/// How cargo-store names its temporary files (`cargo_store_fs::TEMPORARY_PREFIX`, which the
/// test binary cannot import).
const TEMPORARY_PREFIX: &str = ".cargo-store-";

/// SIGKILL's number, the same on every Unix (no libc dependency for one constant).
const SIGKILL: i32 = 9;

/// Overrides the seed derived from the test's name, to replay or vary the delays.
const SEED_VARIABLE: &str = "CARGO_STORE_CRASH_SEED";

#[test]
fn kills_at_random_moments_and_pause_points_leave_a_usable_store() {
    let start = Instant::now();
    let seed = match std::env::var(SEED_VARIABLE) {
        Ok(value) => value.parse().unwrap_or_else(|error| panic!("{SEED_VARIABLE}={value}: {error}")),
        Err(_) => {
            Prng::seed_of(concat!(module_path!(), "::kills_at_random_moments_and_pause_points_leave_a_usable_store"))
        }
    };
    eprintln!("crash test: delays drawn with seed {seed} ({SEED_VARIABLE}={seed} replays them)");
    let fixture = Fixture::new();
    fixture.build(&fixture.worktree_a(), BuildMode::LEGACY_DEV);
    let mut test = CrashTest { seed, random: Prng::from_seed(seed), kills: BTreeMap::new() };

    test.kill_ingest(&fixture);
    test.kill_checkout(&fixture);
    test.kill_gc(&fixture);

    for (command, landings) in &test.kills {
        let survived: u32 = landings.values().sum();
        eprintln!("crash test: survived {survived} kills of {command}; they left: {landings:?}");
    }
    let total = test.survived_all();
    eprintln!("crash test: survived {total} kills in {:.1?}", start.elapsed());
    assert!(total >= MINIMUM_KILLS, "only {total} kills landed: {:?}", test.kills);
}

/// A checkout killed while it places files leaves its temporary files behind, beside the files
/// it was placing: the random kills above show `.cargo-store-<pid>-<n>.tmp` in fingerprint
/// directories and in OUT_DIR. The next checkout and build do not mind, but the files must
/// never reach the store: an ingest of that worktree must store its units without them, or
/// every later checkout spreads the debris (partial copies of other files) to other worktrees.
/// The debris is planted here, exactly as a kill leaves it, so that the check does not depend
/// on where a kill lands.
#[test]
fn temporary_files_left_by_a_killed_checkout_never_reach_the_store() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    let debug = worktree_a.join("target").join("debug");
    // The first directory under `parent` named `<prefix>…` that has a `below` subdirectory.
    let unit_directory = |parent: &Path, prefix: &str, below: &str| {
        fs::read_dir(parent)
            .expect("list the unit directories")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(prefix))
                    && path.join(below).is_dir()
            })
            .unwrap_or_else(|| panic!("no {prefix}*/{below} under {}", parent.display()))
            .join(below)
    };
    let planted = [
        unit_directory(&debug.join(".fingerprint"), "leaf-", "").join(format!("{TEMPORARY_PREFIX}4242-7.tmp")),
        unit_directory(&debug.join("build"), "native-", "out").join(format!("{TEMPORARY_PREFIX}4242-8.tmp")),
    ];
    for path in &planted {
        fs::write(path, b"half a file").expect("plant a temporary file");
    }

    let store = fixture.store();
    ingest_completely(&fixture, &store, &worktree_a);
    let worktree_c = fixture.add_worktree("c");
    checkout_completely(&fixture, &store, &worktree_c);
    let spread = temporary_files(&worktree_c.join("target"));
    assert!(
        spread.is_empty(),
        "an ingest stored the temporary files a killed checkout left ({planted:?}), and a checkout placed them \
         elsewhere: {spread:#?}"
    );
    assert_builds_fresh(&fixture, &worktree_c, "build after a checkout from a store ingested with debris around");
}

/// The random delays, and the kills survived so far.
struct CrashTest {
    seed: u64,
    random: Prng,
    /// Per command, what the store or target looked like after each kill, and how often.
    kills: BTreeMap<&'static str, BTreeMap<&'static str, u32>>,
}

impl CrashTest {
    fn survived(&self, command: &str) -> u32 {
        self.kills.get(command).map_or(0, |landings| landings.values().sum())
    }

    fn survived_all(&self) -> u32 {
        self.kills.values().flat_map(BTreeMap::values).sum()
    }

    fn record(&mut self, command: &'static str, landing: &'static str) {
        *self.kills.entry(command).or_default().entry(landing).or_default() += 1;
    }

    /// A delay anywhere in a run that took `duration`, or a little after it.
    fn random_delay(&mut self, duration: Duration) -> Duration {
        self.random_delay_from(Duration::ZERO, duration)
    }

    /// A delay between `start` and the end of a run that took `duration`, or a little after it.
    fn random_delay_from(&mut self, start: Duration, duration: Duration) -> Duration {
        let start = start.as_micros() as u64;
        let end = (duration.as_micros() as u64 * 6 / 5).max(start);
        Duration::from_micros(start + self.random.below(end - start + 1))
    }

    /// Ingest into a store that lacks the units, killed; then a full ingest.
    fn kill_ingest(&mut self, fixture: &Fixture) {
        let worktree_a = fixture.worktree_a();
        let store = fixture.root().join("ingest-store");
        // Every other run starts from no store at all (so that creating the store and its
        // index is killed too), the others from one that `gc --max-size 1` emptied.
        let lose_the_units = |iteration: u32| {
            if iteration.is_multiple_of(2) {
                remove_dir_if_present(&store);
            } else if store.join("index.sqlite").exists() {
                gc_completely(fixture, &store);
            }
        };
        // Most of an ingest's run is `cargo metadata` and the scan of the target; the store is
        // opened (created, here) after that. Half of the kills are drawn from the part after it,
        // so that kills while objects are written and committed are common, not a lucky draw.
        // Into an emptied store the run is shorter (the workspace is read from the store's
        // cache), so each start is timed apart: a delay drawn from the longer one would mostly
        // come after the shorter one ended.
        let fresh = typical_run(|| lose_the_units(0), || ingest_command(fixture, &store, &worktree_a));
        lose_the_units(0);
        let opening = time_until(&mut ingest_command(fixture, &store, &worktree_a), || store.exists());
        let emptied = typical_run(|| lose_the_units(1), || ingest_command(fixture, &store, &worktree_a));
        // The same share of the run comes before the index is used.
        let share = opening.as_secs_f64() / fresh.as_secs_f64().max(f64::EPSILON);
        let mut timings = [(fresh, opening), (emptied, emptied.mul_f64(share.min(1.0)))];
        eprintln!(
            "crash test: a complete ingest takes {fresh:.1?} ({emptied:.1?} into an emptied store) and opens the store after {opening:.1?}"
        );

        let mut iteration = 0;
        while self.survived("ingest") < INGEST_KILLS {
            assert!(iteration < INGEST_KILLS * ATTEMPTS_PER_KILL, "ingest finished first too often: {:?}", self.kills);
            lose_the_units(iteration);
            let (duration, opening) = timings[(iteration % 2) as usize];
            let from = if (iteration / 2).is_multiple_of(2) { Duration::ZERO } else { opening };
            let delay = self.random_delay_from(from, duration);
            let _scene = Scene(format!("ingest iteration {iteration}, kill after {delay:?}, seed {}", self.seed));
            if let Attempt::Killed = kill_after(&mut ingest_command(fixture, &store, &worktree_a), delay) {
                assert_store_consistent(fixture, &store, "after a killed ingest");
                let landing = match (indexed_units(&store), object_files(&store)) {
                    (None, _) => "no index yet",
                    (Some(0), 0) => "nothing stored",
                    (Some(0), _) => "orphan objects, nothing committed",
                    (Some(_), _) => "committed",
                };
                self.record("ingest", landing);
            } else {
                let timing = &mut timings[(iteration % 2) as usize];
                *timing = (shorter(timing.0, timing.1), timing.1);
            }
            ingest_completely(fixture, &store, &worktree_a);
            assert_store_consistent(fixture, &store, "after the ingest that followed a killed one");
            iteration += 1;
        }

        // Killed with every object written and nothing committed: the index knows nothing, and
        // the next ingest completes over the files left behind, which check out and build fresh.
        let _scene = Scene("ingest killed at ingest-staged".to_owned());
        remove_dir_if_present(&store);
        kill_at(ingest_command(fixture, &store, &worktree_a), "ingest-staged", &fixture.root().join("ingest-paused"));
        assert_store_consistent(fixture, &store, "after an ingest killed at ingest-staged");
        assert_eq!(indexed_units(&store), Some(0), "an ingest killed before its commit stored units");
        assert!(object_files(&store) > 0, "an ingest paused at ingest-staged had written no object");
        ingest_completely(fixture, &store, &worktree_a);
        assert_store_consistent(fixture, &store, "after the ingest that followed one killed at ingest-staged");
        let worktree = fixture.add_worktree("after-ingest-kill");
        checkout_completely(fixture, &store, &worktree);
        assert_builds_fresh(fixture, &worktree, "build from a store whose ingest was killed at ingest-staged");
        self.record("ingest", "paused at ingest-staged");
    }

    /// Checkout into a deleted target directory, killed; then a full checkout (and, now and
    /// then, a build).
    fn kill_checkout(&mut self, fixture: &Fixture) {
        let store = fixture.store();
        ingest_completely(fixture, &store, &fixture.worktree_a());
        let worktree = fixture.add_worktree("b");
        let target = worktree.join("target");
        let mut duration =
            typical_run(|| remove_dir_if_present(&target), || checkout_command(fixture, &store, &worktree));
        let complete = regular_files(&target);
        // Most of a checkout's run is `cargo metadata`; the files are placed in the last part,
        // which starts by creating their directories. Every other kill is drawn from that part
        // only, so that partly placed targets are common, not a lucky draw.
        remove_dir_if_present(&target);
        let deps = target.join("debug").join("deps");
        let placing = time_until(&mut checkout_command(fixture, &store, &worktree), || deps.exists());
        eprintln!(
            "crash test: a complete checkout takes {duration:.1?}, places {complete} files, and starts placing \
             them after {placing:.1?}"
        );

        let mut iteration = 0;
        while self.survived("checkout") < CHECKOUT_KILLS {
            assert!(
                iteration < CHECKOUT_KILLS * ATTEMPTS_PER_KILL,
                "checkout finished first too often: {:?}",
                self.kills
            );
            remove_dir_if_present(&target);
            let from = if iteration.is_multiple_of(2) { Duration::ZERO } else { placing };
            let delay = self.random_delay_from(from, duration);
            let _scene = Scene(format!("checkout iteration {iteration}, kill after {delay:?}, seed {}", self.seed));
            if let Attempt::Killed = kill_after(&mut checkout_command(fixture, &store, &worktree), delay) {
                assert_store_consistent(fixture, &store, "after a killed checkout");
                let landing = match (regular_files(&target), temporary_files(&target).is_empty()) {
                    (0, _) => "nothing placed",
                    (placed, true) if placed < complete => "some files placed",
                    (placed, false) if placed < complete => "some files placed, temporary files left",
                    (_, true) => "every file placed",
                    (_, false) => "every file placed, temporary files left",
                };
                self.record("checkout", landing);
                checkout_completely(fixture, &store, &worktree);
                if self.survived("checkout").is_multiple_of(BUILD_EVERY) {
                    assert_builds_fresh(fixture, &worktree, "build after a killed checkout and a complete one");
                }
            } else {
                duration = shorter(duration, placing);
            }
            iteration += 1;
        }

        let _scene = Scene("checkout killed at checkout-registered".to_owned());
        remove_dir_if_present(&target);
        let flag = fixture.root().join("checkout-paused");
        kill_at(checkout_command(fixture, &store, &worktree), "checkout-registered", &flag);
        assert_store_consistent(fixture, &store, "after a checkout killed at checkout-registered");
        checkout_completely(fixture, &store, &worktree);
        assert_builds_fresh(fixture, &worktree, "build after a checkout killed at checkout-registered");
        self.record("checkout", "paused at checkout-registered");
    }

    /// An evicting gc of a store that was just filled, killed; then gc again.
    fn kill_gc(&mut self, fixture: &Fixture) {
        let store = fixture.store();
        let worktree_a = fixture.worktree_a();
        let mut duration = typical_run(
            || {
                ingest_completely(fixture, &store, &worktree_a);
            },
            || evicting_gc_command(fixture, &store),
        );
        eprintln!("crash test: a complete gc takes {duration:.1?}");

        let mut iteration = 0;
        while self.survived("gc") < GC_KILLS {
            assert!(iteration < GC_KILLS * ATTEMPTS_PER_KILL, "gc finished first too often: {:?}", self.kills);
            ingest_completely(fixture, &store, &worktree_a);
            let delay = self.random_delay(duration);
            let _scene = Scene(format!("gc iteration {iteration}, kill after {delay:?}, seed {}", self.seed));
            if let Attempt::Killed = kill_after(&mut evicting_gc_command(fixture, &store), delay) {
                assert_store_consistent(fixture, &store, "after a killed gc");
                let landing = match (indexed_units(&store), object_files(&store)) {
                    (Some(0), 0) => "everything deleted",
                    (Some(0), _) => "rows deleted, orphan files left",
                    _ => "nothing committed",
                };
                self.record("gc", landing);
            } else {
                duration = shorter(duration, Duration::ZERO);
            }
            gc_completely(fixture, &store);
            assert_store_consistent(fixture, &store, "after the gc that followed a killed one");
            iteration += 1;
        }

        // Killed with its plan made and nothing deleted: the store still has everything.
        let _scene = Scene("gc killed at gc-planned".to_owned());
        ingest_completely(fixture, &store, &worktree_a);
        kill_at(evicting_gc_command(fixture, &store), "gc-planned", &fixture.root().join("gc-paused"));
        assert_store_consistent(fixture, &store, "after a gc killed at gc-planned");
        assert_eq!(indexed_units(&store), Some(ELIGIBLE_UNITS), "a gc killed before its commit deleted units");
        gc_completely(fixture, &store);
        assert_store_consistent(fixture, &store, "after the gc that followed one killed at gc-planned");

        // The files the killed collections left behind do not spoil what is stored next.
        ingest_completely(fixture, &store, &worktree_a);
        let worktree: PathBuf = fixture.add_worktree("after-gc-kills");
        checkout_completely(fixture, &store, &worktree);
        assert_builds_fresh(fixture, &worktree, "build from a store whose collections were killed");
        self.record("gc", "paused at gc-planned");
    }
}

/// How one attempt ended.
enum Attempt {
    /// SIGKILL arrived while the command ran.
    Killed,
    /// The command exited on its own first (successfully: that is checked).
    Finished,
}

/// Starts `command`, waits `delay`, and kills it with SIGKILL if it is still running.
fn kill_after(command: &mut Command, delay: Duration) -> Attempt {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    std::thread::sleep(delay);
    if child.try_wait().expect("poll the command").is_none() {
        // `Child::kill` is SIGKILL on Unix. The process may still exit on its own between the
        // poll and the signal: only its exit status tells whether the kill landed.
        child.kill().expect("send SIGKILL");
    }
    let output = child.wait_with_output().expect("wait for the command");
    if output.status.signal() == Some(SIGKILL) {
        return Attempt::Killed;
    }
    assert!(
        output.status.success(),
        "`{}` finished before its kill, and failed\n{}",
        describe(command),
        printed(&output)
    );
    Attempt::Finished
}

/// Starts `command` paused at `point`, waits until it is there, kills it and deletes the pause
/// file.
fn kill_at(mut command: Command, point: &str, flag: &Path) {
    command
        .env("CARGO_STORE_TEST_PAUSE", format!("{point}={}", flag.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(&command)));
    let start = Instant::now();
    while !flag.exists() {
        if let Some(status) = child.try_wait().expect("poll the paused command") {
            let output = child.wait_with_output().expect("read what it printed");
            panic!("`{}` exited ({status}) before it reached {point}\n{}", describe(&command), printed(&output));
        }
        assert!(start.elapsed() < Duration::from_secs(120), "`{}` never reached {point}", describe(&command));
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("send SIGKILL");
    let status = child.wait().expect("wait for the killed command");
    assert_eq!(status.signal(), Some(SIGKILL), "`{}` was not killed at {point}", describe(&command));
    fs::remove_file(flag).expect("remove the pause file");
}

/// How long `command` takes until `reached` holds (polled every millisecond), in a run that
/// must then complete successfully. A run that ends before counts its whole duration.
fn time_until(command: &mut Command, reached: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    while !reached() && child.try_wait().expect("poll the command").is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    let output = child.wait_with_output().expect("wait for the command");
    assert!(output.status.success(), "`{}` failed\n{}", describe(command), printed(&output));
    elapsed
}

/// The median of [`TIMED_RUNS`] complete runs of the command `make` builds, each after
/// `prepare`: the random delays must cover a whole run, however the machine's load varies.
/// A run that finished before its kill was shorter than `duration` (a machine is faster at
/// times, with less load): the next delays are drawn from a shorter run, never shorter than
/// `floor`, the part before the interesting one.
fn shorter(duration: Duration, floor: Duration) -> Duration {
    duration.mul_f64(0.8).max(floor)
}

fn typical_run(mut prepare: impl FnMut(), make: impl Fn() -> Command) -> Duration {
    // The first run fills cargo-store's cache of `cargo metadata` and is several times slower
    // than the ones that follow: the median, not the longest, is what a kill has to hit.
    let mut runs: Vec<Duration> = (0..TIMED_RUNS)
        .map(|_| {
            prepare();
            let start = Instant::now();
            run(&mut make());
            start.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

/// `cargo-store <arguments>` against `store`.
fn store_command(fixture: &Fixture, store: &Path, arguments: &[&str]) -> Command {
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_DIR", store).args(arguments);
    command
}

fn ingest_command(fixture: &Fixture, store: &Path, worktree: &Path) -> Command {
    let mut command = store_command(fixture, store, &["ingest", "--json", "--manifest-path"]);
    command.arg(worktree.join("Cargo.toml"));
    command
}

fn checkout_command(fixture: &Fixture, store: &Path, worktree: &Path) -> Command {
    let mut command = store_command(fixture, store, &["checkout", "--json", "--manifest-path"]);
    command.arg(worktree.join("Cargo.toml"));
    command
}

fn evicting_gc_command(fixture: &Fixture, store: &Path) -> Command {
    store_command(fixture, store, &["gc", "--json", "--max-size", "1"])
}

fn status(fixture: &Fixture, store: &Path) -> StatusReport {
    let report: StatusReport = run_json(&mut store_command(fixture, store, &["status", "--json"]));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    report
}

/// A full ingest after a kill: it stores every eligible unit (or finds it stored).
fn ingest_completely(fixture: &Fixture, store: &Path, worktree: &Path) -> IngestReport {
    let report: IngestReport = run_json(&mut ingest_command(fixture, store, worktree));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    assert_eq!(report.units_added + report.units_already_stored, ELIGIBLE_UNITS, "{report:#?}");
    assert_eq!(status(fixture, store).units, ELIGIBLE_UNITS, "the ingest left units out: {report:#?}");
    report
}

/// A full checkout after a kill: it completes the target, with nothing in its way.
fn checkout_completely(fixture: &Fixture, store: &Path, worktree: &Path) -> CheckoutReport {
    let report: CheckoutReport = run_json(&mut checkout_command(fixture, store, worktree));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    assert!(report.conflicts.is_empty(), "a killed checkout left files in the way: {report:#?}");
    assert_eq!(report.units_skipped, 0, "{report:#?}");
    assert_eq!(report.units_placed + report.units_present, ELIGIBLE_UNITS, "{report:#?}");
    report
}

/// A full evicting gc after a kill: it runs and empties the store.
fn gc_completely(fixture: &Fixture, store: &Path) -> GcReport {
    let report: GcReport = run_json(&mut evicting_gc_command(fixture, store));
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    let after = status(fixture, store);
    assert_eq!((after.units, after.objects), (0, 0), "gc after a kill left units: {report:#?}\n{after:#?}");
    report
}

/// `cargo build` in `worktree` reuses every dependency and the app prints the right number.
fn assert_builds_fresh(fixture: &Fixture, worktree: &Path, context: &str) {
    let build = fixture.build(worktree, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh(context);
    assert_eq!(build.run_app(), EXPECTED_OUTPUT, "{context}");
}

/// The units the index of `store` lists, or `None` before the index has its tables.
fn indexed_units(store: &Path) -> Option<u64> {
    let index = store.join("index.sqlite");
    if !index.exists() {
        return None;
    }
    let connection = rusqlite::Connection::open(&index).expect("open the index");
    connection.query_row("SELECT count(*) FROM units", [], |row| row.get::<_, i64>(0)).ok().map(|count| count as u64)
}

/// The files under `store/objects/`, indexed or not.
fn object_files(store: &Path) -> usize {
    regular_files(&store.join("objects"))
}

/// The temporary files cargo-store left under `directory` (`.cargo-store-<pid>-<n>.tmp`).
fn temporary_files(directory: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(directory)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(TEMPORARY_PREFIX))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The regular files under `directory` (none if it does not exist).
fn regular_files(directory: &Path) -> usize {
    walkdir::WalkDir::new(directory)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .count()
}

fn remove_dir_if_present(directory: &Path) {
    match fs::remove_dir_all(directory) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("cannot delete {}: {error}", directory.display()),
    }
}
