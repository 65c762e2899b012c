//! `cargo store ingest`: store the dependency units of a built target directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_ops::{IngestOptions, SkipGroup, ingest_with_progress};
use cargo_store_units::Toolchain;

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
    /// Then push the workspace's units to the remote (for CI; a failing remote is a warning).
    #[arg(long, env = cargo_store_ops::PUSH_VARIABLE, value_parser = clap::builder::FalseyValueParser::new())]
    push: bool,
    #[command(flatten)]
    remote: crate::commands::remote::RemoteArgument,
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
        push: arguments.remote.for_push(arguments.push)?,
    };
    let progress = crate::output::ProgressBar::new(!arguments.json && !context.quiet);
    let report = ingest_with_progress(&options, &mut context.waiting(), &progress).context("ingest failed")?;
    if arguments.json {
        json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(pushed) = &report.push {
        crate::commands::remote::print_push(pushed, context.quiet);
    }
    if !context.quiet {
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
                println!("    {}", skip_line(group));
                if group.reason == cargo_store_ops::SkipReason::OtherToolchain {
                    for line in other_toolchains(&report.build_directory, &report.toolchain) {
                        println!("      {line}");
                    }
                }
            }
        }
        if let Some(collected) = &report.gc {
            println!("The store was over its size budget:");
            crate::commands::gc::print(collected);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One group of skipped units for people: `workspace-member: 10 units of 2 packages (app
/// v0.1.0, localdep v0.1.0); workspace members are built from the worktree itself`. A package
/// has several units (a lib, a build script, its run; per profile), so both are counted.
fn skip_line(group: &SkipGroup) -> String {
    const SHOWN: usize = 5;
    let mut packages = group.packages.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if group.packages.len() > SHOWN {
        packages.push_str(&format!(", and {} more", group.packages.len() - SHOWN));
    }
    format!(
        "{}: {} of {} ({packages}); {}",
        group.reason,
        count(group.units, "unit"),
        count(group.packages.len() as u64, "package"),
        group.explanation
    )
}

/// What to do about units of another toolchain, from the toolchains cargo recorded in the
/// build directory's `.rustc_info.json` (the ones that built it last) other than `current`
/// (a namespace, `rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu`). Nothing when the
/// file names none.
fn other_toolchains(build_directory: &std::path::Path, current: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let current_release = current.split_whitespace().nth(1).unwrap_or_default();
    for toolchain in Toolchain::recorded_in(build_directory) {
        if toolchain.namespace() == current || !seen.insert(toolchain.namespace()) {
            continue;
        }
        // `cargo +1.94.0` only picks another toolchain when the release differs; the same
        // release with another commit is a local or wrapped rustc that rustup cannot name.
        let command = match toolchain.rustup_name() {
            Some(name) if name != current_release => format!("`cargo +{name} store ingest`"),
            _ => "`cargo +TOOLCHAIN store ingest` (or with the RUSTC of that build)".to_owned(),
        };
        lines.push(format!(
            "built by `{}` (this workspace uses `{current}`): to store them, ingest with that toolchain: {command}",
            toolchain.version_line()
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_line_counts_units_and_packages_apart() {
        let group = SkipGroup {
            reason: cargo_store_ops::SkipReason::WorkspaceMember,
            explanation: "workspace members are built from the worktree itself".to_owned(),
            units: 10,
            packages: (1..=9).map(|n| format!("p{n} v0.1.0")).collect(),
        };
        assert_eq!(
            skip_line(&group),
            "workspace-member: 10 units of 9 packages (p1 v0.1.0, p2 v0.1.0, p3 v0.1.0, p4 v0.1.0, p5 v0.1.0, and 4 more); workspace members are built from the worktree itself"
        );
    }

    #[test]
    fn other_toolchains_are_named_from_the_rustc_info_cache() {
        let directory = tempfile::tempdir().expect("temporary directory");
        assert!(other_toolchains(directory.path(), "rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu").is_empty());
        let verbose = "rustc 1.94.0 (4a4ef493e 2026-01-19)\nbinary: rustc\ncommit-hash: 4a4ef493e3a1488c6e321570238084b38948f6db\ncommit-date: 2026-01-19\nhost: x86_64-unknown-linux-gnu\nrelease: 1.94.0\nLLVM version: 21.1.8\n";
        let info = serde_json::json!({
            "rustc_fingerprint": 1,
            "outputs": { "123": { "success": true, "status": "", "code": 0, "stdout": verbose, "stderr": "" } },
            "successes": {}
        });
        std::fs::write(directory.path().join(".rustc_info.json"), info.to_string()).expect("write");
        let lines = other_toolchains(directory.path(), "rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("`rustc 1.94.0 (4a4ef493e 2026-01-19)`"), "{lines:?}");
        assert!(lines[0].ends_with("`cargo +1.94.0 store ingest`"), "{lines:?}");
        assert!(other_toolchains(directory.path(), "rustc 1.94.0 (4a4ef493e) x86_64-unknown-linux-gnu").is_empty());
    }
}
