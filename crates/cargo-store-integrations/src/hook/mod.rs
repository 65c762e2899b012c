//! `hook`: install, remove and inspect the git `post-checkout` hook that runs
//! `cargo store checkout` in every new worktree of a repository.
//!
//! `git worktree add` runs the repository's `post-checkout` hook in the new worktree with the
//! arguments `<old revision> <new revision> 1`, the old revision being the null object name
//! (all zeros; 40 of them, or 64 in a SHA-256 repository). That is the moment to warm the new
//! worktree's target directory, before anyone runs `cargo build` there. The hook file is shared:
//!
//! ```text
//! $(git rev-parse --git-path hooks)/     .git/hooks, the common one of all worktrees, or core.hooksPath
//!   post-checkout                        maybe the user's own script, maybe another tool's
//!     #!/bin/sh                          (kept as it is)
//!     # >>> cargo-store >>>              our block: only these lines are ours
//!     ...                                on a null old revision and flag 1, if the worktree
//!     # <<< cargo-store <<<              has a Cargo.toml: <binary> --store <store> checkout
//!     ...                                the rest of the script, unchanged
//! ```
//!
//! ## Ownership
//! The hooks directory is the user's, and so is any `post-checkout` already there. So only the
//! lines between our two marker lines are ever ours: install adds (or rewrites) that block and
//! nothing else, uninstall removes it and nothing else, so that install then uninstall gives the
//! file back byte for byte. The block goes right after the `#!` line, so that it runs even if
//! the rest of the script ends with `exit` or `exec`, and before a `set -u` the script may make.
//! We only add a block to a script a POSIX shell runs (`sh`, `bash`, `dash`, `ksh`, `zsh`);
//! any other interpreter, a binary or a symbolic link is refused with the command to add by
//! hand. When there was no hook, install creates one, marked as created by us with a comment
//! line after its `#!` line; uninstall deletes it if nothing else was added to it since.
//!
//! ## The block must never hurt the checkout
//! The hook's exit status becomes that of `git worktree add` and `git checkout`, so the block
//! always succeeds: a failed checkout prints one line to stderr saying what to run, and the
//! worktree is there regardless. It reads nothing from stdin (which could wait forever), and
//! it runs the binary and the store that were in effect at install time, by absolute path: a
//! hook runs with whatever `PATH` and environment the git command had.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::owned_file::{self, Existing, Permissions};
use crate::{Error, REPORT_VERSION};

/// The name of the hook git runs after a checkout, and after `git worktree add`.
pub const HOOK_NAME: &str = "post-checkout";

/// The line that opens our block.
pub const BEGIN_MARKER: &str = "# >>> cargo-store >>>";

/// The line that closes our block.
pub const END_MARKER: &str = "# <<< cargo-store <<<";

/// Our block, from its [`BEGIN_MARKER`] line to its [`END_MARKER`] line, with
/// [`COMMAND_PLACEHOLDER`] where the command goes (see [`block`]). It is a file of its own so
/// that it reads as the shell it is, and so that shellcheck can read it
/// (`shellcheck -s sh post-checkout.sh`).
const BLOCK: &str = include_str!("post-checkout.sh");

/// The word of [`BLOCK`] that [`block`] replaces with the shell-quoted command.
const COMMAND_PLACEHOLDER: &str = "@COMMAND@";

/// The first line of a hook file that install creates.
const SHEBANG: &str = "#!/bin/sh\n";

/// The line after [`SHEBANG`] in a hook file that install creates: how uninstall knows that the
/// file, once our block is gone, is ours to delete.
const CREATED: &str = "# Created by `cargo store hook install`.\n";

/// The interpreters whose scripts can hold our block (it is POSIX shell).
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "ash", "ksh", "mksh", "zsh"];

/// Everything the hook operations depend on, resolved once.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// A directory inside the repository (git is asked there where its hooks are).
    pub repository: PathBuf,
    /// The store the hook checks out from (absolute).
    pub store: PathBuf,
    /// The `cargo-store` binary the hook runs (absolute).
    pub executable: PathBuf,
}

