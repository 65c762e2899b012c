//! Where the store is, as users name it: commands that only read the store (or collect it)
//! never create one at a mistyped path; `CARGO_STORE_DIR=` counts as unset; a relative
//! `--store` is resolved against the current directory with a note saying where, and a
//! relative `CARGO_STORE_DIR` is refused; `roots forget` takes any spelling of a root.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::fixture::Fixture;
use crate::reports::{CheckoutReport, GcReport, REPORT_VERSION, RootsReport, StatusReport};
use crate::support::{describe, printed, run, run_json, snapshot_tree};

/// Runs `command` to completion, whatever its exit status.
fn attempt(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)))
}

/// The binary under test with no store named by the fixture: the test names it.
fn cargo_store(fixture: &Fixture) -> Command {
    let mut command = fixture.cargo_store();
    command.env_remove("CARGO_STORE_DIR");
    command
}

/// `checkout --json` of worktree A into `a/target`: it creates the store on first use and
/// registers the root even when the store has nothing to place.
fn checkout_a(command: &mut Command, fixture: &Fixture) -> CheckoutReport {
    command.arg("checkout").arg("--json").arg("--manifest-path").arg(fixture.worktree_a().join("Cargo.toml"));
    let report: CheckoutReport = run_json(command);
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    report
}

