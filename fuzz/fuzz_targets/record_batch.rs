//! Feeds arbitrary bytes to what the broker runs on a produce request's records and on a log
//! segment's contents: the record set walk (headers, CRC), the leader's record validation
//! (every record, decompressing all four codecs), and the batch and record iterators a fetch
//! and the cleaner use. None may panic. The input is tried twice: as it is, and with its
//! length and CRC fields made right, so that the fuzzer reaches the records behind the CRC.
#![no_main]

use ferry_log::{
    decompressed_records, validate_batch_records, validate_record_set, BatchIter, RecordIter,
    RecordRules,
};
use libfuzzer_sys::fuzz_target;

fn exercise(data: &[u8]) {
    if let Ok(headers) = validate_record_set(data, 1 << 20) {
        for header in &headers {
            let at = header.position as usize;
            let batch = &data[at..at + header.total_size()];
            let rules = RecordRules {
                require_keys: header.attributes & 0x40 != 0,
                max_decompressed: 1 << 20,
                ..RecordRules::default()
            };
            let _ = validate_batch_records(batch, header, &rules);
        }
    }
    for (header, batch) in BatchIter::new(data) {
        if let Ok(Some(records)) = decompressed_records(&header, batch) {
            for record in RecordIter::new(&records, header.records_count) {
                let _ = record;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 61 {
        let mut fixed = data.to_vec();
        let length = (fixed.len() - 12) as i32;
        fixed[8..12].copy_from_slice(&length.to_be_bytes());
        fixed[16] = 2; // magic
        let crc = crc32c::crc32c(&fixed[21..]);
        fixed[17..21].copy_from_slice(&crc.to_be_bytes());
        exercise(&fixed);
    }
});
