//! `cargo store status`: what the store holds.

use std::process::ExitCode;

use crate::Context;
use crate::output::{bytes, json};

/// Show the store's location and what it holds.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  cargo store status\n  cargo store status --json")]
pub struct Arguments {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let report =
        cargo_store_ops::status(&context.store, &mut context.waiting()).map_err(crate::failed("status failed"))?;
    if arguments.json {
        json(&report)?;
    } else {
        println!("store:   {}", report.store.display());
        println!("objects: {} ({})", report.objects, bytes(report.bytes_on_disk));
        println!("units:   {}", report.units);
        println!("roots:   {}", report.roots);
    }
    Ok(ExitCode::SUCCESS)
}
