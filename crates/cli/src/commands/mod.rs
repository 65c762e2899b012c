//! One module per command: arguments, the call into `cargo-store-ops`, printing.

pub mod checkout;
pub mod ingest;
pub mod status;
pub mod timer;
