//! The offline fixture every end-to-end test builds, and the commands that run against it.
//!
//! ```text
//! <tempdir>/
//!   vendor/                 directory source that replaces crates-io
//!     leaf/ mid/ pm/ native/  (each with `.cargo-checksum.json`)
//!   gitdep/                 git repository of the `gitdep` crate (depends on mid)
//!   cargo-home/config.toml  isolated CARGO_HOME: crates-io -> vendor/
//!   a/                      git repository of the workspace (worktree A), Cargo.lock committed
//!     app/                  bin: mid, pm, native, gitdep, localdep
//!     localdep/             path dependency and workspace member: leaf
//!   b/ …                    worktrees added later with `git worktree add`
//!   store/                  CARGO_STORE_DIR (created by cargo-store on first use)
//! ```
//!
//! The dependencies cover the unit kinds cargo-store must transplant: a chain of libs
//! (`mid` -> `leaf`), a proc-macro (`pm`), a `links` package whose build script compiles C with
//! `cc`/`ar` into OUT_DIR and watches a file and an environment variable (`native`), and a git
//! dependency (`gitdep`). `app` prints a number computed from all of them, [`EXPECTED_OUTPUT`].
//!
//! Every command gets a scrubbed environment ([`Fixture::isolate`]): the isolated CARGO_HOME,
//! and none of the outer `cargo test`'s `CARGO_*`, `RUSTFLAGS`, `RUSTC_*` or `GIT_*` variables.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::Message;
use tempfile::TempDir;

use crate::reports::{CheckoutReport, IngestReport, REPORT_VERSION, StatusReport};
use crate::support::{describe, package_name, printed, run, run_json};

/// What `app` prints when built normally: mid 11 + pm 42 + native 7 + gitdep 22 + localdep 1001.
pub const EXPECTED_OUTPUT: u32 = 1083;

/// What `app` prints when built with `NATIVE_FLAVOR=other` (native's build script adds 100).
pub const EXPECTED_OUTPUT_OTHER_FLAVOR: u32 = 1183;

/// The registry and git packages of the fixture: what cargo-store may store.
pub const DEPENDENCIES: [&str; 5] = ["gitdep", "leaf", "mid", "native", "pm"];

/// The build units of [`DEPENDENCIES`] in one profile, all eligible for the store: the libs of
/// leaf, mid and gitdep, the proc-macro pm, and native's lib, build-script compile and
/// build-script run.
pub const ELIGIBLE_UNITS: u64 = 7;

/// The path packages of the fixture (both workspace members): what cargo-store must not store.
pub const WORKSPACE_PACKAGES: [&str; 2] = ["app", "localdep"];

/// Which directory layout cargo writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `target/<profile>/{deps,build,.fingerprint}`, the stable default.
    Legacy,
    /// `-Zbuild-dir-new-layout`: `target/<profile>/build/<pkg>/<hash>/…`.
    New,
}

/// Which profile cargo builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `cargo build`.
    Dev,
    /// `cargo build --release`.
    Release,
}

/// How a worktree is built: the same mode must be used in worktree A and worktree B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildMode {
    /// Directory layout.
    pub layout: Layout,
    /// Profile.
    pub profile: Profile,
}

impl BuildMode {
    /// Plain `cargo build`.
    pub const LEGACY_DEV: BuildMode = BuildMode { layout: Layout::Legacy, profile: Profile::Dev };
    /// `RUSTC_BOOTSTRAP=1 cargo build -Zbuild-dir-new-layout`.
    pub const NEW_LAYOUT_DEV: BuildMode = BuildMode { layout: Layout::New, profile: Profile::Dev };
    /// `cargo build --release`.
    pub const LEGACY_RELEASE: BuildMode = BuildMode { layout: Layout::Legacy, profile: Profile::Release };
}

/// A fixture on disk; everything is deleted when it is dropped.
pub struct Fixture {
    /// Keeps the directory alive.
    _directory: TempDir,
    /// Canonical path of the directory, so that paths compare equal to what cargo prints.
    root: PathBuf,
}

