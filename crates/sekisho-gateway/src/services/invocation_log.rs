//! Model invocation logging: off until configured, as Bedrock promises.
//!
//! With a configuration, each model call becomes one record in Bedrock's
//! invocation-log schema, delivered to a CloudWatch Logs group kept by
//! Sekisho (sealed under the group's KMS key) and/or to a bucket directory
//! (`<data dir>/buckets/<bucket>/<prefix>...`, each object sealed under the
//! master key). Bodies larger than 100 KB go to the large-data bucket and
//! the record points at them. The text, image and embedding switches decide
//! which content is kept; with text delivery off no prompt or completion is
//! written anywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::protocol::{missing, violation};
use crate::services::args::Args;
use crate::services::{Call, Reply};

const CONFIGS: &str = "bedrock.logging";
/// The stream Bedrock writes invocation records to.
pub const STREAM: &str = "aws/bedrock/modelinvocations";
/// Bodies above this size go to the large-data bucket.
const LARGE_BODY_BYTES: usize = 100 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct S3Config {
    pub bucket_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchConfig {
    pub log_group_name: String,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_data_delivery_s3_config: Option<S3Config>,
}

/// Bedrock's `LoggingConfig`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoggingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_config: Option<CloudWatchConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_config: Option<S3Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_data_delivery_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_data_delivery_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_data_delivery_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_data_delivery_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_data_delivery_enabled: Option<bool>,
}

/// The configurations, by region.
#[derive(Default)]
pub struct InvocationLogging {
    configs: std::sync::RwLock<BTreeMap<String, LoggingConfig>>,
}

/// One model call, as the handler saw it.
pub struct Invocation<'a> {
    pub operation: &'a str,
    pub model_id: &'a str,
    pub request_id: &'a str,
    pub caller_arn: &'a str,
    pub region: &'a str,
    pub input_body: &'a [u8],
    pub output_body: Value,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

fn s3_config(a: Option<Args<'_>>, path: &str) -> Result<Option<S3Config>, ApiError> {
    let Some(a) = a else { return Ok(None) };
    let bucket = a
        .str("bucketName")?
        .ok_or_else(|| missing(&format!("{path}.bucketName")))?;
    check_bucket(bucket, &format!("{path}.bucketName"))?;
    let prefix = a.bounded("keyPrefix", 1024)?;
    if let Some(p) = prefix
        && (p.contains("..") || p.starts_with('/') || p.chars().any(char::is_control))
    {
        return Err(violation(
            &format!("{path}.keyPrefix"),
            Some(p),
            "Member must be a relative key prefix",
        ));
    }
    Ok(Some(S3Config {
        bucket_name: bucket.to_string(),
        key_prefix: prefix.map(str::to_string),
    }))
}

/// S3 bucket naming rules (3–63 of lower-case letters, digits, `.`, `-`),
/// which also keep a bucket directory inside `<data dir>/buckets`.
pub fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && !name.contains("..")
}

fn check_bucket(name: &str, path: &str) -> Result<(), ApiError> {
    if is_bucket_name(name) {
        Ok(())
    } else {
        Err(violation(
            path,
            Some(name),
            "Member must satisfy regular expression pattern: [a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9]",
        ))
    }
}

/// Reads and checks a `loggingConfig`.
pub fn parse_config(body: &Map<String, Value>) -> Result<LoggingConfig, ApiError> {
    let a = Args(body);
    let c = a
        .object("loggingConfig")?
        .ok_or_else(|| missing("loggingConfig"))?;
    let cloud_watch_config = match c.object("cloudWatchConfig")? {
        None => None,
        Some(cw) => {
            let group = cw
                .str("logGroupName")?
                .ok_or_else(|| missing("loggingConfig.cloudWatchConfig.logGroupName"))?;
            let role = cw
                .str("roleArn")?
                .ok_or_else(|| missing("loggingConfig.cloudWatchConfig.roleArn"))?;
            if sekisho_policy::arn::Arn::parse(role)
                .is_none_or(|r| r.service != "iam" || !r.resource.starts_with("role/"))
            {
                return Err(violation(
                    "loggingConfig.cloudWatchConfig.roleArn",
                    Some(role),
                    "Member must be an IAM role ARN",
                ));
            }
            Some(CloudWatchConfig {
                log_group_name: group.to_string(),
                role_arn: role.to_string(),
                large_data_delivery_s3_config: s3_config(
                    cw.object("largeDataDeliveryS3Config")?,
                    "loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config",
                )?,
            })
        }
    };
    let s3 = s3_config(c.object("s3Config")?, "loggingConfig.s3Config")?;
    if cloud_watch_config.is_none() && s3.is_none() {
        return Err(ApiError::validation(
            "The logging configuration names no destination: set cloudWatchConfig, s3Config or both",
        ));
    }
    Ok(LoggingConfig {
        cloud_watch_config,
        s3_config: s3,
        text_data_delivery_enabled: c.bool("textDataDeliveryEnabled")?,
        image_data_delivery_enabled: c.bool("imageDataDeliveryEnabled")?,
        embedding_data_delivery_enabled: c.bool("embeddingDataDeliveryEnabled")?,
        video_data_delivery_enabled: c.bool("videoDataDeliveryEnabled")?,
        audio_data_delivery_enabled: c.bool("audioDataDeliveryEnabled")?,
    })
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("model invocation logging cannot deliver: {e}"),
    )
}

