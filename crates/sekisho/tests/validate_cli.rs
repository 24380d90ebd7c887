//! `sekisho policy validate` as a person or a program runs it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sekisho-validate-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write policy");
    path
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run sekisho")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const REQUIRE_GUARDRAIL: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "RequireGuardrail",
            "Effect": "Deny",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": "*",
            "Condition": {"Null": {"bedrock:GuardrailArn": "true"}}
        }
    ]
}"#;

const CLEAN: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "BedrockInvoke",
        "Effect": "Allow",
        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        "Resource": "arn:aws:bedrock:*::foundation-model/*"
    }]
}"#;

#[test]
fn errors_exit_1_with_a_readable_report() {
    let dir = scratch("errors");
    let scp = write(&dir, "require-guardrail.json", REQUIRE_GUARDRAIL);
    let clean = write(&dir, "invoke.json", CLEAN);
    let out = run(&[
        "policy",
        "validate",
        "--type",
        "scp",
        scp.to_str().unwrap_or_default(),
        clean.to_str().unwrap_or_default(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("UNKNOWN_CONDITION_KEY"), "{stdout}");
    assert!(
        stdout.contains("Statement[0].Condition.Null.bedrock:GuardrailArn"),
        "{stdout}"
    );
    assert!(
        stdout.contains("did you mean 'bedrock:GuardrailIdentifier'?"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "fix: Replace \"bedrock:GuardrailArn\" with \"bedrock:GuardrailIdentifier\"."
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  9:36  ERROR"),
        "line:column of the key: {stdout}"
    );
    assert!(
        stdout.contains("invoke.json: no findings (scp policy)"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("2 files checked: 1 error, 0 security warnings, 0 warnings, 0 suggestions"),
        "{stdout}"
    );
    // Not a terminal: no colour codes.
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
}

#[test]
fn clean_files_exit_0_and_warnings_do_not_fail() {
    let dir = scratch("clean");
    let clean = write(&dir, "invoke.json", CLEAN);
    let out = run(&["policy", "validate", clean.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let risky = write(
        &dir,
        "admin.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    );
    let out = run(&["policy", "validate", risky.to_str().unwrap_or_default()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("SECURITY_WARNING FULL_ADMIN"), "{stdout}");
    assert!(stdout.contains("PASS_ROLE_WITH_STAR"), "{stdout}");
}

#[test]
fn json_output_for_programs() {
    let dir = scratch("json");
    let scp = write(&dir, "scp.json", REQUIRE_GUARDRAIL);
    let out = run(&[
        "policy",
        "validate",
        "-t",
        "scp",
        "--format",
        "json",
        scp.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON array");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["file"], scp.to_str().unwrap_or_default());
    assert_eq!(row["code"], "UNKNOWN_CONDITION_KEY");
    assert_eq!(row["severity"], "ERROR");
    assert_eq!(
        row["path"],
        "Statement[0].Condition.Null.bedrock:GuardrailArn"
    );
    assert_eq!(row["line"], 9);
    assert_eq!(row["column"], 36);
    assert!(
        row["message"]
            .as_str()
            .is_some_and(|m| m.contains("GuardrailIdentifier"))
    );
    assert!(row["fix"].as_str().is_some_and(|m| !m.is_empty()));
    // A clean file: an empty array.
    let clean = write(&dir, "clean.json", CLEAN);
    let out = run(&[
        "policy",
        "validate",
        "--format",
        "json",
        clean.to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).ok(),
        Some(serde_json::json!([]))
    );
}

#[test]
fn unreadable_files_exit_2_with_a_clear_message() {
    let dir = scratch("missing");
    let clean = write(&dir, "clean.json", CLEAN);
    let missing = dir.join("no-such-policy.json");
    let out = run(&[
        "policy",
        "validate",
        missing.to_str().unwrap_or_default(),
        clean.to_str().unwrap_or_default(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no-such-policy.json: no such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The readable file is still checked.
    assert!(text(&out.stdout).contains("clean.json: no findings"));
    let out = run(&["policy", "validate", dir.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a directory"));
    // Usage errors are status 2 as well.
    assert_eq!(run(&["policy", "validate"]).status.code(), Some(2));
    assert_eq!(
        run(&["policy", "validate", "--type", "bucket", "x.json"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn reads_standard_input_and_any_bytes() {
    let mut child = bin()
        .args(["policy", "validate", "--type", "trust", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(
            br#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}"#,
        );
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("<stdin>: no findings (trust policy)"));

    let dir = scratch("bytes");
    let binary = dir.join("binary.json");
    std::fs::write(&binary, b"\xff\xfe{\x00\"\x00}").expect("write");
    let out = run(&["policy", "validate", binary.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("INVALID_ENCODING"));
}
