//! Properties of evaluation that hold for every policy set and request.
//!
//! Policy sets are generated in a small neutral form (layers of policies of
//! statements drawn from a small alphabet of services, actions, resources
//! and conditions), rendered to JSON and parsed, so the parser is exercised
//! too. The properties:
//!
//! * adding a Deny statement never turns a deny (implicit or explicit) into
//!   an allow;
//! * adding an Allow statement never turns an explicit deny into anything
//!   else;
//! * the decision does not depend on the order of statements or policies,
//!   nor on the case of action names (in the policies and in the request);
//! * the fast path (no explanation) decides exactly as the explaining one.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use sekisho_policy::eval::{Decision, Outcome, PolicySet, Request, evaluate, evaluate_with};
use sekisho_policy::{Context, Policy, Principal};

// ---------------------------------------------------------------------------
// The alphabet.

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "kms:Decrypt",
    "kms:Encrypt",
    "bedrock:InvokeModel",
    "bedrock:ListFoundationModels",
];

const ACTION_PATTERNS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:*",
    "s3:Get*",
    "s3:?etObject",
    "kms:Decrypt",
    "kms:*",
    "bedrock:InvokeModel",
    "bedrock:*",
    "bedrock:List*",
    "*",
    "*:Decrypt",
    "*Object",
];

const RESOURCES: &[&str] = &[
    "arn:aws:s3:::bucket/alice/notes",
    "arn:aws:s3:::bucket/bob/notes",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude",
    "*",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::bucket/alice/notes",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:*:*:*:*",
];

/// (operator, key, values) of the conditions a statement may carry.
const CONDITIONS: &[(&str, &str, &[&str])] = &[
    ("StringEquals", "aws:username", &["alice"]),
    ("StringNotEquals", "aws:RequestedRegion", &["us-east-1"]),
    ("StringLike", "aws:PrincipalTag/team", &["m*"]),
    ("Bool", "aws:SecureTransport", &["true"]),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", &["false"]),
    (
        "IpAddress",
        "aws:SourceIp",
        &["10.0.0.0/8", "192.168.0.0/16"],
    ),
    ("NumericLessThan", "aws:MultiFactorAuthAge", &["3600"]),
    ("Null", "aws:TokenIssueTime", &["true"]),
    ("ForAnyValue:StringEquals", "aws:TagKeys", &["project"]),
    ("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/app*"]),
];

// ---------------------------------------------------------------------------
// The neutral form and its rendering.

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<String>,
    not_resource: bool,
    resources: Vec<&'static str>,
    conditions: Vec<usize>,
    /// Resource policies only.
    principal: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Pol {
    statements: Vec<Stmt>,
}

#[derive(Debug, Clone)]
struct Set {
    scps: Vec<Vec<Pol>>,
    identity: Vec<Pol>,
    boundary: Option<Pol>,
    resource: Option<Pol>,
}

fn render(p: &Pol) -> Policy {
    let statements: Vec<Value> = p
        .statements
        .iter()
        .map(|s| {
            let mut o = Map::new();
            o.insert(
                "Effect".into(),
                json!(if s.deny { "Deny" } else { "Allow" }),
            );
            if let Some(principal) = s.principal {
                o.insert(
                    "Principal".into(),
                    if principal == "*" {
                        json!("*")
                    } else {
                        json!({ "AWS": principal })
                    },
                );
            }
            let action = if s.not_action { "NotAction" } else { "Action" };
            o.insert(action.into(), json!(s.actions));
            let resource = if s.not_resource {
                "NotResource"
            } else {
                "Resource"
            };
            o.insert(resource.into(), json!(s.resources));
            if !s.conditions.is_empty() {
                let mut block = Map::new();
                for &c in &s.conditions {
                    let (op, key, values) = CONDITIONS[c];
                    block
                        .entry(op)
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("an object")
                        .insert(key.into(), json!(values));
                }
                o.insert("Condition".into(), Value::Object(block));
            }
            Value::Object(o)
        })
        .collect();
    let doc = json!({ "Version": "2012-10-17", "Statement": statements });
    Policy::parse(doc.to_string().as_bytes()).expect("generated policies parse")
}

