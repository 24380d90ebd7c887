//! `sekisho policy simulate` as a user runs it.

use std::path::PathBuf;
use std::process::Command;

fn sekisho() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn runs_the_seed_examples_with_one_line_per_case() {
    let out = sekisho()
        .args(["policy", "simulate", "--cases"])
        .arg(repo().join("examples/seed-decisions.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 15, "{stdout}");
    assert_eq!(lines.last(), Some(&"14 passed, 0 failed"));
    assert!(
        lines[1].contains("ImplicitlyDenied") && lines[1].contains("Titan"),
        "{}",
        lines[1]
    );
}

#[test]
fn json_output_is_machine_readable() {
    let out = sekisho()
        .args(["policy", "simulate", "--json", "--cases"])
        .arg(repo().join("examples/seed-decisions.json"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], 14);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["results"][4]["actual"], "ExplicitlyDenied");
}

#[test]
fn one_request_from_flags_explains_the_decision() {
    let dir = std::env::temp_dir().join(format!("sekisho-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("claude-only.json");
    std::fs::write(
        &policy,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowClaudeOnly","Effect":"Allow",
        "Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-*",
        "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}"#,
    )
    .unwrap();
    let run = |resource: &str, region: &str| {
        sekisho()
            .args([
                "policy",
                "simulate",
                "--json",
                "--principal",
                "arn:aws:iam::123456789012:user/alice",
            ])
            .args(["--action", "bedrock:InvokeModel", "--resource", resource])
            .args(["--context", &format!("aws:RequestedRegion={region}")])
            .arg("--identity")
            .arg(&policy)
            .output()
            .unwrap()
    };
    let out = run(
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "us-east-1",
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "Allowed");
    assert_eq!(v["statements"][0]["sid"], "AllowClaudeOnly");

    let out = run(
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "eu-west-1",
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "ImplicitlyDenied");
    assert_eq!(v["failedConditions"][0]["key"], "aws:RequestedRegion");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sekisho-sim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("bad.json");
    std::fs::write(
        &policy,
        "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": 3}]}",
    )
    .unwrap();
    let out = sekisho()
        .args([
            "policy",
            "simulate",
            "--principal",
            "arn:aws:iam::123456789012:user/a",
            "--action",
            "s3:GetObject",
        ])
        .arg("--identity")
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("Statement[0].Action") && stderr.contains("line 1"),
        "{stderr}"
    );

    let out = sekisho()
        .args(["policy", "simulate", "--cases", "/nonexistent/cases.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot read the case file")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn runs_the_public_conformance_cases_when_present() {
    let cases = repo().join("../shared/conformance/iam/cases.json");
    if !cases.is_file() {
        eprintln!("SKIPPED: {} is absent", cases.display());
        return;
    }
    let out = sekisho()
        .args(["policy", "simulate", "--cases"])
        .arg(&cases)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        stdout.lines().any(|l| l == "327 passed, 0 failed"),
        "{}",
        stdout.lines().last().unwrap_or("")
    );
    assert!(stdout.contains("1 disputed (reported, not counted)"));
}
