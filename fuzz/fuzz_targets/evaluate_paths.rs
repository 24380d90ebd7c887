//! Arbitrary bytes into the policy parser; whatever parses is put in every
//! layer and evaluated for several callers and requests, with and without an
//! explanation. Nothing may panic, and the fast path (no explanation) must
//! decide exactly as the explaining one: same outcome, same blocking layers,
//! same denying statements.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sekisho_policy::eval::{PolicySet, Request, evaluate_with};
use sekisho_policy::{Context, Policy, Principal};

struct Fixed {
    principals: Vec<Principal>,
    context: Context,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let mut context = Context::new();
        context.insert("aws:username", "alice");
        context.insert("aws:PrincipalTag/team", "ml*?${x}");
        context.insert("aws:SourceIp", "10.1.2.3");
        context.insert("aws:SecureTransport", "true");
        context.insert("aws:MultiFactorAuthAge", "300");
        context.insert("aws:CurrentTime", "2025-01-01T00:00:00Z");
        context.insert("aws:PrincipalArn", "arn:aws:iam::111122223333:role/app");
        context.insert("aws:RequestedRegion", "us-east-1");
        context.insert(
            "bedrock:GuardrailIdentifier",
            "arn:aws:bedrock:us-east-1:111122223333:guardrail/g:1",
        );
        context.insert_multi("aws:TagKeys", vec!["a".into(), "b".into()]);
        context.insert_multi("aws:PrincipalOrgPaths", vec![]);
        Fixed {
            principals: [
                "arn:aws:sts::111122223333:assumed-role/app/session",
                "arn:aws:iam::111122223333:user/alice",
                "bedrock.amazonaws.com",
                "anonymous",
            ]
            .iter()
            .map(|p| Principal::parse(p).expect("a principal"))
            .collect(),
            context,
        }
    })
}

const REQUESTS: &[(&str, &str, Option<&str>)] = &[
    (
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        None,
    ),
    (
        "s3:GetObject",
        "arn:aws:s3:::bucket/alice/key",
        Some("444455556666"),
    ),
    (
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:111122223333:key/k",
        None,
    ),
    ("sts:AssumeRole", "arn:aws:iam::111122223333:role/app", None),
    ("iam:PassRole", "*", None),
];

fuzz_target!(|data: &[u8]| {
    let Ok(policy) = Policy::parse(data) else {
        return;
    };
    let f = fixed();
    let one = vec![&policy];
    let sets = [
        PolicySet {
            identity: one.clone(),
            ..PolicySet::default()
        },
        PolicySet {
            scps: vec![one.clone(), one.clone()],
            rcps: vec![one.clone()],
            identity: one.clone(),
            boundaries: one.clone(),
            session: one.clone(),
            resource: Some(&policy),
            endpoint: one.clone(),
        },
    ];
    for principal in &f.principals {
        for (action, resource, resource_account) in REQUESTS {
            let request = Request {
                principal,
                action,
                resource,
                resource_account: *resource_account,
                context: &f.context,
            };
            for set in &sets {
                let explained = evaluate_with(&request, set, true);
                let _ = explained.explain();
                let fast = evaluate_with(&request, set, false);
                assert_eq!(fast.outcome, explained.outcome);
                assert_eq!(fast.blocked_by, explained.blocked_by);
                if fast.outcome == sekisho_policy::Outcome::ExplicitlyDenied {
                    let hits = |d: &sekisho_policy::Decision<'_>| {
                        d.statements
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(hits(&fast), hits(&explained));
                }
            }
        }
    }
});
