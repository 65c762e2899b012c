//! `cargo store repair`: recover from a lost or corrupt index.

use std::process::ExitCode;

use crate::Context;
use crate::output::{count, duration, json};

/// Recover the store's index.
///
/// `--rebuild-index` recreates the SQLite index from the object files and the manifests kept
/// beside them. The old index is renamed aside, never deleted. Registered worktrees are
/// forgotten until their next ingest or checkout; every restored unit counts as used now.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  cargo store repair --rebuild-index\n  cargo store repair --rebuild-index --json")]
pub struct Arguments {
    /// Recreate the index from `objects/` and `manifests/`.
    #[arg(long, required = true)]
    rebuild_index: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let report = cargo_store_ops::rebuild_index(&context.store, &mut context.waiting())
        .map_err(crate::failed("rebuilding the index failed"))?;
    if arguments.json {
        json(&report)?;
    } else if !context.quiet {
        // Said only when there are some: "0 left out: an object is missing" reads as a loss.
        let left_out = match report.units_dropped {
            0 => String::new(),
            dropped => format!(" ({} left out: an object or a dependency is missing)", count(dropped, "unit")),
        };
        println!(
            "Rebuilt the index of `{}` in {}: {}, {}{left_out}",
            report.store.display(),
            duration(report.elapsed_ms),
            count(report.objects, "object"),
            count(report.units, "unit"),
        );
        for path in &report.moved_aside {
            println!("  the previous index file is kept at `{}`", path.display());
        }
        for path in &report.manifests_unreadable {
            println!("  unreadable manifest: `{}`", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
