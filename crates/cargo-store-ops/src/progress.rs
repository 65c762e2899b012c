//! Progress of long operations, reported to whoever shows it (a progress bar in the binary).
//!
//! The operations only count; deciding whether to draw anything (a terminal, not `--json`,
//! not under half a second) is the binary's business.

/// Receives the progress of an operation. Called from many threads at once.
pub trait Progress: Sync {
    /// A phase of `total` steps begins (hashing files, placing files...).
    fn start(&self, phase: &'static str, total: u64);
    /// `count` more steps of the current phase are done.
    fn advance(&self, count: u64);
    /// The operation is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &'static str, _total: u64) {}
    fn advance(&self, _count: u64) {}
    fn finish(&self) {}
}
