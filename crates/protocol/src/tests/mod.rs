//! Crate-level tests.

mod properties;
mod vectors;
