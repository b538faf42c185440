//! Znode path rules, as ZooKeeper's `PathUtils.validatePath` states them.

/// Why a path is not a valid znode path. The server answers such requests with BADARGUMENTS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPath(pub &'static str);

/// Checks `path`; a sequential create may end in `/` because the counter is appended.
pub fn validate(path: &str, sequential: bool) -> Result<(), InvalidPath> {
    if sequential {
        return validate(&format!("{path}1"), false);
    }
    if path.is_empty() {
        return Err(InvalidPath("Path length must be > 0"));
    }
    if !path.starts_with('/') {
        return Err(InvalidPath("Path must start with / character"));
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(InvalidPath("Path must not end with / character"));
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err(InvalidPath("empty node name specified")),
            "." | ".." => return Err(InvalidPath("relative paths not allowed")),
            _ => {}
        }
    }
    if path.chars().any(is_forbidden_char) {
        return Err(InvalidPath("invalid character"));
    }
    Ok(())
}

/// The characters ZooKeeper refuses in node names: NUL, other control characters, and a few
/// Unicode ranges (surrogates cannot occur in a Rust `str`).
fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{f000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// The parent of a non-root path ("/a/b" -> "/a", "/a" -> "/").
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a path ("/a/b" -> "b").
pub fn name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// Joins a parent path and a child name.
pub fn child(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Whether `path` is `ancestor` itself or lies below it.
pub fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_zookeeper() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/zookeeper"] {
            assert_eq!(validate(ok, false), Ok(()), "{ok}");
        }
        for bad in ["", "a", "/a/", "/a//b", "/a/.", "/a/../b", "/a\u{0}b"] {
            assert!(validate(bad, false).is_err(), "{bad:?}");
        }
        assert_eq!(validate("/a/", true), Ok(()));
        assert_eq!(validate("/a/lock-", true), Ok(()));
    }

    #[test]
    fn parent_name_and_within() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(name("/a/b"), "b");
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert!(is_within("/a/b", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/ab", "/"));
    }
}
