//! `AclParser`: `scheme:id:perms[,scheme:id:perms...]`, complaining on stderr about the parts it
//! cannot read and leaving them out, as zkCli.sh does.

use ferry_zkclient::{perms, Acl, Id};

pub fn parse(text: &str) -> Vec<Acl> {
    let mut acl = Vec::new();
    for part in text.split(',') {
        let (Some(first), Some(last)) = (part.find(':'), part.rfind(':')) else {
            eprintln!("{part} does not have the form scheme:id:perm");
            continue;
        };
        if first == last {
            eprintln!("{part} does not have the form scheme:id:perm");
            continue;
        }
        acl.push(Acl {
            perms: perm_bits(&part[last + 1..]),
            id: Id {
                scheme: part[..first].to_string(),
                id: part[first + 1..last].to_string(),
            },
        });
    }
    acl
}

fn perm_bits(letters: &str) -> i32 {
    letters.chars().fold(0, |bits, letter| {
        bits | match letter {
            'r' => perms::READ,
            'w' => perms::WRITE,
            'c' => perms::CREATE,
            'd' => perms::DELETE,
            'a' => perms::ADMIN,
            other => {
                eprintln!("Unknown perm type: {other}");
                0
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_acl_parser() {
        let acl = parse("world:anyone:r,digest:u:hash=:cdrwa,bogus");
        assert_eq!(acl.len(), 2);
        assert_eq!(acl[0].perms, perms::READ);
        assert_eq!(acl[1].id.id, "u:hash=");
        assert_eq!(acl[1].perms, perms::ALL);
    }
}
