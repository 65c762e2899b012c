//! Cache files: the `CACHEDIR.TAG` of a cache directory, and entries that remember an answer.
//!
//! A directory that only holds what can be made again is tagged with a `CACHEDIR.TAG` file
//! (<https://bford.info/cachedir/>), as cargo tags the target directories it creates and uv its
//! cache, so that backup and indexing tools skip it. One writer serves the store and the
//! target directories checkout creates: [`tag_cache_directory`].
//!
//! A cache entry is a small file that remembers a costly answer (`cargo metadata`, `rustc -vV`,
//! the shape of a build directory). It is written all or nothing, under a temporary name
//! renamed over the entry ([`write_cache_entry`]), so a reader sees the old answer or the new
//! one, never half of one. Reading it marks it used ([`read_cache_entry`]): its mtime is moved
//! to now when it is older than [`USE_RESOLUTION`], so an entry's mtime says when it was last
//! used, to within a day, at the cost of one `utimensat` per entry and day. Whoever collects
//! the entries (the store's gc) goes by that mtime. Both are optimisations: a failure to write
//! or to mark an entry is not the user's problem, and is ignored.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, SystemTime};

use filetime::FileTime;

use crate::publish::{temporary_path, write_new};

/// The first line of every cache directory tag.
pub const CACHEDIR_TAG_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

/// How stale an entry's mtime may be before a read moves it to now: a day.
pub const USE_RESOLUTION: Duration = Duration::from_secs(24 * 3600);

/// Writes `CACHEDIR.TAG` into `directory`, naming `creator` (`cargo-store`, or `cargo` for a
/// target directory created on cargo's behalf) in its comment, unless a tag is there already.
pub fn tag_cache_directory(directory: &Path, creator: &str) -> crate::Result<()> {
    let path = directory.join("CACHEDIR.TAG");
    // Every command opens the store: a `stat` is all it should cost once the tag is there.
    if fs::symlink_metadata(&path).is_ok() {
        return Ok(());
    }
    let tag = format!(
        "{CACHEDIR_TAG_SIGNATURE}\n# This file is a cache directory tag created by {creator}.\n# For information about cache directory tags see https://bford.info/cachedir/\n"
    );
    match write_new(&path, tag.as_bytes(), 0o644, None) {
        Ok(()) => Ok(()),
        Err(error) if error.io_error().is_some_and(|e| e.kind() == io::ErrorKind::AlreadyExists) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The bytes of the cache entry at `path`, marked used (see the module docs); `None` if there
/// is none or it cannot be read.
pub fn read_cache_entry(path: &Path) -> Option<Vec<u8>> {
    let mut file = fs::File::open(path).ok()?;
    let modified = file.metadata().and_then(|metadata| metadata.modified()).ok();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let now = SystemTime::now();
    if modified.is_some_and(|modified| now.duration_since(modified).is_ok_and(|age| age > USE_RESOLUTION)) {
        let _ = filetime::set_file_mtime(path, FileTime::from_system_time(now));
    }
    Some(bytes)
}

/// Writes `bytes` as the cache entry at `path`, replacing the one there, creating its
/// directory if needed. Failures are ignored (see the module docs).
pub fn write_cache_entry(path: &Path, bytes: &[u8]) {
    if let Some(directory) = path.parent()
        && fs::create_dir_all(directory).is_ok()
    {
        let temporary = temporary_path(path);
        if fs::write(&temporary, bytes).is_err() || fs::rename(&temporary, path).is_err() {
            let _ = fs::remove_file(&temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_marks_an_old_entry_used_and_leaves_a_recent_one() {
        let directory = tempfile::tempdir().expect("tempdir");
        let entry = directory.path().join("bucket").join("entry.txt");
        assert_eq!(read_cache_entry(&entry), None);
        write_cache_entry(&entry, b"answer");
        assert_eq!(read_cache_entry(&entry).as_deref(), Some(&b"answer"[..]));
        assert_eq!(fs::read_dir(entry.parent().expect("parent")).expect("list").count(), 1, "no temporary left");

        let modified = |path: &Path| FileTime::from_last_modification_time(&fs::metadata(path).expect("stat"));
        let recent = FileTime::from_unix_time(FileTime::now().unix_seconds() - 3600, 0);
        filetime::set_file_mtime(&entry, recent).expect("set mtime");
        read_cache_entry(&entry).expect("read");
        assert_eq!(modified(&entry), recent, "an entry used within the day is not written to");

        let old = FileTime::from_unix_time(FileTime::now().unix_seconds() - 40 * 24 * 3600, 0);
        filetime::set_file_mtime(&entry, old).expect("set mtime");
        read_cache_entry(&entry).expect("read");
        assert!(modified(&entry).unix_seconds() > FileTime::now().unix_seconds() - 60, "marked used");
    }

    #[test]
    fn a_tag_is_written_once() {
        let directory = tempfile::tempdir().expect("tempdir");
        tag_cache_directory(directory.path(), "cargo").expect("tag");
        let tag = directory.path().join("CACHEDIR.TAG");
        let text = fs::read_to_string(&tag).expect("read the tag");
        assert!(text.starts_with(CACHEDIR_TAG_SIGNATURE) && text.contains("created by cargo."), "{text}");
        tag_cache_directory(directory.path(), "cargo-store").expect("tag again");
        assert_eq!(fs::read_to_string(&tag).expect("read the tag"), text, "an existing tag is kept");
    }
}
