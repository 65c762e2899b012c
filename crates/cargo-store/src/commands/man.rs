//! `cargo store man`: manual pages in roff, generated from the real command line.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory;
use clap_mangen::Man;

use crate::Context;

/// Print the manual page of cargo-store (roff), or write one page per command.
///
/// Without `--directory`, the page of `cargo-store` itself goes to stdout. With it, that page
/// and one page per command (`cargo-store-ingest.1`, `cargo-store-timer-install.1`, ...) are
/// written into the directory, replacing pages of the same names, and their paths are
/// printed.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo store man | man -l -\n  cargo store man --directory ~/.local/share/man/man1   (then `man cargo-store-ingest`)"
)]
pub struct Arguments {
    /// Write every page into this directory (created if needed) instead of printing one.
    #[arg(long, value_name = "DIR")]
    directory: Option<PathBuf>,
}

/// Runs the command.
pub fn run(_context: &Context, arguments: Arguments) -> anyhow::Result<ExitCode> {
    let mut command = crate::Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its display name (`cargo-store-ingest`), which names its page.
    command.build();
    match arguments.directory {
        None => {
            let mut page = Vec::new();
            Man::new(command).render(&mut page)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&page)?;
            stdout.flush()?;
        }
        Some(directory) => {
            fs::create_dir_all(&directory)
                .with_context(|| format!("cannot create the directory `{}`", directory.display()))?;
            let mut written = Vec::new();
            write_pages(command, &directory, &mut written)?;
            let mut stdout = std::io::stdout().lock();
            for path in written {
                writeln!(stdout, "{}", path.display())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `command` and, depth first, those of its visible subcommands.
fn write_pages(command: clap::Command, directory: &Path, written: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let man = Man::new(command.clone());
    let path = directory.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)?;
    fs::write(&path, page).with_context(|| format!("cannot write the manual page `{}`", path.display()))?;
    written.push(path);
    for subcommand in command.get_subcommands().filter(|subcommand| !subcommand.is_hide_set()) {
        write_pages(subcommand.clone(), directory, written)?;
    }
    Ok(())
}
