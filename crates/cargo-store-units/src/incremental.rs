//! Rustc's incremental compilation directories, as rustc itself reads and collects them.
//!
//! ```text
//! <build-dir>/[<triple>/]<profile>/incremental/     both layouts; workspace crates only
//!   <crate>-<stable crate id>/                      one per crate and crate id (rustc's
//!     s-<timestamp>-<random>-<svh>/                 `-C metadata`, which RUSTFLAGS do not
//!     s-<timestamp>-<random>.lock                   change): sessions, each with a lock file
//!     s-<timestamp>-<random>-working/               a session rustc is compiling (or a
//!                                                   killed rustc left)
//! ```
//!
//! Facts from rustc (`rustc_incremental/src/persist/fs.rs`), checked against the names a
//! cargo 1.95 build writes:
//!
//! - The timestamp is the session's creation time in *microseconds* since the epoch, in base
//!   36 (`hop3gg6ich` is 2026-12-02 06:22:10.2 UTC). It is part of the name, so no access or
//!   modification time is needed to know how old a session is.
//! - A compilation copies (hard-links) the newest finalized session of its crate directory
//!   into a new `-working` one, which it renames to its final name when it succeeds. Only the
//!   newest finalized session is ever read; rustc collects the others when it next compiles
//!   the crate, so one previous session stays beside the newest until then.
//! - Rustc holds each session's lock file while it compiles into it (exclusively) or copies
//!   from it (shared), and collects only what it can lock exclusively without waiting: `flock`
//!   on Linux, `fcntl` locks elsewhere. [`Session::try_lock`] takes the same lock the same
//!   way. A session whose lock file is gone is never used as a source.
//!
//! Nothing in a target's fingerprint refers to these directories: removing one never makes a
//! unit stale, it only makes the next compilation of that crate after an edit start from
//! scratch.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Place;
use crate::error::Context;

/// One session directory of an incremental crate directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The directory's name, `s-<timestamp>-<random>-<svh or "working">`.
    pub name: String,
    /// When rustc created it, µs since the epoch.
    pub created_us: i64,
    /// Whether rustc finished it (a `-working` session is being compiled, or was abandoned).
    pub finalized: bool,
    /// The name of its lock file, `s-<timestamp>-<random>.lock`, if it is there.
    pub lock_file: Option<String>,
}

/// One crate directory under a place's `incremental/`.
#[derive(Debug, Clone)]
pub struct IncrementalDirectory {
    /// The place it belongs to.
    pub place: Place,
    /// Relative to the build directory: `<place>/incremental/<crate>-<id>`.
    pub path: PathBuf,
    /// The crate name part of the directory's name.
    pub crate_name: String,
    /// Its sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Lock files with no session beside them (left by a killed rustc).
    pub orphan_lock_files: Vec<String>,
}

impl IncrementalDirectory {
    /// The finalized session rustc would start the next compilation from.
    pub fn newest_finalized(&self) -> Option<&Session> {
        self.sessions.iter().filter(|session| session.finalized).max_by_key(|session| session.created_us)
    }

    /// The newest session's creation time, µs since the epoch; 0 if it has none.
    pub fn newest_us(&self) -> i64 {
        self.sessions.iter().map(|session| session.created_us).max().unwrap_or(0)
    }
}

impl Session {
    /// Takes the session's lock exclusively, without waiting, as rustc's own collection does:
    /// `Some(lock)` to hold while removing the session, `None` when rustc holds it (compiling
    /// into the session or copying from it). A lock file that is gone is free: rustc no longer
    /// uses the session.
    pub fn try_lock(&self, crate_directory: &Path) -> std::io::Result<Option<SessionLock>> {
        let Some(name) = &self.lock_file else { return Ok(Some(SessionLock { _file: None })) };
        let path = crate_directory.join(name);
        let file = match fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Some(SessionLock { _file: None })),
            Err(error) => return Err(error),
        };
        if lock_like_rustc(&file)? { Ok(Some(SessionLock { _file: Some(file) })) } else { Ok(None) }
    }
}

/// A session lock taken by [`Session::try_lock`]; released when dropped.
#[derive(Debug)]
pub struct SessionLock {
    _file: Option<fs::File>,
}

