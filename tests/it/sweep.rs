//! Sweep, with the store's clock set ahead (`CARGO_STORE_TEST_NOW`): a worktree that built
//! several variants (features, `cargo check`, `cargo test --no-run`, `--release`, RUSTFLAGS)
//! and then its current build loses the old variants and their incremental directories, in
//! both layouts, and its most recent build, check and test of each profile stay entirely fresh;
//! `--dry-run` changes nothing and says the same; what a worktree that never built lost comes
//! back with a checkout; a sweep never goes through a symbolic link or outside the build
//! directory, never touches a directory where cargo is building, and a killed sweep leaves a
//! directory cargo builds in; units of a toolchain that is gone go whatever their age;
//! `--max-size` takes the least recently used and never the current build.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::fixture::{Build, BuildMode, ELIGIBLE_UNITS, Fixture, Layout};
use crate::reports::REPORT_VERSION;
use crate::support::{assert_tree_unchanged, printed, run, run_json, snapshot_tree};

const DAY: i64 = 24 * 3600;

/// `cargo store sweep --json`.
#[derive(Debug, Deserialize)]
struct SweepReport {
    version: u32,
    dry_run: bool,
    roots: Vec<RootSweep>,
    roots_swept: u64,
    roots_skipped: u64,
    entries_removed: u64,
    bytes_removed: u64,
    bytes_freed: u64,
    units_restorable: u64,
}

/// One build directory of a [`SweepReport`].
#[derive(Debug, Deserialize)]
struct RootSweep {
    build_directory: String,
    /// `cargo-building`, `missing`, ... or none.
    skipped: Option<String>,
    lock: Option<String>,
    units: u64,
    units_current: u64,
    incremental_directories: u64,
    bytes_before: u64,
    bytes_after: u64,
    removed: Vec<SweptGroup>,
    entries_removed: u64,
    bytes_removed: u64,
    bytes_freed: u64,
    units_restorable: u64,
    failures: Vec<String>,
}

/// Entries removed of one kind for one reason.
#[derive(Debug, Deserialize, PartialEq, Eq)]
struct SweptGroup {
    /// `superseded`, `other-toolchain`, `incremental-directory` or `incremental-session`.
    kind: String,
    /// `age`, `uninstalled-toolchain` or `size`.
    because: String,
    entries: u64,
    bytes: u64,
    bytes_freed: u64,
}

impl RootSweep {
    /// The entries removed of `kind`, for any reason.
    fn removed(&self, kind: &str) -> u64 {
        self.removed.iter().filter(|group| group.kind == kind).map(|group| group.entries).sum()
    }
}

/// `cargo-store roots --sweepable --json`, the fields this test reads.
#[derive(Debug, Deserialize)]
struct RootsReport {
    roots: Vec<RootEntry>,
}

#[derive(Debug, Deserialize)]
struct RootEntry {
    path: String,
    disk_bytes: Option<u64>,
    sweepable_bytes: Option<u64>,
    sweepable_bytes_freed: Option<u64>,
}

/// The disk space that removing every file under `directory` (but cargo's lock) frees: the
/// blocks of each inode all of whose links are there; and how many files have a link
/// elsewhere.
fn freed_by_removing_all(directory: &Path) -> (u64, u64) {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    let mut inodes: HashMap<(u64, u64), (u64, u64, u64)> = HashMap::new();
    for entry in walkdir::WalkDir::new(directory).follow_links(false).into_iter().flatten() {
        let metadata = entry.metadata().expect("stat");
        if metadata.is_file() && entry.file_name() != ".cargo-lock" {
            let (links, _, _) =
                inodes.entry((metadata.dev(), metadata.ino())).or_insert((0, metadata.nlink(), metadata.blocks()));
            *links += 1;
        }
    }
    let freed = inodes.values().filter(|(found, links, _)| found >= links).map(|(_, _, blocks)| blocks * 512).sum();
    let shared = inodes.values().filter(|(found, links, _)| found < links).count() as u64;
    (freed, shared)
}

