//! Feeds arbitrary bytes to every decoder a server runs on client input: the handshake, the
//! request header and each request body, and multi responses. None may panic; whatever
//! decodes must encode back to bytes that decode to the same value.
#![no_main]

use ferry_jute::{ConnectRequest, MultiResponse, OpCode, Reader, Record, Request, RequestHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferry_jute::body_len(data, 1 << 20);
    let _ = ConnectRequest::from_bytes(data);
    let _ = MultiResponse::from_bytes(data);
    let mut reader = Reader::new(data);
    let Ok(header) = RequestHeader::decode(&mut reader) else {
        return;
    };
    let Ok(op) = OpCode::try_from(header.op) else {
        return;
    };
    if let Ok(request) = Request::decode(op, &mut reader) {
        let mut body = Vec::new();
        request.encode(&mut body);
        let again = Request::decode(op, &mut Reader::new(&body)).expect("re-decodes");
        assert_eq!(again, request);
    }
});
