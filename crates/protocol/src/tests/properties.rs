//! Round-trip properties over every message at every supported version,
//! and no-panic properties for the frame decoder.

use proptest::prelude::*;

use crate::body::{RequestBody, ResponseBody};
use crate::primitives::Reader;
use crate::testing::Gen;
use crate::*;

/// Encodes `body` at `v`; if that works, decoding must consume every byte
/// and re-encoding must give the same bytes (a fixed point). Returns
/// whether the sample was representable at `v`.
fn check_fixed_point<B: PartialEq + std::fmt::Debug>(
    body: &B,
    v: i16,
    encode: impl Fn(&B, &mut Out) -> Result<()>,
    decode: impl Fn(&mut Reader) -> Result<B>,
) -> bool {
    let mut first = Out::contiguous();
    if encode(body, &mut first).is_err() {
        return false;
    }
    let first = first.into_contiguous();
    let mut r = Reader::new(first.clone().freeze());
    let decoded = decode(&mut r).unwrap_or_else(|e| panic!("{body:?} at v{v}: {e}"));
    assert_eq!(r.remaining(), 0, "{body:?} at v{v}: trailing bytes");
    let mut second = Out::contiguous();
    encode(&decoded, &mut second).unwrap();
    let second = second.into_contiguous();
    assert_eq!(first, second, "{body:?} at v{v}");
    let again = decode(&mut Reader::new(second.freeze())).unwrap();
    assert_eq!(again, decoded);
    true
}

/// Runs the fixed-point check for one seed over every API and version;
/// returns (api, version) pairs whose request and response both encoded.
fn round_trip_all(seed: u64) -> Vec<(ApiKey, i16, bool, bool)> {
    let mut g = Gen::new(seed);
    let mut out = Vec::new();
    for &api in ApiKey::ALL {
        for v in api.min_version()..=api.max_version() {
            let req = RequestBody::sample(api, &mut g);
            let req_ok = check_fixed_point(
                &req,
                v,
                |b, buf| b.encode(v, buf),
                |r| RequestBody::decode(api, r, v),
            );
            let resp = ResponseBody::sample(api, &mut g);
            let resp_ok = check_fixed_point(
                &resp,
                v,
                |b, buf| b.encode(v, buf),
                |r| ResponseBody::decode(api, r, v),
            );
            out.push((api, v, req_ok, resp_ok));
        }
    }
    out
}

#[test]
fn every_message_at_every_version_round_trips_somewhere() {
    let mut req_seen = std::collections::HashSet::new();
    let mut resp_seen = std::collections::HashSet::new();
    for seed in 1..400 {
        for (api, v, req, resp) in round_trip_all(seed) {
            if req {
                req_seen.insert((api, v));
            }
            if resp {
                resp_seen.insert((api, v));
            }
        }
    }
    for &api in ApiKey::ALL {
        for v in api.min_version()..=api.max_version() {
            assert!(
                req_seen.contains(&(api, v)),
                "no {api:?} v{v} request encoded"
            );
            assert!(
                resp_seen.contains(&(api, v)),
                "no {api:?} v{v} response encoded"
            );
        }
    }
}

/// Whatever decodes must encode, and decode again to the same value.
fn assert_redecodes(header: &RequestHeader, body: &RequestBody) {
    let frame = encode_request(header, body).expect("a decoded request encodes");
    let (h2, b2) = decode_request(&frame).expect("re-decodes");
    assert_eq!(&h2, header);
    assert_eq!(&b2, body);
}

proptest! {
    #[test]
    fn round_trip_property(seed in any::<u64>()) {
        round_trip_all(seed);
    }

    #[test]
    fn decode_request_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok((header, body)) = decode_request(&bytes) {
            assert_redecodes(&header, &body);
        }
    }

    #[test]
    fn decode_response_never_panics(key: u8, version: u8, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let api = ApiKey::ALL[usize::from(key) % ApiKey::ALL.len()];
        let span = api.max_version() - api.min_version() + 1;
        let version = api.min_version() + i16::from(version) % span;
        let _ = decode_response(api, version, bytes::Bytes::from(bytes));
    }

    #[test]
    fn decode_mutated_frames_never_panics(seed in any::<u64>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
        let mut g = Gen::new(seed);
        let api = ApiKey::ALL[(g.next() as usize) % ApiKey::ALL.len()];
        let v = api.max_version() - (g.next() % 2) as i16;
        let v = v.max(api.min_version());
        let header = RequestHeader { api_version: v, correlation_id: 9, client_id: Some("c".into()), ..Default::default() };
        if let Ok(frame) = encode_request(&header, &RequestBody::sample(api, &mut g)) {
            let mut frame = frame.to_vec();
            for (at, byte) in flips {
                if !frame.is_empty() {
                    let i = at % frame.len();
                    frame[i] ^= byte;
                }
            }
            frame.truncate(cut % (frame.len() + 1));
            if let Ok((header, body)) = decode_request(&frame) {
                assert_redecodes(&header, &body);
            }
        }
    }
}
