//! End to end: Bedrock runtime over the wire (rest-json, event streams) with
//! the `echo` backend: Converse, ConverseStream, InvokeModel,
//! InvokeModelWithResponseStream and CountTokens; data residency; the seed's
//! AllowClaudeOnly policy; and organization SCPs requiring a guardrail and
//! restricting regions.

mod common;

use common::*;
use sekisho_gateway::config::{Config, ModelConfig, OrgLevelConfig, OrganizationConfig};
use serde_json::{Value, json};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const SONNET: &str = "anthropic.claude-3-sonnet-20240229-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const HAIKU_PROFILE: &str = "us.anthropic.claude-3-haiku-20240307-v1:0";
const JP_ONLY: &str = "sekisho.jp-only-v1";

/// The seed document's AllowClaudeOnly policy, as written.
const ALLOW_CLAUDE_ONLY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowClaudeOnly",
            "Effect": "Allow",
            "Action": [
                "bedrock:InvokeModel",
                "bedrock:InvokeModelWithResponseStream"
            ],
            "Resource": [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
            ]
        }
    ]
}"#;

const FULL_AWS_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// "Require a guardrail", with the condition key AWS defines for it.
const REQUIRE_GUARDRAIL: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "RequireGuardrail",
        "Effect": "Deny",
        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        "Resource": "*",
        "Condition": { "Null": { "bedrock:GuardrailIdentifier": "true" } }
    }]
}"#;

const DENY_OUTSIDE_REGIONS: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "DenyBedrockOutsideAllowedRegions",
        "Effect": "Deny",
        "Action": "bedrock:*",
        "Resource": "*",
        "Condition": { "StringNotEquals": { "aws:RequestedRegion": ["us-east-1", "us-west-2"] } }
    }]
}"#;

fn model(id: &str, regions: &[&str]) -> ModelConfig {
    ModelConfig {
        id: id.to_string(),
        backend: "echo".to_string(),
        upstream_model: None,
        regions: regions.iter().map(|r| r.to_string()).collect(),
    }
}

/// The default catalogue plus Claude, Llama, an inference profile and a
/// model served in Tokyo only, all by `echo`.
fn catalogue(c: &mut Config) {
    c.models.push(model(HAIKU, &["*"]));
    c.models.push(model(SONNET, &["*"]));
    c.models.push(model(LLAMA, &["*"]));
    c.models
        .push(model(HAIKU_PROFILE, &["us-east-1", "us-west-2"]));
    c.models.push(model(JP_ONLY, &["ap-northeast-1"]));
}

async fn start_with_catalogue() -> Server {
    start_with(|c, _| catalogue(c)).await
}

fn echo_of(text: &str) -> String {
    format!("You said: {text}")
}

/// The concatenated `delta.text` of ConverseStream frames, checking their
/// order.
fn converse_stream_text(r: &Resp) -> (String, Vec<String>) {
    let frames = frames(&r.body);
    let kinds: Vec<String> = frames.iter().map(|(k, _)| k.clone()).collect();
    let mut text = String::new();
    for (kind, payload) in &frames {
        if kind == "contentBlockDelta" {
            let v: Value = serde_json::from_slice(payload).unwrap();
            text.push_str(v["delta"]["text"].as_str().unwrap_or(""));
        }
    }
    (text, kinds)
}

