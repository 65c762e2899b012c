//! Probes of the filesystems under the store and a build directory, for `cargo store doctor`:
//! which filesystem a path is on, how much room it has, and which link modes really work
//! between two directories.
//!
//! Which filesystem holds a path is a question each platform answers its own way. Linux has
//! `/proc/self/mountinfo`, whose type names are the ones `mount` takes (`btrfs`, `fuse.sshfs`)
//! and which lists bind mounts and overlays as such; macOS has no mount table file, but
//! `statfs(2)` names the filesystem (`f_fstypename`: `apfs`, `hfs`, `smbfs`) and its mount
//! point (`f_mntonname`) for the path itself. Elsewhere the type is left unknown, which costs
//! only doctor's advice: nothing else reads it. Free space is POSIX `statvfs(3)` everywhere.
//!
//! Link modes are learnt by trying them on a small file, never guessed from the filesystem's
//! name: a Btrfs mounted through a bind mount, an XFS made without `reflink=1`, an overlay or
//! a FUSE filesystem all answer differently from what their type suggests. The [`Linker`]
//! learns the same facts from the first real file of a checkout; the probe only lets the user
//! see them beforehand.
//!
//! [`Linker`]: crate::Linker

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::Context;
use crate::publish::temporary_path;

/// What is known of the filesystem a path is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    /// The path that was looked at (the nearest existing ancestor of the one asked about).
    pub path: PathBuf,
    /// `st_dev` of that path: two paths are on one filesystem when their devices are equal.
    pub device: u64,
    /// The filesystem type (`ext4`, `btrfs`, `tmpfs`, `apfs`, ...), when it could be found (on
    /// Linux and macOS).
    pub kind: Option<String>,
    /// Where that filesystem is mounted, when it could be found.
    pub mount_point: Option<PathBuf>,
    /// Bytes an unprivileged user may still write.
    pub available_bytes: u64,
    /// The size of the filesystem in bytes.
    pub total_bytes: u64,
}

/// Which link modes work from one directory to another, as tried on a real file.
#[derive(Debug)]
pub struct LinkProbe {
    /// The directory the probe file was created in (a stand-in for the store's objects).
    pub from: PathBuf,
    /// The directory it was linked into (a stand-in for a build directory).
    pub to: PathBuf,
    /// The outcome of a reflink (copy-on-write clone).
    pub reflink: io::Result<()>,
    /// The outcome of a hard link.
    pub hardlink: io::Result<()>,
}

/// `path` if it exists, else its nearest ancestor that does (`/` at worst). Symbolic links
/// are followed, as the commands that later create the path would.
pub fn nearest_existing(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.ancestors().find(|ancestor| ancestor.exists()).unwrap_or(Path::new("/")).to_path_buf()
}

/// Describes the filesystem of `path`, or of its nearest existing ancestor when it does not
/// exist yet.
pub fn filesystem(path: &Path) -> crate::Result<Filesystem> {
    let path = nearest_existing(path);
    let device = fs::metadata(&path).context("read metadata of", &path)?.dev();
    let (available_bytes, total_bytes) = space(&path).context("read the free space of", &path)?;
    let canonical = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let mount = mount_of(&canonical);
    Ok(Filesystem {
        path,
        device,
        kind: mount.as_ref().map(|mount| mount.kind.clone()),
        mount_point: mount.map(|mount| mount.point),
        available_bytes,
        total_bytes,
    })
}

/// Creates a small file in `from`, tries to reflink and to hard-link it into `to`, and removes
/// every file it made. Both directories must exist. Fails only if the probe file itself cannot
/// be created; a link mode that does not work is an outcome, not an error.
pub fn probe_links(from: &Path, to: &Path) -> crate::Result<LinkProbe> {
    let source = temporary_path(&from.join("probe"));
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&source)
        .and_then(|mut file| file.write_all(b"cargo-store doctor: link probe\n"));
    if let Err(error) = created {
        let _ = fs::remove_file(&source);
        return Err(error).context("create a probe file in", from);
    }
    let attempt = |link: &dyn Fn(&Path) -> io::Result<()>| {
        let destination = temporary_path(&to.join("probe"));
        let outcome = link(&destination);
        // A failed reflink removes its own half-made destination; a hard link makes nothing
        // when it fails. Remove whatever is there either way.
        let _ = fs::remove_file(&destination);
        outcome
    };
    let reflink = attempt(&|destination| reflink_copy::reflink(&source, destination));
    let hardlink = attempt(&|destination| fs::hard_link(&source, destination));
    let _ = fs::remove_file(&source);
    Ok(LinkProbe { from: from.to_path_buf(), to: to.to_path_buf(), reflink, hardlink })
}

/// Available and total bytes of the filesystem of `path`, from `statvfs(3)`.
fn space(path: &Path) -> io::Result<(u64, u64)> {
    let stats = rustix::fs::statvfs(path)?;
    let fragment = stats.f_frsize;
    Ok((stats.f_bavail.saturating_mul(fragment), stats.f_blocks.saturating_mul(fragment)))
}

