//! One module per command: arguments, the call into `cargo-store-ops`, printing.

pub mod checkout;
pub mod gc;
pub mod ingest;
pub mod repair;
pub mod roots;
pub mod status;
pub mod timer;
pub mod verify;
