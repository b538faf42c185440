//! Znode paths on the client side: validation by the rules of ZooKeeper's `PathUtils` (so a bad
//! path fails before it costs a round trip, with Java's message) and the chroot, which is
//! prepended to every path sent and stripped from every path received.

use crate::error::Error;

/// Checks `path` as `PathUtils.validatePath` does. A sequential node's path is checked with a
/// digit appended (so it may end in `/`), because the server appends the counter.
pub fn validate(path: &str, sequential: bool) -> Result<(), Error> {
    let checked = if sequential {
        format!("{path}1")
    } else {
        path.to_string()
    };
    check(&checked).map_err(|message| Error::InvalidPath {
        path: path.to_string(),
        message,
    })
}

fn check(path: &str) -> Result<(), String> {
    let refuse = |message: String| Err(message);
    if path.is_empty() {
        return refuse("Path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return refuse("Path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return refuse("Path must not end with / character".into());
    }
    // Java walks UTF-16 code units and reports their index; so do we.
    let units: Vec<u16> = path.encode_utf16().collect();
    let at = |i: usize| units.get(i).copied();
    for i in 1..units.len() {
        let (c, last) = (units[i], units[i - 1]);
        let ends_name = matches!(at(i + 1), None | Some(0x2f));
        let reason = if c == 0 {
            Some("null character not allowed")
        } else if c == u16::from(b'/') && last == u16::from(b'/') {
            Some("empty node name specified")
        } else if c == u16::from(b'.') && last == u16::from(b'.') {
            (i >= 2 && at(i - 2) == Some(0x2f) && ends_name).then_some("relative paths not allowed")
        } else if c == u16::from(b'.') {
            (last == 0x2f && ends_name).then_some("relative paths not allowed")
        } else if (0x01..=0x1f).contains(&c)
            || (0x7f..=0x9f).contains(&c)
            || (0xd800..=0xf8ff).contains(&c)
            || c >= 0xfff0
        {
            Some("invalid character")
        } else {
            None
        };
        if let Some(reason) = reason {
            return refuse(format!(
                "Invalid path string \"{path}\" caused by {reason} @{i}"
            ));
        }
    }
    Ok(())
}

/// The chroot of a session: `None` means the server's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chroot(Option<String>);

impl Chroot {
    /// A chroot from the suffix of a connect string; `/` and empty mean none.
    pub fn new(root: Option<&str>) -> Result<Self, Error> {
        match root {
            None | Some("") | Some("/") => Ok(Self(None)),
            Some(root) => {
                validate(root, false)?;
                Ok(Self(Some(root.to_string())))
            }
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The server's path for a client path.
    pub fn apply(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        }
    }

    /// The client's path for a server path. A path outside the chroot (which a correct server
    /// never sends) is passed through unchanged, as the Java client does.
    pub fn strip(&self, server_path: &str) -> String {
        let Some(root) = &self.0 else {
            return server_path.to_string();
        };
        match server_path.strip_prefix(root.as_str()) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => server_path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(path: &str) -> String {
        validate(path, false).unwrap_err().to_string()
    }

    #[test]
    fn refuses_as_path_utils_does() {
        assert!(validate("/", false).is_ok());
        assert!(validate("/a/b.c/..d", false).is_ok());
        assert_eq!(message("a"), "Path must start with / character");
        assert_eq!(message(""), "Path length must be > 0");
        assert_eq!(message("/a/"), "Path must not end with / character");
        assert_eq!(
            message("/a//b"),
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
        assert_eq!(
            message("/a/../b"),
            "Invalid path string \"/a/../b\" caused by relative paths not allowed @4"
        );
        assert_eq!(
            message("/a/."),
            "Invalid path string \"/a/.\" caused by relative paths not allowed @3"
        );
        assert_eq!(
            message("/a\u{1}"),
            "Invalid path string \"/a\u{1}\" caused by invalid character @2"
        );
        assert!(message("/\u{1F600}").contains("invalid character @1"));
        assert!(validate("/seq-/", true).is_ok());
    }

    #[test]
    fn chroot_round_trips() {
        let chroot = Chroot::new(Some("/app")).unwrap();
        assert_eq!(chroot.apply("/"), "/app");
        assert_eq!(chroot.apply("/x"), "/app/x");
        assert_eq!(chroot.strip("/app"), "/");
        assert_eq!(chroot.strip("/app/x"), "/x");
        assert_eq!(chroot.strip("/apple"), "/apple");
        let none = Chroot::new(Some("/")).unwrap();
        assert_eq!(none.apply("/x"), "/x");
        assert_eq!(none.strip("/x"), "/x");
        assert!(Chroot::new(Some("/bad/")).is_err());
    }
}
