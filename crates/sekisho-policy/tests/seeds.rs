//! Every IAM policy in the seed documents (`../shared/seeds/*.txt`) parses
//! and validates with the findings a careful reviewer would expect.
//!
//! The seeds are Japanese articles; their policies appear as JSON blocks
//! (fenced or as plain text) and as Python dict literals passed to
//! `json.dumps`. A small extractor finds every balanced `{...}` that holds a
//! `Statement`, turns Python literals into JSON, and each document is then
//! matched to its expectations by its first `Sid`. When the seeds are
//! absent the test says so and passes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sekisho_policy::Policy;
use sekisho_policy::lint::{Finding, PolicyType, Severity, code_info, validate};

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds")
}

/// A policy found in a seed.
#[derive(Debug)]
struct Found {
    file: String,
    /// Byte offset in the seed, for messages.
    offset: usize,
    json: String,
}

/// Index of the `}` closing the `{` at `open`, skipping strings quoted with
/// `"` or `'` (backslash escapes honoured). `None` when unbalanced.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q || b == b'\n' && q == b'\'' {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Python dict literal (or JSON) to JSON: single-quoted and f-strings
/// become JSON strings, True/False/None become true/false/null, `#`
/// comments and trailing commas go.
fn python_to_json(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        // An f-string prefix: drop the f.
        if (c == 'f' || c == 'F')
            && matches!(chars.get(i + 1), Some('"' | '\''))
            && (i == 0 || !ident(chars[i - 1]))
        {
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' => {
                let q = c;
                i += 1;
                out.push('"');
                while i < chars.len() && chars[i] != q {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            let n = chars[i + 1];
                            if n == '\'' {
                                out.push('\'');
                            } else {
                                out.push('\\');
                                out.push(n);
                            }
                            i += 2;
                            continue;
                        }
                        '"' => out.push_str("\\\""),
                        other => out.push(other),
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            _ if ident(c) && (i == 0 || !ident(chars[i - 1])) => {
                let end = (i..chars.len())
                    .find(|&j| !ident(chars[j]))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                out.push_str(match word.as_str() {
                    "True" => "true",
                    "False" => "false",
                    "None" => "null",
                    w => w,
                });
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every policy document in one seed, outermost first.
fn extract(file: &str, text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(rel) = text.get(pos..).and_then(|t| t.find('{')) {
        let open = pos + rel;
        let candidate = closing_brace(text, open).map(|close| (close, &text[open..=close]));
        if let Some((close, block)) = candidate
            && (block.contains("\"Statement\"") || block.contains("'Statement'"))
        {
            let json = python_to_json(block);
            let is_policy = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .is_some_and(|v| v.get("Statement").is_some());
            if is_policy {
                found.push(Found {
                    file: file.to_string(),
                    offset: open,
                    json,
                });
                pos = close + 1;
                continue;
            }
        }
        pos = open + 1;
    }
    found
}

fn first_sid(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let stmt = match v.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.first().cloned(),
        Some(s) => Some(s.clone()),
        None => None,
    };
    stmt.and_then(|s| s.get("Sid").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn show(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a careful reviewer expects of one seed policy: its type and every
/// finding as (code, path), with text a message must hold.
struct Expect {
    first_sid: &'static str,
    ty: PolicyType,
    findings: &'static [(&'static str, &'static str, &'static str)],
}

const EXPECTED: &[Expect] = &[
    // 000: Amazon Bedrock security and compliance.
    Expect {
        first_sid: "BedrockInvoke",
        ty: PolicyType::Identity,
        findings: &[],
    },
    Expect {
        first_sid: "AllowClaudeOnly",
        ty: PolicyType::Identity,
        findings: &[],
    },
    Expect {
        // RetrieveAndGenerate has no resource-level permissions: listed with
        // only the knowledge-base ARN it is never allowed.
        first_sid: "KnowledgeBaseAccess",
        ty: PolicyType::Identity,
        findings: &[(
            "ACTION_RESOURCE_MISMATCH",
            "Statement[0].Action[1]",
            "bedrock:RetrieveAndGenerate supports no resource-level permissions",
        )],
    },
    Expect {
        first_sid: "AgentInvoke",
        ty: PolicyType::Identity,
        findings: &[],
    },
    Expect {
        first_sid: "GuardrailsReadOnly",
        ty: PolicyType::Identity,
        findings: &[],
    },
    Expect {
        // The VPC endpoint policy.
        first_sid: "AllowBedrockAccess",
        ty: PolicyType::Endpoint,
        findings: &[],
    },
    Expect {
        // The KMS key policy (a Python dict): Sids with spaces are fine in a
        // key policy; the grant to bedrock.amazonaws.com has no
        // aws:SourceAccount / aws:SourceArn guard.
        first_sid: "Enable IAM policies",
        ty: PolicyType::Resource,
        findings: &[(
            "MISSING_SOURCE_CONDITION",
            "Statement[1].Principal.Service",
            "confused deputy",
        )],
    },
    Expect {
        first_sid: "DenyBedrockOutsideAllowedRegions",
        ty: PolicyType::ServiceControl,
        findings: &[],
    },
    Expect {
        // bedrock:GuardrailArn does not exist: the SCP denies every call.
        first_sid: "RequireGuardrail",
        ty: PolicyType::ServiceControl,
        findings: &[(
            "UNKNOWN_CONDITION_KEY",
            "Statement[0].Condition.Null.bedrock:GuardrailArn",
            "did you mean 'bedrock:GuardrailIdentifier'?",
        )],
    },
    // 003: layered authorization for Bedrock agents.
    Expect {
        first_sid: "AmazonBedrockAgentBedrockFoundationModelPolicy",
        ty: PolicyType::Identity,
        findings: &[],
    },
    Expect {
        // "S3BucketName" and "Account_Number" are placeholders.
        first_sid: "AmazonBedrockAgentDataStorePolicy",
        ty: PolicyType::Identity,
        findings: &[
            (
                "INVALID_BUCKET_NAME",
                "Statement[0].Resource[0]",
                "'S3BucketName' is not a valid bucket name",
            ),
            (
                "INVALID_ACCOUNT_VALUE",
                "Statement[0].Condition.StringEquals.aws:ResourceAccount",
                "'Account_Number' is not a 12-digit account ID",
            ),
        ],
    },
    Expect {
        // The trust policy with the confused-deputy guard, placeholders in it.
        first_sid: "AmazonBedrockAgentTrustPolicy",
        ty: PolicyType::Trust,
        findings: &[
            (
                "INVALID_ACCOUNT_VALUE",
                "Statement[0].Condition.StringEquals.aws:SourceAccount",
                "'Account_Number' is not a 12-digit account ID",
            ),
            (
                "INVALID_ACCOUNT_VALUE",
                "Statement[0].Condition.ArnLike.aws:SourceArn",
                "the account in 'arn:aws:bedrock:us-west-2:Account_Number:agent/*'",
            ),
        ],
    },
];

fn seed_policies() -> Option<Vec<Found>> {
    let dir = seeds_dir();
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut policies = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        policies.extend(extract(&name, &text));
    }
    Some(policies)
}

#[test]
fn seed_policies_parse_and_validate_as_expected() {
    let Some(policies) = seed_policies() else {
        println!(
            "SKIPPED: seed documents at {} absent",
            seeds_dir().display()
        );
        return;
    };
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for p in &policies {
        let sid = first_sid(&p.json);
        if let Err(e) = Policy::parse(p.json.as_bytes()) {
            failures.push(format!(
                "{} at byte {} ({sid}) does not parse: {e}",
                p.file, p.offset
            ));
            continue;
        }
        let Some(expect) = EXPECTED.iter().find(|e| e.first_sid == sid) else {
            failures.push(format!(
                "{} at byte {}: a policy with no expectations (first Sid '{sid}')",
                p.file, p.offset
            ));
            continue;
        };
        seen.insert(sid.clone());
        let findings = validate(p.json.as_bytes(), expect.ty);
        let got: BTreeSet<(&str, &str)> =
            findings.iter().map(|f| (f.code, f.path.as_str())).collect();
        let want: BTreeSet<(&str, &str)> = expect
            .findings
            .iter()
            .map(|(c, path, _)| (*c, *path))
            .collect();
        if got != want {
            failures.push(format!(
                "{sid} ({}): expected {want:?}, got:\n{}",
                expect.ty,
                show(&findings)
            ));
            continue;
        }
        for (code, path, text) in expect.findings {
            let ok = findings
                .iter()
                .any(|f| f.code == *code && f.path == *path && f.message.contains(text));
            if !ok {
                failures.push(format!(
                    "{sid}: the {code} at {path} does not say '{text}':\n{}",
                    show(&findings)
                ));
            }
        }
        // Correct policies have no ERROR; the linter's verdict matches the
        // expectations' severities.
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let expected_errors = expect
            .findings
            .iter()
            .filter(|(c, _, _)| code_info(c).is_some_and(|i| i.severity == Severity::Error))
            .count();
        if errors != expected_errors {
            failures.push(format!(
                "{sid}: {errors} ERROR findings, expected {expected_errors}"
            ));
        }
    }
    for e in EXPECTED {
        if !seen.contains(e.first_sid) {
            failures.push(format!(
                "the seeds no longer hold the policy '{}'",
                e.first_sid
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        policies.len(),
        EXPECTED.len(),
        "policies found in the seeds"
    );
    println!("{} seed policies checked", policies.len());
}

#[test]
fn extractor_reads_python_literals() {
    let py = "key_policy = {\n    \"Version\": \"2012-10-17\",  # comment\n    'Statement': [{'Sid': 'A', \"Effect\": 'Allow', 'Principal': {\"AWS\": f\"arn:aws:iam::123456789012:root\"}, 'Action': 'kms:*', 'Resource': '*', 'X': True, 'Y': None, 'Z': \"it's\",},],\n}";
    let found = extract("t", py);
    assert_eq!(found.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&found[0].json).unwrap_or_default();
    assert_eq!(
        v["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );
    assert_eq!(v["Statement"][0]["X"], true);
    assert_eq!(v["Statement"][0]["Z"], "it's");
    // Braces in prose and non-policy dicts are skipped.
    assert!(extract("t", "a {b} c {'x': 1} {").is_empty());
}

/// Run with `--ignored --nocapture` in release mode to see the cost of
/// linting the seed policies.
#[test]
#[ignore]
fn lint_speed() {
    let Some(policies) = seed_policies() else {
        return;
    };
    let _ = validate(b"{}", PolicyType::Identity); // load the catalogue
    let rounds: u32 = 2_000;
    let mut total = std::time::Duration::ZERO;
    for p in &policies {
        let ty = EXPECTED
            .iter()
            .find(|e| e.first_sid == first_sid(&p.json))
            .map_or(PolicyType::Identity, |e| e.ty);
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(validate(std::hint::black_box(p.json.as_bytes()), ty));
        }
        let per = start.elapsed() / rounds;
        total += per;
        println!("{:>10?}  {}", per, first_sid(&p.json));
    }
    println!(
        "{:>10?}  mean of {} policies",
        total / policies.len() as u32,
        policies.len()
    );
}