#[tokio::test]
async fn converse() {
    let s = start().await;
    let r = s.converse(&s.admin, ECHO, "hello there").await;
    r.expect_ok();
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "{r:?}"
    );
    let v = r.json();
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        echo_of("hello there")
    );
    assert_eq!(v["stopReason"], "end_turn");
    let usage = &v["usage"];
    assert!(usage["inputTokens"].as_u64().unwrap() > 0, "{v}");
    assert!(usage["outputTokens"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(
        usage["totalTokens"].as_u64().unwrap(),
        usage["inputTokens"].as_u64().unwrap() + usage["outputTokens"].as_u64().unwrap()
    );
    assert!(v["metrics"]["latencyMs"].is_u64(), "{v}");

    // System prompt, a multi-turn conversation and inference settings.
    let body = json!({
        "system": [{ "text": "be brief" }],
        "messages": [
            { "role": "user", "content": [{ "text": "first" }] },
            { "role": "assistant", "content": [{ "text": "ok" }] },
            { "role": "user", "content": [{ "text": "second question" }] }
        ],
        "inferenceConfig": { "maxTokens": 2, "temperature": 0.5, "topP": 0.9 }
    });
    let r = s.bedrock(&s.admin, REGION, ECHO, "converse", &body).await;
    r.expect_ok();
    let v = r.json();
    assert_eq!(v["stopReason"], "max_tokens", "{v}");
    assert_eq!(v["usage"]["outputTokens"], 2, "{v}");
}

#[tokio::test]
async fn converse_stream() {
    let s = start().await;
    let r = s
        .bedrock(
            &s.admin,
            REGION,
            ECHO,
            "converse-stream",
            &converse_body("stream me a reply please"),
        )
        .await;
    r.expect_ok();
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream"),
        "{r:?}"
    );
    let (text, kinds) = converse_stream_text(&r);
    assert_eq!(text, echo_of("stream me a reply please"));
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("messageStart"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("metadata"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|k| *k == "contentBlockDelta").count() >= 1,
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"contentBlockStop".to_string())
            && kinds.contains(&"messageStop".to_string())
    );
    let frames = frames(&r.body);
    let stop: Value =
        serde_json::from_slice(&frames.iter().find(|(k, _)| k == "messageStop").unwrap().1)
            .unwrap();
    assert_eq!(stop["stopReason"], "end_turn");
    let meta: Value = serde_json::from_slice(&frames.last().unwrap().1).unwrap();
    assert!(meta["usage"]["inputTokens"].as_u64().unwrap() > 0, "{meta}");

    // Same text as the non-streaming answer.
    let whole = s.converse(&s.admin, ECHO, "stream me a reply please").await;
    assert_eq!(
        whole.json()["output"]["message"]["content"][0]["text"],
        text.as_str()
    );
}

#[tokio::test]
async fn invoke_model_with_an_anthropic_messages_body() {
    let s = start_with_catalogue().await;
    for m in [HAIKU, ECHO] {
        let r = s
            .bedrock(
                &s.admin,
                REGION,
                m,
                "invoke",
                &anthropic_body("what is a checkpoint"),
            )
            .await;
        r.expect_ok();
        let v = r.json();
        assert_eq!(v["type"], "message", "{v}");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["content"][0]["type"], "text");
        assert_eq!(v["content"][0]["text"], echo_of("what is a checkpoint"));
        assert_eq!(v["stop_reason"], "end_turn");
        assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
        let input: u64 = r
            .header("x-amzn-bedrock-input-token-count")
            .unwrap()
            .parse()
            .unwrap();
        let output: u64 = r
            .header("x-amzn-bedrock-output-token-count")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(input, v["usage"]["input_tokens"].as_u64().unwrap());
        assert_eq!(output, v["usage"]["output_tokens"].as_u64().unwrap());
        assert!(
            r.header("x-amzn-bedrock-invocation-latency").is_some(),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn invoke_model_with_response_stream() {
    let s = start_with_catalogue().await;
    let r = s
        .bedrock(
            &s.admin,
            REGION,
            HAIKU,
            "invoke-with-response-stream",
            &anthropic_body("tell me more"),
        )
        .await;
    r.expect_ok();
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream"),
        "{r:?}"
    );
    let mut types = Vec::new();
    let mut text = String::new();
    for (kind, payload) in frames(&r.body) {
        assert_eq!(
            kind,
            "chunk",
            "only chunk events: {}",
            String::from_utf8_lossy(&payload)
        );
        let outer: Value = serde_json::from_slice(&payload).unwrap();
        let inner: Value = serde_json::from_slice(&b64(outer["bytes"].as_str().unwrap())).unwrap();
        let t = inner["type"].as_str().unwrap_or("").to_string();
        if t == "content_block_delta" {
            text.push_str(inner["delta"]["text"].as_str().unwrap_or(""));
        }
        types.push(t);
    }
    assert_eq!(text, echo_of("tell me more"));
    assert_eq!(
        types.first().map(String::as_str),
        Some("message_start"),
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("message_stop"),
        "{types:?}"
    );
}

#[tokio::test]
async fn count_tokens() {
    let s = start_with_catalogue().await;
    let converse = s.converse(&s.admin, ECHO, "count these words please").await;
    let expected = converse.json()["usage"]["inputTokens"].as_u64().unwrap();

    let r = s
        .bedrock(
            &s.admin,
            REGION,
            ECHO,
            "count-tokens",
            &json!({ "input": { "converse": converse_body("count these words please") } }),
        )
        .await;
    r.expect_ok();
    assert_eq!(r.json()["inputTokens"].as_u64(), Some(expected), "{r:?}");

    // The InvokeModel form: the native body, a blob (base64 in JSON).
    let native = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        anthropic_body("count these words please").to_string(),
    );
    let r = s
        .bedrock(
            &s.admin,
            REGION,
            HAIKU,
            "count-tokens",
            &json!({ "input": { "invokeModel": { "body": native } } }),
        )
        .await;
    r.expect_ok();
    assert_eq!(r.json()["inputTokens"].as_u64(), Some(expected), "{r:?}");

    s.bedrock(
        &s.admin,
        REGION,
        ECHO,
        "count-tokens",
        &json!({ "input": {} }),
    )
    .await
    .expect_err(400, "ValidationException");
}

