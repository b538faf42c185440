//! Integration tests: real keeper servers on loopback ports, driven by real clients.

mod support;
mod zookeeper_client;
