//! The toolchain namespace: units built by one rustc are only offered to builds by that rustc.
//!
//! Cargo's fingerprint already includes a hash of `rustc -vV`, so a unit from another toolchain
//! would never be fresh; the namespace keeps such units out of a checkout altogether and lets
//! reports say "another toolchain" instead of placing files for nothing.

use std::path::Path;
use std::process::Command;

use crate::Error;

/// The rustc that builds a workspace, as `rustc -vV` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// `release:`, e.g. `1.95.0`.
    pub release: String,
    /// `commit-hash:`, or `unknown`.
    pub commit_hash: String,
    /// `host:`, e.g. `x86_64-unknown-linux-gnu`.
    pub host: String,
}

impl Toolchain {
    /// Runs `$RUSTC -vV` (default `rustc`) in `directory`, so that a `rust-toolchain.toml` there
    /// picks the same toolchain cargo would.
    pub fn detect(directory: &Path) -> crate::Result<Toolchain> {
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
        let failure =
            |message: String| Error::Toolchain { rustc: rustc.clone(), directory: directory.to_path_buf(), message };
        let output = Command::new(&rustc)
            .arg("-vV")
            .current_dir(directory)
            .output()
            .map_err(|error| failure(error.to_string()))?;
        if !output.status.success() {
            return Err(failure(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
        }
        Toolchain::parse(&String::from_utf8_lossy(&output.stdout))
            .ok_or_else(|| failure("no `release:` and `host:` lines in its output".to_owned()))
    }

    /// Parses the output of `rustc -vV`.
    pub fn parse(verbose_version: &str) -> Option<Toolchain> {
        let field = |name: &str| {
            verbose_version.lines().find_map(|line| line.strip_prefix(name)).map(|value| value.trim().to_owned())
        };
        Some(Toolchain {
            release: field("release:")?,
            commit_hash: field("commit-hash:").unwrap_or_else(|| "unknown".to_owned()),
            host: field("host:")?,
        })
    }

    /// The namespace string stored with every unit, e.g.
    /// `rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu`.
    pub fn namespace(&self) -> String {
        let commit: String = self.commit_hash.chars().take(9).collect();
        format!("rustc {} ({commit}) {}", self.release, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rustc_verbose_version() {
        let text = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1c1a2b3\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 20.1.8\n";
        let toolchain = Toolchain::parse(text).expect("parse");
        assert_eq!(toolchain.namespace(), "rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu");
        assert_eq!(Toolchain::parse("garbage"), None);
    }
}
