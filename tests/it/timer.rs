//! `cargo store timer`: the systemd user units it writes, the `systemctl --user` calls it makes,
//! and what it refuses to touch. Every test runs the real binary with HOME and XDG_CONFIG_HOME in
//! a temporary directory and `CARGO_STORE_SYSTEMCTL` pointing at a fake `systemctl` that
//! records its arguments (or at `false`, a machine without a user manager), so the user's real
//! configuration and systemd are never involved. Linux only: macOS gets a launchd agent, whose
//! plist is unit-tested in `cargo-store-ops`.
#![cfg(target_os = "linux")]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use tempfile::TempDir;

use crate::reports::REPORT_VERSION;
use crate::support::{describe, printed, run, run_json};

const SERVICE: &str = "cargo-store-gc.service";
const TIMER: &str = "cargo-store-gc.timer";

/// A stand-in for `systemctl`: appends its arguments to `$FAKE_SYSTEMCTL_LOG`, one call per
/// line, answers the two queries `status` makes, and succeeds.
const FAKE_SYSTEMCTL: &str = "#!/bin/sh\n\
                              printf '%s\\n' \"$*\" >> \"$FAKE_SYSTEMCTL_LOG\"\n\
                              case \"$2\" in\n\
                              \x20 is-enabled) echo enabled ;;\n\
                              \x20 is-active) echo active ;;\n\
                              esac\n";

/// `cargo-store timer install --json`.
#[derive(Debug, Deserialize)]
struct InstallReport {
    version: u32,
    scheduler: String,
    written: Vec<PathBuf>,
    command: Vec<String>,
    enabled: bool,
    manual_command: Option<String>,
    scheduler_error: Option<String>,
}

/// `cargo-store timer uninstall --json`.
#[derive(Debug, Deserialize)]
struct UninstallReport {
    version: u32,
    scheduler: String,
    removed: Vec<PathBuf>,
    disabled: bool,
    #[allow(dead_code, reason = "part of the schema; asserted through `disabled`")]
    scheduler_error: Option<String>,
}

/// `cargo-store timer status --json`.
#[derive(Debug, Deserialize)]
struct StatusReport {
    version: u32,
    scheduler: String,
    installed: bool,
    up_to_date: bool,
    files: Vec<FileStatus>,
    command: Vec<String>,
    enabled: String,
    active: Option<String>,
}

/// One file in [`StatusReport::files`].
#[derive(Debug, Deserialize)]
struct FileStatus {
    path: PathBuf,
    /// `missing`, `current`, `outdated` or `foreign`.
    state: String,
}

/// A home directory, a configuration directory and a fake `systemctl`, all temporary.
struct Sandbox {
    /// Keeps the directory alive.
    _directory: TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let directory = tempfile::Builder::new().prefix("cargo-store-timer-").tempdir().expect("create a tempdir");
        let root = directory.path().canonicalize().expect("canonicalize the tempdir");
        fs::create_dir(root.join("home")).expect("create the home directory");
        let fake = root.join("systemctl");
        fs::write(&fake, FAKE_SYSTEMCTL).expect("write the fake systemctl");
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("make the fake systemctl executable");
        Sandbox { _directory: directory, root }
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// XDG_CONFIG_HOME.
    fn config(&self) -> PathBuf {
        self.root.join("config")
    }

    /// Where the units go: `$XDG_CONFIG_HOME/systemd/user`.
    fn units(&self) -> PathBuf {
        self.config().join("systemd").join("user")
    }

    fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The fake `systemctl` that records its calls.
    fn fake_systemctl(&self) -> PathBuf {
        self.root.join("systemctl")
    }

    /// `cargo-store --store <store> timer <arguments>` with `systemctl` as the scheduler's
    /// control program.
    fn timer(&self, systemctl: impl AsRef<OsStr>, arguments: &[&str]) -> Command {
        self.timer_for(&self.store(), systemctl, arguments)
    }

    /// [`Sandbox::timer`] for another store.
    fn timer_for(&self, store: &Path, systemctl: impl AsRef<OsStr>, arguments: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-store"));
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|key| key.starts_with("CARGO_STORE") || key.starts_with("XDG_")) {
                command.env_remove(key);
            }
        }
        command
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.config())
            .env("CARGO_STORE_SYSTEMCTL", systemctl)
            .env("FAKE_SYSTEMCTL_LOG", self.root.join("systemctl.log"))
            .current_dir(&self.root)
            .arg("--store")
            .arg(store)
            .arg("timer")
            .args(arguments);
        command
    }

    /// The calls the fake `systemctl` received, in order.
    fn systemctl_calls(&self) -> Vec<String> {
        match fs::read_to_string(self.root.join("systemctl.log")) {
            Ok(log) => log.lines().map(str::to_owned).collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => panic!("cannot read the fake systemctl's log: {error}"),
        }
    }

    fn install(&self) -> InstallReport {
        let report: InstallReport = run_json(&mut self.timer(self.fake_systemctl(), &["install", "--json"]));
        assert_eq!((report.version, report.scheduler.as_str()), (REPORT_VERSION, "systemd"), "{report:?}");
        report
    }

    fn status(&self, command: &mut Command) -> StatusReport {
        let report: StatusReport = run_json(command);
        assert_eq!((report.version, report.scheduler.as_str()), (REPORT_VERSION, "systemd"), "{report:?}");
        report
    }
}

