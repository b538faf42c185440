//! The console's settings, read from zoo.cfg or server.properties under the same keys.

/// `ferry.console.enable`: whether the console is served at all (default true).
pub const ENABLE: &str = "ferry.console.enable";
/// `ferry.console.user` and `ferry.console.password`: the one account that may log in.
pub const USER: &str = "ferry.console.user";
pub const PASSWORD: &str = "ferry.console.password";
/// `ferry.console.read.only`: refuse every change even to a logged-in user.
pub const READ_ONLY: &str = "ferry.console.read.only";

/// Whether `key` is one of the console's settings (both config files accept them).
pub fn is_console_key(key: &str) -> bool {
    [ENABLE, USER, PASSWORD, READ_ONLY].contains(&key)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{key}={value}: expected true or false")]
    NotABoolean { key: &'static str, value: String },
    #[error("{0} is set but {1} is not: the console needs both to let anyone log in")]
    HalfCredentials(&'static str, &'static str),
}

/// How the console is served. Without credentials it is read-only: a console that can change
/// the cluster must know who is changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    pub enabled: bool,
    pub credentials: Option<Credentials>,
    pub read_only: bool,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

// The password never reaches a log line.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            enabled: true,
            credentials: None,
            read_only: false,
        }
    }
}

impl ConsoleSettings {
    /// Reads the settings through `get` (a config file's key lookup).
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, SettingsError> {
        let boolean = |key: &'static str, default: bool| match get(key).map(str::trim) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(SettingsError::NotABoolean {
                key,
                value: v.to_string(),
            }),
        };
        let credentials = match (get(USER), get(PASSWORD)) {
            (None, None) => None,
            (Some(_), None) => return Err(SettingsError::HalfCredentials(USER, PASSWORD)),
            (None, Some(_)) => return Err(SettingsError::HalfCredentials(PASSWORD, USER)),
            (Some(user), Some(password)) => Some(Credentials {
                user: user.to_string(),
                password: password.to_string(),
            }),
        };
        Ok(ConsoleSettings {
            enabled: boolean(ENABLE, true)?,
            credentials,
            read_only: boolean(READ_ONLY, false)?,
        })
    }

    /// Whether changes are refused to everyone.
    pub fn refuses_changes(&self) -> bool {
        self.read_only || self.credentials.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<ConsoleSettings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConsoleSettings::from_lookup(|k| map.get(k).map(String::as_str))
    }

    #[test]
    fn without_credentials_the_console_is_read_only() {
        let settings = read(&[]).unwrap();
        assert!(settings.enabled);
        assert!(settings.refuses_changes());
    }

    #[test]
    fn credentials_allow_changes_unless_read_only() {
        let settings = read(&[(USER, "admin"), (PASSWORD, "secret")]).unwrap();
        assert!(!settings.refuses_changes());
        let settings = read(&[(USER, "a"), (PASSWORD, "b"), (READ_ONLY, "true")]).unwrap();
        assert!(settings.refuses_changes());
    }

    #[test]
    fn refuses_half_credentials_and_bad_booleans() {
        assert_eq!(
            read(&[(USER, "admin")]),
            Err(SettingsError::HalfCredentials(USER, PASSWORD))
        );
        assert!(matches!(
            read(&[(ENABLE, "yes")]),
            Err(SettingsError::NotABoolean { .. })
        ));
    }

    #[test]
    fn the_password_is_not_printed() {
        let settings = read(&[(USER, "admin"), (PASSWORD, "hunter2")]).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
