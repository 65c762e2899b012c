//! `exec`: run a command (a build) between a checkout and an ingest of the same workspace.
//!
//! `cargo store exec -- cargo build` is the three steps a user would type, in one: warm the
//! target directory, build, store what the build made. The command is the point, so the two
//! bookkeeping steps around it may fail without it noticing (as cargo's global cache tracker
//! never fails a build): a failed checkout or ingest is a warning and goes into the report, a
//! command that built nothing (no build directory to ingest) is a note, and the exit code is
//! always the command's. The command inherits stdin, stdout and stderr, and runs while no store
//! lock is held, so builds in other worktrees never wait on it.
//!
//! What happens between the steps is told to an [`ExecEvents`], which the binary implements to
//! print it; the [`ExecReport`] at the end holds all of it again, for `--json`.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use cargo_store_fs::LinkRequest;
use serde::Serialize;

use crate::{CheckoutOptions, CheckoutReport, Error, IngestOptions, IngestReport, REPORT_VERSION};

/// What [`exec`] needs: the workspace, how to check out and ingest, and the command.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// The store directory.
    pub store: PathBuf,
    /// `--manifest-path`: the workspace to check out and ingest (the command runs in the
    /// current directory regardless).
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`, absolute: where the checkout goes and the ingest reads, given to the
    /// command as `CARGO_TARGET_DIR`.
    pub target_directory: Option<PathBuf>,
    /// `--link-mode` of the checkout.
    pub link: LinkRequest,
    /// `--strict`: make the checkout fail instead of falling back from the requested link mode.
    pub strict: bool,
    /// If the store is bigger than this after the ingest, collect garbage; `None` never does.
    pub size_budget: Option<u64>,
    /// The remote, if one is configured.
    pub remote: Option<String>,
    /// `--offline`: the checkout does not pull from the remote.
    pub offline: bool,
    /// `--push`: the ingest pushes to the remote.
    pub push: bool,
    /// The program and its arguments. An empty command is a program that cannot be started.
    pub command: Vec<OsString>,
}

/// What [`exec`] tells its caller between the steps, as they happen.
pub trait ExecEvents {
    /// A step waits for a lock (the store's, or cargo's build lock): told once per wait.
    fn waiting(&mut self, message: &str);
    /// The checkout before the command succeeded.
    fn checked_out(&mut self, report: &CheckoutReport);
    /// The checkout before the command failed: the command runs with the target directory as
    /// it is. Returns the error as the report is to carry it (its text as the caller prints it,
    /// so that the report and the warning say the same).
    fn checkout_failed(&mut self, error: &Error) -> String;
    /// The command could not be started: nothing was built, so nothing is ingested.
    fn command_not_started(&mut self, error: Error);
    /// The ingest after the command succeeded.
    fn ingested(&mut self, report: &IngestReport);
    /// There was no build directory to ingest (`path`): the command built nothing, which is not
    /// worth a warning, since it need not be a build.
    fn nothing_built(&mut self, path: &Path);
    /// The ingest after the command failed. Returns the error as the report is to carry it, as
    /// [`ExecEvents::checkout_failed`] does.
    fn ingest_failed(&mut self, error: &Error) -> String;
}

/// What `cargo store exec` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExecReport {
    /// Schema version of this report.
    pub version: u32,
    /// The command that was run.
    pub command: Vec<String>,
    /// What the checkout before the command did; `null` if it failed.
    pub checkout: Option<CheckoutReport>,
    /// Why the checkout failed, if it did.
    pub checkout_error: Option<String>,
    /// The command's exit code, or 128 + the signal that killed it, as shells report it; 127
    /// (not found) or 126 (cannot be run) if it did not start.
    pub exit_code: i32,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    /// What the ingest after the command did; `null` if it failed or was not run.
    pub ingest: Option<IngestReport>,
    /// Why the ingest failed or was not run, if it was not.
    pub ingest_error: Option<String>,
}

/// Checks out, runs the command, ingests what it built (even if it failed: the dependency
/// units that did build are worth keeping), telling `events` about each step. Never fails:
/// what went wrong is in the report, and its `exit_code` is the command's.
pub fn exec(options: &ExecOptions, events: &mut dyn ExecEvents) -> ExecReport {
    let mut report = ExecReport {
        version: REPORT_VERSION,
        command: options.command.iter().map(|word| word.to_string_lossy().into_owned()).collect(),
        checkout: None,
        checkout_error: None,
        exit_code: 0,
        signal: None,
        ingest: None,
        ingest_error: None,
    };

    let checkout_options = CheckoutOptions {
        store: options.store.clone(),
        manifest_path: options.manifest_path.clone(),
        target_directory: options.target_directory.clone(),
        link: options.link,
        strict: options.strict,
        dry_run: false,
        explain: false,
        sync: true,
        remote: options.remote.clone().filter(|_| !options.offline),
    };
    let checked_out = crate::checkout(&checkout_options, &mut |message: &str| events.waiting(message));
    match checked_out {
        Ok(checked_out) => {
            events.checked_out(&checked_out);
            report.checkout = Some(checked_out);
        }
        Err(error) => report.checkout_error = Some(events.checkout_failed(&error)),
    }

    // The command's environment is ours, plus the target directory the checkout used.
    let environment: Vec<(OsString, OsString)> = options
        .target_directory
        .iter()
        .map(|directory| (OsString::from("CARGO_TARGET_DIR"), directory.clone().into_os_string()))
        .collect();
    let (program, arguments) = match options.command.split_first() {
        Some((program, arguments)) => (program.as_os_str(), arguments),
        None => (OsStr::new(""), &[][..]),
    };
    let finished = match run_command(program, arguments, &environment) {
        Ok(finished) => finished,
        Err(error) => {
            report.exit_code = Finished::not_started(&error).exit_code;
            events.command_not_started(error);
            report.ingest_error = Some("not run: the command did not start".to_owned());
            return report;
        }
    };
    report.exit_code = finished.exit_code;
    report.signal = finished.signal;

    let ingest_options = IngestOptions {
        store: options.store.clone(),
        manifest_path: options.manifest_path.clone(),
        target_directory: options.target_directory.clone(),
        size_budget: options.size_budget,
        push: options.remote.clone().filter(|_| options.push),
    };
    let ingested = crate::ingest(&ingest_options, &mut |message: &str| events.waiting(message));
    match ingested {
        Ok(ingested) => {
            events.ingested(&ingested);
            report.ingest = Some(ingested);
        }
        Err(Error::NotBuilt { path }) => {
            events.nothing_built(&path);
            report.ingest_error = Some(format!("`{}` does not exist: nothing was built", path.display()));
        }
        Err(error) => report.ingest_error = Some(events.ingest_failed(&error)),
    }
    report
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Finished {
    /// Its exit code, or 128 + the signal that killed it.
    exit_code: i32,
    /// The signal that killed it, if one did.
    signal: Option<i32>,
}

impl Finished {
    /// The shell's reading of `status`: the exit code, or 128 + the terminating signal.
    fn from_status(status: ExitStatus) -> Finished {
        match (status.code(), status.signal()) {
            (Some(code), _) => Finished { exit_code: code, signal: None },
            (None, Some(signal)) => Finished { exit_code: 128 + signal, signal: Some(signal) },
            // Neither exited nor killed: only a stopped or continued child, which `wait` does
            // not return. Report a failure rather than success.
            (None, None) => Finished { exit_code: 1, signal: None },
        }
    }

    /// The exit code shells use for a command that could not be started: 127 when it was not
    /// found, 126 otherwise (found but not executable, say).
    fn not_started(error: &Error) -> Finished {
        let not_found =
            matches!(error, Error::CommandNotStarted { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
        Finished { exit_code: if not_found { 127 } else { 126 }, signal: None }
    }
}

/// Runs `program` with `arguments` and the extra `environment`, inheriting stdin, stdout and
/// stderr, and waits for it.
fn run_command(
    program: &OsStr,
    arguments: &[OsString],
    environment: &[(OsString, OsString)],
) -> crate::Result<Finished> {
    tracing::debug!("running {program:?} {arguments:?}");
    let status = Command::new(program)
        .args(arguments)
        .envs(environment.iter().map(|(key, value)| (key, value)))
        .status()
        .map_err(|source| Error::CommandNotStarted { program: program.to_string_lossy().into_owned(), source })?;
    Ok(Finished::from_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> crate::Result<Finished> {
        run_command(OsStr::new("sh"), &["-c".into(), script.into()], &[])
    }

    #[test]
    fn exit_codes_and_signals_read_as_a_shell_reads_them() -> crate::Result<()> {
        assert_eq!(sh("exit 0")?, Finished { exit_code: 0, signal: None });
        assert_eq!(sh("exit 3")?, Finished { exit_code: 3, signal: None });
        assert_eq!(sh("kill -TERM $$")?, Finished { exit_code: 143, signal: Some(15) });
        assert_eq!(sh("kill -KILL $$")?, Finished { exit_code: 137, signal: Some(9) });
        Ok(())
    }

    #[test]
    fn the_environment_reaches_the_command() -> crate::Result<()> {
        let finished = run_command(
            OsStr::new("sh"),
            &["-c".into(), "test \"$CARGO_TARGET_DIR\" = /somewhere".into()],
            &[("CARGO_TARGET_DIR".into(), "/somewhere".into())],
        )?;
        assert_eq!(finished.exit_code, 0);
        Ok(())
    }

    /// Records the events by name.
    #[derive(Default)]
    struct Recorder(Vec<&'static str>);

    impl ExecEvents for Recorder {
        fn waiting(&mut self, _message: &str) {
            self.0.push("waiting");
        }
        fn checked_out(&mut self, _report: &CheckoutReport) {
            self.0.push("checked out");
        }
        fn checkout_failed(&mut self, error: &Error) -> String {
            self.0.push("checkout failed");
            error.to_string()
        }
        fn command_not_started(&mut self, _error: Error) {
            self.0.push("not started");
        }
        fn ingested(&mut self, _report: &IngestReport) {
            self.0.push("ingested");
        }
        fn nothing_built(&mut self, _path: &Path) {
            self.0.push("nothing built");
        }
        fn ingest_failed(&mut self, error: &Error) -> String {
            self.0.push("ingest failed");
            error.to_string()
        }
    }

    fn options(directory: &Path, command: &[&str]) -> ExecOptions {
        ExecOptions {
            store: directory.join("store"),
            manifest_path: Some(directory.join("no-such-workspace").join("Cargo.toml")),
            target_directory: None,
            link: LinkRequest::Auto,
            strict: false,
            size_budget: None,
            remote: None,
            offline: false,
            push: false,
            command: command.iter().map(OsString::from).collect(),
        }
    }

    #[test]
    fn failing_bookkeeping_only_warns_and_the_exit_code_is_the_commands() {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let mut events = Recorder::default();
        let report = exec(&options(directory.path(), &["sh", "-c", "exit 3"]), &mut events);
        assert_eq!(events.0, ["checkout failed", "ingest failed"]);
        assert_eq!((report.exit_code, report.signal), (3, None));
        assert!(report.checkout.is_none() && report.checkout_error.is_some(), "{report:?}");
        assert!(report.ingest.is_none() && report.ingest_error.is_some(), "{report:?}");
    }

    #[test]
    fn a_command_that_does_not_start_is_not_followed_by_an_ingest() {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        for command in [&["cargo-store-no-such-program"][..], &[]] {
            let mut events = Recorder::default();
            let report = exec(&options(directory.path(), command), &mut events);
            assert_eq!(events.0, ["checkout failed", "not started"], "{command:?}");
            assert_eq!(report.exit_code, 127, "{command:?}");
            assert_eq!(report.ingest_error.as_deref(), Some("not run: the command did not start"));
        }
    }

    #[test]
    fn a_missing_program_is_127_as_in_a_shell() {
        let error = run_command(OsStr::new("cargo-store-no-such-program"), &[], &[]).expect_err("no such program");
        assert!(error.to_string().starts_with("cannot run `cargo-store-no-such-program`"), "{error}");
        assert_eq!(Finished::not_started(&error).exit_code, 127);
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let error = run_command(directory.path().as_os_str(), &[], &[]).expect_err("a directory cannot be run");
        assert_eq!(Finished::not_started(&error).exit_code, 126);
    }
}
