//! What the user can do about an error, read as data from the error types of the crates below.
//!
//! Each crate's error says what failed in its message and what to do in its `hint()`, so
//! that a printer puts the hint where it belongs (last, once) instead of finding it in the
//! text. Errors wrapped transparently by [`crate::Error`] are seen through it.

use std::error::Error as StdError;

/// The hint of `error` itself (not of its sources), if it is one of ours and has one.
pub fn hint_of(error: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(error) = error.downcast_ref::<crate::Error>() {
        return error.hint();
    }
    if let Some(error) = error.downcast_ref::<cargo_store_cas::Error>() {
        return error.hint();
    }
    if let Some(error) = error.downcast_ref::<cargo_store_fs::Error>() {
        return error.hint();
    }
    error.downcast_ref::<cargo_store_units::Error>().and_then(cargo_store_units::Error::hint)
}
