//! The remote tier between two machines: machine A builds, ingests and pushes; machine B, with
//! an empty store of its own, checks out and builds with no dependency recompiled. And every way
//! the remote can fail costs B at most a warning and a few seconds, never a wrong build or a
//! damaged store: a server that is down, silent, killed in the middle of a pull or a push, an
//! object damaged on it, wrong credentials, a bucket that does not exist.
//!
//! "Machine B" is a second store (`CARGO_STORE_DIR` elsewhere) with the same `CARGO_HOME` (units
//! move only between machines whose registry sources sit at the same path), and a *clone* of
//! A's repository: a worktree of A's repository would not do, since checkout first ingests what
//! the repository's other worktrees built, which would fill B's store from A's target and hide
//! what the remote did.
//!
//! The remote is a real S3 server ([`S3Server`], s3s-fs), whose objects the tests also read as
//! files to check what a killed push left; tests that need it skip when s3s-fs is not
//! installed, unless `CARGO_STORE_TEST_REQUIRE_S3` is set. A remote that is a plain directory
//! (`file://`) and the endpoints that never answer need no server.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::fixture::{Build, BuildMode, DEPENDENCIES, ELIGIBLE_UNITS, EXPECTED_OUTPUT, Fixture};
use crate::reports::REPORT_VERSION;
use crate::s3::{self, S3Server};
use crate::support::{assert_store_consistent, describe, printed, run, run_json};

/// What `app` prints once `leaf` is bumped to 1.0.1 (whose `leaf()` is 2, not 1): mid, gitdep
/// (twice mid) and localdep each see one more.
const BUMPED_OUTPUT: u32 = EXPECTED_OUTPUT + 4;

/// The units that depend on `leaf`, itself included: its lib, mid's and gitdep's.
const UNITS_ABOVE_LEAF: u64 = 3;

/// The packages whose units change when `leaf` does.
const PACKAGES_ABOVE_LEAF: [&str; 3] = ["gitdep", "leaf", "mid"];

/// `cargo-store push --json`, and `push` in the reports of `ingest --push` and `exec --push`.
#[derive(Debug, Deserialize)]
struct PushReport {
    version: u32,
    remote: String,
    units: u64,
    units_present: u64,
    units_pushed: u64,
    units_skipped: u64,
    objects_uploaded: u64,
    objects_present: u64,
    resolve_index: bool,
    traffic: Traffic,
    warnings: Vec<String>,
}

/// `cargo-store pull --json`, and `remote` in the report of `checkout`.
#[derive(Debug, Deserialize)]
struct PullReport {
    version: u32,
    remote: String,
    /// `resolve-index`, `packages` or `failed`.
    discovery: String,
    units_found: u64,
    units_present: u64,
    units_pulled: u64,
    units_unavailable: u64,
    objects_downloaded: u64,
    objects_damaged: Vec<String>,
    traffic: Traffic,
    warnings: Vec<String>,
    elapsed_ms: u64,
}

/// The traffic of a [`PushReport`] or a [`PullReport`].
#[derive(Debug, Deserialize)]
struct Traffic {
    requests: u64,
    bytes_uploaded: u64,
    bytes_downloaded: u64,
}

/// `cargo-store checkout --json`: the fields about the remote and what was placed.
#[derive(Debug, Deserialize)]
struct CheckoutReport {
    version: u32,
    units_placed: u64,
    warnings: Vec<String>,
    /// `null` with `--offline` or without a remote.
    remote: Option<PullReport>,
}

/// `cargo-store exec --json`: the push of its ingest.
#[derive(Debug, Deserialize)]
struct ExecReport {
    exit_code: i32,
    ingest: Option<IngestReport>,
}

/// `cargo-store ingest --json`: what `--push` did.
#[derive(Debug, Deserialize)]
struct IngestReport {
    units_added: u64,
    push: Option<PushReport>,
}

/// Where the machines share units, and how the tests see its files.
struct SharedRemote {
    /// `CARGO_STORE_REMOTE`.
    url: String,
    /// The environment a client needs: the server's endpoint and credentials.
    env: Vec<(String, String)>,
    /// The directory that holds `cargo-store-v1/`: the bucket's prefix, or the shared directory.
    files: PathBuf,
}

impl SharedRemote {
    /// The prefix `prefix` of `server`'s bucket.
    fn s3(server: &S3Server, prefix: &str) -> SharedRemote {
        SharedRemote { url: server.url(prefix), env: server.env(), files: server.data_directory().join(prefix) }
    }

