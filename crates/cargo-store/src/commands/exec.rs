//! `cargo store exec`: check out, run a command (a build), ingest, and exit as the command did.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::commands::checkout::LinkModeArgument;
use anyhow::Context as _;
use cargo_store_ops::{CheckoutOptions, Error, ExecReport, Finished, IngestOptions, checkout, ingest, run_command};

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
    /// Print the report as JSON, as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// The command and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let Some((program, program_arguments)) = arguments.command.split_first() else {
        anyhow::bail!("no command given\nhint: `cargo store exec -- cargo build`");
    };
    let target_directory = match &arguments.target_dir {
        Some(directory) => Some(
            std::path::absolute(directory)
                .with_context(|| format!("cannot make `{}` absolute", directory.display()))?,
        ),
        None => None,
    };
    let human = !arguments.json && !context.quiet;
    let mut report = ExecReport::new(&arguments.command);

    let checkout_options = CheckoutOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path.clone(),
        target_directory: target_directory.clone(),
        link: arguments.link_mode.into(),
        strict: arguments.strict,
        dry_run: false,
        explain: false,
        sync: true,
    };
    match checkout(&checkout_options, &mut context.waiting()) {
        Ok(checked_out) => {
            if !arguments.json {
                for warning in &checked_out.warnings {
                    crate::output::message("warning", warning);
                }
            }
            if human && checked_out.units_placed > 0 {
                eprintln!(
                    "cargo-store: checked out {} into `{}` in {} ({})",
                    count(checked_out.units_placed, "unit"),
                    checked_out.build_directory.display(),
                    duration(checked_out.elapsed_ms),
                    bytes(checked_out.bytes),
                );
            }
            if human && !checked_out.conflicts.is_empty() {
                eprintln!(
                    "cargo-store: {} in the way left alone (`cargo store checkout` lists them)",
                    count(checked_out.conflicts.len() as u64, "file"),
                );
            }
            report.checkout = Some(checked_out);
        }
        Err(error) => {
            let text =
                warn("the checkout before the command failed; it runs with the target directory as it is", &error);
            report.checkout_error = Some(text);
        }
    }

    // The command's environment is ours, plus the target directory the checkout used.
    let environment: Vec<(OsString, OsString)> = target_directory
        .iter()
        .map(|directory| (OsString::from("CARGO_TARGET_DIR"), directory.clone().into_os_string()))
        .collect();
    let finished = match run_command(program, program_arguments, &environment) {
        Ok(finished) => finished,
        Err(error) => {
            // Nothing was built, so there is nothing to ingest.
            let finished = Finished::not_started(&error);
            crate::report_error(&anyhow::Error::new(error));
            report.exit_code = finished.exit_code;
            report.ingest_error = Some("not run: the command did not start".to_owned());
            return Ok(finish(&report, arguments.json));
        }
    };
    report.exit_code = finished.exit_code;
    report.signal = finished.signal;

    let ingest_options = IngestOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory,
        size_budget: (!arguments.no_gc).then_some(arguments.max_size),
    };
    match ingest(&ingest_options, &mut context.waiting()) {
        Ok(ingested) => {
            if human && ingested.units_added > 0 {
                eprintln!(
                    "cargo-store: ingested {} from `{}` in {}: {} added, {} deduplicated",
                    count(ingested.units_added, "unit"),
                    ingested.build_directory.display(),
                    duration(ingested.elapsed_ms),
                    bytes(ingested.bytes_added),
                    bytes(ingested.bytes_deduplicated),
                );
            }
            if human && ingested.gc.is_some() {
                eprintln!("cargo-store: the store was over its size budget and was collected (`cargo store status`)");
            }
            report.ingest = Some(ingested);
        }
        Err(Error::NotBuilt { path }) => {
            // The command built nothing (it need not be a build): not worth a warning.
            if human {
                eprintln!("note: nothing to ingest: `{}` does not exist", path.display());
            }
            report.ingest_error = Some(format!("`{}` does not exist: nothing was built", path.display()));
        }
        Err(error) => {
            let text = warn("the ingest after the command failed; the exit code is still the command's", &error);
            report.ingest_error = Some(text);
        }
    }
    Ok(finish(&report, arguments.json))
}

/// Prints the report with `--json`, and returns the command's exit code. A report that cannot
/// be printed does not change the exit code either.
fn finish(report: &ExecReport, as_json: bool) -> ExitCode {
    if as_json && let Err(error) = json(report) {
        eprintln!("{} cannot print the report: {error:#}", crate::output::label("warning"));
    }
    ExitCode::from(u8::try_from(report.exit_code).unwrap_or(1))
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
