//! `cargo store sweep`: keep the worktrees' own build directories lean.

use std::path::PathBuf;
use std::process::ExitCode;

use cargo_store_ops::{RootSkip, RootSweep, SweepOptions, SweepReport, SweepSkip, SweptBecause, SweptKind, sweep};

use crate::Context;
use crate::output::{bytes, count, duration, json, parse_duration, parse_size, span};

/// Remove what no current build uses from the worktrees' build directories.
///
/// Sweeps every registered build directory (each worktree that `cargo store ingest` or
/// `checkout` saw), or the workspaces and build directories given, in every profile and both
/// layouts. What goes: units that the most recent build, check and test of each workspace
/// target do not use and that were not used for `--max-age` (other features, RUSTFLAGS,
/// profiles, lock files), units of toolchains no longer installed, incremental directories
/// whose newest session is older than `--max-age` (never the newest of a crate, never one
/// rustc is using), and the old sessions rustc no longer reads. With `--max-size`, while a
/// build directory holds more, the least recently used of what no current build uses.
///
/// The most recent build, check and test of each profile stay fresh. A variant that went is
/// compiled again if it is asked for; `cargo store checkout` puts back the stored dependencies
/// that this repository's current builds use. A build directory where cargo is building is
/// skipped, and a cargo started during the sweep waits for it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store sweep --dry-run\n  cargo store sweep . --max-age 3d\n  cargo store sweep --max-size 10GiB --json"
)]
pub struct Arguments {
    /// Workspaces or build directories to sweep [default: every registered build directory]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Remove what no current build used for this long (s, m, h, d, w).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    max_age: i64,
    /// Then, while a build directory holds more than this, remove the least recently used of
    /// what no current build uses (B, K, M, G, T, KiB.., KB..).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,
    /// Change nothing; print what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = SweepOptions {
        store: context.store.clone(),
        paths: arguments.paths,
        max_age: arguments.max_age,
        max_size: arguments.max_size,
        dry_run: arguments.dry_run,
        auto: false,
    };
    let progress = crate::output::ProgressBar::new(!arguments.json && !context.quiet);
    let report = sweep(&options, &mut context.waiting(), &progress).map_err(crate::failed("sweep failed"))?;
    if arguments.json {
        json(&report)?;
    } else if !context.quiet {
        print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a report for people (also for a timer's log).
pub fn print(report: &SweepReport) {
    match report.skipped {
        Some(SweepSkip::Busy) => return println!("Skipped the sweep: another cargo-store command holds the store"),
        Some(SweepSkip::NoStore) => {
            return println!("Skipped the sweep: there is no store at `{}` yet", report.store.display());
        }
        None => {}
    }
    if report.roots.is_empty() {
        println!("No build directories to sweep: run `cargo store ingest` or `cargo store checkout` in a workspace.");
        return;
    }
    let verb = if report.dry_run { "Would remove" } else { "Removed" };
    println!(
        "{verb} {} from {} in {}: {} ({} freed on disk)",
        counted(report.entries_removed, "entry", "entries"),
        counted(report.roots.len() as u64, "build directory", "build directories"),
        duration(report.elapsed_ms),
        bytes(report.bytes_removed),
        bytes(report.bytes_freed),
    );
    for root in &report.roots {
        print_root(root, report.max_age);
    }
    if report.units_restorable > 0 {
        println!(
            "  {} of the units removed {} in the store: `cargo store checkout` puts back those that a current build of the repository uses",
            report.units_restorable,
            if report.units_restorable == 1 { "is" } else { "are" }
        );
    }
}

/// `1 entry`, `2 entries`: [`count`] for words whose plural is not theirs with an `s`.
fn counted(number: u64, singular: &str, plural: &str) -> String {
    if number == 1 { format!("1 {singular}") } else { format!("{number} {plural}") }
}

fn print_root(root: &RootSweep, max_age: i64) {
    let path = root.build_directory.display();
    if let Some(reason) = root.skipped {
        let why = match reason {
            RootSkip::CargoBuilding => format!(
                "cargo is building there (it holds `{}`)",
                root.lock.as_ref().map(|lock| lock.display().to_string()).unwrap_or_default()
            ),
            RootSkip::Missing => "it is gone".to_owned(),
            RootSkip::Replaced => "another directory is there now".to_owned(),
            RootSkip::Unreadable => format!("it cannot be read: {}", root.message.as_deref().unwrap_or_default()),
            RootSkip::NoWorkspace => {
                format!("no workspace builds into it: {}", root.message.as_deref().unwrap_or_default())
            }
            RootSkip::Failed => root.message.clone().unwrap_or_default(),
        };
        println!("  `{path}`: skipped: {why}");
        return;
    }
    println!(
        "  `{path}`: {} -> {} ({} of {} units used by the current builds)",
        bytes(root.bytes_before),
        bytes(root.bytes_after),
        root.units_current,
        root.units
    );
    for group in &root.removed {
        let entries = match group.kind {
            SweptKind::Superseded => count(group.entries, "superseded unit"),
            SweptKind::OtherToolchain => {
                counted(group.entries, "unit of another toolchain", "units of other toolchains")
            }
            SweptKind::IncrementalDirectory => {
                counted(group.entries, "incremental directory", "incremental directories")
            }
            SweptKind::IncrementalSession => count(group.entries, "old incremental session"),
        };
        let because = match group.because {
            SweptBecause::Age => format!("unused for {}", span(max_age)),
            SweptBecause::UninstalledToolchain => "its toolchain is no longer installed".to_owned(),
            SweptBecause::Size => "over --max-size".to_owned(),
        };
        println!("    {entries} ({because}): {} ({} freed)", bytes(group.bytes), bytes(group.bytes_freed));
    }
    if root.incremental_in_use > 0 {
        println!(
            "    {} left alone: rustc is using them",
            counted(root.incremental_in_use, "incremental directory", "incremental directories")
        );
    }
    for failure in &root.failures {
        println!("    not removed: {failure}");
    }
}
