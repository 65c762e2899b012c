//! Reading rustc's makefile-style dep-info (`.d`) files.
//!
//! Only the source files of the first rule are needed: they tell which package a unit was
//! compiled from, by the package root that contains them.

use std::path::PathBuf;

/// The prerequisites of the first rule of a dep-info file, unescaped (`\ ` is a space).
pub(crate) fn first_rule_sources(text: &str) -> Vec<PathBuf> {
    let Some(line) = text.lines().find(|line| !line.trim().is_empty() && !line.starts_with('#')) else {
        return Vec::new();
    };
    // The target ends at the first `: ` that is not escaped.
    let Some(colon) = find_unescaped_colon(line) else {
        return Vec::new();
    };
    let mut sources = Vec::new();
    let mut current = String::new();
    let mut characters = line[colon + 1..].chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if characters.peek() == Some(&' ') => {
                current.push(' ');
                characters.next();
            }
            ' ' => {
                if !current.is_empty() {
                    sources.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        sources.push(PathBuf::from(current));
    }
    sources
}

fn find_unescaped_colon(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&index| {
        bytes[index] == b':'
            && bytes.get(index + 1).is_none_or(|&next| next == b' ')
            && (index == 0 || bytes[index - 1] != b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_rule_with_escaped_spaces() {
        let text = "/t/deps/libfoo-1.rlib: /src/my\\ crate/src/lib.rs /src/my\\ crate/src/a.rs\n\n/src/x.rs:\n";
        assert_eq!(
            first_rule_sources(text),
            vec![PathBuf::from("/src/my crate/src/lib.rs"), PathBuf::from("/src/my crate/src/a.rs")]
        );
        assert!(first_rule_sources("").is_empty());
    }

    #[test]
    fn windows_drive_letters_are_not_rule_separators() {
        let text = "C:\\t\\deps\\foo.d: C:\\src\\lib.rs\n";
        assert_eq!(first_rule_sources(text), vec![PathBuf::from("C:\\src\\lib.rs")]);
    }
}
