//! CloudTrail: trails with event selectors delivering signed, hash-chained
//! log files to a bucket directory (KMS-encrypted when the trail names a
//! key), and LookupEvents over the event history for who/when/what.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sekisho_audit::cipher::RecordCipher;
use sekisho_audit::selector::EventSelector;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit::TrailRuntime;
use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::services::args::{Args, epoch};
use crate::services::kms::Kms;
use crate::services::{Call, Reply};

const TRAILS: &str = "cloudtrail.trails";

/// A trail's configuration, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrailConfig {
    pub name: String,
    pub home_region: String,
    pub s3_bucket_name: String,
    pub s3_key_prefix: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    pub log_file_validation_enabled: bool,
    pub kms_key_id: Option<String>,
    pub event_selectors: Vec<EventSelector>,
    pub has_custom_event_selectors: bool,
    pub is_logging: bool,
    pub start_logging_time: Option<i64>,
    pub stop_logging_time: Option<i64>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl TrailConfig {
    pub fn arn(&self, account: &str) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{account}:trail/{}",
            self.home_region, self.name
        )
    }

    fn describe(&self, account: &str) -> Value {
        let mut v = json!({
            "Name": self.name,
            "S3BucketName": self.s3_bucket_name,
            "IncludeGlobalServiceEvents": self.include_global_service_events,
            "IsMultiRegionTrail": self.is_multi_region_trail,
            "HomeRegion": self.home_region,
            "TrailARN": self.arn(account),
            "LogFileValidationEnabled": self.log_file_validation_enabled,
            "HasCustomEventSelectors": self.has_custom_event_selectors,
            "HasInsightSelectors": false,
            "IsOrganizationTrail": false,
        });
        if let Some(p) = &self.s3_key_prefix {
            v["S3KeyPrefix"] = json!(p);
        }
        if let Some(k) = &self.kms_key_id {
            v["KmsKeyId"] = json!(k);
        }
        v
    }
}

/// Trail configurations (the runtimes live in the audit sink).
#[derive(Default)]
pub struct TrailConfigs {
    by_key: RwLock<BTreeMap<String, TrailConfig>>,
}

fn trail_key(region: &str, name: &str) -> String {
    format!("{region}\u{1f}{name}")
}

fn trail_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Unknown trail: {name} for the user: the trail does not exist in this account and region"
    ))
    .with_code("TrailNotFoundException")
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("the trail store cannot be used: {e}"),
    )
}

/// Trail names: 3–128 of letters, digits, `.`, `_`, `-`, starting and
/// ending with a letter or digit, no `..`, `._`, `-.` and the like.
fn check_trail_name(name: &str) -> Result<(), ApiError> {
    let bytes = name.as_bytes();
    let ok = (3..=128).contains(&name.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !["..", "._", "_.", "-.", ".-"]
            .iter()
            .any(|p| name.contains(p));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Trail name {name} is not valid: use 3 to 128 letters, digits, periods, underscores and dashes, starting and ending with a letter or digit"
        ))
        .with_code("InvalidTrailNameException"))
    }
}

fn check_bucket(name: &str) -> Result<(), ApiError> {
    if crate::services::invocation_log::is_bucket_name(name) {
        Ok(())
    } else {
        Err(
            ApiError::validation(format!("Bucket name {name} is not valid"))
                .with_code("InvalidS3BucketNameException"),
        )
    }
}

fn check_prefix(prefix: &str) -> Result<(), ApiError> {
    if prefix.len() > 200
        || prefix.starts_with('/')
        || prefix.split('/').any(|s| s == ".." || s == ".")
        || prefix.chars().any(char::is_control)
    {
        return Err(
            ApiError::validation(format!("S3 key prefix {prefix} is not valid"))
                .with_code("InvalidS3PrefixException"),
        );
    }
    Ok(())
}

/// Seals a KMS-encrypted trail's records under the trail's key, with the
/// trail ARN as encryption context (as CloudTrail binds it).
struct KmsRecordCipher {
    kms: Arc<Kms>,
    region: String,
    key: String,
    trail_arn: String,
}

impl RecordCipher for KmsRecordCipher {
    fn seal(&self, record: &[u8]) -> Result<Vec<u8>, String> {
        self.kms
            .seal_at_rest(
                &self.region,
                Some(&self.key),
                &[("aws:cloudtrail:arn", &self.trail_arn)],
                record,
            )
            .map_err(|e| e.message)
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        self.kms
            .open_at_rest(
                &self.region,
                sealed,
                &[("aws:cloudtrail:arn", &self.trail_arn)],
            )
            .map(|p| p.to_vec())
            .map_err(|e| e.message)
    }
}

