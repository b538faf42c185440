//! Feeds arbitrary bytes to the broker's request decoder and to every
//! response decoder. None may panic; a request that decodes must encode
//! to a frame that decodes to the same value.
#![no_main]

use bytes::Bytes;
use ferry_kafka_protocol::{decode_request, decode_response, encode_request, ApiKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, body)) = decode_request(data) {
        let frame = encode_request(&header, &body).expect("a decoded request encodes");
        let again = decode_request(&frame).expect("re-decodes");
        assert_eq!(again, (header, body));
    }
    // The first two bytes pick a response type and version for the rest.
    if let [key, version, rest @ ..] = data {
        let api = ApiKey::ALL[usize::from(*key) % ApiKey::ALL.len()];
        let span = api.max_version() - api.min_version() + 1;
        let version = api.min_version() + i16::from(*version) % span;
        let _ = decode_response(api, version, Bytes::copy_from_slice(rest));
    }
});
