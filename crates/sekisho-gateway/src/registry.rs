//! The operation registry: the one table that says, for every supported
//! operation, its service, protocol and selector, the IAM action that
//! authorizes it, how to build its resource ARN, its extra condition keys,
//! whether it is read-only, and whether it is a management or data event.
//!
//! Adding an operation means adding a row here and a handler in
//! `services`; no other place knows the mapping.

use std::collections::HashMap;
use std::sync::OnceLock;

use http::Method;

use crate::error::ApiError;
use crate::protocol::Protocol;
use crate::protocol::query::QueryParams;
use crate::protocol::restjson::{QueryString, RouteTable};

/// CloudTrail's event category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCategory {
    Management,
    Data,
}

/// How a request names its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// Query protocol: the `Action` parameter.
    Query(&'static str),
    /// awsJson: the `X-Amz-Target` header.
    Target(&'static str),
    /// rest-json: method and path template.
    Rest(&'static str, &'static str),
}

/// The decoded input of a call, as far as the registry needs it.
#[derive(Debug)]
pub enum Input {
    Query(QueryParams),
    Json(serde_json::Map<String, serde_json::Value>),
    Rest {
        labels: Vec<(String, String)>,
        query: QueryString,
    },
}

impl Input {
    /// A named input: a Query parameter, a top-level JSON member, or a
    /// rest-json label or query parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            Input::Query(q) => q.get(name),
            Input::Json(m) => m.get(name).and_then(|v| v.as_str()),
            Input::Rest { labels, query } => labels
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| query.first(name)),
        }
    }
}

/// Looks up the path of an IAM entity, for its ARN.
pub trait IamPaths: Sync {
    fn user_path(&self, name: &str) -> Option<String>;
    fn group_path(&self, name: &str) -> Option<String>;
    fn role_path(&self, name: &str) -> Option<String>;
}

/// Looks up resources of services whose ARNs are not spelled in the
/// request (a KMS alias stands for its key).
pub trait Resolver: Sync {
    /// The ARN of the key a key id, key ARN, alias name or alias ARN names
    /// in `region`, if it exists.
    fn kms_key_arn(&self, region: &str, key_ref: &str) -> Option<String>;
    /// The ARN of the key a base64 ciphertext blob was made under.
    fn kms_ciphertext_key_arn(&self, region: &str, blob_base64: &str) -> Option<String>;
}

/// A resolver that knows no resource (tests, services without any).
pub struct NoResolver;

impl Resolver for NoResolver {
    fn kms_key_arn(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn kms_ciphertext_key_arn(&self, _: &str, _: &str) -> Option<String> {
        None
    }
}

/// What a resource rule may look at.
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub input: &'a Input,
    pub iam: &'a dyn IamPaths,
    /// Resolves names of other services' resources (KMS keys and aliases).
    pub resolver: &'a dyn Resolver,
    /// The authenticated caller's ARN (operations that default to the
    /// caller act on it).
    pub caller_arn: &'a str,
}

/// Builds the resource ARN of a call.
pub type ResourceRule = fn(&Scope<'_>) -> Result<String, ApiError>;

/// One supported operation.
#[derive(Debug)]
pub struct Operation {
    /// The SigV4 signing name that routes to it (`sts`, `iam`, `bedrock`).
    pub signing_name: &'static str,
    /// The botocore service (`sts`, `iam`, `bedrock-runtime`).
    pub service: &'static str,
    pub name: &'static str,
    pub protocol: Protocol,
    pub selector: Selector,
    /// The IAM action that authorizes it.
    pub action: &'static str,
    pub resource: ResourceRule,
    pub read_only: bool,
    pub category: EventCategory,
}

impl Operation {
    /// The event source in CloudTrail's style (`sts.amazonaws.com`).
    pub fn event_source(&self) -> String {
        let host = match self.service {
            "bedrock-runtime" | "bedrock-agent" | "bedrock-agent-runtime" => "bedrock",
            other => other,
        };
        format!("{host}.amazonaws.com")
    }
}

fn star(_: &Scope<'_>) -> Result<String, ApiError> {
    Ok("*".to_string())
}

fn required<'a>(scope: &'a Scope<'_>, name: &str) -> Result<&'a str, ApiError> {
    scope
        .input
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| crate::protocol::missing(name))
}