impl Fixture {
    /// Writes the vendored crates, the git dependency's repository, the isolated CARGO_HOME and
    /// the workspace repository (worktree A) with its lockfile committed.
    pub fn new() -> Fixture {
        Fixture::new_in(&std::env::temp_dir())
    }

    /// Like [`Fixture::new`], in a temporary directory under `parent` (to test a particular
    /// filesystem).
    pub fn new_in(parent: &Path) -> Fixture {
        let directory = tempfile::Builder::new()
            .prefix("cargo-store-it-")
            .tempdir_in(parent)
            .expect("create the fixture's temporary directory");
        let root = directory.path().canonicalize().expect("canonicalize the fixture's temporary directory");
        let fixture = Fixture { _directory: directory, root };
        fixture.write_vendor();
        fixture.write_git_dependency();
        fixture.write_cargo_home();
        fixture.write_workspace();
        fixture
    }

    /// The fixture's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The isolated CARGO_HOME.
    pub fn cargo_home(&self) -> PathBuf {
        self.root.join("cargo-home")
    }

    /// The store every cargo-store command of this fixture uses (not created in advance).
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Worktree A: the workspace repository's main worktree.
    pub fn worktree_a(&self) -> PathBuf {
        self.root.join("a")
    }

    /// Adds a new worktree of the workspace repository at `<root>/<name>` (outside A) and
    /// returns its path.
    pub fn add_worktree(&self, name: &str) -> PathBuf {
        let worktree = self.root.join(name);
        run(self.git(&self.worktree_a()).args(["worktree", "add", "--detach"]).arg(&worktree));
        worktree
    }

    /// Writes another project at `<root>/<name>`, a git repository of its own that shares
    /// `leaf`, `mid`, `pm` and `native` with worktree A's and adds `top` (on `mid` and `extra`),
    /// a Windows-only dependency `winonly` and a dev-dependency `devonly`,
    /// with `extra` locked at `extra_version` (`1.0.0` or `1.0.1`): two such projects differ in
    /// one leaf crate of their lock files. Its binary `tool` prints [`PROJECT_OUTPUT`] plus the
    /// patch version of `extra`.
    pub fn add_project(&self, name: &str, extra_version: &str) -> PathBuf {
        // `extra` pinned by the project itself: `cargo update --precise` does not downgrade
        // within a directory source.
        self.add_project_with(name, &PROJECT_MANIFEST.replace("@EXTRA@", extra_version), PROJECT_MAIN)
    }

    /// Writes a project at `<root>/<name>` with `manifest` and `main`, a git repository of its
    /// own whose registry dependencies come from the fixture's vendored crates (`leaf`, `mid`,
    /// `pm`, `native`, `top`, `extra`, and `feat` with its feature `fast`).
    pub fn add_project_with(&self, name: &str, manifest: &str, main: &str) -> PathBuf {
        let project = self.root.join(name);
        write(&project.join(".gitignore"), "target\n");
        write(&project.join("Cargo.toml"), manifest);
        write(&project.join("src/main.rs"), main);
        run(self.cargo(&project).args(["generate-lockfile", "--offline"]));
        run(self.git(&project).args(["init", "--quiet"]));
        run(self.git(&project).args(["add", "--all"]));
        run(self.git(&project).args(["commit", "--quiet", "--message", "project"]));
        project
    }