    /// A plain directory, created here.
    fn directory(path: &Path) -> SharedRemote {
        fs::create_dir_all(path).unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()));
        SharedRemote { url: format!("file://{}", path.display()), env: Vec::new(), files: path.to_path_buf() }
    }

    /// `cargo-store-v1/`, the layout's top directory.
    fn layout(&self) -> PathBuf {
        self.files.join("cargo-store-v1")
    }

    /// The file of the object named `name` (`<hex>` or `<hex>.x`) on the remote.
    fn object_file(&self, name: &str) -> PathBuf {
        self.layout().join("objects").join(&name[..2]).join(&name[2..])
    }

    /// Every unit manifest on the remote, read from its file.
    fn manifests(&self) -> Vec<(PathBuf, Value)> {
        let namespaces = self.layout().join("namespaces");
        let mut manifests = Vec::new();
        for namespace in read_directory(&namespaces) {
            for file in read_directory(&namespace.join("units")) {
                let bytes = fs::read(&file).unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
                let manifest: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|error| panic!("{} is not JSON: {error}", file.display()));
                manifests.push((file, manifest));
            }
        }
        manifests
    }

    /// Asserts what the publishing order promises, whatever killed a push: every manifest on the
    /// remote names only objects that are there, and only dependencies whose manifests are
    /// there. Returns how many manifests there are.
    fn assert_manifests_complete(&self, context: &str) -> usize {
        let manifests = self.manifests();
        let keys: BTreeSet<&str> =
            manifests.iter().map(|(_, manifest)| manifest["key"].as_str().unwrap_or("")).collect();
        let mut problems = Vec::new();
        for (path, manifest) in &manifests {
            for name in objects_of(manifest) {
                if !self.object_file(name).is_file() {
                    problems.push(format!("{} names the object {name}, which is not there", path.display()));
                }
            }
            for dependency in manifest["dependencies"].as_array().into_iter().flatten() {
                let dependency = dependency.as_str().unwrap_or_default();
                if !keys.contains(dependency) {
                    problems
                        .push(format!("{} names the dependency {dependency}, which has no manifest", path.display()));
                }
            }
        }
        assert!(problems.is_empty(), "{context}: the remote has incomplete units:\n{}", problems.join("\n"));
        manifests.len()
    }
}

/// The entries of `directory`, sorted; none if it does not exist.
fn read_directory(directory: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(directory) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display())).path())
        .collect();
    paths.sort();
    paths
}

/// The objects a unit manifest names (`files[].object`; an empty file has none).
fn objects_of(manifest: &Value) -> Vec<&str> {
    manifest["files"].as_array().into_iter().flatten().filter_map(|file| file["object"].as_str()).collect()
}

/// A server in the fixture's directory, or `None`, having said why, when s3s-fs is not
/// installed; unless `CARGO_STORE_TEST_REQUIRE_S3` is set (as in CI), which makes that a
/// failure.
fn s3_or_skip(fixture: &Fixture) -> Option<S3Server> {
    if s3::s3s_fs().is_some() {
        return Some(S3Server::start(fixture.root()));
    }
    assert!(
        std::env::var_os("CARGO_STORE_TEST_REQUIRE_S3").is_none_or(|value| value.is_empty()),
        "CARGO_STORE_TEST_REQUIRE_S3 is set but s3s-fs is not installed: \
         `cargo install s3s-fs@0.14.1 --features binary --locked`"
    );
    eprintln!("skipped: s3s-fs is not installed (`cargo install s3s-fs@0.14.1 --features binary --locked`)");
    None
}

/// Machine B's store: empty until B pulls.
fn store_b(fixture: &Fixture) -> PathBuf {
    fixture.root().join("store-b")
}

/// Machine B's copy of the project: a clone of A's repository at `<root>/<name>`.
fn clone_a(fixture: &Fixture, name: &str) -> PathBuf {
    let clone = fixture.root().join(name);
    run(fixture.git(fixture.root()).args(["clone", "--quiet"]).arg(fixture.worktree_a()).arg(&clone));
    clone
}

/// `cargo-store` on the machine whose store is `store`, with `remote` configured.
fn cargo_store_on(fixture: &Fixture, store: &Path, remote: &SharedRemote) -> Command {
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_DIR", store).env("CARGO_STORE_REMOTE", &remote.url).envs(remote.env.iter().cloned());
    command
}

