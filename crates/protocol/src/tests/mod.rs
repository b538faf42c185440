//! Crate-level tests.

mod inter_broker;
mod properties;
mod vectors;
