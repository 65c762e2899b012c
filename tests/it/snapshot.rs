//! Snapshots of what a person reads: [`cargo_store_snapshot!`] runs a command and compares its
//! exit code, stdout and stderr, as one text, with an insta snapshot (inline, `@"..."`, where
//! it is short; a file under `tests/it/snapshots/` otherwise).
//!
//! Before the comparison [`Filters`] replace what differs between runs and machines, so that a
//! snapshot shows only what the program decided to say: the fixture's temporary paths
//! (`[STORE]`, `[ROOT]`), the toolchain (`[TOOLCHAIN]`, and rustc's version line as
//! `[RUSTC]`), temporary files (`[TMP]`, named after a process id), sizes (`[SIZE]`), how long a command
//! took (`[ELAPSED]`), points in time: `5m ago` and seconds since the epoch (`[TIME]`), and the
//! hexadecimal hashes of cargo's unit directories and of store objects (`[HASH]`). Counts are left as they are: the fixture is the
//! same everywhere, so a count that changes is a change of behavior.
//!
//! The idea is uv's `uv_snapshot!` (exit code, stdout and stderr with path and hash filters);
//! the filters here are insta's own (`Settings::add_filter`).
//!
//! A changed output fails the test with a diff. To take the new output, review it and run:
//!
//! ```console
//! $ cargo insta test --review          # or: INSTA_UPDATE=always cargo test --test it, then `cargo insta accept`
//! ```

use std::path::Path;
use std::process::{Command, Output};

use crate::fixture::Fixture;
use crate::support::describe;

/// Regular expressions and what they are replaced by, applied in order.
#[derive(Clone, Debug)]
pub struct Filters {
    filters: Vec<(String, String)>,
}

impl Filters {
    /// The filters every snapshot needs, whatever it runs: toolchain, sizes, durations, ages and
    /// hashes. Paths come first when added with [`Filters::path`]; these are applied after.
    pub fn new() -> Filters {
        Filters { filters: Vec::new() }
    }

    /// [`Filters::new`] with the paths of `fixture`: its store as `[STORE]`, its root as
    /// `[ROOT]` (so worktree A is `[ROOT]/a`).
    pub fn of(fixture: &Fixture) -> Filters {
        Filters::new().path(&fixture.store(), "[STORE]").path(fixture.root(), "[ROOT]")
    }

    /// Replaces `path` (and what it is called before symbolic links are resolved, where that
    /// differs) with `name`. Add longer paths first: `[ROOT]/store` would otherwise never
    /// become `[STORE]`.
    pub fn path(mut self, path: &Path, name: &str) -> Filters {
        let mut spellings = vec![path.display().to_string()];
        if let Ok(canonical) = path.canonicalize()
            && canonical != path
        {
            spellings.push(canonical.display().to_string());
        }
        for spelling in spellings {
            self.filters.push((regex_escape(&spelling), name.to_owned()));
        }
        self
    }

    /// Replaces matches of the regular expression `pattern` with `replacement` (`$1` and the
    /// like refer to groups).
    pub fn regex(mut self, pattern: &str, replacement: &str) -> Filters {
        self.filters.push((pattern.to_owned(), replacement.to_owned()));
        self
    }

    /// insta's settings with these filters, then the common ones.
    pub fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(true);
        for (pattern, replacement) in self.filters.iter().map(|(p, r)| (p.as_str(), r.as_str())).chain(COMMON) {
            settings.add_filter(pattern, replacement);
        }
        settings
    }
}

/// The filters after the paths, in order: the toolchain before the hashes (its commit is
/// one), sizes before durations (`1.5 KiB` is no duration), hashes last.
const COMMON: [(&str, &str); 8] = [
    // `rustc -V`: `rustc 1.95.0 (59807616e 2026-03-21)`, also of channels (`1.97.0-nightly`).
    (r"rustc \d+\.\d+\.\d+(-[0-9A-Za-z.]+)? \([0-9a-f]{7,} \d{4}-\d{2}-\d{2}\)", "[RUSTC]"),
    // `Toolchain::namespace`: `rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu`, also of
    // channels (`1.97.0-nightly`).
    (r"rustc \d+\.\d+\.\d+(-[0-9A-Za-z.]+)? \([0-9a-f]{7,}\) [0-9A-Za-z_.\-]+", "[TOOLCHAIN]"),
    // `cargo_store_fs::temporary_path`: `.cargo-store-<pid>-<count>.tmp`.
    (r"\.cargo-store-\d+-\d+\.tmp\b", "[TMP]"),
    // `output::bytes`: `512 B`, `1.5 KiB`, `3.0 GiB`.
    (r"\b\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b", "[SIZE]"),
    // `output::duration`: `850ms`, `1.25s`, `2m 5s`.
    (r"\b(\d+m \d+s|\d+(\.\d+)?m?s)\b", "[ELAPSED]"),
    // `output::ago`: `just now`, `5m ago`, `3h ago`, `2d ago`.
    (r"\b(just now|\d+[mhd] ago)\b", "[TIME]"),
    // Seconds since the epoch (ten digits from 2001 to 2286), as in the names of quarantined
    // objects.
    (r"\b[12][0-9]{9}\b", "[TIME]"),
    // Cargo's metadata hashes in unit directory names (16 hex digits), store objects and
    // manifests (BLAKE3, 64; objects are filed as `ab/cdef...`).
    (r"\b[0-9a-f]{2}/[0-9a-f]{62}\b|\b[0-9a-f]{16,64}\b", "[HASH]"),
];