/// `cargo-store <command> --json --manifest-path <worktree>/Cargo.toml` on that machine.
fn json_command(fixture: &Fixture, store: &Path, remote: &SharedRemote, command: &str, worktree: &Path) -> Command {
    let mut cargo_store = cargo_store_on(fixture, store, remote);
    cargo_store.args([command, "--json", "--manifest-path"]).arg(worktree.join("Cargo.toml"));
    cargo_store
}

/// `cargo store push` of `worktree`'s units from the machine whose store is `store`.
fn push(fixture: &Fixture, store: &Path, remote: &SharedRemote, worktree: &Path) -> PushReport {
    let report: PushReport = run_json(&mut json_command(fixture, store, remote, "push", worktree));
    assert_eq!((report.version, report.remote.as_str()), (REPORT_VERSION, remote.url.as_str()), "{report:#?}");
    assert!(report.warnings.is_empty(), "a push that succeeded warned: {report:#?}");
    report
}

/// `cargo store pull` into `worktree`'s store `store`.
fn pull(fixture: &Fixture, store: &Path, remote: &SharedRemote, worktree: &Path) -> PullReport {
    let report: PullReport = run_json(&mut json_command(fixture, store, remote, "pull", worktree));
    assert_eq!((report.version, report.remote.as_str()), (REPORT_VERSION, remote.url.as_str()), "{report:#?}");
    report
}

/// `cargo store checkout` of `worktree` on the machine whose store is `store`: it must succeed,
/// and have tried the remote.
fn checkout(fixture: &Fixture, store: &Path, remote: &SharedRemote, worktree: &Path) -> (CheckoutReport, PullReport) {
    checkout_with(&mut json_command(fixture, store, remote, "checkout", worktree))
}

/// Runs a `checkout --json` command, which must succeed and have tried the remote.
fn checkout_with(command: &mut Command) -> (CheckoutReport, PullReport) {
    let mut report: CheckoutReport = run_json(command);
    assert_eq!(report.version, REPORT_VERSION, "{report:#?}");
    let pulled = report.remote.take().unwrap_or_else(|| panic!("the checkout did not pull: {report:#?}"));
    assert_eq!(pulled.version, REPORT_VERSION, "{pulled:#?}");
    (report, pulled)
}

/// Machine A builds worktree A, ingests it and pushes: every eligible unit goes up, with all
/// its objects, and the index of A's resolve.
fn a_pushes(fixture: &Fixture, remote: &SharedRemote) -> PushReport {
    let worktree_a = fixture.worktree_a();
    assert_eq!(fixture.build(&worktree_a, BuildMode::LEGACY_DEV).run_app(), EXPECTED_OUTPUT, "A's build");
    fixture.ingest(&worktree_a);
    let pushed = push(fixture, &fixture.store(), remote, &worktree_a);
    assert_eq!(
        (pushed.units, pushed.units_pushed, pushed.units_present, pushed.units_skipped),
        (ELIGIBLE_UNITS, ELIGIBLE_UNITS, 0, 0),
        "the first push publishes every unit: {pushed:#?}"
    );
    assert!(pushed.objects_uploaded > 0 && pushed.objects_present == 0, "{pushed:#?}");
    assert!(pushed.traffic.bytes_uploaded > 0 && pushed.traffic.requests > 0, "{pushed:#?}");
    assert!(pushed.resolve_index, "the first push wrote no index of A's resolve: {pushed:#?}");
    pushed
}

/// Builds `worktree` and asserts that no registry or git unit was compiled and that `app`
/// prints `output`.
fn assert_builds_fresh(fixture: &Fixture, worktree: &Path, output: u32, context: &str) -> Build {
    let build = fixture.build(worktree, BuildMode::LEGACY_DEV);
    build.assert_no_dependency_recompiled(&DEPENDENCIES, context);
    assert_eq!(build.run_app(), output, "{context}");
    build
}

/// The packages of the registry and git units `build` compiled.
fn recompiled_packages(build: &Build) -> BTreeSet<&str> {
    build.recompiled_dependencies().into_iter().map(|unit| unit.package()).collect()
}

/// Asserts that `build` compiled the units of `packages` and reused every other dependency.
fn assert_recompiled_only(build: &Build, packages: &[&str], context: &str) {
    let expected: BTreeSet<&str> = packages.iter().copied().collect();
    assert_eq!(recompiled_packages(build), expected, "{}", build.explain("recompiled other dependencies", context));
}

