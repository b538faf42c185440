//! Access control: ZooKeeper's schemes `world`, `auth`, `digest` and `ip`, the super user, and
//! the rules that turn a requested ACL into a stored one.

use base64::Engine;
use ferry_jute::{perms, Acl, ErrorCode, Id};
use sha1::{Digest, Sha1};

/// The identity a super user holds; it passes every ACL check.
pub const SUPER_SCHEME: &str = "super";

pub fn world_anyone() -> Id {
    Id {
        scheme: "world".into(),
        id: "anyone".into(),
    }
}

/// `OPEN_ACL_UNSAFE`: everyone may do everything.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: world_anyone(),
    }]
}

/// `READ_ACL_UNSAFE`, the ACL of `/zookeeper/config`.
pub fn read_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::READ,
        id: world_anyone(),
    }]
}

/// The digest id for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Whether identities `auth` may do `perm` on a node with `acl` (ZooKeeper's `checkACL`).
pub fn allows(acl: &[Acl], perm: i32, auth: &[Id]) -> bool {
    if acl.is_empty() || auth.iter().any(|id| id.scheme == SUPER_SCHEME) {
        return true;
    }
    acl.iter()
        .filter(|entry| entry.perms & perm != 0)
        .any(|entry| {
            let wanted = &entry.id;
            if wanted.scheme == "world" && wanted.id == "anyone" {
                return true;
            }
            auth.iter()
                .filter(|id| id.scheme == wanted.scheme)
                .any(|id| matches(&wanted.scheme, &id.id, &wanted.id))
        })
}

/// Whether an authenticated id satisfies an ACL id of the same scheme.
fn matches(scheme: &str, authenticated: &str, acl_id: &str) -> bool {
    match scheme {
        "ip" => ip_matches(authenticated, acl_id),
        _ => authenticated == acl_id,
    }
}

/// Turns a requested ACL into the stored one (ZooKeeper's `fixupACL`): `auth` entries become
/// the session's authenticated ids, duplicates go, and anything malformed is INVALIDACL.
pub fn fixup(requested: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if requested.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut stored: Vec<Acl> = Vec::with_capacity(requested.len());
    let mut push = |acl: Acl| {
        if !stored.contains(&acl) {
            stored.push(acl);
        }
    };
    for acl in requested {
        match acl.id.scheme.as_str() {
            "world" if acl.id.id == "anyone" => push(acl.clone()),
            "auth" => {
                let mut granted = false;
                for id in auth.iter().filter(|id| is_authenticated_scheme(&id.scheme)) {
                    granted = true;
                    push(Acl {
                        perms: acl.perms,
                        id: id.clone(),
                    });
                }
                if !granted {
                    return Err(ErrorCode::InvalidAcl);
                }
            }
            "digest" if acl.id.id.split(':').count() == 2 => push(acl.clone()),
            "ip" if parse_ip_pattern(&acl.id.id).is_some() => push(acl.clone()),
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(stored)
}

/// Schemes whose ids an `auth` ACL entry expands to. `ip` is not one of them in ZooKeeper:
/// its provider says `isAuthenticated() == false`.
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest"
}

/// An `ip` ACL id: an address with an optional prefix length (`10.0.0.0/8`).
fn parse_ip_pattern(pattern: &str) -> Option<(std::net::IpAddr, u32)> {
    let (addr, bits) = match pattern.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u32>().ok()?)),
        None => (pattern, None),
    };
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr, bits))
}

fn ip_matches(client: &str, pattern: &str) -> bool {
    use std::net::IpAddr;
    let (Some((network, bits)), Ok(client)) = (parse_ip_pattern(pattern), client.parse::<IpAddr>())
    else {
        return false;
    };
    match (network, client) {
        (IpAddr::V4(n), IpAddr::V4(c)) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(c) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(c)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(c) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(digest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn world_digest_ip_and_super_checks() {
        let acl = vec![
            Acl {
                perms: perms::READ,
                id: world_anyone(),
            },
            Acl {
                perms: perms::WRITE,
                id: id("digest", &digest("bob:pw")),
            },
            Acl {
                perms: perms::DELETE,
                id: id("ip", "10.1.0.0/16"),
            },
        ];
        assert!(allows(&acl, perms::READ, &[]));
        assert!(!allows(&acl, perms::WRITE, &[]));
        assert!(allows(
            &acl,
            perms::WRITE,
            &[id("digest", &digest("bob:pw"))]
        ));
        assert!(allows(&acl, perms::DELETE, &[id("ip", "10.1.2.3")]));
        assert!(!allows(&acl, perms::DELETE, &[id("ip", "10.2.2.3")]));
        assert!(allows(&acl, perms::ADMIN, &[id(SUPER_SCHEME, "")]));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad_entries() {
        let bob = id("digest", &digest("bob:pw"));
        let auth_acl = vec![Acl {
            perms: perms::ALL,
            id: id("auth", ""),
        }];
        assert_eq!(fixup(&auth_acl, &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup(&auth_acl, &[id("ip", "127.0.0.1"), bob.clone()]).unwrap(),
            vec![Acl {
                perms: perms::ALL,
                id: bob
            }]
        );
        assert_eq!(fixup(&[], &[]), Err(ErrorCode::InvalidAcl));
        let bad = vec![Acl {
            perms: perms::ALL,
            id: id("nope", "x"),
        }];
        assert_eq!(fixup(&bad, &[]), Err(ErrorCode::InvalidAcl));
        let bad_ip = vec![Acl {
            perms: perms::ALL,
            id: id("ip", "10.0.0.0/99"),
        }];
        assert_eq!(fixup(&bad_ip, &[]), Err(ErrorCode::InvalidAcl));
    }
}
