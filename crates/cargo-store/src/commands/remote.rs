//! What the commands that use a remote share: `--remote`, and printing what it did.

use anyhow::Context as _;
use cargo_store_ops::{PullReport, PushReport};

use crate::output::{bytes, count, duration};

/// `--remote URL`, defaulting to `CARGO_STORE_REMOTE`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgument {
    /// The remote: `s3://BUCKET[/PREFIX]` (credentials, region and endpoint from the standard
    /// AWS variables and files; none for anonymous read) or `file:///PATH` (a shared
    /// directory).
    #[arg(long, value_name = "URL", env = cargo_store_ops::REMOTE_VARIABLE)]
    pub remote: Option<String>,
}

impl RemoteArgument {
    /// The remote, if one is configured.
    pub fn url(&self) -> Option<String> {
        cargo_store_ops::configured_remote(self.remote.as_deref())
    }

    /// The remote `--push` pushes to (`None` without `--push`); an error when none is
    /// configured.
    pub fn for_push(&self, push: bool) -> anyhow::Result<Option<String>> {
        if !push {
            return Ok(None);
        }
        self.required("--push needs a remote").map(Some)
    }

    /// The remote, for a command that needs one: an error saying `missing` and how to
    /// configure one when there is none.
    pub fn required(&self, missing: &str) -> anyhow::Result<String> {
        self.url().with_context(|| {
            format!(
                "{missing}\nhint: set CARGO_STORE_REMOTE=s3://BUCKET[/PREFIX] (or file:///PATH), or pass --remote URL"
            )
        })
    }
}

/// Prints a pull's summary (to stdout) and warnings (to stderr).
pub fn print_pull(report: &PullReport, quiet: bool) {
    for warning in &report.warnings {
        crate::output::message("warning", warning);
    }
    if quiet {
        return;
    }
    println!(
        "Pulled {} from {} in {} ({} downloaded, {} requests): {} found, {} already here{}",
        count(report.units_pulled, "unit"),
        report.remote,
        duration(report.elapsed_ms),
        bytes(report.traffic.bytes_downloaded),
        report.traffic.requests,
        report.units_found,
        report.units_present,
        if report.units_unavailable > 0 {
            format!(", {} unavailable", report.units_unavailable)
        } else {
            String::new()
        },
    );
    if report.units_found == 0 && report.warnings.is_empty() {
        let mine = &report.namespace;
        let homes: Vec<String> = report
            .other_namespaces
            .iter()
            .map(|other| format!("{} with CARGO_HOME={}", other.toolchain, other.cargo_home))
            .collect();
        let others = if homes.is_empty() { "nothing yet".to_owned() } else { homes.join("; ") };
        crate::output::message(
            "note",
            &format!(
                "the remote has no unit of this workspace for {} with CARGO_HOME={}; it has units built by: {others}\nhint: units are shared only between machines with the same toolchain and the same CARGO_HOME path (cargo fingerprints registry sources by their absolute path)",
                mine.toolchain, mine.cargo_home
            ),
        );
    }
}

/// Prints a push's summary (to stdout) and warnings (to stderr).
pub fn print_push(report: &PushReport, quiet: bool) {
    for warning in &report.warnings {
        crate::output::message("warning", warning);
    }
    if quiet {
        return;
    }
    println!(
        "Pushed {} to {} in {} ({} uploaded in {}, {} requests): {} there already{}",
        count(report.units_pushed, "unit"),
        report.remote,
        duration(report.elapsed_ms),
        bytes(report.traffic.bytes_uploaded),
        count(report.objects_uploaded, "object"),
        report.traffic.requests,
        count(report.units_present, "unit"),
        if report.units_skipped > 0 {
            format!(", {} skipped (a dependency could not be pushed)", report.units_skipped)
        } else {
            String::new()
        },
    );
}
