//! Helpers shared by every test module: running a command and failing with everything it
//! printed, reading a `--json` report, naming a package from a package id, and snapshotting a
//! directory tree (bytes, mtime, mode, inode) to prove that nothing in it changed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::de::DeserializeOwned;

/// Describes a command for a failure message: program, arguments and working directory.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for argument in command.get_args() {
        text.push(' ');
        text.push_str(&argument.to_string_lossy());
    }
    if let Some(directory) = command.get_current_dir() {
        let _ = write!(text, " (in {})", directory.display());
    }
    text
}

/// Formats what a finished command printed, for a failure message.
pub fn printed(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command` to completion and panics, with its stdout and stderr, unless it succeeds.
pub fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    assert!(output.status.success(), "`{}` failed\n{}", describe(command), printed(&output));
    output
}

/// Runs `command`, which must succeed and print exactly one JSON document on stdout, and
/// deserializes it into `T`.
pub fn run_json<T: DeserializeOwned>(command: &mut Command) -> T {
    let output = run(command);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("`{}` did not print the expected JSON report: {error}\n{}", describe(command), printed(&output))
    })
}

/// The package name in a package id or spec, whatever its form:
/// `registry+https://…#leaf@1.0.0`, `path+file:///…/localdep#0.1.0`, `leaf@1.0.0`,
/// `leaf 1.0.0` or plain `leaf`.
pub fn package_name(spec: &str) -> &str {
    match spec.split_once('#') {
        Some((url, fragment)) => match fragment.split_once('@') {
            Some((name, _version)) => name,
            // Cargo leaves the name out when it equals the last segment of the URL.
            None if fragment.starts_with(|c: char| c.is_ascii_digit()) => {
                let url = url.split('?').next().unwrap_or(url);
                url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
            }
            None => fragment,
        },
        None => spec.split(['@', ' ']).next().unwrap_or(spec),
    }
}

/// What a user could notice about one file: its bytes, mtime, permissions and identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    /// Length in bytes.
    pub len: u64,
    /// A hash of the bytes (or of the link target for a symlink); only compared, never stored.
    pub content_hash: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Inode number (a replaced file gets a new one).
    pub inode: u64,
}

/// Every file (not directory) under a root, keyed by its path relative to that root.
pub type TreeSnapshot = BTreeMap<PathBuf, FileState>;

/// Records the state of every file under `root`, never following symlinks, leaving out the
/// entries (and, for directories, everything below them) for which `skip` returns true. `skip`
/// sees paths relative to `root`. A missing `root` yields an empty snapshot.
pub fn snapshot_tree(root: &Path, skip: impl Fn(&Path) -> bool) -> TreeSnapshot {
    let mut snapshot = TreeSnapshot::new();
    if !root.exists() {
        return snapshot;
    }
    let walker = walkdir::WalkDir::new(root).follow_links(false).into_iter().filter_entry(|entry| {
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        relative.as_os_str().is_empty() || !skip(relative)
    });
    for entry in walker {
        let entry = entry.unwrap_or_else(|error| panic!("cannot walk {}: {error}", root.display()));
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        let metadata =
            fs::symlink_metadata(path).unwrap_or_else(|error| panic!("cannot stat {}: {error}", path.display()));
        let mut hasher = DefaultHasher::new();
        if entry.file_type().is_symlink() {
            let target =
                fs::read_link(path).unwrap_or_else(|error| panic!("cannot read link {}: {error}", path.display()));
            hasher.write(target.as_os_str().as_encoded_bytes());
        } else {
            let bytes = fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            hasher.write(&bytes);
        }
        let relative = path.strip_prefix(root).unwrap_or(path).to_path_buf();
        snapshot.insert(
            relative,
            FileState {
                len: metadata.len(),
                content_hash: hasher.finish(),
                mtime_ns: i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec()),
                mode: metadata.mode(),
                inode: metadata.ino(),
            },
        );
    }
    snapshot
}

/// Files any cargo command may write in a target directory for its own bookkeeping, and which
/// no cargo-store command places: the build lock, local crates' incremental state, and the
/// rustc version cache (`cargo metadata`, which cargo-store runs, writes it too). Snapshots
/// that must prove "cargo-store (or a build elsewhere) changed nothing here" leave them out.
pub fn is_cargo_bookkeeping(relative: &Path) -> bool {
    relative
        .file_name()
        .is_some_and(|name| name == ".cargo-lock" || name == "incremental" || name == ".rustc_info.json")
}

