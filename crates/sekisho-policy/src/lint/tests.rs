//! Unit tests of the linter: every code, its location, severity and fix,
//! and no panic on any input.

use std::collections::BTreeSet;

use super::*;

const V: &str = r#""Version": "2012-10-17""#;

fn lint(ty: PolicyType, doc: &str) -> Vec<Finding> {
    validate(doc.as_bytes(), ty)
}

/// A current-version document with the given statements.
fn doc(statements: &str) -> String {
    format!("{{{V}, \"Statement\": [{statements}]}}")
}

fn show(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one finding with `code`; fails, showing all findings, otherwise.
#[track_caller]
fn one<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected exactly one {code}, got:\n{}",
        show(findings)
    );
    matching[0]
}

#[track_caller]
fn none_of(findings: &[Finding], code: &str) {
    assert!(
        findings.iter().all(|f| f.code != code),
        "unexpected {code}:\n{}",
        show(findings)
    );
}

/// One case per code: (code, policy type, document, path of the finding).
fn cases() -> Vec<(&'static str, PolicyType, String, &'static str)> {
    use PolicyType::*;
    let allow = |rest: &str| doc(&format!(r#"{{"Effect": "Allow", {rest}}}"#));
    let deny = |rest: &str| doc(&format!(r#"{{"Effect": "Deny", {rest}}}"#));
    let bedrock =
        r#""Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*""#;
    let with_cond = |cond: &str| allow(&format!(r#"{bedrock}, "Condition": {cond}"#));
    vec![
        ("INVALID_JSON", Identity, "{\"Version\": \"2012-10-17\",}".into(), ""),
        ("NESTING_TOO_DEEP", Identity, "[".repeat(200), ""),
        ("GRAMMAR_ERROR", Identity, doc(r#"{"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}"#), "Statement[0].Effect"),
        ("MISSING_VERSION", Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#.into(), "Version"),
        ("EMPTY_STATEMENT", Identity, doc(""), "Statement"),
        ("DUPLICATE_SID", Identity, doc(r#"{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, {"Sid": "A", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}"#), "Statement[1].Sid"),
        ("UNSUPPORTED_SID", Identity, allow(r#""Sid": "read objects", "Action": "s3:GetObject", "Resource": "*""#), "Statement[0].Sid"),
        ("POLICY_SIZE_QUOTA", Session, allow(&format!(r#""Action": [{}], "Resource": "*""#, vec!["\"s3:GetObject\""; 200].join(","))), ""),
        ("UNSUPPORTED_PRINCIPAL", Identity, allow(r#""Principal": {"AWS": "123456789012"}, "Action": "s3:GetObject", "Resource": "*""#), "Statement[0].Principal"),
        ("MISSING_PRINCIPAL", Resource, allow(r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0]"),
        ("INVALID_PRINCIPAL_FORMAT", Resource, allow(r#""Principal": "123456789012", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].Principal"),
        ("INVALID_PRINCIPAL", Resource, allow(r#""Principal": {"AWS": "arn:aws:s3:::bucket"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].Principal.AWS"),
        ("UNSUPPORTED_WILDCARD_IN_PRINCIPAL", Resource, allow(r#""Principal": {"AWS": ["arn:aws:iam::123456789012:role/app-*"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].Principal.AWS[0]"),
        ("ALLOW_WITH_NOT_PRINCIPAL", Resource, allow(r#""NotPrincipal": {"AWS": "123456789012"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].NotPrincipal"),
        ("DENY_WITH_NOT_PRINCIPAL", Resource, deny(r#""NotPrincipal": {"AWS": "123456789012"}, "Action": "s3:*", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].NotPrincipal"),
        ("PUBLIC_ACCESS", Resource, allow(r#""Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*""#), "Statement[0].Principal"),
        ("MISSING_SOURCE_CONDITION", Resource, allow(r#""Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*""#), "Statement[0].Principal.Service"),
        ("TRUST_POLICY_ACTION", Trust, allow(r#""Principal": {"AWS": "123456789012"}, "Action": ["sts:AssumeRole", "s3:GetObject"]"#), "Statement[0].Action[1]"),
        ("TRUST_POLICY_RESOURCE", Trust, allow(r#""Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole", "Resource": "*""#), "Statement[0].Resource"),
        ("MISSING_RESOURCE", Identity, allow(r#""Action": "s3:GetObject""#), "Statement[0]"),
        ("INVALID_ACTION", Identity, allow(r#""Action": ["s3:GetObject", "GetObject"], "Resource": "*""#), "Statement[0].Action[1]"),
        ("UNKNOWN_SERVICE", Identity, allow(r#""Action": "bedrok:InvokeModel", "Resource": "*""#), "Statement[0].Action"),
        ("UNKNOWN_ACTION", Identity, allow(r#""Action": "bedrock:InvokeModels", "Resource": "*""#), "Statement[0].Action"),
        ("WILDCARD_MATCHES_NO_ACTION", Identity, allow(r#""Action": "kms:Frobnicate*", "Resource": "*""#), "Statement[0].Action"),
        ("REDUNDANT_ACTION", Identity, allow(r#""Action": ["s3:Get*", "s3:GetObject"], "Resource": "*""#), "Statement[0].Action[1]"),
        ("ALLOW_WITH_NOT_ACTION", Identity, allow(r#""NotAction": "iam:*", "Resource": "*""#), "Statement[0].NotAction"),
        ("ALLOW_WITH_NOT_RESOURCE", Identity, allow(r#""Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*""#), "Statement[0].NotResource"),
        ("FULL_ADMIN", Identity, allow(r#""Action": "*", "Resource": "*""#), "Statement[0].Action"),
        ("PASS_ROLE_WITH_STAR", Identity, allow(r#""Action": ["iam:Pass*", "s3:GetObject"], "Resource": "*""#), "Statement[0].Action[0]"),
        ("INVALID_ARN", Identity, allow(r#""Action": "s3:GetObject", "Resource": "my-bucket/*""#), "Statement[0].Resource"),
        ("INVALID_ARN_ACCOUNT", Identity, allow(r#""Action": "bedrock:Retrieve", "Resource": "arn:aws:bedrock:us-east-1:ACCOUNT:knowledge-base/*""#), "Statement[0].Resource"),
        ("INVALID_BUCKET_NAME", Identity, allow(r#""Action": "s3:GetObject", "Resource": ["arn:aws:s3:::my-bucket/*", "arn:aws:s3:::My_Bucket/*"]"#), "Statement[0].Resource[1]"),
        ("RESOURCE_SERVICE_MISMATCH", Identity, allow(r#""Action": "s3:GetObject", "Resource": "arn:aws:bedrock:*::foundation-model/*""#), "Statement[0].Resource"),
        ("RESOURCE_TYPE_MISMATCH", Identity, allow(r#""Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/*""#), "Statement[0].Resource"),
        ("ACTION_RESOURCE_MISMATCH", Identity, allow(r#""Action": ["bedrock:Retrieve", "bedrock:RetrieveAndGenerate"], "Resource": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/*""#), "Statement[0].Action[1]"),
        ("REDUNDANT_RESOURCE", Identity, allow(r#""Action": "s3:GetObject", "Resource": ["arn:aws:s3:::docs/*", "arn:aws:s3:::docs/k"]"#), "Statement[0].Resource[1]"),
        ("UNKNOWN_OPERATOR", Identity, with_cond(r#"{"StringEqual": {"aws:RequestedRegion": "us-east-1"}}"#), "Statement[0].Condition.StringEqual"),
        ("NULL_WITH_QUALIFIER", Identity, with_cond(r#"{"NullIfExists": {"aws:SourceIp": "true"}}"#), "Statement[0].Condition.NullIfExists"),
        ("INVALID_CONDITION_VALUE", Identity, with_cond(r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.300/8"]}}"#), "Statement[0].Condition.IpAddress.aws:SourceIp[1]"),
        ("EMPTY_CONDITION_VALUES", Identity, with_cond(r#"{"StringEquals": {"aws:RequestedRegion": []}}"#), "Statement[0].Condition.StringEquals.aws:RequestedRegion"),
        ("EMPTY_CONDITION", Identity, with_cond("{}"), "Statement[0].Condition"),
        ("WILDCARD_WITHOUT_LIKE_OPERATOR", Identity, with_cond(r#"{"StringEquals": {"aws:PrincipalTag/team": "ml-*"}}"#), "Statement[0].Condition.StringEquals.aws:PrincipalTag/team"),
        ("UNKNOWN_CONDITION_KEY", ServiceControl, deny(r#""Action": "bedrock:InvokeModel", "Resource": "*", "Condition": {"Null": {"bedrock:GuardrailArn": "true"}}"#), "Statement[0].Condition.Null.bedrock:GuardrailArn"),
        ("CONDITION_KEY_SERVICE_MISMATCH", Identity, with_cond(r#"{"StringLike": {"s3:prefix": "home/*"}}"#), "Statement[0].Condition.StringLike.s3:prefix"),
        ("CONDITION_KEY_NOT_SUPPORTED", Identity, allow(r#""Action": "bedrock:ListFoundationModels", "Resource": "*", "Condition": {"ArnLike": {"bedrock:GuardrailIdentifier": "arn:aws:bedrock:*:123456789012:guardrail/*"}}"#), "Statement[0].Condition.ArnLike.bedrock:GuardrailIdentifier"),
        ("CONDITION_TYPE_MISMATCH", Identity, with_cond(r#"{"DateGreaterThan": {"aws:RequestedRegion": "2025-01-01"}}"#), "Statement[0].Condition.DateGreaterThan.aws:RequestedRegion"),
        ("MISSING_QUALIFIER", Identity, allow(r#""Action": "bedrock:TagResource", "Resource": "*", "Condition": {"StringEquals": {"aws:TagKeys": ["team"]}}"#), "Statement[0].Condition.StringEquals.aws:TagKeys"),
        ("FORALLVALUES_WITH_SINGLE_VALUED_KEY", Identity, with_cond(r#"{"ForAllValues:StringEquals": {"aws:RequestedRegion": "us-east-1"}}"#), "Statement[0].Condition.ForAllValues:StringEquals.aws:RequestedRegion"),
        ("FORANYVALUE_WITH_SINGLE_VALUED_KEY", Identity, with_cond(r#"{"ForAnyValue:StringEquals": {"aws:RequestedRegion": "us-east-1"}}"#), "Statement[0].Condition.ForAnyValue:StringEquals.aws:RequestedRegion"),
        ("INVALID_ACCOUNT_VALUE", Identity, with_cond(r#"{"StringEquals": {"aws:ResourceAccount": "Account_Number"}}"#), "Statement[0].Condition.StringEquals.aws:ResourceAccount"),
        ("INVALID_VARIABLE_PLACEMENT", Identity, allow(r#""Action": "s3:${aws:username}", "Resource": "*""#), "Statement[0].Action"),
        ("VARIABLE_WITHOUT_VERSION", Identity, r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}"#.into(), "Statement[0].Resource"),
        ("MALFORMED_VARIABLE", Identity, allow(r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username/*""#), "Statement[0].Resource"),
        ("UNKNOWN_VARIABLE", Identity, allow(r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:usrname}/*""#), "Statement[0].Resource"),
        ("MULTIVALUED_VARIABLE", Identity, allow(r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:TagKeys}/*""#), "Statement[0].Resource"),
    ]
}

#[test]
fn every_code_is_reported_where_expected() {
    for (code, ty, document, path) in cases() {
        let findings = lint(ty, &document);
        let f = one(&findings, code);
        assert_eq!(f.path, path, "{code} in\n{document}\n{}", show(&findings));
        assert!(f.line >= 1 && f.column >= 1);
        assert!(!f.message.is_empty() && !f.fix.is_empty(), "{f}");
        let info = code_info(code).unwrap_or_else(|| panic!("{code} not in CODES"));
        assert_eq!(f.severity, info.severity, "{f}");
    }
}

#[test]
fn every_code_has_a_case_and_codes_are_unique() {
    let mut covered: BTreeSet<&str> = cases().iter().map(|c| c.0).collect();
    // Codes whose input cannot be written as a text literal here; they have
    // tests of their own below.
    covered.extend(["INVALID_ENCODING", "POLICY_TOO_LARGE"]);
    let all: BTreeSet<&str> = CODES.iter().map(|c| c.code).collect();
    assert_eq!(all.len(), CODES.len(), "duplicate codes");
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}

#[test]
fn the_documentation_lists_every_code() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-validation.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("SKIPPED: {} absent", path.display());
        return;
    };
    for c in CODES {
        assert!(
            text.contains(&format!("`{}`", c.code)),
            "{} is not documented in {}",
            c.code,
            path.display()
        );
    }
}

#[test]
fn invalid_encoding_points_at_the_bad_byte() {
    let f = validate(b"{\n  \"Version\": \"\xff\"}", PolicyType::Identity);
    let e = one(&f, "INVALID_ENCODING");
    assert_eq!((e.line, e.column), (2, 15));
    assert_eq!(e.severity, Severity::Error);
    assert!(e.message.contains("offset 16"), "{e}");
    assert_eq!(f.len(), 1);
}

#[test]
fn oversized_documents_are_refused_before_reading() {
    let big = format!("{{\"Id\": \"{}\"}}", "x".repeat(200_000));
    let f = lint(PolicyType::Identity, &big);
    let e = one(&f, "POLICY_TOO_LARGE");
    assert!(e.message.contains("200010 bytes"), "{e}");
    assert_eq!(f.len(), 1);
}

#[test]
fn json_errors_name_line_and_column() {
    let f = lint(
        PolicyType::Identity,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\" \"Action\": \"s3:*\"}\n  ]\n}",
    );
    let e = one(&f, "INVALID_JSON");
    assert_eq!((e.line, e.column), (4, 24), "{e}");
    assert!(e.message.contains("expected ',' or '}'"), "{e}");
}

#[test]
fn one_run_reports_grammar_errors_and_everything_else() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "allow", "Action": "bedrock:InvokeModels", "Resource": "*", "Condition": {"StringEqual": {"aws:SourceIp": "x"}}}"#,
        ),
    );
    assert_eq!(one(&f, "GRAMMAR_ERROR").path, "Statement[0].Effect");
    one(&f, "UNKNOWN_ACTION");
    // The parser stops at the first error; the unknown operator is
    // reported by the linter with its own code, not twice.
    one(&f, "UNKNOWN_OPERATOR");
}

#[test]
fn a_parser_error_already_reported_is_not_repeated() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEqual": {"aws:SourceIp": "x"}}}"#,
        ),
    );
    none_of(&f, "GRAMMAR_ERROR");
    let e = one(&f, "UNKNOWN_OPERATOR");
    assert!(e.message.contains("did you mean 'StringEquals'?"), "{e}");
    assert_eq!(
        e.fix,
        "Write \"StringEquals\" (operator names are case-sensitive)."
    );
}

#[test]
fn guardrail_arn_points_to_guardrail_identifier() {
    let document = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\n    \"Sid\": \"RequireGuardrail\",\n    \"Effect\": \"Deny\",\n    \"Action\": [\"bedrock:InvokeModel\", \"bedrock:InvokeModelWithResponseStream\"],\n    \"Resource\": \"*\",\n    \"Condition\": {\"Null\": {\"bedrock:GuardrailArn\": \"true\"}}\n  }]\n}";
    let f = lint(PolicyType::ServiceControl, document);
    assert_eq!(f.len(), 1, "{}", show(&f));
    let e = one(&f, "UNKNOWN_CONDITION_KEY");
    assert_eq!(e.severity, Severity::Error);
    assert_eq!((e.line, e.column), (8, 28));
    assert!(
        e.message
            .contains("did you mean 'bedrock:GuardrailIdentifier'?"),
        "{e}"
    );
    assert!(
        e.message
            .contains("this Deny applies to every request it covers"),
        "{e}"
    );
    assert_eq!(
        e.fix,
        "Replace \"bedrock:GuardrailArn\" with \"bedrock:GuardrailIdentifier\"."
    );
    // The corrected policy is clean.
    let fixed = document.replace("GuardrailArn", "GuardrailIdentifier");
    assert!(lint(PolicyType::ServiceControl, &fixed).is_empty());
}

#[test]
fn unknown_keys_say_what_the_condition_then_does() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIpp": "10.0.0.0/8"}}}"#,
        ),
    );
    let e = one(&f, "UNKNOWN_CONDITION_KEY");
    assert!(e.message.contains("did you mean 'aws:SourceIp'?"), "{e}");
    assert!(e.message.contains("never holds"), "{e}");
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringNotEquals": {"SourceVpc": "vpc-1"}}}"#,
        ),
    );
    let e = one(&f, "UNKNOWN_CONDITION_KEY");
    assert!(e.message.contains("prefix:name"), "{e}");
    assert!(
        e.message.contains("always holds and restricts nothing"),
        "{e}"
    );
    // Claims of OIDC providers are checked, more leniently.
    let f = lint(
        PolicyType::Trust,
        &doc(
            r#"{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:job": "x"}}}"#,
        ),
    );
    let e = one(&f, "UNKNOWN_CONDITION_KEY");
    assert_eq!(e.severity, Severity::Warning);
    assert!(e.path.ends_with(":job"), "{e}");
}

#[test]
fn suggestions_for_services_and_actions() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": ["bedrok:InvokeModel", "bedrock:InvokeModels", "s3:GetObjects"], "Resource": "*"}"#,
        ),
    );
    let svc = one(&f, "UNKNOWN_SERVICE");
    assert!(svc.message.contains("did you mean 'bedrock'?"), "{svc}");
    assert_eq!(svc.fix, "Replace it with \"bedrock:InvokeModel\".");
    let acts: Vec<&Finding> = f.iter().filter(|f| f.code == "UNKNOWN_ACTION").collect();
    assert_eq!(acts.len(), 2, "{}", show(&f));
    assert!(
        acts[0]
            .message
            .contains("did you mean 'bedrock:InvokeModel'?"),
        "{}",
        acts[0]
    );
    assert!(
        acts[1].message.contains("did you mean 's3:GetObject'?"),
        "{}",
        acts[1]
    );
    // API operation names that are authorized under another action.
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Allow", "Action": "bedrock:Converse", "Resource": "*"}"#),
    );
    assert_eq!(
        one(&f, "UNKNOWN_ACTION").fix,
        "Replace it with \"bedrock:InvokeModel\"."
    );
    // Known services the catalogue does not detail: only the prefix is checked.
    assert!(
        lint(
            PolicyType::Identity,
            &doc(r#"{"Effect": "Allow", "Action": "sagemaker:NoSuchThing", "Resource": "*"}"#)
        )
        .is_empty()
    );
    // Action names are case-insensitive.
    assert!(
        lint(
            PolicyType::Identity,
            &doc(r#"{"Effect": "Allow", "Action": "BEDROCK:invokemodel", "Resource": "*"}"#)
        )
        .is_empty()
    );
}

#[test]
fn typos_in_not_action_are_reported_too() {
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Deny", "NotAction": ["iam:GetUsers", "sts:*"], "Resource": "*"}"#),
    );
    assert_eq!(one(&f, "UNKNOWN_ACTION").path, "Statement[0].NotAction[0]");
}

#[test]
fn redundancy() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": ["s3:GetObject", "S3:getobject", "s3:Get*", "s3:GetObject*", "s3:Get?bject"], "Resource": "*"}"#,
        ),
    );
    let r: Vec<&str> = f
        .iter()
        .filter(|f| f.code == "REDUNDANT_ACTION")
        .map(|f| f.path.as_str())
        .collect();
    // [0] is covered by [2]; [1] repeats [0]; [3] and [4] are covered by [2].
    assert_eq!(
        r,
        [
            "Statement[0].Action[0]",
            "Statement[0].Action[1]",
            "Statement[0].Action[3]",
            "Statement[0].Action[4]"
        ],
        "{}",
        show(&f)
    );
    // `?` patterns are not taken to cover anything.
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Allow", "Action": ["s3:Get?", "s3:Get*"], "Resource": "*"}"#),
    );
    assert_eq!(one(&f, "REDUNDANT_ACTION").path, "Statement[0].Action[0]");
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["*", "arn:aws:s3:::docs/*", "arn:aws:s3:::docs/*"]}"#,
        ),
    );
    let r: Vec<&str> = f
        .iter()
        .filter(|f| f.code == "REDUNDANT_RESOURCE")
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(r, ["Statement[0].Resource[1]", "Statement[0].Resource[2]"]);
}

#[test]
fn risky_grants() {
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#),
    );
    assert_eq!(one(&f, "FULL_ADMIN").severity, Severity::SecurityWarning);
    one(&f, "PASS_ROLE_WITH_STAR");
    // An SCP or boundary allowing everything only lets the other layers
    // decide; an endpoint policy allowing everything restricts nothing.
    assert!(
        lint(
            PolicyType::ServiceControl,
            &doc(r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#)
        )
        .is_empty()
    );
    assert!(
        lint(
            PolicyType::Boundary,
            &doc(r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#)
        )
        .is_empty()
    );
    let f = lint(
        PolicyType::Endpoint,
        &doc(r#"{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"#),
    );
    assert_eq!(one(&f, "FULL_ADMIN").severity, Severity::Warning);
    none_of(&f, "PUBLIC_ACCESS");
    // Deny is never a grant.
    assert!(
        lint(
            PolicyType::Identity,
            &doc(r#"{"Effect": "Deny", "Action": "*", "Resource": "*"}"#)
        )
        .is_empty()
    );
    // iam:PassRole on a named role is fine; via iam:* or NotResource it is not.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/BedrockAgent", "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}}"#)).is_empty());
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}"#),
    );
    one(&f, "PASS_ROLE_WITH_STAR");
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::123456789012:role/Admin"}"#,
        ),
    );
    assert!(
        one(&f, "PASS_ROLE_WITH_STAR")
            .message
            .contains("NotResource")
    );
    one(&f, "ALLOW_WITH_NOT_RESOURCE");
    let f = lint(
        PolicyType::Identity,
        &doc(r#"{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}"#),
    );
    one(&f, "ALLOW_WITH_NOT_ACTION");
    assert_eq!(
        one(&f, "PASS_ROLE_WITH_STAR").path,
        "Statement[0].NotAction"
    );
}

#[test]
fn principals_by_policy_type() {
    let stmt = r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/App"}, "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*"}"#;
    for ty in [
        PolicyType::Identity,
        PolicyType::Boundary,
        PolicyType::Session,
        PolicyType::ServiceControl,
    ] {
        one(&lint(ty, &doc(stmt)), "UNSUPPORTED_PRINCIPAL");
    }
    assert!(lint(PolicyType::Resource, &doc(stmt)).is_empty());
    assert!(lint(PolicyType::Endpoint, &doc(stmt)).is_empty());
    let f = lint(PolicyType::ResourceControl, &doc(stmt));
    one(&f, "UNSUPPORTED_PRINCIPAL");
    // A plain-string principal: the fix writes the map.
    let f = lint(
        PolicyType::Resource,
        &doc(
            r#"{"Effect": "Allow", "Principal": "arn:aws:iam::123456789012:root", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"}"#,
        ),
    );
    assert_eq!(
        one(&f, "INVALID_PRINCIPAL_FORMAT").fix,
        "Write \"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:root\"}."
    );
    // Valid principals of every kind.
    let ok = r#"{"Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:user/a", "arn:aws:sts::123456789012:assumed-role/R/s", "AROAEXAMPLEEXAMPLE12"], "Service": "bedrock.amazonaws.com", "Federated": "cognito-identity.amazonaws.com", "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}"#;
    assert!(
        lint(PolicyType::Resource, &doc(ok)).is_empty(),
        "{}",
        show(&lint(PolicyType::Resource, &doc(ok)))
    );
    let f = lint(
        PolicyType::Trust,
        &doc(
            r#"{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:123456789012:root", "alice"]}, "Action": "sts:AssumeRole"}"#,
        ),
    );
    assert_eq!(one(&f, "INVALID_ARN").path, "Statement[0].Principal.AWS[0]");
    assert_eq!(
        one(&f, "INVALID_PRINCIPAL").path,
        "Statement[0].Principal.AWS[1]"
    );
    let bad = r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCT:root", "Service": "Bedrock", "Federated": "my provider", "CanonicalUser": "abc"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"}"#;
    let f = lint(PolicyType::Resource, &doc(bad));
    one(&f, "INVALID_ARN_ACCOUNT");
    let paths: Vec<&str> = f
        .iter()
        .filter(|f| f.code == "INVALID_PRINCIPAL")
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "Statement[0].Principal.Service",
            "Statement[0].Principal.Federated",
            "Statement[0].Principal.CanonicalUser"
        ]
    );
}

#[test]
fn public_and_service_principals_need_conditions() {
    let public = |cond: &str| {
        doc(&format!(
            r#"{{"Effect": "Allow", "Principal": {{"AWS": "*"}}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"{cond}}}"#
        ))
    };
    one(&lint(PolicyType::Resource, &public("")), "PUBLIC_ACCESS");
    assert!(
        lint(
            PolicyType::Resource,
            &public(r#", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}"#)
        )
        .is_empty()
    );
    let trust = doc(
        r#"{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}"#,
    );
    assert_eq!(
        one(&lint(PolicyType::Trust, &trust), "MISSING_SOURCE_CONDITION").severity,
        Severity::Suggestion
    );
}

#[test]
fn trust_policies() {
    let ok = doc(
        r#"{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}, "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-west-2:123456789012:agent/*"}}}"#,
    );
    assert!(
        lint(PolicyType::Trust, &ok).is_empty(),
        "{}",
        show(&lint(PolicyType::Trust, &ok))
    );
    // Wildcards that reach a trust action are accepted.
    let f = lint(
        PolicyType::Trust,
        &doc(
            r#"{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole*"}"#,
        ),
    );
    none_of(&f, "TRUST_POLICY_ACTION");
    one(
        &lint(
            PolicyType::Trust,
            &doc(r#"{"Effect": "Allow", "Action": "sts:AssumeRole"}"#),
        ),
        "MISSING_PRINCIPAL",
    );
}

#[test]
fn resources_against_the_catalogue() {
    // The fix rewrites the ARN in the type's format.
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1:123456789012:foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}"#,
        ),
    );
    let e = one(&f, "RESOURCE_TYPE_MISMATCH");
    assert_eq!(
        e.fix,
        "Write \"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0\"."
    );
    // sts actions take IAM role ARNs.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::123456789012:role/Bedrock"}"#)).is_empty());
    // Buckets and objects.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::kbase", "arn:aws:s3:::kbase/*"]}"#)).is_empty());
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::kbase/*"}"#,
        ),
    );
    assert_eq!(
        one(&f, "ACTION_RESOURCE_MISMATCH").path,
        "Statement[0].Action[1]"
    );
    // Invalid ARNs of several kinds.
    for bad in [
        "arn:aws:s3",
        "arn:aws-xx:s3:::docs",
        "arn:aws:S3:::b",
        "arn:aws::::b",
        "arn:aws:s3:::",
    ] {
        let f = lint(
            PolicyType::Identity,
            &doc(&format!(
                r#"{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "{bad}"}}"#
            )),
        );
        one(&f, "INVALID_ARN");
    }
    // Resources of undetailed services are not second-guessed.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}"#)).is_empty());
}

#[test]
fn condition_values_are_read_for_their_operator() {
    let bad = [
        ("Bool", "aws:SecureTransport", "yes"),
        ("NumericLessThan", "aws:MultiFactorAuthAge", "ten"),
        ("DateGreaterThan", "aws:CurrentTime", "tomorrow"),
        ("Null", "aws:TokenIssueTime", "maybe"),
        ("NotIpAddress", "aws:SourceIp", "10.0.0.0/33"),
        ("ArnLike", "aws:SourceArn", "agent/*"),
    ];
    for (op, key, value) in bad {
        let f = lint(
            PolicyType::Identity,
            &doc(&format!(
                r#"{{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {{"{op}": {{"{key}": "{value}"}}}}}}"#
            )),
        );
        let e = one(&f, "INVALID_CONDITION_VALUE");
        assert_eq!(e.path, format!("Statement[0].Condition.{op}.{key}"), "{e}");
    }
    let good = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}, "DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}, "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}, "Null": {"aws:TokenIssueTime": "false"}}}"#;
    assert!(
        lint(PolicyType::Identity, &doc(good)).is_empty(),
        "{}",
        show(&lint(PolicyType::Identity, &doc(good)))
    );
}

#[test]
fn key_types_and_qualifiers() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceIp": "10.0.0.1"}}}"#,
        ),
    );
    assert!(one(&f, "CONDITION_TYPE_MISMATCH").fix.contains("IpAddress"));
    // Arn keys accept String operators.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}}"#)).is_empty());
    // Multivalued keys with a qualifier are fine.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "bedrock:TagResource", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}}"#)).is_empty());
}

#[test]
fn condition_keys_against_the_statement_actions() {
    // GuardrailIdentifier is a key of InvokeModel.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*", "Condition": {"ArnEquals": {"bedrock:GuardrailIdentifier": "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc"}}}"#)).is_empty());
    // The mismatch message says what the condition then does.
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*", "Condition": {"StringNotEquals": {"s3:prefix": "a"}}}"#,
        ),
    );
    assert!(
        one(&f, "CONDITION_KEY_SERVICE_MISMATCH")
            .message
            .contains("this Deny applies to every request it covers")
    );
    // Tag keys are checked against the actions too: listing models concerns
    // no tagged resource.
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "bedrock:ListFoundationModels", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "ml"}}}"#,
        ),
    );
    one(&f, "CONDITION_KEY_NOT_SUPPORTED");
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "bedrock:GetGuardrail", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "ml"}}}"#)).is_empty());
    // Global keys need no support from the actions.
    assert!(lint(PolicyType::Identity, &doc(r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ml"}}}"#)).is_empty());
}

#[test]
fn variables_where_they_belong() {
    let f = lint(
        PolicyType::Resource,
        &doc(
            r#"{"Sid": "${aws:username}", "Effect": "Allow", "Principal": {"AWS": "${aws:userid}"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*", "Condition": {"StringEquals": {"aws:PrincipalTag/${aws:username}": "x"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "${aws:EpochTime}"}}}"#,
        ),
    );
    let paths: Vec<&str> = f
        .iter()
        .filter(|f| f.code == "INVALID_VARIABLE_PLACEMENT")
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "Statement[0].Sid",
            "Statement[0].Principal.AWS",
            "Statement[0].Condition.StringEquals.aws:PrincipalTag/${aws:username}",
            "Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge"
        ],
        "{}",
        show(&f)
    );
    // Variables where they belong are fine, defaults and escapes included.
    let ok = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/${*}/*", "Condition": {"StringLike": {"s3:prefix": "${aws:PrincipalTag/team, 'none'}/*"}}}"#;
    let f = lint(PolicyType::Identity, &doc(ok));
    none_of(&f, "INVALID_VARIABLE_PLACEMENT");
    none_of(&f, "MALFORMED_VARIABLE");
    none_of(&f, "UNKNOWN_VARIABLE");
    // Version 2008-10-17 says so, as does a missing Version.
    let old = r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}"#;
    let e = lint(PolicyType::Identity, old);
    assert!(
        one(&e, "VARIABLE_WITHOUT_VERSION")
            .message
            .contains("Version 2008-10-17 has no policy variables")
    );
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:usrname}/*"}"#,
        ),
    );
    assert!(
        one(&f, "UNKNOWN_VARIABLE")
            .message
            .contains("did you mean 'aws:username'?")
    );
}

#[test]
fn clean_policies_have_no_findings() {
    let clean = [
        (
            PolicyType::Identity,
            doc(
                r#"{"Sid": "Invoke", "Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], "Resource": ["arn:aws:bedrock:us-east-1::foundation-model/anthropic.*", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/*"], "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "true"}}}"#,
            ),
        ),
        (
            PolicyType::ServiceControl,
            doc(
                r#"{"Sid": "Regions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"], "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "ap-northeast-1"]}, "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrgAdmin"}}}"#,
            ),
        ),
        (
            PolicyType::Resource,
            doc(
                r#"{"Sid": "Key use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/App"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}}}"#,
            ),
        ),
    ];
    for (ty, d) in clean {
        let f = lint(ty, &d);
        assert!(f.is_empty(), "{ty}:\n{}", show(&f));
    }
}

#[test]
fn locations_count_characters_not_bytes() {
    let d = "{\"Version\": \"2012-10-17\", \"Id\": \"日本語\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"bedrok:X\", \"Resource\": \"*\"}]}";
    let f = lint(PolicyType::Identity, d);
    let e = one(&f, "UNKNOWN_SERVICE");
    let expected = d[..d.find("\"bedrok").unwrap_or(0)].chars().count() + 1;
    assert_eq!((e.line, e.column), (1, expected));
}

#[test]
fn findings_are_in_document_order_and_serialize() {
    let f = lint(
        PolicyType::Identity,
        &doc(
            r#"{"Effect": "Allow", "Action": ["bedrok:X", "*"], "Resource": "*"}, {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}"#,
        ),
    );
    let positions: Vec<(usize, usize)> = f.iter().map(|f| (f.line, f.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    let json = serde_json::to_value(&f[0]).unwrap_or_default();
    assert_eq!(json["severity"], "ERROR");
    assert_eq!(json["code"], "UNKNOWN_SERVICE");
    assert_eq!(
        serde_json::to_value(Severity::SecurityWarning).unwrap_or_default(),
        "SECURITY_WARNING"
    );
}

#[test]
fn policy_types_parse_from_their_cli_names() {
    for ty in PolicyType::ALL {
        assert_eq!(ty.as_str().parse::<PolicyType>(), Ok(ty));
    }
    assert_eq!("SCP".parse::<PolicyType>(), Ok(PolicyType::ServiceControl));
    assert!(
        "bucket"
            .parse::<PolicyType>()
            .unwrap_err()
            .contains("identity, resource, scp")
    );
}

#[test]
fn suggests_operators() {
    assert_eq!(
        suggest_operator("StringEqual").as_deref(),
        Some("StringEquals")
    );
    assert_eq!(
        suggest_operator("stringequals").as_deref(),
        Some("StringEquals")
    );
    assert_eq!(
        suggest_operator("ForAnyValue:StringLik").as_deref(),
        Some("ForAnyValue:StringLike")
    );
    assert_eq!(
        suggest_operator("forallvalues:StringEquals").as_deref(),
        Some("ForAllValues:StringEquals")
    );
    assert_eq!(
        suggest_operator("ArnLikeIfexists").as_deref(),
        Some("ArnLikeIfExists")
    );
    assert_eq!(suggest_operator("Zzzzzz"), None);
}

/// A small deterministic generator, so the garbage is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn never_panics() {
    let seed_doc = doc(
        r#"{"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::123456789012:root"]}, "NotAction": ["bedrock:Invoke*", "s3:${x}"], "Resource": ["arn:aws:s3:::docs/${aws:username}", "*"], "Condition": {"ForAllValues:StringLike": {"aws:TagKeys": ["a*"], "k": []}, "Null": {"x": true}, "IpAddress": {"aws:SourceIp": 5}}}"#,
    );
    let bytes = seed_doc.as_bytes();
    // Every prefix, and every single-byte corruption, of a rich document.
    for end in 0..=bytes.len() {
        for ty in PolicyType::ALL {
            let _ = validate(&bytes[..end], ty);
        }
    }
    let mut rng = Lcg(7);
    for _ in 0..2_000 {
        let mut b = bytes.to_vec();
        let i = (rng.next() as usize) % b.len();
        b[i] = (rng.next() & 0xff) as u8;
        let _ = validate(&b, PolicyType::ALL[(rng.next() as usize) % 8]);
    }
    // Random bytes, random JSON-ish tokens.
    let tokens = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Statement\"",
        "\"Effect\"",
        "\"Allow\"",
        "\"*\"",
        "\"Action\"",
        "\"Condition\"",
        "\"${\"",
        "\"arn:\"",
        "1e999",
        "true",
        "null",
        "\"\\u0000\"",
    ];
    for _ in 0..2_000 {
        let n = (rng.next() % 40) as usize;
        let s: String = (0..n)
            .map(|_| tokens[(rng.next() as usize) % tokens.len()])
            .collect();
        let _ = validate(s.as_bytes(), PolicyType::Identity);
        let raw: Vec<u8> = (0..n).map(|_| (rng.next() & 0xff) as u8).collect();
        let _ = validate(&raw, PolicyType::Resource);
    }
    // Deep nesting, huge strings, odd Unicode.
    let _ = validate("[".repeat(1_000_000).as_bytes(), PolicyType::Identity);
    let deep = format!(
        "{{{V}, \"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\", \"Condition\": {}}}}}",
        "{\"a\":".repeat(40) + "1" + &"}".repeat(40)
    );
    one(
        &validate(deep.as_bytes(), PolicyType::Identity),
        "NESTING_TOO_DEEP",
    );
    let long = doc(&format!(
        r#"{{"Effect": "Allow", "Action": "s3:{}", "Resource": "arn:aws:s3:::{}", "Condition": {{"StringLike": {{"aws:userid": "{}"}}}}}}"#,
        "A".repeat(40_000),
        "*?".repeat(20_000),
        "*".repeat(40_000)
    ));
    let f = validate(long.as_bytes(), PolicyType::Identity);
    one(&f, "UNKNOWN_ACTION");
    let weird = doc(
        "{\"Sid\": \"\u{202e}\u{0301}\", \"Effect\": \"Allow\", \"Action\": \"\u{1F600}:\u{1F600}\", \"Resource\": \"arn:\u{1F600}:::::\"}",
    );
    let _ = validate(weird.as_bytes(), PolicyType::Identity);
    let _ = validate(b"\xef\xbb\xbf{}", PolicyType::Identity);
    let _ = validate(b"", PolicyType::Identity);
    let _ = validate(b"\xff\xfe{\x00}", PolicyType::Identity);
}

#[test]
fn the_largest_documents_stay_cheap() {
    // Every check is linear or bounded in the size of the document: a
    // document at the size limit made of many small entries takes
    // milliseconds, not the minutes a quadratic check would.
    let actions: Vec<String> = (0..4_000).map(|i| format!("\"s3:Get{i}*\"")).collect();
    let resources: Vec<String> = (0..2_000)
        .map(|i| format!("\"arn:aws:s3:::bucket-{i}/*\""))
        .collect();
    let big = doc(&format!(
        r#"{{"Sid": "A", "Effect": "Allow", "Action": [{}], "Resource": [{}]}}"#,
        actions.join(","),
        resources.join(",")
    ));
    assert!(big.len() < 128 * 1024, "{}", big.len());
    let start = std::time::Instant::now();
    let f = lint(PolicyType::Identity, &big);
    assert!(
        f.iter()
            .filter(|f| f.code == "WILDCARD_MATCHES_NO_ACTION")
            .count()
            > 3_000
    );
    let statements: Vec<String> = (0..1_500)
        .map(|i| {
            format!(
                r#"{{"Sid": "S{}", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}}"#,
                i % 700
            )
        })
        .collect();
    let many = doc(&statements.join(","));
    assert!(many.len() < 128 * 1024, "{}", many.len());
    let f = lint(PolicyType::Identity, &many);
    assert_eq!(f.iter().filter(|f| f.code == "DUPLICATE_SID").count(), 800);
    let elapsed = start.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn line_index_agrees_with_the_reader() {
    let src = "{\n  \"Id\": \"日本語\",\r\n\n  \"Statement\": []\n}\n";
    let mut sink = Sink::new(src);
    for offset in (0..=src.len() + 3).filter(|o| src.is_char_boundary(*o.min(&src.len()))) {
        assert_eq!(
            sink.line_col(offset),
            json::line_col(src, offset),
            "offset {offset}"
        );
    }
}
