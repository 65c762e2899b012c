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
    /// The whole output of `rustc -vV`.
    pub verbose_version: String,
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

    /// The `cfg` values of the host, as `rustc --print cfg` prints them (`unix`,
    /// `target_os="linux"`, ...), run like [`Toolchain::detect`] in `directory`.
    pub fn host_cfg(directory: &Path) -> crate::Result<Vec<String>> {
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
        let failure =
            |message: String| Error::Toolchain { rustc: rustc.clone(), directory: directory.to_path_buf(), message };
        let output = Command::new(&rustc)
            .args(["--print", "cfg"])
            .current_dir(directory)
            .output()
            .map_err(|error| failure(error.to_string()))?;
        if !output.status.success() {
            return Err(failure(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect())
    }

    /// [`Toolchain::host_cfg`] of this toolchain, remembered in `cache_directory` (created if
    /// needed) under its `rustc -vV` output and the RUSTFLAGS variables, which are all that
    /// the answer depends on: asked once per toolchain, not once per command.
    pub fn host_cfg_cached(&self, directory: &Path, cache_directory: Option<&Path>) -> crate::Result<Vec<String>> {
        let Some(cache_directory) = cache_directory else { return Toolchain::host_cfg(directory) };
        let mut key = self.verbose_version.clone();
        for name in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
            key.push('\0');
            key.push_str(&std::env::var(name).unwrap_or_default());
        }
        let file = cache_directory.join(format!("{}.txt", blake3::hash(key.as_bytes()).to_hex()));
        if let Ok(text) = std::fs::read_to_string(&file) {
            return Ok(text.lines().map(str::to_owned).collect());
        }
        let cfg = Toolchain::host_cfg(directory)?;
        // An optimisation: failing to remember it is not the user's problem.
        if std::fs::create_dir_all(cache_directory).is_ok() {
            let temporary = cargo_store_fs::temporary_path(&file);
            if std::fs::write(&temporary, cfg.join("\n")).is_err() || std::fs::rename(&temporary, &file).is_err() {
                let _ = std::fs::remove_file(&temporary);
            }
        }
        Ok(cfg)
    }

    /// Parses the output of `rustc -vV`.
    pub fn parse(verbose_version: &str) -> Option<Toolchain> {
        let field = |name: &str| {
            verbose_version.lines().find_map(|line| line.strip_prefix(name)).map(|value| value.trim().to_owned())
        };
        Some(Toolchain {
            verbose_version: verbose_version.to_owned(),
            release: field("release:")?,
            commit_hash: field("commit-hash:").unwrap_or_else(|| "unknown".to_owned()),
            host: field("host:")?,
        })
    }

    /// The value cargo records as `"rustc"` in every fingerprint it writes with this toolchain:
    /// its stable hash (SipHasher128, as `rustc-stable-hash` implements it) of the output of
    /// `rustc -vV`. A unit whose fingerprint records another value was built by another
    /// toolchain. Verified against cargo 1.95; should cargo change its hasher, no unit would
    /// match, and callers then do without the check (see `eligibility`).
    pub fn fingerprint_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_stable_hash::StableSipHasher128::new();
        self.verbose_version.hash(&mut hasher);
        Hasher::finish(&hasher)
    }

    /// The toolchains whose `rustc -vV` output cargo cached in a build directory's
    /// `.rustc_info.json` (the ones that built it last); none if there is no such file.
    pub fn recorded_in(build_directory: &Path) -> Vec<Toolchain> {
        #[derive(serde::Deserialize)]
        struct Info {
            outputs: std::collections::BTreeMap<String, Output>,
        }
        #[derive(serde::Deserialize)]
        struct Output {
            stdout: String,
        }
        let Ok(bytes) = std::fs::read(build_directory.join(".rustc_info.json")) else {
            return Vec::new();
        };
        let Ok(info) = serde_json::from_slice::<Info>(&bytes) else {
            return Vec::new();
        };
        info.outputs.values().filter_map(|output| Toolchain::parse(&output.stdout)).collect()
    }

    /// The first line of `rustc -vV`, e.g. `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub fn version_line(&self) -> &str {
        self.verbose_version.lines().next().unwrap_or_default().trim()
    }

    /// The name rustup installs this toolchain under (`cargo +NAME`) when `rustc -vV` tells it:
    /// the release of a stable toolchain, e.g. `1.95.0`. `None` for nightly, beta and local
    /// builds, whose rustup name (a date, a channel, a linked name) it does not tell.
    pub fn rustup_name(&self) -> Option<&str> {
        let stable = !self.release.is_empty() && self.release.chars().all(|c| c.is_ascii_digit() || c == '.');
        stable.then_some(self.release.as_str())
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
    fn fingerprint_hash_is_the_one_cargo_records() {
        // Recorded as `"rustc"` in every fingerprint JSON that cargo 1.95 wrote with this
        // exact `rustc -vV` output.
        let text = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        let toolchain = Toolchain::parse(text).expect("parse");
        assert_eq!(toolchain.fingerprint_hash(), 7_458_672_600_737_419_911);
    }

    #[test]
    fn parses_rustc_verbose_version() {
        let text = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1c1a2b3\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 20.1.8\n";
        let toolchain = Toolchain::parse(text).expect("parse");
        assert_eq!(toolchain.namespace(), "rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu");
        assert_eq!(Toolchain::parse("garbage"), None);
        assert_eq!(toolchain.version_line(), "rustc 1.95.0 (59807616e 2026-04-14)");
        assert_eq!(toolchain.rustup_name(), Some("1.95.0"));
        let nightly = text.replace("release: 1.95.0", "release: 1.97.0-nightly");
        assert_eq!(Toolchain::parse(&nightly).expect("parse").rustup_name(), None);
    }
}