/// The set, parsed. Every policy is owned here; `PolicySet` borrows.
struct Parsed {
    scps: Vec<Vec<Policy>>,
    identity: Vec<Policy>,
    boundary: Option<Policy>,
    resource: Option<Policy>,
}

impl Parsed {
    fn new(set: &Set) -> Parsed {
        Parsed {
            scps: set
                .scps
                .iter()
                .map(|level| level.iter().map(render).collect())
                .collect(),
            identity: set.identity.iter().map(render).collect(),
            boundary: set.boundary.as_ref().map(render),
            resource: set.resource.as_ref().map(render),
        }
    }

    fn policy_set(&self) -> PolicySet<'_> {
        PolicySet {
            scps: self.scps.iter().map(|l| l.iter().collect()).collect(),
            identity: self.identity.iter().collect(),
            boundaries: self.boundary.iter().collect(),
            resource: self.resource.as_ref(),
            ..PolicySet::default()
        }
    }
}

#[derive(Debug, Clone)]
struct Req {
    principal: &'static str,
    action: String,
    resource: &'static str,
    other_account: bool,
    username: &'static str,
    team: &'static str,
    secure: bool,
    mfa: Option<bool>,
    region: &'static str,
    ip: &'static str,
    tag_keys: Vec<&'static str>,
}

fn context(r: &Req) -> Context {
    let mut c = Context::new();
    c.insert("aws:username", r.username);
    c.insert("aws:PrincipalTag/team", r.team);
    c.insert("aws:SecureTransport", r.secure.to_string());
    if let Some(mfa) = r.mfa {
        c.insert("aws:MultiFactorAuthPresent", mfa.to_string());
        c.insert("aws:MultiFactorAuthAge", if mfa { "300" } else { "86400" });
    }
    c.insert("aws:RequestedRegion", r.region);
    c.insert("aws:SourceIp", r.ip);
    c.insert("aws:PrincipalArn", "arn:aws:iam::111122223333:role/app");
    c.insert_multi(
        "aws:TagKeys",
        r.tag_keys.iter().map(|s| s.to_string()).collect(),
    );
    c
}

/// What must not change: the outcome and the layers that blocked.
fn verdict(set: &Set, r: &Req) -> (Outcome, Vec<String>) {
    let parsed = Parsed::new(set);
    let principal = Principal::parse(r.principal).expect("a principal");
    let ctx = context(r);
    let request = Request {
        principal: &principal,
        action: &r.action,
        resource: r.resource,
        resource_account: r.other_account.then_some("444455556666"),
        context: &ctx,
    };
    let policies = parsed.policy_set();
    let explained = evaluate(&request, &policies);
    let fast = evaluate_with(&request, &policies, false);
    // The fast path decides exactly as the explaining one.
    assert_eq!(fast.outcome, explained.outcome, "fast path outcome");
    assert_eq!(fast.blocked_by, explained.blocked_by, "fast path blockers");
    assert_eq!(labels(&fast), labels(&explained), "fast path denials");
    (
        explained.outcome,
        explained
            .blocked_by
            .iter()
            .map(|l| l.code().to_string())
            .collect(),
    )
}

/// The statements of a deny (both paths list them all).
fn labels(d: &Decision<'_>) -> Vec<String> {
    if d.outcome == Outcome::ExplicitlyDenied {
        d.statements.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------
// Generators.

fn stmt(in_resource_policy: bool) -> impl Strategy<Value = Stmt> {
    (
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.1),
        prop::collection::vec(prop::sample::select(ACTION_PATTERNS), 1..3),
        prop::bool::weighted(0.1),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..3),
        prop::collection::vec(0..CONDITIONS.len(), 0..3),
        prop::sample::select(
            &[
                "*",
                "arn:aws:iam::111122223333:role/app",
                "111122223333",
                "arn:aws:iam::444455556666:root",
            ][..],
        ),
    )
        .prop_map(
            move |(deny, not_action, actions, not_resource, resources, mut conditions, p)| {
                conditions.sort_unstable();
                conditions.dedup();
                Stmt {
                    deny,
                    not_action,
                    actions: actions.into_iter().map(String::from).collect(),
                    not_resource,
                    resources,
                    conditions,
                    principal: in_resource_policy.then_some(p),
                }
            },
        )
}

