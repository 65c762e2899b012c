//! `cargo store hook`: the git `post-checkout` hook that checks out stored units into every
//! new worktree. The tests install it into the fixture's repository and run real `git`
//! commands (with the fixture's isolated environment: no global or system git config, the
//! fixture's CARGO_HOME) and assert what a user sees: a new worktree whose first build compiles
//! only the workspace, a hook of their own that still runs and comes back byte for byte, and a
//! hook that is not a shell script left alone with an explanation.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::fixture::{BuildMode, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::REPORT_VERSION;
use crate::support::{describe, printed, run, run_json};

const BEGIN_MARKER: &str = "# >>> cargo-store >>>";

/// `cargo-store hook install --json`.
#[derive(Debug, Deserialize)]
struct InstallReport {
    version: u32,
    path: PathBuf,
    /// `created`, `inserted`, `updated` or `unchanged`.
    action: String,
    command: Vec<String>,
    warnings: Vec<String>,
}

/// `cargo-store hook uninstall --json`.
#[derive(Debug, Deserialize)]
struct UninstallReport {
    version: u32,
    path: PathBuf,
    /// `removed-file`, `removed-block` or `not-installed`.
    action: String,
}

/// `cargo-store hook status --json`.
#[derive(Debug, Deserialize)]
struct StatusReport {
    version: u32,
    path: PathBuf,
    /// `no-hook`, `other-hook`, `current`, `outdated`, `damaged` or `unsupported`.
    state: String,
    installed: bool,
    up_to_date: bool,
    executable: bool,
    command: Vec<String>,
    warnings: Vec<String>,
}

/// `cargo-store hook <action> --json --repository <repository>`, with the fixture's store.
fn hook(fixture: &Fixture, action: &str, repository: &Path) -> Command {
    let mut command = fixture.cargo_store();
    command.args(["hook", action, "--json", "--repository"]).arg(repository);
    command
}

fn install(fixture: &Fixture, repository: &Path) -> InstallReport {
    let report: InstallReport = run_json(&mut hook(fixture, "install", repository));
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    report
}

fn uninstall(fixture: &Fixture, repository: &Path) -> UninstallReport {
    let report: UninstallReport = run_json(&mut hook(fixture, "uninstall", repository));
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    report
}

fn status(fixture: &Fixture, repository: &Path) -> StatusReport {
    let report: StatusReport = run_json(&mut hook(fixture, "status", repository));
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    report
}

/// The default hook path of the fixture's repository.
fn hook_path(fixture: &Fixture) -> PathBuf {
    fixture.worktree_a().join(".git/hooks/post-checkout")
}

/// Writes an executable hook with `contents` and `mode`.
fn write_hook(path: &Path, contents: &str, mode: u32) {
    fs::create_dir_all(path.parent().expect("a hooks directory")).expect("create the hooks directory");
    fs::write(path, contents).expect("write the hook");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("set the hook's mode");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat the hook").permissions().mode() & 0o7777
}

