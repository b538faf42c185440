//! Who may read and who may change: HTTP Basic credentials checked against the one configured
//! account. The page sends them itself (it keeps them for the browser tab), so a refusal carries
//! no `WWW-Authenticate` challenge and the browser shows no dialog of its own.

use base64::Engine;
use ferry_net::http::Request;

use crate::api::ApiError;
use crate::settings::{ConsoleSettings, Credentials};

/// What the request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Change,
}

/// Whether the request carries the configured credentials (false when none are configured).
pub fn authenticated(settings: &ConsoleSettings, request: &Request) -> bool {
    let Some(expected) = &settings.credentials else {
        return false;
    };
    basic_credentials(request).is_some_and(|given| constant_time_eq(&given, expected))
}

/// Refuses the request unless `settings` allow `access` to it.
pub fn check(
    settings: &ConsoleSettings,
    request: &Request,
    access: Access,
) -> Result<(), ApiError> {
    if settings.credentials.is_some() && !authenticated(settings, request) {
        return Err(ApiError::unauthorized(
            "log in: this console needs the user and password of ferry.console.user",
        ));
    }
    if access == Access::Change {
        if settings.credentials.is_none() {
            return Err(ApiError::forbidden(
                "the console is read-only: set ferry.console.user and ferry.console.password to allow changes",
            ));
        }
        if settings.read_only {
            return Err(ApiError::forbidden(
                "the console is read-only (ferry.console.read.only=true)",
            ));
        }
    }
    Ok(())
}

fn basic_credentials(request: &Request) -> Option<Credentials> {
    let header = request.header("authorization")?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials {
        user: user.to_string(),
        password: password.to_string(),
    })
}

/// Compares without stopping at the first difference, so the time taken tells nothing about
/// how much of a guess was right.
fn constant_time_eq(given: &Credentials, expected: &Credentials) -> bool {
    let same = |a: &str, b: &str| {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let diff = (0..a.len().max(b.len())).fold(a.len() ^ b.len(), |acc, i| {
            acc | usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0))
        });
        diff == 0
    };
    // Both halves are always compared.
    let user = same(&given.user, &expected.user);
    let password = same(&given.password, &expected.password);
    user & password
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(read_only: bool) -> ConsoleSettings {
        ConsoleSettings {
            enabled: true,
            credentials: Some(Credentials {
                user: "admin".into(),
                password: "secret".into(),
            }),
            read_only,
        }
    }

    fn request(auth: Option<&str>) -> Request {
        let mut request = Request::default();
        if let Some(user_password) = auth {
            let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
            request
                .headers
                .push(("authorization".into(), format!("Basic {encoded}")));
        }
        request
    }

    #[test]
    fn configured_credentials_are_required_for_everything() {
        let s = settings(false);
        assert_eq!(
            check(&s, &request(None), Access::Read).unwrap_err().status,
            "401 Unauthorized"
        );
        let wrong = request(Some("admin:guess"));
        assert_eq!(
            check(&s, &wrong, Access::Read).unwrap_err().status,
            "401 Unauthorized"
        );
        let right = request(Some("admin:secret"));
        assert!(check(&s, &right, Access::Read).is_ok());
        assert!(check(&s, &right, Access::Change).is_ok());
    }

    #[test]
    fn read_only_refuses_changes_to_the_logged_in_user() {
        let right = request(Some("admin:secret"));
        let refused = check(&settings(true), &right, Access::Change).unwrap_err();
        assert_eq!(refused.status, "403 Forbidden");
        assert!(check(&settings(true), &right, Access::Read).is_ok());
    }

    #[test]
    fn without_credentials_reads_are_open_and_changes_refused() {
        let open = ConsoleSettings::default();
        assert!(check(&open, &request(None), Access::Read).is_ok());
        let refused = check(&open, &request(Some("admin:secret")), Access::Change).unwrap_err();
        assert_eq!(refused.status, "403 Forbidden");
        assert!(!authenticated(&open, &request(Some("admin:secret"))));
    }

    #[test]
    fn malformed_headers_are_not_credentials() {
        let s = settings(false);
        for header in ["Basic", "Basic !!!", "Bearer abc", "Basic YWRtaW4="] {
            let mut r = Request::default();
            r.headers.push(("authorization".into(), header.into()));
            assert!(!authenticated(&s, &r), "{header}");
        }
    }
}
