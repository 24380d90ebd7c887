//! The policy linter: findings in the style of IAM Access Analyzer's
//! policy validation.
//!
//! [`validate`] reads a document and returns every finding, each with a
//! stable code, a severity, the JSON path and line/column of the element it
//! is about, and a concrete fix. Grammar errors come from the parser
//! ([`Policy::parse`](crate::Policy::parse), which stops at the first); the
//! other checks run on a lenient view of the span-keeping JSON tree, so one
//! run reports everything that can be read. Actions, resource types and
//! condition keys are checked against the IAM catalogue
//! ([`crate::catalog`]), loaded once per process.
//!
//! Every code is listed in [`CODES`] and documented in
//! `docs/policy-validation.md`.

mod actions;
mod conditions;
mod doc;
mod resources;
mod statement;
#[cfg(test)]
mod tests;
mod variables;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::condition::OPERATORS;
use crate::json::{self, Limits, Span};

/// How serious a finding is, as IAM Access Analyzer grades them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// The document is invalid, or part of it can never work as written.
    Error,
    /// The document grants more than it probably means to.
    SecurityWarning,
    /// Probably not what the author meant, or against best practice.
    Warning,
    /// Works, but could be simpler or clearer.
    Suggestion,
}

impl Severity {
    /// The name as serialized: `ERROR`, `SECURITY_WARNING`, `WARNING`,
    /// `SUGGESTION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::SecurityWarning => "SECURITY_WARNING",
            Severity::Warning => "WARNING",
            Severity::Suggestion => "SUGGESTION",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a policy is used, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyType {
    /// Attached to a user, group or role (`identity`).
    #[default]
    Identity,
    /// Attached to a resource: bucket, key, guardrail... (`resource`).
    Resource,
    /// An organization's service control policy (`scp`).
    ServiceControl,
    /// An organization's resource control policy (`rcp`).
    ResourceControl,
    /// A role's trust policy (`trust`).
    Trust,
    /// A permissions boundary (`boundary`).
    Boundary,
    /// A session policy passed to AssumeRole (`session`).
    Session,
    /// A VPC endpoint policy (`endpoint`).
    Endpoint,
}

impl PolicyType {
    /// Every type, in the order the CLI lists them.
    pub const ALL: [PolicyType; 8] = [
        PolicyType::Identity,
        PolicyType::Resource,
        PolicyType::ServiceControl,
        PolicyType::ResourceControl,
        PolicyType::Trust,
        PolicyType::Boundary,
        PolicyType::Session,
        PolicyType::Endpoint,
    ];

    /// The CLI name: `identity`, `resource`, `scp`, `rcp`, `trust`,
    /// `boundary`, `session`, `endpoint`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity",
            PolicyType::Resource => "resource",
            PolicyType::ServiceControl => "scp",
            PolicyType::ResourceControl => "rcp",
            PolicyType::Trust => "trust",
            PolicyType::Boundary => "boundary",
            PolicyType::Session => "session",
            PolicyType::Endpoint => "endpoint",
        }
    }

    /// How a person calls it in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity policy",
            PolicyType::Resource => "a resource policy",
            PolicyType::ServiceControl => "a service control policy",
            PolicyType::ResourceControl => "a resource control policy",
            PolicyType::Trust => "a trust policy",
            PolicyType::Boundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
            PolicyType::Endpoint => "a VPC endpoint policy",
        }
    }

    /// Policies that name their principals (`Principal` required).
    pub fn names_principals(self) -> bool {
        matches!(
            self,
            PolicyType::Resource
                | PolicyType::Trust
                | PolicyType::ResourceControl
                | PolicyType::Endpoint
        )
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PolicyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "identity" | "identity-policy" => PolicyType::Identity,
            "resource" | "resource-policy" => PolicyType::Resource,
            "scp" | "service-control" | "service-control-policy" => PolicyType::ServiceControl,
            "rcp" | "resource-control" | "resource-control-policy" => PolicyType::ResourceControl,
            "trust" | "trust-policy" => PolicyType::Trust,
            "boundary" | "permissions-boundary" => PolicyType::Boundary,
            "session" | "session-policy" => PolicyType::Session,
            "endpoint" | "vpc-endpoint" | "endpoint-policy" => PolicyType::Endpoint,
            _ => {
                return Err(format!(
                    "unknown policy type '{s}'; expected one of {}",
                    PolicyType::ALL.map(PolicyType::as_str).join(", ")
                ));
            }
        };
        Ok(alias)
    }
}