/// One line per file that appeared, disappeared or changed between two snapshots.
pub fn tree_changes(before: &TreeSnapshot, after: &TreeSnapshot) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => changes.push(format!("removed: {}", path.display())),
            Some(new) if new != old => {
                changes.push(format!("changed: {}: {old:?} -> {new:?}", path.display()));
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|path| !before.contains_key(*path)) {
        changes.push(format!("added: {}", path.display()));
    }
    changes
}

/// Panics, listing the differences, unless the two snapshots are equal.
pub fn assert_tree_unchanged(before: &TreeSnapshot, after: &TreeSnapshot, what: &str) {
    let changes = tree_changes(before, after);
    assert!(
        changes.is_empty(),
        "{what} changed ({} of {} files):\n{}",
        changes.len(),
        before.len(),
        changes.join("\n")
    );
}

/// `PATH` with `directory` in front, to let `cargo` find the `cargo-store` binary.
pub fn path_with(directory: &Path) -> OsString {
    let mut directories = vec![directory.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        directories.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(directories).expect("PATH entries contain no separator")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_reads_every_form_cargo_prints() {
        let forms = [
            ("registry+https://github.com/rust-lang/crates.io-index#leaf@1.0.0", "leaf"),
            ("path+file:///tmp/x/a/localdep#0.1.0", "localdep"),
            ("path+file:///tmp/x/a/crates/thing#localdep@0.1.0", "localdep"),
            ("git+file:///tmp/x/gitdep?branch=main#0.1.0", "gitdep"),
            ("localdep@0.1.0", "localdep"),
            ("localdep 0.1.0", "localdep"),
            ("localdep", "localdep"),
        ];
        for (spec, name) in forms {
            assert_eq!(package_name(spec), name, "{spec}");
        }
    }

    #[test]
    fn tree_changes_sees_a_touched_file() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let file = directory.path().join("f");
        fs::write(&file, b"x").expect("write f");
        let before = snapshot_tree(directory.path(), |_| false);
        let mtime = filetime::FileTime::from_unix_time(1_000_000, 5);
        filetime::set_file_mtime(&file, mtime).expect("set mtime");
        let after = snapshot_tree(directory.path(), |_| false);
        assert_eq!(before.len(), 1);
        assert_eq!(tree_changes(&before, &after).len(), 1);
        assert!(tree_changes(&after, &after).is_empty());
    }
}

// Helpers of the crash and stress tests, appended after the module's own tests: a checker of
// the whole store that will become `cargo store verify --full` alone, and a reproducible PRNG.

/// `cargo-store verify --json`: the fields the consistency check reads.
#[derive(Debug, serde::Deserialize)]
pub struct VerifyReport {
    /// Schema version.
    pub version: u32,
    /// Whether the index and the object files agree.
    pub consistent: bool,
    /// Objects looked at.
    pub objects_checked: u64,
    /// What is wrong, if anything.
    pub problems: Vec<VerifyProblem>,
}

/// One problem a [`VerifyReport`] lists.
#[derive(Debug, serde::Deserialize)]
pub struct VerifyProblem {
    /// What is wrong, kebab-case.
    pub kind: String,
    /// The file or row concerned.
    #[allow(dead_code, reason = "shown in failure messages")]
    pub path: String,
    /// The problem in a sentence.
    #[allow(dead_code, reason = "shown in failure messages")]
    pub detail: String,
}

impl VerifyProblem {
    /// Orphan files (object files no row names) are what a crash is allowed to leave behind.
    pub fn is_orphan(&self) -> bool {
        self.kind.to_ascii_lowercase().contains("orphan")
    }
}

/// Panics, saying what `context` was doing, unless the store at `store` is consistent: every
/// index row names an object file that is there, and the references hold. Orphan files are
/// allowed. A store that was never created (no index yet) is consistent.
///
/// This is the one place to change when `cargo store verify` becomes the only check: until then
/// the index is read directly, and `verify --full` is asked too when the binary has it.
pub fn assert_store_consistent(fixture: &crate::fixture::Fixture, store: &Path, context: &str) {
    let indexed = assert_index_matches_objects(store, context);
    if verify_supported() {
        assert_verify_consistent(fixture, store, indexed, context);
    }
}

