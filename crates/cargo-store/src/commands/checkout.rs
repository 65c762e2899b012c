//! `cargo store checkout`: give a worktree a warm target directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_fs::LinkRequest;
use cargo_store_ops::{CheckoutOptions, checkout_with_progress};

use crate::Context;
use crate::output::{bytes, count, duration, json};

/// How files are placed (`--link-mode` of `checkout` and `exec`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LinkModeArgument {
    /// Reflink where possible; hard-link rustc outputs (.rlib, .rmeta); copy the rest.
    Auto,
    /// Reflink every file that may share data, else copy.
    Reflink,
    /// Also hard-link linked binaries (proc-macros, build scripts): a linker that rewrites
    /// files in place would then change the store.
    Hardlink,
    /// Copy every file.
    Copy,
}

impl From<LinkModeArgument> for LinkRequest {
    fn from(argument: LinkModeArgument) -> LinkRequest {
        match argument {
            LinkModeArgument::Auto => LinkRequest::Auto,
            LinkModeArgument::Reflink => LinkRequest::Reflink,
            LinkModeArgument::Hardlink => LinkRequest::Hardlink,
            LinkModeArgument::Copy => LinkRequest::Copy,
        }
    }
}

/// Lay the stored units of this workspace's dependencies into its target directory.
///
/// First ingests what the repository's other worktrees built since the last look (`--no-sync`
/// turns that off). Then the stored units of the packages in the workspace's Cargo.lock (all
/// profiles and targets that are stored, built by the same toolchain; of each package the
/// variants that the repository's other worktrees build) are placed with mtimes that make the
/// next `cargo build` find them fresh. Files that are already there are left alone, and so are
/// units cargo built here itself; a file that is there with other contents is never
/// overwritten: its unit is skipped and reported.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git worktree add ../feature && cd ../feature && cargo store checkout && cargo build\n  cargo store checkout --dry-run --explain\n  cargo store checkout --link-mode copy --json"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// How to place files; metadata files are always private copies.
    #[arg(long, value_enum, default_value = "auto")]
    link_mode: LinkModeArgument,
    /// Fail instead of falling back when the requested link mode does not work here.
    #[arg(long)]
    strict: bool,
    /// Change nothing; report what would be placed.
    #[arg(long)]
    dry_run: bool,
    /// Say, for every package of the lock file, why it was placed or not.
    #[arg(long)]
    explain: bool,
    /// Do not ingest first what the repository's other worktrees (`git worktree list`) built
    /// since the last look.
    #[arg(long)]
    no_sync: bool,
    #[command(flatten)]
    remote: crate::commands::remote::RemoteArgument,
    /// Do not pull from the remote first: place only what the local store has.
    #[arg(long)]
    offline: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let options = CheckoutOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory: arguments.target_dir,
        link: arguments.link_mode.into(),
        strict: arguments.strict,
        dry_run: arguments.dry_run,
        explain: arguments.explain,
        sync: !arguments.no_sync,
        remote: arguments.remote.url().filter(|_| !arguments.offline),
    };
    let progress = crate::output::ProgressBar::new(!arguments.json && !context.quiet);
    let report = checkout_with_progress(&options, &mut context.waiting(), &progress).context("checkout failed")?;
    if arguments.json {
        json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    for warning in &report.warnings {
        crate::output::message("warning", warning);
    }
    if context.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(pulled) = &report.remote
        && (pulled.units_pulled > 0 || pulled.units_found == 0 && pulled.warnings.is_empty())
    {
        // Its warnings are among the checkout's, printed above.
        crate::commands::remote::print_pull(
            &cargo_store_ops::PullReport { warnings: Vec::new(), ..pulled.clone() },
            false,
        );
    }
    if let Some(sync) = &report.sync {
        if sync.worktrees_synced > 0 {
            println!(
                "Synced {}: {} added, in {}",
                count(sync.worktrees_synced, "worktree"),
                count(sync.units_added, "unit"),
                duration(sync.elapsed_ms)
            );
        }
        for lock in &sync.busy {
            crate::output::message(
                "note",
                &format!("not synced: cargo is building there (it holds `{}`)", lock.display()),
            );
        }
        if sync.worktrees_deferred > 0 {
            crate::output::message(
                "note",
                &format!(
                    "{} not synced: the sync took its whole time budget",
                    count(sync.worktrees_deferred, "worktree")
                ),
            );
        }
        for failure in &sync.failures {
            crate::output::message("warning", &format!("not synced: {failure}"));
        }
    }
    let here = report.units_present + report.units_built_here;
    let nothing = report.units_placed == 0 && here > 0;
    let verb = if report.dry_run { "Would check out" } else { "Checked out" };
    if nothing {
        println!(
            "Nothing to check out into `{}` ({}): {} already there",
            report.build_directory.display(),
            duration(report.elapsed_ms),
            count(here, "unit")
        );
    } else {
        println!(
            "{verb} {} into `{}` in {} ({})",
            count(report.units_placed, "unit"),
            report.build_directory.display(),
            duration(report.elapsed_ms),
            bytes(report.bytes),
        );
    }
    if !report.dry_run && !nothing {
        println!(
            "  files: {} hardlinked, {} reflinked, {} copied, {} created, {} linked within units, {} already there",
            report.files_hardlinked,
            report.files_reflinked,
            report.files_copied,
            report.files_created,
            report.files_linked_within_units,
            report.files_present,
        );
    }
    if report.units_retimed > 0 {
        println!(
            "  {} placed as copies with later mtimes: a dependency here is newer than their stored copy (`cargo store ingest` after the build heals the store)",
            count(report.units_retimed, "unit")
        );
    }
    if report.units_present > 0 && !nothing {
        println!("  {} already there", count(report.units_present, "unit"));
    }
    if report.units_built_here > 0 && !nothing {
        println!("  {} built here by cargo already (left alone)", count(report.units_built_here, "unit"));
    }
    if report.units_other_variants > 0 {
        println!(
            "  {} of other variants left out: this repository's other worktrees build other ones",
            count(report.units_other_variants, "stored unit")
        );
    }
    if report.units_skipped > 0 {
        println!(
            "  {} left out (a conflicting file, a damaged object, a unit here that cargo rebuilds, or their dependents)",
            count(report.units_skipped, "unit")
        );
    }
    for conflict in report.conflicts.iter().take(10) {
        println!("  conflict: `{conflict}` exists with other contents (left alone)");
    }
    if report.conflicts.len() > 10 {
        println!("  ... and {} more conflicts", report.conflicts.len() - 10);
    }
    if !report.other_toolchains.is_empty() {
        crate::output::message(
            "hint",
            &format!(
                "the store has units of this workspace's packages only for {}; this workspace builds with {} (see `rustup show` and rust-toolchain.toml): build and ingest with this toolchain, or check out with the other one (`cargo +TOOLCHAIN store checkout`)",
                report.other_toolchains.join(", "),
                report.toolchain
            ),
        );
    }
    if !report.explanations.is_empty() {
        let width = report.explanations.iter().map(|explanation| explanation.package.len()).max().unwrap_or(0);
        println!();
        for explanation in &report.explanations {
            println!("  {:<width$}  {:<22}  {}", explanation.package, explanation.verdict, explanation.detail);
        }
    }
    Ok(ExitCode::SUCCESS)
}
