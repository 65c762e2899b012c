//! Integration tests of cargo-store, one test binary with a module per concern. They build a
//! small offline Cargo project ([`fixture`]) with the real `cargo`, run the real `cargo-store`
//! binary against a temporary store, and assert what a user would notice: which units cargo
//! reports `Fresh`, what the binary prints, what the `--json` reports say and which files change.

mod bad_input;
mod checkout;
mod cli;
mod crash;
mod doctor;
mod eligibility;
mod end_to_end;
mod exec;
mod fixed_cost;
mod fixture;
mod gc;
mod help;
mod hook;
mod human;
mod lockfile;
mod many_projects;
mod remote;
mod reports;
mod reuse;
mod s3;
mod safety;
mod schema;
mod snapshot;
mod store_location;
mod stress;
mod support;
mod sweep;
mod sync;
mod timer;
mod verify;
