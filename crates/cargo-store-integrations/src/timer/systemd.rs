//! The job as systemd user units, driven with `systemctl --user` (Linux).
//!
//! ```text
//! $XDG_CONFIG_HOME/systemd/user/, else ~/.config/systemd/user/
//!   cargo-store-gc.service      Type=oneshot, ExecStart=<binary> --store <store> gc --auto [--sweep]
//!   cargo-store-gc.timer        OnCalendar=daily, Persistent=true, WantedBy=timers.target
//!   timers.target.wants/…       made by `systemctl --user enable`, never by us
//! ```
//!
//! The job's output goes to the user's journal (`journalctl --user -u cargo-store-gc`).

use std::fs;
use std::path::PathBuf;

use super::{MARKER_TEXT, Platform, TimerOptions, control, run_control};

/// The name of the systemd service unit that runs gc once.
pub const SERVICE: &str = "cargo-store-gc.service";

/// The name of the systemd timer unit that starts [`SERVICE`] daily.
pub const TIMER: &str = "cargo-store-gc.timer";

/// The systemd user manager.
pub(super) struct Systemd;

impl Platform for Systemd {
    fn control_program(&self) -> &'static str {
        "systemctl"
    }

    fn control_variable(&self) -> &'static str {
        "CARGO_STORE_SYSTEMCTL"
    }

    fn locations(&self) -> crate::Result<(PathBuf, Option<PathBuf>)> {
        // The XDG base directory specification says to ignore a relative value.
        let config = match super::variable("XDG_CONFIG_HOME").map(PathBuf::from).filter(|path| path.is_absolute()) {
            Some(config) => config,
            None => super::home()?.join(".config"),
        };
        Ok((config.join("systemd").join("user"), None))
    }

    fn file_names(&self) -> Vec<String> {
        vec![SERVICE.to_owned(), TIMER.to_owned()]
    }

    fn contents(&self, _options: &TimerOptions, command: &[String]) -> crate::Result<Vec<String>> {
        Ok(vec![service(command), timer()])
    }

    fn enable(&self, options: &TimerOptions, _reinstall: bool) -> Result<(), String> {
        // The manager rereads unit files only when told to, a rewritten one included.
        control(options, &["--user", "daemon-reload"])?;
        control(options, &["--user", "enable", "--now", TIMER])
    }

    fn enable_command(&self, _options: &TimerOptions) -> String {
        format!("systemctl --user daemon-reload && systemctl --user enable --now {TIMER}")
    }

    fn disable(&self, options: &TimerOptions) -> Result<(), String> {
        control(options, &["--user", "disable", "--now", TIMER])
    }

    fn disable_command(&self, _options: &TimerOptions) -> String {
        format!("systemctl --user disable --now {TIMER}")
    }

    /// The symlink `systemctl enable` made.
    fn still_scheduled(&self, options: &TimerOptions) -> Option<String> {
        let link = options.directory.join("timers.target.wants").join(TIMER);
        fs::symlink_metadata(&link).is_ok().then(|| format!("`{}` exists", link.display()))
    }

    /// So that the manager forgets the removed units; it lists them as not-found otherwise.
    fn forget_removed(&self, options: &TimerOptions) {
        if let Err(reason) = control(options, &["--user", "daemon-reload"]) {
            tracing::debug!("{reason}");
        }
    }

    fn state(&self, options: &TimerOptions) -> (String, Option<String>) {
        (state(options, "is-enabled"), Some(state(options, "is-active")))
    }
}

/// The systemd service unit that runs `command` once, at the lowest CPU and I/O priority.
pub fn service(command: &[String]) -> String {
    let exec_start = command.iter().map(|argument| word(argument)).collect::<Vec<_>>().join(" ");
    format!(
        "# {MARKER_TEXT}\n\
         [Unit]\n\
         Description=cargo-store garbage collection (cargo store gc --auto)\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={exec_start}\n\
         Nice=19\n\
         IOSchedulingClass=idle\n"
    )
}

/// The systemd timer unit that starts [`SERVICE`] once a day. `Persistent=true` makes up for a
/// run missed while the machine was off (or the user logged out) as soon as the user manager
/// starts again; the random delay spreads that catch-up away from the busy moment of login.
pub fn timer() -> String {
    format!(
        "# {MARKER_TEXT}\n\
         [Unit]\n\
         Description=Daily cargo-store garbage collection\n\
         \n\
         [Timer]\n\
         OnCalendar=daily\n\
         Persistent=true\n\
         RandomizedDelaySec=1h\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    )
}

/// One word of a systemd command line (`ExecStart=`), quoted so that systemd reads it back as
/// exactly `word`: `%` (specifiers) and `$` (variable expansion) are doubled everywhere, and a
/// word with whitespace, quotes, backslashes or control characters is double-quoted with
/// C-style escapes (systemd.service(5), "Command lines").
fn word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && !escaped.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    let mut quoted = String::from('"');
    for c in escaped.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `systemctl --user <query> cargo-store-gc.timer`: the state word it prints (it exits non-zero
/// for every state but the positive one, so the exit status says nothing), or `unknown`.
fn state(options: &TimerOptions, query: &str) -> String {
    let state = run_control(options, &["--user", query, TIMER]).ok().and_then(|outcome| {
        let line = outcome.stdout.lines().next()?.trim().to_owned();
        let word = !line.is_empty() && line.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        word.then_some(line)
    });
    state.unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owned_file::is_generated;
    use crate::timer::tests::exec_start;

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn service_runs_gc_with_the_absolute_binary_and_store() {
        let command = words(&["/usr/bin/cargo-store", "--store", "/home/u/.cache/cargo-store", "gc", "--auto"]);
        let service = service(&command);
        assert!(service.starts_with("# Generated by cargo-store"), "{service}");
        assert!(is_generated(&service));
        assert_eq!(exec_start(&service), "/usr/bin/cargo-store --store /home/u/.cache/cargo-store gc --auto");
        for line in ["Type=oneshot", "Nice=19", "IOSchedulingClass=idle"] {
            assert!(service.lines().any(|l| l == line), "missing {line}:\n{service}");
        }
        let timer = timer();
        assert!(is_generated(&timer));
        for line in ["OnCalendar=daily", "Persistent=true", "RandomizedDelaySec=1h", "WantedBy=timers.target"] {
            assert!(timer.lines().any(|l| l == line), "missing {line}:\n{timer}");
        }
    }

    #[test]
    fn service_quotes_what_systemd_would_otherwise_split_or_expand() {
        let command = words(&["/opt/my tools/cargo-store", "--store", "/data/50%/$HOME/a\"b\\c"]);
        assert_eq!(
            exec_start(&service(&command)),
            r#""/opt/my tools/cargo-store" --store "/data/50%%/$$HOME/a\"b\\c""#
        );
        assert_eq!(word(""), "\"\"");
        assert_eq!(word("a\nb"), "\"a\\nb\"");
    }
}
