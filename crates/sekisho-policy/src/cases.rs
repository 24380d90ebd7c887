//! Decision test cases: the language-neutral formats `iam-decision-cases/v0`
//! (a request, its policies per layer and the expected decision) and
//! `iam-operator-cases/v0` (one condition operator on one value).
//!
//! Used by `sekisho policy simulate --cases` and by the conformance tests.

use serde::Deserialize;
use serde_json::Value;

use crate::condition::{Condition, Operator};
use crate::context::Context;
use crate::eval::{Layer, Outcome, PolicySet, Request, evaluate};
use crate::policy::Policy;
use crate::principal::Principal;

/// A case file in either format.
#[derive(Debug)]
pub enum CaseFile {
    Decisions(Vec<DecisionCase>),
    Operators(Vec<OperatorCase>),
}

#[derive(Debug, Deserialize)]
pub struct DecisionCase {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub request: CaseRequest,
    #[serde(default)]
    pub policies: CasePolicies,
    pub expected: Expected,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseRequest {
    pub principal: Value,
    pub action: String,
    pub resource: String,
    #[serde(default)]
    pub resource_account: Option<String>,
    #[serde(default)]
    pub context: serde_json::Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CasePolicies {
    #[serde(default)]
    pub identity: Vec<Value>,
    #[serde(default)]
    pub permission_boundaries: Vec<Value>,
    #[serde(default)]
    pub session: Option<Value>,
    #[serde(default)]
    pub resource: Option<Value>,
    #[serde(default)]
    pub scps: Vec<OrgLevel>,
    #[serde(default)]
    pub rcps: Vec<OrgLevel>,
    #[serde(default)]
    pub vpc_endpoint: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct OrgLevel {
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub policies: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub decision: String,
    #[serde(default)]
    pub blocked_by: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorCase {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub operator: String,
    #[serde(default)]
    pub context: serde_json::Map<String, Value>,
    pub policy_values: Vec<Value>,
    pub request_value: Value,
    pub expected: bool,
}

/// The result of running one case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseResult {
    pub id: String,
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
    /// Tagged `disputed`: reported, not counted.
    pub disputed: bool,
    pub explanation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_blocked_by: Option<Vec<String>>,
    pub blocked_by: Vec<String>,
}

/// Reads a case file of either format.
pub fn read_case_file(text: &str) -> Result<CaseFile, String> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON case file: {e}"))?;
    let format = root.get("format").and_then(Value::as_str).unwrap_or("");
    let cases = root
        .get("cases")
        .cloned()
        .ok_or("the case file has no 'cases' array")?;
    match format {
        "iam-decision-cases/v0" => serde_json::from_value(cases)
            .map(CaseFile::Decisions)
            .map_err(|e| format!("malformed decision case: {e}")),
        "iam-operator-cases/v0" => serde_json::from_value(cases)
            .map(CaseFile::Operators)
            .map_err(|e| format!("malformed operator case: {e}")),
        other => Err(format!(
            "unknown case format '{other}'; expected 'iam-decision-cases/v0' or 'iam-operator-cases/v0'"
        )),
    }
}

/// Builds a context from JSON: strings, or arrays of strings.
pub fn context_from_json(map: &serde_json::Map<String, Value>) -> Result<Context, String> {
    let mut ctx = Context::new();
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                let values = items
                    .iter()
                    .map(scalar_text)
                    .collect::<Result<Vec<_>, _>>()?;
                ctx.insert_multi(key, values);
            }
            other => ctx.insert(key, scalar_text(other)?),
        }
    }
    Ok(ctx)
}

fn scalar_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "context values must be strings or arrays of strings, found {other}"
        )),
    }
}

fn principal_from_json(v: &Value) -> Result<Principal, String> {
    match v {
        Value::String(s) => Principal::parse(s),
        Value::Object(m) => match m.get("type").and_then(Value::as_str) {
            Some("Anonymous") => Ok(Principal::Anonymous),
            Some("Service") => m
                .get("service")
                .or_else(|| m.get("name"))
                .and_then(Value::as_str)
                .map(|s| Principal::Service(s.to_string()))
                .ok_or_else(|| "a Service principal needs a 'service' name".to_string()),
            other => Err(format!("unknown principal type {other:?}")),
        },
        other => Err(format!("unknown principal {other}")),
    }
}

fn parse_policy(v: &Value, name: String) -> Result<Policy, String> {
    Policy::from_value(v)
        .map(|p| p.named(name.clone()))
        .map_err(|e| format!("{name}: {e}"))
}

