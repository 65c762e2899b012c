//! Placing store objects into a target directory: reflink, hardlink or copy, with fallbacks.
//!
//! The [`Linker`] is a small state machine in the spirit of uv's `uv-fs` link module: it tries
//! the best mode the [`FileClass`] allows, learns from the first failure that a mode does not
//! work between the store and the target filesystem (EXDEV, EOPNOTSUPP, EPERM from
//! `protected_hardlinks`), stops trying it, records one warning naming both paths, and reports
//! for every file the mode it actually used.
//!
//! Risks of each mode, for the record (as rattler documents its link methods):
//! - **hardlink** shares the inode: if anything writes the worktree file in place, the store
//!   object changes too. Only [`FileClass::RustcOutput`] is hard-linked by default, because
//!   rustc replaces those files by rename; linked binaries only on explicit request. A hard
//!   link also shares the mtime, so it is only used when the object's mtime is the recorded one.
//! - **reflink** shares data blocks copy-on-write: an in-place write in the worktree copies the
//!   block, the store is untouched. Safe for every class but needs XFS, Btrfs, APFS, ...
//! - **copy** is always safe and costs the bytes and the time.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::FileClass;
use crate::error::{Context, Error};
use crate::publish::{publish, temporary_path};
use crate::time::{FileTimes, set_times};

/// How one file was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkMode {
    /// A copy-on-write clone: its own inode, shared data blocks.
    Reflink,
    /// A hard link: the same inode as the store object.
    Hardlink,
    /// A full private copy.
    Copy,
}

impl LinkMode {
    /// The lowercase name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            LinkMode::Reflink => "reflink",
            LinkMode::Hardlink => "hardlink",
            LinkMode::Copy => "copy",
        }
    }
}