/// Asserts the failure of a command run against `store`, where there is no store: exit code
/// 1, `error: no store at `<store>`` first, a `hint:` line that says how a store comes to be,
/// nothing on stdout.
fn assert_no_store(output: &Output, store: &Path, context: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = format!("{context}\n{}", printed(output));
    assert_eq!(output.status.code(), Some(1), "wrong exit code: {shown}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("error: no store at `{}`", store.display())), "wrong first line: {shown}");
    let hint = stderr.lines().find(|line| line.starts_with("hint:")).unwrap_or_else(|| panic!("no hint: {shown}"));
    assert!(hint.contains("cargo store ingest") && hint.contains("--store"), "unhelpful hint: {shown}");
    assert!(output.stdout.is_empty(), "printed a report anyway: {shown}");
}

/// The read-only commands (and gc) as a user types them, each after `--store <store>`.
const READ_ONLY: [&[&str]; 9] = [
    &["status"],
    &["status", "--json"],
    &["verify"],
    &["verify", "--full", "--json"],
    &["gc", "--dry-run"],
    &["gc"],
    &["roots"],
    &["roots", "forget", "a/target"],
    &["repair", "--rebuild-index"],
];

#[test]
fn read_only_commands_fail_on_a_missing_store_and_create_nothing() {
    let fixture = Fixture::new();
    let typo = fixture.root().join("typo");
    let store = typo.join("store");
    for arguments in READ_ONLY {
        let context = format!("`cargo store --store {} {}`", store.display(), arguments.join(" "));
        let output = attempt(cargo_store(&fixture).arg("--store").arg(&store).args(arguments));
        assert_no_store(&output, &store, &context);
        assert!(!typo.exists(), "{context} created `{}`", typo.display());
    }
    // Named by the environment instead of the flag: the same.
    let output = attempt(cargo_store(&fixture).env("CARGO_STORE_DIR", &store).arg("status"));
    assert_no_store(&output, &store, "status with CARGO_STORE_DIR");
    // doctor checks a store that does not exist yet, without creating it either.
    let output = attempt(cargo_store(&fixture).arg("--store").arg(&store).arg("doctor"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("does not exist yet"), "{}", printed(&output));
    assert!(!typo.exists(), "doctor created `{}`", typo.display());

    // The commands that fill the store still create it on first use, and then the others work.
    let report = checkout_a(cargo_store(&fixture).arg("--store").arg(&store).args(["--quiet"]), &fixture);
    assert_eq!(Path::new(&report.store), store, "{report:#?}");
    let status: StatusReport = run_json(cargo_store(&fixture).arg("--store").arg(&store).args(["status", "--json"]));
    assert_eq!((status.units, status.roots), (0, 1), "{status:#?}");
}

#[test]
fn a_directory_that_holds_no_store_is_left_alone() {
    let fixture = Fixture::new();
    // A mistyped `--store` that happens to name an existing directory: worktree A.
    let directory = fixture.worktree_a();
    let before = snapshot_tree(&directory, |_| false);
    for arguments in [&["status"][..], &["gc", "--dry-run"], &["verify"], &["roots"]] {
        let context = format!("`cargo store --store {} {}`", directory.display(), arguments.join(" "));
        let output = attempt(cargo_store(&fixture).arg("--store").arg(&directory).args(arguments));
        assert_no_store(&output, &directory, &context);
        assert!(String::from_utf8_lossy(&output.stderr).contains("holds no store"), "{context}\n{}", printed(&output));
        assert_eq!(snapshot_tree(&directory, |_| false), before, "{context} wrote into the directory");
    }
    let file = directory.join("Cargo.toml");
    let output = attempt(cargo_store(&fixture).arg("--store").arg(&file).arg("status"));
    assert_no_store(&output, &file, "status of a file");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a directory"), "{}", printed(&output));
}

#[test]
fn gc_from_the_timer_skips_a_store_that_does_not_exist_yet() {
    let fixture = Fixture::new();
    let store = fixture.root().join("not-yet");
    // The timer may be installed before the first ingest: its runs must not fail meanwhile.
    let report: GcReport = run_json(cargo_store(&fixture).arg("--store").arg(&store).args(["gc", "--auto", "--json"]));
    assert_eq!(report.skipped.as_deref(), Some("no-store"), "{report:#?}");
    let output = run(cargo_store(&fixture).arg("--store").arg(&store).args(["gc", "--auto"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("Skipped garbage collection: there is no store at `{}` yet", store.display())),
        "{}",
        printed(&output)
    );
    assert!(!store.exists(), "gc --auto created `{}`", store.display());
}

#[test]
fn an_empty_cargo_store_dir_counts_as_unset() {
    let fixture = Fixture::new();
    let home = fixture.root().join("home");
    let cache = fixture.root().join("cache");
    let default = |command: &mut Command| {
        command.env("CARGO_STORE_DIR", "").env("HOME", &home).env("XDG_CACHE_HOME", &cache);
    };

    // Not a usage error about a `--store` nobody typed: the default store, which is not there.
    let mut status = cargo_store(&fixture);
    default(&mut status);
    let output = attempt(status.arg("status"));
    assert_no_store(&output, &cache.join("cargo-store"), "status with CARGO_STORE_DIR=");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("--store <DIR>"), "{}", printed(&output));

    let mut checkout = cargo_store(&fixture);
    default(&mut checkout);
    let report = checkout_a(&mut checkout, &fixture);
    assert_eq!(Path::new(&report.store), cache.join("cargo-store"), "{report:#?}");
    let mut status = cargo_store(&fixture);
    default(&mut status);
    let status: StatusReport = run_json(status.args(["status", "--json"]));
    assert_eq!((Path::new(&status.store), status.roots), (cache.join("cargo-store").as_path(), 1), "{status:#?}");

    // With XDG_CACHE_HOME empty too, the store is under HOME.
    let mut status = cargo_store(&fixture);
    default(&mut status);
    let output = attempt(status.env("XDG_CACHE_HOME", "").arg("status"));
    assert_no_store(&output, &home.join(".cache/cargo-store"), "status with CARGO_STORE_DIR= XDG_CACHE_HOME=");
}

/// The `note:` lines of what a command printed on stderr.
fn notes(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("note:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_relative_store_flag_is_resolved_against_the_current_directory_with_a_note() {
    let fixture = Fixture::new();
    let work = fixture.root().join("work");
    fs::create_dir(&work).expect("create a working directory");
    let store = fixture.root().join("relative-store");

    let mut checkout = cargo_store(&fixture);
    checkout.current_dir(&work).args(["--store", "../relative-store", "checkout", "--json", "--manifest-path"]);
    let output = run(checkout.arg(fixture.worktree_a().join("Cargo.toml")));
    let report: CheckoutReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not only the report: {error}\n{}", printed(&output)));
    assert_eq!(Path::new(&report.store), store, "{report:#?}");
    assert!(store.join("index.sqlite").is_file(), "no store at `{}`", store.display());
    let noted = notes(&output);
    assert_eq!(noted.len(), 1, "{}", printed(&output));
    assert!(noted[0].contains(&format!("`{}`", store.display())), "{}", printed(&output));

    // From another directory, another spelling of the same store: the same store.
    let output = run(cargo_store(&fixture).args(["--store", "relative-store", "status", "--json"]));
    let status: StatusReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not only the report: {error}\n{}", printed(&output)));
    assert_eq!((Path::new(&status.store), status.roots), (store.as_path(), 1), "{status:#?}");
    assert_eq!(notes(&output).len(), 1, "{}", printed(&output));

    // `--quiet` keeps stderr for errors.
    let output = run(cargo_store(&fixture).args(["--quiet", "--store", "relative-store", "status"]));
    assert!(output.stderr.is_empty(), "{}", printed(&output));

    // An absolute store needs no note.
    let output = run(cargo_store(&fixture).arg("--store").arg(&store).arg("status"));
    assert!(output.stderr.is_empty(), "{}", printed(&output));
}

#[test]
fn a_relative_cargo_store_dir_is_refused() {
    let fixture = Fixture::new();
    for arguments in [&["status"][..], &["checkout", "--manifest-path", "a/Cargo.toml"]] {
        let context = format!("CARGO_STORE_DIR=relative-store cargo store {}", arguments.join(" "));
        let output = attempt(cargo_store(&fixture).env("CARGO_STORE_DIR", "relative-store").args(arguments));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = format!("{context}\n{}", printed(&output));
        assert_eq!(output.status.code(), Some(1), "{shown}");
        assert!(stderr.starts_with("error: CARGO_STORE_DIR is the relative path `relative-store`"), "{shown}");
        assert!(stderr.lines().any(|line| line.starts_with("hint:") && line.contains("absolute")), "{shown}");
        assert!(!fixture.root().join("relative-store").exists(), "{context} created a store");
    }
}

#[test]
fn roots_forget_accepts_every_spelling_of_a_root() {
    let fixture = Fixture::new();
    let store = fixture.store();
    let target = fixture.worktree_a().join("target");
    let work = fixture.root().join("work");
    fs::create_dir(&work).expect("create a working directory");
    symlink(fixture.worktree_a(), fixture.root().join("link-to-a")).expect("symlink to worktree A");
    let roots = || -> Vec<PathBuf> {
        let report: RootsReport = run_json(cargo_store(&fixture).arg("--store").arg(&store).args(["roots", "--json"]));
        report.roots.into_iter().map(|root| PathBuf::from(root.path)).collect()
    };

    let spellings: [(&Path, PathBuf); 6] = [
        (&work, PathBuf::from("../a/target")),
        (&work, PathBuf::from("../a")),
        (fixture.root(), PathBuf::from("a/./target")),
        (fixture.root(), PathBuf::from("link-to-a/target")),
        (&work, PathBuf::from("../link-to-a/../a/target/")),
        (&work, target.clone()),
    ];
    for (directory, spelling) in &spellings {
        checkout_a(cargo_store(&fixture).arg("--store").arg(&store), &fixture);
        assert_eq!(roots(), vec![target.clone()], "registered by checkout");
        let context = format!("roots forget {} (in {})", spelling.display(), directory.display());
        let mut forget = cargo_store(&fixture);
        forget.current_dir(directory).arg("--store").arg(&store).args(["roots", "forget"]).arg(spelling);
        let output = run(&mut forget);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.starts_with(&format!("Forgot `{}`", target.display())), "{context}\n{}", printed(&output));
        assert!(roots().is_empty(), "{context} left the root registered");
    }

    // A build directory that is gone is still forgotten by a relative spelling.
    checkout_a(cargo_store(&fixture).arg("--store").arg(&store), &fixture);
    fs::remove_dir_all(&target).expect("delete A's target");
    let mut forget = cargo_store(&fixture);
    forget.current_dir(&work).arg("--store").arg(&store).args(["roots", "forget", "../a/./target"]);
    run(&mut forget);
    assert!(roots().is_empty(), "a gone root stayed registered");

    // A path that is no root is an error that names the normalized path.
    let mut forget = cargo_store(&fixture);
    forget.current_dir(&work).arg("--store").arg(&store).args(["roots", "forget", "../elsewhere/./target"]);
    let output = attempt(&mut forget);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let named = fixture.root().join("elsewhere/target");
    assert!(stderr.contains(&format!("`{}` is not a registered build directory", named.display())), "{stderr}");
}
