//! Property tests: every decoder survives arbitrary bytes, and records round-trip.

use ferry_jute::*;
use proptest::prelude::*;

fn arb_stat() -> impl Strategy<Value = Stat> {
    (any::<[i64; 5]>(), any::<[i32; 5]>(), any::<i64>()).prop_map(|(l, i, pzxid)| Stat {
        czxid: l[0],
        mzxid: l[1],
        ctime: l[2],
        mtime: l[3],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        ephemeral_owner: l[4],
        data_length: i[3],
        num_children: i[4],
        pzxid,
    })
}

fn arb_acl() -> impl Strategy<Value = Acl> {
    (any::<i32>(), ".{0,12}", ".{0,24}").prop_map(|(perms, scheme, id)| Acl {
        perms,
        id: Id { scheme, id },
    })
}

fn arb_data() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from))
}

fn arb_create() -> impl Strategy<Value = CreateRequest> {
    (
        ".{0,32}",
        arb_data(),
        proptest::collection::vec(arb_acl(), 0..3),
        any::<i32>(),
    )
        .prop_map(|(path, data, acl, flags)| CreateRequest {
            path,
            data,
            acl,
            flags,
        })
}

fn arb_multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        arb_create().prop_map(|request| MultiOp::Create {
            op: OpCode::Create,
            request
        }),
        (".{0,16}", any::<i32>())
            .prop_map(|(path, version)| MultiOp::Delete(PathAndVersion { path, version })),
        (".{0,16}", arb_data(), any::<i32>()).prop_map(|(path, data, version)| MultiOp::SetData(
            SetDataRequest {
                path,
                data,
                version
            }
        )),
        (".{0,16}", any::<i32>())
            .prop_map(|(path, version)| MultiOp::Check(PathAndVersion { path, version })),
    ]
}

proptest! {
    #[test]
    fn any_request_bytes_decode_without_panic(op in -12i32..110, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(op) = OpCode::try_from(op) {
            let _ = Request::decode(op, &mut Reader::new(&bytes));
        }
        let _ = ConnectRequest::from_bytes(&bytes);
        let _ = MultiResponse::from_bytes(&bytes);
        let _ = body_len(&bytes, 1 << 20);
    }

    #[test]
    fn stat_round_trips(stat in arb_stat()) {
        prop_assert_eq!(Stat::from_bytes(&stat.to_bytes()).unwrap(), stat);
    }

    #[test]
    fn create_round_trips(create in arb_create()) {
        let request = Request::Create(create);
        let mut body = Vec::new();
        request.encode(&mut body);
        prop_assert_eq!(Request::decode(OpCode::Create, &mut Reader::new(&body)).unwrap(), request);
    }

    #[test]
    fn multi_round_trips(ops in proptest::collection::vec(arb_multi_op(), 0..5)) {
        let multi = MultiRequest { ops };
        prop_assert_eq!(MultiRequest::from_bytes(&multi.to_bytes()).unwrap(), multi);
    }

    #[test]
    fn get_data_response_round_trips(data in arb_data(), stat in arb_stat()) {
        let response = GetDataResponse { data, stat };
        prop_assert_eq!(GetDataResponse::from_bytes(&response.to_bytes()).unwrap(), response);
    }
}

#[test]
fn multi_response_with_errors_round_trips() {
    let response = MultiResponse {
        results: vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::NoNode),
            MultiResult::Error(ErrorCode::RuntimeInconsistency),
        ],
    };
    assert_eq!(
        MultiResponse::from_bytes(&response.to_bytes()).unwrap(),
        response
    );
}
