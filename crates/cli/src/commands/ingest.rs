//! `cargo store ingest`: store the dependency units of a built target directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_ops::{IngestOptions, ingest_with_progress};

use crate::Context;
use crate::output::{bytes, count, duration, json, parse_size};

/// Store the dependency build units of a workspace's target directory.
///
/// Run it after `cargo build` (any profile, any `--target`). Units of registry and git
/// packages whose whole dependency closure is from registries or git are stored; workspace
/// members, path dependencies and whatever depends on them are skipped, with the reason.
/// Units already in the store cost one lookup each: a second ingest hashes nothing.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo build && cargo store ingest\n  cargo store ingest --manifest-path ../other/Cargo.toml --json"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// If the store is bigger than this afterwards, collect garbage as `cargo store gc
    /// --max-size` would (unless another cargo-store command is running).
    #[arg(long, value_name = "SIZE", default_value = "20GiB", env = "CARGO_STORE_MAX_SIZE", value_parser = parse_size)]
    max_size: u64,
    /// Never collect garbage after the ingest.
    #[arg(long)]
    no_gc: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = IngestOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory: arguments.target_dir,
        size_budget: (!arguments.no_gc).then_some(arguments.max_size),
    };
    let progress = crate::output::ProgressBar::new(!arguments.json && !context.quiet);
    let report = ingest_with_progress(&options, &mut context.waiting(), &progress).context("ingest failed")?;
    if arguments.json {
        json(&report)?;
    } else if !context.quiet {
        println!(
            "Ingested {} from `{}` in {}: {} added, {} deduplicated",
            count(report.units_added, "unit"),
            report.build_directory.display(),
            duration(report.elapsed_ms),
            bytes(report.bytes_added),
            bytes(report.bytes_deduplicated),
        );
        println!(
            "  {} already stored, {} hashed, {} in new units",
            count(report.units_already_stored, "unit"),
            count(report.files_hashed, "file"),
            count(report.files_added, "file"),
        );
        if report.units_skipped > 0 {
            println!("  {} skipped:", count(report.units_skipped, "unit"));
            for group in &report.skipped {
                let mut packages = group.packages.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
                if group.packages.len() > 5 {
                    packages.push_str(&format!(", and {} more", group.packages.len() - 5));
                }
                println!("    {} ({}): {packages}; {}", group.reason, group.units, group.explanation);
            }
        }
        if let Some(collected) = &report.gc {
            println!("The store was over its size budget:");
            crate::commands::gc::print(collected);
        }
    }
    Ok(ExitCode::SUCCESS)
}
