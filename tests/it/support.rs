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