fn real_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// `cargo-store sweep --json <arguments>` with the store's clock at `now`.
fn sweep_at(fixture: &Fixture, now: i64, arguments: &[&str]) -> SweepReport {
    let report: SweepReport = run_json(
        fixture.cargo_store().env("CARGO_STORE_TEST_NOW", now.to_string()).args(["sweep", "--json"]).args(arguments),
    );
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    assert!(report.roots.iter().all(|root| root.failures.is_empty()), "{report:#?}");
    report
}

/// The fixture's project with variants to build: a feature (`fast`, which turns on `feat`'s),
/// a unit test using a dev-dependency, an integration test, and the fixture's proc-macro and
/// build script.
const PROJECT_MANIFEST: &str = "[package]\nname = \"variants\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                                [features]\nfast = [\"feat/fast\"]\n\n\
                                [dependencies]\nmid = \"1.0.0\"\npm = \"1.0.0\"\nnative = \"1.0.0\"\nfeat = \"1.0.0\"\n\n\
                                [dev-dependencies]\ndevonly = \"1.0.0\"\n";

const PROJECT_MAIN: &str = "fn main() {\n    println!(\"{}\", mid::mid() + pm::answer!() + native::native() + feat::feat());\n}\n\n\
                            #[test]\nfn adds_up() {\n    devonly::devonly();\n    assert!(mid::mid() > 10);\n}\n";

const PROJECT_TEST: &str = "#[test]\nfn runs() {\n    assert_eq!(2 + 2, 4);\n}\n";

/// The variants project, built in `layout`: cargo commands in it, and its build history.
struct Variants<'a> {
    fixture: &'a Fixture,
    project: PathBuf,
    layout: Layout,
}

