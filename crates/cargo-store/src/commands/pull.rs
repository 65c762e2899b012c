//! `cargo store pull`: fill the local store from the remote.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_ops::{PullOptions, pull};

use crate::Context;
use crate::commands::remote::{RemoteArgument, print_pull};
use crate::output::json;

/// Download from the remote the units this workspace can use.
///
/// The units of the registry and git packages of the workspace's Cargo.lock, built by this
/// toolchain with this CARGO_HOME, that the local store lacks (with the dependencies they
/// need). Every object is checked against its blake3 hash before it enters the store; a unit
/// with a missing or damaged object is left out, with everything that depends on it.
/// `cargo store checkout` does the same by itself unless `--offline`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  CARGO_STORE_REMOTE=s3://team-cache/rust cargo store pull\n  cargo store pull --remote file:///mnt/shared/cargo-store --json"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgument,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let remote = arguments.remote.required("no remote configured")?;
    let options = PullOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory: arguments.target_dir,
        remote,
    };
    let report = pull(&options, &mut context.waiting()).context("pull failed")?;
    if arguments.json {
        json(&report)?;
    } else {
        print_pull(&report, context.quiet);
    }
    Ok(ExitCode::SUCCESS)
}