impl InvocationLogging {
    pub fn load(store: &dyn sekisho_store::Store) -> Result<InvocationLogging, String> {
        let mut configs = BTreeMap::new();
        for (region, bytes) in store.list(CONFIGS, "").map_err(|e| e.to_string())? {
            let c: LoggingConfig = serde_json::from_slice(&bytes).map_err(|e| {
                format!("a stored invocation logging configuration is damaged: {e}")
            })?;
            configs.insert(region, c);
        }
        Ok(InvocationLogging {
            configs: std::sync::RwLock::new(configs),
        })
    }

    pub fn config(&self, region: &str) -> Option<LoggingConfig> {
        self.configs.read().ok()?.get(region).cloned()
    }

    /// Whether calls in `region` are logged (so handlers keep bodies).
    pub fn enabled(&self, region: &str) -> bool {
        self.configs
            .read()
            .map(|c| c.contains_key(region))
            .unwrap_or(true)
    }

    /// Delivers the record of one call to every configured destination.
    pub fn deliver(&self, gateway: &Gateway, inv: &Invocation<'_>) -> Result<(), ApiError> {
        let Some(config) = self.config(inv.region) else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        let text = config.text_data_delivery_enabled.unwrap_or(false);
        let image = config.image_data_delivery_enabled.unwrap_or(false);
        let embedding = config.embedding_data_delivery_enabled.unwrap_or(false);
        let input_json: Option<Value> = serde_json::from_slice(inv.input_body).ok();
        let keep = |v: Value| keep_content(v, text, image, embedding);
        let mut input = json!({
            "inputContentType": "application/json",
            "inputTokenCount": inv.input_tokens,
        });
        let mut output = json!({
            "outputContentType": "application/json",
            "outputTokenCount": inv.output_tokens,
        });
        let input_body = input_json.map(keep).filter(|v| !v.is_null());
        let output_body = Some(keep(inv.output_body.clone())).filter(|v| !v.is_null());
        let large = config
            .cloud_watch_config
            .as_ref()
            .and_then(|c| c.large_data_delivery_s3_config.clone());
        let stamp = time_path(now);
        for (slot, field, body, name) in [
            (&mut input, "inputBodyJson", input_body, "input"),
            (&mut output, "outputBodyJson", output_body, "output"),
        ] {
            let Some(body) = body else { continue };
            let size = serde_json::to_vec(&body).map(|b| b.len()).unwrap_or(0);
            match &large {
                Some(s3) if size > LARGE_BODY_BYTES => {
                    let key = format!(
                        "{}AWSLogs/{}/BedrockModelInvocationLogs/{}/{stamp}/data/{}_{name}.json",
                        s3.key_prefix.as_deref().unwrap_or(""),
                        gateway.account,
                        inv.region,
                        inv.request_id
                    );
                    put_object(
                        gateway,
                        &s3.bucket_name,
                        &key,
                        &serde_json::to_vec(&body).unwrap_or_default(),
                    )?;
                    slot[field.replace("Json", "S3Path")] =
                        json!(format!("s3://{}/{key}", s3.bucket_name));
                }
                _ => slot[field] = body,
            }
        }
        let record = json!({
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": crate::audit::time_text(now),
            "accountId": gateway.account,
            "identity": { "arn": inv.caller_arn },
            "region": inv.region,
            "requestId": inv.request_id,
            "operation": inv.operation,
            "modelId": inv.model_id,
            "input": input,
            "output": output,
        });
        let line = serde_json::to_string(&record).map_err(unavailable)?;
        if let Some(cw) = &config.cloud_watch_config {
            gateway.logs.append(
                gateway,
                inv.region,
                &cw.log_group_name,
                STREAM,
                crate::services::args::epoch_millis(now),
                &line,
            )?;
        }
        if let Some(s3) = &config.s3_config {
            let key = format!(
                "{}AWSLogs/{}/BedrockModelInvocationLogs/{}/{stamp}/{}.json",
                s3.key_prefix.as_deref().unwrap_or(""),
                gateway.account,
                inv.region,
                inv.request_id
            );
            put_object(gateway, &s3.bucket_name, &key, line.as_bytes())?;
        }
        Ok(())
    }
}