impl<'a> Variants<'a> {
    /// Writes the project and builds, in order: the default build, a feature build, a check,
    /// the tests, a release build, a RUSTFLAGS build, and the default build again (the current
    /// one, which finds the first build's units fresh and so writes none).
    fn built(fixture: &'a Fixture, layout: Layout) -> Variants<'a> {
        let project = fixture.add_project_with("variants", PROJECT_MANIFEST, PROJECT_MAIN);
        fs::create_dir_all(project.join("tests")).expect("create tests/");
        fs::write(project.join("tests/runs.rs"), PROJECT_TEST).expect("write the integration test");
        let variants = Variants { fixture, project, layout };
        variants.cargo(&["build"]);
        variants.cargo(&["build", "--features", "fast"]);
        variants.cargo(&["check"]);
        variants.cargo(&["test", "--no-run"]);
        variants.cargo(&["build", "--release"]);
        variants.rustflags_build();
        let current = variants.cargo(&["build"]);
        assert!(
            current.units.iter().all(|unit| unit.fresh),
            "{}",
            current.explain("rebuilt something: the first build's units should still be there", "the current build")
        );
        variants
    }

    /// `cargo <arguments> --message-format=json --locked --offline` in the project's layout.
    fn command(&self, arguments: &[&str]) -> Command {
        let mut command = self.fixture.cargo(&self.project);
        command.args(arguments).args(["--message-format=json", "--locked", "--offline"]);
        command.env("CARGO_LOG", "cargo::core::compiler::fingerprint=info");
        if self.layout == Layout::New {
            command.env("RUSTC_BOOTSTRAP", "1").arg("-Zbuild-dir-new-layout");
        }
        command
    }

    fn cargo(&self, arguments: &[&str]) -> Build {
        Build::run(&mut self.command(arguments))
    }

    fn rustflags_build(&self) -> Build {
        Build::run(self.command(&["build"]).env("RUSTFLAGS", "-Cdebug-assertions=off"))
    }

    fn target(&self) -> PathBuf {
        self.project.join("target")
    }

    /// The most recent build, check and test of each profile: every unit fresh.
    fn assert_current_builds_fresh(&self, context: &str) {
        for arguments in [&["build"][..], &["check"], &["test", "--no-run"], &["build", "--release"]] {
            let build = self.cargo(arguments);
            let stale: Vec<String> = build
                .units
                .iter()
                .filter(|unit| !unit.fresh)
                .map(|unit| format!("{} {}", unit.package(), unit.target))
                .collect();
            assert!(
                stale.is_empty(),
                "{}",
                build.explain(
                    &format!("recompiled {stale:?} after the sweep (`cargo {}`)", arguments.join(" ")),
                    context
                )
            );
        }
    }

    /// The incremental crate directories of the dev profile.
    fn incremental_directories(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.target().join("debug/incremental"))
            .map(|entries| entries.flatten().map(|entry| entry.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The invariant and the freeing, in one layout: a month later the old variants and their
/// incremental directories go, the current build, check and test stay fresh, and the
/// variants that went are compiled again when asked for.
fn old_variants_go_and_the_current_builds_stay_fresh(layout: Layout, registered: bool) {
    let fixture = Fixture::new();
    let variants = Variants::built(&fixture, layout);
    let project = variants.project.clone();
    let target = variants.target();
    // The worktree is registered when it is ingested; otherwise it is swept by its path.
    let arguments: Vec<String> = if registered {
        fixture.ingest(&project);
        Vec::new()
    } else {
        vec![project.display().to_string()]
    };
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let incremental_before = variants.incremental_directories();

    // Today nothing is old enough: nothing goes.
    let today = sweep_at(&fixture, real_now(), &arguments);
    assert_eq!((today.roots_swept, today.entries_removed), (1, 0), "{today:#?}");

    // A month later, a dry run says what would go and changes nothing.
    let month_later = real_now() + 30 * DAY;
    let before = snapshot_tree(&target, |_| false);
    let dry = sweep_at(&fixture, month_later, &[&["--dry-run"][..], &arguments].concat());
    assert_tree_unchanged(&before, &snapshot_tree(&target, |_| false), "the target after a dry run");
    assert!(dry.dry_run);

    let swept = sweep_at(&fixture, month_later, &arguments);
    assert!(!swept.dry_run);
    assert_eq!((swept.roots_swept, swept.roots_skipped), (1, 0), "{swept:#?}");
    let root = &swept.roots[0];
    assert_eq!(Path::new(&root.build_directory), target, "{swept:#?}");
    assert_eq!(root.removed, dry.roots[0].removed, "the dry run said otherwise: {dry:#?}\n{swept:#?}");
    assert_eq!(
        (swept.entries_removed, swept.bytes_removed, swept.bytes_freed),
        (root.entries_removed, root.bytes_removed, root.bytes_freed),
        "the totals are not the root's: {swept:#?}"
    );
    // The feature and RUSTFLAGS variants of the dependencies and of the workspace's binary.
    assert!(root.removed("superseded") >= 6, "{swept:#?}");
    assert!(root.removed("incremental-directory") >= 1, "{swept:#?}");
    assert!(root.units_current > 0 && root.units_current < root.units, "{swept:#?}");
    assert!(root.bytes_freed > 0 && root.bytes_after < root.bytes_before, "{swept:#?}");
    assert_eq!(root.bytes_after, root.bytes_before - root.bytes_removed, "{swept:#?}");
    // Only the dev profile compiles incrementally.
    assert_eq!(root.incremental_directories, incremental_before.len() as u64, "{swept:#?}");
    let incremental_after = variants.incremental_directories();
    assert!(
        incremental_after.len() < incremental_before.len()
            && incremental_after.iter().all(|name| incremental_before.contains(name)),
        "incremental directories before {incremental_before:?}, after {incremental_after:?}"
    );
    if registered {
        // The feature variant of `feat` was ingested: the store has it.
        assert!(root.units_restorable > 0, "{swept:#?}");
    }

    variants.assert_current_builds_fresh("after the sweep");
    // A second sweep finds nothing more to do.
    let again = sweep_at(&fixture, month_later, &arguments);
    assert_eq!(again.entries_removed, 0, "{again:#?}");

    // What went was the old variants: asking for them again compiles them.
    let feature = variants.cargo(&["build", "--features", "fast"]);
    assert!(!feature.unit("feat", "lib").fresh, "{}", feature.explain("found the swept feature variant", "feature"));
    let flags = variants.rustflags_build();
    assert!(
        flags.units.iter().any(|unit| !unit.fresh),
        "{}",
        flags.explain("found the swept RUSTFLAGS variant", "RUSTFLAGS")
    );
}

#[test]
fn legacy_layout_a_registered_worktree_loses_its_old_variants_and_keeps_its_current_builds_fresh() {
    old_variants_go_and_the_current_builds_stay_fresh(Layout::Legacy, true);
}

#[test]
fn new_layout_a_worktree_given_by_path_loses_its_old_variants_and_keeps_its_current_builds_fresh() {
    old_variants_go_and_the_current_builds_stay_fresh(Layout::New, false);
}

#[test]
fn a_worktree_idle_for_a_month_is_swept_and_checkout_puts_its_dependencies_back() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let placed = fixture.checkout(&worktree_b, &[]);
    assert_eq!(placed.units_placed, ELIGIBLE_UNITS, "{placed:?}");

    // B never built: nothing there is used by a build of its own. A month on, `roots` says
    // what a sweep would take from each.
    let month_later = real_now() + 30 * DAY;
    let roots: RootsReport =
        run_json(fixture.cargo_store().env("CARGO_STORE_TEST_NOW", month_later.to_string()).args([
            "roots",
            "--sweepable",
            "--json",
        ]));
    let root_of = |worktree: &Path| {
        let target = worktree.join("target");
        roots.roots.iter().find(|root| Path::new(&root.path) == target).unwrap_or_else(|| panic!("{roots:#?}"))
    };
    let (a, b) = (root_of(&worktree_a), root_of(&worktree_b));
    assert_eq!(a.sweepable_bytes, Some(0), "A's current build uses everything in it: {roots:#?}");
    assert!(b.sweepable_bytes.is_some_and(|bytes| bytes > 0) && b.sweepable_bytes <= b.disk_bytes, "{roots:#?}");
    // A file frees its blocks when its last link goes: B's rlibs, hard-linked from the store,
    // free nothing; its private copies and cargo's own pairs of links within a unit do.
    let (freed, shared) = freed_by_removing_all(&worktree_b.join("target/debug"));
    assert!(shared > 0, "nothing in B is linked from the store");
    assert_eq!(b.sweepable_bytes_freed, Some(freed), "{roots:#?}");

    let swept = sweep_at(&fixture, month_later, &[]);
    assert_eq!(swept.roots_swept, 2, "{swept:#?}");
    let b_report = swept.roots.iter().find(|root| Path::new(&root.build_directory) == worktree_b.join("target"));
    let b_report = b_report.unwrap_or_else(|| panic!("{swept:#?}"));
    assert_eq!(
        (b_report.removed("superseded"), b_report.units_restorable),
        (ELIGIBLE_UNITS, ELIGIBLE_UNITS),
        "{swept:#?}"
    );
    assert_eq!(swept.units_restorable, ELIGIBLE_UNITS, "{swept:#?}");
    assert_eq!(Some(b_report.bytes_removed), b.sweepable_bytes, "roots --sweepable said otherwise: {roots:#?}");
    assert_eq!(b_report.bytes_freed, freed, "{swept:#?}");
    let a_report = swept.roots.iter().find(|root| Path::new(&root.build_directory) == worktree_a.join("target"));
    assert_eq!(a_report.map(|root| root.entries_removed), Some(0), "{swept:#?}");

    fixture.build(&worktree_a, BuildMode::LEGACY_DEV).assert_all_fresh("A after the sweep");
    let again = fixture.checkout(&worktree_b, &[]);
    assert_eq!(again.units_placed, ELIGIBLE_UNITS, "checkout did not put B's units back: {again:?}");
    fixture.build(&worktree_b, BuildMode::LEGACY_DEV).assert_dependencies_fresh("B after the sweep and a checkout");
}

#[test]
fn a_sweep_never_goes_through_a_symbolic_link_nor_outside_nor_where_cargo_builds() {
    let fixture = Fixture::new();
    let worktree = fixture.worktree_a();
    fixture.build(&worktree, BuildMode::LEGACY_DEV);
    let target = worktree.join("target");
    let debug = target.join("debug");

    // Outside the build directory: files that look like a unit and an incremental directory.
    let outside = fixture.root().join("outside");
    let fingerprint = outside.join("fingerprint");
    fs::create_dir_all(&fingerprint).expect("create outside/");
    fs::write(fingerprint.join("lib-evil"), "0123456789abcdef").expect("write");
    fs::write(fingerprint.join("lib-evil.json"), r#"{"rustc":1,"deps":[],"local":[]}"#).expect("write");
    fs::write(fingerprint.join("dep-lib-evil"), "").expect("write");
    fs::write(outside.join("precious"), "keep me").expect("write");
    let sessions = outside.join("incremental");
    fs::create_dir_all(sessions.join("s-h0000000000-0000000-0000000000")).expect("create");
    fs::write(sessions.join("s-h0000000000-0000000.lock"), "").expect("write");
    // Inside, links to them: a unit's fingerprint directory, a unit's output and an
    // incremental crate directory, all unused for a month by then.
    symlink(&fingerprint, debug.join(".fingerprint/evil-0123456789abcdef")).expect("symlink");
    fs::create_dir_all(debug.join(".fingerprint/lure-0123456789abcdef")).expect("create");
    fs::write(debug.join(".fingerprint/lure-0123456789abcdef/lib-lure"), "fedcba9876543210").expect("write");
    fs::write(debug.join(".fingerprint/lure-0123456789abcdef/lib-lure.json"), r#"{"rustc":1,"deps":[],"local":[]}"#)
        .expect("write");
    symlink(outside.join("precious"), debug.join("deps/liblure-0123456789abcdef.rlib")).expect("symlink");
    symlink(&sessions, debug.join("incremental/evil-0000000000000")).expect("symlink");
    let outside_before = snapshot_tree(&outside, |_| false);

    // While cargo holds the build lock, nothing is touched, and the report says why.
    let month_later = real_now() + 30 * DAY;
    let lock_path = debug.join(".cargo-lock");
    let before = snapshot_tree(&target, |_| false);
    {
        let lock = fs::File::open(&lock_path).expect("open cargo's lock");
        lock.lock().expect("hold cargo's lock");
        let busy = sweep_at(&fixture, month_later, &[worktree.to_str().expect("UTF-8")]);
        assert_eq!((busy.roots_skipped, busy.entries_removed), (1, 0), "{busy:#?}");
        assert_eq!(busy.roots[0].skipped.as_deref(), Some("cargo-building"), "{busy:#?}");
        assert_eq!(busy.roots[0].lock.as_deref().map(Path::new), Some(lock_path.as_path()), "{busy:#?}");
        assert_tree_unchanged(&before, &snapshot_tree(&target, |_| false), "the target while cargo builds");
    }

    let swept = sweep_at(&fixture, month_later, &[worktree.to_str().expect("UTF-8")]);
    assert_eq!(swept.roots_swept, 1, "{swept:#?}");
    assert_tree_unchanged(
        &outside_before,
        &snapshot_tree(&outside, |_| false),
        "the files outside the build directory",
    );
    // The lure's link went as a link; what it pointed to is there.
    assert!(fs::symlink_metadata(debug.join("deps/liblure-0123456789abcdef.rlib")).is_err(), "{swept:#?}");
    assert!(!debug.join(".fingerprint/lure-0123456789abcdef").exists(), "{swept:#?}");
    // Nothing was removed through the linked fingerprint directory, and the links are there.
    assert!(fs::symlink_metadata(debug.join(".fingerprint/evil-0123456789abcdef")).is_ok_and(|m| m.is_symlink()));
    assert!(fs::symlink_metadata(debug.join("incremental/evil-0000000000000")).is_ok_and(|m| m.is_symlink()));
    // Everything else of the workspace's current build is there: the build is fresh.
    fixture.build(&worktree, BuildMode::LEGACY_DEV).assert_all_fresh("after a sweep next to symbolic links");
}

#[test]
fn a_killed_sweep_leaves_a_directory_cargo_builds_in_and_max_size_spares_the_current_build() {
    let fixture = Fixture::new();
    let variants = Variants::built(&fixture, Layout::Legacy);
    let project = variants.project.display().to_string();
    let month_later = real_now() + 30 * DAY;

    // Killed right after it removed the first unit's fingerprint hash file.
    let flag = fixture.root().join("sweep-paused");
    let mut child = fixture
        .cargo_store()
        .env("CARGO_STORE_TEST_NOW", month_later.to_string())
        .env("CARGO_STORE_TEST_PAUSE", format!("sweep-removing={}", flag.display()))
        .args(["sweep", "--quiet", &project])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sweep");
    let start = Instant::now();
    while !flag.exists() {
        if let Some(status) = child.try_wait().expect("poll the sweep") {
            panic!("the sweep ended ({status}) before its pause point");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the sweep never reached its pause point");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill the sweep");
    let output = child.wait_with_output().expect("wait for the killed sweep");
    assert!(!output.status.success(), "{}", printed(&output));
    fs::remove_file(&flag).expect("remove the pause file");

    // Cargo builds every variant: the current ones as they were, the others at worst again.
    variants.assert_current_builds_fresh("after a killed sweep");
    variants.cargo(&["build", "--features", "fast"]);
    variants.rustflags_build();
    variants.cargo(&["build"]);
    variants.assert_current_builds_fresh("after building the variants again");

    // Today nothing is old; under a size budget of one byte everything but the current
    // builds goes, least recently used first.
    let sized = sweep_at(&fixture, real_now(), &["--max-size", "1", &project]);
    let root = &sized.roots[0];
    assert!(root.removed.iter().all(|group| group.because == "size"), "{sized:#?}");
    assert!(root.removed("superseded") > 0 && root.bytes_after > 0, "{sized:#?}");
    variants.assert_current_builds_fresh("after a sweep down to one byte");
    let again = sweep_at(&fixture, real_now(), &["--max-size", "1", &project]);
    assert_eq!(again.roots[0].removed("superseded"), 0, "{again:#?}");
}

#[test]
fn units_of_a_toolchain_that_is_gone_go_whatever_their_age() {
    let has_rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")))
        .is_some_and(|home| home.join("toolchains").is_dir());
    if !has_rustup {
        eprintln!("skipped: without rustup, which toolchains are installed cannot be told");
        return;
    }
    let fixture = Fixture::new();
    let worktree = fixture.worktree_a();
    // Built by a rustc that no rustup toolchain is, then by the real one.
    let rustc = fixture.other_toolchain_rustc();
    Build::run(fixture.build_command(&worktree, BuildMode::LEGACY_DEV).env("RUSTC", &rustc));
    fixture.build(&worktree, BuildMode::LEGACY_DEV);

    let swept = sweep_at(&fixture, real_now(), &[worktree.to_str().expect("UTF-8")]);
    let root = &swept.roots[0];
    let gone: Vec<&SweptGroup> = root.removed.iter().filter(|group| group.kind == "other-toolchain").collect();
    assert!(!gone.is_empty() && gone.iter().all(|group| group.because == "uninstalled-toolchain"), "{swept:#?}");
    // The workspace's own units of that toolchain, its binary among them, and the
    // dependencies: all of them are another toolchain's.
    assert!(gone.iter().map(|group| group.entries).sum::<u64>() >= ELIGIBLE_UNITS, "{swept:#?}");
    assert_eq!(root.removed("superseded"), 0, "nothing of this toolchain is old: {swept:#?}");
    fixture.build(&worktree, BuildMode::LEGACY_DEV).assert_all_fresh("after sweeping another toolchain's units");
}

/// What the timer runs when installed with `--sweep`: `gc --auto --sweep` collects, then
/// sweeps, and says both in its log.
#[test]
fn the_timer_job_sweeps_after_it_collects() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    fixture.checkout(&worktree_b, &["--no-sync"]);
    let month_later = (real_now() + 30 * DAY).to_string();

    let report: serde_json::Value = run_json(
        fixture.cargo_store().env("CARGO_STORE_TEST_NOW", &month_later).args(["gc", "--auto", "--sweep", "--json"]),
    );
    assert!(report["skipped"].is_null(), "{report:#}");
    let swept = &report["sweep"];
    assert_eq!(swept["units_restorable"], ELIGIBLE_UNITS, "B's idle units went: {report:#}");
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV).assert_all_fresh("A after the timer's sweep");

    // The next run the same day skips both, and says so in the log.
    let output = run(fixture.cargo_store().env("CARGO_STORE_TEST_NOW", &month_later).args(["gc", "--auto", "--sweep"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Skipped garbage collection: the last one was less than 20 hours ago"), "{stdout}");
    // Without --auto, the human report of a collection ends with the sweep's.
    let output = run(fixture.cargo_store().env("CARGO_STORE_TEST_NOW", &month_later).args([
        "gc",
        "--sweep",
        "--max-age",
        "60d",
    ]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Deleted") && stdout.contains("Removed 0 entries from 2 build directories"), "{stdout}");
}