    /// Writes a `rustc` that describes itself as another toolchain (the real compiler does the
    /// work, but `rustc -vV` reports another commit, so cargo files every unit it builds under
    /// another rustc hash) and returns its path, for `RUSTC`.
    pub fn other_toolchain_rustc(&self) -> PathBuf {
        let sysroot =
            run(self.isolate(&mut Command::new("rustc")).current_dir(&self.root).args(["--print", "sysroot"]));
        let real_rustc = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim()).join("bin/rustc");
        assert!(real_rustc.is_file(), "no rustc at {}", real_rustc.display());
        let wrapper = self.root.join("other-toolchain/rustc");
        let script = OTHER_TOOLCHAIN_RUSTC.replace("@RUSTC@", real_rustc.to_str().expect("UTF-8 sysroot"));
        write(&wrapper, &script);
        fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("make the wrapper executable");
        let other = run(Command::new(&wrapper).arg("-vV"));
        let real = run(Command::new(&real_rustc).arg("-vV"));
        assert_ne!(other.stdout, real.stdout, "the wrapper describes itself as the real rustc");
        wrapper
    }

    /// Adds a worktree of the repository at `repository` at `<root>/<name>`.
    pub fn add_worktree_of(&self, repository: &Path, name: &str) -> PathBuf {
        let worktree = self.root.join(name);
        run(self.git(repository).args(["worktree", "add", "--detach"]).arg(&worktree));
        worktree
    }

    /// Scrubs the outer environment from `command` and points it at the isolated CARGO_HOME.
    pub fn isolate<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            let scrubbed = key.starts_with("CARGO")
                || key.starts_with("RUSTC")
                || key.starts_with("GIT_")
                || matches!(key, "RUSTFLAGS" | "RUSTDOCFLAGS" | "NATIVE_FLAVOR" | "MAKEFLAGS" | "MFLAGS");
            if scrubbed {
                command.env_remove(key);
            }
        }
        command
            .env("CARGO_HOME", self.cargo_home())
            .env("CARGO_TERM_COLOR", "never")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
    }

    /// `git` in `directory`, with an identity, so that commits work without any global config.
    pub fn git(&self, directory: &Path) -> Command {
        let mut command = Command::new("git");
        self.isolate(&mut command);
        command
            .args([
                "-c",
                "user.name=cargo-store tests",
                "-c",
                "user.email=tests@cargo-store.invalid",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .current_dir(directory);
        command
    }

    /// `cargo` in `directory`.
    pub fn cargo(&self, directory: &Path) -> Command {
        let mut command = Command::new("cargo");
        self.isolate(&mut command);
        command.current_dir(directory);
        command
    }

    /// The `cargo-store` binary under test, using this fixture's store, run from the fixture's
    /// root (so that only an explicit `--manifest-path` can point it at a worktree).
    pub fn cargo_store(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-store"));
        self.isolate(&mut command);
        command.env("CARGO_STORE_DIR", self.store()).current_dir(&self.root);
        command
    }

    /// `cargo-store ingest --manifest-path <worktree>/Cargo.toml --json`.
    pub fn ingest(&self, worktree: &Path) -> IngestReport {
        let report: IngestReport = run_json(
            self.cargo_store().arg("ingest").arg("--manifest-path").arg(worktree.join("Cargo.toml")).arg("--json"),
        );
        assert_eq!(report.version, REPORT_VERSION, "{report:?}");
        report
    }

    /// `cargo-store checkout --manifest-path <worktree>/Cargo.toml --json` plus `extra` arguments.
    pub fn checkout(&self, worktree: &Path, extra: &[&str]) -> CheckoutReport {
        let report: CheckoutReport = run_json(
            self.cargo_store()
                .arg("checkout")
                .arg("--manifest-path")
                .arg(worktree.join("Cargo.toml"))
                .arg("--json")
                .args(extra),
        );
        assert_eq!(report.version, REPORT_VERSION, "{report:?}");
        report
    }

    /// `cargo-store status --json`.
    pub fn status(&self) -> StatusReport {
        let report: StatusReport = run_json(self.cargo_store().args(["status", "--json"]));
        assert_eq!(report.version, REPORT_VERSION, "{report:?}");
        report
    }

    /// `cargo build --message-format=json --locked --offline` in `worktree`, in `mode`. Cargo's
    /// fingerprint log is switched on so that a failure message says why a unit was dirty.
    pub fn build_command(&self, worktree: &Path, mode: BuildMode) -> Command {
        let mut command = self.cargo(worktree);
        command
            .args(["build", "--message-format=json", "--locked", "--offline"])
            .env("CARGO_LOG", "cargo::core::compiler::fingerprint=info");
        if mode.profile == Profile::Release {
            command.arg("--release");
        }
        if mode.layout == Layout::New {
            command.env("RUSTC_BOOTSTRAP", "1").arg("-Zbuild-dir-new-layout");
        }
        command
    }

    /// Builds `worktree` in `mode` and returns what cargo reported.
    pub fn build(&self, worktree: &Path, mode: BuildMode) -> Build {
        Build::run(&mut self.build_command(worktree, mode))
    }

    fn write_vendor(&self) {
        let vendor = self.root.join("vendor");
        for (path, contents) in VENDORED_FILES {
            write(&vendor.join(path), contents);
        }
        for (path, contents) in PROJECT_VENDORED_FILES {
            write(&vendor.join(path), contents);
        }
        for name in ["leaf", "mid", "pm", "native", "extra-1.0.0", "extra-1.0.1", "top", "winonly", "devonly", "feat"] {
            write(&vendor.join(name).join(".cargo-checksum.json"), r#"{"files":{},"package":null}"#);
        }
    }

    fn write_git_dependency(&self) {
        let repository = self.root.join("gitdep");
        write(&repository.join("Cargo.toml"), GITDEP_MANIFEST);
        write(&repository.join("src/lib.rs"), GITDEP_LIB);
        run(self.git(&repository).args(["init", "--quiet"]));
        run(self.git(&repository).args(["add", "--all"]));
        run(self.git(&repository).args(["commit", "--quiet", "--message", "gitdep 0.1.0"]));
    }

    fn write_cargo_home(&self) {
        let config = format!(
            "[source.crates-io]\nreplace-with = \"fixture\"\n\n[source.fixture]\ndirectory = {}\n",
            toml_string(&self.root.join("vendor"))
        );
        write(&self.cargo_home().join("config.toml"), &config);
    }

    fn write_workspace(&self) {
        let workspace = self.worktree_a();
        let gitdep_url = format!("file://{}", self.root.join("gitdep").display());
        write(&workspace.join(".gitignore"), "target\n");
        write(&workspace.join("Cargo.toml"), WORKSPACE_MANIFEST);
        write(&workspace.join("app/Cargo.toml"), &APP_MANIFEST.replace("@GITDEP_URL@", &gitdep_url));
        write(&workspace.join("app/src/main.rs"), APP_MAIN);
        write(&workspace.join("localdep/Cargo.toml"), LOCALDEP_MANIFEST);
        write(&workspace.join("localdep/src/lib.rs"), LOCALDEP_LIB);
        // The lockfile is committed so that every worktree resolves exactly the same packages.
        run(self.cargo(&workspace).arg("generate-lockfile"));
        run(self.git(&workspace).args(["init", "--quiet"]));
        run(self.git(&workspace).args(["add", "--all"]));
        run(self.git(&workspace).args(["commit", "--quiet", "--message", "workspace"]));
    }
}

/// One `compiler-artifact` message of a build.
#[derive(Clone, Debug)]
pub struct BuiltUnit {
    /// The package id as cargo printed it (`registry+…`, `git+…`, `path+…`).
    pub package_id: String,
    /// The target's name.
    pub target: String,
    /// The target's kinds (`lib`, `proc-macro`, `custom-build`, `bin`).
    pub kinds: Vec<String>,
    /// Whether cargo reused the unit.
    pub fresh: bool,
    /// The executable, for a binary.
    pub executable: Option<PathBuf>,
}

impl BuiltUnit {
    /// The package's name.
    pub fn package(&self) -> &str {
        package_name(&self.package_id)
    }

    /// Whether the package comes from a path source (a workspace member or path dependency).
    pub fn is_path_package(&self) -> bool {
        self.package_id.starts_with("path+")
    }
}

/// What `cargo build --message-format=json` reported.
#[derive(Debug)]
pub struct Build {
    /// Every compiler artifact, in the order cargo printed them.
    pub units: Vec<BuiltUnit>,
    /// Cargo's stderr (progress and fingerprint log), for failure messages.
    pub stderr: String,
    /// The command, for failure messages.
    pub command: String,
}

impl Build {
    /// Runs a build command (which must succeed) and reads its messages.
    pub fn run(command: &mut Command) -> Build {
        let output =
            command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
        let messages: Vec<Message> = Message::parse_stream(output.stdout.as_slice())
            .map(|message| message.expect("read a line of cargo's output"))
            .collect();
        if !output.status.success() {
            // The compiler's errors are JSON on stdout: show them rendered, then everything.
            let diagnostics: Vec<String> = messages
                .iter()
                .filter_map(|message| match message {
                    Message::CompilerMessage(message) => message.message.rendered.clone(),
                    _ => None,
                })
                .collect();
            panic!(
                "`{}` failed\n--- diagnostics ---\n{}\n{}",
                describe(command),
                diagnostics.join("\n"),
                printed(&output)
            );
        }
        let mut units = Vec::new();
        for message in messages {
            if let Message::CompilerArtifact(artifact) = message {
                units.push(BuiltUnit {
                    package_id: artifact.package_id.repr,
                    target: artifact.target.name,
                    kinds: artifact.target.kind.iter().map(ToString::to_string).collect(),
                    fresh: artifact.fresh,
                    executable: artifact.executable.map(PathBuf::from),
                });
            }
        }
        let build =
            Build { units, stderr: String::from_utf8_lossy(&output.stderr).into_owned(), command: describe(command) };
        assert!(!build.units.is_empty(), "{}", build.explain("reported no compiler artifact", &printed(&output)));
        build
    }

    /// A failure message: what went wrong, every unit with its freshness, and cargo's stderr.
    pub fn explain(&self, problem: &str, context: &str) -> String {
        let units: Vec<String> = self
            .units
            .iter()
            .map(|unit| format!("  {} {} {:?} fresh={}", unit.package_id, unit.target, unit.kinds, unit.fresh))
            .collect();
        format!(
            "{context}: `{}` {problem}\nunits:\n{}\n--- cargo stderr ---\n{}",
            self.command,
            units.join("\n"),
            self.stderr
        )
    }

    fn packages(&self, path_packages: bool) -> BTreeSet<&str> {
        self.units.iter().filter(|unit| unit.is_path_package() == path_packages).map(BuiltUnit::package).collect()
    }

    /// Every registry and git dependency appeared and was fresh.
    pub fn assert_dependencies_fresh(&self, context: &str) {
        let expected: BTreeSet<&str> = DEPENDENCIES.into_iter().collect();
        assert_eq!(
            self.packages(false),
            expected,
            "{}",
            self.explain("did not report the expected dependencies", context)
        );
        let stale: Vec<&BuiltUnit> = self.units.iter().filter(|unit| !unit.is_path_package() && !unit.fresh).collect();
        assert!(
            stale.is_empty(),
            "{}",
            self.explain(&format!("recompiled {} dependency units: {stale:#?}", stale.len()), context)
        );
    }

    /// The registry and git units that cargo compiled instead of reusing.
    pub fn recompiled_dependencies(&self) -> Vec<&BuiltUnit> {
        self.units.iter().filter(|unit| !unit.is_path_package() && !unit.fresh).collect()
    }

    /// No registry or git unit was compiled, and every package of `expected` appeared.
    pub fn assert_no_dependency_recompiled(&self, expected: &[&str], context: &str) {
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(
            self.packages(false),
            expected,
            "{}",
            self.explain("did not report the expected dependencies", context)
        );
        let stale = self.recompiled_dependencies();
        assert!(
            stale.is_empty(),
            "{}",
            self.explain(&format!("recompiled {} dependency units: {stale:#?}", stale.len()), context)
        );
    }

    /// Every path package (`app`, `localdep`) was compiled, not reused.
    pub fn assert_workspace_compiled(&self, context: &str) {
        let expected: BTreeSet<&str> = WORKSPACE_PACKAGES.into_iter().collect();
        assert_eq!(
            self.packages(true),
            expected,
            "{}",
            self.explain("did not report the expected path packages", context)
        );
        assert!(
            self.units.iter().filter(|unit| unit.is_path_package()).all(|unit| !unit.fresh),
            "{}",
            self.explain("reused a workspace unit that had to be compiled", context)
        );
    }

    /// Every unit, dependencies and workspace alike, was fresh.
    pub fn assert_all_fresh(&self, context: &str) {
        self.assert_dependencies_fresh(context);
        assert!(
            self.units.iter().all(|unit| unit.fresh),
            "{}",
            self.explain("recompiled a unit although nothing changed", context)
        );
    }

    /// The unit of `package` whose target has `kind`.
    pub fn unit(&self, package: &str, kind: &str) -> &BuiltUnit {
        self.units
            .iter()
            .find(|unit| unit.package() == package && unit.kinds.iter().any(|k| k == kind))
            .unwrap_or_else(|| panic!("{}", self.explain(&format!("built no {kind} of {package}"), "unit lookup")))
    }

    /// Runs the `app` binary this build produced and returns the number it printed.
    pub fn run_app(&self) -> u32 {
        self.run_binary("app")
    }

    /// Runs the binary of `package` this build produced and returns the number it printed.
    pub fn run_binary(&self, package: &str) -> u32 {
        let executable = self
            .unit(package, "bin")
            .executable
            .clone()
            .unwrap_or_else(|| panic!("{}", self.explain("gave app no executable", "run app")));
        let output = run(&mut Command::new(&executable));
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .trim()
            .parse()
            .unwrap_or_else(|error| panic!("{} printed {stdout:?}, not a number: {error}", executable.display()))
    }
}

fn write(path: &Path, contents: &str) {
    let parent = path.parent().expect("fixture paths have a parent");
    fs::create_dir_all(parent).unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
    fs::write(path, contents).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

/// A TOML basic string holding `path`.
fn toml_string(path: &Path) -> String {
    let text = path.to_str().expect("the temporary directory's path is UTF-8");
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

const VENDORED_FILES: [(&str, &str); 10] = [
    ("leaf/Cargo.toml", "[package]\nname = \"leaf\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
    ("leaf/src/lib.rs", "pub fn leaf() -> u32 {\n    1\n}\n"),
    (
        "mid/Cargo.toml",
        "[package]\nname = \"mid\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nleaf = \"1.0.0\"\n",
    ),
    ("mid/src/lib.rs", "pub fn mid() -> u32 {\n    leaf::leaf() + 10\n}\n"),
    (
        "pm/Cargo.toml",
        "[package]\nname = \"pm\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n\
         [lib]\nproc-macro = true\n",
    ),
    (
        "pm/src/lib.rs",
        "use proc_macro::TokenStream;\n\n\
         #[proc_macro]\n\
         pub fn answer(_input: TokenStream) -> TokenStream {\n    \
             \"42u32\".parse().expect(\"valid tokens\")\n\
         }\n",
    ),
    (
        "native/Cargo.toml",
        "[package]\nname = \"native\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\
         links = \"nativefix\"\nbuild = \"build.rs\"\n",
    ),
    ("native/build.rs", NATIVE_BUILD_SCRIPT),
    ("native/csrc/seven.c", "unsigned int seven(void) { return 7; }\n"),
    (
        "native/src/lib.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/generated.rs\"));\n\n\
         extern \"C\" {\n    fn seven() -> u32;\n}\n\n\
         pub fn native() -> u32 {\n    let seven = unsafe { seven() };\n    seven + BONUS\n}\n",
    ),
];

/// See [`Fixture::other_toolchain_rustc`].
const OTHER_TOOLCHAIN_RUSTC: &str = r#"#!/bin/sh
if [ "$#" -eq 1 ] && [ "$1" = "-vV" ]; then
    "@RUSTC@" -vV | sed -e '1s/$/ other-toolchain/' \
        -e 's/^commit-hash: .*/commit-hash: 0123456789abcdef0123456789abcdef01234567/'
    exit
fi
exec "@RUSTC@" "$@"
"#;

/// The crates only the projects of [`Fixture::add_project`] use.
const PROJECT_VENDORED_FILES: [(&str, &str); 12] = [
    (
        "feat/Cargo.toml",
        "[package]\nname = \"feat\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[features]\nfast = []\n",
    ),
    ("feat/src/lib.rs", "pub fn feat() -> u32 {\n    if cfg!(feature = \"fast\") { 2 } else { 1 }\n}\n"),
    ("winonly/Cargo.toml", "[package]\nname = \"winonly\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
    ("winonly/src/lib.rs", "pub fn winonly() {}\n"),
    ("devonly/Cargo.toml", "[package]\nname = \"devonly\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
    ("devonly/src/lib.rs", "pub fn devonly() {}\n"),
    ("extra-1.0.0/Cargo.toml", "[package]\nname = \"extra\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
    ("extra-1.0.0/src/lib.rs", "pub fn extra() -> u32 {\n    0\n}\n"),
    ("extra-1.0.1/Cargo.toml", "[package]\nname = \"extra\"\nversion = \"1.0.1\"\nedition = \"2021\"\n"),
    ("extra-1.0.1/src/lib.rs", "pub fn extra() -> u32 {\n    1\n}\n"),
    (
        "top/Cargo.toml",
        "[package]\nname = \"top\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nmid = \"1.0.0\"\nextra = \"1.0.0\"\n",
    ),
    ("top/src/lib.rs", "pub fn top() -> u32 {\n    mid::mid() * 100 + extra::extra()\n}\n"),
];

/// What the `tool` of [`Fixture::add_project`] prints with `extra` 1.0.0: top 1100 + pm 42 +
/// native 7.
pub const PROJECT_OUTPUT: u32 = 1149;

/// The registry packages of a project of [`Fixture::add_project`].
pub const PROJECT_DEPENDENCIES: [&str; 6] = ["extra", "leaf", "mid", "native", "pm", "top"];

const PROJECT_MANIFEST: &str = "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                                [dependencies]\ntop = \"1.0.0\"\npm = \"1.0.0\"\nnative = \"1.0.0\"\n\
                                extra = \"=@EXTRA@\"\n\n\
                                [target.'cfg(windows)'.dependencies]\nwinonly = \"1.0.0\"\n\n\
                                [dev-dependencies]\ndevonly = \"1.0.0\"\n";

const PROJECT_MAIN: &str = "fn main() {\n    println!(\"{}\", top::top() + pm::answer!() + native::native());\n}\n";

/// Compiles C into OUT_DIR in place (`cc -o`, `ar crs` onto an existing archive), the kind of
/// writer that would corrupt a store object if OUT_DIR files shared inodes with the store.
const NATIVE_BUILD_SCRIPT: &str = r#"use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let object = out_dir.join("seven.o");
    let status = Command::new("cc")
        .args(["-c", "-fPIC", "csrc/seven.c", "-o"])
        .arg(&object)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed");
    let status = Command::new("ar")
        .arg("crs")
        .arg(out_dir.join("libseven.a"))
        .arg(&object)
        .status()
        .expect("run ar");
    assert!(status.success(), "ar failed");
    let bonus = match env::var("NATIVE_FLAVOR").as_deref() {
        Ok("other") => 100,
        _ => 0,
    };
    fs::write(out_dir.join("generated.rs"), format!("pub const BONUS: u32 = {bonus};\n"))
        .expect("write generated.rs");
    println!("cargo:rustc-link-search=native={}", out_dir.display());
    println!("cargo:rustc-link-lib=static=seven");
    println!("cargo:rerun-if-changed=csrc/seven.c");
    println!("cargo:rerun-if-env-changed=NATIVE_FLAVOR");
}
"#;

const GITDEP_MANIFEST: &str = "[package]\nname = \"gitdep\"\nversion = \"0.1.0\"\n\
                               edition = \"2021\"\n\n[dependencies]\nmid = \"1.0.0\"\n";

const GITDEP_LIB: &str = "pub fn gitdep() -> u32 {\n    mid::mid() * 2\n}\n";

const WORKSPACE_MANIFEST: &str = "[workspace]\nmembers = [\"app\", \"localdep\"]\nresolver = \"2\"\n";

const APP_MANIFEST: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                            [dependencies]\nmid = \"1.0.0\"\npm = \"1.0.0\"\nnative = \"1.0.0\"\n\
                            gitdep = { git = \"@GITDEP_URL@\" }\n\
                            localdep = { path = \"../localdep\" }\n";

const APP_MAIN: &str = "fn main() {\n    \
                        let total = mid::mid() + pm::answer!() + native::native() \
                        + gitdep::gitdep() + localdep::localdep();\n    \
                        println!(\"{total}\");\n}\n";

const LOCALDEP_MANIFEST: &str = "[package]\nname = \"localdep\"\nversion = \"0.1.0\"\n\
                                 edition = \"2021\"\n\n[dependencies]\nleaf = \"1.0.0\"\n";

const LOCALDEP_LIB: &str = "pub fn localdep() -> u32 {\n    leaf::leaf() + 1000\n}\n";
