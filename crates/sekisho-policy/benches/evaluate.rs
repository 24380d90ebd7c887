//! Decisions per second of the IAM evaluator on a realistic, precompiled
//! policy set, against `cedar-policy` deciding the same permissions.
//!
//! The permissions are written once, in a small neutral form (`Stmt`), and
//! rendered to both languages, so the two engines decide the same thing:
//!
//! * 10 identity policies of 10 statements each (Bedrock, S3, KMS and Logs
//!   actions with wildcards, ARN patterns with wildcards, StringEquals /
//!   StringLike / IpAddress / Bool / NumericLessThan / ForAnyValue / Null /
//!   ArnNotLike conditions, Deny statements, policy variables);
//! * 3 SCP levels (root: region restriction with `NotAction` and
//!   `StringNotEquals`; OU: "require a guardrail"; account: an allow-list);
//! * a permissions boundary and a resource (bucket) policy;
//! * a request context of 10 keys.
//!
//! In Cedar, an IAM Allow becomes a `permit`, a Deny a `forbid`; a layer that
//! must allow (an SCP level, the boundary) becomes
//! `forbid (principal in <scope>, action, resource) unless { <its allows> }`;
//! IAM action wildcards become action groups (computed from the actions in
//! use), ARN patterns `like` on a `resource.arn` attribute, and conditions
//! `when` clauses on the context. Cedar has no string interpolation, so the
//! policy variable in an S3 ARN becomes a comparison of a resource attribute
//! (the object's owner prefix) with the principal tag in the context.
//!
//! Both engines are checked to reach the expected decision for every request
//! before anything is timed. `cargo bench -p sekisho-policy --bench evaluate`
//! runs the criterion benchmarks, then prints a table of decisions per second
//! and the ratio; under `cargo test` each benchmark runs once, as a test.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use serde_json::{Map, Value, json};

use sekisho_policy::eval::evaluate_with;
use sekisho_policy::glob::Glob;
use sekisho_policy::{Context, Outcome, Policy, PolicySet, Principal, Request};

const ACCOUNT: &str = "111122223333";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/BedrockAppRole";
const SESSION_ARN: &str = "arn:aws:sts::111122223333:assumed-role/BedrockAppRole/alice";
const ORG_ID: &str = "o-a1b2c3d4e5";
const ORG_PATH: &str = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/";
const OU: &str = "ou-ab12-11111111";
const ROOT: &str = "r-ab12";
const GUARDRAIL: &str = "arn:aws:bedrock:us-east-1:111122223333:guardrail/indus-chat";
const REGIONS: &[&str] = &["us-east-1", "ap-northeast-1"];

// ---------------------------------------------------------------------------
// The permissions, in a neutral form.

