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
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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
    }
}