fn policy(in_resource_policy: bool) -> impl Strategy<Value = Pol> {
    prop::collection::vec(stmt(in_resource_policy), 1..5).prop_map(|statements| Pol { statements })
}

/// An SCP: usually `FullAWSAccess` and generated statements.
fn scp() -> impl Strategy<Value = Pol> {
    (prop::bool::weighted(0.8), policy(false)).prop_map(|(full, mut p)| {
        if full {
            p.statements.insert(
                0,
                Stmt {
                    deny: false,
                    not_action: false,
                    actions: vec!["*".into()],
                    not_resource: false,
                    resources: vec!["*"],
                    conditions: Vec::new(),
                    principal: None,
                },
            );
        }
        p
    })
}

fn set() -> impl Strategy<Value = Set> {
    (
        prop::collection::vec(prop::collection::vec(scp(), 1..3), 0..3),
        prop::collection::vec(policy(false), 1..4),
        prop::option::weighted(0.3, policy(false)),
        prop::option::weighted(0.3, policy(true)),
    )
        .prop_map(|(scps, identity, boundary, resource)| Set {
            scps,
            identity,
            boundary,
            resource,
        })
}

fn req() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(
            &[
                "arn:aws:sts::111122223333:assumed-role/app/s",
                "arn:aws:iam::111122223333:role/app",
                "arn:aws:iam::111122223333:user/alice",
            ][..],
        ),
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        prop::bool::weighted(0.2),
        prop::sample::select(&["alice", "bob"][..]),
        prop::sample::select(&["ml", "ops"][..]),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::sample::select(&["us-east-1", "eu-west-1"][..]),
        prop::sample::select(&["10.1.2.3", "203.0.113.9", "not an address"][..]),
        prop::collection::vec(prop::sample::select(&["project", "owner"][..]), 0..3),
    )
        .prop_map(
            |(
                principal,
                action,
                resource,
                other_account,
                username,
                team,
                secure,
                mfa,
                region,
                ip,
                tag_keys,
            )| Req {
                principal,
                action: action.to_string(),
                resource,
                other_account,
                username,
                team,
                secure,
                mfa,
                region,
                ip,
                tag_keys,
            },
        )
}

/// Where to add a statement: which layer, which policy in it (modulo its
/// length), or as a new policy.
#[derive(Debug, Clone)]
struct Place {
    layer: usize,
    policy: usize,
    new_policy: bool,
    position: usize,
}

fn place() -> impl Strategy<Value = Place> {
    (0..4usize, 0..4usize, prop::bool::weighted(0.2), 0..8usize).prop_map(
        |(layer, policy, new_policy, position)| Place {
            layer,
            policy,
            new_policy,
            position,
        },
    )
}

/// Adds `s` to the set at `at`. Never adds a layer that was absent (a new
/// SCP level or boundary would change what the set requires, not what it
/// says), and never a policy to a layer that holds only one.
fn add(set: &mut Set, at: &Place, mut s: Stmt) {
    let into = |policies: &mut Vec<Pol>, s: Stmt| {
        let n = policies.len();
        let p = &mut policies[at.policy % n];
        let i = at.position % (p.statements.len() + 1);
        p.statements.insert(i, s);
    };
    match at.layer {
        0 if !set.scps.is_empty() => {
            let n = set.scps.len();
            into(&mut set.scps[at.policy % n], s);
        }
        1 if set.boundary.is_some() => {
            if let Some(b) = &mut set.boundary {
                b.statements
                    .insert(at.position % (b.statements.len() + 1), s);
            }
        }
        2 if set.resource.is_some() => {
            s.principal = Some("*");
            if let Some(r) = &mut set.resource {
                r.statements
                    .insert(at.position % (r.statements.len() + 1), s);
            }
        }
        _ if at.new_policy => set.identity.push(Pol {
            statements: vec![s],
        }),
        _ => into(&mut set.identity, s),
    }
}

