//! Pause points for tests of concurrency.
//!
//! With `CARGO_STORE_TEST_PAUSE=<point>=<file>` in the environment, a command that reaches the
//! named point creates `<file>` and waits (at most two minutes) until the test deletes it. That
//! lets a test hold gc or ingest at a chosen moment, with its lock taken, and run another
//! command against the store meanwhile. Without the variable a pause point costs one lookup.

use std::path::Path;
use std::time::{Duration, Instant};

/// Waits at `point` if the environment asks for it.
pub(crate) fn pause(point: &str) {
    let Ok(value) = std::env::var("CARGO_STORE_TEST_PAUSE") else {
        return;
    };
    let Some((name, file)) = value.split_once('=') else {
        return;
    };
    if name != point {
        return;
    }
    let file = Path::new(file);
    if std::fs::write(file, point).is_err() {
        return;
    }
    let start = Instant::now();
    while file.exists() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(10));
    }
}