/// `sts:AssumeRole` is authorized on the role.
fn role_arn_param(scope: &Scope<'_>) -> Result<String, ApiError> {
    let arn = required(scope, "RoleArn")?;
    if sekisho_policy::arn::Arn::parse(arn)
        .is_none_or(|a| a.service != "iam" || !a.resource.starts_with("role/"))
    {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'roleArn' failed to satisfy constraint: Member must be a role ARN"
        )));
    }
    Ok(arn.to_string())
}

fn iam_arn(scope: &Scope<'_>, kind: &str, path: Option<String>, name: &str) -> String {
    let path = path.unwrap_or_else(|| "/".to_string());
    format!("arn:aws:iam::{}:{kind}{path}{name}", scope.account)
}

fn iam_user(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "UserName")?;
    let path = scope
        .input
        .get("Path")
        .map(str::to_string)
        .or_else(|| scope.iam.user_path(name));
    Ok(iam_arn(scope, "user", path, name))
}

/// Operations whose UserName is optional and default to the caller (the
/// caller's own keys).
fn iam_user_optional(scope: &Scope<'_>) -> Result<String, ApiError> {
    match scope.input.get("UserName") {
        Some(name) if !name.is_empty() => {
            Ok(iam_arn(scope, "user", scope.iam.user_path(name), name))
        }
        // Without a UserName the call acts on the caller, and is
        // authorized on the caller's own ARN, as in AWS.
        _ => Ok(scope.caller_arn.to_string()),
    }
}

fn iam_group(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "GroupName")?;
    let path = scope
        .input
        .get("Path")
        .map(str::to_string)
        .or_else(|| scope.iam.group_path(name));
    Ok(iam_arn(scope, "group", path, name))
}

fn iam_role(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "RoleName")?;
    let path = scope
        .input
        .get("Path")
        .map(str::to_string)
        .or_else(|| scope.iam.role_path(name));
    Ok(iam_arn(scope, "role", path, name))
}

fn iam_policy_arn(scope: &Scope<'_>) -> Result<String, ApiError> {
    Ok(required(scope, "PolicyArn")?.to_string())
}

fn iam_new_policy(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "PolicyName")?;
    let path = scope.input.get("Path").unwrap_or("/");
    Ok(format!("arn:aws:iam::{}:policy{path}{name}", scope.account))
}

fn iam_mfa_new(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "VirtualMFADeviceName")?;
    let path = scope.input.get("Path").unwrap_or("/");
    Ok(format!("arn:aws:iam::{}:mfa{path}{name}", scope.account))
}

fn iam_mfa_serial(scope: &Scope<'_>) -> Result<String, ApiError> {
    Ok(required(scope, "SerialNumber")?.to_string())
}

/// The resource ARN of a model id: foundation models are regional and
/// account-less; inference profiles (`us.`, `eu.`, `apac.`, `jp.`,
/// `global.` prefixes) belong to the account; an ARN is taken as given.
pub fn model_arn(account: &str, region: &str, model_id: &str) -> String {
    if model_id.starts_with("arn:") {
        return model_id.to_string();
    }
    if is_inference_profile_id(model_id) {
        return format!("arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}");
    }
    format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
}

/// System-defined inference profiles carry a geography prefix.
pub fn is_inference_profile_id(model_id: &str) -> bool {
    [
        "us.", "eu.", "apac.", "jp.", "au.", "ca.", "global.", "us-gov.",
    ]
    .iter()
    .any(|p| model_id.starts_with(p))
}

fn model(scope: &Scope<'_>) -> Result<String, ApiError> {
    let id = required(scope, "modelId")?;
    Ok(model_arn(scope.account, scope.region, id))
}

/// A guardrail call acts on the guardrail's ARN (without its version),
/// whether the identifier is an id or an ARN.
fn guardrail(scope: &Scope<'_>) -> Result<String, ApiError> {
    let id = required(scope, "guardrailIdentifier")?;
    Ok(guardrail_arn_of(scope.account, scope.region, id))
}