impl HookOptions {
    /// The options for the running binary: `repository` (else the current directory) and
    /// `store`, made absolute.
    pub fn from_environment(repository: Option<&Path>, store: &Path) -> crate::Result<HookOptions> {
        let absolute = |path: &Path| {
            std::path::absolute(path).map_err(|source| cargo_store_fs::Error::io("make absolute", path, source))
        };
        let repository = match repository {
            Some(repository) => absolute(repository)?,
            None => absolute(Path::new("."))?,
        };
        let executable = std::env::current_exe().map_err(|source| Error::CurrentExecutable { source })?;
        Ok(HookOptions { repository, store: absolute(store)?, executable })
    }

    /// The command the hook runs in a new worktree: `<executable> --store <store> checkout
    /// --quiet` (the hook adds `--manifest-path <worktree>/Cargo.toml`).
    pub fn checkout_command(&self) -> Vec<OsString> {
        vec![
            self.executable.clone().into_os_string(),
            "--store".into(),
            self.store.clone().into_os_string(),
            "checkout".into(),
            "--quiet".into(),
        ]
    }
}

/// Where git looks for the hooks of a repository.
#[derive(Debug, Clone)]
struct HooksLocation {
    /// The hooks directory (absolute).
    directory: PathBuf,
    /// Things the user should know about it (a relative `core.hooksPath`).
    warnings: Vec<String>,
}

impl HooksLocation {
    /// The hook file.
    fn hook(&self) -> PathBuf {
        self.directory.join(HOOK_NAME)
    }
}

/// What `cargo store hook install` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InstallAction {
    /// There was no hook: a new one holds just our block.
    Created,
    /// Our block was added to an existing shell script.
    Inserted,
    /// Our block was there and is now what install writes today.
    Updated,
    /// Our block was there already, as install would write it: nothing was written.
    Unchanged,
}

/// What `cargo store hook uninstall` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UninstallAction {
    /// The hook was ours alone: the file is gone.
    RemovedFile,
    /// Our block was removed; the rest of the hook is unchanged.
    RemovedBlock,
    /// There was no block of ours: nothing was changed.
    NotInstalled,
}

/// What is at the hook's path, as `cargo store hook status` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HookState {
    /// There is no hook.
    NoHook,
    /// A shell script without our block: install would add it.
    OtherHook,
    /// Our block, exactly as install would write it now.
    Current,
    /// Our block, but install would now write another (the binary or the store moved).
    Outdated,
    /// Our marker lines are unbalanced: install and uninstall refuse to guess.
    Damaged,
    /// Something install cannot add a block to: another interpreter's script, a binary, a
    /// symbolic link, a directory.
    Unsupported,
}

/// `cargo store hook install`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "HookInstallReport")]
pub struct InstallReport {
    /// Schema version of this report.
    pub version: u32,
    /// The hook file.
    pub path: PathBuf,
    /// What was done to it.
    pub action: InstallAction,
    /// The command the hook runs in a new worktree (plus `--manifest-path`).
    pub command: Vec<String>,
    /// Things to know, e.g. about a relative `core.hooksPath`.
    pub warnings: Vec<String>,
}

/// `cargo store hook uninstall`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "HookUninstallReport")]
pub struct UninstallReport {
    /// Schema version of this report.
    pub version: u32,
    /// The hook file.
    pub path: PathBuf,
    /// What was done to it.
    pub action: UninstallAction,
}

/// `cargo store hook status`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "HookStatusReport")]
pub struct StatusReport {
    /// Schema version of this report.
    pub version: u32,
    /// The hook file (whether or not it exists).
    pub path: PathBuf,
    /// What is there.
    pub state: HookState,
    /// Whether our block is there ([`HookState::Current`] or [`HookState::Outdated`]).
    pub installed: bool,
    /// Whether our block is exactly what install would write now.
    pub up_to_date: bool,
    /// Whether the hook file is executable (git ignores it otherwise).
    pub executable: bool,
    /// The command install would make the hook run now (plus `--manifest-path`).
    pub command: Vec<String>,
    /// Things to know, e.g. about a relative `core.hooksPath`.
    pub warnings: Vec<String>,
}

