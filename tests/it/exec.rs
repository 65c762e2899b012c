//! `cargo store exec -- <command>`: checkout, the command, ingest. What a user relies on: the
//! exit code is the command's whatever happens around it, a build through `exec` in a new
//! worktree compiles only the workspace, and a failed build still stores the dependencies it
//! built. The `--json` report is the last line of stdout, after the command's own output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cargo_metadata::Message;
use serde::Deserialize;

use crate::fixture::{Build, BuildMode, BuiltUnit, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::{CheckoutReport, IngestReport, REPORT_VERSION};
use crate::support::{describe, printed};

/// `cargo-store exec --json`: the last line of stdout.
#[derive(Debug, Deserialize)]
struct ExecReport {
    version: u32,
    command: Vec<String>,
    checkout: Option<CheckoutReport>,
    checkout_error: Option<String>,
    exit_code: i32,
    signal: Option<i32>,
    ingest: Option<IngestReport>,
    ingest_error: Option<String>,
}

/// `cargo-store exec <options> -- <command>` in `worktree`.
fn exec(fixture: &Fixture, worktree: &Path, options: &[&str], command: &[&str]) -> Command {
    let mut exec = fixture.cargo_store();
    exec.current_dir(worktree).arg("exec").args(options).arg("--").args(command);
    exec
}

/// Runs `command` to completion, whatever its exit code.
fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)))
}

/// The report on the last line of stdout, and the lines before it.
fn read_report(output: &Output) -> (ExecReport, Vec<String>) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let last = lines.pop().unwrap_or_else(|| panic!("exec printed nothing on stdout\n{}", printed(output)));
    let report: ExecReport = serde_json::from_str(&last)
        .unwrap_or_else(|error| panic!("the last line of stdout is not the exec report: {error}\n{}", printed(output)));
    assert_eq!(report.version, REPORT_VERSION, "{report:?}");
    assert_eq!(output.status.code(), Some(report.exit_code), "exit code and report disagree\n{}", printed(output));
    (report, lines)
}

/// The `cargo build --message-format=json` messages in `lines`, as the fixture reads them.
fn build_of(lines: &[String], output: &Output, command: &Command) -> Build {
    let units = Message::parse_stream(lines.join("\n").as_bytes())
        .map(|message| message.expect("read a line of cargo's output"))
        .filter_map(|message| match message {
            Message::CompilerArtifact(artifact) => Some(BuiltUnit {
                package_id: artifact.package_id.repr,
                target: artifact.target.name,
                kinds: artifact.target.kind.iter().map(ToString::to_string).collect(),
                fresh: artifact.fresh,
                executable: artifact.executable.map(PathBuf::from),
            }),
            _ => None,
        })
        .collect();
    Build { units, stderr: String::from_utf8_lossy(&output.stderr).into_owned(), command: describe(command) }
}

const CARGO_BUILD: [&str; 5] = ["cargo", "build", "--message-format=json", "--locked", "--offline"];

