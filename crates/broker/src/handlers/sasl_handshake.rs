//! SaslHandshake: this broker enables no SASL mechanism (its only listener is PLAINTEXT).
//!
//! Every mechanism is answered UNSUPPORTED_SASL_MECHANISM with the (empty) list of enabled
//! mechanisms, so a client configured for SASL fails at once with a message naming the cause
//! (librdkafka: "Unsupported SASL mechanism ... broker's supported mechanisms: "), instead of
//! hanging or misreading the next frame. The connection stays open and usable, which is what
//! a Kafka broker does with a SaslHandshake on a listener without SASL (`KafkaApis` answers it
//! and keeps the connection; Kafka picks ILLEGAL_SASL_STATE there, which tells a client less
//! than "no mechanism is enabled").

use ferry_kafka_protocol::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use ferry_kafka_protocol::ErrorCode;

pub fn handle(request: SaslHandshakeRequest) -> SaslHandshakeResponse {
    tracing::debug!(mechanism = %request.mechanism, "SASL handshake refused: no mechanism enabled");
    SaslHandshakeResponse {
        error_code: ErrorCode::UnsupportedSaslMechanism.code(),
        mechanisms: Vec::new(),
        ..Default::default()
    }
}
