//! The toolchain namespace: units built by one rustc are only offered to builds by that rustc.
//!
//! Cargo's fingerprint already includes a hash of `rustc -vV`, so a unit from another toolchain
//! would never be fresh; the namespace keeps such units out of a checkout altogether and lets
//! reports say "another toolchain" instead of placing files for nothing.
//!
//! # Asking rustc once per toolchain
//!
//! `rustc -vV` costs 20-50 ms, more than a checkout with nothing to do may take in all. Like
//! cargo's `.rustc_info.json`, [`Toolchain::detect_cached`] remembers the answer under the
//! identity of the rustc that would run ([`rustc_identity`]): the environment variables that
//! choose it, the size, mtime, ctime and inode of the program found on `PATH` (or named by
//! `RUSTC`), and what rustup decides with when that program is its proxy: the contents of
//! `rust-toolchain`/`rust-toolchain.toml` in the directory and its ancestors, the contents of
//! `$RUSTUP_HOME/settings.toml` (default and overrides), and the stat of `bin/rustc` of every
//! installed toolchain. An update, an install, a new toolchain file or another default changes
//! one of them. When the identity cannot be told (a relative `RUSTC`, a relative `PATH` entry,
//! a toolchain file naming a toolchain by `path`), rustc is asked every time.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
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

    /// [`Toolchain::detect`], remembered in `cache_directory` (created if needed) under the
    /// identity of the rustc that would run (see the module docs). Without a cache directory,
    /// or when that identity cannot be told, it asks rustc.
    pub fn detect_cached(directory: &Path, cache_directory: Option<&Path>) -> crate::Result<Toolchain> {
        let Some((cache_directory, identity)) = cache_directory.zip(rustc_identity(directory)) else {
            return Toolchain::detect(directory);
        };
        let file = cache_directory.join(format!("{}.txt", blake3::hash(&identity).to_hex()));
        let cached = cargo_store_fs::read_cache_entry(&file).and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(toolchain) = cached.as_deref().and_then(Toolchain::parse) {
            tracing::debug!("rustc -vV: remembered in {}", file.display());
            return Ok(toolchain);
        }
        tracing::debug!("rustc -vV: asked (nothing remembered for this rustc yet)");
        let toolchain = Toolchain::detect(directory)?;
        // An optimisation: failing to remember it is not the user's problem.
        cargo_store_fs::write_cache_entry(&file, toolchain.verbose_version.as_bytes());
        Ok(toolchain)
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
        if let Some(text) = cargo_store_fs::read_cache_entry(&file).and_then(|bytes| String::from_utf8(bytes).ok()) {
            return Ok(text.lines().map(str::to_owned).collect());
        }
        let cfg = Toolchain::host_cfg(directory)?;
        // An optimisation: failing to remember it is not the user's problem.
        cargo_store_fs::write_cache_entry(&file, cfg.join("\n").as_bytes());
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

    /// The toolchains rustup has installed (`$RUSTUP_HOME/toolchains/*/bin/rustc`), each asked
    /// `-vV` once and remembered in `cache_directory` under the identity of its program (path,
    /// size, mtime, ctime, inode: an update replaces it). `None` without a rustup directory:
    /// which toolchains are installed then cannot be told.
    pub fn installed(cache_directory: Option<&Path>) -> Option<Vec<Toolchain>> {
        let rustup_home = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")))?;
        let entries = std::fs::read_dir(rustup_home.join("toolchains")).ok()?;
        let mut programs: Vec<PathBuf> =
            entries.filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin/rustc"))).collect();
        programs.sort();
        let mut installed = Vec::new();
        for program in programs.into_iter().filter(|program| program.is_file()) {
            let mut identity = b"installed rustc -vV 1\0".to_vec();
            identity.extend_from_slice(program.as_os_str().as_bytes());
            identity.extend_from_slice(&stat(&program));
            let file =
                cache_directory.map(|directory| directory.join(format!("{}.txt", blake3::hash(&identity).to_hex())));
            let cached = file
                .as_deref()
                .and_then(cargo_store_fs::read_cache_entry)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| Toolchain::parse(&text));
            if let Some(toolchain) = cached {
                installed.push(toolchain);
                continue;
            }
            let Ok(output) = Command::new(&program).arg("-vV").output() else { continue };
            let Some(toolchain) =
                output.status.success().then(|| Toolchain::parse(&String::from_utf8_lossy(&output.stdout))).flatten()
            else {
                continue;
            };
            if let Some(file) = &file {
                // An optimisation: failing to remember it is not the user's problem.
                cargo_store_fs::write_cache_entry(file, toolchain.verbose_version.as_bytes());
            }
            installed.push(toolchain);
        }
        Some(installed)
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

/// The environment variables that choose the rustc that runs (directly, or through rustup's
/// proxy) or what it prints.
const RUSTC_ENVIRONMENT: [&str; 7] =
    ["RUSTC", "PATH", "RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "CARGO_HOME", "HOME", "LD_LIBRARY_PATH"];

/// Everything the output of `$RUSTC -vV` run in `directory` depends on, as bytes to hash (see
/// the module docs); `None` when that cannot be told cheaply, and rustc must be asked.
pub(crate) fn rustc_identity(directory: &Path) -> Option<Vec<u8>> {
    let mut identity = Vec::new();
    let mut add = |part: &[u8]| {
        identity.extend_from_slice(&(part.len() as u64).to_le_bytes());
        identity.extend_from_slice(part);
    };
    add(b"rustc -vV identity 1");
    for name in RUSTC_ENVIRONMENT {
        add(name.as_bytes());
        match std::env::var_os(name) {
            Some(value) => add(&[b"=", value.as_bytes()].concat()),
            None => add(b"unset"),
        }
    }
    // A toolchain named by path (newer rustup) is not one whose files are watched here.
    if std::env::var_os("RUSTUP_TOOLCHAIN").is_some_and(|name| name.as_bytes().contains(&b'/')) {
        return None;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let program = find_program(Path::new(&rustc))?;
    add(program.as_os_str().as_bytes());
    add(&stat(&program));

    // rustup's choice, should `program` be its proxy: RUSTUP_TOOLCHAIN (above), an override
    // for the directory, a toolchain file, the default.
    for ancestor in directory.ancestors() {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            let path = ancestor.join(name);
            let Ok(contents) = std::fs::read(&path) else { continue };
            // `path = "..."` names a toolchain outside rustup's directory: not followed here.
            if contents.split(|byte| *byte == b'\n').any(|line| line.trim_ascii_start().starts_with(b"path")) {
                return None;
            }
            add(path.as_os_str().as_bytes());
            add(&contents);
        }
    }
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")));
    if let Some(rustup_home) = rustup_home {
        let settings = std::fs::read(rustup_home.join("settings.toml")).unwrap_or_default();
        if has_overrides(&settings) {
            // Overrides are keyed by directory: the answer is this directory's own.
            add(directory.as_os_str().as_bytes());
        }
        add(&settings);
        let mut toolchains: Vec<PathBuf> = std::fs::read_dir(rustup_home.join("toolchains"))
            .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
            .unwrap_or_default();
        toolchains.sort();
        for toolchain in toolchains {
            add(toolchain.as_os_str().as_bytes());
            add(&stat(&toolchain.join("bin/rustc")));
        }
    }
    Some(identity)
}

/// The file `Command::new(program)` would run: `program` itself when it names a path, else
/// the first executable file of that name on `PATH`. `None` for a relative path, which would
/// be resolved in the child's directory, and when a relative `PATH` entry comes first.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return program.is_absolute().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    for directory in std::env::split_paths(&path) {
        if !directory.is_absolute() {
            return None;
        }
        let candidate = directory.join(program);
        if let Ok(metadata) = std::fs::metadata(&candidate)
            && metadata.is_file()
            && metadata.mode() & 0o111 != 0
        {
            return Some(candidate);
        }
    }
    None
}

