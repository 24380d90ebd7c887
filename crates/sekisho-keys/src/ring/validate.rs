//! Input rules of the KMS API, in one place.

use super::api::CreateKeyRequest;
use super::model::Tag;
use crate::error::KeyError;

pub const MAX_TAGS: usize = 50;
pub const MAX_POLICY_BYTES: usize = 32 * 1024;
pub const MAX_DESCRIPTION_CHARS: usize = 8192;
pub const MAX_PLAINTEXT_BYTES: usize = 4096;
pub const DELETION_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 7..=30;
pub const DEFAULT_DELETION_WINDOW_DAYS: u32 = 30;
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<i64> = 90..=2560;
pub const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;

/// `alias/` then `[a-zA-Z0-9/_-]`, 1..=256 characters in all (botocore's
/// AliasNameType bound); `alias/aws/` belongs to AWS managed keys.
pub fn alias_name(name: &str) -> Result<(), KeyError> {
    let bad =
        |why: &str| KeyError::InvalidAliasName(format!("Alias name {name:?} is invalid: {why}"));
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(bad("it must begin with 'alias/'"));
    };
    if rest.is_empty() {
        return Err(bad("a name must follow 'alias/'"));
    }
    if name.len() > 256 {
        return Err(bad("it must be at most 256 characters"));
    }
    if !rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
    {
        return Err(bad(
            "it may contain only letters, digits, '/', '_' and '-' after 'alias/'",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KeyError::InvalidAliasName(format!(
            "Alias name {name:?} is invalid: the prefix 'alias/aws/' is reserved for AWS managed keys"
        )));
    }
    Ok(())
}

/// One tag: key 1..=128 characters, value 0..=256, no `aws:` prefix.
pub fn tag(t: &Tag) -> Result<(), KeyError> {
    let k = t.tag_key.chars().count();
    if k == 0 || k > 128 {
        return Err(KeyError::Tag(format!(
            "Tag key must be 1 to 128 characters (got {k})"
        )));
    }
    if t.tag_value.chars().count() > 256 {
        return Err(KeyError::Tag(format!(
            "Tag value for key {:?} must be at most 256 characters",
            t.tag_key
        )));
    }
    if t.tag_key.to_ascii_lowercase().starts_with("aws:") {
        return Err(KeyError::Tag(format!(
            "Tag key {:?} uses the reserved prefix 'aws:'",
            t.tag_key
        )));
    }
    Ok(())
}

