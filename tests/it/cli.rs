//! The command line as users reach it: `cargo store <command>` through cargo's subcommand
//! dispatch, `--store` versus `CARGO_STORE_DIR`, and `status` counts that agree with `ingest`.

use std::path::Path;
use std::process::Command;

use crate::fixture::{BuildMode, Fixture};
use crate::reports::{IngestReport, REPORT_VERSION, StatusReport};
use crate::support::{path_with, run_json};

/// `cargo store <arguments>` with the directory of the binary under test first on PATH.
fn cargo_store_subcommand(fixture: &Fixture, arguments: &[&str]) -> Command {
    let binary = Path::new(env!("CARGO_BIN_EXE_cargo-store"));
    let directory = binary.parent().expect("the binary has a directory");
    let mut command = fixture.cargo(fixture.root());
    command.env("PATH", path_with(directory)).env("CARGO_STORE_DIR", fixture.store()).arg("store").args(arguments);
    command
}

#[test]
fn cargo_store_status_agrees_with_ingest() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);

    // The flag wins over the environment: nothing may be written to the store it overrides.
    let overridden = fixture.root().join("overridden-store");
    let ingest: IngestReport = run_json(
        fixture
            .cargo_store()
            .env("CARGO_STORE_DIR", &overridden)
            .arg("--store")
            .arg(fixture.store())
            .arg("ingest")
            .arg("--json")
            .current_dir(&worktree_a),
    );
    assert!(ingest.units_added > 0, "{ingest:#?}");
    assert_eq!(Path::new(&ingest.store), fixture.store(), "{ingest:#?}");
    assert!(!overridden.exists(), "ingest --store wrote to CARGO_STORE_DIR {}", overridden.display());

    let status: StatusReport = run_json(&mut cargo_store_subcommand(&fixture, &["status", "--json"]));
    let context = format!("`cargo store status` after {ingest:#?}: {status:#?}");
    assert_eq!(status.version, REPORT_VERSION, "{context}");
    assert_eq!(Path::new(&status.store), fixture.store(), "{context}");
    assert!(status.objects > 0, "{context}");
    assert_eq!(status.units, ingest.units_added, "{context}");
    assert!(status.roots >= 1, "{context}");
    assert!(status.bytes_on_disk > 0, "{context}");

    // The same store named by the flag, through cargo, and directly: the same counts.
    let mut by_flag = cargo_store_subcommand(&fixture, &["--store"]);
    by_flag.arg(fixture.store()).args(["status", "--json"]).env("CARGO_STORE_DIR", &overridden);
    let by_flag: StatusReport = run_json(&mut by_flag);
    let direct = fixture.status();
    for other in [&by_flag, &direct] {
        assert_eq!(
            (other.objects, other.units, other.roots),
            (status.objects, status.units, status.roots),
            "{context}\nversus {other:#?}"
        );
    }
}
