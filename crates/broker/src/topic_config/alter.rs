//! The edits of AlterConfigs (replace every override) and IncrementalAlterConfigs (SET,
//! DELETE, APPEND, SUBTRACT per key), computed on a topic's overrides before anything is
//! written, with Kafka's error kinds.

use std::collections::{BTreeMap, BTreeSet};

use super::defs::{list_items, topic_def, ConfigType};
use super::{validate_overrides, InvalidConfig};

/// Why an edit is refused: INVALID_CONFIG or INVALID_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlterError {
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    #[error("{0}")]
    InvalidRequest(String),
}

/// IncrementalAlterConfigs' operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterOp {
    Set,
    Delete,
    Append,
    Subtract,
}

impl AlterOp {
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(AlterOp::Set),
            1 => Some(AlterOp::Delete),
            2 => Some(AlterOp::Append),
            3 => Some(AlterOp::Subtract),
            _ => None,
        }
    }
}

/// One requested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub op: i8,
    pub value: Option<String>,
}

fn no_duplicates<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), AlterError> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(AlterError::InvalidRequest(format!(
                "Error due to duplicate config keys: {name}"
            )));
        }
    }
    Ok(())
}

/// AlterConfigs: the entries become the topic's whole set of overrides (a null value leaves
/// the key out).
pub fn replace(
    entries: &[(String, Option<String>)],
) -> Result<BTreeMap<String, String>, AlterError> {
    no_duplicates(entries.iter().map(|(k, _)| k.as_str()))?;
    let next: BTreeMap<String, String> = entries
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .collect();
    validate_overrides(&next)?;
    Ok(next)
}

/// IncrementalAlterConfigs: `changes` applied in order to `current`.
pub fn incremental(
    current: &BTreeMap<String, String>,
    changes: &[Change],
) -> Result<BTreeMap<String, String>, AlterError> {
    no_duplicates(changes.iter().map(|c| c.name.as_str()))?;
    let mut next = current.clone();
    for change in changes {
        let name = &change.name;
        let op = AlterOp::from_code(change.op).ok_or_else(|| {
            AlterError::InvalidRequest(format!("Unknown config operation {} for {name}", change.op))
        })?;
        let def = topic_def(name)
            .ok_or_else(|| InvalidConfig(format!("Unknown topic config name: {name}")))?;
        let value = change.value.clone();
        let needs_value = || {
            value.clone().ok_or_else(|| {
                InvalidConfig(format!("Null value not supported for topic config {name}"))
            })
        };
        match op {
            AlterOp::Set => {
                next.insert(name.clone(), needs_value()?);
            }
            AlterOp::Delete => {
                next.remove(name);
            }
            AlterOp::Append | AlterOp::Subtract => {
                if def.kind != ConfigType::List {
                    let verb = if op == AlterOp::Append {
                        "append"
                    } else {
                        "subtract"
                    };
                    return Err(AlterError::InvalidRequest(format!(
                        "Config value {verb} is not allowed for config key: {name}"
                    )));
                }
                let given = needs_value()?;
                let old = next.get(name).map_or(def.default, String::as_str);
                let mut items: Vec<String> = list_items(old).map(str::to_string).collect();
                for item in list_items(&given) {
                    if op == AlterOp::Append {
                        if !items.iter().any(|i| i == item) {
                            items.push(item.to_string());
                        }
                    } else {
                        items.retain(|i| i != item);
                    }
                }
                next.insert(name.clone(), items.join(","));
            }
        }
    }
    validate_overrides(&next)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(name: &str, op: i8, value: Option<&str>) -> Change {
        Change {
            name: name.to_string(),
            op,
            value: value.map(str::to_string),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_delete_append_subtract() {
        let current = map(&[("retention.ms", "1000"), ("segment.bytes", "2048")]);
        let next = incremental(
            &current,
            &[
                change("retention.ms", 0, Some("2000")),
                change("segment.bytes", 1, None),
                change("cleanup.policy", 2, Some("compact")),
            ],
        )
        .unwrap();
        assert_eq!(
            next,
            map(&[
                ("cleanup.policy", "delete,compact"),
                ("retention.ms", "2000")
            ])
        );
        let next = incremental(&next, &[change("cleanup.policy", 3, Some("delete"))]).unwrap();
        assert_eq!(
            next.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
        let again = incremental(&next, &[change("cleanup.policy", 2, Some("compact"))]).unwrap();
        assert_eq!(
            again.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
    }

    #[test]
    fn refusals_have_kafkas_kinds() {
        let empty = BTreeMap::new();
        let bad = incremental(&empty, &[change("retention.ms", 0, Some("x"))]).unwrap_err();
        assert!(matches!(bad, AlterError::InvalidConfig(_)));
        assert!(bad.to_string().contains("retention.ms"));
        let unknown = incremental(&empty, &[change("nope", 0, Some("1"))]).unwrap_err();
        assert!(matches!(unknown, AlterError::InvalidConfig(_)));
        let not_list = incremental(&empty, &[change("retention.ms", 2, Some("1"))]).unwrap_err();
        assert!(matches!(not_list, AlterError::InvalidRequest(_)));
        let bad_op = incremental(&empty, &[change("retention.ms", 9, Some("1"))]).unwrap_err();
        assert!(matches!(bad_op, AlterError::InvalidRequest(_)));
        let dup = incremental(
            &empty,
            &[
                change("retention.ms", 0, Some("1")),
                change("retention.ms", 1, None),
            ],
        )
        .unwrap_err();
        assert!(matches!(dup, AlterError::InvalidRequest(_)));
        let bad_policy =
            incremental(&empty, &[change("cleanup.policy", 2, Some("shred"))]).unwrap_err();
        assert!(matches!(bad_policy, AlterError::InvalidConfig(_)));
    }

    #[test]
    fn replace_takes_the_whole_set() {
        let entries = vec![
            ("retention.ms".to_string(), Some("5".to_string())),
            ("segment.ms".to_string(), None),
        ];
        assert_eq!(replace(&entries).unwrap(), map(&[("retention.ms", "5")]));
        let bad = vec![("segment.bytes".to_string(), Some("1".to_string()))];
        assert!(matches!(replace(&bad), Err(AlterError::InvalidConfig(_))));
    }
}