/// Whether the binary under test has a `verify` command (asked once per test process).
pub fn verify_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        Command::new(env!("CARGO_BIN_EXE_cargo-store"))
            .args(["verify", "--help"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// `cargo-store verify --full --json` against `store`, whose index lists `indexed` objects: it
/// must check them all and find nothing but orphan files, and its exit code must agree with
/// its verdict (0 consistent, 1 not).
pub fn assert_verify_consistent(fixture: &crate::fixture::Fixture, store: &Path, indexed: u64, context: &str) {
    if !store.join("index.sqlite").exists() {
        return;
    }
    let mut command = fixture.cargo_store();
    command.env("CARGO_STORE_DIR", store).args(["verify", "--full", "--json"]);
    let output = command.output().unwrap_or_else(|error| panic!("{context}: cannot start verify: {error}"));
    let report: VerifyReport = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("{context}: `{}` printed no verify report: {error}\n{}", describe(&command), printed(&output))
    });
    assert_eq!(report.version, 1, "{context}: {report:#?}");
    assert!(
        report.objects_checked >= indexed,
        "{context}: verify checked fewer objects than the index has ({indexed}): {report:#?}"
    );
    let exit_code = if report.consistent { 0 } else { 1 };
    assert_eq!(output.status.code(), Some(exit_code), "{context}: exit code and report disagree\n{}", printed(&output));
    let problems: Vec<&VerifyProblem> = report.problems.iter().filter(|problem| !problem.is_orphan()).collect();
    assert!(problems.is_empty(), "{context}: verify found the store inconsistent: {problems:#?}\n{}", printed(&output));
}

/// Reads the index of `store` and checks every object row against its file (size, mtime and
/// inode: what checkout trusts before it links an object) and every reference with SQLite's
/// foreign key check; returns how many objects the index lists. The connection may replay a
/// killed writer's journal, as the next command's would, but writes nothing itself.
pub fn assert_index_matches_objects(store: &Path, context: &str) -> u64 {
    let index = store.join("index.sqlite");
    if !index.exists() {
        return 0;
    }
    let connection = rusqlite::Connection::open(&index)
        .unwrap_or_else(|error| panic!("{context}: cannot open {}: {error}", index.display()));
    connection.busy_timeout(std::time::Duration::from_secs(60)).expect("set the busy timeout");
    let tables: i64 = connection
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'objects'", [], |row| row.get(0))
        .unwrap_or_else(|error| panic!("{context}: cannot read the schema of {}: {error}", index.display()));
    if tables == 0 {
        // Killed before the first migration committed: the index holds nothing yet.
        return 0;
    }
    let violations: Vec<String> = connection
        .prepare("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| {
                    Ok(format!(
                        "{} row {:?} -> {}",
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, String>(2)?
                    ))
                })?
                .collect()
        })
        .unwrap_or_else(|error| panic!("{context}: foreign key check failed: {error}"));
    assert!(violations.is_empty(), "{context}: the index has dangling references:\n{}", violations.join("\n"));
    let rows: Vec<(String, bool, i64, i64, i64)> = connection
        .prepare("SELECT hex(hash), executable, size, mtime_ns, inode FROM objects")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
                .collect()
        })
        .unwrap_or_else(|error| panic!("{context}: cannot read the objects of {}: {error}", index.display()));
    let indexed = rows.len() as u64;
    let mut problems = Vec::new();
    for (hash, executable, size, mtime_ns, inode) in rows {
        let hash = hash.to_lowercase();
        let name = format!("{}{}", &hash[2..], if executable { ".x" } else { "" });
        let path = store.join("objects").join(&hash[..2]).join(name);
        match fs::symlink_metadata(&path) {
            Err(error) => problems.push(format!("{} is in the index but: {error}", path.display())),
            Ok(metadata) if !metadata.is_file() => problems.push(format!("{} is not a file", path.display())),
            Ok(metadata) => {
                let found = (
                    metadata.len() as i64,
                    metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec(),
                    metadata.ino() as i64,
                );
                if found != (size, mtime_ns, inode) {
                    problems.push(format!(
                        "{}: (size, mtime ns, inode) is {found:?}, the index says {:?}",
                        path.display(),
                        (size, mtime_ns, inode)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{context}: the index does not match the object files:\n{}", problems.join("\n"));
    indexed
}

/// A small deterministic pseudo-random generator (SplitMix64), so that a test's random choices
/// are the same on every run and a failure can be replayed from the seed it prints.
#[derive(Clone, Debug)]
pub struct Prng {
    state: u64,
}

impl Prng {
    /// A seed derived from `name` (FNV-1a of its bytes), e.g. the test's name: the same on
    /// every run and every platform.
    pub fn seed_of(name: &str) -> u64 {
        let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            seed = (seed ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        seed
    }

    /// A generator that starts from `seed`.
    pub fn from_seed(seed: u64) -> Prng {
        Prng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Says what a test was doing if a check fails while this value is alive (it prints from its
/// `Drop` during the unwinding): the step, and the seed or delay that led there.
pub struct Scene(pub String);

impl Drop for Scene {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failed during: {}", self.0);
        }
    }
}
