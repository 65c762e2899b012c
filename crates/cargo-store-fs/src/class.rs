//! File classes: what a file in a target directory is, and therefore how it may be shared.
//!
//! The class decides the link policy, because the danger is not the file itself but what a
//! later build in the worktree does to it:
//!
//! | class | written by | shared inode allowed |
//! | --- | --- | --- |
//! | [`FileClass::RustcOutput`] | rustc, replaced by rename | reflink, hardlink |
//! | [`FileClass::LinkedBinary`] | a linker, which may rewrite in place (mold) | reflink; hardlink only on request |
//! | [`FileClass::Metadata`] | cargo, in place | never: always a private copy |
//! | [`FileClass::OutDir`] | a build script, often in place | reflink only |
//!
//! Empty files are created, never linked, whatever their class.

use std::fmt;

/// What a file of a build unit is, for the purpose of sharing it with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileClass {
    /// `.rlib` and `.rmeta`: rustc writes them elsewhere and renames them into place.
    RustcOutput,
    /// Proc-macro and dylib shared objects and build-script executables: written by a linker.
    LinkedBinary,
    /// Fingerprints, dep-info, build-script `output`/`stderr`/`root-output`,
    /// `invoked.timestamp`: rewritten in place by cargo.
    Metadata,
    /// Anything a build script wrote into its `OUT_DIR`.
    OutDir,
}

impl FileClass {
    /// Every class, in the order of their numeric codes.
    pub const ALL: [FileClass; 4] =
        [FileClass::RustcOutput, FileClass::LinkedBinary, FileClass::Metadata, FileClass::OutDir];

    /// The stable numeric code of this class, as stored in the index.
    pub fn code(self) -> u8 {
        match self {
            FileClass::RustcOutput => 0,
            FileClass::LinkedBinary => 1,
            FileClass::Metadata => 2,
            FileClass::OutDir => 3,
        }
    }

    /// The class for a numeric code read from the index.
    pub fn from_code(code: u8) -> Option<FileClass> {
        FileClass::ALL.get(usize::from(code)).copied()
    }

    /// Whether a worktree file of this class may be hard-linked into the store at ingest, or a
    /// store object hard-linked into a worktree at checkout, without `--link-mode hardlink`.
    pub fn hardlink_by_default(self) -> bool {
        self == FileClass::RustcOutput
    }

    /// Whether a file of this class may ever share an inode with the store by hard link.
    pub fn hardlink_allowed(self) -> bool {
        matches!(self, FileClass::RustcOutput | FileClass::LinkedBinary)
    }

    /// Whether a file of this class may share data blocks with the store by reflink.
    pub fn reflink_allowed(self) -> bool {
        self != FileClass::Metadata
    }
}

impl fmt::Display for FileClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileClass::RustcOutput => "rustc output",
            FileClass::LinkedBinary => "linked binary",
            FileClass::Metadata => "metadata",
            FileClass::OutDir => "OUT_DIR file",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for class in FileClass::ALL {
            assert_eq!(FileClass::from_code(class.code()), Some(class));
        }
        assert_eq!(FileClass::from_code(4), None);
    }

    #[test]
    fn metadata_and_out_dir_never_hardlink() {
        assert!(!FileClass::Metadata.hardlink_allowed());
        assert!(!FileClass::OutDir.hardlink_allowed());
        assert!(!FileClass::Metadata.reflink_allowed());
    }
}
