//! `timer`: install, remove and inspect the periodic `cargo store gc --auto` job.
//! (Being written.)