/// The ARN a guardrail identifier names (an ARN stays as it is, less any
/// `:version` suffix).
pub fn guardrail_arn_of(account: &str, region: &str, identifier: &str) -> String {
    if identifier.starts_with("arn:") {
        match identifier.rsplit_once(':') {
            Some((head, tail)) if !tail.contains('/') => head.to_string(),
            _ => identifier.to_string(),
        }
    } else {
        format!("arn:aws:bedrock:{region}:{account}:guardrail/{identifier}")
    }
}

/// The key a KMS call acts on, as an ARN: a key id, key ARN, alias name or
/// alias ARN in `KeyId` (or `TargetKeyId`, `DestinationKeyId`), or, for
/// Decrypt and ReEncrypt without one, the key named in the ciphertext.
fn kms_key_member(scope: &Scope<'_>, member: &str) -> Result<String, ApiError> {
    let key_ref = required(scope, member)?;
    scope
        .resolver
        .kms_key_arn(scope.region, key_ref)
        .ok_or_else(|| kms_not_found(key_ref))
}

fn kms_not_found(key_ref: &str) -> ApiError {
    // KMS names the key as given; a key ref is not a secret.
    let shown: String = key_ref.chars().take(300).collect();
    ApiError::not_found(format!("Key '{shown}' does not exist")).with_code("NotFoundException")
}

fn kms_key(scope: &Scope<'_>) -> Result<String, ApiError> {
    kms_key_member(scope, "KeyId")
}

fn kms_target_key(scope: &Scope<'_>) -> Result<String, ApiError> {
    kms_key_member(scope, "TargetKeyId")
}

fn kms_destination_key(scope: &Scope<'_>) -> Result<String, ApiError> {
    kms_key_member(scope, "DestinationKeyId")
}

/// Decrypt: `KeyId` when given, else the key the ciphertext names.
fn kms_ciphertext_key(scope: &Scope<'_>) -> Result<String, ApiError> {
    if scope.input.get("KeyId").is_some_and(|k| !k.is_empty()) {
        return kms_key(scope);
    }
    let blob = required(scope, "CiphertextBlob")?;
    scope
        .resolver
        .kms_ciphertext_key_arn(scope.region, blob)
        .ok_or_else(|| {
            ApiError::validation("The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access")
                .with_code("InvalidCiphertextException")
        })
}

/// DeleteAlias: the key the alias points to.
fn kms_alias_key(scope: &Scope<'_>) -> Result<String, ApiError> {
    let alias = required(scope, "AliasName")?;
    scope
        .resolver
        .kms_key_arn(scope.region, alias)
        .ok_or_else(|| kms_not_found(alias))
}

fn trail_arn(scope: &Scope<'_>, member: &str) -> Result<String, ApiError> {
    let name = required(scope, member)?;
    if name.starts_with("arn:") {
        return Ok(name.to_string());
    }
    Ok(format!(
        "arn:aws:cloudtrail:{}:{}:trail/{name}",
        scope.region, scope.account
    ))
}

fn trail_name(scope: &Scope<'_>) -> Result<String, ApiError> {
    trail_arn(scope, "Name")
}

fn trail_name_member(scope: &Scope<'_>) -> Result<String, ApiError> {
    trail_arn(scope, "TrailName")
}

fn log_group(scope: &Scope<'_>) -> Result<String, ApiError> {
    let name = required(scope, "logGroupName")?;
    Ok(format!(
        "arn:aws:logs:{}:{}:log-group:{name}",
        scope.region, scope.account
    ))
}

fn log_groups_any(scope: &Scope<'_>) -> Result<String, ApiError> {
    Ok(format!(
        "arn:aws:logs:{}:{}:log-group:*",
        scope.region, scope.account
    ))
}

fn log_stream(scope: &Scope<'_>) -> Result<String, ApiError> {
    let group = required(scope, "logGroupName")?;
    let stream = required(scope, "logStreamName")?;
    Ok(format!(
        "arn:aws:logs:{}:{}:log-group:{group}:log-stream:{stream}",
        scope.region, scope.account
    ))
}