impl fmt::Display for LinkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the user asked for with `--link-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkRequest {
    /// The per-class default policy.
    #[default]
    Auto,
    /// Prefer reflinks for every class that may share data, else copy.
    Reflink,
    /// Hard-link rustc outputs and linked binaries (opting in to the risk for binaries).
    Hardlink,
    /// Copy everything.
    Copy,
}

const UNKNOWN: u8 = 0;
const WORKS: u8 = 1;
const BROKEN: u8 = 2;

/// Places store objects into one target directory, probing link modes on the first file.
///
/// One `Linker` serves one (store, target directory) pair, so the capabilities it learns are
/// those of one pair of filesystems. It is `Sync`: checkout places files from many threads.
pub struct Linker {
    request: LinkRequest,
    strict: bool,
    store: PathBuf,
    target: PathBuf,
    reflink: AtomicU8,
    hardlink: AtomicU8,
    warnings: Mutex<Vec<String>>,
}

impl Linker {
    /// A linker from the store at `store` to the target directory `target` (both used only in
    /// messages).
    pub fn new(request: LinkRequest, strict: bool, store: &Path, target: &Path) -> Linker {
        Linker {
            request,
            strict,
            store: store.to_path_buf(),
            target: target.to_path_buf(),
            reflink: AtomicU8::new(UNKNOWN),
            hardlink: AtomicU8::new(UNKNOWN),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// The warnings gathered so far (each fallback is reported once).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// The modes to try for a class, best first. `Copy` always ends the list.
    fn candidates(&self, class: FileClass, shareable: bool) -> &'static [LinkMode] {
        use LinkMode::*;
        let hardlink = class.hardlink_allowed() && shareable;
        match (self.request, class) {
            (_, FileClass::Metadata) | (LinkRequest::Copy, _) => &[Copy],
            (LinkRequest::Auto, FileClass::RustcOutput) if hardlink => &[Reflink, Hardlink, Copy],
            (LinkRequest::Hardlink, _) if hardlink => &[Hardlink, Copy],
            _ => &[Reflink, Copy],
        }
    }

    /// Places `object` at `destination`, which must not exist yet, with the permission bits
    /// `mode` and the modification time `times`.
    ///
    /// `shareable` says whether the object's inode may be handed out as it is: a hard link
    /// shares the mtime, so the object's must be `times`; and it shares the permission bits,
    /// so the object must be writable by its owner, because rustc refuses to replace an
    /// output file that is read-only (even for root).
    ///
    /// Returns the mode actually used. Fails with [`io::ErrorKind::AlreadyExists`] (inside
    /// [`Error::Place`] or [`Error::Io`]) if the destination exists.
    pub fn place(
        &self,
        object: &Path,
        destination: &Path,
        class: FileClass,
        mode: u32,
        times: FileTimes,
        shareable: bool,
    ) -> crate::Result<LinkMode> {
        for &candidate in self.candidates(class, shareable) {
            let state = match candidate {
                LinkMode::Reflink => &self.reflink,
                LinkMode::Hardlink => &self.hardlink,
                LinkMode::Copy => {
                    copy(object, destination, mode, times)?;
                    return Ok(LinkMode::Copy);
                }
            };
            if state.load(Ordering::Relaxed) == BROKEN {
                continue;
            }
            let attempt = match candidate {
                LinkMode::Reflink => reflink(object, destination, mode, times),
                _ => fs::hard_link(object, destination),
            };
            match attempt {
                Ok(()) => {
                    state.store(WORKS, Ordering::Relaxed);
                    return Ok(candidate);
                }
                Err(error) if is_fatal(&error) => {
                    return Err(Error::Place {
                        mode: candidate,
                        from: object.to_path_buf(),
                        to: destination.to_path_buf(),
                        source: error,
                    });
                }
                // Too many links to one inode (ext4 allows 65,000): copy this one file.
                Err(error) if candidate == LinkMode::Hardlink && error.raw_os_error() == Some(libc::EMLINK) => {}
                Err(error) => self.mark_broken(candidate, state, &error)?,
            }
        }
        // `Copy` ends every candidate list, so this is not reached; copy anyway to be total.
        copy(object, destination, mode, times)?;
        Ok(LinkMode::Copy)
    }

    /// Records that `mode` does not work here; fails instead under `--strict` when the user
    /// asked for exactly that mode.
    fn mark_broken(&self, mode: LinkMode, state: &AtomicU8, error: &io::Error) -> crate::Result<()> {
        let requested = matches!(
            (self.request, mode),
            (LinkRequest::Reflink, LinkMode::Reflink) | (LinkRequest::Hardlink, LinkMode::Hardlink)
        );
        let fallback = if mode == LinkMode::Reflink && self.request == LinkRequest::Auto {
            LinkMode::Hardlink
        } else {
            LinkMode::Copy
        };
        if self.strict && requested {
            return Err(Error::Unsupported {
                mode,
                from: self.store.clone(),
                to: self.target.clone(),
                reason: error.to_string(),
                fallback,
            });
        }
        if state.swap(BROKEN, Ordering::Relaxed) == BROKEN {
            return Ok(());
        }
        // Without reflink support (ext4, for one) the default policy hard-links rustc outputs
        // and copies the rest: that is the expected setup, not worth a warning. Everything
        // else is a fallback the user can do something about.
        if mode == LinkMode::Reflink && self.request == LinkRequest::Auto {
            tracing::debug!("reflink unavailable from {} to {}: {error}", self.store.display(), self.target.display());
            return Ok(());
        }
        let message = format!(
            "{mode} does not work from the store `{}` to `{}` ({error}); falling back to {fallback}\nhint: keep the store on the same filesystem as your worktrees (`--store` or CARGO_STORE_DIR), or pass `--link-mode copy` to silence this",
            self.store.display(),
            self.target.display(),
        );
        if let Ok(mut warnings) = self.warnings.lock() {
            warnings.push(message);
        }
        Ok(())
    }
}

/// Errors that no other link mode can fix: the destination exists, a directory is missing or
/// not writable, the disk is full.
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::AlreadyExists
            | io::ErrorKind::NotFound
            | io::ErrorKind::StorageFull
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::QuotaExceeded
    ) || (error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error() != Some(libc::EPERM))
}

/// Clones `object` to a temporary file beside `destination`, fixes mode and times, publishes.
fn reflink(object: &Path, destination: &Path, mode: u32, times: FileTimes) -> io::Result<()> {
    let temporary = temporary_path(destination);
    reflink_copy::reflink(object, &temporary)?;
    finish(&temporary, destination, mode, times).map_err(into_io)
}

/// Copies `object` to a temporary file beside `destination`, fixes mode and times, publishes.
fn copy(object: &Path, destination: &Path, mode: u32, times: FileTimes) -> crate::Result<()> {
    let temporary = temporary_path(destination);
    fs::copy(object, &temporary).map_err(|source| Error::Place {
        mode: LinkMode::Copy,
        from: object.to_path_buf(),
        to: destination.to_path_buf(),
        source,
    })?;
    finish(&temporary, destination, mode, times)
}

fn finish(temporary: &Path, destination: &Path, mode: u32, times: FileTimes) -> crate::Result<()> {
    let prepared = fs::set_permissions(temporary, fs::Permissions::from_mode(mode))
        .context("set the permissions of", temporary)
        .and_then(|()| set_times(temporary, times));
    if let Err(error) = prepared {
        let _ = fs::remove_file(temporary);
        return Err(error);
    }
    publish(temporary, destination)
}

fn into_io(error: Error) -> io::Error {
    match error {
        Error::Io { source, .. } | Error::Place { source, .. } => source,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn setup() -> (tempfile::TempDir, PathBuf, FileTimes) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let object = directory.path().join("object");
        fs::write(&object, b"bytes").expect("write object");
        fs::set_permissions(&object, fs::Permissions::from_mode(0o444)).expect("chmod");
        let times = FileTimes { modified_ns: 1_600_000_000_000_000_001 };
        set_times(&object, times).expect("times");
        (directory, object, times)
    }

    #[test]
    fn rustc_output_is_hardlinked_only_when_shareable() {
        let (directory, object, times) = setup();
        let linker = Linker::new(LinkRequest::Auto, false, directory.path(), directory.path());
        let linked = directory.path().join("linked.rlib");
        let mode = linker.place(&object, &linked, FileClass::RustcOutput, 0o644, times, true).expect("place");
        assert!(mode == LinkMode::Hardlink || mode == LinkMode::Reflink);
        let copied = directory.path().join("copied.rlib");
        let other = FileTimes { modified_ns: times.modified_ns + 1 };
        let mode = linker.place(&object, &copied, FileClass::RustcOutput, 0o644, other, false).expect("place");
        assert_ne!(mode, LinkMode::Hardlink);
        let metadata = fs::metadata(&copied).expect("stat");
        assert_eq!(FileTimes::of(&metadata), other);
        assert_eq!(metadata.mode() & 0o777, 0o644);
        assert_ne!(metadata.ino(), fs::metadata(&object).expect("stat").ino());
    }

    #[test]
    fn metadata_is_always_a_private_copy() {
        let (directory, object, times) = setup();
        for request in [LinkRequest::Auto, LinkRequest::Hardlink, LinkRequest::Reflink] {
            let linker = Linker::new(request, true, directory.path(), directory.path());
            let destination = directory.path().join(format!("fingerprint-{request:?}"));
            let mode = linker.place(&object, &destination, FileClass::Metadata, 0o644, times, true).expect("place");
            assert_eq!(mode, LinkMode::Copy);
            assert_eq!(fs::metadata(&destination).expect("stat").nlink(), 1);
        }
    }

    #[test]
    fn an_existing_destination_is_never_replaced() {
        let (directory, object, times) = setup();
        let destination = directory.path().join("taken");
        fs::write(&destination, b"mine").expect("write");
        for request in [LinkRequest::Auto, LinkRequest::Copy] {
            let linker = Linker::new(request, false, directory.path(), directory.path());
            let error = linker
                .place(&object, &destination, FileClass::RustcOutput, 0o644, times, true)
                .expect_err("must not overwrite");
            assert_eq!(error.io_error().map(io::Error::kind), Some(io::ErrorKind::AlreadyExists));
        }
        assert_eq!(fs::read(&destination).expect("read"), b"mine");
    }
}