/// The filesystem that holds a path: its mount point and type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    point: PathBuf,
    kind: String,
}

/// The mount that holds `path` (canonical): the one with the longest mount point in
/// `/proc/self/mountinfo` that contains it, the last one listed when several are stacked on
/// the same point. `None` when `/proc` is not mounted.
#[cfg(target_os = "linux")]
fn mount_of(path: &Path) -> Option<Mount> {
    let table = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<Mount> = None;
    for mount in table.lines().filter_map(parse_mountinfo_line) {
        if !path.starts_with(&mount.point) {
            continue;
        }
        let deeper =
            best.as_ref().is_none_or(|best| mount.point.components().count() >= best.point.components().count());
        if deeper {
            best = Some(mount);
        }
    }
    best
}

/// The mount that holds `path`, as `statfs(2)` names it: `f_mntonname` and `f_fstypename`
/// (`apfs`, `hfs`, `smbfs`, `nfs`, ...).
#[cfg(target_os = "macos")]
fn mount_of(path: &Path) -> Option<Mount> {
    use std::ffi::{OsString, c_char};
    use std::os::unix::ffi::OsStringExt;

    let stats = rustix::fs::statfs(path).ok()?;
    // Both are NUL-terminated C strings in fixed-size arrays of `c_char` (signed on macOS).
    let text = |field: &[c_char]| -> Option<Vec<u8>> {
        let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| c.to_ne_bytes()[0]).collect();
        (!bytes.is_empty()).then_some(bytes)
    };
    let point = PathBuf::from(OsString::from_vec(text(&stats.f_mntonname)?));
    let kind = String::from_utf8_lossy(&text(&stats.f_fstypename)?).into_owned();
    Some(Mount { point, kind })
}

/// No way to name a path's filesystem is known here: its type stays unknown.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn mount_of(_path: &Path) -> Option<Mount> {
    None
}

/// Parses `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`: the mount point
/// is the fifth field, the type the first after the lone `-` (proc(5)).
#[cfg(any(target_os = "linux", test))]
fn parse_mountinfo_line(line: &str) -> Option<Mount> {
    let mut fields = line.split(' ');
    let point = fields.nth(4)?;
    let kind = fields.skip_while(|field| *field != "-").nth(1)?;
    Some(Mount { point: PathBuf::from(unescape(point)), kind: unescape(kind) })
}

/// Undoes the octal escapes of mountinfo (`\040` for a space, `\011`, `\012`, `\134`).
#[cfg(any(target_os = "linux", test))]
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes
            .get(index + 1..index + 4)
            .filter(|digits| bytes[index] == b'\\' && digits.iter().all(|digit| (b'0'..=b'7').contains(digit)));
        match escape {
            Some(digits) => {
                let value = digits.iter().fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                index += 4;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_the_mount_point_and_type() {
        let line = "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue";
        assert_eq!(parse_mountinfo_line(line), Some(Mount { point: PathBuf::from("/mnt two"), kind: "ext3".into() }));
        let line = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard";
        assert_eq!(parse_mountinfo_line(line), Some(Mount { point: PathBuf::from("/"), kind: "ext4".into() }));
        assert_eq!(parse_mountinfo_line("garbage"), None);
        assert_eq!(unescape("a\\134b\\011c\\9"), "a\\b\tc\\9");
    }

    #[test]
    fn the_filesystem_of_a_missing_path_is_its_ancestors() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let missing = directory.path().join("not/yet");
        let found = filesystem(&missing).expect("probe the filesystem");
        assert_eq!(found.path, directory.path());
        assert_eq!(found.device, fs::metadata(directory.path()).expect("stat").dev());
        assert!(found.total_bytes > 0 && found.available_bytes <= found.total_bytes, "{found:?}");
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            assert!(found.kind.is_some() && found.mount_point.is_some(), "{found:?}");
        }
    }

    #[test]
    fn hard_links_work_within_a_directory_and_the_probe_cleans_up() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let (from, to) = (directory.path().join("from"), directory.path().join("to"));
        fs::create_dir(&from).expect("create from");
        fs::create_dir(&to).expect("create to");
        let probe = probe_links(&from, &to).expect("probe");
        assert!(probe.hardlink.is_ok(), "{probe:?}");
        for side in [&from, &to] {
            assert_eq!(fs::read_dir(side).expect("list").count(), 0, "left a file in {}", side.display());
        }
    }

    #[test]
    fn a_probe_into_a_missing_directory_fails_both_modes_and_leaves_nothing() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let probe = probe_links(directory.path(), &directory.path().join("missing")).expect("probe");
        assert!(probe.reflink.is_err() && probe.hardlink.is_err(), "{probe:?}");
        assert_eq!(fs::read_dir(directory.path()).expect("list").count(), 0);
    }
}