/// Size, mtime, ctime, inode and device of `path` (following symlinks), or a marker for a
/// missing file.
fn stat(path: &Path) -> Vec<u8> {
    let Ok(metadata) = std::fs::metadata(path) else { return b"missing".to_vec() };
    [
        metadata.len(),
        metadata.mtime() as u64,
        metadata.mtime_nsec() as u64,
        metadata.ctime() as u64,
        metadata.ctime_nsec() as u64,
        metadata.ino(),
        metadata.dev(),
    ]
    .iter()
    .flat_map(|value| value.to_le_bytes())
    .collect()
}

/// Whether rustup's `settings.toml` has any entry under `[overrides]`.
fn has_overrides(settings: &[u8]) -> bool {
    let mut in_overrides = false;
    for line in settings.split(|byte| *byte == b'\n').map(<[u8]>::trim_ascii) {
        if line.starts_with(b"[") {
            in_overrides = line.starts_with(b"[overrides");
        } else if in_overrides && !line.is_empty() && !line.starts_with(b"#") {
            return true;
        }
    }
    // Written inline (`overrides = { ... }`) rather than as a table.
    settings
        .split(|byte| *byte == b'\n')
        .any(|line| line.trim_ascii_start().strip_prefix(b"overrides").is_some_and(|rest| rest.trim_ascii() != b"= {}"))
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
    fn rustc_identity_follows_the_toolchain_file() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let project = directory.path().join("project");
        std::fs::create_dir_all(project.join("src")).expect("create the project");
        let Some(before) = rustc_identity(&project.join("src")) else {
            // No rustc on PATH here: nothing to remember anyway.
            return;
        };
        assert_eq!(rustc_identity(&project.join("src")), Some(before.clone()), "the identity is stable");
        let file = project.join("rust-toolchain.toml");
        std::fs::write(&file, "[toolchain]\nchannel = \"1.95.0\"\n").expect("write the toolchain file");
        let pinned = rustc_identity(&project.join("src")).expect("identity");
        assert_ne!(pinned, before, "a new toolchain file changes the identity");
        std::fs::write(&file, "[toolchain]\nchannel = \"nightly\"\n").expect("write the toolchain file");
        assert_ne!(rustc_identity(&project.join("src")).expect("identity"), pinned, "an edited one too");
        std::fs::write(&file, "[toolchain]\npath = \"/opt/rust\"\n").expect("write the toolchain file");
        assert_eq!(rustc_identity(&project.join("src")), None, "a toolchain by path is not remembered");
    }

    #[test]
    fn rustup_overrides_are_seen() {
        assert!(!has_overrides(b"version = \"12\"\ndefault_toolchain = \"stable\"\n\n[overrides]\n"));
        assert!(has_overrides(b"default_toolchain = \"stable\"\n[overrides]\n\"/w/a\" = \"nightly\"\n"));
        assert!(!has_overrides(b"overrides = {}\n"));
        assert!(has_overrides(b"overrides = { \"/w\" = \"beta\" }\n"));
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