/// A deterministic permutation of `v` from `seed`.
fn shuffle<T>(v: &mut [T], seed: &mut u64) {
    for i in (1..v.len()).rev() {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = ((*seed >> 33) as usize) % (i + 1);
        v.swap(i, j);
    }
}

fn shuffled(set: &Set, mut seed: u64) -> Set {
    let mut set = set.clone();
    let each = |p: &mut Pol, seed: &mut u64| shuffle(&mut p.statements, seed);
    for level in &mut set.scps {
        for p in level.iter_mut() {
            each(p, &mut seed);
        }
        shuffle(level, &mut seed);
    }
    for p in &mut set.identity {
        each(p, &mut seed);
    }
    shuffle(&mut set.identity, &mut seed);
    for p in set.boundary.iter_mut().chain(set.resource.iter_mut()) {
        each(p, &mut seed);
    }
    set
}

/// `text` with the case of each ASCII letter flipped or not, by `seed`.
fn recase(text: &str, seed: &mut u64) -> String {
    text.chars()
        .map(|c| {
            *seed = seed.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
            if *seed & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

fn recased(set: &Set, mut seed: u64) -> Set {
    let mut set = set.clone();
    let policies = set
        .scps
        .iter_mut()
        .flatten()
        .chain(set.identity.iter_mut())
        .chain(set.boundary.iter_mut())
        .chain(set.resource.iter_mut());
    for p in policies {
        for s in &mut p.statements {
            for a in &mut s.actions {
                *a = recase(a, &mut seed);
            }
        }
    }
    set
}

// ---------------------------------------------------------------------------
// The properties.

proptest! {
    // About 5,000 generated policy sets in all: a few seconds in a debug build.
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn adding_a_deny_never_allows(set in set(), r in req(), s in stmt(false), at in place()) {
        let before = verdict(&set, &r);
        let mut more = set.clone();
        add(&mut more, &at, Stmt { deny: true, ..s });
        let after = verdict(&more, &r);
        if before.0 != Outcome::Allowed {
            prop_assert_ne!(after.0, Outcome::Allowed, "{:?} became {:?}", before, after);
        }
        // And a deny stays explicit.
        if before.0 == Outcome::ExplicitlyDenied {
            prop_assert_eq!(after.0, Outcome::ExplicitlyDenied);
        }
    }

    #[test]
    fn adding_an_allow_never_lifts_an_explicit_deny(
        set in set(), r in req(), s in stmt(false), at in place()
    ) {
        let before = verdict(&set, &r);
        let mut more = set.clone();
        add(&mut more, &at, Stmt { deny: false, ..s });
        let after = verdict(&more, &r);
        if before.0 == Outcome::ExplicitlyDenied {
            prop_assert_eq!(after.0, Outcome::ExplicitlyDenied, "{:?} became {:?}", before, after);
        }
    }

    #[test]
    fn order_of_statements_and_policies_does_not_matter(
        set in set(), r in req(), seed in any::<u64>()
    ) {
        prop_assert_eq!(verdict(&set, &r), verdict(&shuffled(&set, seed), &r));
    }

    #[test]
    fn case_of_action_names_does_not_matter(
        set in set(), r in req(), seed in any::<u64>(), request_seed in any::<u64>()
    ) {
        let mut shouting = r.clone();
        shouting.action = recase(&r.action, &mut request_seed.clone());
        prop_assert_eq!(verdict(&set, &r), verdict(&recased(&set, seed), &shouting));
    }
}

/// The generators reach every outcome, so the properties are not vacuous.
#[test]
fn generated_sets_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..300 {
        let s = set().new_tree(&mut runner).expect("a set").current();
        let r = req().new_tree(&mut runner).expect("a request").current();
        seen.insert(verdict(&s, &r).0);
    }
    assert_eq!(seen.len(), 3, "outcomes seen: {seen:?}");
}