/// `git worktree add --detach <root>/<name>` from worktree A, with `CARGO_STORE_DIR` pointing
/// somewhere else than the store the hook was installed with: the hook must use its own.
/// Returns the new worktree and what git printed on stderr.
fn add_worktree(fixture: &Fixture, name: &str) -> (PathBuf, String) {
    let worktree = fixture.root().join(name);
    let mut git = fixture.git(&fixture.worktree_a());
    git.env("CARGO_STORE_DIR", fixture.root().join("not-the-store"))
        .args(["worktree", "add", "--detach"])
        .arg(&worktree);
    let output = run(&mut git);
    (worktree, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn git_worktree_add_warms_the_new_worktree() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let report = install(&fixture, &worktree_a);
    assert_eq!((report.action.as_str(), report.path.as_path()), ("created", hook_path(&fixture).as_path()));
    assert!(report.warnings.is_empty(), "{report:?}");
    let binary = Path::new(env!("CARGO_BIN_EXE_cargo-store")).canonicalize().expect("canonicalize the binary");
    let expected = [binary.display().to_string(), "--store".into(), fixture.store().display().to_string()];
    assert_eq!(report.command[..3], expected, "{report:?}");
    let script = fs::read_to_string(&report.path).expect("read the hook");
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert_eq!(mode(&report.path) & 0o111, 0o111, "the hook is executable");
    let current = status(&fixture, &worktree_a);
    assert_eq!(current.path, report.path);
    assert!(current.installed && current.up_to_date && current.executable, "{current:?}");
    assert_eq!((current.state.as_str(), &current.command), ("current", &report.command));
    assert!(current.warnings.is_empty(), "{current:?}");

    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    assert_eq!(fixture.ingest(&worktree_a).units_added, ELIGIBLE_UNITS);

    let (worktree_b, stderr) = add_worktree(&fixture, "b");
    assert!(!stderr.contains("cargo-store"), "the hook complained:\n{stderr}");
    let fingerprints = worktree_b.join("target/debug/.fingerprint");
    let placed = fs::read_dir(&fingerprints).map(Iterator::count).unwrap_or(0);
    assert!(placed >= 5, "the hook placed {placed} fingerprint directories in {}", fingerprints.display());

    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    build.assert_dependencies_fresh("first build in a worktree made by `git worktree add` with the hook");
    build.assert_workspace_compiled("first build in a worktree made by `git worktree add` with the hook");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);
}

#[test]
fn a_users_shell_hook_keeps_running_and_comes_back_exactly() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    let path = hook_path(&fixture);
    let log = fixture.root().join("their-hook.log");
    let theirs = format!("#!/bin/sh\nset -eu\nprintf '%s %s\\n' \"$1\" \"$3\" >> '{}'\nexit 0\n", log.display());
    write_hook(&path, &theirs, 0o750);

    let report = install(&fixture, &worktree_a);
    assert_eq!((report.action.as_str(), report.path.as_path()), ("inserted", path.as_path()));
    let installed = fs::read_to_string(&path).expect("read the hook");
    assert!(
        installed.starts_with("#!/bin/sh\n# >>> cargo-store >>>\n"),
        "the block goes after the #! line:\n{installed}"
    );
    assert!(installed.ends_with(&theirs["#!/bin/sh\n".len()..]), "the rest of the hook changed:\n{installed}");
    assert_eq!(mode(&path), 0o750, "install changed the hook's mode");
    let again = install(&fixture, &worktree_a);
    assert_eq!(again.action, "unchanged", "{again:?}");
    assert_eq!(fs::read_to_string(&path).expect("read the hook"), installed, "a second install changed the hook");
    assert_eq!(installed.matches(BEGIN_MARKER).count(), 1, "{installed}");

    // Both run on `git worktree add`: theirs logs, ours creates the target directory.
    let (worktree_b, stderr) = add_worktree(&fixture, "b");
    assert!(!stderr.contains("cargo-store"), "the hook complained:\n{stderr}");
    assert!(worktree_b.join("target/CACHEDIR.TAG").is_file(), "the checkout did not run in the new worktree");
    let head =
        String::from_utf8_lossy(&run(fixture.git(&worktree_b).args(["rev-parse", "HEAD"])).stdout).trim().to_owned();
    let logged = |log: &Path| fs::read_to_string(log).expect("their hook wrote its log");
    assert_eq!(logged(&log), format!("{} 1\n", "0".repeat(head.len())));

    // Switching branches runs the hook too, but not the checkout.
    fs::remove_dir_all(worktree_b.join("target")).expect("remove B's target");
    run(fixture.git(&worktree_b).args(["checkout", "--quiet", "-b", "feature"]));
    assert_eq!(logged(&log).lines().nth(1), Some(format!("{head} 1").as_str()), "their hook ran again");
    assert!(!worktree_b.join("target").exists(), "a branch checkout ran `cargo store checkout`");

    let removed = uninstall(&fixture, &worktree_a);
    assert_eq!((removed.action.as_str(), removed.path.as_path()), ("removed-block", path.as_path()));
    assert_eq!(fs::read_to_string(&path).expect("read the hook"), theirs, "uninstall did not restore the hook");
    assert_eq!(mode(&path), 0o750, "uninstall changed the hook's mode");
    let after = status(&fixture, &worktree_a);
    assert_eq!(after.state, "other-hook", "{after:?}");
    assert!(!after.installed && !after.up_to_date && after.executable, "{after:?}");
    assert_eq!(uninstall(&fixture, &worktree_a).action, "not-installed");
}