/// `YYYY/MM/DD/HH`, the time path of Bedrock's S3 delivery.
fn time_path(t: OffsetDateTime) -> String {
    format!(
        "{:04}/{:02}/{:02}/{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

/// Writes an object into a bucket directory, sealed under the master key
/// with the bucket and key as context.
fn put_object(gateway: &Gateway, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let sealed = gateway.kms.seal_at_rest(
        "",
        None,
        &[("sekisho:bucket", bucket), ("sekisho:key", key)],
        bytes,
    )?;
    let path = bucket_path(gateway, bucket, key).ok_or_else(|| unavailable("bad object key"))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(unavailable)?;
    }
    crate::datadir::write_file(&path, &sealed, true).map_err(unavailable)
}

/// `<data dir>/buckets/<bucket>/<key>`, refusing keys that climb out.
pub fn bucket_path(gateway: &Gateway, bucket: &str, key: &str) -> Option<PathBuf> {
    if key.split('/').any(|s| s == ".." || s == ".") || key.starts_with('/') {
        return None;
    }
    Some(
        gateway
            .config
            .data_dir
            .join("buckets")
            .join(bucket)
            .join(key),
    )
}

/// Keeps the content the delivery switches allow: text only with text
/// delivery on, image bytes only with image delivery on, embeddings only
/// with embedding delivery on.
fn keep_content(v: Value, text: bool, image: bool, embedding: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let drop = match k.as_str() {
                    "text" | "prompt" | "inputText" | "outputText" | "completion"
                    | "generation" | "content" | "messages" | "system" | "results" | "outputs"
                    | "choices" => !text && is_textual(&v),
                    "image" | "images" | "bytes" => !image,
                    "embedding" | "embeddings" | "embeddingsByType" => !embedding,
                    _ => false,
                };
                if !drop {
                    let kept = keep_content(v, text, image, embedding);
                    out.insert(k, kept);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| keep_content(i, text, image, embedding))
                .collect(),
        ),
        Value::String(_) if !text => Value::Null,
        other => other,
    }
}

fn is_textual(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(_) | Value::Number(_))
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let logging = &gateway.invocation_logging;
    let region = call.region.clone();
    match call.op.name {
        "PutModelInvocationLoggingConfiguration" => {
            let content_type = call
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let body = crate::protocol::restjson::parse_json_body(
                content_type,
                &call.body,
                &crate::protocol::json::JsonLimits::default(),
            )?;
            let config = parse_config(&body)?;
            if let Some(cw) = &config.cloud_watch_config
                && gateway.logs.group(&region, &cw.log_group_name).is_none()
            {
                return Err(ApiError::validation(format!(
                    "The log group {} does not exist in {region}; create it first (logs create-log-group)",
                    cw.log_group_name
                )));
            }
            let bytes = serde_json::to_vec(&config).map_err(unavailable)?;
            gateway
                .store
                .write(&[sekisho_store::Write::put(CONFIGS, region.clone(), bytes)])
                .map_err(unavailable)?;
            logging
                .configs
                .write()
                .map_err(|_| unavailable("lock"))?
                .insert(region, config);
            Ok(Reply::Json(json!({})))
        }
        "GetModelInvocationLoggingConfiguration" => {
            Ok(Reply::Json(match logging.config(&region) {
                Some(c) => json!({ "loggingConfig": c }),
                None => json!({}),
            }))
        }
        "DeleteModelInvocationLoggingConfiguration" => {
            gateway
                .store
                .write(&[sekisho_store::Write::delete(CONFIGS, region.clone())])
                .map_err(unavailable)?;
            logging
                .configs
                .write()
                .map_err(|_| unavailable("lock"))?
                .remove(&region);
            Ok(Reply::Json(json!({})))
        }
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not a Bedrock operation here"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_config_as_written_names_the_wrong_members() {
        // The seed's largeDataDeliveryS3Config uses s3BucketName /
        // s3KeyPrefix, which botocore's model does not have.
        let body = json!({"loggingConfig": {
            "cloudWatchConfig": {
                "logGroupName": "/aws/bedrock/model-invocations",
                "roleArn": "arn:aws:iam::123456789012:role/BedrockLoggingRole",
                "largeDataDeliveryS3Config": {"s3BucketName": "b", "s3KeyPrefix": "large-data/"}
            },
            "textDataDeliveryEnabled": true
        }});
        let e = parse_config(body.as_object().unwrap()).unwrap_err();
        assert!(
            e.message
                .contains("loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config.bucketName"),
            "{}",
            e.message
        );
    }

    #[test]
    fn text_off_drops_prompts() {
        let body = json!({"messages": [{"role": "user", "content": [{"text": "secret prompt"}]}],
                          "inferenceConfig": {"maxTokens": 10}});
        let kept = keep_content(body, false, false, false);
        let s = kept.to_string();
        assert!(!s.contains("secret prompt"), "{s}");
        assert_eq!(kept["inferenceConfig"]["maxTokens"], 10);
        let kept = keep_content(json!({"content": [{"text": "hi"}]}), true, false, false);
        assert_eq!(kept["content"][0]["text"], "hi");
    }

    #[test]
    fn bucket_names() {
        assert!(check_bucket("bedrock-logs-bucket", "b").is_ok());
        assert!(check_bucket("Bad_Bucket", "b").is_err());
        assert!(check_bucket("..", "b").is_err());
    }
}
