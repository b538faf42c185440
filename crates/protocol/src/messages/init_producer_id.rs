//! InitProducerId (key 22), versions 0-4, flexible from 2.

use crate::message::message;

message! {
    /// Allocates a producer id (idempotent or transactional producers).
    pub struct InitProducerIdRequest {
        transactional_id: Option<String> [nullable 0..],
        transaction_timeout_ms: i32,
        producer_id: i64 [versions 3..] = -1,
        producer_epoch: i16 [versions 3..] = -1,
    }

    /// The allocated producer id and epoch.
    pub struct InitProducerIdResponse {
        throttle_time_ms: i32,
        error_code: i16,
        producer_id: i64 = -1,
        producer_epoch: i16,
    }
}
