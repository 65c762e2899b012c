//! One module per command: arguments, the call into `cargo-store-ops`, printing.

pub mod checkout;
pub mod completions;
pub mod doctor;
pub mod exec;
pub mod gc;
pub mod hook;
pub mod ingest;
pub mod man;
pub mod repair;
pub mod roots;
pub mod status;
pub mod timer;
pub mod verify;
