//! Input validation with AWS's patterns, lengths and messages, and the
//! policy document checks.

use sekisho_policy::json::Limits;
use sekisho_policy::lint::{PolicyType, Severity};
use sekisho_policy::{ParseError, Policy};

use super::IamError;
use super::model::Tag;

/// `[\w+=,.@-]+` (`\w` is ASCII in AWS's Java patterns).
const NAME_PATTERN: &str = r"[\w+=,.@-]+";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), IamError> {
    let n = value.chars().count();
    if n < min {
        return Err(IamError::validation(
            Some(value),
            field,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(IamError::validation(
            Some(value),
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn pattern(
    field: &str,
    value: &str,
    pattern: &str,
    ok: impl Fn(char) -> bool,
) -> Result<(), IamError> {
    if value.chars().all(ok) {
        Ok(())
    } else {
        Err(IamError::validation(
            Some(value),
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ))
    }
}

/// A user, group, role, policy or MFA device name: `[\w+=,.@-]+`,
/// 1 to `max` characters.
pub(crate) fn name(field: &str, value: &str, max: usize) -> Result<(), IamError> {
    length(field, value, 1, max)?;
    pattern(field, value, NAME_PATTERN, is_name_char)
}

pub(crate) const USER_NAME_MAX: usize = 64;
pub(crate) const GROUP_NAME_MAX: usize = 128;
pub(crate) const ROLE_NAME_MAX: usize = 64;
pub(crate) const POLICY_NAME_MAX: usize = 128;
pub(crate) const MFA_NAME_MAX: usize = 226;

pub(crate) fn user_name(value: &str) -> Result<(), IamError> {
    name("userName", value, USER_NAME_MAX)
}

pub(crate) fn group_name(value: &str) -> Result<(), IamError> {
    name("groupName", value, GROUP_NAME_MAX)
}

pub(crate) fn role_name(value: &str) -> Result<(), IamError> {
    name("roleName", value, ROLE_NAME_MAX)
}

pub(crate) fn policy_name(value: &str) -> Result<(), IamError> {
    name("policyName", value, POLICY_NAME_MAX)
}

/// `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, 1 to 512 characters.
pub(crate) fn path(value: &str) -> Result<(), IamError> {
    length("path", value, 1, 512)?;
    let ok = value == "/"
        || (value.len() >= 3
            && value.starts_with('/')
            && value.ends_with('/')
            && value.chars().all(|c| ('\u{21}'..='\u{7E}').contains(&c)));
    if ok {
        Ok(())
    } else {
        Err(IamError::validation(
            Some(value),
            "path",
            r"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        ))
    }
}

/// `\u002F[\u0021-\u007F]*`, 1 to 512 characters.
pub(crate) fn path_prefix(value: &str) -> Result<(), IamError> {
    length("pathPrefix", value, 1, 512)?;
    let ok = value.starts_with('/') && value.chars().all(|c| ('\u{21}'..='\u{7F}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(IamError::validation(
            Some(value),
            "pathPrefix",
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        ))
    }
}

/// A role's or policy's description: at most 1000 characters of
/// `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`.
pub(crate) fn description(value: &str) -> Result<(), IamError> {
    length("description", value, 0, 1000)?;
    pattern(
        "description",
        value,
        r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
        |c| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{7E}').contains(&c)
                || ('\u{A1}'..='\u{FF}').contains(&c)
        },
    )
}

pub(crate) const MIN_SESSION_DURATION: i64 = 3600;
pub(crate) const MAX_SESSION_DURATION: i64 = 43200;
pub(crate) const DEFAULT_SESSION_DURATION: u32 = 3600;

pub(crate) fn max_session_duration(value: i64) -> Result<u32, IamError> {
    let text = value.to_string();
    if value < MIN_SESSION_DURATION {
        return Err(IamError::validation(
            Some(&text),
            "maxSessionDuration",
            "Member must have value greater than or equal to 3600",
        ));
    }
    if value > MAX_SESSION_DURATION {
        return Err(IamError::validation(
            Some(&text),
            "maxSessionDuration",
            "Member must have value less than or equal to 43200",
        ));
    }
    u32::try_from(value).map_err(|_| IamError::internal("session duration out of range"))
}

pub(crate) const MAX_TAGS: usize = 50;
const TAG_PATTERN_KEY: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
const TAG_PATTERN_VALUE: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";

fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

pub(crate) fn tag_key(field: &str, key: &str) -> Result<(), IamError> {
    length(field, key, 1, 128)?;
    pattern(field, key, TAG_PATTERN_KEY, is_tag_char)
}

/// The `Tags` of a request: at most 50, keys and values in AWS's character
/// set, no `aws:` keys, no keys repeated (ignoring case).
pub(crate) fn tags(tags: &[Tag]) -> Result<(), IamError> {
    if tags.len() > MAX_TAGS {
        return Err(IamError::validation(
            None,
            "tags",
            "Member must have length less than or equal to 50",
        ));
    }
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        tag_key(&format!("tags.{n}.member.key"), &tag.key)?;
        let vfield = format!("tags.{n}.member.value");
        length(&vfield, &tag.value, 0, 256)?;
        pattern(&vfield, &tag.value, TAG_PATTERN_VALUE, is_tag_char)?;
        if tag
            .key
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
        {
            return Err(IamError::invalid(
                "User and role tag keys cannot start with the reserved prefix aws:.",
            ));
        }
    }
    for (i, a) in tags.iter().enumerate() {
        if tags[..i].iter().any(|b| same_tag_key(&a.key, &b.key)) {
            return Err(IamError::invalid(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// Tag keys of users and roles ignore case.
pub(crate) fn same_tag_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// The `TagKeys` of an untag request.
pub(crate) fn tag_keys(keys: &[String]) -> Result<(), IamError> {
    if keys.len() > MAX_TAGS {
        return Err(IamError::validation(
            None,
            "tagKeys",
            "Member must have length less than or equal to 50",
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        tag_key(&format!("tagKeys.{}", i + 1), key)?;
    }
    Ok(())
}

/// A 12-digit account id.
pub(crate) fn account_id(value: &str) -> Result<(), IamError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(IamError::invalid(format!(
            "Account id {value} is not valid: it must be 12 digits."
        )))
    }
}

/// An ARN parameter (`PolicyArn`, `PermissionsBoundary`): 20 to 2048
/// characters.
pub(crate) fn arn_length(field: &str, value: &str) -> Result<(), IamError> {
    length(field, value, 20, 2048)
}

/// `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
pub(crate) fn version_id(value: &str) -> Result<(), IamError> {
    let ok = (|| {
        let rest = value.strip_prefix('v')?;
        let (num, suffix) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        let mut digits = num.chars();
        if !matches!(digits.next(), Some('1'..='9')) || !digits.all(|c| c.is_ascii_digit()) {
            return None;
        }
        if let Some(s) = suffix
            && !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return None;
        }
        Some(())
    })()
    .is_some();
    if ok {
        Ok(())
    } else {
        Err(IamError::validation(
            Some(value),
            "versionId",
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
        ))
    }
}

/// `[\w+=/:,.@-]+`, 9 to 256 characters.
pub(crate) fn serial_number(value: &str) -> Result<(), IamError> {
    length("serialNumber", value, 9, 256)?;
    pattern("serialNumber", value, r"[\w+=/:,.@-]+", |c| {
        is_name_char(c) || matches!(c, '/' | ':')
    })
}

/// Six digits.
pub(crate) fn authentication_code(field: &str, value: &str) -> Result<(), IamError> {
    length(field, value, 6, 6)?;
    pattern(field, value, r"[\d]+", |c| c.is_ascii_digit())
}

/// `[\w]+`, 16 to 128 characters.
pub(crate) fn access_key_id(value: &str) -> Result<(), IamError> {
    length("accessKeyId", value, 16, 128)?;
    pattern("accessKeyId", value, r"[\w]+", |c| {
        c.is_ascii_alphanumeric() || c == '_'
    })
}

/// `MaxItems`: 1 to 1000.
pub(crate) fn max_items(value: i64) -> Result<usize, IamError> {
    if value < 1 {
        return Err(IamError::validation(
            Some(&value.to_string()),
            "maxItems",
            "Member must have value greater than or equal to 1",
        ));
    }
    if value > 1000 {
        return Err(IamError::validation(
            Some(&value.to_string()),
            "maxItems",
            "Member must have value less than or equal to 1000",
        ));
    }
    usize::try_from(value).map_err(|_| IamError::internal("maxItems out of range"))
}

/// What a policy document is for: its grammar and its size quota differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A managed policy version (quota 6,144 characters).
    Managed,
    /// An inline policy of a user (2,048 for all of the user's together).
    UserInline,
    /// An inline policy of a group (5,120 together).
    GroupInline,
    /// An inline policy of a role (10,240 together).
    RoleInline,
    /// A role's trust policy (2,048).
    Trust,
}

impl DocumentKind {
    fn is_identity(self) -> bool {
        !matches!(self, DocumentKind::Trust)
    }
}

/// Largest document the API takes before any quota: 131,072 characters.
pub(crate) const DOCUMENT_MAX_CHARS: usize = 131_072;
pub(crate) const MANAGED_POLICY_SIZE: usize = 6144;
pub(crate) const USER_INLINE_SIZE: usize = 2048;
pub(crate) const GROUP_INLINE_SIZE: usize = 5120;
pub(crate) const ROLE_INLINE_SIZE: usize = 10_240;
pub(crate) const TRUST_POLICY_SIZE: usize = 2048;

/// Parses a document with limits that admit anything the API admits.
pub(crate) fn parse_policy(text: &str) -> Result<Policy, ParseError> {
    let limits = Limits {
        // Up to 131,072 characters of at most two UTF-8 bytes each.
        max_bytes: 2 * DOCUMENT_MAX_CHARS,
        ..Limits::default()
    };
    Policy::parse_with(text.as_bytes(), &limits)
}

/// The size IAM counts against quotas: characters, white space outside
/// strings not counted.
pub fn policy_size(text: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut n = 0;
    for c in text.chars() {
        if in_string {
            n += 1;
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_whitespace() {
            n += 1;
            if c == '"' {
                in_string = true;
            }
        }
    }
    n
}

/// Checks a document the way the API does and compiles it: length and
/// character set, then `quota` with the document's counted size
/// ([`policy_size`]), then the grammar (the parser's message), what the kind
/// of policy must and must not contain, and last the linter's ERROR
/// findings.
pub(crate) fn document(
    text: &str,
    kind: DocumentKind,
    quota: impl FnOnce(usize) -> Result<(), IamError>,
) -> Result<Policy, IamError> {
    let field = match kind {
        DocumentKind::Trust => "assumeRolePolicyDocument",
        _ => "policyDocument",
    };
    let chars = text.chars().count();
    if chars == 0 {
        return Err(IamError::validation(
            None,
            field,
            "Member must have length greater than or equal to 1",
        ));
    }
    if chars > DOCUMENT_MAX_CHARS {
        return Err(IamError::validation(
            None,
            field,
            "Member must have length less than or equal to 131072",
        ));
    }
    if !text
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r') || ('\u{20}'..='\u{FF}').contains(&c))
    {
        return Err(IamError::validation(
            None,
            field,
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
        ));
    }
    quota(policy_size(text))?;
    let policy = parse_policy(text).map_err(|e| IamError::malformed(e.to_string()))?;
    for st in &policy.statements {
        if kind.is_identity() {
            if st.principal.is_some() {
                return Err(IamError::malformed(format!(
                    "Policy document should not specify a principal ({}).",
                    st.label()
                )));
            }
            if st.resource.is_none() {
                return Err(IamError::malformed(format!(
                    "Policy statement must contain resources ({}).",
                    st.label()
                )));
            }
        } else {
            if st.principal.is_none() {
                return Err(IamError::malformed(format!(
                    "Missing required field Principal ({}).",
                    st.label()
                )));
            }
            if st.resource.is_some() {
                return Err(IamError::malformed(format!(
                    "Has prohibited field Resource ({}).",
                    st.label()
                )));
            }
        }
    }
    lint(text, kind)?;
    Ok(policy)
}

/// LINT HOOK: the one place where the policy linter rejects a document:
/// its first ERROR finding becomes `MalformedPolicyDocument` with the
/// finding's place and message. (Warnings and suggestions are for
/// `sekisho policy lint` and Access Analyzer-style checks, not refusals.)
fn lint(text: &str, kind: DocumentKind) -> Result<(), IamError> {
    let policy_type = match kind {
        DocumentKind::Trust => PolicyType::Trust,
        DocumentKind::Managed
        | DocumentKind::UserInline
        | DocumentKind::GroupInline
        | DocumentKind::RoleInline => PolicyType::Identity,
    };
    let findings = sekisho_policy::lint::validate(text.as_bytes(), policy_type);
    match findings.iter().find(|f| f.severity == Severity::Error) {
        None => Ok(()),
        Some(f) if f.path.is_empty() => Err(IamError::malformed(format!(
            "line {}, column {}: {}",
            f.line, f.column, f.message
        ))),
        Some(f) => Err(IamError::malformed(format!(
            "{} (line {}, column {}): {}",
            f.path, f.line, f.column, f.message
        ))),
    }
}
