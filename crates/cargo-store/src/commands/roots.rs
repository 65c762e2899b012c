//! `cargo store roots`: the build directories the store keeps units for.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Context;
use crate::output::{ago, bytes, json};

/// List the registered build directories (roots), or forget one.
///
/// Every ingest and checkout registers its build directory. `cargo store gc` keeps the units
/// that live roots hold, and drops a root on its own once its directory has been gone for 7
/// days; `forget` drops one now (for example a worktree on a disk that will not come back).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store roots\n  cargo store roots --sweepable\n  cargo store roots forget ../old-worktree/target\n  cargo store roots --json"
)]
pub struct Arguments {
    #[command(subcommand)]
    action: Option<Action>,
    /// Also show what each build directory holds and what `cargo store sweep` would remove
    /// from it (a dry run of the sweep: it reads every build directory).
    #[arg(long)]
    sweepable: bool,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Stop keeping units for a build directory (or a worktree whose `target/` is registered).
    Forget {
        /// The build directory or worktree.
        path: PathBuf,
    },
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    match arguments.action {
        None => {
            let report = if arguments.sweepable {
                cargo_store_ops::roots_with_sweep(&context.store, &mut context.waiting())
            } else {
                cargo_store_ops::roots(&context.store, &mut context.waiting())
            }
            .map_err(crate::failed("roots failed"))?;
            if arguments.json {
                return json(&report).map(|()| ExitCode::SUCCESS);
            }
            if report.roots.is_empty() {
                println!("No roots: run `cargo store ingest` or `cargo store checkout` in a workspace.");
                return Ok(ExitCode::SUCCESS);
            }
            let now = cargo_store_cas::now();
            if arguments.sweepable {
                println!(
                    "{:<11} {:>6} {:>10} {:>10} {:>10} {:>10}  PATH",
                    "STATE", "UNITS", "SIZE", "LAST USED", "HOLDS", "SWEEPABLE"
                );
            } else {
                println!("{:<11} {:>6} {:>10} {:>10}  PATH", "STATE", "UNITS", "SIZE", "LAST USED");
            }
            for root in &report.roots {
                let sweep = if arguments.sweepable {
                    let size = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), bytes);
                    format!(" {:>10} {:>10}", size(root.disk_bytes), size(root.sweepable_bytes_freed))
                } else {
                    String::new()
                };
                println!(
                    "{:<11} {:>6} {:>10} {:>10}{sweep}  {}",
                    root.state,
                    root.units,
                    bytes(root.bytes),
                    ago(root.last_used, now),
                    root.path.display()
                );
            }
        }
        Some(Action::Forget { path }) => {
            let report = cargo_store_ops::forget(&context.store, &path, &mut context.waiting())
                .map_err(crate::failed("roots forget failed"))?;
            if arguments.json {
                json(&report)?;
            } else if !context.quiet {
                println!("Forgot `{}` ({} units no longer held by it)", report.path.display(), report.units);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
