//! `cargo store man` (being written).

use std::process::ExitCode;

use crate::Context;

/// Being written.
#[derive(Debug, clap::Args)]
pub struct Arguments {}

/// Runs the command.
pub fn run(_context: &Context, _arguments: Arguments) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available yet")
}