/// The absolute path of the binary under test, as the running binary sees itself.
fn binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_cargo-store")).canonicalize().expect("canonicalize the binary's path")
}

/// The value of `key=` in a unit file, panicking with the file if it is not there once.
fn setting<'a>(unit: &'a str, key: &str) -> &'a str {
    let values: Vec<&str> = unit.lines().filter_map(|line| line.strip_prefix(key)?.strip_prefix('=')).collect();
    assert_eq!(values.len(), 1, "expected one `{key}=` line in:\n{unit}");
    values[0]
}

/// Runs `command`, which must fail with exit code 1, and returns what it printed.
fn run_failing(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    assert_eq!(output.status.code(), Some(1), "`{}` should fail\n{}", describe(command), printed(&output));
    output
}

#[test]
fn install_writes_both_units_and_enables_the_timer() {
    let sandbox = Sandbox::new();
    let report = sandbox.install();
    let service_path = sandbox.units().join(SERVICE);
    let timer_path = sandbox.units().join(TIMER);
    assert_eq!(report.written, [service_path.clone(), timer_path.clone()], "{report:?}");
    assert!(report.enabled && report.manual_command.is_none() && report.scheduler_error.is_none(), "{report:?}");
    let expected_command = format!("{} --store {} gc --auto", binary().display(), sandbox.store().display());
    assert_eq!(report.command.join(" "), expected_command, "{report:?}");

    let service = fs::read_to_string(&service_path).expect("read the service");
    assert!(service.starts_with("# Generated by cargo-store"), "{service}");
    assert_eq!(setting(&service, "ExecStart"), expected_command);
    assert_eq!(setting(&service, "Type"), "oneshot");
    assert_eq!(setting(&service, "Nice"), "19");
    assert_eq!(setting(&service, "IOSchedulingClass"), "idle");
    let timer = fs::read_to_string(&timer_path).expect("read the timer");
    assert!(timer.starts_with("# Generated by cargo-store"), "{timer}");
    assert_eq!(setting(&timer, "OnCalendar"), "daily");
    assert_eq!(setting(&timer, "Persistent"), "true");
    assert_eq!(setting(&timer, "WantedBy"), "timers.target");

    assert_eq!(sandbox.systemctl_calls(), ["--user daemon-reload", "--user enable --now cargo-store-gc.timer"]);
    let entries: Vec<_> = fs::read_dir(sandbox.units()).expect("list the unit directory").collect();
    assert_eq!(entries.len(), 2, "only the two units, no temporary file: {entries:?}");

    // Installing again rewrites our own files and enables again.
    let again = sandbox.install();
    assert!(again.enabled, "{again:?}");
    assert_eq!(fs::read_to_string(&service_path).expect("read the service again"), service);
    assert_eq!(sandbox.systemctl_calls().len(), 4);
}