#[test]
fn the_exit_code_is_the_commands() {
    let fixture = Fixture::new();
    let worktree = fixture.worktree_a();

    let failed = output(&mut exec(&fixture, &worktree, &[], &["sh", "-c", "echo from the command; exit 3"]));
    assert_eq!(failed.status.code(), Some(3), "{}", printed(&failed));
    assert_eq!(String::from_utf8_lossy(&failed.stdout), "from the command\n", "stdout is the command's");

    let (report, lines) =
        read_report(&output(&mut exec(&fixture, &worktree, &["--json"], &["sh", "-c", "echo out; exit 3"])));
    assert_eq!((report.exit_code, report.signal), (3, None), "{report:?}");
    assert_eq!(report.command, ["sh", "-c", "echo out; exit 3"]);
    assert_eq!(lines, ["out"], "the command's stdout comes first, unchanged");
    assert!(report.checkout.is_some() && report.checkout_error.is_none(), "{report:?}");
    // Nothing was built, so there is nothing to store, and that is no failure.
    assert_eq!(report.ingest.as_ref().map(|ingest| ingest.units_added).unwrap_or(0), 0, "{report:?}");

    // Killed by a signal: 128 + the signal, as a shell says.
    let (report, _) = read_report(&output(&mut exec(&fixture, &worktree, &["--json"], &["sh", "-c", "kill -TERM $$"])));
    assert_eq!((report.exit_code, report.signal), (143, Some(15)), "{report:?}");

    // Not found: 127, as a shell says, and nothing to ingest.
    let missing = output(&mut exec(&fixture, &worktree, &["--json"], &["cargo-store-no-such-command"]));
    let (report, _) = read_report(&missing);
    assert_eq!(report.exit_code, 127, "{report:?}");
    assert!(report.ingest.is_none() && report.ingest_error.is_some(), "{report:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("error: cannot run `cargo-store-no-such-command`"), "{}", printed(&missing));
}

#[test]
fn a_failing_checkout_and_ingest_only_warn() {
    let fixture = Fixture::new();
    let worktree = fixture.worktree_a();
    let nowhere = fixture.root().join("no-such-workspace/Cargo.toml");
    let nowhere = nowhere.to_str().expect("a UTF-8 path");
    let finished = output(&mut exec(&fixture, &worktree, &["--json", "--manifest-path", nowhere], &["true"]));
    let (report, _) = read_report(&finished);
    assert_eq!(report.exit_code, 0, "{report:?}");
    assert!(report.checkout.is_none() && report.checkout_error.is_some(), "{report:?}");
    assert!(report.ingest.is_none() && report.ingest_error.is_some(), "{report:?}");
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert!(stderr.contains("warning: the checkout before the command failed"), "{}", printed(&finished));
    assert!(stderr.contains("warning: the ingest after the command failed"), "{}", printed(&finished));
    assert!(!stderr.contains("error:"), "{}", printed(&finished));
}

#[test]
fn a_build_through_exec_in_a_new_worktree_compiles_only_the_workspace() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    assert_eq!(fixture.ingest(&worktree_a).units_added, ELIGIBLE_UNITS);
    let worktree_b = fixture.add_worktree("b");

    let mut command = exec(&fixture, &worktree_b, &["--json"], &CARGO_BUILD);
    command.env("CARGO_LOG", "cargo::core::compiler::fingerprint=info");
    let finished = output(&mut command);
    let (report, lines) = read_report(&finished);
    assert_eq!(report.exit_code, 0, "{}", printed(&finished));
    let checkout = report.checkout.as_ref().unwrap_or_else(|| panic!("no checkout: {report:?}"));
    assert_eq!(checkout.units_placed, ELIGIBLE_UNITS, "{checkout:?}");
    assert_eq!(checkout.target_directory, worktree_b.join("target").display().to_string());

    let build = build_of(&lines, &finished, &command);
    build.assert_dependencies_fresh("`cargo store exec -- cargo build` in a new worktree");
    build.assert_workspace_compiled("`cargo store exec -- cargo build` in a new worktree");
    assert_eq!(build.run_app(), EXPECTED_OUTPUT);

    let ingest = report.ingest.as_ref().unwrap_or_else(|| panic!("no ingest: {report:?}"));
    assert_eq!((ingest.units_added, ingest.units_already_stored), (0, ELIGIBLE_UNITS), "{ingest:?}");
    assert_eq!(ingest.files_hashed, 0, "{ingest:?}");
}

#[test]
fn a_failed_build_keeps_its_exit_code_and_still_stores_the_dependencies() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    std::fs::write(worktree_a.join("app/src/main.rs"), "fn main() { this is not rust }\n").expect("break app");

    let mut command = exec(&fixture, &worktree_a, &["--json"], &CARGO_BUILD);
    let finished = output(&mut command);
    let (report, lines) = read_report(&finished);
    assert_eq!(report.exit_code, 101, "cargo's exit code for a failed build\n{}", printed(&finished));
    assert!(
        lines.iter().any(|line| line.contains("\"reason\":\"compiler-message\"")),
        "cargo's messages are on stdout\n{}",
        printed(&finished)
    );
    let ingest = report.ingest.as_ref().unwrap_or_else(|| panic!("no ingest after the failed build: {report:?}"));
    assert_eq!(ingest.units_added, ELIGIBLE_UNITS, "the dependencies built before app failed are stored: {ingest:?}");
    assert_eq!(fixture.status().units, ELIGIBLE_UNITS);
}