/// Takes an exclusive lock on `file` without waiting, the kind of lock rustc takes on this
/// system (`rustc_data_structures::flock`): `flock` on Linux, POSIX `fcntl` locks elsewhere.
/// `false` when someone else holds it.
fn lock_like_rustc(file: &fs::File) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        match file.try_lock() {
            Ok(()) => Ok(true),
            Err(fs::TryLockError::WouldBlock) => Ok(false),
            Err(fs::TryLockError::Error(error)) => Err(error),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        match rustix::fs::fcntl_lock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(error) if error == rustix::io::Errno::AGAIN || error == rustix::io::Errno::ACCESS => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

/// The timestamp of a session directory or lock file name (`s-<timestamp>-...`), µs since the
/// epoch.
pub fn session_created_us(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("s-")?;
    let (timestamp, _) = rest.split_once('-')?;
    i64::from_str_radix(timestamp, 36).ok()
}

/// The incremental crate directories of `places` in `build_directory` (a place listed twice,
/// for its two layouts, is read once). Symbolic links are never followed: a link under
/// `incremental/` is not a crate directory.
pub fn incremental_directories(build_directory: &Path, places: &[Place]) -> crate::Result<Vec<IncrementalDirectory>> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for place in places {
        if !seen.insert(place.path.clone()) {
            continue;
        }
        let relative = place.path.join("incremental");
        let directory = build_directory.join(&relative);
        let entries = match fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).context("read directory", &directory),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let Some((crate_name, _)) = name.rsplit_once('-') else { continue };
            let crate_path = directory.join(&name);
            let (sessions, orphan_lock_files) = sessions_of(&crate_path)?;
            found.push(IncrementalDirectory {
                place: place.clone(),
                path: relative.join(&name),
                crate_name: crate_name.to_owned(),
                sessions,
                orphan_lock_files,
            });
        }
    }
    Ok(found)
}

/// The sessions of a crate directory, oldest first, and its lock files without a session.
fn sessions_of(crate_directory: &Path) -> crate::Result<(Vec<Session>, Vec<String>)> {
    let entries = match fs::read_dir(crate_directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(error) => return Err(error).context("read directory", crate_directory),
    };
    let mut directories = Vec::new();
    let mut locks = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("s-") {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => directories.push(name),
            Ok(kind) if kind.is_file() && name.ends_with(".lock") => locks.push(name),
            _ => {}
        }
    }
    let mut sessions: Vec<Session> = directories
        .into_iter()
        .filter_map(|name| {
            let created_us = session_created_us(&name)?;
            // `s-<timestamp>-<random>` names both the session and its lock file.
            let prefix = name.splitn(4, '-').take(3).collect::<Vec<_>>().join("-");
            let lock_file = Some(format!("{prefix}.lock")).filter(|lock| locks.contains(lock));
            Some(Session { finalized: !name.ends_with("-working"), lock_file, created_us, name })
        })
        .collect();
    sessions.sort_by(|a, b| a.created_us.cmp(&b.created_us).then_with(|| a.name.cmp(&b.name)));
    let mut orphan_lock_files: Vec<String> = locks
        .into_iter()
        .filter(|lock| !sessions.iter().any(|session| session.lock_file.as_ref() == Some(lock)))
        .collect();
    orphan_lock_files.sort();
    Ok((sessions, orphan_lock_files))
}

