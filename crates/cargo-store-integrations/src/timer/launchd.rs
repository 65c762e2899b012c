//! The job as a launchd user agent, driven with `launchctl` (macOS).
//!
//! ```text
//! ~/Library/LaunchAgents/
//!   dev.cargo-store.gc.plist            the same command, daily at 12:00, low priority
//! ~/Library/Logs/cargo-store-gc.log     its output (launchd keeps none; systemd has the journal)
//! ```

use std::path::PathBuf;

use super::{MARKER_TEXT, Platform, TimerOptions, control, run_control};
use crate::owned_file::shell_word;

/// The launchd label of the gc job (its plist is `<label>.plist`).
pub const LABEL: &str = "dev.cargo-store.gc";

/// The file in `~/Library/Logs` that the job's output is appended to: launchd throws a job's
/// standard output and error away unless its plist names a file, whereas systemd keeps them in
/// the journal.
pub const LOG: &str = "cargo-store-gc.log";

/// The hour of the day at which launchd starts the job. launchd runs a job missed while the
/// machine slept at the next wake (but not one missed while it was off), so midday is more
/// likely to happen than a night-time hour on a laptop.
pub const HOUR: u32 = 12;

/// launchd user agents.
pub(super) struct Launchd;

impl Platform for Launchd {
    fn control_program(&self) -> &'static str {
        "launchctl"
    }

    fn control_variable(&self) -> &'static str {
        "CARGO_STORE_LAUNCHCTL"
    }

    fn locations(&self) -> crate::Result<(PathBuf, Option<PathBuf>)> {
        let library = super::home()?.join("Library");
        Ok((library.join("LaunchAgents"), Some(library.join("Logs").join(LOG))))
    }

    fn file_names(&self) -> Vec<String> {
        vec![plist_name()]
    }

    fn contents(&self, options: &TimerOptions, command: &[String]) -> crate::Result<Vec<String>> {
        let log = options.log.as_deref().map(super::text).transpose()?;
        Ok(vec![plist(command, log.as_deref())])
    }

    fn enable(&self, options: &TimerOptions, reinstall: bool) -> Result<(), String> {
        let plist = plist_argument(options)?;
        if reinstall {
            // launchd keeps the old definition of a loaded job until it is unloaded; a failure
            // here means it was not loaded.
            let _ = control(options, &["unload", &plist]);
        }
        control(options, &["load", "-w", &plist])
    }

    fn enable_command(&self, options: &TimerOptions) -> String {
        format!("launchctl load -w {}", shell_word(&plist_file(options).to_string_lossy()))
    }

    fn disable(&self, options: &TimerOptions) -> Result<(), String> {
        control(options, &["unload", "-w", &plist_argument(options)?])
    }

    fn disable_command(&self, options: &TimerOptions) -> String {
        format!("launchctl unload -w {}", shell_word(&plist_file(options).to_string_lossy()))
    }

    /// `launchctl list` knowing the job.
    fn still_scheduled(&self, options: &TimerOptions) -> Option<String> {
        match run_control(options, &["list", LABEL]) {
            Ok(outcome) if outcome.success => Some(format!("launchd still lists `{LABEL}`")),
            _ => None,
        }
    }

    /// `loaded` or `not-loaded`; launchd has no separate "active" state.
    fn state(&self, options: &TimerOptions) -> (String, Option<String>) {
        let loaded = match run_control(options, &["list", LABEL]) {
            Ok(outcome) if outcome.success => "loaded",
            Ok(_) => "not-loaded",
            Err(_) => "unknown",
        };
        (loaded.to_owned(), None)
    }
}

/// The launchd agent that runs `command` daily at [`HOUR`]:00, as a background job with
/// low-priority I/O, appending its standard output and error to `log` when given.
pub fn plist(command: &[String], log: Option<&str>) -> String {
    let arguments: String = command.iter().map(|word| format!("\t\t<string>{}</string>\n", xml_escape(word))).collect();
    let log = log.map_or_else(String::new, |log| {
        let log = xml_escape(log);
        format!(
            "\t<key>StandardOutPath</key>\n\t<string>{log}</string>\n\t<key>StandardErrorPath</key>\n\t<string>{log}</string>\n"
        )
    });
    // The XML declaration must come first, so the marker is on the second line.
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- {MARKER_TEXT} -->\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\
         \t<string>{LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\
         \t<array>\n\
         {arguments}\
         \t</array>\n\
         \t<key>StartCalendarInterval</key>\n\
         \t<dict>\n\
         \t\t<key>Hour</key>\n\
         \t\t<integer>{HOUR}</integer>\n\
         \t\t<key>Minute</key>\n\
         \t\t<integer>0</integer>\n\
         \t</dict>\n\
         \t<key>ProcessType</key>\n\
         \t<string>Background</string>\n\
         \t<key>LowPriorityIO</key>\n\
         \t<true/>\n\
         \t<key>Nice</key>\n\
         \t<integer>19</integer>\n\
         {log}\
         </dict>\n\
         </plist>\n"
    )
}

/// Text escaped for an XML element.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The plist's file name.
fn plist_name() -> String {
    format!("{LABEL}.plist")
}

/// Where the agent's plist goes.
fn plist_file(options: &TimerOptions) -> PathBuf {
    options.directory.join(plist_name())
}

/// The plist's path as text, for launchctl's arguments.
fn plist_argument(options: &TimerOptions) -> Result<String, String> {
    let path = plist_file(options);
    path.to_str().map(str::to_owned).ok_or_else(|| format!("`{}` is not valid UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owned_file::is_generated;

    #[test]
    fn plist_lists_the_command_escaped_and_carries_the_marker() {
        let command: Vec<String> =
            ["/Users/me/bin/cargo-store", "--store", "/Users/me/R&D <store>"].into_iter().map(String::from).collect();
        let plist = plist(&command, Some("/Users/me/Library/Logs/cargo-store-gc.log"));
        assert!(plist.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Generated by cargo-store"));
        assert!(is_generated(&plist));
        let arguments = "\t<key>ProgramArguments</key>\n\t<array>\n\
                         \t\t<string>/Users/me/bin/cargo-store</string>\n\
                         \t\t<string>--store</string>\n\
                         \t\t<string>/Users/me/R&amp;D &lt;store&gt;</string>\n\t</array>\n";
        assert!(plist.contains(arguments), "{plist}");
        assert!(plist.contains(&format!("<string>{LABEL}</string>")), "{plist}");
        for key in ["StartCalendarInterval", "LowPriorityIO", "Nice"] {
            assert!(plist.contains(&format!("<key>{key}</key>")), "missing {key}:\n{plist}");
        }
        // launchd would throw the job's output away: both streams go to the log.
        for key in ["StandardOutPath", "StandardErrorPath"] {
            let entry = format!("\t<key>{key}</key>\n\t<string>/Users/me/Library/Logs/cargo-store-gc.log</string>\n");
            assert!(plist.contains(&entry), "missing {key}:\n{plist}");
        }
        assert!(!super::plist(&command, None).contains("StandardErrorPath"));
        // An XML comment may not contain `--`, and the document must close what it opens.
        let comment = plist.lines().nth(1).expect("a second line");
        assert!(!comment.trim_start_matches("<!--").trim_end_matches("-->").contains("--"), "{comment}");
        assert_eq!(plist.matches("<dict>").count(), plist.matches("</dict>").count());
        assert_eq!(plist.matches("<array>").count(), plist.matches("</array>").count());
    }
}
