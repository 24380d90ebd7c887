//! The services behind the operations: each handler takes an authorized
//! [`Call`] and returns a [`Reply`] or an [`ApiError`].

pub mod args;
pub mod bedrock_runtime;
pub mod cloudtrail;
pub mod guardrails;
pub mod iam;
pub mod invocation_log;
pub mod kms;
pub mod logs;
pub mod sts;

use std::sync::Arc;

use bytes::Bytes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::protocol::xml::XmlWriter;
use crate::registry::{Input, Operation};
use crate::server::{Body, ConnInfo};

/// An authenticated, authorized call.
pub struct Call {
    pub op: &'static Operation,
    pub input: Input,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub caller: Caller,
    pub region: String,
    pub request_id: String,
    pub conn: Arc<ConnInfo>,
    /// The resource ARN the call was authorized on.
    pub resource: String,
    /// The request context it was authorized with.
    pub context: sekisho_policy::Context,
}

/// What a handler answers.
pub enum Reply {
    /// A Query-protocol result: writes the members of `<{Action}Result>`.
    Xml(Box<dyn FnOnce(&mut XmlWriter) + Send>),
    /// A JSON document (awsJson and rest-json).
    Json(serde_json::Value),
    /// Bytes with a content type and extra headers (InvokeModel).
    Raw {
        content_type: String,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    },
    /// A streamed body (event streams).
    Stream {
        content_type: &'static str,
        body: Body,
    },
}

/// Runs the handler of an operation.
pub async fn dispatch(gateway: &Arc<Gateway>, call: Call) -> Result<Reply, ApiError> {
    match call.op.service {
        "sts" => sts::handle(gateway, call).await,
        "iam" => iam::handle(gateway, call).await,
        "bedrock-runtime" if call.op.name == "ApplyGuardrail" => guardrails::apply(gateway, &call),
        "bedrock-runtime" => bedrock_runtime::handle(gateway, call).await,
        "bedrock" if call.op.name.contains("Guardrail") => guardrails::handle(gateway, call).await,
        "bedrock" => invocation_log::handle(gateway, call).await,
        "kms" => kms::handle(gateway, call).await,
        "cloudtrail" => cloudtrail::handle(gateway, call).await,
        "logs" => logs::handle(gateway, call).await,
        _ => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{} is not served by this gateway", call.op.name),
        )),
    }
}

/// Condition keys an operation adds to the request context (from its
/// input), before authorization.
#[allow(clippy::too_many_arguments)]
pub fn add_condition_keys(
    gateway: &Gateway,
    iam: &sekisho_identity::iam::IamState,
    caller: &Caller,
    op: &Operation,
    input: &Input,
    headers: &http::HeaderMap,
    body: &[u8],
    region: &str,
    context: &mut sekisho_policy::Context,
) {
    match op.service {
        "sts" => sts::condition_keys(gateway, iam, caller, op, input, context),
        "bedrock-runtime" => {
            bedrock_runtime::condition_keys(op, headers, body, &gateway.account, region, context)
        }
        "kms" => kms::condition_keys(gateway, caller, op, input, context),
        "bedrock" => guardrails::condition_keys(op, body, context),
        _ => {}
    }
}

/// The resource-based policy that governs an operation's resource, if any
/// (a role's trust policy for `sts:AssumeRole`, a key's key policy).
pub fn resource_policy(
    gateway: &Gateway,
    op: &Operation,
    resource: &str,
    iam: &sekisho_identity::iam::IamState,
) -> Option<Arc<sekisho_policy::Policy>> {
    match op.service {
        "sts" => sts::resource_policy(op, resource, iam),
        "kms" => gateway.kms.key_policy(resource),
        _ => None,
    }
}