/// The crate name rustc compiles a unit's target as, from its fingerprint hash file name
/// (`lib-serde_json`, `bin-my-app`, `test-integration-test-it`, `build-script-build-script-build`):
/// the name its incremental directory starts with. `None` for units that compile nothing
/// (build script runs) and for documentation.
pub fn crate_name_of(fingerprint_name: &str) -> Option<String> {
    if fingerprint_name.starts_with("run-") || fingerprint_name.starts_with("doc-") {
        return None;
    }
    let name = fingerprint_name.strip_prefix("test-").unwrap_or(fingerprint_name);
    ["lib-", "bin-", "integration-test-", "bench-", "example-", "build-script-"]
        .into_iter()
        .find_map(|kind| name.strip_prefix(kind))
        .map(|target| target.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Layout;

    #[test]
    fn session_timestamps_are_base_36_microseconds() {
        // Read from a directory cargo 1.95 wrote, whose session was created at
        // 2026-12-02 05:23:01.982 UTC.
        let created = session_created_us("s-hop1trnae0-11ktmj2-a44mmx6qf4ltqp17pafkscrn0").expect("a timestamp");
        assert_eq!(created, 1_796_188_981_982_040);
        assert_eq!(session_created_us("s-hop1trnae0-11ktmj2.lock"), Some(created));
        assert_eq!(session_created_us("dep-graph.bin"), None);
    }

    #[test]
    fn crate_names_of_targets() {
        assert_eq!(crate_name_of("lib-serde_json").as_deref(), Some("serde_json"));
        assert_eq!(crate_name_of("bin-my-app").as_deref(), Some("my_app"));
        assert_eq!(crate_name_of("test-integration-test-it").as_deref(), Some("it"));
        assert_eq!(crate_name_of("test-lib-app").as_deref(), Some("app"));
        assert_eq!(crate_name_of("build-script-build-script-build").as_deref(), Some("build_script_build"));
        assert_eq!(crate_name_of("run-build-script-build-script-build"), None);
        assert_eq!(crate_name_of("doc-lib-app"), None);
    }

    #[test]
    fn finds_sessions_their_locks_and_leftovers() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let crate_directory = temporary.path().join("debug/incremental/app-0vd5zz93m5lld");
        for session in
            ["s-hop3gfqb60-18koo98-88tvnbrgrj", "s-hop3j4q2k8-0l0zhiv-ega1ktmm5w", "s-hop3k00000-1abcdef-working"]
        {
            fs::create_dir_all(crate_directory.join(session)).expect("session");
        }
        for lock in [
            "s-hop3gfqb60-18koo98.lock",
            "s-hop3j4q2k8-0l0zhiv.lock",
            "s-hop3k00000-1abcdef.lock",
            "s-hop1000000-0000000.lock",
        ] {
            fs::write(crate_directory.join(lock), b"").expect("lock");
        }
        let place = Place { layout: Layout::Legacy, path: PathBuf::from("debug") };
        let found = incremental_directories(temporary.path(), &[place.clone(), place]).expect("read");
        assert_eq!(found.len(), 1, "{found:#?}");
        let directory = &found[0];
        assert_eq!(
            (directory.crate_name.as_str(), directory.path.as_path()),
            ("app", Path::new("debug/incremental/app-0vd5zz93m5lld"))
        );
        let names: Vec<&str> = directory.sessions.iter().map(|session| session.name.as_str()).collect();
        assert_eq!(
            names,
            ["s-hop3gfqb60-18koo98-88tvnbrgrj", "s-hop3j4q2k8-0l0zhiv-ega1ktmm5w", "s-hop3k00000-1abcdef-working"]
        );
        assert_eq!(
            directory.newest_finalized().map(|session| session.name.as_str()),
            Some("s-hop3j4q2k8-0l0zhiv-ega1ktmm5w")
        );
        assert_eq!(directory.sessions[2].lock_file.as_deref(), Some("s-hop3k00000-1abcdef.lock"));
        assert!(!directory.sessions[2].finalized);
        assert_eq!(directory.orphan_lock_files, ["s-hop1000000-0000000.lock"]);

        // A lock that someone holds cannot be taken; a free one can, and a lock file that is
        // gone counts as free.
        let crate_path = temporary.path().join(&directory.path);
        // (`fcntl` locks, used off Linux, are per process: this process cannot stand in for
        // another rustc there.)
        #[cfg(target_os = "linux")]
        {
            let held = fs::File::open(crate_path.join("s-hop3k00000-1abcdef.lock")).expect("open");
            held.lock().expect("lock");
            assert!(directory.sessions[2].try_lock(&crate_path).expect("try").is_none(), "a held lock was taken");
        }
        assert!(directory.sessions[0].try_lock(&crate_path).expect("try").is_some(), "a free lock was refused");
        fs::remove_file(crate_path.join("s-hop3gfqb60-18koo98.lock")).expect("remove the lock file");
        assert!(directory.sessions[0].try_lock(&crate_path).expect("try").is_some());
    }
}