/// One thing the linter found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code, such as `UNKNOWN_CONDITION_KEY` (see [`CODES`]).
    pub code: &'static str,
    pub severity: Severity,
    /// What is wrong, for a person.
    pub message: String,
    /// JSON path of the element, such as
    /// `Statement[1].Condition.StringEquals.bedrock:GuardrailArn`; empty for
    /// the document as a whole.
    pub path: String,
    /// 1-based line of the element.
    pub line: usize,
    /// 1-based column (in characters) of the element.
    pub column: usize,
    /// How to fix it, concretely.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} {}",
            self.line, self.column, self.severity, self.code
        )?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {} Fix: {}", self.message, self.fix)
    }
}

/// A finding code with its usual severity and a one-line summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: &'static str,
    /// The severity the code is usually reported with (some codes change
    /// severity with the policy type or effect; the docs say when).
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($code:ident $sev:ident $summary:literal;)*) => {
        /// Every finding code the linter reports.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: stringify!($code), severity: Severity::$sev, summary: $summary },)*
        ];
    };
}

codes! {
    INVALID_ENCODING Error "The document is not valid UTF-8.";
    POLICY_TOO_LARGE Error "The document is larger than the reader accepts.";
    NESTING_TOO_DEEP Error "Arrays and objects are nested deeper than the reader accepts.";
    INVALID_JSON Error "The document is not valid JSON.";
    GRAMMAR_ERROR Error "The document breaks the IAM policy grammar.";
    MISSING_VERSION Warning "No Version: policy variables are not substituted.";
    EMPTY_STATEMENT Error "The Statement list is empty.";
    DUPLICATE_SID Error "Two statements share a Sid.";
    UNSUPPORTED_SID Error "The Sid holds characters this policy type does not accept.";
    POLICY_SIZE_QUOTA Warning "The document is larger than AWS accepts for this policy type.";
    UNSUPPORTED_PRINCIPAL Error "Principal or NotPrincipal in a policy type that does not take one.";
    MISSING_PRINCIPAL Error "No Principal in a policy type that needs one.";
    INVALID_PRINCIPAL_FORMAT Error "A principal given as a plain string other than \"*\".";
    INVALID_PRINCIPAL Error "A principal that is not an account, ARN, service or provider of its kind.";
    UNSUPPORTED_WILDCARD_IN_PRINCIPAL Error "A wildcard inside a principal.";
    ALLOW_WITH_NOT_PRINCIPAL SecurityWarning "Allow with NotPrincipal grants to everyone not listed.";
    DENY_WITH_NOT_PRINCIPAL Warning "Deny with NotPrincipal is fragile.";
    PUBLIC_ACCESS SecurityWarning "Allow to Principal \"*\" without a condition.";
    MISSING_SOURCE_CONDITION Warning "A service principal is allowed without aws:SourceAccount / aws:SourceArn (confused deputy).";
    TRUST_POLICY_ACTION Error "A trust policy action other than sts:AssumeRole*, sts:TagSession, sts:SetSourceIdentity, sts:SetContext.";
    TRUST_POLICY_RESOURCE Error "Resource or NotResource in a trust policy.";
    MISSING_RESOURCE Error "No Resource or NotResource.";
    INVALID_ACTION Error "An action that is not \"*\" or service:action.";
    UNKNOWN_SERVICE Error "An action's service prefix is not an AWS service.";
    UNKNOWN_ACTION Error "The service has no such action.";
    WILDCARD_MATCHES_NO_ACTION Error "An action wildcard matches no action of its service.";
    REDUNDANT_ACTION Suggestion "An action is repeated or covered by another in the same statement.";
    ALLOW_WITH_NOT_ACTION SecurityWarning "Allow with NotAction grants every other action.";
    ALLOW_WITH_NOT_RESOURCE SecurityWarning "Allow with NotResource grants every other resource.";
    FULL_ADMIN SecurityWarning "Allow of action \"*\" on resource \"*\".";
    PASS_ROLE_WITH_STAR SecurityWarning "iam:PassRole allowed on every role.";
    INVALID_ARN Error "A resource or principal that is not \"*\" and not an ARN.";
    INVALID_ARN_ACCOUNT Error "An ARN's account is not a 12-digit account ID.";
    INVALID_BUCKET_NAME Warning "An S3 ARN whose bucket cannot be a bucket name.";
    RESOURCE_SERVICE_MISMATCH Warning "A resource ARN of another service than the statement's actions.";
    RESOURCE_TYPE_MISMATCH Warning "A resource ARN that matches no resource type of the statement's actions.";
    ACTION_RESOURCE_MISMATCH Warning "An action that none of the statement's resources applies to.";
    REDUNDANT_RESOURCE Suggestion "A resource is repeated or covered by another in the same statement.";
    UNKNOWN_OPERATOR Error "A condition operator that does not exist.";
    NULL_WITH_QUALIFIER Error "Null with IfExists, ForAllValues or ForAnyValue.";
    INVALID_CONDITION_VALUE Error "A condition value its operator cannot read.";
    EMPTY_CONDITION_VALUES Warning "A condition key with an empty list of values.";
    EMPTY_CONDITION Suggestion "An empty Condition block or operator.";
    WILDCARD_WITHOUT_LIKE_OPERATOR Warning "A wildcard in the value of an operator that compares literally.";
    UNKNOWN_CONDITION_KEY Error "A condition key that does not exist.";
    CONDITION_KEY_SERVICE_MISMATCH Warning "A service condition key of a service none of the statement's actions belong to.";
    CONDITION_KEY_NOT_SUPPORTED Warning "A condition key none of the statement's actions supports.";
    CONDITION_TYPE_MISMATCH Warning "An operator of another type than the condition key.";
    MISSING_QUALIFIER Warning "A multivalued key without ForAllValues or ForAnyValue.";
    FORALLVALUES_WITH_SINGLE_VALUED_KEY SecurityWarning "ForAllValues with a single-valued key.";
    FORANYVALUE_WITH_SINGLE_VALUED_KEY Suggestion "ForAnyValue with a single-valued key.";
    INVALID_ACCOUNT_VALUE Warning "An account condition value that is not a 12-digit account ID.";
    INVALID_VARIABLE_PLACEMENT Error "A policy variable where variables are not substituted.";
    VARIABLE_WITHOUT_VERSION Error "A policy variable in a document without Version 2012-10-17.";
    MALFORMED_VARIABLE Error "A ${...} that is not a well-formed policy variable.";
    UNKNOWN_VARIABLE Warning "A policy variable naming no known condition key.";
    MULTIVALUED_VARIABLE Warning "A policy variable naming a multivalued key, which is never substituted.";
}

