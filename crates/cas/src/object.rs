//! Object identities: the blake3 hash of a file's bytes plus its executable bit.
//!
//! The executable bit is part of the identity because an object file carries one mode for
//! every worktree it is hard-linked into: a build script and a data file with the same bytes
//! must be two objects.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::Context;

/// Files at least this large are hashed through a memory map.
const MMAP_THRESHOLD: u64 = 1 << 20;

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

    /// The path of the object relative to the store: `objects/ab/cdef…[.x]`.
    pub fn relative_path(&self) -> PathBuf {
        let hex = self.hex();
        let suffix = if self.executable { ".x" } else { "" };
        Path::new("objects").join(&hex[..2]).join(format!("{}{suffix}", &hex[2..]))
    }

    /// The identity of the object file `objects/<directory>/<file>`, if those are the names of
    /// one (`ab` and `cdef…` or `cdef….x`).
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

/// Hashes the file at `path`: small files by reading them, large ones through a memory map.
pub fn hash_file(path: &Path, size: u64) -> crate::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if size >= MMAP_THRESHOLD {
        hasher.update_mmap(path).context("hash", path)?;
    } else {
        let mut file = File::open(path).context("open", path)?;
        let mut buffer = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut buffer).context("read", path)?;
        hasher.update(&buffer);
    }
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
        assert!(executable.relative_path().to_string_lossy().ends_with(".x"));
        let path = plain.relative_path();
        let parts: Vec<_> = path.iter().map(|part| part.to_string_lossy().into_owned()).collect();
        assert_eq!(parts[0], "objects");
        assert_eq!(parts[1].len(), 2);
        assert_eq!(parts[1].clone() + &parts[2], plain.hex());
        assert_eq!(ObjectId::from_file_name(&parts[1], &parts[2]), Some(plain));
        let executable_name = format!("{}.x", &parts[2]);
        assert_eq!(ObjectId::from_file_name(&parts[1], &executable_name), Some(executable));
        assert_eq!(ObjectId::from_file_name(&parts[1], "not-an-object"), None);
    }

    #[test]
    fn large_and_small_files_hash_the_same_way() -> crate::Result<()> {
        let directory = tempfile::tempdir().context("create", "tempdir")?;
        let path = directory.path().join("large");
        let bytes = vec![7u8; (MMAP_THRESHOLD + 3) as usize];
        std::fs::write(&path, &bytes).context("write", &path)?;
        assert_eq!(hash_file(&path, bytes.len() as u64)?, blake3::hash(&bytes));
        assert_eq!(hash_file(&path, 0)?, blake3::hash(&bytes));
        Ok(())
    }
}
