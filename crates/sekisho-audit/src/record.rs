//! CloudTrail records, field for field as CloudTrail writes them (camelCase,
//! optional fields left out), so tools that read CloudTrail logs read ours.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The eventVersion this crate writes.
pub const EVENT_VERSION: &str = "1.11";

/// One CloudTrail record (one line of a log file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_version: String,
    pub user_identity: UserIdentity,
    #[serde(with = "crate::timefmt::serde_iso")]
    pub event_time: OffsetDateTime,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(
        rename = "sourceIPAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// CloudTrail writes `null` when a call had no parameters, so this is
    /// always present; `Value::Null` is that null.
    #[serde(default)]
    pub request_parameters: Value,
    #[serde(default)]
    pub response_elements: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    #[serde(rename = "requestID", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_event: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_category: Option<EventCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
}

impl Event {
    /// A management `AwsApiCall` record with a fresh eventID; the caller fills
    /// in the rest.
    pub fn api_call(
        user_identity: UserIdentity,
        event_time: OffsetDateTime,
        event_source: impl Into<String>,
        event_name: impl Into<String>,
        aws_region: impl Into<String>,
    ) -> Event {
        Event {
            event_version: EVENT_VERSION.to_owned(),
            user_identity,
            event_time: crate::timefmt::whole_seconds(event_time),
            event_source: event_source.into(),
            event_name: event_name.into(),
            aws_region: aws_region.into(),
            source_ip_address: None,
            user_agent: None,
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: None,
            event_id: uuid::Uuid::new_v4().to_string(),
            read_only: None,
            resources: Vec::new(),
            event_type: "AwsApiCall".to_owned(),
            management_event: Some(true),
            recipient_account_id: None,
            event_category: Some(EventCategory::Management),
            vpc_endpoint_id: None,
            tls_details: None,
        }
    }

    /// The compact JSON line stored in a log file (no newline inside: serde_json
    /// escapes control characters in strings).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising this struct cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The name LookupEvents' `Username` attribute matches: the IAM user name,
    /// or for a role session the session name (last part of the ARN).
    pub fn username(&self) -> Option<&str> {
        if let Some(u) = self.user_identity.user_name.as_deref() {
            return Some(u);
        }
        match self.user_identity.kind {
            IdentityType::AssumedRole => self
                .user_identity
                .arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next()),
            IdentityType::Root => Some("root"),
            _ => None,
        }
    }
}

/// `userIdentity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: IdentityType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
}

impl UserIdentity {
    /// An identity of the given type with every other field empty.
    pub fn new(kind: IdentityType) -> Self {
        UserIdentity {
            kind,
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: None,
            user_name: None,
            session_context: None,
        }
    }
}

/// `userIdentity.type`. Unknown strings read back as `Unknown` rather than
/// failing the whole record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityType {
    IAMUser,
    AssumedRole,
    Root,
    AWSAccount,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<SessionAttributes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// CloudTrail writes `mfaAuthenticated` as the string "true"/"false".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::timefmt::serde_iso_opt"
    )]
    pub creation_date: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated: Option<String>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventCategory {
    Management,
    Data,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_provided_host_header: Option<String>,
}

/// Finds `"eventTime":"..."` in a serialised record without parsing the rest,
/// so the writer path can learn a record's time for the digest cheaply.
pub(crate) fn sniff_event_time(json: &[u8]) -> Option<OffsetDateTime> {
    const KEY: &[u8] = b"\"eventTime\":\"";
    let at = json.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = json.get(at..)?;
    let end = rest.iter().take(64).position(|&b| b == b'"')?;
    let s = std::str::from_utf8(rest.get(..end)?).ok()?;
    crate::timefmt::parse_iso(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample() -> Event {
        let mut id = UserIdentity::new(IdentityType::AssumedRole);
        id.arn = Some("arn:aws:sts::123456789012:assumed-role/App/session-1".into());
        id.session_context = Some(SessionContext {
            session_issuer: Some(SessionIssuer {
                kind: "Role".into(),
                principal_id: Some("AROAEXAMPLE".into()),
                arn: Some("arn:aws:iam::123456789012:role/App".into()),
                account_id: Some("123456789012".into()),
                user_name: Some("App".into()),
            }),
            attributes: Some(SessionAttributes {
                creation_date: Some(datetime!(2026-11-26 00:00:00 UTC)),
                mfa_authenticated: Some("false".into()),
            }),
            source_identity: None,
        });
        let mut e = Event::api_call(
            id,
            datetime!(2026-11-26 01:02:03.5 UTC),
            "bedrock.amazonaws.com",
            "InvokeModel",
            "us-east-1",
        );
        e.resources.push(Resource {
            arn: Some("arn:aws:bedrock:us-east-1::foundation-model/x".into()),
            account_id: None,
            kind: Some("AWS::Bedrock::Model".into()),
        });
        e
    }

    #[test]
    fn camel_case_and_omitted_fields() {
        let e = sample();
        let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["eventTime"], "2026-11-26T01:02:03Z");
        assert_eq!(v["eventVersion"], "1.11");
        assert_eq!(v["userIdentity"]["type"], "AssumedRole");
        assert_eq!(
            v["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"],
            "false"
        );
        assert_eq!(
            v["resources"][0]["ARN"],
            "arn:aws:bedrock:us-east-1::foundation-model/x"
        );
        assert!(v["requestParameters"].is_null());
        assert!(v.get("errorCode").is_none());
        assert!(v.get("eventID").is_some());
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.username(), Some("session-1"));
        assert_eq!(sniff_event_time(&e.to_json()), Some(e.event_time));
    }

    #[test]
    fn unknown_identity_type_reads_as_unknown() {
        let mut v: Value = serde_json::from_slice(&sample().to_json()).unwrap();
        v["userIdentity"]["type"] = "FederatedUser".into();
        let e: Event = serde_json::from_value(v).unwrap();
        assert_eq!(e.user_identity.kind, IdentityType::Unknown);
    }
}
