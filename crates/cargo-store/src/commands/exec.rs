//! `cargo store exec`: check out, run a command (a build), ingest, and exit as the command did.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::commands::checkout::LinkModeArgument;
use anyhow::Context as _;
use cargo_store_ops::{CheckoutReport, Error, ExecEvents, ExecOptions, IngestReport, exec};

use crate::Context;
use crate::output::{bytes, count, duration, json, parse_size};

/// Run a build between `cargo store checkout` and `cargo store ingest`.
///
/// First checks out the stored dependency units into the workspace's target directory, then
/// runs COMMAND (with this process's stdin, stdout and stderr), then ingests what it built,
/// even if it failed: the dependency units that did build are worth keeping. The exit code is
/// always COMMAND's (128 + the signal if a signal killed it; 127 if it was not found): a
/// failing checkout or ingest only prints a warning.
///
/// COMMAND runs in the current directory, unchanged; `--manifest-path` only names the
/// workspace to check out and ingest. With `--target-dir`, COMMAND gets CARGO_TARGET_DIR set to
/// it, so that cargo builds where the checkout went. cargo-store's own lines go to stderr;
/// with `--json`, the last line of stdout is the report (COMMAND's own output comes before it).
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "cargo store exec [OPTIONS] -- <COMMAND>...",
    after_help = "Examples:\n  cargo store exec -- cargo build --release\n  cargo store exec -- cargo test --workspace\n  cargo store exec --json -- cargo build --message-format=json | tail -n 1"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default (also given to COMMAND as
    /// CARGO_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// How the checkout places files (as `cargo store checkout --link-mode`).
    #[arg(long, value_name = "MODE", value_enum, default_value = "auto")]
    link_mode: LinkModeArgument,
    /// Make the checkout fail instead of falling back from the requested link mode.
    #[arg(long)]
    strict: bool,
    /// If the store is bigger than this after the ingest, collect garbage (as `cargo store
    /// ingest --max-size`).
    #[arg(long, value_name = "SIZE", default_value = "20GiB", env = "CARGO_STORE_MAX_SIZE", value_parser = parse_size)]
    max_size: u64,
    /// Never collect garbage after the ingest.
    #[arg(long)]
    no_gc: bool,
    /// Push the workspace's units to the remote after the ingest (for CI; a failing remote
    /// is a warning).
    #[arg(long, env = cargo_store_ops::PUSH_VARIABLE, value_parser = clap::builder::FalseyValueParser::new())]
    push: bool,
    #[command(flatten)]
    remote: crate::commands::remote::RemoteArgument,
    /// Do not pull from the remote before the checkout.
    #[arg(long)]
    offline: bool,
    /// Print the report as JSON, as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// The command and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let target_directory = match &arguments.target_dir {
        Some(directory) => Some(
            std::path::absolute(directory)
                .with_context(|| format!("cannot make `{}` absolute", directory.display()))?,
        ),
        None => None,
    };
    let options = ExecOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory,
        link: arguments.link_mode.into(),
        strict: arguments.strict,
        size_budget: (!arguments.no_gc).then_some(arguments.max_size),
        remote: arguments.remote.url(),
        offline: arguments.offline,
        push: arguments.remote.for_push(arguments.push)?.is_some(),
        command: arguments.command,
    };
    let mut printer = Printer { json: arguments.json, quiet: context.quiet, waiting: context.waiting() };
    let report = exec(&options, &mut printer);
    // A report that cannot be printed does not change the exit code either.
    if arguments.json
        && let Err(error) = json(&report)
    {
        eprintln!("{} cannot print the report: {error:#}", crate::output::label("warning"));
    }
    Ok(ExitCode::from(u8::try_from(report.exit_code).unwrap_or(1)))
}

/// Prints what happens between the steps on stderr: cargo-store's lines around COMMAND's own.
struct Printer<W> {
    /// `--json`: the warnings of a successful checkout are in the report, not on stderr.
    json: bool,
    /// `--quiet`.
    quiet: bool,
    /// Says what a step waits for.
    waiting: W,
}

impl<W> Printer<W> {
    /// Whether to print the lines that say what went well.
    fn human(&self) -> bool {
        !self.json && !self.quiet
    }
}

impl<W: FnMut(&str)> ExecEvents for Printer<W> {
    fn waiting(&mut self, message: &str) {
        (self.waiting)(message);
    }

    fn checked_out(&mut self, report: &CheckoutReport) {
        if !self.json {
            for warning in &report.warnings {
                crate::output::message("warning", warning);
            }
        }
        if self.human() && report.units_placed > 0 {
            eprintln!(
                "cargo-store: checked out {} into `{}` in {} ({})",
                count(report.units_placed, "unit"),
                report.build_directory.display(),
                duration(report.elapsed_ms),
                bytes(report.bytes),
            );
        }
        if self.human() && !report.conflicts.is_empty() {
            eprintln!(
                "cargo-store: {} in the way left alone (`cargo store checkout` lists them)",
                count(report.conflicts.len() as u64, "file"),
            );
        }
    }

    fn checkout_failed(&mut self, error: &Error) -> String {
        warn("the checkout before the command failed; it runs with the target directory as it is", error)
    }

    fn command_not_started(&mut self, error: Error) {
        crate::report_error(&anyhow::Error::new(error));
    }

    fn ingested(&mut self, report: &IngestReport) {
        if self.human() && report.units_added > 0 {
            eprintln!(
                "cargo-store: ingested {} from `{}` in {}: {} added, {} deduplicated",
                count(report.units_added, "unit"),
                report.build_directory.display(),
                duration(report.elapsed_ms),
                bytes(report.bytes_added),
                bytes(report.bytes_deduplicated),
            );
        }
        if self.human() && report.gc.is_some() {
            eprintln!("cargo-store: the store was over its size budget and was collected (`cargo store status`)");
        }
        if let Some(pushed) = &report.push {
            // Exec's own words go to stderr: stdout is the command's.
            for warning in &pushed.warnings {
                crate::output::message("warning", warning);
            }
            if self.human() && pushed.units_pushed > 0 {
                eprintln!(
                    "cargo-store: pushed {} to {} in {} ({} uploaded)",
                    count(pushed.units_pushed, "unit"),
                    pushed.remote,
                    duration(pushed.elapsed_ms),
                    bytes(pushed.traffic.bytes_uploaded),
                );
            }
        }
    }

    fn nothing_built(&mut self, path: &Path) {
        if self.human() {
            eprintln!("note: nothing to ingest: `{}` does not exist", path.display());
        }
    }

    fn ingest_failed(&mut self, error: &Error) -> String {
        warn("the ingest after the command failed; the exit code is still the command's", error)
    }
}

/// Prints `warning: <what>: <error and its causes>` and the error's hints on stderr, and
/// returns the error's text for the report.
fn warn(what: &str, error: &Error) -> String {
    let (bodies, hints) = crate::output::chain(error);
    let body = bodies.join(": ");
    eprintln!("{} {what}: {body}", crate::output::label("warning"));
    for hint in &hints {
        eprintln!("{} {hint}", crate::output::label("hint"));
    }
    let mut text = body;
    for hint in hints {
        text.push_str("\nhint: ");
        text.push_str(&hint);
    }
    text
}
