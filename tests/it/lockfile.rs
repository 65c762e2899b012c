//! cargo-store reads a workspace and never changes it: a `Cargo.lock` behind its `Cargo.toml`
//! stays byte for byte what it was, a workspace without one gets none, whichever command runs
//! (checkout, its dry run, ingest, exec, the git hook), and each says what to run instead. And
//! one target directory is one root, however `--target-dir` or `CARGO_TARGET_DIR` spell it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

use crate::fixture::{Build, BuildMode, ELIGIBLE_UNITS, Fixture};
use crate::reports::{IngestReport, REPORT_VERSION};
use crate::support::{describe, printed, run, run_json};

/// A vendored crate that no lock file of the fixture lists.
fn vendor_extra_crate(fixture: &Fixture) {
    let extra = fixture.root().join("vendor/extra");
    fs::create_dir_all(extra.join("src")).expect("create vendor/extra");
    fs::write(extra.join("Cargo.toml"), "[package]\nname = \"extra\"\nversion = \"1.0.0\"\nedition = \"2021\"\n")
        .expect("write extra's manifest");
    fs::write(extra.join("src/lib.rs"), "pub fn extra() -> u32 {\n    5\n}\n").expect("write extra's source");
    fs::write(extra.join(".cargo-checksum.json"), r#"{"files":{},"package":null}"#).expect("write the checksum");
}

/// Adds a dependency on `extra` to the `app` manifest of `worktree` (its last table is
/// `[dependencies]`), so that `Cargo.toml` is ahead of `Cargo.lock`.
fn depend_on_extra(worktree: &Path) {
    let manifest = worktree.join("app/Cargo.toml");
    let mut text = fs::read_to_string(&manifest).expect("read app's manifest");
    assert!(text.trim_end().rsplit("\n[").next().is_some_and(|table| table.starts_with("dependencies]")), "{text}");
    text.push_str("extra = \"1.0.0\"\n");
    fs::write(&manifest, text).expect("write app's manifest");
}

fn attempt(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)))
}

/// `git status --porcelain` in `worktree`: what a user sees as changed.
fn git_status(fixture: &Fixture, worktree: &Path) -> String {
    String::from_utf8_lossy(&run(fixture.git(worktree).args(["status", "--porcelain"])).stdout).into_owned()
}

/// Asserts that `stderr` names `lock`, has a `hint:` line saying one of `hints`, and says
/// that cargo-store leaves lock files alone; returns the hint.
fn assert_explains(stderr: &str, lock: &Path, says: &str, hints: &[&str], context: &str) -> String {
    assert!(
        stderr.contains(&format!("`{}`", lock.display())),
        "{context}: the message does not name the lock:\n{stderr}"
    );
    assert!(stderr.contains(says), "{context}: the message does not say {says:?}:\n{stderr}");
    assert!(
        stderr.contains("cargo-store does not"),
        "{context}: the message does not say what cargo-store won't do:\n{stderr}"
    );
    assert!(!stderr.contains("--locked"), "{context}: the user gave no --locked, cargo-store did:\n{stderr}");
    let hint = stderr
        .lines()
        .find(|line| line.starts_with("hint: "))
        .unwrap_or_else(|| panic!("{context}: no `hint:` line:\n{stderr}"));
    assert!(hints.iter().all(|phrase| hint.contains(phrase)), "{context}: the hint lacks one of {hints:?}: {hint}");
    hint.to_owned()
}

