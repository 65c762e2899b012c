//! The `cargo-store` binary: argument parsing, printing, and exit codes.
//!
//! Every command is a thin file under `commands/` that turns its arguments into options for
//! one function of `cargo-store-ops` (of `cargo-store-integrations` for `timer` and `hook`) and
//! prints the report it returns, for humans or as `--json`. Cargo runs external subcommands as
//! `cargo-store store <args>`; the extra `store` is dropped so that `cargo store ingest` and
//! `cargo-store ingest` are the same command.

mod commands;
mod output;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

/// A per-user store of Cargo dependency build artifacts: new git worktrees start with a warm
/// target directory, so `cargo build` compiles only the workspace's own crates.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-store",
    bin_name = "cargo store",
    version,
    after_help = "Everyday use:\n  cargo build && cargo store ingest      after a build, store its dependencies\n  git worktree add ../feature && cd ../feature && cargo store checkout\n  cargo build                            compiles only the workspace's crates"
)]
struct Cli {
    /// The store directory [default: $XDG_CACHE_HOME/cargo-store, else ~/.cache/cargo-store]
    ///
    /// [env: CARGO_STORE_DIR, which must be absolute; set but empty counts as unset]
    // Not clap's `env`: it turns `CARGO_STORE_DIR=` into a usage error about a `--store` the
    // user never typed. `Store::default_location` reads the variable instead.
    #[arg(long, global = true, value_name = "DIR", help_heading = "Global options")]
    store: Option<PathBuf>,

    /// Log more (-v: debug, -vv: trace); CARGO_STORE_LOG takes a tracing filter.
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    verbose: u8,

    /// Print only errors.
    #[arg(short, long, global = true, help_heading = "Global options")]
    quiet: bool,

    /// Color the labels of errors, warnings and hints: auto (on a terminal, unless NO_COLOR is
    /// set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    color: output::ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Ingest(commands::ingest::Arguments),
    Checkout(commands::checkout::Arguments),
    Pull(commands::pull::Arguments),
    Push(commands::push::Arguments),
    Status(commands::status::Arguments),
    Gc(commands::gc::Arguments),
    Sweep(commands::sweep::Arguments),
    Roots(commands::roots::Arguments),
    Timer(commands::timer::Arguments),
    Verify(commands::verify::Arguments),
    Repair(commands::repair::Arguments),
    Doctor(commands::doctor::Arguments),
    Hook(commands::hook::Arguments),
    Exec(commands::exec::Arguments),
    Completions(commands::completions::Arguments),
    Man(commands::man::Arguments),
}

/// What every command gets besides its own arguments.
pub struct Context {
    /// The store directory.
    pub store: PathBuf,
    /// `--quiet`.
    pub quiet: bool,
}

impl Context {
    /// Tells the user once what a command is waiting for.
    pub fn waiting(&self) -> impl FnMut(&str) + use<> {
        let quiet = self.quiet;
        move |message: &str| {
            if !quiet {
                eprintln!("{} {message}", output::label("note"));
            }
        }
    }
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let mut arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if arguments.get(1).is_some_and(|argument| argument == "store") {
        arguments.remove(1);
    }
    let cli = Cli::parse_from(arguments);
    output::set_color(cli.color);
    init_logging(cli.verbose, cli.quiet);
    // Completions and the man page need no store; a missing HOME must not stop them.
    let needs_store = !matches!(cli.command, Command::Completions(_) | Command::Man(_));
    let store = match store_location(cli.store.clone(), needs_store && !cli.quiet) {
        Ok(store) => store,
        Err(_) if !needs_store => PathBuf::new(),
        Err(error) => return report_error(&error),
    };
    let context = Context { store, quiet: cli.quiet };
    let result = match cli.command {
        Command::Ingest(arguments) => commands::ingest::run(&context, arguments),
        Command::Checkout(arguments) => commands::checkout::run(&context, arguments),
        Command::Pull(arguments) => commands::pull::run(&context, arguments),
        Command::Push(arguments) => commands::push::run(&context, arguments),
        Command::Status(arguments) => commands::status::run(&context, arguments),
        Command::Gc(arguments) => commands::gc::run(&context, arguments),
        Command::Sweep(arguments) => commands::sweep::run(&context, arguments),
        Command::Roots(arguments) => commands::roots::run(&context, arguments),
        Command::Timer(arguments) => commands::timer::run(&context, arguments),
        Command::Verify(arguments) => commands::verify::run(&context, arguments),
        Command::Repair(arguments) => commands::repair::run(&context, arguments),
        Command::Doctor(arguments) => commands::doctor::run(&context, arguments),
        Command::Hook(arguments) => commands::hook::run(&context, arguments),
        Command::Exec(arguments) => commands::exec::run(&context, arguments),
        Command::Completions(arguments) => commands::completions::run(&context, arguments),
        Command::Man(arguments) => commands::man::run(&context, arguments),
    };
    match result {
        Ok(code) => code,
        Err(error) => report_error(&error),
    }
}

/// Where the store is: `--store`, else [`cargo_store_cas::Store::default_location`].
///
/// A relative `--store` is resolved against the current directory, as any path argument is:
/// the user typed it here and means here. It becomes absolute at once (the timer and the git
/// hook record it, and reports print it), and with `note` one line on stderr says which
/// directory that is, since `--store store` in the wrong directory would otherwise quietly
/// start an empty store. A relative `CARGO_STORE_DIR` is refused instead (see
/// `default_location`): an inherited variable has no "here".
fn store_location(argument: Option<PathBuf>, note: bool) -> anyhow::Result<PathBuf> {
    let Some(path) = argument else {
        return Ok(cargo_store_cas::Store::default_location()?);
    };
    if path.is_absolute() {
        return Ok(path);
    }
    let absolute = cargo_store_cas::normalize_path(&path)
        .map_err(|error| anyhow::Error::new(error).context(format!("cannot resolve `--store {}`", path.display())))?;
    if note {
        eprintln!(
            "{} using the store `{}` (`--store {}` is relative to the current directory)",
            output::label("note"),
            absolute.display(),
            path.display()
        );
    }
    Ok(absolute)
}

/// The error of an operation as a command reports it: `what` ("status failed"), caused by the
/// error; except a missing store, which says all there is to say by itself (`no store at ...`).
pub fn failed(what: &'static str) -> impl FnOnce(cargo_store_ops::Error) -> anyhow::Error {
    move |error| match error {
        cargo_store_ops::Error::Store(cargo_store_cas::Error::NoStore { .. }) => anyhow::Error::new(error),
        error => anyhow::Error::new(error).context(what),
    }
}

/// `println!` panics when stdout is a closed pipe (`cargo store checkout --explain | head`);
/// like ripgrep, treat that as the reader having had enough: exit 0, print nothing.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |information| {
        let message = information
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| information.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(information);
    }));
}

/// Prints `error: ...` with its causes; a closed stdout (`| head`) is not an error.
fn report_error(error: &anyhow::Error) -> ExitCode {
    let broken_pipe = error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let (bodies, hints) = output::chain(error.as_ref());
    let mut stderr = std::io::stderr().lock();
    for (depth, body) in bodies.iter().enumerate() {
        let _ = if depth == 0 {
            writeln!(stderr, "{} {body}", output::label("error"))
        } else {
            writeln!(stderr, "  caused by: {body}")
        };
    }
    for hint in hints {
        let _ = writeln!(stderr, "{} {hint}", output::label("hint"));
    }
    ExitCode::FAILURE
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARGO_STORE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
}