#[test]
fn install_without_a_user_manager_succeeds_and_prints_the_command_to_run() {
    let sandbox = Sandbox::new();
    let output = run(&mut sandbox.timer("false", &["install"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = printed(&output);
    assert!(stdout.starts_with("Installed"), "{context}");
    for unit in [SERVICE, TIMER] {
        let path = sandbox.units().join(unit);
        assert!(stdout.contains(&path.display().to_string()), "{context}");
        assert!(path.is_file(), "{} was not written\n{context}", path.display());
    }
    assert!(
        stderr.contains(
            "hint: run `systemctl --user daemon-reload && systemctl --user enable --now cargo-store-gc.timer`"
        ),
        "{context}"
    );

    let report: InstallReport = run_json(&mut sandbox.timer("false", &["install", "--json"]));
    assert!(!report.enabled, "{report:?}");
    assert!(report.manual_command.is_some_and(|command| command.contains("enable --now cargo-store-gc.timer")));
    assert!(report.scheduler_error.is_some_and(|error| error.contains("daemon-reload")));

    // Nor can status ask the scheduler: it says so instead of guessing.
    let status = sandbox.status(&mut sandbox.timer("false", &["status", "--json"]));
    assert!(status.installed && status.up_to_date, "{status:?}");
    assert_eq!((status.enabled.as_str(), status.active.as_deref()), ("unknown", Some("unknown")), "{status:?}");
}

#[test]
fn without_xdg_config_home_units_go_to_the_home_directory() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.timer(sandbox.fake_systemctl(), &["install", "--json"]);
    command.env_remove("XDG_CONFIG_HOME");
    let report: InstallReport = run_json(&mut command);
    let units = sandbox.home().join(".config/systemd/user");
    assert_eq!(report.written, [units.join(SERVICE), units.join(TIMER)], "{report:?}");
    assert!(!sandbox.config().exists(), "nothing is written to the unset XDG_CONFIG_HOME");
}

#[test]
fn a_unit_file_cargo_store_did_not_write_is_never_replaced_or_removed() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.units()).expect("create the unit directory");
    let theirs = sandbox.units().join(TIMER);
    let contents = "[Timer]\nOnCalendar=hourly\n";
    fs::write(&theirs, contents).expect("write the user's own timer");

    for action in ["install", "uninstall"] {
        let output = run_failing(&mut sandbox.timer(sandbox.fake_systemctl(), &[action]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{}", printed(&output));
        assert!(stderr.contains(&format!("`{}`", theirs.display())), "{}", printed(&output));
        assert!(stderr.contains("\nhint: "), "{}", printed(&output));
    }
    assert_eq!(fs::read_to_string(&theirs).expect("read the user's timer"), contents);
    assert!(!sandbox.units().join(SERVICE).exists(), "install wrote half the job");
    assert!(sandbox.systemctl_calls().is_empty(), "systemctl was called: {:?}", sandbox.systemctl_calls());

    let status = sandbox.status(&mut sandbox.timer(sandbox.fake_systemctl(), &["status", "--json"]));
    let states: Vec<&str> = status.files.iter().map(|file| file.state.as_str()).collect();
    assert_eq!(states, ["missing", "foreign"], "{status:?}");
    assert!(!status.installed, "{status:?}");
}

#[test]
fn uninstall_removes_exactly_the_two_unit_files() {
    let sandbox = Sandbox::new();
    sandbox.install();
    let other = sandbox.units().join("other.service");
    fs::write(&other, "[Service]\nExecStart=/bin/true\n").expect("write another unit");

    let report: UninstallReport = run_json(&mut sandbox.timer(sandbox.fake_systemctl(), &["uninstall", "--json"]));
    assert_eq!((report.version, report.scheduler.as_str()), (REPORT_VERSION, "systemd"), "{report:?}");
    assert_eq!(report.removed, [sandbox.units().join(SERVICE), sandbox.units().join(TIMER)], "{report:?}");
    assert!(report.disabled, "{report:?}");
    let left: Vec<PathBuf> = fs::read_dir(sandbox.units())
        .expect("list the unit directory")
        .map(|entry| entry.expect("read an entry").path())
        .collect();
    assert_eq!(left, std::slice::from_ref(&other));
    assert_eq!(fs::read_to_string(&other).expect("read the other unit"), "[Service]\nExecStart=/bin/true\n");
    let calls = sandbox.systemctl_calls();
    assert_eq!(calls[2..], ["--user disable --now cargo-store-gc.timer", "--user daemon-reload"], "{calls:?}");

    // Nothing left to remove is not an error.
    let output = run(&mut sandbox.timer(sandbox.fake_systemctl(), &["uninstall"]));
    assert!(String::from_utf8_lossy(&output.stdout).contains("nothing to remove"), "{}", printed(&output));
    assert!(other.is_file());
}

#[test]
fn status_tells_installed_outdated_and_not_installed_apart() {
    let sandbox = Sandbox::new();
    let status = |sandbox: &Sandbox, store: &Path| {
        sandbox.status(&mut sandbox.timer_for(store, sandbox.fake_systemctl(), &["status", "--json"]))
    };
    let before = status(&sandbox, &sandbox.store());
    assert!(!before.installed && !before.up_to_date, "{before:?}");
    assert!(before.files.iter().all(|file| file.state == "missing"), "{before:?}");
    let paths: Vec<&Path> = before.files.iter().map(|file| file.path.as_path()).collect();
    assert_eq!(paths, [sandbox.units().join(SERVICE), sandbox.units().join(TIMER)]);

    sandbox.install();
    let after = status(&sandbox, &sandbox.store());
    assert!(after.installed && after.up_to_date, "{after:?}");
    assert!(after.files.iter().all(|file| file.state == "current"), "{after:?}");
    assert_eq!((after.enabled.as_str(), after.active.as_deref()), ("enabled", Some("active")), "{after:?}");
    assert!(sandbox.systemctl_calls().contains(&"--user is-enabled cargo-store-gc.timer".to_owned()));

    // Another store: the service would run a different command, the timer is the same.
    let moved = sandbox.root.join("moved-store");
    let outdated = status(&sandbox, &moved);
    assert!(outdated.installed && !outdated.up_to_date, "{outdated:?}");
    let states: Vec<&str> = outdated.files.iter().map(|file| file.state.as_str()).collect();
    assert_eq!(states, ["outdated", "current"], "{outdated:?}");
    assert_eq!(outdated.command[1..3], ["--store".to_owned(), moved.display().to_string()], "{outdated:?}");

    run(&mut sandbox.timer(sandbox.fake_systemctl(), &["uninstall"]));
    let gone = status(&sandbox, &sandbox.store());
    assert!(!gone.installed && gone.files.iter().all(|file| file.state == "missing"), "{gone:?}");
}
