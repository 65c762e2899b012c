//! What the command line says about itself: `--help` of the top level and of every command,
//! compared whole with its snapshot in `tests/it/snapshots/it__help__<command>.snap`
//! (`cargo-store` for the top level), and the completion scripts and manual pages generated
//! from the same command definitions.
//!
//! After changing a command's arguments or their documentation, review the new help and take
//! it as the snapshot (see [`crate::snapshot`]):
//!
//! ```console
//! $ cargo insta test --review -- help::
//! ```
//!
//! Help is rendered with a fixed width (`COLUMNS=100`), without colors (`NO_COLOR=1`), with
//! stdin, stdout and stderr not terminals and with an empty environment (but for a `HOME`), so
//! that neither the terminal nor a `CARGO_STORE_DIR` shown as `[env: ...]` changes the text.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::snapshot::{Filters, cargo_store_snapshot};
use crate::support::{describe, printed};

/// The commands, in the order the top-level help lists them.
const COMMANDS: [&str; 16] = [
    "ingest",
    "checkout",
    "pull",
    "push",
    "status",
    "gc",
    "sweep",
    "roots",
    "timer",
    "verify",
    "repair",
    "doctor",
    "hook",
    "exec",
    "completions",
    "man",
];

/// The binary under test with a stable environment: see the module documentation.
fn cargo_store(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-store"));
    command.env_clear().env("COLUMNS", "100").env("NO_COLOR", "1").stdin(Stdio::null()).args(arguments);
    // The binary works out the store's location before it runs any command; none of these
    // commands touches the store, so a home that does not exist is enough.
    command.env("HOME", "/nonexistent/cargo-store-help-tests");
    command
}

/// Runs `command`, which must succeed, and returns its stdout as text.
fn stdout_of(command: &mut Command) -> String {
    let output: Output =
        command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    assert!(output.status.success(), "`{}` failed\n{}", describe(command), printed(&output));
    String::from_utf8(output.stdout).unwrap_or_else(|error| panic!("`{}` printed no UTF-8: {error}", describe(command)))
}

/// The command names of the `Commands:` section of the top-level help (without `help`).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        // A name starts two columns in; wrapped descriptions are indented further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_of_every_command_matches_its_snapshot() {
    let top = stdout_of(&mut cargo_store(&["--help"]));
    assert_eq!(
        listed_commands(&top),
        COMMANDS,
        "the top-level help lists other commands than this test snapshots: add a snapshot for each new one\n{top}"
    );
    let filters = Filters::new();
    cargo_store_snapshot!("cargo-store", filters, &mut cargo_store(&["--help"]));
    for name in COMMANDS {
        let output = cargo_store_snapshot!(name, filters, &mut cargo_store(&[name, "--help"]));
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains(&format!("Usage: cargo store {name}")), "{help}");
    }
}

#[test]
fn cargo_store_and_cargo_store_store_print_the_same_help() {
    // How cargo runs an external subcommand: `cargo store doctor` becomes
    // `cargo-store store doctor`.
    assert_eq!(
        stdout_of(&mut cargo_store(&["store", "doctor", "--help"])),
        stdout_of(&mut cargo_store(&["doctor", "--help"]))
    );
}

#[test]
fn bash_completion_knows_the_binary_and_every_command() {
    let script = stdout_of(&mut cargo_store(&["completions", "bash"]));
    assert!(script.contains("complete -F _cargo__store"), "the script registers no completion function:\n{script}");
    assert!(
        script
            .lines()
            .any(|line| line.trim_start().starts_with("complete ") && line.trim_end().ends_with(" cargo-store")),
        "the script does not complete `cargo-store`:\n{script}"
    );
    for name in COMMANDS {
        assert!(script.contains(&format!("cargo__store__subcmd__{name}")), "no completion for `{name}`:\n{script}");
    }
    // The script must at least parse: a syntax error would break every shell that sources it.
    match Command::new("bash").arg("-n").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn() {
        Ok(mut bash) => {
            use std::io::Write;
            bash.stdin.take().expect("bash's stdin").write_all(script.as_bytes()).expect("write to bash");
            let output = bash.wait_with_output().expect("wait for bash -n");
            assert!(output.status.success(), "bash -n rejects the script: {}", String::from_utf8_lossy(&output.stderr));
        }
        Err(error) => eprintln!("skipped `bash -n`: {error}"),
    }
}

#[test]
fn every_shell_gets_a_script_naming_the_binary() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&mut cargo_store(&["completions", shell]));
        assert!(script.contains("cargo-store"), "the {shell} script does not name cargo-store:\n{script}");
        assert!(script.contains("checkout"), "the {shell} script does not know `checkout`:\n{script}");
    }
    let output = cargo_store(&["completions", "tcsh"]).output().expect("run completions tcsh");
    assert_eq!(output.status.code(), Some(2), "an unknown shell is a usage error\n{}", printed(&output));
}

#[test]
fn man_prints_a_roff_page_of_cargo_store() {
    let page = stdout_of(&mut cargo_store(&["man"]));
    let header = page.lines().take_while(|line| !line.starts_with(".SH")).find(|line| line.starts_with(".TH "));
    assert!(
        header.is_some_and(|header| header.starts_with(".TH cargo-store 1 ")),
        "no `.TH cargo-store 1` header before the first section:\n{page}"
    );
    assert!(page.contains(".SH NAME\ncargo\\-store \\- "), "{page}");
    for name in COMMANDS {
        assert!(
            page.contains(&format!("cargo\\-store\\-{}(1)", name.replace('-', "\\-"))),
            "`{name}` is not listed:\n{page}"
        );
    }
}

#[test]
fn man_writes_one_page_per_command_into_a_directory() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let pages = directory.path().join("man1");
    let listed = stdout_of(cargo_store(&["man", "--directory"]).arg(&pages));
    let listed: Vec<PathBuf> = listed.lines().map(PathBuf::from).collect();
    let mut expected = vec!["cargo-store".to_owned()];
    expected.extend(COMMANDS.iter().map(|name| format!("cargo-store-{name}")));
    for name in expected {
        let path = pages.join(format!("{name}.1"));
        assert!(listed.contains(&path), "{} is not listed: {listed:?}", path.display());
        let page = fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        assert!(page.contains(&format!(".TH {name} 1 ")), "{}:\n{page}", path.display());
    }
    let on_disk = fs::read_dir(&pages).expect("list the pages").count();
    assert_eq!(on_disk, listed.len(), "the files written and the paths printed differ: {listed:?}");
}