/// Adds `leaf` 1.0.1 (whose `leaf()` is 2) to the fixture's vendored crates.
fn vendor_leaf_1_0_1(fixture: &Fixture) {
    let leaf = fixture.root().join("vendor/leaf-1.0.1");
    fs::create_dir_all(leaf.join("src")).expect("create vendor/leaf-1.0.1");
    fs::write(leaf.join("Cargo.toml"), "[package]\nname = \"leaf\"\nversion = \"1.0.1\"\nedition = \"2021\"\n")
        .expect("write leaf 1.0.1's manifest");
    fs::write(leaf.join("src/lib.rs"), "pub fn leaf() -> u32 {\n    2\n}\n").expect("write leaf 1.0.1's source");
    fs::write(leaf.join(".cargo-checksum.json"), r#"{"files":{},"package":null}"#).expect("write the checksum");
}

/// Bumps `leaf` to 1.0.1 in `worktree`'s lock file, as `cargo update` does on a branch.
fn bump_leaf(fixture: &Fixture, worktree: &Path) {
    vendor_leaf_1_0_1(fixture);
    run(fixture.cargo(worktree).args(["update", "--offline", "--package", "leaf"]));
    let lock = fs::read_to_string(worktree.join("Cargo.lock")).expect("read the lock");
    assert!(lock.contains("name = \"leaf\"\nversion = \"1.0.1\""), "leaf was not bumped:\n{lock}");
}

/// Runs `command`, which may fail, and returns what it printed.
fn attempt(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)))
}

/// The lines of `stderr` that warn about the remote.
fn remote_warnings(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.starts_with("warning:") && line.contains("remote")).collect()
}