/// Adds our block to the repository's `post-checkout` hook, creating the hook if there is none.
///
/// Running it again changes nothing, unless the block would now differ (the binary or the store
/// moved): then the block is rewritten in place. Fails, changing nothing, if the hook exists but
/// is not a shell script, is not executable, or holds damaged marker lines.
pub fn install(options: &HookOptions) -> crate::Result<InstallReport> {
    let location = locate(&options.repository)?;
    let path = location.hook();
    let command = options.checkout_command();
    let block = block(&command);
    let action = match owned_file::inspect(&path)? {
        Existing::Missing => {
            let mut contents = format!("{SHEBANG}{CREATED}").into_bytes();
            contents.extend_from_slice(&block);
            fs::create_dir_all(&location.directory)
                .map_err(|source| cargo_store_fs::Error::io("create directory", &location.directory, source))?;
            owned_file::replace(&path, &contents, Permissions::New(0o755))?;
            InstallAction::Created
        }
        Existing::Other(what) => return Err(not_shell_script(&path, what, &command)),
        Existing::File { contents, mode } => {
            let blocks = blocks(&contents).ok_or_else(|| Error::HookMarkersDamaged { path: path.clone() })?;
            if blocks.is_empty()
                && let Some(what) = not_a_shell_script(&contents)
            {
                return Err(not_shell_script(&path, what, &command));
            }
            if mode & 0o111 == 0 {
                return Err(Error::HookNotExecutable { path });
            }
            let (updated, action) = match blocks.first() {
                None => (insert(&contents, &block), InstallAction::Inserted),
                Some(first) => {
                    // Our block goes where the first one was; any other copy goes.
                    let mut updated = contents[..first.start].to_vec();
                    updated.extend_from_slice(&block);
                    let rest: Vec<Range<usize>> =
                        blocks[1..].iter().map(|range| range.start - first.end..range.end - first.end).collect();
                    updated.extend_from_slice(&without(&contents[first.end..], &rest));
                    (updated, InstallAction::Updated)
                }
            };
            if updated == contents {
                InstallAction::Unchanged
            } else {
                owned_file::replace(&path, &updated, Permissions::Exact(mode))?;
                action
            }
        }
    };
    tracing::debug!("hook install: {action:?} {}", path.display());
    Ok(InstallReport {
        version: REPORT_VERSION,
        path,
        action,
        command: display_words(&command),
        warnings: location.warnings,
    })
}

/// Removes our block from the repository's `post-checkout` hook, and the file itself if install
/// created it and nothing else was added to it since. A hook without our block is left alone.
pub fn uninstall(options: &HookOptions) -> crate::Result<UninstallReport> {
    let location = locate(&options.repository)?;
    let path = location.hook();
    let action = match owned_file::inspect(&path)? {
        // Install never writes through a link or into anything but a regular file.
        Existing::Missing | Existing::Other(_) => UninstallAction::NotInstalled,
        Existing::File { contents, mode } => {
            let blocks = blocks(&contents).ok_or_else(|| Error::HookMarkersDamaged { path: path.clone() })?;
            if blocks.is_empty() {
                UninstallAction::NotInstalled
            } else {
                let remaining = without(&contents, &blocks);
                if remaining == format!("{SHEBANG}{CREATED}").as_bytes() {
                    fs::remove_file(&path).map_err(|source| cargo_store_fs::Error::io("remove", &path, source))?;
                    UninstallAction::RemovedFile
                } else {
                    owned_file::replace(&path, &remaining, Permissions::Exact(mode))?;
                    UninstallAction::RemovedBlock
                }
            }
        }
    };
    tracing::debug!("hook uninstall: {action:?} {}", path.display());
    Ok(UninstallReport { version: REPORT_VERSION, path, action })
}