/// Policy text: non-empty, at most 32 KiB, a JSON object. Its meaning is the
/// gateway's policy engine's business.
pub fn policy(text: &str) -> Result<(), KeyError> {
    if text.trim().is_empty() {
        return Err(KeyError::MalformedPolicy("The key policy is empty.".into()));
    }
    if text.len() > MAX_POLICY_BYTES {
        return Err(KeyError::MalformedPolicy(format!(
            "The key policy is {} bytes; the limit is {MAX_POLICY_BYTES} bytes.",
            text.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(KeyError::MalformedPolicy(
            "The key policy is not a JSON object.".into(),
        )),
    }
}

/// Only policy name `default` exists (absent means `default`).
pub fn policy_name(name: Option<&str>) -> Result<(), KeyError> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(KeyError::NotFound(format!(
            "No such policy: {other:?}; the only key policy name is \"default\""
        ))),
    }
}

pub fn description(text: &str) -> Result<(), KeyError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(KeyError::Validation(format!(
            "Description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(())
}

pub fn deletion_window(days: Option<i64>) -> Result<u32, KeyError> {
    match days {
        None => Ok(DEFAULT_DELETION_WINDOW_DAYS),
        Some(d) if DELETION_WINDOW_DAYS.contains(&d) => Ok(d as u32),
        Some(d) => Err(KeyError::Validation(format!(
            "PendingWindowInDays must be between 7 and 30 (got {d})"
        ))),
    }
}

pub fn rotation_period(days: Option<i64>) -> Result<u32, KeyError> {
    match days {
        None => Ok(DEFAULT_ROTATION_PERIOD_DAYS),
        Some(d) if ROTATION_PERIOD_DAYS.contains(&d) => Ok(d as u32),
        Some(d) => Err(KeyError::Validation(format!(
            "RotationPeriodInDays must be between 90 and 2560 (got {d})"
        ))),
    }
}

pub fn plaintext(p: &[u8]) -> Result<(), KeyError> {
    if p.is_empty() || p.len() > MAX_PLAINTEXT_BYTES {
        return Err(KeyError::Validation(format!(
            "Plaintext must be 1 to {MAX_PLAINTEXT_BYTES} bytes (got {})",
            p.len()
        )));
    }
    Ok(())
}

const ONLY_SYMMETRIC: &str = "Only symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT) are supported";

/// The CreateKey members that select a kind of key: only symmetric
/// encryption keys with AWS_KMS origin in a single region exist here.
pub fn create_key(req: &CreateKeyRequest) -> Result<(), KeyError> {
    const USAGES: [&str; 5] = [
        "SIGN_VERIFY",
        "ENCRYPT_DECRYPT",
        "GENERATE_VERIFY_MAC",
        "KEY_AGREEMENT",
        "ENCAPSULATE_DECAPSULATE",
    ];
    if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
        return Err(KeyError::Validation(
            "Specify KeySpec or CustomerMasterKeySpec, not both".into(),
        ));
    }
    match req.key_usage.as_deref() {
        None | Some("ENCRYPT_DECRYPT") => {}
        Some(u) if USAGES.contains(&u) => {
            return Err(KeyError::UnsupportedOperation(format!(
                "{ONLY_SYMMETRIC}; KeyUsage {u} is not."
            )));
        }
        Some(u) => return Err(enum_error("keyUsage", u, &USAGES)),
    }
    for spec in [
        req.key_spec.as_deref(),
        req.customer_master_key_spec.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if spec != "SYMMETRIC_DEFAULT" {
            return Err(KeyError::UnsupportedOperation(format!(
                "{ONLY_SYMMETRIC}; KeySpec {spec} is not."
            )));
        }
    }
    match req.origin.as_deref() {
        None | Some("AWS_KMS") => {}
        Some(o) => {
            return Err(KeyError::UnsupportedOperation(format!(
                "Only Origin AWS_KMS is supported (got {o}); imported and external key stores are not."
            )));
        }
    }
    if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
        return Err(KeyError::UnsupportedOperation(
            "Custom key stores are not supported.".into(),
        ));
    }
    if req.multi_region == Some(true) {
        return Err(KeyError::UnsupportedOperation(
            "Multi-Region keys are not supported.".into(),
        ));
    }
    Ok(())
}

fn enum_error(member: &str, value: &str, allowed: &[&str]) -> KeyError {
    KeyError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> Tag {
        Tag {
            tag_key: k.into(),
            tag_value: v.into(),
        }
    }

    #[test]
    fn aliases() {
        assert!(alias_name("alias/app-1/db_key").is_ok());
        for bad in [
            "alias/",
            "app",
            "alias/aws/x",
            "alias/a b",
            "alias/a:b",
            "alias/é",
        ] {
            assert_eq!(
                alias_name(bad).unwrap_err().code(),
                "InvalidAliasNameException",
                "{bad}"
            );
        }
        assert!(alias_name(&format!("alias/{}", "a".repeat(250))).is_ok());
        assert!(alias_name(&format!("alias/{}", "a".repeat(251))).is_err());
    }

    #[test]
    fn tags() {
        assert!(tag(&t("k", "")).is_ok());
        assert!(tag(&t(&"k".repeat(128), &"v".repeat(256))).is_ok());
        for bad in [
            t("", "v"),
            t(&"k".repeat(129), "v"),
            t("k", &"v".repeat(257)),
            t("AWS:x", "v"),
        ] {
            assert_eq!(tag(&bad).unwrap_err().code(), "TagException");
        }
    }

    #[test]
    fn windows_and_periods() {
        assert_eq!(deletion_window(None).unwrap(), 30);
        assert_eq!(deletion_window(Some(7)).unwrap(), 7);
        assert!(deletion_window(Some(6)).is_err() && deletion_window(Some(31)).is_err());
        assert_eq!(rotation_period(None).unwrap(), 365);
        assert!(rotation_period(Some(89)).is_err() && rotation_period(Some(2561)).is_err());
        assert!(rotation_period(Some(90)).is_ok() && rotation_period(Some(2560)).is_ok());
    }

    #[test]
    fn policies() {
        assert!(policy("{}").is_ok());
        assert!(policy("[]").is_err());
        assert!(policy("").is_err());
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_POLICY_BYTES));
        assert_eq!(
            policy(&big).unwrap_err().code(),
            "MalformedPolicyDocumentException"
        );
        assert!(policy_name(Some("default")).is_ok() && policy_name(Some("other")).is_err());
    }

    #[test]
    fn key_kinds() {
        let ok = CreateKeyRequest::default();
        assert!(create_key(&ok).is_ok());
        let rsa = CreateKeyRequest {
            key_spec: Some("RSA_2048".into()),
            ..ok.clone()
        };
        let e = create_key(&rsa).unwrap_err();
        assert_eq!(e.code(), "UnsupportedOperationException");
        assert!(e.to_string().contains("symmetric"));
        let sign = CreateKeyRequest {
            key_usage: Some("SIGN_VERIFY".into()),
            ..ok.clone()
        };
        assert_eq!(
            create_key(&sign).unwrap_err().code(),
            "UnsupportedOperationException"
        );
        let junk = CreateKeyRequest {
            key_usage: Some("NOPE".into()),
            ..ok.clone()
        };
        assert_eq!(create_key(&junk).unwrap_err().code(), "ValidationException");
        let mr = CreateKeyRequest {
            multi_region: Some(true),
            ..ok
        };
        assert!(create_key(&mr).is_err());
    }
}