#[test]
fn a_hook_that_is_not_a_shell_script_is_refused_and_left_alone() {
    let fixture = Fixture::new();
    let path = hook_path(&fixture);
    let theirs = "#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n";
    write_hook(&path, theirs, 0o755);

    let mut command = hook(&fixture, "install", &fixture.worktree_a());
    let output = command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(&command)));
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    assert!(output.stdout.is_empty(), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: "), "{}", printed(&output));
    assert!(stderr.contains(&format!("`{}`", path.display())), "the message names the hook\n{}", printed(&output));
    assert!(stderr.contains("python3"), "{}", printed(&output));
    let hint = stderr.lines().find(|line| line.starts_with("hint: ")).unwrap_or_else(|| panic!("{}", printed(&output)));
    assert!(hint.contains("checkout --quiet") && hint.contains(&fixture.store().display().to_string()), "{hint}");
    assert_eq!(fs::read_to_string(&path).expect("read the hook"), theirs, "the hook was changed");

    let report = status(&fixture, &fixture.worktree_a());
    assert_eq!(report.state, "unsupported", "{report:?}");
    assert!(!report.installed, "{report:?}");
    assert_eq!(uninstall(&fixture, &fixture.worktree_a()).action, "not-installed");
    assert_eq!(fs::read_to_string(&path).expect("read the hook"), theirs, "the hook was changed");
}

#[test]
fn the_hook_goes_where_git_looks_for_hooks() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    // Hooks are shared by all worktrees: installing from a linked one writes the common hook.
    let worktree_b = fixture.add_worktree("b");
    let report = install(&fixture, &worktree_b);
    assert_eq!(report.path, hook_path(&fixture), "{report:?}");
    assert_eq!(uninstall(&fixture, &worktree_a).action, "removed-file", "install created it, so it goes");
    assert!(!hook_path(&fixture).exists());

    // core.hooksPath moves them.
    let hooks = fixture.root().join("shared-hooks");
    run(fixture.git(&worktree_a).args(["config", "core.hooksPath"]).arg(&hooks));
    let report = install(&fixture, &worktree_a);
    assert_eq!((report.action.as_str(), report.path.clone()), ("created", hooks.join("post-checkout")), "{report:?}");
    assert!(!hook_path(&fixture).exists(), "the hook went to .git/hooks despite core.hooksPath");
    let (worktree_c, stderr) = add_worktree(&fixture, "c");
    assert!(worktree_c.join("target/CACHEDIR.TAG").is_file(), "the hook in core.hooksPath did not run\n{stderr}");

    // A store that moved makes the block outdated; install rewrites it in place.
    let mut moved = hook(&fixture, "status", &worktree_a);
    moved.env("CARGO_STORE_DIR", fixture.root().join("moved-store"));
    let outdated: StatusReport = run_json(&mut moved);
    assert_eq!(outdated.state, "outdated", "{outdated:?}");
    assert!(outdated.installed && !outdated.up_to_date, "{outdated:?}");
    let mut moved = hook(&fixture, "install", &worktree_a);
    moved.env("CARGO_STORE_DIR", fixture.root().join("moved-store"));
    let updated: InstallReport = run_json(&mut moved);
    assert_eq!(updated.action, "updated", "{updated:?}");
    let script = fs::read_to_string(&updated.path).expect("read the hook");
    assert_eq!(script.matches(BEGIN_MARKER).count(), 1, "{script}");
    assert!(script.contains("moved-store"), "{script}");

    assert_eq!(uninstall(&fixture, &worktree_a).action, "removed-file");
    assert!(!hooks.join("post-checkout").exists());
}
