//! SaslHandshake (key 17), versions 0-1, not flexible.

use crate::message::message;

message! {
    /// Asks to authenticate with a SASL mechanism.
    pub struct SaslHandshakeRequest {
        mechanism: String,
    }

    /// The mechanisms the broker enables (none yet: answer
    /// UNSUPPORTED_SASL_MECHANISM with an empty list).
    pub struct SaslHandshakeResponse {
        error_code: i16,
        mechanisms: Vec<String>,
    }
}
