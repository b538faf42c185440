//! Feeds arbitrary bytes to the keeper's snapshot decoder (what a restarting keeper reads from
//! dataDir, and what a follower will install from its leader). It must refuse, never panic.
//! The input is tried as it is and with magic and trailing CRC made right, so that the
//! fuzzer gets past the checksum into the sessions, ACLs and nodes.
#![no_main]

use ferry_keeper::raft::snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = snapshot::decode(data, true);
    let mut fixed = b"FRYSNAP1".to_vec();
    fixed.extend_from_slice(data);
    let crc = crc32c::crc32c(&fixed);
    fixed.extend_from_slice(&crc.to_be_bytes());
    if let Ok(state) = snapshot::decode(&fixed, true) {
        // What decodes must encode to a snapshot that decodes again.
        let again = snapshot::encode(&state);
        snapshot::decode(&again, true).expect("a re-encoded snapshot decodes");
    }
});
