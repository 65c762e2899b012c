//! The store's clock, which tests can set.
//!
//! Times in the index are whole seconds since the Unix epoch. Tests of age-based decisions set
//! `CARGO_STORE_TEST_NOW` (seconds) instead of sleeping, as cargo's global cache tracker
//! overrides its clock in tests.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, or `CARGO_STORE_TEST_NOW` when it is set.
pub fn now() -> i64 {
    if let Some(fixed) = std::env::var("CARGO_STORE_TEST_NOW").ok().and_then(|value| value.parse().ok()) {
        return fixed;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
