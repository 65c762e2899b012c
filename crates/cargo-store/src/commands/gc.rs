//! `cargo store gc`: keep the store bounded.

use std::process::ExitCode;

use cargo_store_ops::{
    AUTO_INTERVAL, Auto, CACHE_MAX_AGE, GcOptions, GcReport, GcSkip, MISSING_ROOT_GRACE, QUARANTINE_MAX_AGE, gc,
};

use crate::Context;
use crate::output::{bytes, count, duration, json, parse_duration, parse_size, span};

/// Delete what no registered worktree needs, and keep the store under its size budget.
///
/// First every registered build directory (root) is checked: a root whose directory is gone is
/// dropped after 7 days (a replaced one at once), and a root stops holding a unit once that
/// unit is no longer in its target directory (after `cargo clean`, say). Then units that no
/// root holds and that were not used for `--max-age` are deleted; then, while the store is
/// bigger than `--max-size`, the least recently used units (a worktree that uses one keeps its
/// own copy or link). A unit always goes with the units that depend on it. Files left over by
/// interrupted commands are deleted after an hour, the store's cached answers (of `cargo
/// metadata` and rustc) once unused for 30 days, and damaged objects `verify` moved to
/// `quarantine/` after 30 days.
///
/// Run it from a timer (`cargo store timer install`) with `--auto`: it then does nothing if
/// another cargo-store command is running, if the last collection was less than 20 hours ago,
/// or if there is no store yet. gc never creates a store: without `--auto`, a store that does
/// not exist is an error.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store gc --dry-run\n  cargo store gc --max-size 10GiB --max-age 14d\n  cargo store gc --auto           (what the timer runs; with --sweep it sweeps too)"
)]
pub struct Arguments {
    /// Delete units no worktree holds that were not used for this long (s, m, h, d, w).
    #[arg(long, value_name = "DURATION", default_value = "30d", env = "CARGO_STORE_MAX_AGE", value_parser = parse_duration)]
    max_age: i64,
    /// Then delete least recently used units while the store is bigger than this
    /// (B, K, M, G, T, KiB.., KB..).
    #[arg(long, value_name = "SIZE", default_value = "20GiB", env = "CARGO_STORE_MAX_SIZE", value_parser = parse_size)]
    max_size: u64,
    /// Change nothing; print what would be deleted.
    #[arg(long)]
    dry_run: bool,
    /// What the timer runs: first ingest every registered build directory that changed since
    /// it was last looked at (builds nobody ingested), then collect, unless the store is busy
    /// or was collected in the last 20 hours.
    #[arg(long)]
    auto: bool,
    /// Then sweep the registered build directories with the default age (7 days), as
    /// `cargo store sweep` does: what the timer runs when installed with `timer install
    /// --sweep`. Not in a dry run, nor when an automatic collection was skipped.
    #[arg(long)]
    sweep: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = GcOptions {
        store: context.store.clone(),
        max_age: arguments.max_age,
        max_size: arguments.max_size,
        dry_run: arguments.dry_run,
        auto: arguments.auto.then_some(Auto::Timer),
        sweep: arguments.sweep,
    };
    let report = gc(&options, &mut context.waiting()).map_err(crate::failed("gc failed"))?;
    if arguments.json {
        json(&report)?;
    } else if !context.quiet {
        print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a report for people (also used after an automatic collection).
pub fn print(report: &GcReport) {
    if let Some(refreshed) = &report.refreshed {
        println!(
            "Ingested {} of {} registered build directories that changed: {} added, in {}",
            refreshed.worktrees_synced,
            refreshed.worktrees_checked,
            count(refreshed.units_added, "unit"),
            duration(refreshed.elapsed_ms)
        );
        for lock in &refreshed.busy {
            println!("  not ingested: cargo is building there (it holds `{}`)", lock.display());
        }
        for failure in &refreshed.failures {
            println!("  not ingested: {failure}");
        }
    }
    if let Some(reason) = &report.skipped {
        let why = match reason {
            GcSkip::Busy => "another cargo-store command is running".to_owned(),
            GcSkip::Recent => format!("the last one was less than {} ago", span(AUTO_INTERVAL)),
            GcSkip::NoStore => format!("there is no store at `{}` yet", report.store.display()),
            GcSkip::UnderBudget => "the store is within its size budget".to_owned(),
        };
        println!("Skipped garbage collection: {why}");
        return;
    }
    let units = report.units_evicted_by_age + report.units_evicted_by_size + report.units_evicted_with_dependency;
    let verb = if report.dry_run { "Would delete" } else { "Deleted" };
    println!(
        "{verb} {} and {} from `{}` in {}: {} ({} freed on disk)",
        count(units, "unit"),
        count(report.objects_deleted + report.orphans_deleted, "file"),
        report.store.display(),
        duration(report.elapsed_ms),
        bytes(report.bytes_logical),
        bytes(report.bytes_freed),
    );
    if units > 0 {
        println!(
            "  units: {} unused and unreferenced, {} over the size budget, {} with a dependency",
            report.units_evicted_by_age, report.units_evicted_by_size, report.units_evicted_with_dependency
        );
    }
    println!("  store: {} -> {}", bytes(report.bytes_before), bytes(report.bytes_after));
    if report.cache_files_deleted > 0 {
        println!(
            "  cache: {} not used for {}, or for build directories no longer registered ({} freed on disk)",
            count(report.cache_files_deleted, "file"),
            span(CACHE_MAX_AGE),
            bytes(report.cache_bytes_freed)
        );
    }
    if report.quarantined_deleted > 0 {
        println!(
            "  quarantine: {} kept for {} deleted ({} freed on disk)",
            count(report.quarantined_deleted, "damaged object"),
            span(QUARANTINE_MAX_AGE),
            bytes(report.quarantined_bytes_freed)
        );
    }
    println!(
        "  roots: {} checked, {} missing (kept for {}), {} dropped, {} dropped",
        report.roots_checked,
        report.roots_missing.len(),
        span(MISSING_ROOT_GRACE),
        report.roots_dropped.len(),
        count(report.references_dropped, "stale reference")
    );
    for root in &report.roots_dropped {
        println!("  dropped root ({}): `{}`", root.reason, root.path.display());
    }
    if let Some(swept) = &report.sweep {
        crate::commands::sweep::print(swept);
    }
}
