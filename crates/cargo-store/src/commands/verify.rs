//! `cargo store verify`: check that every object is what the index says it is.

use std::process::ExitCode;

use cargo_store_ops::{VerifyOptions, verify};

use crate::Context;
use crate::output::{bytes, count, duration, json};

/// Check the store: objects against the index, the index against itself, manifests on disk.
///
/// The quick check compares every object file's size, mtime and inode with what the index
/// recorded (objects that differ are rehashed); `--full` rehashes everything. A damaged object
/// is moved to `quarantine/` in the store. With `--repair` it is restored from a file of a
/// registered worktree that still hashes right; if none does, the units that need it are
/// dropped from the store (they are simply built again next time). Exits with 1 while
/// problems remain.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store verify\n  cargo store verify --full --repair\n  cargo store verify --json"
)]
pub struct Arguments {
    /// Rehash every object instead of trusting unchanged size, mtime and inode.
    #[arg(long)]
    full: bool,
    /// Restore damaged objects from worktrees, or drop the units that need them.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = VerifyOptions { store: context.store.clone(), full: arguments.full, repair: arguments.repair };
    let report = verify(&options, &mut context.waiting()).map_err(crate::failed("verify failed"))?;
    let code = if report.consistent { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    if !arguments.json {
        for problem in &report.problems {
            let state = if problem.repaired { "repaired" } else { "problem" };
            eprintln!("{state}: {} `{}`: {}", problem.kind, problem.path.display(), problem.detail);
        }
    }
    if !report.consistent {
        eprintln!(
            "{} run `cargo store verify --repair` to restore or drop what is damaged",
            crate::output::label("hint")
        );
    }
    if arguments.json {
        json(&report)?;
        return Ok(code);
    }
    if !context.quiet {
        println!(
            "Checked {} in `{}` in {} ({} rehashed, {}): {}",
            count(report.objects_checked, "object"),
            report.store.display(),
            duration(report.elapsed_ms),
            report.objects_hashed,
            bytes(report.bytes_hashed),
            if report.consistent { "consistent" } else { "problems remain" },
        );
        if report.objects_restored + report.units_dropped + report.objects_refreshed > 0 {
            println!(
                "  {} restored, {} dropped, {} recorded anew",
                count(report.objects_restored, "object"),
                count(report.units_dropped, "unit"),
                count(report.objects_refreshed, "object"),
            );
        }
    }
    Ok(code)
}