/// Reports whether our block is in the repository's `post-checkout` hook, and whether it is what
/// install would write now. Changes nothing.
pub fn status(options: &HookOptions) -> crate::Result<StatusReport> {
    let location = locate(&options.repository)?;
    let path = location.hook();
    let command = options.checkout_command();
    let (state, executable) = match owned_file::inspect(&path)? {
        Existing::Missing => (HookState::NoHook, false),
        Existing::Other(_) => (HookState::Unsupported, false),
        Existing::File { contents, mode } => {
            let state = match blocks(&contents) {
                None => HookState::Damaged,
                Some(blocks) if blocks.is_empty() => match not_a_shell_script(&contents) {
                    Some(_) => HookState::Unsupported,
                    None => HookState::OtherHook,
                },
                Some(blocks) if blocks.len() == 1 && contents[blocks[0].clone()] == block(&command)[..] => {
                    HookState::Current
                }
                Some(_) => HookState::Outdated,
            };
            (state, mode & 0o111 != 0)
        }
    };
    Ok(StatusReport {
        version: REPORT_VERSION,
        path,
        state,
        installed: matches!(state, HookState::Current | HookState::Outdated),
        up_to_date: state == HookState::Current,
        executable,
        command: display_words(&command),
        warnings: location.warnings,
    })
}

/// Our block for a hook that runs `command` (see [`HookOptions::checkout_command`]): POSIX
/// shell, from the [`BEGIN_MARKER`] line to the [`END_MARKER`] line, each line ending in `\n`:
/// the text of `hook/post-checkout.sh`, with the command, shell-quoted, in its one placeholder.
///
/// It acts only on a null old revision and flag 1 (`git worktree add`; also `git clone`, which
/// wants the same), only if the worktree has a `Cargo.toml`, and always succeeds. `${1-}` and
/// `${3-}` keep it working under `set -u` (a `#!/bin/sh -u` line). Git's own variables are
/// unset for the checkout: a hook may get `GIT_DIR` from git, and cargo would then take every
/// git repository it opens (git dependencies) for this one.
pub fn block(command: &[OsString]) -> Vec<u8> {
    let words: Vec<Cow<'_, [u8]>> = command.iter().map(|word| owned_file::shell_word_bytes(word.as_bytes())).collect();
    let quoted = words.join(&b' ');
    // The tests check that the placeholder is there, once.
    let (before, after) = BLOCK.split_once(COMMAND_PLACEHOLDER).unwrap_or((BLOCK, ""));
    let mut block = Vec::with_capacity(BLOCK.len() + quoted.len());
    block.extend_from_slice(before.as_bytes());
    block.extend_from_slice(&quoted);
    block.extend_from_slice(after.as_bytes());
    block
}

/// Asks git where the hooks of the repository at `repository` are. `--git-path hooks` applies
/// `core.hooksPath` and, in a linked worktree, points at the common directory: hooks are shared
/// by all worktrees of a repository.
fn locate(repository: &Path) -> crate::Result<HooksLocation> {
    let failed = |reason: String| Error::HooksDirectory { directory: repository.to_path_buf(), reason };
    let output = git(repository, &["rev-parse", "--path-format=absolute", "--git-path", "hooks"]).map_err(failed)?;
    let directory = match output {
        Ok(stdout) => PathBuf::from(OsString::from_vec(trim_newline(stdout))),
        Err(stderr) => return Err(failed(stderr)),
    };
    if directory.as_os_str().is_empty() || !directory.is_absolute() {
        return Err(failed(format!("git printed `{}`, not an absolute directory", directory.display())));
    }
    let mut warnings = Vec::new();
    // `git config` exits with 1 when the key is not set: nothing to say then.
    if let Ok(Ok(value)) = git(repository, &["config", "--get", "core.hooksPath"]) {
        let value = String::from_utf8_lossy(&trim_newline(value)).into_owned();
        if !value.starts_with('/') && !value.starts_with('~') {
            warnings.push(format!(
                "core.hooksPath is the relative path `{value}`: git looks for it from the directory where a hook \
                 runs, so a worktree without its own `{value}/{HOOK_NAME}` (such as a new one) may not run this hook"
            ));
        }
    }
    Ok(HooksLocation { directory, warnings })
}

