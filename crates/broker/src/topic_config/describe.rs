//! DescribeConfigs' view of a topic or of the broker: each key's value in force, where it came
//! from, and (when asked) its synonyms, most specific first, as Kafka lists them.

use std::collections::BTreeMap;

use super::defs::{self, ConfigType, TopicConfigDef};
use super::TopicDefaults;

/// Kafka's `ConfigSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopicConfig = 1,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One described config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    /// `None`: a key this broker has no definition for (Kafka's UNKNOWN type).
    pub kind: Option<ConfigType>,
    pub doc: Option<&'static str>,
    /// Every source that sets this key, the one in force first.
    pub synonyms: Vec<Synonym>,
}

/// The default of a broker synonym in its own unit: only the least specific synonym has one
/// (`log.retention.hours` = 168; `log.retention.ms` is unset by default, as in Kafka).
fn synonym_default(def: &TopicConfigDef, index: usize) -> Option<String> {
    let (_, factor) = def.synonyms.get(index)?;
    if index + 1 != def.synonyms.len() {
        return None;
    }
    let n: i64 = match def.default.parse() {
        Ok(n) => n,
        Err(_) => return Some(def.default.to_string()),
    };
    (n % factor == 0).then(|| (n / factor).to_string())
}

/// The broker-level synonyms of a topic key: those the file sets, then the built-in default.
fn broker_synonyms(def: &TopicConfigDef, defaults: &TopicDefaults) -> Vec<Synonym> {
    let props = defaults.properties();
    let mut out: Vec<Synonym> = def
        .synonyms
        .iter()
        .filter_map(|(key, _)| {
            props.get(*key).map(|v| Synonym {
                name: key.to_string(),
                value: Some(v.clone()),
                source: ConfigSource::StaticBrokerConfig,
            })
        })
        .collect();
    if let Some(last) = def.synonyms.len().checked_sub(1) {
        if let Some(value) = synonym_default(def, last) {
            out.push(Synonym {
                name: def.synonyms[last].0.to_string(),
                value: Some(value),
                source: ConfigSource::DefaultConfig,
            });
        }
    }
    out
}

fn wanted(keys: Option<&[String]>, name: &str) -> bool {
    keys.is_none_or(|keys| keys.iter().any(|k| k == name))
}

/// A topic's configs (all, or those named in `keys`), given its overrides.
pub fn describe_topic(
    defaults: &TopicDefaults,
    overrides: &BTreeMap<String, String>,
    keys: Option<&[String]>,
) -> Vec<Described> {
    let mut out = Vec::new();
    for def in defs::TOPIC_CONFIGS {
        if !wanted(keys, def.name) {
            continue;
        }
        let mut synonyms = Vec::new();
        if let Some(v) = overrides.get(def.name) {
            synonyms.push(Synonym {
                name: def.name.to_string(),
                value: Some(v.clone()),
                source: ConfigSource::DynamicTopicConfig,
            });
        }
        synonyms.extend(broker_synonyms(def, defaults));
        let (value, source) = match overrides.get(def.name) {
            Some(v) => (v.clone(), ConfigSource::DynamicTopicConfig),
            None => {
                let value = defaults.topic_value(def.name).unwrap_or(def.default);
                let source = match synonyms.first() {
                    Some(s) if s.source == ConfigSource::StaticBrokerConfig => s.source,
                    _ => ConfigSource::DefaultConfig,
                };
                (value.to_string(), source)
            }
        };
        out.push(Described {
            name: def.name.to_string(),
            value: Some(value),
            source,
            read_only: false,
            sensitive: false,
            kind: Some(def.kind),
            doc: Some(def.doc),
            synonyms,
        });
    }
    out
}

/// Whether a broker key holds a secret (its value is never described).
fn sensitive(key: &str) -> bool {
    key.contains("password") || key.contains("secret") || key.ends_with("jaas.config")
}