/// Starts `command` with `CARGO_STORE_TEST_PAUSE=<point>=<flag>` and returns once it waits
/// there.
fn start_paused(command: &mut Command, point: &str, flag: &Path) -> Child {
    command
        .env("CARGO_STORE_TEST_PAUSE", format!("{point}={}", flag.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    let start = Instant::now();
    while !flag.exists() {
        if let Some(status) = child.try_wait().expect("poll the paused command") {
            let output = child.wait_with_output().expect("read what it printed");
            panic!("`{}` exited ({status}) before it reached {point}\n{}", describe(command), printed(&output));
        }
        assert!(start.elapsed() < Duration::from_secs(60), "`{}` never reached {point}", describe(command));
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// Lets a command paused by [`start_paused`] go on, and waits for it.
fn resume(child: Child, flag: &Path) -> Output {
    fs::remove_file(flag).expect("remove the pause file");
    child.wait_with_output().expect("wait for the resumed command")
}

#[test]
fn a_second_machine_builds_with_no_dependency_recompiled_from_what_the_first_pushed() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team/cache");
    let first = a_pushes(&fixture, &remote);
    assert_eq!(remote.assert_manifests_complete("after A's push"), ELIGIBLE_UNITS as usize);

    let worktree_b = clone_a(&fixture, "b");
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout: {report:#?} {pulled:#?}");
    assert_eq!(pulled.discovery, "resolve-index", "{context}");
    assert_eq!((pulled.units_found, pulled.units_present), (ELIGIBLE_UNITS, 0), "{context}");
    assert_eq!(pulled.units_pulled, first.units_pushed, "{context}");
    assert_eq!(pulled.units_unavailable, 0, "{context}");
    assert_eq!(pulled.objects_downloaded, first.objects_uploaded, "{context}");
    assert!(pulled.objects_damaged.is_empty() && pulled.warnings.is_empty(), "{context}");
    assert!(pulled.traffic.bytes_downloaded > 0 && pulled.traffic.bytes_uploaded == 0, "{context}");
    assert!(report.warnings.is_empty(), "{context}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{context}");
    assert_builds_fresh(&fixture, &worktree_b, EXPECTED_OUTPUT, &format!("B's build after {context}"));
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store after the checkout");

    // Nothing more to move either way: a second push uploads nothing, a second pull downloads
    // no object.
    let second = push(&fixture, &fixture.store(), &remote, &fixture.worktree_a());
    assert_eq!((second.units_pushed, second.units_present), (0, ELIGIBLE_UNITS), "{second:#?}");
    assert_eq!((second.objects_uploaded, second.traffic.bytes_uploaded), (0, 0), "{second:#?}");
    let again = pull(&fixture, &store_b(&fixture), &remote, &worktree_b);
    assert_eq!(
        (again.units_present, again.units_pulled, again.objects_downloaded),
        (ELIGIBLE_UNITS, 0, 0),
        "{again:#?}"
    );
}

#[test]
fn a_lock_bump_pushes_and_pulls_only_the_units_it_changed() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    let first = a_pushes(&fixture, &remote);
    let worktree_b = clone_a(&fixture, "b");
    checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    assert_builds_fresh(&fixture, &worktree_b, EXPECTED_OUTPUT, "B before the bump");

    // A bumps leaf on its branch, builds, and CI's `ingest --push` publishes the new units.
    let worktree_a = fixture.worktree_a();
    bump_leaf(&fixture, &worktree_a);
    run(fixture.git(&worktree_a).args(["commit", "--quiet", "--all", "--message", "bump leaf"]));
    let build = fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    assert_recompiled_only(&build, &PACKAGES_ABOVE_LEAF, "A's build after the bump");
    let mut ingested: IngestReport = run_json(
        cargo_store_on(&fixture, &fixture.store(), &remote)
            .args(["ingest", "--push", "--json", "--manifest-path"])
            .arg(worktree_a.join("Cargo.toml")),
    );
    assert_eq!(ingested.units_added, UNITS_ABOVE_LEAF, "{ingested:#?}");
    let bumped = ingested.push.take().unwrap_or_else(|| panic!("`ingest --push` did not push: {ingested:#?}"));
    let context = format!("the push after the bump: {bumped:#?}, the first push: {first:#?}");
    assert!(bumped.warnings.is_empty(), "{context}");
    assert_eq!(bumped.units_pushed, UNITS_ABOVE_LEAF, "only leaf and what depends on it is new: {context}");
    assert_eq!(bumped.units_present, bumped.units - UNITS_ABOVE_LEAF, "{context}");
    assert!(bumped.resolve_index, "{context}");
    assert!(
        bumped.objects_uploaded > 0 && bumped.objects_uploaded < first.objects_uploaded,
        "the bump uploaded as many objects as the first push: {context}"
    );
    assert!(
        bumped.traffic.bytes_uploaded * 4 < first.traffic.bytes_uploaded,
        "the bump uploaded more than a quarter of the first push's bytes: {context}"
    );
    remote.assert_manifests_complete("after the push of the bump");

    // B pulls the branch: its checkout finds the new resolve's index and pulls the new units
    // only.
    run(fixture.git(&worktree_b).args(["pull", "--quiet", "--ff-only"]));
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout after the bump: {report:#?} {pulled:#?}");
    assert_eq!(pulled.discovery, "resolve-index", "{context}");
    assert_eq!(pulled.units_pulled, bumped.units_pushed, "{context}");
    assert_eq!(pulled.units_unavailable, 0, "{context}");
    assert!(pulled.units_present >= ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    assert_eq!(report.units_placed, UNITS_ABOVE_LEAF, "{context}");
    assert_builds_fresh(&fixture, &worktree_b, BUMPED_OUTPUT, &format!("B's build after {context}"));
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store after the bump");
}

#[test]
fn a_lock_no_machine_pushed_still_gets_the_units_of_its_unchanged_packages() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    a_pushes(&fixture, &remote);

    // B bumps leaf itself: no machine pushed that resolve, nor built leaf 1.0.1.
    let worktree_b = clone_a(&fixture, "b");
    bump_leaf(&fixture, &worktree_b);
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout of a lock nobody pushed: {report:#?} {pulled:#?}");
    assert_eq!(pulled.discovery, "packages", "{context}");
    // Only pm's and native's units: mid's and gitdep's were built on leaf 1.0.0, which B's lock
    // does not have, so they are neither pulled nor placed (nor leaf 1.0.0 under them).
    assert_eq!(pulled.units_found, ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    assert_eq!(pulled.units_pulled, ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    assert_eq!(pulled.units_unavailable, 0, "{context}");
    assert!(pulled.warnings.is_empty(), "{context}");
    // Only pm's and native's units fit B's lock: the others are not placed.
    assert_eq!(report.units_placed, ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    assert_recompiled_only(&build, &PACKAGES_ABOVE_LEAF, &context);
    for package in ["pm", "native"] {
        assert!(
            build.units.iter().filter(|unit| unit.package() == package).all(|unit| unit.fresh),
            "{}",
            build.explain(&format!("recompiled {package}, which the remote had"), &context)
        );
    }
    assert_eq!(build.run_app(), BUMPED_OUTPUT, "{context}");
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store");
}

/// The environment of a remote at `endpoint` with credentials of no server.
fn unreachable_remote(endpoint: &str) -> SharedRemote {
    let env = [
        ("AWS_ACCESS_KEY_ID", "CARGOSTOREUNREACHABLE"),
        ("AWS_SECRET_ACCESS_KEY", "unreachable"),
        ("AWS_REGION", s3::REGION),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    SharedRemote {
        url: "s3://cargo-store/team".to_owned(),
        env: env.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        files: PathBuf::new(),
    }
}

#[test]
fn a_remote_that_is_down_or_silent_costs_one_warning_and_seconds() {
    let fixture = Fixture::new();
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);

    // Nothing listens: the checkout places what the local store has and says once why it
    // pulled nothing.
    let down = unreachable_remote(&s3::closed_port());
    let worktree = fixture.add_worktree("down");
    let mut command = cargo_store_on(&fixture, &fixture.store(), &down);
    command.arg("checkout").arg("--manifest-path").arg(worktree.join("Cargo.toml"));
    let start = Instant::now();
    let output = attempt(&mut command);
    let elapsed = start.elapsed();
    assert!(output.status.success(), "{}", printed(&output));
    assert!(elapsed < Duration::from_secs(10), "the checkout took {elapsed:?}\n{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "not one warning about the remote:\n{}", printed(&output));
    assert!(warnings[0].contains("s3://cargo-store/team"), "the warning does not name the remote: {stderr}");
    assert!(stderr.contains("--offline"), "the hint does not say how to skip the remote:\n{stderr}");
    assert_builds_fresh(&fixture, &worktree, EXPECTED_OUTPUT, &format!("the build after {}", printed(&output)));

    // Something accepts the connection and never answers: the timeout ends the wait.
    let (_listener, endpoint) = s3::silent_server();
    let silent = unreachable_remote(&endpoint);
    let worktree = fixture.add_worktree("silent");
    let mut command = json_command(&fixture, &fixture.store(), &silent, "checkout", &worktree);
    command.env("CARGO_STORE_REMOTE_TIMEOUT", "1");
    let start = Instant::now();
    let (report, pulled) = checkout_with(&mut command);
    let elapsed = start.elapsed();
    let context = format!("the checkout with a silent remote took {elapsed:?}: {report:#?} {pulled:#?}");
    assert!(elapsed < Duration::from_secs(5), "{context}");
    assert!(pulled.elapsed_ms < 3000, "{context}");
    assert_eq!(pulled.discovery, "failed", "{context}");
    assert_eq!(pulled.warnings.len(), 1, "{context}");
    assert!(pulled.warnings[0].contains("did not answer within 1 s"), "{context}");
    assert_eq!(report.warnings, pulled.warnings, "{context}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{context}");
    assert_builds_fresh(&fixture, &worktree, EXPECTED_OUTPUT, &context);
}

#[test]
fn a_server_killed_during_a_checkout_leaves_nothing_half_pulled() {
    let fixture = Fixture::new();
    let Some(mut server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    a_pushes(&fixture, &remote);

    // B's pull has found A's units, and the server dies before it downloads any object.
    let worktree_b = clone_a(&fixture, "b");
    let flag = fixture.root().join("pull-found");
    let mut command = json_command(&fixture, &store_b(&fixture), &remote, "checkout", &worktree_b);
    let child = start_paused(&mut command, "pull-found", &flag);
    server.stop();
    let output = resume(child, &flag);
    assert!(output.status.success(), "the checkout failed with the remote:\n{}", printed(&output));
    let mut report: CheckoutReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no checkout report: {error}\n{}", printed(&output)));
    let pulled = report.remote.take().expect("the checkout pulled");
    let context = format!("the checkout whose server died: {report:#?} {pulled:#?}");
    assert_eq!(pulled.units_found, ELIGIBLE_UNITS, "{context}");
    assert_eq!((pulled.units_pulled, pulled.units_unavailable), (0, ELIGIBLE_UNITS), "{context}");
    assert!(pulled.warnings.iter().any(|warning| warning.contains("cannot reach the remote")), "{context}");
    assert_eq!(report.units_placed, 0, "{context}");
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store after the server died");
    let temporary: Vec<PathBuf> = read_directory(&store_b(&fixture).join("tmp"));
    assert!(temporary.is_empty(), "the pull left downloads behind: {temporary:?}");

    // B builds everything itself, correctly; once the server is back, the next checkout pulls.
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    assert_eq!(build.run_app(), EXPECTED_OUTPUT, "{context}");
    server.restart();
    let again = pull(&fixture, &store_b(&fixture), &remote, &worktree_b);
    assert_eq!(again.units_pulled, ELIGIBLE_UNITS, "{again:#?}");
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store after the pull");
}

#[test]
fn a_server_killed_during_a_push_leaves_only_complete_units_and_the_next_push_finishes() {
    let fixture = Fixture::new();
    let Some(mut server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    let worktree_a = fixture.worktree_a();
    fixture.build(&worktree_a, BuildMode::LEGACY_DEV);
    fixture.ingest(&worktree_a);

    // The push has published the units that depend on nothing; then the server dies.
    let flag = fixture.root().join("push-published-level");
    let mut command = json_command(&fixture, &fixture.store(), &remote, "push", &worktree_a);
    let child = start_paused(&mut command, "push-published-level", &flag);
    server.stop();
    let output = resume(child, &flag);
    assert!(!output.status.success(), "the push succeeded without its server:\n{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: push failed"), "{}", printed(&output));
    assert!(
        stderr.contains(&format!("cannot reach the remote {}", remote.url)),
        "the error does not say the remote is unreachable:\n{}",
        printed(&output)
    );
    let published = remote.assert_manifests_complete("after the killed push");
    assert!(
        published > 0 && published < ELIGIBLE_UNITS as usize,
        "the push was killed after its first level, yet {published} units are on the remote"
    );
    let index = read_directory(&read_directory(&remote.layout().join("namespaces"))[0].join("resolves"));
    assert!(index.is_empty(), "the killed push wrote the resolve index: {index:?}");

    // Back up, the next push publishes the rest.
    server.restart();
    let rest = push(&fixture, &fixture.store(), &remote, &worktree_a);
    assert_eq!(rest.units_present, published as u64, "{rest:#?}");
    assert_eq!(rest.units_pushed, ELIGIBLE_UNITS - published as u64, "{rest:#?}");
    assert!(rest.resolve_index, "{rest:#?}");
    assert_eq!(remote.assert_manifests_complete("after the second push"), ELIGIBLE_UNITS as usize);

    let worktree_b = clone_a(&fixture, "b");
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout after the completed push: {report:#?} {pulled:#?}");
    assert_eq!((pulled.discovery.as_str(), pulled.units_pulled), ("resolve-index", ELIGIBLE_UNITS), "{context}");
    assert_builds_fresh(&fixture, &worktree_b, EXPECTED_OUTPUT, &context);
}

#[test]
fn a_damaged_object_on_the_server_costs_only_the_units_that_need_it() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    a_pushes(&fixture, &remote);

    // Damage an object of leaf's lib, and of no other unit: leaf, mid and gitdep need it.
    let manifests = remote.manifests();
    let mut users: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, manifest) in &manifests {
        for name in objects_of(manifest) {
            *users.entry(name).or_default() += 1;
        }
    }
    let leaf = manifests
        .iter()
        .map(|(_, manifest)| manifest)
        .find(|manifest| manifest["package"]["name"] == "leaf")
        .unwrap_or_else(|| panic!("no manifest of leaf on the remote: {manifests:#?}"));
    let rlib = leaf["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|file| file["path"].as_str().is_some_and(|path| path.ends_with(".rlib")))
        .and_then(|file| file["object"].as_str())
        .unwrap_or_else(|| panic!("leaf's manifest names no .rlib: {leaf:#}"));
    assert_eq!(users[rlib], 1, "leaf's rlib is an object of other units too");
    let file = remote.object_file(rlib);
    fs::write(&file, b"not the bytes of an rlib")
        .unwrap_or_else(|error| panic!("cannot damage {}: {error}", file.display()));

    let worktree_b = clone_a(&fixture, "b");
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout with {rlib} damaged: {report:#?} {pulled:#?}");
    assert_eq!(pulled.objects_damaged.len(), 1, "{context}");
    assert!(pulled.objects_damaged[0].contains(&rlib[2..]), "{context}");
    assert_eq!(pulled.units_unavailable, UNITS_ABOVE_LEAF, "{context}");
    assert_eq!(pulled.units_pulled, ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    assert!(pulled.warnings.iter().any(|warning| warning.contains("damaged")), "{context}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS - UNITS_ABOVE_LEAF, "{context}");
    let build = fixture.build(&worktree_b, BuildMode::LEGACY_DEV);
    assert_recompiled_only(&build, &PACKAGES_ABOVE_LEAF, &context);
    assert_eq!(build.run_app(), EXPECTED_OUTPUT, "{context}");
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store after a damaged object");
}

#[test]
fn wrong_credentials_fail_a_pull_and_cost_a_checkout_one_warning() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    let worktree_a = fixture.worktree_a();
    let wrong = |command: &mut Command| {
        command.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    };

    let mut command = cargo_store_on(&fixture, &store_b(&fixture), &remote);
    command.arg("pull").arg("--manifest-path").arg(worktree_a.join("Cargo.toml"));
    wrong(&mut command);
    let output = attempt(&mut command);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&remote.url), "the error does not name the remote:\n{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(stderr.contains("AWS_SECRET_ACCESS_KEY"), "the hint does not name the variable:\n{stderr}");

    let mut command = cargo_store_on(&fixture, &store_b(&fixture), &remote);
    command.arg("checkout").arg("--manifest-path").arg(worktree_a.join("Cargo.toml"));
    wrong(&mut command);
    let output = attempt(&mut command);
    assert!(output.status.success(), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(remote_warnings(&stderr).len(), 1, "not one warning about the remote:\n{}", printed(&output));
    assert!(stderr.contains("refused the credentials"), "{stderr}");
}

#[test]
fn a_bucket_that_does_not_exist_fails_a_pull_and_costs_a_checkout_one_warning() {
    let fixture = Fixture::new();
    let Some(server) = s3_or_skip(&fixture) else { return };
    let remote = SharedRemote::s3(&server, "team");
    let missing = "s3://no-such-bucket/x";
    let manifest = fixture.worktree_a().join("Cargo.toml");

    let mut command = cargo_store_on(&fixture, &store_b(&fixture), &remote);
    command.args(["pull", "--remote", missing, "--manifest-path"]).arg(&manifest);
    let output = attempt(&mut command);
    assert_eq!(output.status.code(), Some(1), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("the remote {missing} does not exist")), "{}", printed(&output));
    assert!(stderr.contains("create the bucket"), "{stderr}");

    let mut command = cargo_store_on(&fixture, &store_b(&fixture), &remote);
    command.args(["checkout", "--remote", missing, "--manifest-path"]).arg(&manifest);
    let output = attempt(&mut command);
    assert!(output.status.success(), "{}", printed(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "not one warning about the remote:\n{}", printed(&output));
    assert!(warnings[0].contains("does not exist"), "{stderr}");
}

#[test]
fn a_shared_directory_works_as_a_remote_end_to_end() {
    let fixture = Fixture::new();
    let remote = SharedRemote::directory(&fixture.root().join("shared"));
    let worktree_a = fixture.worktree_a();

    // A's CI: `CARGO_STORE_REMOTE_PUSH=1 cargo store exec -- cargo build`.
    let mut command = cargo_store_on(&fixture, &fixture.store(), &remote);
    command.env("CARGO_STORE_REMOTE_PUSH", "1").current_dir(&worktree_a).args([
        "exec",
        "--json",
        "--",
        "cargo",
        "build",
        "--locked",
        "--offline",
    ]);
    let output = run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let exec: ExecReport =
        serde_json::from_str(last).unwrap_or_else(|error| panic!("no exec report: {error}\n{}", printed(&output)));
    assert_eq!(exec.exit_code, 0, "{exec:#?}");
    let pushed = exec.ingest.and_then(|ingest| ingest.push).unwrap_or_else(|| panic!("exec did not push: {last}"));
    assert_eq!((pushed.units_pushed, pushed.resolve_index), (ELIGIBLE_UNITS, true), "{pushed:#?}");
    assert!(pushed.warnings.is_empty(), "{pushed:#?}");
    assert_eq!(remote.assert_manifests_complete("after A's push"), ELIGIBLE_UNITS as usize);
    let temporary = read_directory(&remote.layout().join("tmp"));
    assert!(temporary.is_empty(), "the push left temporary files in the directory: {temporary:?}");

    let worktree_b = clone_a(&fixture, "b");
    let (report, pulled) = checkout(&fixture, &store_b(&fixture), &remote, &worktree_b);
    let context = format!("B's checkout from a directory: {report:#?} {pulled:#?}");
    assert_eq!(pulled.discovery, "resolve-index", "{context}");
    assert_eq!((pulled.units_pulled, pulled.units_unavailable), (ELIGIBLE_UNITS, 0), "{context}");
    assert_eq!(report.units_placed, ELIGIBLE_UNITS, "{context}");
    assert_builds_fresh(&fixture, &worktree_b, EXPECTED_OUTPUT, &context);
    assert_store_consistent(&fixture, &store_b(&fixture), "B's store");

    let second = push(&fixture, &fixture.store(), &remote, &worktree_a);
    assert_eq!((second.units_pushed, second.objects_uploaded, second.traffic.bytes_uploaded), (0, 0, 0), "{second:#?}");
}