macro_rules! query_op {
    ($signing:literal, $service:literal, $name:literal, $action:literal, $resource:expr, $read_only:expr) => {
        Operation {
            signing_name: $signing,
            service: $service,
            name: $name,
            protocol: Protocol::Query,
            selector: Selector::Query($name),
            action: $action,
            resource: $resource,
            read_only: $read_only,
            category: EventCategory::Management,
        }
    };
}

macro_rules! rest_op {
    ($service:literal, $name:literal, $method:literal, $path:literal, $action:literal, $resource:expr, $read_only:expr, $category:expr) => {
        Operation {
            signing_name: "bedrock",
            service: $service,
            name: $name,
            protocol: Protocol::RestJson,
            selector: Selector::Rest($method, $path),
            action: $action,
            resource: $resource,
            read_only: $read_only,
            category: $category,
        }
    };
}

macro_rules! json_op {
    ($signing:literal, $prefix:literal, $name:literal, $action:expr, $resource:expr, $read_only:expr) => {
        Operation {
            signing_name: $signing,
            service: $signing,
            name: $name,
            protocol: Protocol::AwsJson11,
            selector: Selector::Target(concat!($prefix, ".", $name)),
            action: $action,
            resource: $resource,
            read_only: $read_only,
            category: EventCategory::Management,
        }
    };
}

macro_rules! kms_op {
    ($name:literal, $resource:expr, $read_only:expr) => {
        json_op!(
            "kms",
            "TrentService",
            $name,
            concat!("kms:", $name),
            $resource,
            $read_only
        )
    };
}

macro_rules! trail_op {
    ($name:literal, $resource:expr, $read_only:expr) => {
        json_op!(
            "cloudtrail",
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            $name,
            concat!("cloudtrail:", $name),
            $resource,
            $read_only
        )
    };
}

macro_rules! logs_op {
    ($name:literal, $resource:expr, $read_only:expr) => {
        json_op!(
            "logs",
            "Logs_20140328",
            $name,
            concat!("logs:", $name),
            $resource,
            $read_only
        )
    };
}

