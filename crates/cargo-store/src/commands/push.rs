//! `cargo store push`: upload to the remote what it lacks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_ops::{PushOptions, push};

use crate::Context;
use crate::commands::remote::{RemoteArgument, print_push};
use crate::output::json;

/// Upload to the remote the stored units of this workspace that it lacks.
///
/// Objects first (each written once, never replacing one that is there), then each unit's
/// manifest once its objects and its dependencies' manifests are there, then the index of the
/// workspace's resolve: a push killed at any point leaves no manifest whose objects are
/// missing, and the next push completes it. The only command that writes to the remote
/// (`ingest --push` and `exec --push` run it); developer machines usually only pull.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo build && cargo store ingest && cargo store push\n  cargo store push --all --remote s3://team-cache/rust --json"
)]
pub struct Arguments {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The target directory, if not the workspace's default.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Push every unit of the store, of every project and toolchain.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    remote: RemoteArgument,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let remote = arguments.remote.required("no remote configured")?;
    let options = PushOptions {
        store: context.store.clone(),
        manifest_path: arguments.manifest_path,
        target_directory: arguments.target_dir,
        remote,
        all: arguments.all,
    };
    let report = push(&options, &mut context.waiting()).context("push failed")?;
    if arguments.json {
        json(&report)?;
    } else {
        print_push(&report, context.quiet);
    }
    Ok(ExitCode::SUCCESS)
}