/// Runs checkout (dry run and real), ingest and exec against `worktree`, whose lock file does
/// not match its manifests or is absent, expecting each to leave the lock (or its absence) and
/// the worktree as they were and to explain, saying `says` and `hints`, why it did nothing.
fn assert_every_command_refuses(fixture: &Fixture, worktree: &Path, says: &str, hints: &[&str]) {
    let lock_path = worktree.join("Cargo.lock");
    let lock = fs::read(&lock_path).ok();
    let status = git_status(fixture, worktree);
    let manifest = worktree.join("Cargo.toml");
    let unchanged = |context: &str| {
        assert_eq!(fs::read(&lock_path).ok(), lock, "{context} changed (or created) {}", lock_path.display());
        assert_eq!(git_status(fixture, worktree), status, "{context} changed the worktree");
        assert!(!worktree.join("target").exists(), "{context} created the target directory");
    };

    for arguments in [&["checkout", "--dry-run"][..], &["checkout"], &["ingest"]] {
        let context = format!("`cargo store {}`", arguments.join(" "));
        let output = attempt(fixture.cargo_store().args(arguments).arg("--manifest-path").arg(&manifest));
        assert_eq!(output.status.code(), Some(1), "{context}: wrong exit code\n{}", printed(&output));
        assert!(output.stdout.is_empty(), "{context}\n{}", printed(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{context}\n{}", printed(&output));
        assert_explains(&stderr, &lock_path, says, hints, &context);
        unchanged(&context);
    }

    // exec still runs the command and exits as it did; checkout and ingest only warn.
    let ran = fixture.root().join("exec-ran");
    let _ = fs::remove_file(&ran);
    let output = attempt(fixture.cargo_store().args(["exec", "--manifest-path"]).arg(&manifest).args([
        "--",
        "sh",
        "-c",
        "touch exec-ran; exit 3",
    ]));
    let context = "`cargo store exec`";
    assert_eq!(output.status.code(), Some(3), "{context}: not the command's exit code\n{}", printed(&output));
    assert!(ran.exists(), "{context} did not run the command\n{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("warning: "), "{context}\n{}", printed(&output));
    assert_explains(&stderr, &lock_path, says, hints, context);
    unchanged(context);
}

#[test]
fn a_manifest_ahead_of_its_lock_is_refused_and_the_lock_left_alone() {
    let fixture = Fixture::new();
    vendor_extra_crate(&fixture);
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    // While the lock is fine, cargo-store remembers what cargo said about B.
    let fine = fixture.checkout(&worktree_b, &["--dry-run"]);
    assert_eq!((fine.dry_run, fine.units_placed), (true, ELIGIBLE_UNITS), "{fine:#?}");

    depend_on_extra(&worktree_b);
    assert_every_command_refuses(
        &fixture,
        &worktree_b,
        "is out of date with the dependencies of",
        &["cargo build", &format!("`{}`", worktree_b.display())],
    );

    // The hint's other way out updates the lock, and then checkout sees the new resolve.
    run(fixture.cargo(&worktree_b).args(["update", "--workspace", "--offline"]));
    let lock = fs::read_to_string(worktree_b.join("Cargo.lock")).expect("read B's lock");
    assert!(lock.contains("name = \"extra\""), "{lock}");
    let after = fixture.checkout(&worktree_b, &["--dry-run"]);
    assert_eq!(after.units_placed, ELIGIBLE_UNITS, "{after:#?}");
}

#[test]
fn a_workspace_without_a_lock_gets_none_created() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);
    let worktree_b = fixture.add_worktree("b");
    let fine = fixture.checkout(&worktree_b, &["--dry-run"]);
    assert_eq!(fine.units_placed, ELIGIBLE_UNITS, "{fine:#?}");

    // A repository that commits no lock file: the remembered answer must not be used.
    run(fixture.git(&worktree_b).args(["rm", "--quiet", "--cached", "Cargo.lock"]));
    fs::remove_file(worktree_b.join("Cargo.lock")).expect("remove B's lock");
    assert_every_command_refuses(
        &fixture,
        &worktree_b,
        "there is no lock file",
        &["cargo generate-lockfile", &format!("`{}`", worktree_b.display())],
    );

    // Once the user creates one, checkout works.
    run(fixture.cargo(&worktree_b).args(["generate-lockfile", "--offline"]));
    let report = fixture.checkout(&worktree_b, &[]);
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{report:#?}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("build after a checkout into a worktree whose lock was created later");
}

#[test]
fn git_worktree_add_with_the_hook_leaves_a_lock_behind_its_manifest_alone() {
    let fixture = Fixture::new();
    vendor_extra_crate(&fixture);
    let worktree_a = fixture.worktree_a();
    // Two commits a user may check out: one whose Cargo.toml is ahead of its lock, one that
    // commits no lock at all.
    let git = |arguments: &[&str]| run(fixture.git(&worktree_a).args(arguments));
    git(&["checkout", "--quiet", "-b", "ahead"]);
    depend_on_extra(&worktree_a);
    git(&["commit", "--quiet", "--all", "--message", "depend on extra"]);
    git(&["checkout", "--quiet", "-b", "no-lock", "main"]);
    git(&["rm", "--quiet", "Cargo.lock"]);
    git(&["commit", "--quiet", "--message", "commit no lock file"]);
    git(&["checkout", "--quiet", "main"]);
    run(fixture.cargo_store().args(["hook", "install", "--json", "--repository"]).arg(&worktree_a));

    for (branch, says, hint) in [
        ("ahead", "is out of date with the dependencies of", "cargo build"),
        ("no-lock", "there is no lock file", "cargo generate-lockfile"),
    ] {
        let worktree = fixture.root().join(branch);
        let output = run(fixture.git(&worktree_a).args(["worktree", "add", "--detach"]).arg(&worktree).arg(branch));
        let context = format!("`git worktree add` of `{branch}` with the hook");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cargo-store: could not check out"), "{context}: the hook said nothing\n{stderr}");
        assert_explains(&stderr, &worktree.join("Cargo.lock"), says, &[hint], &context);
        let committed = attempt(fixture.git(&worktree).args(["show", "HEAD:Cargo.lock"]));
        let lock = fs::read(worktree.join("Cargo.lock")).ok();
        assert_eq!(lock, committed.status.success().then_some(committed.stdout), "{context} changed the lock");
        assert_eq!(git_status(&fixture, &worktree), "", "{context} left the worktree changed");
        assert!(!worktree.join("target").exists(), "{context} created a target directory");
    }
}

/// `cargo-store roots --json`: the fields this test reads.
#[derive(Debug, Deserialize)]
struct RootsReport {
    version: u32,
    roots: Vec<Root>,
}

#[derive(Debug, Deserialize)]
struct Root {
    path: PathBuf,
    units: u64,
}

#[test]
fn one_target_directory_is_one_root_however_it_is_spelled() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let shared = fixture.root().join("shared");
    let mut build = fixture.build_command(&worktree_a, BuildMode::LEGACY_DEV);
    build.env("CARGO_TARGET_DIR", &shared);
    Build::run(&mut build);
    std::os::unix::fs::symlink(&shared, fixture.root().join("link")).expect("link to the shared target");

    // Without being told, ingest looks in `target/` and says how to point it elsewhere.
    let output = attempt(fixture.cargo_store().current_dir(&worktree_a).arg("ingest"));
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("`{}`", worktree_a.join("target").display())), "{stderr}");
    let hint = stderr.lines().find(|line| line.starts_with("hint: ")).unwrap_or_else(|| panic!("no hint:\n{stderr}"));
    assert!(hint.contains("--target-dir") && hint.contains("CARGO_TARGET_DIR"), "{hint}");

    let ingest = |configure: &dyn Fn(&mut Command)| -> IngestReport {
        let mut command = fixture.cargo_store();
        command.current_dir(&worktree_a).args(["ingest", "--json"]);
        configure(&mut command);
        let report: IngestReport = run_json(&mut command);
        assert_eq!(Path::new(&report.build_directory), shared, "{}: {report:#?}", describe(&command));
        report
    };
    let first = ingest(&|command| {
        command.args(["--target-dir", "../shared"]);
    });
    assert_eq!(first.units_added, ELIGIBLE_UNITS, "{first:#?}");
    ingest(&|command| {
        command.arg("--target-dir").arg(&shared);
    });
    ingest(&|command| {
        command.env("CARGO_TARGET_DIR", "./../app/../shared/");
    });
    ingest(&|command| {
        command.args(["--target-dir", "../link"]);
    });

    let roots: RootsReport = run_json(fixture.cargo_store().args(["roots", "--json"]));
    assert_eq!(roots.version, REPORT_VERSION);
    let paths: Vec<&Path> = roots.roots.iter().map(|root| root.path.as_path()).collect();
    assert_eq!(paths, [shared.as_path()], "{roots:#?}");
    assert_eq!(roots.roots[0].units, ELIGIBLE_UNITS, "{roots:#?}");

    // The summary for people counts units and packages apart, and agrees with the report.
    let output = run(fixture.cargo_store().current_dir(&worktree_a).args(["ingest", "--target-dir", "../shared"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(&format!("Ingested 0 units from `{}`", shared.display())), "{stdout}");
    for group in &first.skipped {
        let line = format!(
            "    {}: {} unit{} of {} package{} (",
            group.reason,
            group.units,
            if group.units == 1 { "" } else { "s" },
            group.packages.len(),
            if group.packages.len() == 1 { "" } else { "s" },
        );
        assert!(stdout.lines().any(|printed| printed.starts_with(&line)), "no line starting {line:?}:\n{stdout}");
    }
    assert!(first.skipped.iter().any(|group| group.reason == "workspace-member"), "{first:#?}");
}

#[test]
fn units_of_another_toolchain_name_it_and_say_how_to_store_them() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let wrapper = fixture.other_toolchain_rustc();
    let mut build = fixture.build_command(&worktree_a, BuildMode::LEGACY_DEV);
    build.env("RUSTC", &wrapper);
    Build::run(&mut build);

    let manifest = worktree_a.join("Cargo.toml");
    let output = run(fixture.cargo_store().arg("ingest").arg("--manifest-path").arg(&manifest));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = format!("    other-toolchain: {ELIGIBLE_UNITS} units of 5 packages (");
    assert!(stdout.lines().any(|line| line.starts_with(&summary)), "no line starting {summary:?}:\n{stdout}");
    let named = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("built by `"))
        .unwrap_or_else(|| panic!("the toolchain that built them is not named:\n{stdout}"));
    assert!(named.contains(") other-toolchain`") && named.contains("store ingest"), "{named}");

    // Ingesting with that toolchain, as suggested, stores them.
    let mut command = fixture.cargo_store();
    command.env("RUSTC", &wrapper).args(["ingest", "--json", "--manifest-path"]).arg(&manifest);
    let report: IngestReport = run_json(&mut command);
    assert_eq!(report.units_added, ELIGIBLE_UNITS, "{report:#?}");
}