/// Every operation Sekisho serves.
pub static OPERATIONS: &[Operation] = &[
    // STS
    query_op!(
        "sts",
        "sts",
        "AssumeRole",
        "sts:AssumeRole",
        role_arn_param,
        true
    ),
    query_op!(
        "sts",
        "sts",
        "GetSessionToken",
        "sts:GetSessionToken",
        star,
        true
    ),
    query_op!(
        "sts",
        "sts",
        "GetCallerIdentity",
        "sts:GetCallerIdentity",
        star,
        true
    ),
    // IAM: users
    query_op!(
        "iam",
        "iam",
        "CreateUser",
        "iam:CreateUser",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetUser",
        "iam:GetUser",
        iam_user_optional,
        true
    ),
    query_op!("iam", "iam", "ListUsers", "iam:ListUsers", star, true),
    query_op!(
        "iam",
        "iam",
        "DeleteUser",
        "iam:DeleteUser",
        iam_user,
        false
    ),
    query_op!("iam", "iam", "TagUser", "iam:TagUser", iam_user, false),
    query_op!("iam", "iam", "UntagUser", "iam:UntagUser", iam_user, false),
    query_op!(
        "iam",
        "iam",
        "ListUserTags",
        "iam:ListUserTags",
        iam_user,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "PutUserPermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteUserPermissionsBoundary",
        "iam:DeleteUserPermissionsBoundary",
        iam_user,
        false
    ),
    // IAM: groups
    query_op!(
        "iam",
        "iam",
        "CreateGroup",
        "iam:CreateGroup",
        iam_group,
        false
    ),
    query_op!("iam", "iam", "GetGroup", "iam:GetGroup", iam_group, true),
    query_op!("iam", "iam", "ListGroups", "iam:ListGroups", star, true),
    query_op!(
        "iam",
        "iam",
        "DeleteGroup",
        "iam:DeleteGroup",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "AddUserToGroup",
        "iam:AddUserToGroup",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "RemoveUserFromGroup",
        "iam:RemoveUserFromGroup",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListGroupsForUser",
        "iam:ListGroupsForUser",
        iam_user,
        true
    ),
    // IAM: roles
    query_op!(
        "iam",
        "iam",
        "CreateRole",
        "iam:CreateRole",
        iam_role,
        false
    ),
    query_op!("iam", "iam", "GetRole", "iam:GetRole", iam_role, true),
    query_op!("iam", "iam", "ListRoles", "iam:ListRoles", star, true),
    query_op!(
        "iam",
        "iam",
        "DeleteRole",
        "iam:DeleteRole",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "UpdateRole",
        "iam:UpdateRole",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "UpdateAssumeRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        iam_role,
        false
    ),
    query_op!("iam", "iam", "TagRole", "iam:TagRole", iam_role, false),
    query_op!("iam", "iam", "UntagRole", "iam:UntagRole", iam_role, false),
    query_op!(
        "iam",
        "iam",
        "ListRoleTags",
        "iam:ListRoleTags",
        iam_role,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "PutRolePermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        iam_role,
        false
    ),
    // IAM: access keys
    query_op!(
        "iam",
        "iam",
        "CreateAccessKey",
        "iam:CreateAccessKey",
        iam_user_optional,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListAccessKeys",
        "iam:ListAccessKeys",
        iam_user_optional,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "UpdateAccessKey",
        "iam:UpdateAccessKey",
        iam_user_optional,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteAccessKey",
        "iam:DeleteAccessKey",
        iam_user_optional,
        false
    ),
    // IAM: managed policies
    query_op!(
        "iam",
        "iam",
        "CreatePolicy",
        "iam:CreatePolicy",
        iam_new_policy,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetPolicy",
        "iam:GetPolicy",
        iam_policy_arn,
        true
    ),
    query_op!("iam", "iam", "ListPolicies", "iam:ListPolicies", star, true),
    query_op!(
        "iam",
        "iam",
        "DeletePolicy",
        "iam:DeletePolicy",
        iam_policy_arn,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "CreatePolicyVersion",
        "iam:CreatePolicyVersion",
        iam_policy_arn,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetPolicyVersion",
        "iam:GetPolicyVersion",
        iam_policy_arn,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "ListPolicyVersions",
        "iam:ListPolicyVersions",
        iam_policy_arn,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "DeletePolicyVersion",
        "iam:DeletePolicyVersion",
        iam_policy_arn,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "SetDefaultPolicyVersion",
        "iam:SetDefaultPolicyVersion",
        iam_policy_arn,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "AttachUserPolicy",
        "iam:AttachUserPolicy",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DetachUserPolicy",
        "iam:DetachUserPolicy",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListAttachedUserPolicies",
        "iam:ListAttachedUserPolicies",
        iam_user,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "AttachGroupPolicy",
        "iam:AttachGroupPolicy",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DetachGroupPolicy",
        "iam:DetachGroupPolicy",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListAttachedGroupPolicies",
        "iam:ListAttachedGroupPolicies",
        iam_group,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "AttachRolePolicy",
        "iam:AttachRolePolicy",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DetachRolePolicy",
        "iam:DetachRolePolicy",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListAttachedRolePolicies",
        "iam:ListAttachedRolePolicies",
        iam_role,
        true
    ),
    // IAM: inline policies
    query_op!(
        "iam",
        "iam",
        "PutUserPolicy",
        "iam:PutUserPolicy",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetUserPolicy",
        "iam:GetUserPolicy",
        iam_user,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteUserPolicy",
        "iam:DeleteUserPolicy",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListUserPolicies",
        "iam:ListUserPolicies",
        iam_user,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "PutGroupPolicy",
        "iam:PutGroupPolicy",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetGroupPolicy",
        "iam:GetGroupPolicy",
        iam_group,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteGroupPolicy",
        "iam:DeleteGroupPolicy",
        iam_group,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListGroupPolicies",
        "iam:ListGroupPolicies",
        iam_group,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "PutRolePolicy",
        "iam:PutRolePolicy",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "GetRolePolicy",
        "iam:GetRolePolicy",
        iam_role,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteRolePolicy",
        "iam:DeleteRolePolicy",
        iam_role,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListRolePolicies",
        "iam:ListRolePolicies",
        iam_role,
        true
    ),
    // IAM: virtual MFA devices
    query_op!(
        "iam",
        "iam",
        "CreateVirtualMFADevice",
        "iam:CreateVirtualMFADevice",
        iam_mfa_new,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "EnableMFADevice",
        "iam:EnableMFADevice",
        iam_user,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "DeactivateMFADevice",
        "iam:DeactivateMFADevice",
        iam_user_optional,
        false
    ),
    query_op!(
        "iam",
        "iam",
        "ListMFADevices",
        "iam:ListMFADevices",
        iam_user_optional,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "ListVirtualMFADevices",
        "iam:ListVirtualMFADevices",
        star,
        true
    ),
    query_op!(
        "iam",
        "iam",
        "DeleteVirtualMFADevice",
        "iam:DeleteVirtualMFADevice",
        iam_mfa_serial,
        false
    ),
    // Bedrock runtime
    rest_op!(
        "bedrock-runtime",
        "Converse",
        "POST",
        "/model/{modelId}/converse",
        "bedrock:InvokeModel",
        model,
        true,
        EventCategory::Data
    ),
    rest_op!(
        "bedrock-runtime",
        "ConverseStream",
        "POST",
        "/model/{modelId}/converse-stream",
        "bedrock:InvokeModelWithResponseStream",
        model,
        true,
        EventCategory::Data
    ),
    rest_op!(
        "bedrock-runtime",
        "InvokeModel",
        "POST",
        "/model/{modelId}/invoke",
        "bedrock:InvokeModel",
        model,
        true,
        EventCategory::Data
    ),
    rest_op!(
        "bedrock-runtime",
        "InvokeModelWithResponseStream",
        "POST",
        "/model/{modelId}/invoke-with-response-stream",
        "bedrock:InvokeModelWithResponseStream",
        model,
        true,
        EventCategory::Data
    ),
    rest_op!(
        "bedrock-runtime",
        "CountTokens",
        "POST",
        "/model/{modelId}/count-tokens",
        "bedrock:CountTokens",
        model,
        true,
        EventCategory::Data
    ),
    rest_op!(
        "bedrock-runtime",
        "ApplyGuardrail",
        "POST",
        "/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply",
        "bedrock:ApplyGuardrail",
        guardrail,
        true,
        EventCategory::Data
    ),
    // Bedrock control plane: guardrails.
    rest_op!(
        "bedrock",
        "CreateGuardrail",
        "POST",
        "/guardrails",
        "bedrock:CreateGuardrail",
        star,
        false,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "ListGuardrails",
        "GET",
        "/guardrails",
        "bedrock:ListGuardrails",
        star,
        true,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "GetGuardrail",
        "GET",
        "/guardrails/{guardrailIdentifier}",
        "bedrock:GetGuardrail",
        guardrail,
        true,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "UpdateGuardrail",
        "PUT",
        "/guardrails/{guardrailIdentifier}",
        "bedrock:UpdateGuardrail",
        guardrail,
        false,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "CreateGuardrailVersion",
        "POST",
        "/guardrails/{guardrailIdentifier}",
        "bedrock:CreateGuardrailVersion",
        guardrail,
        false,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "DeleteGuardrail",
        "DELETE",
        "/guardrails/{guardrailIdentifier}",
        "bedrock:DeleteGuardrail",
        guardrail,
        false,
        EventCategory::Management
    ),
    // Bedrock control plane: account-level enforced guardrails.
    rest_op!(
        "bedrock",
        "PutEnforcedGuardrailConfiguration",
        "PUT",
        "/enforcedGuardrailsConfiguration",
        "bedrock:PutEnforcedGuardrailConfiguration",
        star,
        false,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "ListEnforcedGuardrailsConfiguration",
        "GET",
        "/enforcedGuardrailsConfiguration",
        "bedrock:ListEnforcedGuardrailsConfiguration",
        star,
        true,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "DeleteEnforcedGuardrailConfiguration",
        "DELETE",
        "/enforcedGuardrailsConfiguration/{configId}",
        "bedrock:DeleteEnforcedGuardrailConfiguration",
        star,
        false,
        EventCategory::Management
    ),
    // Bedrock control plane: model invocation logging.
    rest_op!(
        "bedrock",
        "PutModelInvocationLoggingConfiguration",
        "PUT",
        "/logging/modelinvocations",
        "bedrock:PutModelInvocationLoggingConfiguration",
        star,
        false,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "GetModelInvocationLoggingConfiguration",
        "GET",
        "/logging/modelinvocations",
        "bedrock:GetModelInvocationLoggingConfiguration",
        star,
        true,
        EventCategory::Management
    ),
    rest_op!(
        "bedrock",
        "DeleteModelInvocationLoggingConfiguration",
        "DELETE",
        "/logging/modelinvocations",
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        star,
        false,
        EventCategory::Management
    ),
    // KMS. Crypto operations are management events in CloudTrail, read-only
    // as CloudTrail marks them.
    kms_op!("CreateKey", star, false),
    kms_op!("DescribeKey", kms_key, true),
    kms_op!("ListKeys", star, true),
    kms_op!("CreateAlias", kms_target_key, false),
    kms_op!("UpdateAlias", kms_target_key, false),
    kms_op!("DeleteAlias", kms_alias_key, false),
    kms_op!("ListAliases", star, true),
    kms_op!("Encrypt", kms_key, true),
    kms_op!("Decrypt", kms_ciphertext_key, true),
    json_op!(
        "kms",
        "TrentService",
        "ReEncrypt",
        "kms:ReEncryptTo",
        kms_destination_key,
        true
    ),
    kms_op!("GenerateDataKey", kms_key, true),
    kms_op!("GenerateDataKeyWithoutPlaintext", kms_key, true),
    kms_op!("GetKeyPolicy", kms_key, true),
    kms_op!("PutKeyPolicy", kms_key, false),
    kms_op!("EnableKeyRotation", kms_key, false),
    kms_op!("DisableKeyRotation", kms_key, false),
    kms_op!("GetKeyRotationStatus", kms_key, true),
    kms_op!("RotateKeyOnDemand", kms_key, false),
    kms_op!("ListKeyRotations", kms_key, true),
    kms_op!("EnableKey", kms_key, false),
    kms_op!("DisableKey", kms_key, false),
    kms_op!("ScheduleKeyDeletion", kms_key, false),
    kms_op!("CancelKeyDeletion", kms_key, false),
    kms_op!("TagResource", kms_key, false),
    kms_op!("UntagResource", kms_key, false),
    kms_op!("ListResourceTags", kms_key, true),
    // CloudTrail.
    trail_op!("CreateTrail", trail_name, false),
    trail_op!("GetTrail", trail_name, true),
    trail_op!("DescribeTrails", star, true),
    trail_op!("GetTrailStatus", trail_name, true),
    trail_op!("StartLogging", trail_name, false),
    trail_op!("StopLogging", trail_name, false),
    trail_op!("PutEventSelectors", trail_name_member, false),
    trail_op!("GetEventSelectors", trail_name_member, true),
    trail_op!("DeleteTrail", trail_name, false),
    trail_op!("LookupEvents", star, true),
    // CloudWatch Logs (the subset invocation logging needs).
    logs_op!("CreateLogGroup", log_group, false),
    logs_op!("DeleteLogGroup", log_group, false),
    logs_op!("DescribeLogGroups", log_groups_any, true),
    logs_op!("PutRetentionPolicy", log_group, false),
    logs_op!("DeleteRetentionPolicy", log_group, false),
    logs_op!("DescribeLogStreams", log_group, true),
    logs_op!("FilterLogEvents", log_group, true),
    logs_op!("GetLogEvents", log_stream, true),
];