impl DecisionCase {
    /// Runs the case.
    pub fn run(&self) -> CaseResult {
        let disputed = self.tags.iter().any(|t| t == "disputed");
        let mut result = CaseResult {
            id: self.id.clone(),
            name: self.name.clone(),
            expected: self.expected.decision.clone(),
            actual: String::new(),
            passed: false,
            disputed,
            explanation: String::new(),
            expected_blocked_by: self.expected.blocked_by.clone(),
            blocked_by: Vec::new(),
        };
        match self.decide() {
            Ok((outcome, blocked, explanation)) => {
                result.actual = outcome.name().to_string();
                result.blocked_by = blocked.iter().map(|l| l.code().to_string()).collect();
                result.explanation = explanation;
                let blocked_ok = match &self.expected.blocked_by {
                    None => true,
                    Some(expected) => {
                        let mut want: Vec<&str> = expected.iter().map(String::as_str).collect();
                        let mut got: Vec<&str> =
                            result.blocked_by.iter().map(String::as_str).collect();
                        want.sort_unstable();
                        got.sort_unstable();
                        want == got
                    }
                };
                result.passed = result.actual == result.expected && blocked_ok;
            }
            Err(e) => {
                result.actual = "Error".into();
                result.explanation = e;
            }
        }
        result
    }

    fn decide(&self) -> Result<(Outcome, Vec<Layer>, String), String> {
        let principal = principal_from_json(&self.request.principal)?;
        let context = context_from_json(&self.request.context)?;
        let p = &self.policies;
        let list = |values: &[Value], what: &str| -> Result<Vec<Policy>, String> {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| parse_policy(v, format!("{what} {i}")))
                .collect()
        };
        let identity = list(&p.identity, "identity")?;
        let boundaries = list(&p.permission_boundaries, "boundary")?;
        let session = p
            .session
            .as_ref()
            .map(|v| parse_policy(v, "session".into()))
            .transpose()?;
        let resource = p
            .resource
            .as_ref()
            .map(|v| parse_policy(v, "resource".into()))
            .transpose()?;
        let levels = |levels: &[OrgLevel], what: &str| -> Result<Vec<Vec<Policy>>, String> {
            levels
                .iter()
                .map(|l| list(&l.policies, &format!("{what} {}", l.target)))
                .collect()
        };
        let scps = levels(&p.scps, "SCP")?;
        let rcps = levels(&p.rcps, "RCP")?;
        let endpoint = list(&p.vpc_endpoint, "endpoint")?;

        let set = PolicySet {
            scps: scps.iter().map(|l| l.iter().collect()).collect(),
            rcps: rcps.iter().map(|l| l.iter().collect()).collect(),
            identity: identity.iter().collect(),
            boundaries: boundaries.iter().collect(),
            session: session.iter().collect(),
            resource: resource.as_ref(),
            endpoint: endpoint.iter().collect(),
        };
        let request = Request {
            principal: &principal,
            action: &self.request.action,
            resource: &self.request.resource,
            resource_account: self.request.resource_account.as_deref(),
            context: &context,
        };
        let decision = evaluate(&request, &set);
        Ok((
            decision.outcome,
            decision.blocked_by.clone(),
            decision.explain(),
        ))
    }
}

/// The context key an operator case's request value is put under.
const REQUEST_KEY: &str = "sekisho:casevalue";

impl OperatorCase {
    pub fn run(&self) -> CaseResult {
        let mut result = CaseResult {
            id: self.id.clone(),
            name: self.name.clone(),
            expected: self.expected.to_string(),
            actual: String::new(),
            passed: false,
            disputed: false,
            explanation: String::new(),
            expected_blocked_by: None,
            blocked_by: Vec::new(),
        };
        match self.decide() {
            Ok(v) => {
                result.actual = v.to_string();
                result.passed = v == self.expected;
                result.explanation = format!(
                    "{}({}, {})",
                    self.operator,
                    self.request_value,
                    Value::Array(self.policy_values.clone())
                );
            }
            Err(e) => {
                result.actual = "Error".into();
                result.explanation = e;
            }
        }
        result
    }

    fn decide(&self) -> Result<bool, String> {
        let operator = Operator::parse(&self.operator)
            .ok_or_else(|| format!("unknown operator '{}'", self.operator))?;
        let mut context = context_from_json(&self.context)?;
        match &self.request_value {
            Value::Array(items) => context.insert_multi(
                REQUEST_KEY,
                items.iter().map(scalar_text).collect::<Result<_, _>>()?,
            ),
            v => context.insert(REQUEST_KEY, scalar_text(v)?),
        }
        let values = self
            .policy_values
            .iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Condition::new(operator, REQUEST_KEY, values, true).evaluate(&context))
    }
}

/// Runs every case of a file.
pub fn run_all(file: &CaseFile) -> Vec<CaseResult> {
    match file {
        CaseFile::Decisions(cases) => cases.iter().map(DecisionCase::run).collect(),
        CaseFile::Operators(cases) => cases.iter().map(OperatorCase::run).collect(),
    }
}
