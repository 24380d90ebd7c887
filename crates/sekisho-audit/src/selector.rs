//! CloudTrail event selectors: which events a trail records.
//!
//! A trail records an event when any of its selectors matches. Management
//! events match a selector that includes them, has a fitting read/write type
//! and does not exclude their source. Data events match a selector with a
//! fitting read/write type and a data resource whose type equals one of the
//! event's resources' types and one of whose values matches that resource's
//! ARN. Values are ARN prefixes, as in CloudTrail, and may contain `*`
//! (any run of characters), as in `arn:aws:bedrock:*:*:guardrail/*`.

use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::record::EventCategory;

pub const MAX_SELECTORS: usize = 5;
pub const MAX_DATA_RESOURCES: usize = 250;
const MAX_VALUE_LEN: usize = 2048;

/// Data resource types a selector may name.
pub const DATA_RESOURCE_TYPES: &[&str] = &[
    "AWS::Bedrock::AgentAlias",
    "AWS::Bedrock::AsyncInvoke",
    "AWS::Bedrock::FlowAlias",
    "AWS::Bedrock::Guardrail",
    "AWS::Bedrock::InlineAgent",
    "AWS::Bedrock::KnowledgeBase",
    "AWS::Bedrock::Model",
    "AWS::Bedrock::PromptVersion",
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::S3::Object",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ReadWriteType {
    #[default]
    All,
    ReadOnly,
    WriteOnly,
}

impl ReadWriteType {
    fn admits(self, read_only: bool) -> bool {
        match self {
            ReadWriteType::All => true,
            ReadWriteType::ReadOnly => read_only,
            ReadWriteType::WriteOnly => !read_only,
        }
    }
}

/// One selector, in the PascalCase shape of CloudTrail's PutEventSelectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    #[serde(default)]
    pub read_write_type: ReadWriteType,
    #[serde(default = "yes")]
    pub include_management_events: bool,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for EventSelector {
    /// CloudTrail's default for a new trail: all management events.
    fn default() -> Self {
        EventSelector {
            read_write_type: ReadWriteType::All,
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    pub r#type: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// What a selector looks at in an event.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub category: EventCategory,
    pub read_only: bool,
    pub event_source: &'a str,
    /// (resource type, ARN) pairs, e.g. `("AWS::Bedrock::Guardrail", "arn:aws:bedrock:...")`.
    pub resources: &'a [(&'a str, &'a str)],
}

impl EventSelector {
    pub fn matches(&self, facts: &EventFacts<'_>) -> bool {
        if !self.read_write_type.admits(facts.read_only) {
            return false;
        }
        match facts.category {
            EventCategory::Management => {
                self.include_management_events
                    && !self
                        .exclude_management_event_sources
                        .iter()
                        .any(|s| s == facts.event_source)
            }
            EventCategory::Data => self.data_resources.iter().any(|d| {
                facts.resources.iter().any(|(t, arn)| {
                    *t == d.r#type && d.values.iter().any(|v| value_matches(v, arn))
                })
            }),
        }
    }
}

/// A trail records the event when any selector matches.
pub fn any_matches(selectors: &[EventSelector], facts: &EventFacts<'_>) -> bool {
    selectors.iter().any(|s| s.matches(facts))
}

/// Checks a selector set against CloudTrail's limits.
pub fn validate(selectors: &[EventSelector]) -> Result<(), AuditError> {
    let bad = |m: String| Err(AuditError::InvalidSelectors(m));
    if selectors.is_empty() || selectors.len() > MAX_SELECTORS {
        return bad(format!(
            "{} selectors; allowed 1 to {MAX_SELECTORS}",
            selectors.len()
        ));
    }
    let total: usize = selectors.iter().map(|s| s.data_resources.len()).sum();
    if total > MAX_DATA_RESOURCES {
        return bad(format!(
            "{total} data resources; at most {MAX_DATA_RESOURCES}"
        ));
    }
    for s in selectors {
        for d in &s.data_resources {
            if !DATA_RESOURCE_TYPES.contains(&d.r#type.as_str()) {
                return bad(format!("unknown data resource type {:?}", d.r#type));
            }
            if d.values.len() > MAX_DATA_RESOURCES {
                return bad(format!("{} values for {}", d.values.len(), d.r#type));
            }
            for v in &d.values {
                if !v.starts_with("arn:") || v.len() > MAX_VALUE_LEN {
                    return bad(format!("value {v:?} is not an ARN prefix"));
                }
            }
        }
        for src in &s.exclude_management_event_sources {
            if src.is_empty() || src.len() > 256 {
                return bad(format!("bad management event source {src:?}"));
            }
        }
    }
    Ok(())
}

/// Parses and validates the `EventSelectors` JSON array of PutEventSelectors.
pub fn parse(json: &[u8]) -> Result<Vec<EventSelector>, AuditError> {
    let selectors: Vec<EventSelector> =
        serde_json::from_slice(json).map_err(|e| AuditError::InvalidSelectors(e.to_string()))?;
    validate(&selectors)?;
    Ok(selectors)
}

/// `value` as an ARN prefix with `*` wildcards: it matches when it matches
/// some prefix of `arn`.
pub fn value_matches(value: &str, arn: &str) -> bool {
    glob_prefix(value.as_bytes(), arn.as_bytes())
}

/// Wildcard match of `pat` against a prefix of `text` (pattern + implied `*`).
/// Greedy with one backtrack point: linear in practice, never recursive.
fn glob_prefix(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p == pat.len() {
            return true; // the rest of `text` is the implied trailing `*`
        }
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if text.get(t) == Some(&c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) if st < text.len() => {
                    star = Some((sp, st + 1));
                    p = sp + 1;
                    t = st + 1;
                }
                _ => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(value_matches(
            "arn:aws:bedrock:*:*:guardrail/*",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc"
        ));
        assert!(!value_matches(
            "arn:aws:bedrock:*:*:guardrail/*",
            "arn:aws:bedrock:us-east-1:123456789012:agent-alias/a/b"
        ));
        assert!(value_matches(
            "arn:aws:s3:::bucket/",
            "arn:aws:s3:::bucket/key"
        ));
        assert!(!value_matches(
            "arn:aws:s3:::bucket/",
            "arn:aws:s3:::bucket2/key"
        ));
        assert!(value_matches("arn:aws:s3", "arn:aws:s3:::any/key"));
        assert!(value_matches("", "anything"));
        assert!(value_matches("a*b*c", "axxbyyczz"));
        assert!(!value_matches("a*b*c", "axxbyy"));
        assert!(!value_matches("abc", "ab"));
    }
}
