//! `sekisho guard test` and `sekisho guard eval`, run as a person or a
//! program runs them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sekisho-guard-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run sekisho")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const EMAIL_GUARDRAIL: &str = r#"{
  "name": "t",
  "sensitiveInformationPolicyConfig": {
    "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]
  },
  "blockedInputMessaging": "no",
  "blockedOutputsMessaging": "no"
}"#;

fn guardrail(dir: &Path) -> String {
    write(dir, "g.json", EMAIL_GUARDRAIL)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn test_prints_a_table_with_masked_match_and_exits_1() {
    let dir = scratch("table");
    let g = guardrail(&dir);
    let out = run(&[
        "guard",
        "test",
        "--guardrail",
        &g,
        "mail",
        "me",
        "at",
        "vorrin@example.com",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("GUARDRAIL_INTERVENED"), "{stdout}");
    assert!(stdout.contains("EMAIL"), "{stdout}");
    assert!(stdout.contains("v****************m"), "{stdout}");
    assert!(!stdout.contains("vorrin@example.com"), "{stdout}");
    assert!(stdout.contains("ANONYMIZED"), "{stdout}");
    assert!(stdout.contains("11..29"), "{stdout}");
    assert!(stdout.contains("mail me at {EMAIL}"), "{stdout}");
}

#[test]
fn test_json_is_the_apply_guardrail_response() {
    let dir = scratch("json");
    let g = guardrail(&dir);
    let out = run(&[
        "guard",
        "test",
        "--guardrail",
        &g,
        "--source",
        "OUTPUT",
        "--json",
        "mail me at vorrin@example.com",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["action"], "GUARDRAIL_INTERVENED");
    assert_eq!(v["outputs"][0]["text"], "mail me at {EMAIL}");
    let pii = &v["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0];
    assert_eq!(pii["type"], "EMAIL");
    assert_eq!(pii["action"], "ANONYMIZED");
}

#[test]
fn test_reads_stdin_and_exits_0_when_nothing_matches() {
    let dir = scratch("stdin");
    let g = guardrail(&dir);
    let mut child = bin()
        .args(["guard", "test", "--guardrail", &g, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all("今日はいい天気です".as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["action"], "NONE");
}

#[test]
fn test_bad_config_names_the_field_and_exits_2() {
    let dir = scratch("bad");
    let g = write(
        &dir,
        "bad.json",
        r#"{"name": "t",
            "sensitiveInformationPolicyConfig": {"piiEntitiesConfig": [
              {"type": "EMAIL", "action": "ANONYMIZE"},
              {"type": "NOT_A_TYPE", "action": "BLOCK"}]},
            "blockedInputMessaging": "no", "blockedOutputsMessaging": "no"}"#,
    );
    let out = run(&["guard", "test", "--guardrail", &g.to_string_lossy(), "x"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sensitiveInformationPolicyConfig.piiEntitiesConfig[1].type"),
        "{stderr}"
    );
    assert!(stderr.contains("NOT_A_TYPE"), "{stderr}");

    let g = write(&dir, "broken.json", "{\"name\": ");
    let out = run(&["guard", "test", "--guardrail", &g.to_string_lossy(), "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid guardrail"));
}

fn eval_json(dir: &Path, data: &str) -> serde_json::Value {
    let g = guardrail(dir);
    let d = write(dir, "data.jsonl", data);
    let out = run(&[
        "guard",
        "eval",
        "--guardrail",
        &g,
        "--data",
        &d.to_string_lossy(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["types"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no row {name} in {v}"))
}

#[test]
fn eval_labelled_texts_counts_exactly() {
    let dir = scratch("labelled");
    let data = [
        r#"{"text": "write to a.b@example.com", "label": "EMAIL"}"#,
        r#"{"text": "or kalea@example.org please", "label": "EMAIL"}"#,
        r#"{"text": "my address is secret", "label": "EMAIL"}"#,
        r#"{"text": "cc ops@example.net", "label": null}"#,
        r#"{"text": "nothing here", "label": null}"#,
        "",
    ]
    .join("\n");
    let v = eval_json(&dir, &data);
    assert_eq!(v["lines"], 5);
    let r = row(&v, "EMAIL");
    assert_eq!(
        (r["tp"].as_u64(), r["fp"].as_u64(), r["fn"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    let close = |x: &serde_json::Value, want: f64| (x.as_f64().unwrap_or(-1.0) - want).abs() < 1e-9;
    assert!(close(&r["precision"], 2.0 / 3.0), "{r}");
    assert!(close(&r["recall"], 2.0 / 3.0), "{r}");
    assert!(close(&r["f1"], 2.0 / 3.0), "{r}");
    assert!(close(&r["fpr"], 0.5), "{r}");
}

#[test]
fn eval_span_annotated_texts_counts_exactly() {
    let dir = scratch("spans");
    // 1: exact gold span (TP). 2: gold span elsewhere (FP + FN).
    // 3: no gold, nothing found (negative). 4: no gold, one found (FP).
    let data = [
        r#"{"text": "mail a.b@example.com now", "spans": [{"start": 5, "end": 20, "type": "EMAIL"}]}"#,
        r#"{"text": "x@example.com and then some words", "spans": [{"start": 18, "end": 22, "type": "EMAIL"}]}"#,
        r#"{"text": "version 1.2.3", "spans": []}"#,
        r#"{"text": "cc ops@example.net", "spans": []}"#,
    ]
    .join("\n");
    let v = eval_json(&dir, &data);
    let r = row(&v, "EMAIL");
    assert_eq!(
        (r["tp"].as_u64(), r["fp"].as_u64(), r["fn"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    let close = |x: &serde_json::Value, want: f64| (x.as_f64().unwrap_or(-1.0) - want).abs() < 1e-9;
    assert!(close(&r["precision"], 1.0 / 3.0), "{r}");
    assert!(close(&r["recall"], 0.5), "{r}");
    assert!(close(&r["fpr"], 0.5), "{r}");
    assert!(close(&v["total"]["precision"], 1.0 / 3.0), "{v}");
}

#[test]
fn eval_table_has_the_figures() {
    let dir = scratch("table-eval");
    let g = guardrail(&dir);
    let d = write(
        &dir,
        "data.jsonl",
        r#"{"text": "a.b@example.com", "spans": [{"start": 0, "end": 15, "type": "EMAIL"}]}"#,
    );
    let out = run(&[
        "guard",
        "eval",
        "--guardrail",
        &g,
        "--data",
        &d.to_string_lossy(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for want in [
        "precision",
        "recall",
        "F1",
        "FP rate",
        "EMAIL",
        "1.000",
        "TOTAL",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
}

#[test]
fn eval_malformed_line_names_the_line() {
    let dir = scratch("malformed");
    let g = guardrail(&dir);
    for (data, want) in [
        (
            "{\"text\": \"ok\", \"label\": null}\n{\"text\": 3}\n",
            "data.jsonl:2",
        ),
        (
            "{\"text\": \"ok\", \"label\": null}\n\n{\"text\": \"no label\"}\n",
            "data.jsonl:3",
        ),
        (
            "{\"text\": \"abc\", \"spans\": [{\"start\": 2, \"end\": 9, \"type\": \"EMAIL\"}]}\n",
            "data.jsonl:1",
        ),
    ] {
        let d = write(&dir, "data.jsonl", data);
        let out = run(&[
            "guard",
            "eval",
            "--guardrail",
            &g,
            "--data",
            &d.to_string_lossy(),
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{want}: {stderr}");
    }
}