/// Runs `git <arguments>` in `directory`: `Err` if it could not start, `Ok(Err(first line of
/// stderr))` if it failed, `Ok(Ok(stdout))` otherwise.
fn git(directory: &Path, arguments: &[&str]) -> Result<Result<Vec<u8>, String>, String> {
    let output = Command::new("git")
        .args(arguments)
        .current_dir(directory)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("could not run `git {}`: {error}", arguments.join(" ")))?;
    if output.status.success() {
        return Ok(Ok(output.stdout));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().map(str::trim).find(|line| !line.is_empty()).map_or_else(
        || format!("`git {}` exited with {}", arguments.join(" "), output.status),
        |line| line.strip_prefix("fatal: ").unwrap_or(line).to_owned(),
    );
    Ok(Err(line))
}

/// `bytes` without its trailing newline.
fn trim_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|byte| *byte == b'\n' || *byte == b'\r') {
        bytes.pop();
    }
    bytes
}

/// Why `contents` is not a script our block can go into, or `None` if it is one: its `#!` line
/// must name a POSIX shell, directly (`#!/bin/sh`) or through `env` (`#!/usr/bin/env bash`).
fn not_a_shell_script(contents: &[u8]) -> Option<String> {
    let Some(first_line) = contents.split(|byte| *byte == b'\n').next().and_then(|line| line.strip_prefix(b"#!"))
    else {
        return Some("does not start with a `#!` line".to_owned());
    };
    let Ok(first_line) = std::str::from_utf8(first_line) else {
        return Some("is not a text file".to_owned());
    };
    let mut words = first_line.split_whitespace();
    let program = words.next().unwrap_or_default();
    let name = |word: &str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let mut interpreter = name(program);
    if interpreter == "env" {
        // `env -S sh -e`, `env VAR=value sh`: the first word that is neither.
        interpreter = words.find(|word| !word.starts_with('-') && !word.contains('=')).map(name).unwrap_or_default();
    }
    if SHELLS.contains(&interpreter.as_str()) {
        None
    } else {
        Some(format!("is not a shell script (it runs `{}`)", first_line.trim()))
    }
}

/// The error for a hook install cannot add its block to.
fn not_shell_script(path: &Path, what: impl Into<String>, command: &[OsString]) -> Error {
    Error::HookNotShellScript { path: path.to_path_buf(), what: what.into(), command: display_words(command).join(" ") }
}

/// The byte ranges of our blocks in `contents`, each from the start of its [`BEGIN_MARKER`]
/// line to the end of its [`END_MARKER`] line (newline included); `None` if the markers do not
/// pair up.
fn blocks(contents: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut blocks = Vec::new();
    let mut open: Option<usize> = None;
    let mut start = 0;
    while start < contents.len() {
        let end = contents[start..].iter().position(|byte| *byte == b'\n').map_or(contents.len(), |at| start + at + 1);
        let line = contents[start..end].trim_ascii_end();
        if line == BEGIN_MARKER.as_bytes() {
            if open.is_some() {
                return None;
            }
            open = Some(start);
        } else if line == END_MARKER.as_bytes() {
            blocks.push(open.take()?..end);
        }
        start = end;
    }
    open.is_none().then_some(blocks)
}

/// `contents` without the byte ranges `blocks` (sorted, not overlapping).
fn without(contents: &[u8], blocks: &[Range<usize>]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(contents.len());
    let mut from = 0;
    for block in blocks {
        kept.extend_from_slice(&contents[from..block.start]);
        from = block.end;
    }
    kept.extend_from_slice(&contents[from..]);
    kept
}

/// `contents` with `block` after its first line. A file that is only a `#!` line without a
/// newline gets one (the only case where uninstall cannot give back the exact bytes).
fn insert(contents: &[u8], block: &[u8]) -> Vec<u8> {
    let split = contents.iter().position(|byte| *byte == b'\n').map_or(contents.len(), |at| at + 1);
    let mut updated = Vec::with_capacity(contents.len() + block.len() + 1);
    updated.extend_from_slice(&contents[..split]);
    if !updated.ends_with(b"\n") {
        updated.push(b'\n');
    }
    updated.extend_from_slice(block);
    updated.extend_from_slice(&contents[split..]);
    updated
}

