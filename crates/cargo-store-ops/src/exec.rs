//! `exec`: run a command (a build) between a checkout and an ingest of the same workspace.
//!
//! `cargo store exec -- cargo build` is the three steps a user would type, in one: warm the
//! target directory, build, store what the build made. The command is the point, so the two
//! bookkeeping steps around it may fail without it noticing (as cargo's global cache tracker
//! never fails a build): their errors go into the report, and the exit code is always the
//! command's. The command inherits stdin, stdout and stderr, and runs while no store lock is
//! held, so builds in other worktrees never wait on it.
//!
//! This module holds the report and the running of the command; the command file in the
//! binary calls [`crate::checkout`], [`run_command`] and [`crate::ingest`] in turn, printing
//! between them.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use serde::Serialize;

use crate::{CheckoutReport, Error, IngestReport, REPORT_VERSION};

/// What `cargo store exec` did.
#[derive(Debug, Clone, Serialize)]
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

impl ExecReport {
    /// A report for `command`, before anything ran.
    pub fn new(command: &[OsString]) -> ExecReport {
        ExecReport {
            version: REPORT_VERSION,
            command: command.iter().map(|word| word.to_string_lossy().into_owned()).collect(),
            checkout: None,
            checkout_error: None,
            exit_code: 0,
            signal: None,
            ingest: None,
            ingest_error: None,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Its exit code, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
}

impl Finished {
    /// The shell's reading of `status`: the exit code, or 128 + the terminating signal.
    pub fn from_status(status: ExitStatus) -> Finished {
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
    pub fn not_started(error: &Error) -> Finished {
        let not_found =
            matches!(error, Error::CommandNotStarted { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
        Finished { exit_code: if not_found { 127 } else { 126 }, signal: None }
    }
}

/// Runs `program` with `arguments` and the extra `environment`, inheriting stdin, stdout and
/// stderr, and waits for it.
pub fn run_command(
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
