//! One module per command: arguments, the call into `cargo-store-ops` (or, for `timer` and
//! `hook`, `cargo-store-integrations`), printing.

pub mod checkout;
pub mod completions;
pub mod doctor;
pub mod exec;
pub mod gc;
pub mod hook;
pub mod ingest;
pub mod man;
pub mod pull;
pub mod push;
pub mod remote;
pub mod repair;
pub mod roots;
pub mod status;
pub mod sweep;
pub mod timer;
pub mod verify;

// `--json` prints one schema, whichever crate a report comes from.
const _: () = assert!(cargo_store_integrations::REPORT_VERSION == cargo_store_ops::REPORT_VERSION);