/// The directory a trail delivers to.
fn trail_dir(gateway: &Gateway, t: &TrailConfig) -> PathBuf {
    let mut dir = gateway
        .config
        .data_dir
        .join("buckets")
        .join(&t.s3_bucket_name);
    if let Some(p) = &t.s3_key_prefix {
        for seg in p.split('/').filter(|s| !s.is_empty()) {
            dir = dir.join(seg);
        }
    }
    dir
}

impl TrailConfigs {
    /// Loads the trails and starts the runtime of each.
    pub fn load(gateway: &Gateway) -> Result<(), String> {
        let records = gateway.store.list(TRAILS, "").map_err(|e| e.to_string())?;
        for (_, bytes) in records {
            let t: TrailConfig = serde_json::from_slice(&bytes)
                .map_err(|e| format!("a stored trail is damaged: {e}"))?;
            start_runtime(gateway, &t).map_err(|e| e.message)?;
            gateway
                .trail_configs
                .by_key
                .write()
                .map_err(|_| "lock poisoned")?
                .insert(trail_key(&t.home_region, &t.name), t);
        }
        Ok(())
    }

    fn get(&self, region: &str, name_or_arn: &str) -> Result<TrailConfig, ApiError> {
        let name = name_or_arn
            .rsplit_once(":trail/")
            .map_or(name_or_arn, |(_, n)| n);
        self.by_key
            .read()
            .map_err(|_| unavailable("lock"))?
            .get(&trail_key(region, name))
            .cloned()
            .ok_or_else(|| trail_not_found(name))
    }
}

fn start_runtime(gateway: &Gateway, t: &TrailConfig) -> Result<(), ApiError> {
    let arn = t.arn(&gateway.account);
    let cipher: Option<Arc<dyn RecordCipher>> = t.kms_key_id.as_ref().map(|k| {
        Arc::new(KmsRecordCipher {
            kms: gateway.kms.clone(),
            region: t.home_region.clone(),
            key: k.clone(),
            trail_arn: arn.clone(),
        }) as Arc<dyn RecordCipher>
    });
    let journal = gateway
        .audit
        .open_trail_journal(trail_dir(gateway, t), &t.home_region, cipher)
        .map_err(|e| {
            unavailable(format!(
                "the trail's delivery directory cannot be used: {e}"
            ))
        })?;
    let runtime = TrailRuntime {
        arn: arn.clone(),
        selectors: RwLock::new(t.event_selectors.clone()),
        logging: AtomicBool::new(t.is_logging),
        journal,
        delivered: AtomicU64::new(0),
        last_error: Mutex::new(None),
    };
    gateway
        .audit
        .trails
        .running
        .write()
        .map_err(|_| unavailable("lock"))?
        .insert(arn, Arc::new(runtime));
    Ok(())
}

fn persist(gateway: &Gateway, t: &TrailConfig) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(t).map_err(unavailable)?;
    gateway
        .store
        .write(&[sekisho_store::Write::put(
            TRAILS,
            trail_key(&t.home_region, &t.name),
            bytes,
        )])
        .map_err(unavailable)
}

/// Applies a change to a stored trail and its runtime.
fn update(
    gateway: &Gateway,
    region: &str,
    name: &str,
    f: impl FnOnce(&mut TrailConfig) -> Result<(), ApiError>,
) -> Result<TrailConfig, ApiError> {
    let configs = &gateway.trail_configs;
    let mut next = configs.get(region, name)?;
    f(&mut next)?;
    persist(gateway, &next)?;
    if let Some(rt) = gateway
        .audit
        .trails
        .running
        .read()
        .map_err(|_| unavailable("lock"))?
        .get(&next.arn(&gateway.account))
    {
        rt.logging.store(next.is_logging, Ordering::Release);
        if let Ok(mut s) = rt.selectors.write() {
            *s = next.event_selectors.clone();
        }
    }
    configs
        .by_key
        .write()
        .map_err(|_| unavailable("lock"))?
        .insert(trail_key(&next.home_region, &next.name), next.clone());
    Ok(next)
}