#[tokio::test]
async fn inference_profiles_and_model_arns() {
    let s = start_with_catalogue().await;
    s.converse(&s.admin, HAIKU_PROFILE, "hi").await.expect_ok();
    let arn = model_arn(REGION, ECHO);
    s.converse(&s.admin, &arn, "hi").await.expect_ok();
    let profile_arn =
        format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{HAIKU_PROFILE}");
    s.converse(&s.admin, &profile_arn, "hi").await.expect_ok();
    // An ARN of another service.
    s.converse(&s.admin, "arn:aws:s3:::bucket", "hi")
        .await
        .expect_err(400, "ValidationException");

    // A policy on the inference profile's ARN (as AWS authorizes it).
    let user = s
        .user(
            "pro",
            Some(&allow(
                &["bedrock:InvokeModel"],
                &[&format!(
                    "arn:aws:bedrock:*:{ACCOUNT}:inference-profile/us.anthropic.*"
                )],
            )),
        )
        .await;
    s.converse(&user, HAIKU_PROFILE, "hi").await.expect_ok();
    s.converse(&user, HAIKU, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn data_residency_refuses_a_model_outside_its_regions() {
    let s = start_with_catalogue().await;
    let r = s
        .bedrock(
            &s.admin,
            "us-east-1",
            JP_ONLY,
            "converse",
            &converse_body("hi"),
        )
        .await;
    r.expect_err(400, "ValidationException");
    assert!(
        r.message().contains("ap-northeast-1") || r.message().contains("region"),
        "{r:?}"
    );
    for op in ["converse-stream", "count-tokens"] {
        let body = if op == "count-tokens" {
            json!({ "input": { "converse": converse_body("hi") } })
        } else {
            converse_body("hi")
        };
        s.bedrock(&s.admin, "us-east-1", JP_ONLY, op, &body)
            .await
            .expect_err(400, "ValidationException");
    }
    s.bedrock(
        &s.admin,
        "ap-northeast-1",
        JP_ONLY,
        "converse",
        &converse_body("hi"),
    )
    .await
    .expect_ok();
    // The inference profile is served in the US only.
    s.bedrock(
        &s.admin,
        "eu-west-1",
        HAIKU_PROFILE,
        "converse",
        &converse_body("hi"),
    )
    .await
    .expect_err(400, "ValidationException");
}

#[tokio::test]
async fn unknown_models_are_refused() {
    let s = start_with_catalogue().await;
    for m in [
        "anthropic.claude-9-imaginary-v1:0",
        "nope",
        "amazon.titan-text-express-v1",
    ] {
        let r = s.converse(&s.admin, m, "hi").await;
        r.expect_err(400, "ValidationException");
        assert!(r.message().contains("model identifier is invalid"), "{r:?}");
        s.bedrock(&s.admin, REGION, m, "invoke", &anthropic_body("hi"))
            .await
            .expect_err(400, "ValidationException");
    }
    // A model the catalogue serves but whose native format InvokeModel
    // does not know is still answered by Converse.
    s.converse(&s.admin, LLAMA, "hi").await.expect_ok();
}

#[tokio::test]
async fn allow_claude_only_allows_one_model_and_refuses_another() {
    let s = start_with_catalogue().await;
    let user = s.user("claude-user", Some(ALLOW_CLAUDE_ONLY)).await;
    let r = s.converse(&user, HAIKU, "hi").await;
    r.expect_ok();
    s.converse(&user, SONNET, "hi").await.expect_ok();
    s.bedrock(
        &user,
        REGION,
        HAIKU,
        "converse-stream",
        &converse_body("hi"),
    )
    .await
    .expect_ok();
    s.bedrock(&user, REGION, HAIKU, "invoke", &anthropic_body("hi"))
        .await
        .expect_ok();
    s.bedrock(
        &user,
        REGION,
        HAIKU,
        "invoke-with-response-stream",
        &anthropic_body("hi"),
    )
    .await
    .expect_ok();

    let r = s.converse(&user, LLAMA, "hi").await;
    r.expect_err(403, "AccessDeniedException");
    assert!(r.message().contains("bedrock:InvokeModel"), "{r:?}");
    assert!(r.message().contains(&model_arn(REGION, LLAMA)), "{r:?}");
    s.converse(&user, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    s.bedrock(
        &user,
        REGION,
        LLAMA,
        "converse-stream",
        &converse_body("hi"),
    )
    .await
    .expect_err(403, "AccessDeniedException");
    // The policy names us-east-1 ARNs only.
    s.bedrock(&user, "us-west-2", HAIKU, "converse", &converse_body("hi"))
        .await
        .expect_err(403, "AccessDeniedException");
    // CountTokens is its own action.
    s.bedrock(
        &user,
        REGION,
        HAIKU,
        "count-tokens",
        &json!({ "input": { "converse": converse_body("hi") } }),
    )
    .await
    .expect_err(403, "AccessDeniedException");
}

#[tokio::test]
async fn converse_stream_is_authorized_as_invoke_model_with_response_stream() {
    let s = start().await;
    let invoke_only = s
        .user(
            "invoke-only",
            Some(&allow(&["bedrock:InvokeModel"], &["*"])),
        )
        .await;
    s.converse(&invoke_only, ECHO, "hi").await.expect_ok();
    let r = s
        .bedrock(
            &invoke_only,
            REGION,
            ECHO,
            "converse-stream",
            &converse_body("hi"),
        )
        .await;
    r.expect_err(403, "AccessDeniedException");
    assert!(
        r.message()
            .contains("bedrock:InvokeModelWithResponseStream"),
        "{r:?}"
    );
    let stream_only = s
        .user(
            "stream-only",
            Some(&allow(&["bedrock:InvokeModelWithResponseStream"], &["*"])),
        )
        .await;
    s.bedrock(
        &stream_only,
        REGION,
        ECHO,
        "converse-stream",
        &converse_body("hi"),
    )
    .await
    .expect_ok();
    s.converse(&stream_only, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
}

/// An organization whose root carries FullAWSAccess and `extra`.
fn organization(dir: &std::path::Path, extra: &[(&str, &str)]) -> OrganizationConfig {
    let mut scps = vec![write_file(dir, "FullAWSAccess.json", FULL_AWS_ACCESS)];
    for (name, text) in extra {
        scps.push(write_file(dir, name, text));
    }
    OrganizationConfig {
        id: Some("o-exampleorgid".into()),
        levels: vec![
            OrgLevelConfig {
                id: "r-root".into(),
                scps,
                rcps: Vec::new(),
            },
            OrgLevelConfig {
                id: ACCOUNT.into(),
                scps: vec![write_file(
                    dir,
                    "FullAWSAccess-account.json",
                    FULL_AWS_ACCESS,
                )],
                rcps: Vec::new(),
            },
        ],
    }
}

#[tokio::test]
async fn scp_requiring_a_guardrail() {
    let s = start_with(|c, dir| {
        catalogue(c);
        c.organization = Some(organization(
            dir,
            &[("RequireGuardrail.json", REQUIRE_GUARDRAIL)],
        ));
    })
    .await;
    // Without a guardrail: refused by the SCP, even for the admin.
    let r = s.converse(&s.admin, ECHO, "hi").await;
    r.expect_err(403, "AccessDeniedException");
    assert!(r.message().contains("explicit deny"), "{r:?}");
    s.bedrock(
        &s.admin,
        REGION,
        ECHO,
        "converse-stream",
        &converse_body("hi"),
    )
    .await
    .expect_err(403, "AccessDeniedException");
    s.bedrock(&s.admin, REGION, HAIKU, "invoke", &anthropic_body("hi"))
        .await
        .expect_err(403, "AccessDeniedException");

    // Naming a guardrail passes the SCP; this one does not exist.
    let mut body = converse_body("hi");
    body["guardrailConfig"] =
        json!({ "guardrailIdentifier": "abc123abc123", "guardrailVersion": "1" });
    s.bedrock(&s.admin, REGION, ECHO, "converse", &body)
        .await
        .expect_err(404, "ResourceNotFoundException");
    let with_header = Req::bedrock(HAIKU, "invoke", &anthropic_body("hi"))
        .header("x-amzn-bedrock-guardrailidentifier", "abc123abc123")
        .header("x-amzn-bedrock-guardrailversion", "1");
    s.sign_and_send(&with_header, &s.admin)
        .await
        .expect_err(404, "ResourceNotFoundException");

    // Actions the SCP does not name are unaffected.
    s.bedrock(
        &s.admin,
        REGION,
        ECHO,
        "count-tokens",
        &json!({ "input": { "converse": converse_body("hi") } }),
    )
    .await
    .expect_ok();
    s.sts(&s.admin, "GetCallerIdentity", &[]).await.expect_ok();
}

#[tokio::test]
async fn identity_policy_naming_a_guardrail() {
    let s = start().await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            // Bedrock also requires bedrock:ApplyGuardrail on the guardrail
            // a model call names.
            "Action": ["bedrock:InvokeModel", "bedrock:ApplyGuardrail"],
            "Resource": "*",
            "Condition": { "StringEquals": {
                "bedrock:GuardrailIdentifier": format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/abc123abc123:1")
            } }
        }]
    })
    .to_string();
    let user = s.user("guarded", Some(&policy)).await;
    s.converse(&user, ECHO, "hi")
        .await
        .expect_err(403, "AccessDeniedException");
    let mut other = converse_body("hi");
    other["guardrailConfig"] =
        json!({ "guardrailIdentifier": "other0other0", "guardrailVersion": "1" });
    s.bedrock(&user, REGION, ECHO, "converse", &other)
        .await
        .expect_err(403, "AccessDeniedException");
    let mut named = converse_body("hi");
    named["guardrailConfig"] =
        json!({ "guardrailIdentifier": "abc123abc123", "guardrailVersion": "1" });
    // Authorized; the guardrail itself does not exist (yet).
    s.bedrock(&user, REGION, ECHO, "converse", &named)
        .await
        .expect_err(404, "ResourceNotFoundException");
}

