//! `cargo store completions`: shell completion scripts, generated from the real command line.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Context;

/// Print the completion script for a shell.
///
/// The script completes `cargo-store` (cargo has no completion hook for its external
/// subcommands, so `cargo store <TAB>` completes only what cargo's own script knows). Install
/// it where your shell looks for completions, and run the command again after upgrading
/// cargo-store.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Installing:\n  bash        cargo store completions bash > ~/.local/share/bash-completion/completions/cargo-store\n  zsh         cargo store completions zsh > ~/.zfunc/_cargo-store\n              (with `fpath+=~/.zfunc; autoload -Uz compinit; compinit` in ~/.zshrc)\n  fish        cargo store completions fish > ~/.config/fish/completions/cargo-store.fish\n  elvish      cargo store completions elvish >> ~/.config/elvish/rc.elv\n  powershell  cargo store completions powershell >> $PROFILE"
)]
pub struct Arguments {
    /// The shell to write the script for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Runs the command.
pub fn run(_context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let mut command = crate::Cli::command();
    // Generated into memory first: clap_complete panics when its writer fails, and a closed
    // stdout (`| head`) must stay a quiet success.
    let mut script = Vec::new();
    clap_complete::generate(arguments.shell, &mut command, "cargo-store", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