/// One condition, named after its IAM operator.
enum Cond {
    StringEquals(&'static str, Vec<String>),
    StringNotEquals(&'static str, Vec<String>),
    StringNotLikeIfExists(&'static str, Vec<String>),
    IpAddress(&'static str, Vec<&'static str>),
    Bool(&'static str, bool),
    BoolIfExists(&'static str, bool),
    NumericLessThan(&'static str, i64),
    ForAnyValueStringEquals(&'static str, Vec<String>),
    /// `Null: {key: true}`: the key is absent.
    NullTrue(&'static str),
    ArnNotLike(&'static str, Vec<String>),
    /// `StringEquals: {key: "${variable}"}`.
    StringEqualsVariable(&'static str, &'static str),
}

enum Res {
    /// `*`
    Any,
    /// An ARN pattern with `*` wildcards.
    Arn(String),
    /// `arn:aws:s3:::<bucket>/${aws:PrincipalTag/team}/*`.
    TeamPrefix(String),
}

struct Stmt {
    sid: &'static str,
    deny: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    resources: Vec<Res>,
    /// Resource policies only: `*` or an IAM ARN.
    principal: Option<&'static str>,
    conditions: Vec<Cond>,
}

impl Stmt {
    fn allow(sid: &'static str, actions: &[&'static str], resources: Vec<Res>) -> Stmt {
        Stmt {
            sid,
            deny: false,
            not_action: false,
            actions: actions.to_vec(),
            resources,
            principal: None,
            conditions: Vec::new(),
        }
    }

    fn deny(sid: &'static str, actions: &[&'static str], resources: Vec<Res>) -> Stmt {
        Stmt {
            deny: true,
            ..Stmt::allow(sid, actions, resources)
        }
    }

    fn when(mut self, c: Cond) -> Stmt {
        self.conditions.push(c);
        self
    }

    fn not_action(mut self) -> Stmt {
        self.not_action = true;
        self
    }

    fn principal(mut self, p: &'static str) -> Stmt {
        self.principal = Some(p);
        self
    }
}

struct Doc {
    name: String,
    statements: Vec<Stmt>,
}

fn arn(s: impl Into<String>) -> Res {
    Res::Arn(s.into())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const PROJECTS: [&str; 10] = [
    "atlas", "borealis", "cygnus", "draco", "eridanus", "fornax", "gemini", "hydra", "indus",
    "lyra",
];
const FAMILIES: [&str; 10] = [
    "amazon",
    "meta",
    "mistral",
    "cohere",
    "ai21",
    "stability",
    "writer",
    "deepseek",
    "anthropic",
    "qwen",
];

/// Ten identity policies of ten statements: one per project the role works
/// on. The request that is allowed is granted by the ninth.
fn identity_policies() -> Vec<Doc> {
    (0..10)
        .map(|i| {
            let p = PROJECTS[i];
            let f = FAMILIES[i];
            let statements = vec![
                Stmt::allow(
                    "InvokeFamilyModels",
                    &[
                        "bedrock:InvokeModel",
                        "bedrock:InvokeModelWithResponseStream",
                    ],
                    vec![arn(format!("arn:aws:bedrock:*::foundation-model/{f}.*"))],
                )
                .when(Cond::StringEquals("aws:RequestedRegion", strings(REGIONS))),
                Stmt::allow(
                    "ReadModelCatalog",
                    &["bedrock:Get*", "bedrock:List*"],
                    vec![
                        arn(format!(
                            "arn:aws:bedrock:*:{ACCOUNT}:inference-profile/{p}-*"
                        )),
                        arn("arn:aws:bedrock:*::foundation-model/*"),
                    ],
                )
                .when(Cond::Bool("aws:SecureTransport", true)),
                Stmt::allow(
                    "ApplyProjectGuardrails",
                    &["bedrock:ApplyGuardrail"],
                    vec![arn(format!("arn:aws:bedrock:*:{ACCOUNT}:guardrail/{p}-*"))],
                )
                .when(Cond::IpAddress(
                    "aws:SourceIp",
                    vec!["10.0.0.0/8", "192.168.0.0/16"],
                )),
                Stmt::allow(
                    "ReadKnowledgeBaseBucket",
                    &["s3:GetObject", "s3:ListBucket"],
                    vec![
                        arn(format!("arn:aws:s3:::{p}-kb-*")),
                        arn(format!("arn:aws:s3:::{p}-kb-*/*")),
                    ],
                )
                .when(Cond::StringEquals("aws:PrincipalTag/team", strings(&[p]))),
                Stmt::allow(
                    "TeamHomePrefix",
                    &["s3:PutObject", "s3:GetObject"],
                    vec![Res::TeamPrefix(format!("{p}-home"))],
                )
                .when(Cond::NumericLessThan("aws:MultiFactorAuthAge", 3600)),
                Stmt::allow(
                    "DataKeysThroughServices",
                    &["kms:Decrypt", "kms:GenerateDataKey*"],
                    vec![arn(format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/*"))],
                )
                .when(Cond::StringEquals(
                    "kms:ViaService",
                    strings(&[
                        "s3.us-east-1.amazonaws.com",
                        "bedrock.us-east-1.amazonaws.com",
                    ]),
                )),
                Stmt::allow(
                    "WriteInvocationLogs",
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    vec![arn(format!(
                        "arn:aws:logs:*:{ACCOUNT}:log-group:/aws/bedrock/{p}*:*"
                    ))],
                ),
                Stmt::allow(
                    "RetrieveFromTeamKnowledgeBases",
                    &["bedrock:Retrieve", "bedrock:RetrieveAndGenerate"],
                    vec![arn(format!("arn:aws:bedrock:*:{ACCOUNT}:knowledge-base/*"))],
                )
                .when(Cond::ForAnyValueStringEquals(
                    "aws:PrincipalOrgPaths",
                    strings(&[ORG_PATH]),
                ))
                .when(Cond::StringEqualsVariable(
                    "aws:ResourceTag/team",
                    "aws:PrincipalTag/team",
                )),
                Stmt::deny("DenyBedrockWithoutMfa", &["bedrock:*"], vec![Res::Any])
                    .when(Cond::BoolIfExists("aws:MultiFactorAuthPresent", false)),
                Stmt::deny(
                    "DenyDestructiveActions",
                    &[
                        "s3:DeleteObject*",
                        "s3:PutBucketPolicy",
                        "kms:ScheduleKeyDeletion",
                    ],
                    vec![Res::Any],
                ),
            ];
            Doc {
                name: format!("{p}-developer"),
                statements,
            }
        })
        .collect()
}

fn full_aws_access() -> Stmt {
    Stmt::allow("FullAWSAccess", &["*"], vec![Res::Any])
}

/// SCP levels, root first: the root's region restriction, the OU's "require
/// a guardrail", the account's service allow-list.
fn scp_levels() -> Vec<Doc> {
    let invoke = [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
    ];
    vec![
        Doc {
            name: "root/RegionRestriction".into(),
            statements: vec![
                full_aws_access(),
                Stmt::deny(
                    "DenyOutsideApprovedRegions",
                    &[
                        "iam:*",
                        "organizations:*",
                        "sts:*",
                        "support:*",
                        "cloudfront:*",
                        "route53:*",
                        "budgets:*",
                    ],
                    vec![Res::Any],
                )
                .not_action()
                .when(Cond::StringNotEquals(
                    "aws:RequestedRegion",
                    strings(REGIONS),
                ))
                .when(Cond::ArnNotLike(
                    "aws:PrincipalArn",
                    strings(&["arn:aws:iam::*:role/OrgAdmin"]),
                )),
            ],
        },
        Doc {
            name: "ou/GenAIGuardrails".into(),
            statements: vec![
                full_aws_access(),
                Stmt::deny("RequireGuardrail", &invoke, vec![Res::Any])
                    .when(Cond::NullTrue("bedrock:GuardrailIdentifier")),
                Stmt::deny("RequireOwnGuardrail", &invoke, vec![Res::Any]).when(
                    Cond::StringNotLikeIfExists(
                        "bedrock:GuardrailIdentifier",
                        strings(&["arn:aws:bedrock:*:111122223333:guardrail/*"]),
                    ),
                ),
                Stmt::deny(
                    "ProtectAuditTrail",
                    &[
                        "cloudtrail:StopLogging",
                        "cloudtrail:DeleteTrail",
                        "logs:DeleteLogGroup",
                    ],
                    vec![Res::Any],
                ),
            ],
        },
        Doc {
            name: "account/AllowListedServices".into(),
            statements: vec![
                Stmt::allow(
                    "AllowListedServices",
                    &[
                        "bedrock:*",
                        "s3:*",
                        "kms:*",
                        "logs:*",
                        "sts:*",
                        "iam:Get*",
                        "iam:List*",
                        "cloudwatch:*",
                    ],
                    vec![Res::Any],
                ),
                Stmt::deny(
                    "ProtectKeys",
                    &["kms:ScheduleKeyDeletion", "kms:DisableKey"],
                    vec![Res::Any],
                )
                .when(Cond::ArnNotLike(
                    "aws:PrincipalArn",
                    strings(&["arn:aws:iam::*:role/KeyAdmin"]),
                )),
            ],
        },
    ]
}

fn boundary() -> Doc {
    Doc {
        name: "DeveloperBoundary".into(),
        statements: vec![
            Stmt::allow(
                "WorkloadServices",
                &["bedrock:*", "s3:*", "logs:*"],
                vec![Res::Any],
            )
            .when(Cond::StringEquals("aws:PrincipalOrgID", strings(&[ORG_ID]))),
            Stmt::allow(
                "AccountKeys",
                &["kms:Decrypt", "kms:GenerateDataKey*"],
                vec![arn(format!("arn:aws:kms:*:{ACCOUNT}:key/*"))],
            ),
            Stmt::deny(
                "NoIdentityChanges",
                &["iam:*", "organizations:*"],
                vec![Res::Any],
            ),
            Stmt::deny(
                "NoBucketPolicyChanges",
                &["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
                vec![Res::Any],
            ),
        ],
    }
}

/// The bucket policy of `indus-home`.
fn resource_policy() -> Doc {
    let bucket = || {
        vec![
            arn("arn:aws:s3:::indus-home"),
            arn("arn:aws:s3:::indus-home/*"),
        ]
    };
    Doc {
        name: "indus-home bucket policy".into(),
        statements: vec![
            Stmt::deny("DenyInsecureTransport", &["s3:*"], bucket())
                .principal("*")
                .when(Cond::Bool("aws:SecureTransport", false)),
            Stmt::deny("DenyOutsideOrganization", &["s3:*"], bucket())
                .principal("*")
                .when(Cond::StringNotEquals(
                    "aws:PrincipalOrgID",
                    strings(&[ORG_ID]),
                )),
            Stmt::allow(
                "TeamHomeAccess",
                &["s3:GetObject", "s3:PutObject"],
                vec![Res::TeamPrefix("indus-home".into())],
            )
            .principal(ROLE_ARN),
        ],
    }
}

// ---------------------------------------------------------------------------
// Requests.

#[derive(Clone)]
enum CtxValue {
    Str(&'static str),
    Bool(bool),
    Long(i64),
    Ip(&'static str),
    Set(Vec<&'static str>),
}

fn base_context() -> Vec<(&'static str, CtxValue)> {
    vec![
        ("aws:RequestedRegion", CtxValue::Str("us-east-1")),
        ("aws:SourceIp", CtxValue::Ip("10.20.30.40")),
        ("aws:SecureTransport", CtxValue::Bool(true)),
        ("aws:MultiFactorAuthPresent", CtxValue::Bool(true)),
        ("aws:MultiFactorAuthAge", CtxValue::Long(300)),
        ("aws:PrincipalTag/team", CtxValue::Str("indus")),
        ("aws:PrincipalOrgID", CtxValue::Str(ORG_ID)),
        ("aws:PrincipalOrgPaths", CtxValue::Set(vec![ORG_PATH])),
        ("aws:PrincipalArn", CtxValue::Str(ROLE_ARN)),
        ("bedrock:GuardrailIdentifier", CtxValue::Str(GUARDRAIL)),
    ]
}

struct Case {
    name: &'static str,
    action: &'static str,
    resource: &'static str,
    /// Resource attributes for Cedar, beyond `arn`.
    owner: Option<&'static str>,
    context: Vec<(&'static str, CtxValue)>,
    expected: Outcome,
}

fn cases() -> Vec<Case> {
    let without_guardrail: Vec<_> = base_context()
        .into_iter()
        .filter(|(k, _)| *k != "bedrock:GuardrailIdentifier")
        .collect();
    vec![
        Case {
            name: "allowed/bedrock-invoke",
            action: "bedrock:InvokeModel",
            resource: "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
            owner: None,
            context: base_context(),
            expected: Outcome::Allowed,
        },
        Case {
            name: "allowed/s3-policy-variable",
            action: "s3:PutObject",
            resource: "arn:aws:s3:::indus-home/indus/notes/2025-01-01.md",
            owner: Some("indus"),
            context: base_context(),
            expected: Outcome::Allowed,
        },
        Case {
            name: "implicit-deny/model-not-granted",
            action: "bedrock:InvokeModel",
            resource: "arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0",
            owner: None,
            context: base_context(),
            expected: Outcome::ImplicitlyDenied,
        },
        Case {
            name: "explicit-deny/scp-no-guardrail",
            action: "bedrock:InvokeModel",
            resource: "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
            owner: None,
            context: without_guardrail,
            expected: Outcome::ExplicitlyDenied,
        },
    ]
}

// ---------------------------------------------------------------------------
// Rendering to IAM JSON.

fn iam_operator(c: &Cond) -> (&'static str, &'static str, Value) {
    match c {
        Cond::StringEquals(k, v) => ("StringEquals", k, json!(v)),
        Cond::StringNotEquals(k, v) => ("StringNotEquals", k, json!(v)),
        Cond::StringNotLikeIfExists(k, v) => ("StringNotLikeIfExists", k, json!(v)),
        Cond::IpAddress(k, v) => ("IpAddress", k, json!(v)),
        Cond::Bool(k, b) => ("Bool", k, json!(b.to_string())),
        Cond::BoolIfExists(k, b) => ("BoolIfExists", k, json!(b.to_string())),
        Cond::NumericLessThan(k, n) => ("NumericLessThan", k, json!(n.to_string())),
        Cond::ForAnyValueStringEquals(k, v) => ("ForAnyValue:StringEquals", k, json!(v)),
        Cond::NullTrue(k) => ("Null", k, json!("true")),
        Cond::ArnNotLike(k, v) => ("ArnNotLike", k, json!(v)),
        Cond::StringEqualsVariable(k, var) => ("StringEquals", k, json!(format!("${{{var}}}"))),
    }
}

fn iam_resource(r: &Res) -> String {
    match r {
        Res::Any => "*".into(),
        Res::Arn(a) => a.clone(),
        Res::TeamPrefix(bucket) => format!("arn:aws:s3:::{bucket}/${{aws:PrincipalTag/team}}/*"),
    }
}

fn to_iam(doc: &Doc) -> Policy {
    let statements: Vec<Value> = doc
        .statements
        .iter()
        .map(|s| {
            let mut o = Map::new();
            o.insert("Sid".into(), json!(s.sid));
            o.insert(
                "Effect".into(),
                json!(if s.deny { "Deny" } else { "Allow" }),
            );
            match s.principal {
                Some("*") => {
                    o.insert("Principal".into(), json!("*"));
                }
                Some(p) => {
                    o.insert("Principal".into(), json!({ "AWS": p }));
                }
                None => {}
            }
            let action_key = if s.not_action { "NotAction" } else { "Action" };
            o.insert(action_key.into(), json!(s.actions));
            let resources: Vec<String> = s.resources.iter().map(iam_resource).collect();
            o.insert("Resource".into(), json!(resources));
            if !s.conditions.is_empty() {
                let mut block = Map::new();
                for c in &s.conditions {
                    let (op, key, values) = iam_operator(c);
                    block
                        .entry(op)
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("an object")
                        .insert(key.to_string(), values);
                }
                o.insert("Condition".into(), Value::Object(block));
            }
            Value::Object(o)
        })
        .collect();
    let text = serde_json::to_string_pretty(&json!({
        "Version": "2012-10-17",
        "Statement": statements,
    }))
    .expect("serializable");
    Policy::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", doc.name))
        .named(doc.name.clone())
}

fn iam_context(values: &[(&str, CtxValue)]) -> Context {
    let mut ctx = Context::new();
    for (k, v) in values {
        match v {
            CtxValue::Str(s) | CtxValue::Ip(s) => ctx.insert(k, *s),
            CtxValue::Bool(b) => ctx.insert(k, b.to_string()),
            CtxValue::Long(n) => ctx.insert(k, n.to_string()),
            CtxValue::Set(v) => ctx.insert_multi(k, v.iter().map(|s| s.to_string()).collect()),
        }
    }
    ctx
}

// ---------------------------------------------------------------------------
// Rendering to Cedar.

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

fn ctx_key(k: &str) -> String {
    format!("context[{}]", quote(&k.to_ascii_lowercase()))
}

fn ctx_has(k: &str) -> String {
    format!("context has {}", quote(&k.to_ascii_lowercase()))
}

fn cedar_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

fn any_like(k: &str, patterns: &[String]) -> String {
    let alts: Vec<String> = patterns
        .iter()
        .map(|p| format!("{} like {}", ctx_key(k), quote(p)))
        .collect();
    format!("({})", alts.join(" || "))
}

fn cedar_condition(c: &Cond) -> String {
    match c {
        Cond::StringEquals(k, v) => format!(
            "({} && {}.contains({}))",
            ctx_has(k),
            cedar_list(v),
            ctx_key(k)
        ),
        Cond::StringNotEquals(k, v) => format!(
            "!({} && {}.contains({}))",
            ctx_has(k),
            cedar_list(v),
            ctx_key(k)
        ),
        Cond::StringNotLikeIfExists(k, v) | Cond::ArnNotLike(k, v) => {
            format!("!({} && {})", ctx_has(k), any_like(k, v))
        }
        Cond::IpAddress(k, v) => {
            let alts: Vec<String> = v
                .iter()
                .map(|c| format!("{}.isInRange(ip({}))", ctx_key(k), quote(c)))
                .collect();
            format!("({} && ({}))", ctx_has(k), alts.join(" || "))
        }
        Cond::Bool(k, b) => format!("({} && {} == {b})", ctx_has(k), ctx_key(k)),
        Cond::BoolIfExists(k, b) => format!("(!({}) || {} == {b})", ctx_has(k), ctx_key(k)),
        Cond::NumericLessThan(k, n) => format!("({} && {} < {n})", ctx_has(k), ctx_key(k)),
        Cond::ForAnyValueStringEquals(k, v) => format!(
            "({} && {}.containsAny({}))",
            ctx_has(k),
            ctx_key(k),
            cedar_list(v)
        ),
        Cond::NullTrue(k) => format!("!({})", ctx_has(k)),
        Cond::StringEqualsVariable(k, var) => format!(
            "({} && {} && {} == {})",
            ctx_has(k),
            ctx_has(var),
            ctx_key(k),
            ctx_key(var)
        ),
    }
}

fn cedar_resource(r: &Res) -> String {
    match r {
        Res::Any => "true".into(),
        Res::Arn(a) => format!("resource.arn like {}", quote(a)),
        Res::TeamPrefix(bucket) => format!(
            "(resource.arn like {} && resource has owner && {} && resource.owner == {})",
            quote(&format!("arn:aws:s3:::{bucket}/*/*")),
            ctx_has("aws:PrincipalTag/team"),
            ctx_key("aws:PrincipalTag/team")
        ),
    }
}

fn action_uid(a: &str) -> String {
    format!("Action::{}", quote(&a.to_ascii_lowercase()))
}

fn action_set(actions: &[&str]) -> String {
    let items: Vec<String> = actions.iter().map(|a| action_uid(a)).collect();
    format!("[{}]", items.join(", "))
}

/// The statement's action (when `with_action`), resource and conditions as
/// one Cedar expression.
fn cedar_expr(s: &Stmt, with_action: bool) -> String {
    let mut parts = Vec::new();
    let any_action = s.actions.contains(&"*");
    if s.not_action {
        parts.push(if any_action {
            "false".to_string()
        } else {
            format!("!(action in {})", action_set(&s.actions))
        });
    } else if with_action && !any_action {
        parts.push(format!("action in {}", action_set(&s.actions)));
    }
    if !s.resources.iter().any(|r| matches!(r, Res::Any)) {
        let alts: Vec<String> = s.resources.iter().map(cedar_resource).collect();
        parts.push(format!("({})", alts.join(" || ")));
    }
    parts.extend(s.conditions.iter().map(cedar_condition));
    if parts.is_empty() {
        "true".into()
    } else {
        parts.join(" && ")
    }
}

fn scope_action(s: &Stmt) -> String {
    if s.not_action || s.actions.contains(&"*") {
        "action".into()
    } else {
        format!("action in {}", action_set(&s.actions))
    }
}

/// Identity and resource policies: each Allow a `permit`, each Deny a
/// `forbid`.
fn cedar_grants(doc: &Doc, default_scope: &str, out: &mut String) {
    for s in &doc.statements {
        let principal = match s.principal {
            None => default_scope.to_string(),
            Some("*") => "principal".to_string(),
            Some(p) => format!("principal in Iam::Role::{}", quote(p)),
        };
        let effect = if s.deny { "forbid" } else { "permit" };
        out.push_str(&format!(
            "// {}: {}\n{effect} ({principal}, {}, resource) when {{ {} }};\n",
            doc.name,
            s.sid,
            scope_action(s),
            cedar_expr(s, false)
        ));
    }
}

/// Layers that must allow (SCP levels, the boundary): their Denies are
/// `forbid`s, their Allows together one `forbid ... unless`.
fn cedar_guard(doc: &Doc, scope: &str, out: &mut String) {
    let mut allows = Vec::new();
    for s in &doc.statements {
        if s.deny {
            out.push_str(&format!(
                "// {}: {}\nforbid ({scope}, {}, resource) when {{ {} }};\n",
                doc.name,
                s.sid,
                scope_action(s),
                cedar_expr(s, false)
            ));
        } else {
            allows.push(format!("({})", cedar_expr(s, true)));
        }
    }
    // `FullAWSAccess` (allow everything) needs no rule.
    if !allows.iter().any(|a| a == "(true)") {
        out.push_str(&format!(
            "// {}: must allow\nforbid ({scope}, action, resource) unless {{ {} }};\n",
            doc.name,
            allows.join(" || ")
        ));
    }
}

fn ip_value(s: &str) -> Value {
    json!({ "__extn": { "fn": "ip", "arg": s } })
}

fn cedar_context(values: &[(&str, CtxValue)]) -> cedar_policy::Context {
    let mut m = Map::new();
    for (k, v) in values {
        let value = match v {
            CtxValue::Str(s) => json!(s),
            CtxValue::Bool(b) => json!(b),
            CtxValue::Long(n) => json!(n),
            CtxValue::Ip(s) => ip_value(s),
            CtxValue::Set(v) => json!(v),
        };
        m.insert(k.to_ascii_lowercase(), value);
    }
    cedar_policy::Context::from_json_value(Value::Object(m), None).expect("a Cedar context")
}

/// Principal hierarchy (session, role, account, OU, root), the actions with
/// the IAM wildcard patterns they match as parent groups, and the resources.
fn cedar_entities(all: &[&Doc], cases: &[Case]) -> cedar_policy::Entities {
    let uid = |t: &str, id: &str| json!({ "type": t, "id": id });
    let mut entities = vec![
        json!({ "uid": uid("Iam::Session", SESSION_ARN), "attrs": {},
                "parents": [uid("Iam::Role", ROLE_ARN)] }),
        json!({ "uid": uid("Iam::Role", ROLE_ARN), "attrs": {},
                "parents": [uid("Org::Account", ACCOUNT)] }),
        json!({ "uid": uid("Org::Account", ACCOUNT), "attrs": {},
                "parents": [uid("Org::OU", OU)] }),
        json!({ "uid": uid("Org::OU", OU), "attrs": {}, "parents": [uid("Org::Root", ROOT)] }),
        json!({ "uid": uid("Org::Root", ROOT), "attrs": {}, "parents": [] }),
    ];
    let mut patterns = BTreeSet::new();
    let mut concrete = BTreeSet::new();
    for doc in all {
        for s in &doc.statements {
            for a in &s.actions {
                let a = a.to_ascii_lowercase();
                if a.contains('*') {
                    patterns.insert(a);
                } else {
                    concrete.insert(a);
                }
            }
        }
    }
    for c in cases {
        concrete.insert(c.action.to_ascii_lowercase());
    }
    patterns.remove("*");
    for a in &concrete {
        let parents: Vec<Value> = patterns
            .iter()
            .filter(|p| Glob::new(p).matches(a))
            .map(|p| uid("Action", p))
            .collect();
        entities.push(json!({ "uid": uid("Action", a), "attrs": {}, "parents": parents }));
    }
    for p in &patterns {
        entities.push(json!({ "uid": uid("Action", p), "attrs": {}, "parents": [] }));
    }
    for c in cases {
        let mut attrs = json!({ "arn": c.resource });
        if let Some(owner) = c.owner {
            attrs["owner"] = json!(owner);
        }
        entities.push(
            json!({ "uid": uid("Aws::Resource", c.resource), "attrs": attrs,
                              "parents": [] }),
        );
    }
    cedar_policy::Entities::from_json_value(Value::Array(entities), None).expect("Cedar entities")
}

// ---------------------------------------------------------------------------
// The fixture: both engines, compiled once.

struct Fixture {
    identity: Vec<Policy>,
    scps: Vec<Policy>,
    boundary: Policy,
    resource: Policy,
    principal: Principal,
    contexts: Vec<Context>,
    cases: Vec<Case>,
    cedar_policies: cedar_policy::PolicySet,
    cedar_entities: cedar_policy::Entities,
    cedar_requests: Vec<cedar_policy::Request>,
    cedar_statement_count: usize,
}

impl Fixture {
    fn new() -> Fixture {
        let identity_docs = identity_policies();
        let scp_docs = scp_levels();
        let boundary_doc = boundary();
        let resource_doc = resource_policy();
        let cases = cases();

        let mut cedar = String::new();
        let role = format!("principal in Iam::Role::{}", quote(ROLE_ARN));
        for doc in &identity_docs {
            cedar_grants(doc, &role, &mut cedar);
        }
        let scopes = [
            format!("principal in Org::Root::{}", quote(ROOT)),
            format!("principal in Org::OU::{}", quote(OU)),
            format!("principal in Org::Account::{}", quote(ACCOUNT)),
        ];
        for (doc, scope) in scp_docs.iter().zip(&scopes) {
            cedar_guard(doc, scope, &mut cedar);
        }
        cedar_guard(&boundary_doc, &role, &mut cedar);
        cedar_grants(&resource_doc, &role, &mut cedar);
        if std::env::var_os("SEKISHO_BENCH_PRINT_CEDAR").is_some() {
            eprintln!("{cedar}");
        }
        let cedar_policies = cedar_policy::PolicySet::from_str(&cedar)
            .unwrap_or_else(|e| panic!("Cedar policies: {e:?}\n{cedar}"));
        let cedar_statement_count = cedar_policies.policies().count();

        let mut all: Vec<&Doc> = identity_docs.iter().collect();
        all.extend(scp_docs.iter());
        all.push(&boundary_doc);
        all.push(&resource_doc);
        let cedar_entities = cedar_entities(&all, &cases);
        let principal_uid: cedar_policy::EntityUid =
            format!("Iam::Session::{}", quote(SESSION_ARN))
                .parse()
                .expect("a uid");
        let cedar_requests = cases
            .iter()
            .map(|c| {
                cedar_policy::Request::new(
                    principal_uid.clone(),
                    action_uid(c.action).parse().expect("a uid"),
                    format!("Aws::Resource::{}", quote(c.resource))
                        .parse()
                        .expect("a uid"),
                    cedar_context(&c.context),
                    None,
                )
                .expect("a Cedar request")
            })
            .collect();

        Fixture {
            identity: identity_docs.iter().map(to_iam).collect(),
            scps: scp_docs.iter().map(to_iam).collect(),
            boundary: to_iam(&boundary_doc),
            resource: to_iam(&resource_doc),
            principal: Principal::parse(SESSION_ARN).expect("a principal"),
            contexts: cases.iter().map(|c| iam_context(&c.context)).collect(),
            cases,
            cedar_policies,
            cedar_entities,
            cedar_requests,
            cedar_statement_count,
        }
    }

    fn policy_set(&self) -> PolicySet<'_> {
        PolicySet {
            scps: self.scps.iter().map(|p| vec![p]).collect(),
            identity: self.identity.iter().collect(),
            boundaries: vec![&self.boundary],
            resource: Some(&self.resource),
            ..PolicySet::default()
        }
    }

    fn request(&self, i: usize) -> Request<'_> {
        Request {
            principal: &self.principal,
            action: self.cases[i].action,
            resource: self.cases[i].resource,
            resource_account: None,
            context: &self.contexts[i],
        }
    }

    fn iam_statement_count(&self) -> usize {
        self.identity
            .iter()
            .chain(&self.scps)
            .chain([&self.boundary, &self.resource])
            .map(|p| p.statements.len())
            .sum()
    }

    /// Cedar's decision in IAM terms: a deny with a determining policy is a
    /// `forbid`, an explicit deny.
    fn cedar_outcome(&self, i: usize) -> Outcome {
        let response = cedar_policy::Authorizer::new().is_authorized(
            &self.cedar_requests[i],
            &self.cedar_policies,
            &self.cedar_entities,
        );
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "Cedar evaluation errors: {errors:?}");
        match response.decision() {
            cedar_policy::Decision::Allow => Outcome::Allowed,
            cedar_policy::Decision::Deny if response.diagnostics().reason().next().is_some() => {
                Outcome::ExplicitlyDenied
            }
            cedar_policy::Decision::Deny => Outcome::ImplicitlyDenied,
        }
    }

    /// Both engines reach the expected decision for every request.
    fn check(&self) {
        let set = self.policy_set();
        for (i, case) in self.cases.iter().enumerate() {
            let ours = evaluate_with(&self.request(i), &set, true);
            assert_eq!(
                ours.outcome,
                case.expected,
                "sekisho on {}: {}",
                case.name,
                ours.explain()
            );
            assert_eq!(
                evaluate_with(&self.request(i), &set, false).outcome,
                case.expected,
                "sekisho (no explanation) on {}",
                case.name
            );
            assert_eq!(
                self.cedar_outcome(i),
                case.expected,
                "cedar on {}",
                case.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Timing.

fn bench(c: &mut Criterion, fx: &Fixture) {
    let set = fx.policy_set();
    let authorizer = cedar_policy::Authorizer::new();
    for (i, case) in fx.cases.iter().enumerate() {
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(1));
        let request = fx.request(i);
        group.bench_function("sekisho", |b| {
            b.iter(|| evaluate_with(black_box(&request), black_box(&set), false).outcome)
        });
        group.bench_function("sekisho-explain", |b| {
            b.iter(|| evaluate_with(black_box(&request), black_box(&set), true).outcome)
        });
        group.bench_function("cedar", |b| {
            b.iter(|| {
                authorizer
                    .is_authorized(
                        black_box(&fx.cedar_requests[i]),
                        black_box(&fx.cedar_policies),
                        black_box(&fx.cedar_entities),
                    )
                    .decision()
            })
        });
        group.finish();
    }
}

/// Nanoseconds this thread has run on a CPU (Linux), to tell the speed of
/// the code from the share of a core a busy machine gives it.
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Decisions per second of `f`, by the wall clock and by the time the
/// thread was on a CPU: the medians of five samples of about 0.4 s, after a
/// warm-up.
fn rate(mut f: impl FnMut()) -> (f64, Option<f64>) {
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() > Duration::from_millis(100) {
            break;
        }
        batch *= 2;
    }
    batch *= 4;
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..5 {
        let cpu_start = on_cpu_ns();
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        let elapsed = start.elapsed().as_secs_f64();
        wall.push(batch as f64 / elapsed);
        if let (Some(a), Some(b)) = (cpu_start, on_cpu_ns())
            && b > a
        {
            cpu.push(batch as f64 * 1e9 / (b - a) as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let cpu = (cpu.len() == 5).then(|| median(&mut cpu));
    (median(&mut wall), cpu)
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else {
        format!("{:.1} k/s", rate / 1e3)
    }
}

fn summary(fx: &Fixture) {
    let set = fx.policy_set();
    let authorizer = cedar_policy::Authorizer::new();
    println!();
    println!(
        "decisions per second, one thread ({} IAM statements in 10 identity policies, 3 SCP levels, \
         a boundary and a resource policy; {} Cedar policies)",
        fx.iam_statement_count(),
        fx.cedar_statement_count
    );
    println!(
        "wall: by the clock; cpu: per second the thread was on a CPU (differs when the machine is busy)"
    );
    println!(
        "{:<34} {:>5} {:>11} {:>16} {:>11} {:>7}",
        "request", "", "sekisho", "sekisho+explain", "cedar", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for (i, case) in fx.cases.iter().enumerate() {
        let request = fx.request(i);
        let ours = rate(|| {
            black_box(evaluate_with(black_box(&request), black_box(&set), false).outcome);
        });
        let explained = rate(|| {
            black_box(evaluate_with(black_box(&request), black_box(&set), true).outcome);
        });
        let cedar = rate(|| {
            black_box(
                authorizer
                    .is_authorized(
                        black_box(&fx.cedar_requests[i]),
                        black_box(&fx.cedar_policies),
                        black_box(&fx.cedar_entities),
                    )
                    .decision(),
            );
        });
        let rows = [
            ("wall", Some((ours.0, explained.0, cedar.0))),
            (
                "cpu",
                ours.1
                    .zip(explained.1)
                    .zip(cedar.1)
                    .map(|((a, b), c)| (a, b, c)),
            ),
        ];
        for (j, (clock, row)) in rows.into_iter().enumerate() {
            let Some((a, b, c)) = row else { continue };
            println!(
                "{:<34} {:>5} {:>11} {:>16} {:>11} {:>6.0}x",
                if j == 0 { case.name } else { "" },
                clock,
                human(a),
                human(b),
                human(c),
                a / c
            );
        }
        lowest = lowest.min(ours.1.unwrap_or(ours.0));
    }
    println!(
        "lowest sekisho rate: {} on a CPU ({} the 1,000,000 decisions/s target)",
        human(lowest),
        if lowest >= 1e6 { "meets" } else { "MISSES" }
    );
}

/// `SEKISHO_BENCH_PROFILE=<request name>:<count>` evaluates one request
/// `count` times with our evaluator and nothing else, for a profiler
/// (`valgrind --tool=callgrind`).
fn profile(fx: &Fixture, spec: &str) {
    let (name, count) = spec.rsplit_once(':').expect("<request name>:<count>");
    let count: u64 = count.parse().expect("a count");
    let i = fx
        .cases
        .iter()
        .position(|c| c.name == name)
        .expect("a request name");
    let set = fx.policy_set();
    let request = fx.request(i);
    for _ in 0..count {
        black_box(evaluate_with(black_box(&request), black_box(&set), false).outcome);
    }
}

fn main() {
    let fx = Fixture::new();
    fx.check();
    if let Ok(spec) = std::env::var("SEKISHO_BENCH_PROFILE") {
        profile(&fx, &spec);
        return;
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut c, &fx);
    c.final_summary();

    // Criterion's own rule: `--bench` without `--test` is a benchmark run;
    // anything else (`cargo test`) only checks that the benchmarks run.
    let args: Vec<String> = std::env::args().collect();
    let benchmarking =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    if benchmarking {
        summary(&fx);
    }
}