#[tokio::test]
async fn scp_restricting_regions() {
    let s = start_with(|c, dir| {
        catalogue(c);
        c.organization = Some(organization(
            dir,
            &[("DenyRegions.json", DENY_OUTSIDE_REGIONS)],
        ));
    })
    .await;
    s.bedrock(
        &s.admin,
        "us-east-1",
        ECHO,
        "converse",
        &converse_body("hi"),
    )
    .await
    .expect_ok();
    s.bedrock(
        &s.admin,
        "us-west-2",
        ECHO,
        "converse",
        &converse_body("hi"),
    )
    .await
    .expect_ok();
    let r = s
        .bedrock(
            &s.admin,
            "eu-west-1",
            ECHO,
            "converse",
            &converse_body("hi"),
        )
        .await;
    r.expect_err(403, "AccessDeniedException");
    assert!(r.message().contains("explicit deny"), "{r:?}");
    s.bedrock(
        &s.admin,
        "ap-northeast-1",
        ECHO,
        "converse-stream",
        &converse_body("hi"),
    )
    .await
    .expect_err(403, "AccessDeniedException");
    // STS is not bedrock:*.
    s.sign_and_send(
        &Req::query("sts", "GetCallerIdentity", &[]).region("eu-west-1"),
        &s.admin,
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn a_guardrail_config_naming_no_guardrail_is_refused() {
    let s = start().await;
    let mut body = converse_body("hi");
    body["guardrailConfig"] = json!({ "guardrailIdentifier": 5, "guardrailVersion": "1" });
    s.bedrock(&s.admin, REGION, ECHO, "converse", &body)
        .await
        .expect_err(400, "ValidationException");
}
