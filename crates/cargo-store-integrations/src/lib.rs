//! cargo-store's integrations with the user's own tools: the daily `cargo store gc --auto` job
//! in the user's scheduler ([`timer`]), and the git `post-checkout` hook that checks out stored
//! dependencies into every new worktree ([`hook`]).
//!
//! Neither touches the store, its index or the Cargo model: they write files into places that
//! belong to the user (`~/.config/systemd/user`, `~/Library/LaunchAgents`, a repository's
//! hooks directory) and run the programs that read them (`systemctl`, `launchctl`, `git`). That
//! is a concern of its own, kept apart from the store operations as uv keeps its shell
//! integration (`uv-shell`) apart from its cache. What the two share, the rules for a file we
//! own in someone else's directory, is in one module (`owned_file`): how a file shows that it
//! is ours, how it is looked at, how it is replaced, and how a command is quoted for the shell.

mod error;
pub mod hook;
mod owned_file;
pub mod timer;

pub use error::Error;

/// The version of the JSON schema of this crate's reports: the same number as
/// `cargo_store_ops::REPORT_VERSION`, since `cargo store --json` prints one schema (the binary
/// asserts that the two are equal when it is compiled).
pub const REPORT_VERSION: u32 = 1;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
