//! `cargo store doctor`: will cargo-store work well here, and what to change if not.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_ops::{CheckStatus, DoctorOptions, DoctorReport, doctor};

use crate::Context;
use crate::output::{count, json};

/// Check the store, the filesystems and the link modes, and say what to change.
///
/// Checks that the store is safe to use (owned by you, not writable by others), which
/// filesystem it is on and how much room is left, that the store lock works, and what the
/// store holds. In a Cargo project it also finds the build directory and probes, with a small
/// temporary file, whether reflinks and hard links work from the store into it: that decides
/// whether checkout shares files or copies them. With a remote configured (`--remote` or
/// CARGO_STORE_REMOTE), it checks that the remote is reachable, exists and can be read, and
/// with `--push` written. Nothing is created or changed (but `--push`'s probe object): a store that
/// does not exist yet is checked through its parent directory, and the lock is only tried,
/// never waited for.
///
/// Each check is `ok`, `warning` (cargo-store works, but could work better) or `error`
/// (commands will fail), with a hint when it is not ok. The exit code is 1 if any check is an
/// error, 0 otherwise.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store doctor\n  cargo store --store /data/cargo-store doctor --manifest-path ../feature/Cargo.toml\n  cargo store doctor --json"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the worktree whose build directory is checked.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    #[command(flatten)]
    remote: crate::commands::remote::RemoteArgument,
    /// Also check that this machine can push to the remote: writes and deletes one small
    /// object (the only thing doctor ever writes).
    #[arg(long)]
    push: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = DoctorOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory: arguments.target_dir,
        remote: arguments.remote.url(),
        push: arguments.push,
    };
    let report = doctor(&options).context("doctor failed")?;
    if arguments.json {
        json(&report)?;
    } else {
        print(&report, context.quiet);
    }
    Ok(if report.healthy() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Prints the checks, one per line with their hints below, then a verdict. `--quiet` prints
/// only the errors.
fn print(report: &DoctorReport, quiet: bool) {
    let width = report.checks.iter().map(|check| check.name.len()).max().unwrap_or(0);
    if !quiet {
        println!("store: {}", report.store.display());
    }
    for check in &report.checks {
        if quiet && check.status != CheckStatus::Error {
            continue;
        }
        let status = match check.status {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Error => "error",
        };
        println!("{status:<7}  {:<width$}  {}", check.name, check.detail);
        if let Some(hint) = &check.hint {
            println!("{:<7}  {:<width$}  hint: {hint}", "", "");
        }
    }
    if quiet {
        return;
    }
    let (errors, warnings) = (report.count(CheckStatus::Error) as u64, report.count(CheckStatus::Warning) as u64);
    if errors > 0 {
        println!(
            "{}, {}: cargo-store commands will fail here until the errors are fixed",
            count(errors, "error"),
            count(warnings, "warning")
        );
    } else if warnings > 0 {
        println!("{}: cargo-store works here, and the hints above make it work better", count(warnings, "warning"));
    } else {
        println!("Everything looks good.");
    }
}
