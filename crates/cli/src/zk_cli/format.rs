//! zkCli.sh's output formats: `StatPrinter`, Java's `Date.toString()`, jute's CSV rendering of
//! an ACL id, permission letters, `CliWrapperException` messages and watch event blocks.

use ferry_zkclient::{perms, Acl, Error, ErrorCode, Stat, WatchedEvent};

/// Java's `Date.toString()`: `Sat Nov 21 23:26:08 UTC 2026`, in the local time zone.
pub fn java_date(millis: i64) -> String {
    let Ok(timestamp) = jiff::Timestamp::from_millisecond(millis) else {
        return millis.to_string();
    };
    let zoned = timestamp.to_zoned(jiff::tz::TimeZone::system());
    zoned.strftime("%a %b %d %H:%M:%S %Z %Y").to_string()
}

/// `StatPrinter.print`, without the last newline.
pub fn stat(stat: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\n\
         dataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\n\
         numChildren = {}",
        stat.czxid,
        java_date(stat.ctime),
        stat.mzxid,
        java_date(stat.mtime),
        stat.pzxid,
        stat.cversion,
        stat.version,
        stat.aversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children
    )
}

/// jute's `CsvOutputArchive` escaping of a string field.
fn csv(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// `GetAclCommand`'s line for one ACL: the `Id` record's `toString()` (`'world,'anyone` and a
/// newline), then `: ` and the permission letters.
pub fn acl(acl: &Acl) -> String {
    format!(
        "{},{}\n: {}",
        csv(&acl.id.scheme),
        csv(&acl.id.id),
        perms::letters(acl.perms)
    )
}

/// `CliWrapperException`'s message for a failed call.
pub fn error_message(error: &Error) -> String {
    if matches!(error, Error::InvalidPath { .. } | Error::BadArguments(_)) {
        return error.to_string();
    }
    let path = error.path().unwrap_or("null");
    let prefix = match error.code() {
        ErrorCode::NoNode => "Node does not exist: ",
        ErrorCode::NoChildrenForEphemerals => "Ephemerals cannot have children: ",
        ErrorCode::NodeExists => "Node already exists: ",
        ErrorCode::NotEmpty => "Node not empty: ",
        ErrorCode::NotReadOnly => "Not a read-only call: ",
        ErrorCode::InvalidAcl => "Acl is not valid : ",
        ErrorCode::NoAuth => "Insufficient permission : ",
        ErrorCode::BadArguments => "Arguments are not valid : ",
        ErrorCode::BadVersion => "version No is not valid : ",
        ErrorCode::QuotaExceeded => "Quota has exceeded : ",
        ErrorCode::ReconfigInProgress => {
            return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
                .to_string()
        }
        ErrorCode::NewConfigNoQuorum => {
            return "No quorum of new config is connected and up-to-date with the leader of last \
                    committed config - try invoking reconfiguration after new servers are \
                    connected and synced"
                .to_string()
        }
        _ => return error.to_string(),
    };
    format!("{prefix}{path}")
}

/// The block zkCli.sh prints for a watch event (its `printMessage` puts a blank line first).
pub fn event_block(event: &WatchedEvent) -> String {
    format!("\nWATCHER::\n\n{event}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_zkclient::{acl as presets, Id};

    #[test]
    fn dates_read_like_java() {
        // The zone is the machine's; the shape is Java's.
        let date = java_date(0);
        let words: Vec<&str> = date.split(' ').collect();
        assert_eq!(words.len(), 6, "{date}");
        assert!(date.ends_with(" 1970") || date.ends_with(" 1969"), "{date}");
    }

    #[test]
    fn acls_read_like_get_acl() {
        assert_eq!(acl(&presets::open_unsafe()[0]), "'world,'anyone\n: cdrwa");
        let odd = Acl {
            perms: perms::READ | perms::ADMIN,
            id: Id {
                scheme: "digest".into(),
                id: "u:a,b%".into(),
            },
        };
        assert_eq!(acl(&odd), "'digest,'u:a%2Cb%25\n: ra");
    }

    #[test]
    fn stat_lines_read_like_stat_printer() {
        let printed = stat(&Stat {
            czxid: 4,
            ephemeral_owner: -1,
            ..Stat::default()
        });
        assert!(printed.starts_with("cZxid = 0x4\nctime = "));
        assert!(printed.contains("\nephemeralOwner = 0xffffffffffffffff\n"));
        assert!(printed.ends_with("numChildren = 0"));
    }
}
