//! Integration tests: real keeper servers on loopback ports, driven by real clients.
// In tests an unwrap is an assertion: a failure should stop the test with its message.
#![allow(clippy::unwrap_used)]

mod ensemble;
mod operations;
mod support;
mod zookeeper_client;
