//! Object identities: the blake3 hash of a file's bytes plus its executable bit.
//!
//! The executable bit is part of the identity because an object file carries one mode for
//! every worktree it is hard-linked into: a build script and a data file with the same bytes
//! must be two objects.

use std::fmt;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use cargo_store_fs::FileTimes;

use crate::Error;
use crate::error::Context;

/// The identity of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// The blake3 hash of the bytes.
    pub hash: [u8; 32],
    /// Whether the file is executable.
    pub executable: bool,
}

impl ObjectId {
    /// The identity of `bytes` with the given executable bit.
    pub fn of_bytes(bytes: &[u8], executable: bool) -> ObjectId {
        ObjectId { hash: *blake3::hash(bytes).as_bytes(), executable }
    }

    /// The hash in lowercase hex.
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.hash).to_hex().to_string()
    }

    /// The names of the object's file: its directory under `objects/` and its own, `ab` and
    /// `cdef…` or `cdef….x` (see [`StoreDirectory::object_path`](crate::StoreDirectory::object_path)).
    pub fn file_name(&self) -> (String, String) {
        let hex = self.hex();
        let suffix = if self.executable { ".x" } else { "" };
        (hex[..2].to_owned(), format!("{}{suffix}", &hex[2..]))
    }

    /// The identity of the object file `objects/<directory>/<file>`, if those are the names of
    /// one (`ab` and `cdef…` or `cdef….x`): the inverse of [`ObjectId::file_name`].
    pub fn from_file_name(directory: &str, file: &str) -> Option<ObjectId> {
        let (rest, executable) = match file.strip_suffix(".x") {
            Some(rest) => (rest, true),
            None => (file, false),
        };
        if directory.len() != 2 || rest.len() != 62 {
            return None;
        }
        let hash = blake3::Hash::from_hex(format!("{directory}{rest}")).ok()?;
        Some(ObjectId { hash: *hash.as_bytes(), executable })
    }

    /// The permission bits of the object file, executable if needed.
    ///
    /// Objects are read-only unless they may be hard-linked into worktrees (`writable`): a hard
    /// link shares the permission bits, and rustc refuses to replace an output file that is
    /// read-only, so such objects must be writable by their owner. What protects them is that
    /// rustc and linkers replace those files by rename, never in place.
    pub fn mode(&self, writable: bool) -> u32 {
        let mode = if writable { 0o644 } else { 0o444 };
        if self.executable { mode | 0o111 } else { mode }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())?;
        if self.executable {
            f.write_str(".x")?;
        }
        Ok(())
    }
}

/// What a file looked like when it was scanned: hashing or storing it checks that it still is
/// that file, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    /// Its size.
    pub size: u64,
    /// Its inode.
    pub inode: u64,
    /// Its mtime.
    pub times: FileTimes,
}

impl FileIdentity {
    /// The identity of a file from its metadata.
    pub fn of(metadata: &std::fs::Metadata) -> FileIdentity {
        FileIdentity { size: metadata.len(), inode: metadata.ino(), times: FileTimes::of(metadata) }
    }
}

/// Hashes the file at `path`, which must still be the file `expected` describes, before and
/// after it is read: a file that cargo replaced or rewrote since it was scanned fails with
/// [`Error::Changed`] instead of being stored under a hash that its recorded mtime does not
/// belong to.
pub fn hash_file(path: &Path, expected: &FileIdentity) -> crate::Result<blake3::Hash> {
    let file = File::open(path).context("open", path)?;
    let unchanged = |file: &File| -> crate::Result<()> {
        let metadata = file.metadata().context("read metadata of", path)?;
        if FileIdentity::of(&metadata) == *expected { Ok(()) } else { Err(Error::Changed { path: path.to_path_buf() }) }
    };
    unchanged(&file)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&file).context("read", path)?;
    unchanged(&file)?;
    Ok(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_bit_is_part_of_the_identity() {
        let plain = ObjectId::of_bytes(b"x", false);
        let executable = ObjectId::of_bytes(b"x", true);
        assert_ne!(plain, executable);
        assert_eq!(plain.hash, executable.hash);
        assert!(executable.file_name().1.ends_with(".x"));
        let (prefix, name) = plain.file_name();
        assert_eq!(prefix.len(), 2);
        assert_eq!(prefix.clone() + &name, plain.hex());
        assert_eq!(ObjectId::from_file_name(&prefix, &name), Some(plain));
        let executable_name = format!("{name}.x");
        assert_eq!(ObjectId::from_file_name(&prefix, &executable_name), Some(executable));
        assert_eq!(ObjectId::from_file_name(&prefix, "not-an-object"), None);
    }

    #[test]
    fn hashing_refuses_a_file_that_is_not_the_scanned_one() -> crate::Result<()> {
        let directory = tempfile::tempdir().context("create", "tempdir")?;
        let path = directory.path().join("file");
        let bytes = vec![7u8; 3 << 20];
        std::fs::write(&path, &bytes).context("write", &path)?;
        let scanned = FileIdentity::of(&std::fs::metadata(&path).context("stat", &path)?);
        assert_eq!(hash_file(&path, &scanned)?, blake3::hash(&bytes));
        // Replaced by rename, as rustc does: another inode.
        let replacement = directory.path().join("replacement");
        std::fs::write(&replacement, &bytes).context("write", &replacement)?;
        std::fs::rename(&replacement, &path).context("rename", &path)?;
        assert!(matches!(hash_file(&path, &scanned), Err(Error::Changed { .. })));
        Ok(())
    }
}
