//! Feeds arbitrary bytes to the keeper's raft log record decoder (what recovery reads from
//! each segment file, record after record). It must tell whole, incomplete and corrupt
//! records apart, never panic. The input is tried as it is and with its length and CRC made
//! right, so that the fuzzer reaches the entry payloads (transaction batches, memberships).
#![no_main]

use ferry_keeper::raft::entry_codec::{decode, encode, Decoded, RECORD_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fn walk(mut data: &[u8]) {
    while let Decoded::Entry(entry, size) = decode(data) {
        let mut again = Vec::new();
        encode(&entry, &mut again);
        assert!(matches!(decode(&again), Decoded::Entry(_, n) if n == again.len()));
        data = &data[size..];
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data);
    let mut fixed = vec![0u8; RECORD_HEADER_LEN];
    fixed.extend_from_slice(data);
    fixed[..4].copy_from_slice(&(data.len() as u32).to_be_bytes());
    fixed[4..8].copy_from_slice(&crc32c::crc32c(data).to_be_bytes());
    walk(&fixed);
});