/// Indexes over [`OPERATIONS`], built once.
pub struct Registry {
    query: HashMap<(&'static str, &'static str), &'static Operation>,
    target: HashMap<(&'static str, &'static str), &'static Operation>,
    rest: HashMap<&'static str, RouteTable<&'static Operation>>,
}

impl Registry {
    /// The process-wide registry.
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::build)
    }

    fn build() -> Registry {
        let mut registry = Registry {
            query: HashMap::new(),
            target: HashMap::new(),
            rest: HashMap::new(),
        };
        for op in OPERATIONS {
            match op.selector {
                Selector::Query(action) => {
                    registry.query.insert((op.signing_name, action), op);
                }
                Selector::Target(target) => {
                    registry.target.insert((op.signing_name, target), op);
                }
                Selector::Rest(method, path) => {
                    let method =
                        Method::from_bytes(method.as_bytes()).expect("registry methods are valid");
                    registry
                        .rest
                        .entry(op.signing_name)
                        .or_default()
                        .add(op.service, method, path, op)
                        .expect("registry path templates are valid");
                }
            }
        }
        registry
    }

    /// A Query-protocol operation of a signing service.
    pub fn query(&self, signing_name: &str, action: &str) -> Option<&'static Operation> {
        self.query.get(&(signing_name, action)).copied()
    }

    /// An awsJson operation by its full `X-Amz-Target`.
    pub fn target(&self, signing_name: &str, target: &str) -> Option<&'static Operation> {
        self.target.get(&(signing_name, target)).copied()
    }

    /// The rest-json routes of a signing service.
    pub fn rest(&self, signing_name: &str) -> Option<&RouteTable<&'static Operation>> {
        self.rest.get(signing_name)
    }

    /// The protocol a signing service speaks (for errors before an
    /// operation is known).
    pub fn protocol_of(signing_name: &str) -> Option<Protocol> {
        match signing_name {
            "sts" | "iam" => Some(Protocol::Query),
            "bedrock" => Some(Protocol::RestJson),
            "kms" | "cloudtrail" | "logs" => Some(Protocol::AwsJson11),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekisho_policy::catalog::catalog;

    struct NoPaths;
    impl IamPaths for NoPaths {
        fn user_path(&self, _: &str) -> Option<String> {
            None
        }
        fn group_path(&self, _: &str) -> Option<String> {
            None
        }
        fn role_path(&self, _: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn every_action_is_a_real_iam_action() {
        for op in OPERATIONS {
            let (service, action) = op.action.split_once(':').unwrap();
            assert!(
                catalog().action(service, action).is_some(),
                "{} maps to {}, which the IAM catalogue does not know",
                op.name,
                op.action
            );
        }
    }

    #[test]
    fn registry_indexes_every_operation() {
        let r = Registry::get();
        assert_eq!(
            r.query("sts", "AssumeRole").unwrap().action,
            "sts:AssumeRole"
        );
        assert!(r.query("iam", "AssumeRole").is_none());
        let routes = r.rest("bedrock").unwrap();
        let m = routes
            .route(
                &Method::POST,
                "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                None,
            )
            .unwrap();
        assert_eq!(m.value.name, "Converse");
        assert_eq!(
            m.label("modelId"),
            Some("anthropic.claude-3-haiku-20240307-v1:0")
        );
    }

    #[test]
    fn resources_are_built_as_aws_does() {
        let input = Input::Rest {
            labels: vec![(
                "modelId".into(),
                "us.anthropic.claude-3-haiku-20240307-v1:0".into(),
            )],
            query: QueryString::parse("", &Default::default()).unwrap(),
        };
        let scope = Scope {
            account: "123456789012",
            region: "us-east-1",
            input: &input,
            iam: &NoPaths,
            resolver: &NoResolver,
            caller_arn: "arn:aws:iam::123456789012:user/alice",
        };
        let converse = OPERATIONS.iter().find(|o| o.name == "Converse").unwrap();
        assert_eq!(
            (converse.resource)(&scope).unwrap(),
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(
            model_arn("1", "ap-northeast-1", "sekisho.echo-v1"),
            "arn:aws:bedrock:ap-northeast-1::foundation-model/sekisho.echo-v1"
        );
    }
}
