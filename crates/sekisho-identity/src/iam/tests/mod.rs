//! Unit tests of the IAM model, one file per group of operations.

mod attach;
mod groups;
mod keys;
mod mfa;
mod persist;
mod policies;
mod principal;
mod robustness;
mod roles;
mod users;
mod validation;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;

pub(crate) const ACCOUNT: &str = "123456789012";

pub(crate) const ALLOW_INVOKE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}
  ]
}"#;

pub(crate) const DENY_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;

pub(crate) const TRUST_ACCOUNT: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
  ]
}"#;

pub(crate) fn now() -> OffsetDateTime {
    datetime!(2026-05-01 12:00:00 UTC)
}

pub(crate) fn state() -> IamState {
    IamState::new(ACCOUNT).expect("account")
}

pub(crate) fn err<T: std::fmt::Debug>(r: Result<T, IamError>) -> IamError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

pub(crate) fn kind<T: std::fmt::Debug>(r: Result<T, IamError>) -> IamErrorKind {
    err(r).kind
}

pub(crate) fn user(s: &mut IamState, name: &str) {
    s.create_user(
        CreateUserRequest {
            user_name: name.into(),
            ..Default::default()
        },
        now(),
    )
    .expect("create user");
}

pub(crate) fn role(s: &mut IamState, name: &str) {
    s.create_role(
        CreateRoleRequest {
            role_name: name.into(),
            assume_role_policy_document: TRUST_ACCOUNT.into(),
            ..Default::default()
        },
        now(),
    )
    .expect("create role");
}

pub(crate) fn policy(s: &mut IamState, name: &str) -> String {
    s.create_policy(
        CreatePolicyRequest {
            policy_name: name.into(),
            policy_document: ALLOW_INVOKE.into(),
            ..Default::default()
        },
        now(),
    )
    .expect("create policy")
    .policy
    .arn
    .clone()
}

pub(crate) fn policy_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

pub(crate) const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

pub(crate) fn secret(text: &str) -> SealedSecret {
    SealedSecret(text.as_bytes().to_vec())
}

/// A 20-character access key id ending in `n`.
pub(crate) fn key_id(n: u32) -> String {
    format!("AKIATEST{n:012}")
}

/// A document of about `size` counted characters (a long Sid).
pub(crate) fn sized_document(size: usize) -> String {
    let base = r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let sid = "A".repeat(size.saturating_sub(base.len()));
    let doc = base.replace(r#""Sid":"""#, &format!(r#""Sid":"{sid}""#));
    assert_eq!(policy_size(&doc), size.max(base.len()));
    doc
}
