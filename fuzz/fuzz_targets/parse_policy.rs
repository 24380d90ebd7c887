//! Arbitrary bytes into the policy parser; what parses is evaluated and
//! linted. Nothing may panic, and nothing may take more than linear-ish time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_policy::eval::{PolicySet, Request, evaluate};
use sekisho_policy::{Context, Policy, Principal};

fuzz_target!(|data: &[u8]| {
    let _ = sekisho_policy::lint::validate(data, sekisho_policy::lint::PolicyType::Identity);
    let Ok(policy) = Policy::parse(data) else { return };
    let principal = Principal::parse("arn:aws:sts::123456789012:assumed-role/r/s").expect("valid principal");
    let mut context = Context::new();
    context.insert("aws:username", "alice");
    context.insert("aws:SourceIp", "10.0.0.1");
    context.insert_multi("aws:TagKeys", vec!["a".into(), "b".into()]);
    for resource in ["arn:aws:bedrock:us-east-1::foundation-model/x", "*"] {
        let request = Request {
            principal: &principal,
            action: "bedrock:InvokeModel",
            resource,
            resource_account: None,
            context: &context,
        };
        let set = PolicySet {
            identity: vec![&policy],
            resource: Some(&policy),
            scps: vec![vec![&policy]],
            ..PolicySet::default()
        };
        let decision = evaluate(&request, &set);
        let _ = decision.explain();
    }
});
