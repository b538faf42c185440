//! Turning a line into words and words into options, as zkCli.sh does: its `ARGS_PATTERN`
//! tokenizer (quotes group words and are stripped) and Apache commons-cli's short options
//! (bundling `-sR`, values as `-v 3` or `-v3`, options anywhere on the line, `--` ends them).

/// Splits a shell line into words: a word is a run of non-blanks not starting with a quote, or
/// a quoted string (`"..."` or `'...'`) whose quotes are removed. An unclosed quote is taken
/// as an ordinary character.
pub fn tokenize(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let quote = chars[i];
        if quote == '"' || quote == '\'' {
            if let Some(len) = chars[i + 1..].iter().position(|&c| c == quote) {
                words.push(chars[i + 1..i + 1 + len].iter().collect());
                i += len + 2;
            } else {
                // No closing quote: the regex finds no word starting here and moves on.
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        words.push(strip_quotes(word));
    }
    words
}

/// `QUOTED_PATTERN`: a word wrapped in a matching pair of quotes loses them.
fn strip_quotes(word: String) -> String {
    let bytes = word.as_bytes();
    let quoted = bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0];
    if quoted {
        word[1..word.len() - 1].to_string()
    } else {
        word
    }
}

/// One option a command takes: its letter and whether it takes a value.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    pub letter: char,
    pub takes_value: bool,
}

pub const fn flag(letter: char) -> OptSpec {
    OptSpec {
        letter,
        takes_value: false,
    }
}

pub const fn valued(letter: char) -> OptSpec {
    OptSpec {
        letter,
        takes_value: true,
    }
}

/// A parsed command line. `args[0]` is the command itself, as in commons-cli's `getArgs()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub args: Vec<String>,
    options: Vec<(char, Option<String>)>,
}

impl Parsed {
    /// Words taken as they are, for the shell's own commands.
    pub fn plain(words: &[String]) -> Self {
        Self {
            args: words.to_vec(),
            options: Vec::new(),
        }
    }

    pub fn has(&self, letter: char) -> bool {
        self.options.iter().any(|(l, _)| *l == letter)
    }

    /// The value of the first occurrence of `letter`.
    pub fn value(&self, letter: char) -> Option<&str> {
        self.options
            .iter()
            .find(|(l, _)| *l == letter)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn arg(&self, index: usize) -> Option<&str> {
        self.args.get(index).map(String::as_str)
    }
}

fn is_number(word: &str) -> bool {
    word.parse::<f64>().is_ok()
}

/// Parses `words` (the command first) against `specs`. Errors read as commons-cli's exceptions
/// do when zkCli.sh prints them.
pub fn parse(words: &[String], specs: &[OptSpec]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut rest = words.iter();
    let mut only_args = false;
    while let Some(word) = rest.next() {
        let is_option = word.len() > 1 && word.starts_with('-') && !is_number(word);
        if only_args || !is_option || parsed.args.is_empty() {
            parsed.args.push(word.clone());
            continue;
        }
        if word == "--" {
            only_args = true;
            continue;
        }
        let unrecognized = || {
            format!(
                "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {word}"
            )
        };
        if word.starts_with("--") {
            return Err(unrecognized());
        }
        let letters: Vec<char> = word[1..].chars().collect();
        for (i, letter) in letters.iter().enumerate() {
            let spec = specs
                .iter()
                .find(|s| s.letter == *letter)
                .ok_or_else(unrecognized)?;
            if !spec.takes_value {
                parsed.options.push((*letter, None));
                continue;
            }
            let attached: String = letters[i + 1..].iter().collect();
            let value = match attached.is_empty() {
                false => attached,
                true => rest.next().cloned().ok_or_else(|| {
                    format!(
                        "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {letter}"
                    )
                })?,
            };
            parsed.options.push((*letter, Some(value)));
            break;
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        tokenize(line)
    }

    #[test]
    fn tokenizes_like_zkcli() {
        assert_eq!(words("  ls   -s / "), ["ls", "-s", "/"]);
        assert_eq!(
            words(r#"create /a "hello world" 'x y'"#),
            ["create", "/a", "hello world", "x y"]
        );
        assert_eq!(words(r#"set /a a"b"#), ["set", "/a", r#"a"b"#]);
        assert_eq!(words(r#"set /a "open"#), ["set", "/a", "open"]);
        assert!(words("   ").is_empty());
    }

    #[test]
    fn parses_options_like_commons_cli() {
        let specs = [flag('s'), flag('R'), valued('v')];
        let parsed = parse(&words("ls -sR / -v3"), &specs).unwrap();
        assert_eq!(parsed.args, ["ls", "/"]);
        assert!(parsed.has('s') && parsed.has('R'));
        assert_eq!(parsed.value('v'), Some("3"));
        let parsed = parse(&words("set -v -1 /a -- -data"), &specs).unwrap();
        assert_eq!(parsed.value('v'), Some("-1"));
        assert_eq!(parsed.args, ["set", "/a", "-data"]);
        assert_eq!(
            parse(&words("ls -z /"), &specs).unwrap_err(),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -z"
        );
        assert_eq!(
            parse(&words("set -v"), &specs).unwrap_err(),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
        assert_eq!(
            parse(&words("get /a -5"), &specs).unwrap().args,
            ["get", "/a", "-5"]
        );
    }
}