/// What is known of a broker key: its type, documentation and default (all `None` for a key
/// the file sets that this broker has no definition of).
type BrokerKey = (Option<ConfigType>, Option<&'static str>, Option<String>);

/// The broker's configs (all, or those named in `keys`): every key the file sets, plus the
/// defaults of the keys this broker acts on. Broker configs are static here: read only.
pub fn describe_broker(defaults: &TopicDefaults, keys: Option<&[String]>) -> Vec<Described> {
    let props = defaults.properties();
    let mut known: BTreeMap<&str, BrokerKey> = BTreeMap::new();
    for def in defs::TOPIC_CONFIGS {
        for (i, (key, factor)) in def.synonyms.iter().enumerate() {
            // Coarse units (hours, minutes) are whole numbers of their own.
            let kind = if *factor == 1 {
                def.kind
            } else {
                ConfigType::Long
            };
            known.insert(key, (Some(kind), Some(def.doc), synonym_default(def, i)));
        }
    }
    for def in defs::BROKER_KEYS {
        known.insert(
            def.name,
            (Some(def.kind), Some(def.doc), Some(def.default.to_string())),
        );
    }
    for key in props.keys() {
        known.entry(key.as_str()).or_insert((None, None, None));
    }
    let mut out = Vec::new();
    for (name, (kind, doc, default)) in known {
        if !wanted(keys, name) {
            continue;
        }
        let secret = sensitive(name);
        let hide = |v: Option<String>| if secret { None } else { v };
        let mut synonyms = Vec::new();
        if let Some(v) = props.get(name) {
            synonyms.push(Synonym {
                name: name.to_string(),
                value: hide(Some(v.clone())),
                source: ConfigSource::StaticBrokerConfig,
            });
        }
        if default.is_some() {
            synonyms.push(Synonym {
                name: name.to_string(),
                value: hide(default.clone()),
                source: ConfigSource::DefaultConfig,
            });
        }
        let (value, source) = match props.get(name) {
            Some(v) => (Some(v.clone()), ConfigSource::StaticBrokerConfig),
            None => (default, ConfigSource::DefaultConfig),
        };
        out.push(Described {
            name: name.to_string(),
            value: hide(value),
            source,
            read_only: true,
            sensitive: secret,
            kind,
            doc,
            synonyms,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn find<'a>(list: &'a [Described], name: &str) -> &'a Described {
        list.iter().find(|d| d.name == name).expect(name)
    }

    #[test]
    fn topic_values_come_from_topic_then_broker_then_default() {
        let defaults =
            TopicDefaults::from_properties(&props(&[("log.retention.hours", "2")])).unwrap();
        let list = describe_topic(&defaults, &props(&[("segment.bytes", "4096")]), None);
        assert_eq!(list.len(), defs::TOPIC_CONFIGS.len());
        let seg = find(&list, "segment.bytes");
        assert_eq!(seg.value.as_deref(), Some("4096"));
        assert_eq!(seg.source, ConfigSource::DynamicTopicConfig);
        assert_eq!(seg.synonyms[0].source, ConfigSource::DynamicTopicConfig);
        assert_eq!(seg.synonyms[1].name, "log.segment.bytes");
        assert_eq!(seg.synonyms[1].value.as_deref(), Some("1073741824"));
        let ret = find(&list, "retention.ms");
        assert_eq!(ret.value.as_deref(), Some("7200000"));
        assert_eq!(ret.source, ConfigSource::StaticBrokerConfig);
        let names: Vec<_> = ret
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "log.retention.hours",
                    Some("2"),
                    ConfigSource::StaticBrokerConfig
                ),
                (
                    "log.retention.hours",
                    Some("168"),
                    ConfigSource::DefaultConfig
                ),
            ]
        );
        let policy = find(&list, "cleanup.policy");
        assert_eq!(policy.source, ConfigSource::DefaultConfig);
        assert_eq!(policy.value.as_deref(), Some("delete"));
        let some = describe_topic(
            &defaults,
            &BTreeMap::new(),
            Some(&["retention.ms".to_string()]),
        );
        assert_eq!(some.len(), 1);
    }

    #[test]
    fn broker_lists_file_settings_and_known_defaults_and_hides_secrets() {
        let defaults = TopicDefaults::from_properties(&props(&[
            ("broker.id", "3"),
            ("log.retention.hours", "5"),
            ("ssl.key.password", "hunter2"),
        ]))
        .unwrap();
        let list = describe_broker(&defaults, None);
        let id = find(&list, "broker.id");
        assert_eq!(
            (id.value.as_deref(), id.source),
            (Some("3"), ConfigSource::StaticBrokerConfig)
        );
        let hours = find(&list, "log.retention.hours");
        assert_eq!(hours.value.as_deref(), Some("5"));
        let ms = find(&list, "log.retention.ms");
        assert_eq!(
            (ms.value.as_deref(), ms.source),
            (None, ConfigSource::DefaultConfig)
        );
        let del = find(&list, "delete.topic.enable");
        assert_eq!(del.value.as_deref(), Some("true"));
        let pw = find(&list, "ssl.key.password");
        assert!(pw.sensitive && pw.value.is_none());
        assert!(list.iter().all(|d| d.read_only));
    }
}