fn parse_selectors(a: &Args<'_>) -> Result<Vec<EventSelector>, ApiError> {
    if a.value("AdvancedEventSelectors")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::validation(
            "AdvancedEventSelectors are not supported; use EventSelectors",
        )
        .with_code("InvalidEventSelectorsException"));
    }
    let raw = a
        .value("EventSelectors")
        .ok_or_else(|| crate::protocol::missing("EventSelectors"))?;
    let bytes = serde_json::to_vec(raw).map_err(unavailable)?;
    sekisho_audit::selector::parse(&bytes).map_err(|e| {
        ApiError::validation(e.to_string()).with_code("InvalidEventSelectorsException")
    })
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let a = Args::of(&call.input);
    let region = call.region.as_str();
    let account = gateway.account.clone();
    let now_ms = crate::services::args::epoch_millis(OffsetDateTime::now_utc());
    let reply = match call.op.name {
        "CreateTrail" => {
            let name = a.required("Name")?;
            check_trail_name(name)?;
            let bucket = a.required("S3BucketName")?;
            check_bucket(bucket)?;
            let prefix = a.str("S3KeyPrefix")?.filter(|p| !p.is_empty());
            if let Some(p) = prefix {
                check_prefix(p)?;
            }
            let kms_key_id = a.str("KmsKeyId")?.map(str::to_string);
            if let Some(k) = &kms_key_id {
                gateway.kms.check_usable(region, k).map_err(|e| {
                    ApiError::validation(format!("The KMS key {k} cannot be used: {}", e.message))
                        .with_code("KmsKeyNotFoundException")
                })?;
            }
            if gateway.trail_configs.get(region, name).is_ok() {
                return Err(ApiError::new(
                    ErrorKind::EntityAlreadyExists,
                    format!("Trail {name} already exists for customer: {account}"),
                )
                .with_code("TrailAlreadyExistsException"));
            }
            let tags = a
                .objects("TagsList")?
                .into_iter()
                .map(|t| {
                    Ok((
                        t.required("Key")?.to_string(),
                        t.str("Value")?.unwrap_or("").to_string(),
                    ))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let trail = TrailConfig {
                name: name.to_string(),
                home_region: region.to_string(),
                s3_bucket_name: bucket.to_string(),
                s3_key_prefix: prefix.map(str::to_string),
                include_global_service_events: a
                    .bool("IncludeGlobalServiceEvents")?
                    .unwrap_or(true),
                is_multi_region_trail: a.bool("IsMultiRegionTrail")?.unwrap_or(false),
                log_file_validation_enabled: a.bool("EnableLogFileValidation")?.unwrap_or(false),
                kms_key_id,
                event_selectors: vec![EventSelector::default()],
                has_custom_event_selectors: false,
                // A new trail does not log until StartLogging, as in AWS.
                is_logging: false,
                start_logging_time: None,
                stop_logging_time: None,
                tags,
            };
            persist(gateway, &trail)?;
            start_runtime(gateway, &trail)?;
            let mut out = trail.describe(&account);
            if let Some(o) = out.as_object_mut() {
                o.remove("HomeRegion");
                o.remove("HasCustomEventSelectors");
                o.remove("HasInsightSelectors");
            }
            gateway
                .trail_configs
                .by_key
                .write()
                .map_err(|_| unavailable("lock"))?
                .insert(trail_key(region, name), trail);
            out
        }
        "GetTrail" => {
            let t = gateway.trail_configs.get(region, a.required("Name")?)?;
            json!({ "Trail": t.describe(&account) })
        }
        "DescribeTrails" => {
            let names = a.string_list("trailNameList")?;
            let all = gateway
                .trail_configs
                .by_key
                .read()
                .map_err(|_| unavailable("lock"))?;
            let list: Vec<Value> = all
                .values()
                .filter(|t| t.home_region == region || t.is_multi_region_trail)
                .filter(|t| {
                    names.is_empty() || names.iter().any(|n| n == &t.name || n == &t.arn(&account))
                })
                .map(|t| t.describe(&account))
                .collect();
            json!({ "trailList": list })
        }
        "GetTrailStatus" => {
            let t = gateway.trail_configs.get(region, a.required("Name")?)?;
            let running = gateway
                .audit
                .trails
                .running
                .read()
                .map_err(|_| unavailable("lock"))?
                .get(&t.arn(&account))
                .cloned();
            let mut v = json!({ "IsLogging": t.is_logging });
            if let Some(s) = t.start_logging_time {
                v["StartLoggingTime"] = json!(s as f64 / 1000.0);
            }
            if let Some(s) = t.stop_logging_time {
                v["StopLoggingTime"] = json!(s as f64 / 1000.0);
            }
            if let Some(rt) = running {
                let health = rt.journal.health();
                if let Some(e) = health
                    .last_error
                    .or_else(|| rt.last_error.lock().ok().and_then(|l| l.clone()))
                {
                    v["LatestDeliveryError"] = json!(e);
                }
                if rt.delivered.load(Ordering::Relaxed) > 0 {
                    v["LatestDeliveryTime"] = epoch(OffsetDateTime::now_utc());
                }
            }
            v
        }
        "StartLogging" | "StopLogging" => {
            let start = call.op.name == "StartLogging";
            update(gateway, region, a.required("Name")?, |t| {
                t.is_logging = start;
                if start {
                    t.start_logging_time = Some(now_ms);
                } else {
                    t.stop_logging_time = Some(now_ms);
                }
                Ok(())
            })?;
            json!({})
        }
        "PutEventSelectors" => {
            let selectors = parse_selectors(&a)?;
            let t = update(gateway, region, a.required("TrailName")?, |t| {
                t.event_selectors = selectors;
                t.has_custom_event_selectors = true;
                Ok(())
            })?;
            json!({ "TrailARN": t.arn(&account), "EventSelectors": t.event_selectors })
        }
        "GetEventSelectors" => {
            let t = gateway
                .trail_configs
                .get(region, a.required("TrailName")?)?;
            json!({ "TrailARN": t.arn(&account), "EventSelectors": t.event_selectors })
        }
        "DeleteTrail" => {
            let t = gateway.trail_configs.get(region, a.required("Name")?)?;
            gateway
                .store
                .write(&[sekisho_store::Write::delete(
                    TRAILS,
                    trail_key(&t.home_region, &t.name),
                )])
                .map_err(unavailable)?;
            let runtime = gateway
                .audit
                .trails
                .running
                .write()
                .map_err(|_| unavailable("lock"))?
                .remove(&t.arn(&account));
            // Its delivered files stay in the bucket, as in AWS; the open
            // file is sealed with a final digest.
            if let Some(rt) = runtime
                && let Ok(rt) = Arc::try_unwrap(rt)
                && let Err(e) = rt.journal.close()
            {
                tracing::warn!(target: "sekisho::audit", trail = %t.name, error = %e, "closing a deleted trail's journal failed");
            }
            gateway
                .trail_configs
                .by_key
                .write()
                .map_err(|_| unavailable("lock"))?
                .remove(&trail_key(&t.home_region, &t.name));
            json!({})
        }
        "LookupEvents" => lookup_events(gateway, &a)?,
        other => {
            return Err(ApiError::new(
                ErrorKind::UnknownOperation,
                format!("{other} is not a CloudTrail operation here"),
            ));
        }
    };
    Ok(Reply::Json(reply))
}

fn lookup_events(gateway: &Gateway, a: &Args<'_>) -> Result<Value, ApiError> {
    use sekisho_audit::query::{LookupAttribute, LookupFilter};
    let attrs = a.objects("LookupAttributes")?;
    if attrs.len() > 1 {
        return Err(
            ApiError::validation("LookupAttributes takes at most one attribute")
                .with_code("InvalidLookupAttributesException"),
        );
    }
    let attribute = match attrs.first() {
        None => None,
        Some(at) => {
            let key = at.required("AttributeKey")?;
            let value = at.required("AttributeValue")?;
            Some(LookupAttribute::from_key_value(key, value).map_err(|e| {
                ApiError::validation(e.to_string()).with_code("InvalidLookupAttributesException")
            })?)
        }
    };
    let to_time = |secs: Option<f64>| {
        secs.and_then(|s| OffsetDateTime::from_unix_timestamp_nanos((s * 1e9) as i128).ok())
    };
    let start = to_time(a.epoch_seconds("StartTime")?);
    let end = to_time(a.epoch_seconds("EndTime")?);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ApiError::validation("StartTime is after EndTime")
            .with_code("InvalidTimeRangeException"));
    }
    let max = a.int_in("MaxResults", 1, 50)?.unwrap_or(50) as usize;
    let filter = LookupFilter {
        attribute,
        start_time: start,
        end_time: end,
    };
    let Some(dir) = gateway.audit.history_dir() else {
        return Ok(json!({ "Events": [] }));
    };
    let page = sekisho_audit::query::lookup(dir, None, &filter, max, a.str("NextToken")?).map_err(
        |e| {
            if matches!(e, sekisho_audit::AuditError::InvalidParameter(_)) {
                ApiError::validation(e.to_string()).with_code("InvalidNextTokenException")
            } else {
                unavailable(e)
            }
        },
    )?;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|stored| {
            let e = &stored.event;
            let resources: Vec<Value> = e
                .resources
                .iter()
                .map(|r| json!({ "ResourceType": r.kind, "ResourceName": r.arn }))
                .collect();
            let mut v = json!({
                "EventId": e.event_id,
                "EventName": e.event_name,
                "ReadOnly": e.read_only.map(|r| r.to_string()),
                "EventTime": epoch(e.event_time),
                "EventSource": e.event_source,
                "Resources": resources,
                "CloudTrailEvent": stored.json,
            });
            if let Some(u) = e.username() {
                v["Username"] = json!(u);
            }
            if let Some(k) = e.user_identity.access_key_id.as_deref() {
                v["AccessKeyId"] = json!(k);
            }
            v
        })
        .collect();
    let mut out = json!({ "Events": events });
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        assert!(check_trail_name("my-trail").is_ok());
        assert!(check_trail_name("ab").is_err());
        assert!(check_trail_name("-bad").is_err());
        assert!(check_trail_name("a..b").is_err());
        assert!(check_trail_name("has space").is_err());
    }

    #[test]
    fn prefixes_cannot_climb() {
        assert!(check_prefix("logs/").is_ok());
        assert!(check_prefix("../x").is_err());
        assert!(check_prefix("/abs").is_err());
    }
}
