//! Printing reports: JSON for scripts, short lines for people, sizes and durations in human
//! units.

use std::io::Write;

use serde::Serialize;

/// Writes `report` as one line of JSON to stdout.
pub fn json(report: &impl Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, report)?;
    writeln!(stdout)?;
    Ok(())
}

/// `1.5 GiB`, `12.0 KiB`, `512 B`.
pub fn bytes(count: u64) -> String {
    cargo_store_ops::format_bytes(count)
}

/// `850ms`, `1.25s`, `2m 5s`.
pub fn duration(milliseconds: u64) -> String {
    match milliseconds {
        0..1000 => format!("{milliseconds}ms"),
        1000..60_000 => format!("{:.2}s", milliseconds as f64 / 1000.0),
        _ => format!("{}m {}s", milliseconds / 60_000, (milliseconds % 60_000) / 1000),
    }
}

/// `1 unit`, `2 units`.
pub fn count(number: u64, singular: &str) -> String {
    if number == 1 { format!("1 {singular}") } else { format!("{number} {singular}s") }
}

/// `30 days`, `20 hours`, `90 seconds`: a span of seconds (a setting, an age) for people, in
/// the largest unit that divides it.
pub fn span(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    match seconds {
        _ if seconds > 0 && seconds.is_multiple_of(86_400) => count(seconds / 86_400, "day"),
        _ if seconds > 0 && seconds.is_multiple_of(3600) => count(seconds / 3600, "hour"),
        _ => count(seconds, "second"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(1250), "1.25s");
        assert_eq!(duration(125_000), "2m 5s");
        assert_eq!(count(1, "unit"), "1 unit");
        assert_eq!(count(3, "file"), "3 files");
        assert_eq!(span(30 * 86_400), "30 days");
        assert_eq!(span(20 * 3600), "20 hours");
        assert_eq!(span(86_400), "1 day");
        assert_eq!(span(90), "90 seconds");
    }
}

/// `5m ago`, `3h ago`, `2d ago` for a time `then` seen at `now` (seconds since the epoch).
pub fn ago(then: i64, now: i64) -> String {
    let seconds = (now - then).max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86_400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

/// Parses a size such as `20GiB`, `500M`, `1.5G`, `10GB` or `4096`: bare and `iB` suffixes
/// are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a size (try `20GiB` or `500M`)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("unknown size unit `{other}` in `{text}` (use B, K, M, G, T, KiB.. or KB..)")),
    };
    Ok((number * multiplier as f64) as u64)
}

/// Parses a duration such as `30d`, `12h`, `90m`, `45s` or `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| format!("`{text}` is not a duration (try `30d` or `12h`)"))?;
    let multiplier = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "" | "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown duration unit `{other}` in `{text}` (use s, m, h, d or w)")),
    };
    Ok(number.saturating_mul(multiplier))
}

#[cfg(test)]
mod parsing_tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert!(parse_duration("soon").is_err());
        assert_eq!(ago(0, 7200), "2h ago");
    }
}

/// Whether to color what goes to stderr, decided once from `--color` and the environment.
static COLOR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color when stderr is a terminal and NO_COLOR is not set.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Decides, once, whether stderr gets colors.
pub fn set_color(choice: ColorChoice) {
    use std::io::IsTerminal;
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) && std::io::stderr().is_terminal()
        }
    };
    let _ = COLOR.set(color);
}

/// A message label (`error`, `warning`, `hint`, `note`) followed by `: `, colored like
/// cargo's when colors are on.
pub fn label(name: &str) -> String {
    if !COLOR.get().copied().unwrap_or(false) {
        return format!("{name}:");
    }
    let code = match name {
        "error" => "1;31",
        "warning" => "1;33",
        _ => "1;36",
    };
    format!("\x1b[{code}m{name}\x1b[0m:")
}

/// Writes a message to stderr, coloring its `hint:` lines' labels.
pub fn message(kind: &str, text: &str) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    eprintln!("{} {first}", label(kind));
    for line in lines {
        match line.strip_prefix("hint: ") {
            Some(hint) => eprintln!("{} {hint}", label("hint")),
            None => eprintln!("{line}"),
        }
    }
}

/// A progress bar on stderr for long operations: drawn only on a terminal, never with
/// `--json` or `--quiet`, and only once an operation has run for half a second (a fast
/// command should print nothing but its result).
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
    start: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
}

impl ProgressBar {
    /// A progress bar if `enabled` and stderr is a terminal; otherwise one that draws nothing.
    pub fn new(enabled: bool) -> ProgressBar {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::hidden();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} files") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        ProgressBar { bar, start: std::time::Instant::now(), shown: std::sync::atomic::AtomicBool::new(false) }
    }
}

impl cargo_store_ops::Progress for ProgressBar {
    fn start(&self, phase: &'static str, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(phase);
            bar.set_length(total);
            bar.set_position(0);
        }
    }

    fn advance(&self, count: u64) {
        let Some(bar) = &self.bar else { return };
        bar.inc(count);
        if self.start.elapsed() > std::time::Duration::from_millis(500)
            && !self.shown.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// An error's message and causes as this project prints them: each text once (a cause often
/// repeats its source's text), with the `hint:` lines taken out, deduplicated, to print last.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> (Vec<String>, Vec<String>) {
    let mut bodies: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    let mut cause = Some(error);
    while let Some(current) = cause {
        let hint = cargo_store_ops::hint_of(current).or_else(|| {
            current.downcast_ref::<cargo_store_integrations::Error>().and_then(cargo_store_integrations::Error::hint)
        });
        if let Some(hint) = hint
            && !hints.contains(&hint)
        {
            hints.push(hint);
        }
        let text = current.to_string();
        let mut lines = Vec::new();
        for line in text.lines() {
            match line.strip_prefix("hint: ") {
                Some(hint) if !hints.iter().any(|known| known == hint) => hints.push(hint.to_owned()),
                Some(_) => {}
                None => lines.push(line),
            }
        }
        let body = lines.join("\n");
        if !body.is_empty() && !bodies.iter().any(|known| known.contains(&body)) {
            bodies.push(body);
        }
        cause = current.source();
    }
    (bodies, hints)
}
