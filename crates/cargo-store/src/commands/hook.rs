//! `cargo store hook`: the git `post-checkout` hook that runs `cargo store checkout` in every
//! new worktree of a repository.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cargo_store_integrations::hook::{self, HookOptions, HookState, InstallAction, UninstallAction};

use crate::Context;
use crate::output::json;

/// Make `git worktree add` check out stored dependencies into the new worktree by itself.
///
/// `install` adds a block of shell to the repository's `post-checkout` hook, in the hooks
/// directory git uses (`git rev-parse --git-path hooks`: `.git/hooks`, shared by all worktrees,
/// or `core.hooksPath`). After `git worktree add` of a Cargo project, the block runs this
/// binary, by its absolute path, on this store (`--store`): `cargo store checkout --quiet` in
/// the new worktree. Run `install` again after moving either. A failed checkout prints one line
/// and never fails the `git worktree add`.
///
/// A hook that is already there is kept: the block goes between `# >>> cargo-store >>>` and
/// `# <<< cargo-store <<<` lines after its `#!` line, and `uninstall` removes exactly those
/// lines. A hook that is not a shell script is never edited: install fails and says what to
/// add to it yourself.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store hook install                       in the repository, once\n  git worktree add ../feature                    checks out stored units into ../feature/target\n  cargo store hook status --repository ~/src/project\n  cargo store hook uninstall"
)]
pub struct Arguments {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Add the block to the post-checkout hook (creating the hook if there is none).
    ///
    /// Running it again changes nothing, unless the binary or the store moved: then the block
    /// is rewritten in place. Fails, changing nothing, if the hook is not a shell script, is not
    /// executable, or holds a damaged block.
    Install(Output),
    /// Remove exactly the block from the post-checkout hook.
    ///
    /// The rest of the hook is left as it was before `install`; a hook that `install` created
    /// is deleted, unless something else was added to it since.
    Uninstall(Output),
    /// Show whether the block is installed, where, and whether it is what `install` would
    /// write now.
    Status(Output),
}

#[derive(Debug, clap::Args)]
struct Output {
    /// A directory of the repository [default: the current directory].
    #[arg(long, value_name = "DIR")]
    repository: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let (Action::Install(output) | Action::Uninstall(output) | Action::Status(output)) = &arguments.action;
    let options = HookOptions::from_environment(output.repository.as_deref(), &context.store)
        .context("cannot set up the git hook")?;
    match &arguments.action {
        Action::Install(output) => {
            let report = hook::install(&options).context("hook install failed")?;
            if output.json {
                json(&report)?;
                return Ok(ExitCode::SUCCESS);
            }
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if context.quiet {
                return Ok(ExitCode::SUCCESS);
            }
            let path = report.path.display();
            match report.action {
                InstallAction::Created => println!("Created the post-checkout hook `{path}`"),
                InstallAction::Inserted => {
                    println!("Added cargo-store's block to the post-checkout hook `{path}` (the rest is unchanged)");
                }
                InstallAction::Updated => println!("Updated cargo-store's block in the post-checkout hook `{path}`"),
                InstallAction::Unchanged => println!("The post-checkout hook `{path}` is already installed"),
            }
            println!("After `git worktree add`, it runs in the new worktree: {}", report.command.join(" "));
        }
        Action::Uninstall(output) => {
            let report = hook::uninstall(&options).context("hook uninstall failed")?;
            if output.json {
                json(&report)?;
            } else if !context.quiet {
                let path = report.path.display();
                match report.action {
                    UninstallAction::RemovedFile => println!("Removed the post-checkout hook `{path}`"),
                    UninstallAction::RemovedBlock => {
                        println!(
                            "Removed cargo-store's block from the post-checkout hook `{path}` (the rest is unchanged)"
                        );
                    }
                    UninstallAction::NotInstalled => {
                        println!("The hook is not installed in `{path}`: nothing to remove")
                    }
                }
            }
        }
        Action::Status(output) => {
            let report = hook::status(&options).context("hook status failed")?;
            if output.json {
                json(&report)?;
                return Ok(ExitCode::SUCCESS);
            }
            let state = match report.state {
                HookState::NoHook => "not installed: there is no post-checkout hook",
                HookState::OtherHook => "not installed: the post-checkout hook has no cargo-store block",
                HookState::Current => "installed, up to date",
                HookState::Outdated => "installed, outdated",
                HookState::Damaged => "damaged: cargo-store's marker lines do not pair up",
                HookState::Unsupported => "not installable: the post-checkout hook is not a shell script",
            };
            println!("hook:   {}", report.path.display());
            println!("state:  {state}");
            println!("runs:   {} (after `git worktree add`, in the new worktree)", report.command.join(" "));
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if report.installed && !report.executable {
                eprintln!(
                    "hint: git ignores the hook while it is not executable: `chmod +x {}`",
                    report.path.display()
                );
            }
            match report.state {
                HookState::NoHook | HookState::OtherHook => {
                    eprintln!("hint: run `cargo store hook install` to install it");
                }
                HookState::Outdated => {
                    eprintln!("hint: run `cargo store hook install` to make it run the command above");
                }
                HookState::Damaged => {
                    eprintln!("hint: delete cargo-store's lines from it by hand, then run `cargo store hook install`");
                }
                HookState::Unsupported => {
                    eprintln!(
                        "hint: `cargo store hook install` only edits shell scripts; make that hook run the command above in a new worktree"
                    );
                }
                HookState::Current => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