/// The code's entry in [`CODES`].
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

/// Collects findings, turning spans into line and column.
struct Sink<'s> {
    src: &'s str,
    /// Byte offsets where lines start, built on the first finding.
    line_starts: Vec<usize>,
    findings: Vec<Finding>,
}

impl<'s> Sink<'s> {
    fn new(src: &'s str) -> Sink<'s> {
        Sink {
            src,
            line_starts: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset, as
    /// [`json::line_col`] gives them, without rescanning the document for
    /// every finding.
    fn line_col(&mut self, offset: usize) -> (usize, usize) {
        if self.line_starts.is_empty() {
            self.line_starts.push(0);
            self.line_starts
                .extend(self.src.match_indices('\n').map(|(i, _)| i + 1));
        }
        let offset = offset.min(self.src.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .src
            .get(start..offset)
            .map_or(1, |t| t.chars().count() + 1);
        (line.max(1), column)
    }

    /// Records a finding about the element at `path` / `span`.
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        path: &str,
        span: Span,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        debug_assert!(code_info(code).is_some(), "undocumented code {code}");
        let (line, column) = self.line_col(span.start);
        self.findings.push(Finding {
            code,
            severity,
            message: message.into(),
            path: path.to_string(),
            line,
            column,
            fix: fix.into(),
        });
    }

    /// Records a finding at a located element.
    fn at(
        &mut self,
        code: &'static str,
        severity: Severity,
        loc: &doc::Loc,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(code, severity, &loc.path, loc.span, message, fix);
    }
}

/// Validates a policy document of the given type.
///
/// Never panics, whatever the input: unreadable documents (not UTF-8, too
/// large, too deeply nested, not JSON) give one ERROR finding. The result is
/// in document order.
pub fn validate(input: &[u8], policy_type: PolicyType) -> Vec<Finding> {
    let limits = Limits::default();
    if input.len() > limits.max_bytes {
        let mut sink = Sink::new("");
        sink.push(
            "POLICY_TOO_LARGE",
            Severity::Error,
            "",
            Span::default(),
            format!(
                "The document is {} bytes; the linter reads documents of up to {} bytes (the largest AWS policy, a KMS key policy, may be 32 KiB).",
                input.len(),
                limits.max_bytes
            ),
            "Split the document into several policies, or remove statements; AWS rejects a document this large anyway.",
        );
        return sink.findings;
    }
    let src = match std::str::from_utf8(input) {
        Ok(src) => src,
        Err(e) => {
            let valid = input.get(..e.valid_up_to()).unwrap_or_default();
            let prefix = std::str::from_utf8(valid).unwrap_or("");
            let mut sink = Sink::new(prefix);
            sink.push(
                "INVALID_ENCODING",
                Severity::Error,
                "",
                Span {
                    start: prefix.len(),
                    end: prefix.len(),
                },
                format!(
                    "The document is not valid UTF-8: the byte at offset {} cannot start or continue a character.",
                    e.valid_up_to()
                ),
                "Save the document as UTF-8 (policies are JSON, which is UTF-8); check the file is not UTF-16 or a binary file.",
            );
            return sink.findings;
        }
    };
    let mut sink = Sink::new(src);
    let root = match json::parse(input, &limits) {
        Ok(root) => root,
        Err(e) => {
            let (code, fix) = if e.message.contains("deeper than the limit") {
                (
                    "NESTING_TOO_DEEP",
                    format!(
                        "A policy nests at most a few levels (Statement, Condition, operator, key, values); remove the extra nesting (the limit is {}).",
                        limits.max_depth
                    ),
                )
            } else {
                (
                    "INVALID_JSON",
                    "Fix the JSON syntax at this line and column: names and strings in double quotes, no trailing commas, no comments.".to_string(),
                )
            };
            sink.push(
                code,
                Severity::Error,
                "",
                Span {
                    start: e.offset,
                    end: e.offset,
                },
                format!("The document is not valid JSON: {}.", e.message),
                fix,
            );
            return sink.findings;
        }
    };
    let grammar = crate::Policy::parse_with(input, &limits).err();
    if let Some(document) = doc::read(&root) {
        statement::check(&document, policy_type, src, &mut sink);
    }
    if let Some(e) = grammar {
        // A check above may already have reported the same element with a
        // more precise code (an unknown operator, say).
        let covered = sink
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && !e.path.is_empty() && f.path == e.path);
        if !covered {
            sink.findings.push(Finding {
                code: "GRAMMAR_ERROR",
                severity: Severity::Error,
                message: format!("{}.", e.message.trim_end_matches('.')),
                path: e.path.clone(),
                line: e.line,
                column: e.column,
                fix: grammar_fix(&e.message),
            });
        }
    }
    let mut findings = sink.findings;
    findings.sort_by(|a, b| {
        (a.line, a.column, a.severity, a.code).cmp(&(b.line, b.column, b.severity, b.code))
    });
    findings.dedup();
    findings
}

/// A fix for a parser message.
fn grammar_fix(message: &str) -> String {
    if let Some(i) = message.find("did you mean") {
        return format!(
            "Use the name the message suggests ({}).",
            message[i..].trim_end_matches(['?', '.'])
        );
    }
    if message.contains("missing required element") {
        return "Add the missing element; see the IAM policy grammar.".to_string();
    }
    if message.contains("not both") {
        return "Keep one of the two elements: a statement takes either the element or its Not- form.".to_string();
    }
    if message.contains("empty array") {
        return "List at least one value, or remove the statement.".to_string();
    }
    if message.contains("duplicate element") {
        return "Remove the repeated element; JSON readers disagree about which of two equal names wins.".to_string();
    }
    if message.contains("Version") {
        return "Set \"Version\": \"2012-10-17\".".to_string();
    }
    "Change the element to what the message says is expected.".to_string()
}

/// `text` when it is short enough to look for a "did you mean": the
/// similarity measures cost the product of the lengths.
fn short(text: &str) -> Option<&str> {
    (text.len() <= 128).then_some(text)
}

/// The closest known operator name to a misspelt one, qualifiers and the
/// `IfExists` suffix kept.
pub fn suggest_operator(name: &str) -> Option<String> {
    let (prefix, rest) = ["ForAllValues:", "ForAnyValue:"]
        .iter()
        .find_map(|q| {
            // Qualifiers are matched case-insensitively here, so that a
            // misspelt `forallvalues:` is corrected too.
            let head = name.get(..q.len())?;
            head.eq_ignore_ascii_case(q)
                .then(|| (*q, name.get(q.len()..).unwrap_or("")))
        })
        .unwrap_or(("", name));
    let cut = rest.len().saturating_sub("IfExists".len());
    let (base, suffix) = match rest.get(cut..) {
        Some(tail) if cut > 0 && tail.eq_ignore_ascii_case("IfExists") => {
            (rest.get(..cut).unwrap_or(rest), "IfExists")
        }
        _ => (rest, ""),
    };
    let best = OPERATORS
        .iter()
        .map(|(n, _)| {
            (
                strsim::jaro_winkler(&base.to_lowercase(), &n.to_lowercase()),
                *n,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (best.0 >= 0.85).then(|| format!("{prefix}{}{suffix}", best.1))
}