/// `text` with every character that means something in a regular expression escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Runs `command` and renders what a person sees: the exit code, stdout and stderr.
pub fn run_and_render(command: &mut Command) -> (String, Output) {
    let output = command.output().unwrap_or_else(|error| panic!("could not start `{}`: {error}", describe(command)));
    (render(&output), output)
}

/// The exit code, stdout and stderr of `output`, one text.
pub fn render(output: &Output) -> String {
    let code = match output.status.code() {
        Some(code) => code.to_string(),
        None => format!("killed ({})", output.status),
    };
    format!(
        "exit code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Several runs as one text, each under a `$ cargo store <what>` line: the snapshot of a test
/// that runs many commands against the same bad input.
pub fn render_each<'a>(runs: impl IntoIterator<Item = (&'a str, &'a Output)>) -> String {
    let mut text = String::new();
    for (what, output) in runs {
        text.push_str(&format!("$ cargo store {what}\n{}\n", render(output)));
    }
    text
}

/// Runs a command and compares its exit code, stdout and stderr with a snapshot, after the
/// [`Filters`] given first; evaluates to the command's [`Output`].
///
/// - `cargo_store_snapshot!(filters, command, @"...")`: an inline snapshot.
/// - `cargo_store_snapshot!(filters, command)`: a file named after the test, numbered when a
///   test takes several.
/// - `cargo_store_snapshot!(name, filters, command)`: the file `it__<module>__<name>.snap`.
///
/// `command` is a `&mut Command` (`fixture.cargo_store().args([...])` is one).
macro_rules! cargo_store_snapshot {
    ($filters:expr, $command:expr, @$snapshot:literal) => {{
        let (rendered, output) = $crate::snapshot::run_and_render($command);
        $filters.settings().bind(|| ::insta::assert_snapshot!(rendered, @$snapshot));
        output
    }};
    ($name:expr, $filters:expr, $command:expr) => {{
        let (rendered, output) = $crate::snapshot::run_and_render($command);
        $filters.settings().bind(|| ::insta::assert_snapshot!($name, rendered));
        output
    }};
    ($filters:expr, $command:expr) => {{
        let (rendered, output) = $crate::snapshot::run_and_render($command);
        $filters.settings().bind(|| ::insta::assert_snapshot!(rendered));
        output
    }};
}

pub(crate) use cargo_store_snapshot;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_replace_what_varies_and_keep_the_rest() {
        let filters = Filters::new()
            .path(Path::new("/tmp/cargo-store-it-Ab1.x/store"), "[STORE]")
            .path(Path::new("/tmp/cargo-store-it-Ab1.x"), "[ROOT]");
        let text = "Stored 7 units (40 files, 1.5 KiB new) from `/tmp/cargo-store-it-Ab1.x/a/target` into \
                    `/tmp/cargo-store-it-Ab1.x/store` in 1.25s, not /tmp/cargo-store-it-Ab1yx\n\
                    rustc 1.95.0 (59807616e) x86_64-unknown-linux-gnu, rustc 1.95.0 (59807616e 2026-03-21)\n\
                    tmp/.cargo-store-25595-15.tmp, 512 B, 850ms, 2m 5s, 3h ago, just now\n\
                    debug/leaf-0123456789abcdef objects/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\n\
                    quarantine/ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd.x.1796192157";
        filters.settings().bind(|| {
            insta::assert_snapshot!(text, @"
            Stored 7 units (40 files, [SIZE] new) from `[ROOT]/a/target` into `[STORE]` in [ELAPSED], not /tmp/cargo-store-it-Ab1yx
            [TOOLCHAIN], [RUSTC]
            tmp/[TMP], [SIZE], [ELAPSED], [ELAPSED], [TIME], [TIME]
            debug/leaf-[HASH] objects/[HASH]
            quarantine/[HASH].x.[TIME]
            ");
        });
    }
}
