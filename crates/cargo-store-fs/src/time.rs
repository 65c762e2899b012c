//! Exact file timestamps.
//!
//! Cargo's freshness checks compare nanosecond mtimes between a unit's outputs, its
//! dependencies' outputs and its dep-info. A file placed with a different mtime, even one
//! nanosecond newer, makes cargo rebuild it and everything above it, every time.

use std::fs::{self, File};
use std::path::Path;

use filetime::FileTime;

use crate::error::Context;

/// A file's modification time, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileTimes {
    /// Modification time, nanoseconds since the epoch (negative before 1970).
    pub modified_ns: i64,
}

impl FileTimes {
    /// Reads the modification time from metadata.
    pub fn of(metadata: &fs::Metadata) -> FileTimes {
        FileTimes::from_file_time(FileTime::from_last_modification_time(metadata))
    }

    /// The current time.
    pub fn now() -> FileTimes {
        FileTimes::from_file_time(FileTime::now())
    }

    fn from_file_time(time: FileTime) -> FileTimes {
        FileTimes { modified_ns: time.unix_seconds() * 1_000_000_000 + i64::from(time.nanoseconds()) }
    }

    fn to_file_time(self) -> FileTime {
        let seconds = self.modified_ns.div_euclid(1_000_000_000);
        let nanos = self.modified_ns.rem_euclid(1_000_000_000);
        // rem_euclid of a positive divisor is always in 0..1e9, which fits a u32.
        FileTime::from_unix_time(seconds, u32::try_from(nanos).unwrap_or(0))
    }
}

/// Sets a file's access and modification times to `times` without following a symlink.
pub fn set_times(path: &Path, times: FileTimes) -> crate::Result<()> {
    let time = times.to_file_time();
    filetime::set_symlink_file_times(path, time, time).context("set the times of", path)
}

/// Sets the times through an open handle (used right after writing a copy).
pub(crate) fn set_file_times(file: &File, path: &Path, times: FileTimes) -> crate::Result<()> {
    let time = times.to_file_time();
    filetime::set_file_handle_times(file, Some(time), Some(time)).context("set the times of", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_survive_a_round_trip() -> crate::Result<()> {
        let directory = tempfile::tempdir().map_err(|e| crate::Error::io("create", "tmp", e))?;
        let path = directory.path().join("file");
        fs::write(&path, b"x").map_err(|e| crate::Error::io("write", &path, e))?;
        for modified_ns in [1_700_000_000_123_456_789, 1_000_000_000, 999_999_999_999] {
            set_times(&path, FileTimes { modified_ns })?;
            let metadata = fs::metadata(&path).map_err(|e| crate::Error::io("stat", &path, e))?;
            assert_eq!(FileTimes::of(&metadata).modified_ns, modified_ns);
        }
        Ok(())
    }
}