/// Words for reports and messages: shell-quoted where needed, lossy for non-UTF-8 bytes.
fn display_words(words: &[OsString]) -> Vec<String> {
    words
        .iter()
        .map(|word| String::from_utf8_lossy(&owned_file::shell_word_bytes(OsStr::as_bytes(word))).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn command() -> Vec<OsString> {
        ["/opt/my tools/cargo-store", "--store", "/home/u/.cache/it's", "checkout", "--quiet"]
            .into_iter()
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn block_is_delimited_and_quotes_paths_for_sh() {
        let block = String::from_utf8(block(&command())).expect("the block is text");
        assert!(block.starts_with("# >>> cargo-store >>>\n"), "{block}");
        assert!(block.ends_with("# <<< cargo-store <<<\n"), "{block}");
        assert!(
            block.contains(
                "exec '/opt/my tools/cargo-store' --store \"/home/u/.cache/it's\" checkout --quiet --manifest-path"
            ),
            "{block}"
        );
        let whole: Range<usize> = 0..block.len();
        assert_eq!(blocks(block.as_bytes()), Some(vec![whole]));
    }

    #[test]
    fn the_block_file_has_our_markers_and_one_placeholder() {
        assert!(BLOCK.starts_with(&format!("{BEGIN_MARKER}\n")), "{BLOCK}");
        assert!(BLOCK.ends_with(&format!("\n{END_MARKER}\n")), "{BLOCK}");
        assert_eq!(BLOCK.matches(COMMAND_PLACEHOLDER).count(), 1, "{BLOCK}");
        assert_eq!(blocks(BLOCK.as_bytes()).map(|found| found.len()), Some(1));
        let block = block(&command());
        assert!(!block.windows(COMMAND_PLACEHOLDER.len()).any(|window| window == COMMAND_PLACEHOLDER.as_bytes()));
    }

    #[test]
    fn shebangs_of_posix_shells_are_accepted_others_are_not() {
        for script in
            ["#!/bin/sh\n", "#!/bin/bash -e\n", "#!/usr/bin/env bash\n", "#!/usr/bin/env -S dash -eu\n", "#! /bin/zsh"]
        {
            assert_eq!(not_a_shell_script(script.as_bytes()), None, "{script}");
        }
        for script in
            ["#!/usr/bin/env python3\nimport sys\n", "echo no shebang\n", "\x7fELF\x02\x01", "", "#!/usr/bin/perl"]
        {
            assert!(not_a_shell_script(script.as_bytes()).is_some(), "{script:?}");
        }
    }

    #[test]
    fn markers_must_pair_up() {
        let block = block(&command());
        let mut two = b"#!/bin/sh\n".to_vec();
        two.extend_from_slice(&block);
        two.extend_from_slice(b"echo mine\n");
        two.extend_from_slice(&block);
        assert_eq!(blocks(&two).map(|found| found.len()), Some(2));
        assert_eq!(blocks(b"#!/bin/sh\n# >>> cargo-store >>>\necho\n"), None);
        assert_eq!(blocks(b"#!/bin/sh\n# <<< cargo-store <<<\n"), None);
        assert_eq!(blocks(b"# >>> cargo-store >>>\n# >>> cargo-store >>>\n# <<< cargo-store <<<\n"), None);
        assert_eq!(blocks(b"#!/bin/sh\necho '# >>> cargo-store >>>'\n"), Some(vec![]));
    }

    #[test]
    fn insert_then_remove_gives_back_the_same_bytes() {
        let block = block(&command());
        for original in
            [&b"#!/bin/sh\nset -eu\necho mine\nexit 0\n"[..], b"#!/bin/bash\r\necho crlf\r\n", b"#!/bin/sh\n"]
        {
            let installed = insert(original, &block);
            assert!(installed.starts_with(original.split_inclusive(|b| *b == b'\n').next().expect("a first line")));
            let found = blocks(&installed).expect("balanced markers");
            assert_eq!(found.len(), 1);
            assert_eq!(without(&installed, &found), original);
        }
    }

    /// Runs the block as a hook with `arguments` in a directory with or without a Cargo.toml
    /// (not a git repository: the block falls back to `$PWD`), with a fake binary that records
    /// its arguments and exits with `exit_code`; returns (hook status, recorded call, stderr).
    fn run_block(arguments: &[&str], with_manifest: bool, exit_code: i32) -> (bool, Option<String>, String) {
        let directory = tempfile::tempdir().expect("create a temporary directory");
        let worktree = directory.path().join("worktree");
        fs::create_dir(&worktree).expect("create the worktree");
        if with_manifest {
            fs::write(worktree.join("Cargo.toml"), "[workspace]\n").expect("write Cargo.toml");
        }
        let fake = directory.path().join("fake cargo-store");
        let log = directory.path().join("calls");
        let script = format!("#!/bin/sh\nprintf '%s\\n' \"$*\" > '{}'\nexit {exit_code}\n", log.display());
        fs::write(&fake, script).expect("write the fake binary");
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("make it executable");
        let command =
            vec![fake.into_os_string(), "--store".into(), "/store".into(), "checkout".into(), "--quiet".into()];
        let mut hook = b"#!/bin/sh -eu\n".to_vec();
        hook.extend_from_slice(&block(&command));
        hook.extend_from_slice(b"echo after\n");
        let path = directory.path().join(HOOK_NAME);
        fs::write(&path, hook).expect("write the hook");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("make it executable");
        // A file just written cannot be run while a process forked meanwhile by another test
        // thread still holds it open (until that process execs): try again then.
        let output = (0..100)
            .map(|_| {
                Command::new(&path)
                    .args(arguments)
                    .current_dir(&worktree)
                    .env("GIT_CEILING_DIRECTORIES", directory.path())
                    .output()
            })
            .find(|output| match output {
                Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    false
                }
                Ok(output) if String::from_utf8_lossy(&output.stderr).contains("Text file busy") => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    false
                }
                _ => true,
            })
            .expect("the hook became runnable")
            .expect("run the hook");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "after\n", "the rest of the hook runs");
        let call = fs::read_to_string(&log).ok();
        (output.status.success(), call, String::from_utf8_lossy(&output.stderr).into_owned())
    }

    const NULL: &str = "0000000000000000000000000000000000000000";
    const REVISION: &str = "1f0e6b1c9d2f4a3b5c6d7e8f9a0b1c2d3e4f5a6b";

    #[test]
    fn the_block_checks_out_only_for_a_new_cargo_worktree() {
        let (success, call, _) = run_block(&[NULL, REVISION, "1"], true, 0);
        let call = call.expect("checkout ran for a new worktree");
        assert!(success);
        assert!(call.starts_with("--store /store checkout --quiet --manifest-path /"), "{call}");
        assert!(call.trim_end().ends_with("/worktree/Cargo.toml"), "{call}");
        // SHA-256 repositories have longer null names.
        assert!(run_block(&[&"0".repeat(64), REVISION, "1"], true, 0).1.is_some());
        // A branch switch, a file checkout, a project without Cargo.toml, or no arguments.
        assert_eq!(run_block(&[REVISION, REVISION, "1"], true, 0).1, None);
        assert_eq!(run_block(&[NULL, REVISION, "0"], true, 0).1, None);
        assert_eq!(run_block(&[NULL, REVISION, "1"], false, 0).1, None);
        let (success, call, _) = run_block(&[], true, 0);
        assert!(success && call.is_none(), "no arguments under set -u");
    }

    #[test]
    fn a_failing_checkout_never_fails_the_hook() {
        let (success, call, stderr) = run_block(&[NULL, REVISION, "1"], true, 3);
        assert!(call.is_some());
        assert!(success, "the hook failed with the checkout: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("cargo-store: could not check out") && stderr.contains("`cargo store checkout`"));
    }
}
