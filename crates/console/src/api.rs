//! What every API answer shares: JSON bodies, errors with an HTTP status and the failing
//! system's own error name, and the query string.

use ferry_net::http::Response;
use serde_json::{json, Value};

/// An API failure: the HTTP status, the ZooKeeper or Kafka error name when there is one, and a
/// message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: &'static str,
    pub code: Option<String>,
    pub message: String,
}

pub type ApiResult<T = Value> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: "400 Bad Request",
            code: None,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            status: "401 Unauthorized",
            code: None,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError {
            status: "403 Forbidden",
            code: None,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: "404 Not Found",
            code: None,
            message: message.into(),
        }
    }

    /// The console could not reach, or was refused by, the system behind it.
    pub fn upstream(message: impl Into<String>) -> Self {
        ApiError {
            status: "502 Bad Gateway",
            code: None,
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(code) = self.code {
            body["code"] = code.into();
        }
        Response {
            status: self.status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
        }
    }
}

impl From<ferry_zkclient::Error> for ApiError {
    fn from(error: ferry_zkclient::Error) -> Self {
        use ferry_zkclient::ErrorCode;
        let code = error.code();
        let status = match code {
            ErrorCode::NoNode => "404 Not Found",
            ErrorCode::NoAuth | ErrorCode::AuthFailed => "403 Forbidden",
            ErrorCode::NodeExists | ErrorCode::NotEmpty | ErrorCode::BadVersion => "409 Conflict",
            ErrorCode::BadArguments | ErrorCode::InvalidAcl => "400 Bad Request",
            _ => "502 Bad Gateway",
        };
        ApiError {
            status,
            code: Some(ferry_zkclient::java_code_name(code).to_string()),
            message: error.to_string(),
        }
    }
}

impl From<ferry_kafka_client::ClientError> for ApiError {
    fn from(error: ferry_kafka_client::ClientError) -> Self {
        use ferry_kafka_client::ClientError;
        let message = error.to_string();
        match error {
            ClientError::Kafka { code, .. } => {
                let name = ferry_kafka_protocol::ErrorCode::from_code(code)
                    .map_or_else(|| format!("ERROR_{code}"), |e| e.name().to_string());
                // Errors about what was asked are the asker's; the rest are the cluster's.
                let status = match name.as_str() {
                    "UNKNOWN_TOPIC_OR_PARTITION" | "GROUP_ID_NOT_FOUND" => "404 Not Found",
                    "TOPIC_ALREADY_EXISTS" => "409 Conflict",
                    n if n.starts_with("INVALID_") || n == "POLICY_VIOLATION" => "400 Bad Request",
                    _ => "502 Bad Gateway",
                };
                ApiError {
                    status,
                    code: Some(name),
                    message,
                }
            }
            ClientError::Invalid(_) => ApiError::bad_request(message),
            _ => ApiError::upstream(message),
        }
    }
}

pub fn json_response(value: &Value) -> Response {
    Response::ok("application/json", value.to_string())
}

/// The decoded value of `name` in a query string (`a=1&b=%2Fx`).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// A required query parameter.
pub fn required_param(query: &str, name: &str) -> ApiResult<String> {
    query_param(query, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("the query needs {name}=")))
}

/// An optional numeric query parameter.
pub fn number_param<T: std::str::FromStr>(query: &str, name: &str) -> ApiResult<Option<T>> {
    match query_param(query, name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name}={v} is not a number"))),
    }
}

/// The request body as a JSON object (an empty body is an empty object).
pub fn json_body(body: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
    }
}

/// `application/x-www-form-urlencoded` decoding: `%XX` and `+` for space. Invalid escapes are
/// kept as written.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_parameters() {
        let query = "path=%2Fkafka%2Fbrokers&x=a+b&empty=&bad=%zz%&u=%C3%A9%E9";
        assert_eq!(
            query_param(query, "path").as_deref(),
            Some("/kafka/brokers")
        );
        assert_eq!(query_param(query, "x").as_deref(), Some("a b"));
        assert_eq!(query_param(query, "empty").as_deref(), Some(""));
        assert_eq!(query_param(query, "bad").as_deref(), Some("%zz%"));
        assert_eq!(query_param(query, "u").as_deref(), Some("\u{e9}\u{fffd}"));
        assert_eq!(query_param(query, "missing"), None);
        assert!(required_param(query, "empty").is_err());
        assert_eq!(number_param::<i64>("n=42", "n"), Ok(Some(42)));
        assert!(number_param::<i64>("n=x", "n").is_err());
    }

    #[test]
    fn errors_carry_status_code_and_message() {
        let response = ApiError::forbidden("no")
            .with_code("NoAuth")
            .into_response();
        assert_eq!(response.status, "403 Forbidden");
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body, json!({"error": "no", "code": "NoAuth"}));
    }

    #[test]
    fn reads_json_bodies() {
        assert!(json_body(b"").unwrap().is_empty());
        assert_eq!(json_body(br#"{"a":1}"#).unwrap()["a"], 1);
        assert!(json_body(b"[1]").is_err());
        assert!(json_body(b"{").is_err());
    }
}
