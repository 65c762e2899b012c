//! `cargo store timer`: the periodic garbage collection job. (Being written.)
