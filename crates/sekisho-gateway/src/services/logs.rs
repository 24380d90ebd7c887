//! A CloudWatch Logs subset: log groups with retention and a KMS key, and
//! the events model invocation logging writes into them.
//!
//! Groups live in memory and in the store; events live in the store only,
//! each sealed under the group's KMS key (with `aws:logs:arn` as encryption
//! context, as CloudWatch Logs does) or, for a group without one, under the
//! master key. Nothing is stored in plaintext.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::services::args::{Args, epoch_millis};
use crate::services::{Call, Reply};

const GROUPS: &str = "logs.groups";
const STREAMS: &str = "logs.streams";
const EVENTS: &str = "logs.events";
const SEP: char = '\u{1f}';

/// Retention periods CloudWatch Logs accepts.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// At most this many events are returned by one read.
const MAX_EVENTS: usize = 10_000;

/// A log group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogGroup {
    pub name: String,
    pub region: String,
    pub creation_time: i64,
    pub retention_in_days: Option<i64>,
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl LogGroup {
    pub fn arn(&self, account: &str) -> String {
        format!(
            "arn:aws:logs:{}:{account}:log-group:{}",
            self.region, self.name
        )
    }
}

/// A log stream's summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LogStream {
    pub creation_time: i64,
    pub first_event: i64,
    pub last_event: i64,
    pub last_ingestion: i64,
    pub stored_bytes: u64,
}

/// One stored event (sealed in the store).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEvent {
    timestamp: i64,
    ingestion_time: i64,
    message: String,
}

/// The service's state.
#[derive(Default)]
pub struct Logs {
    groups: std::sync::RwLock<BTreeMap<(String, String), LogGroup>>,
    streams: std::sync::Mutex<BTreeMap<String, LogStream>>,
    seq: std::sync::atomic::AtomicU64,
}

fn group_key(region: &str, name: &str) -> String {
    format!("{region}{SEP}{name}")
}

fn not_found(what: &str) -> ApiError {
    ApiError::not_found(format!("The specified {what} does not exist."))
        .with_code("ResourceNotFoundException")
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::validation(message).with_code("InvalidParameterException")
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::ServiceUnavailable,
        format!("the log store cannot be used: {e}"),
    )
}

/// `[\.\-_/#A-Za-z0-9]{1,512}`.
fn check_group_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "1 validation error detected: Value at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ and have length 1 to 512",
        ))
    }
}

/// `[^:*]{1,512}`.
fn check_stream_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 512
        || name.contains([':', '*'])
        || name.chars().any(char::is_control)
    {
        return Err(invalid(
            "Value at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]* and have length 1 to 512",
        ));
    }
    Ok(())
}

impl Logs {
    /// Loads the groups and stream summaries from the store.
    pub fn load(store: &dyn sekisho_store::Store) -> Result<Logs, String> {
        let logs = Logs::default();
        {
            let mut groups = logs.groups.write().map_err(|_| "lock poisoned")?;
            for (_, bytes) in store.list(GROUPS, "").map_err(|e| e.to_string())? {
                let g: LogGroup = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("a stored log group is damaged: {e}"))?;
                groups.insert((g.region.clone(), g.name.clone()), g);
            }
        }
        {
            let mut streams = logs.streams.lock().map_err(|_| "lock poisoned")?;
            for (key, bytes) in store.list(STREAMS, "").map_err(|e| e.to_string())? {
                let s: LogStream = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("a stored log stream is damaged: {e}"))?;
                streams.insert(key, s);
            }
        }
        Ok(logs)
    }

    /// Creates a group directly (tests of retention and sealing).
    pub fn create_group_for_tests(
        &self,
        gateway: &Gateway,
        region: &str,
        name: &str,
        retention_in_days: Option<i64>,
    ) -> Result<(), ApiError> {
        let group = LogGroup {
            name: name.to_string(),
            region: region.to_string(),
            creation_time: epoch_millis(OffsetDateTime::now_utc()),
            retention_in_days,
            kms_key_id: None,
            tags: BTreeMap::new(),
        };
        persist_group(gateway, &group)?;
        self.groups
            .write()
            .map_err(|_| unavailable("lock"))?
            .insert((region.to_string(), name.to_string()), group);
        Ok(())
    }

    pub fn group(&self, region: &str, name: &str) -> Option<LogGroup> {
        self.groups
            .read()
            .ok()?
            .get(&(region.to_string(), name.to_string()))
            .cloned()
    }

    /// Appends one event to a stream of a group (the stream is made when
    /// first written), sealed under the group's key.
    pub fn append(
        &self,
        gateway: &Gateway,
        region: &str,
        group_name: &str,
        stream: &str,
        timestamp: i64,
        message: &str,
    ) -> Result<(), ApiError> {
        let group = self
            .group(region, group_name)
            .ok_or_else(|| not_found("log group"))?;
        let arn = group.arn(&gateway.account);
        let now = epoch_millis(OffsetDateTime::now_utc());
        let event = StoredEvent {
            timestamp,
            ingestion_time: now,
            message: message.to_string(),
        };
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&event).map_err(|e| ApiError::internal(e.to_string()))?,
        );
        let sealed = gateway.kms.seal_at_rest(
            region,
            group.kms_key_id.as_deref(),
            &[("aws:logs:arn", arn.as_str())],
            &plain,
        )?;
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let gk = group_key(region, group_name);
        let stream_key = format!("{gk}{SEP}{stream}");
        let event_key = format!("{stream_key}{SEP}{timestamp:015}-{now:015}-{seq:012}");
        let summary = {
            let mut streams = self.streams.lock().map_err(|_| unavailable("lock"))?;
            let s = streams.entry(stream_key.clone()).or_insert(LogStream {
                creation_time: now,
                first_event: timestamp,
                ..LogStream::default()
            });
            s.first_event = s.first_event.min(timestamp);
            s.last_event = s.last_event.max(timestamp);
            s.last_ingestion = now;
            s.stored_bytes += message.len() as u64;
            s.clone()
        };
        gateway
            .store
            .write(&[
                sekisho_store::Write::put(EVENTS, event_key, sealed),
                sekisho_store::Write::put(
                    STREAMS,
                    stream_key,
                    serde_json::to_vec(&summary).unwrap_or_default(),
                ),
            ])
            .map_err(unavailable)
    }

    /// Deletes events older than each group's retention; returns how many.
    pub fn expire(&self, gateway: &Gateway, now: OffsetDateTime) -> Result<usize, String> {
        let groups: Vec<LogGroup> = self
            .groups
            .read()
            .map_err(|_| "lock poisoned")?
            .values()
            .cloned()
            .collect();
        let mut removed = 0;
        for g in groups {
            let Some(days) = g.retention_in_days else {
                continue;
            };
            let cutoff = epoch_millis(now) - days * 86_400_000;
            let prefix = format!("{}{SEP}", group_key(&g.region, &g.name));
            let mut deletes = Vec::new();
            for (key, _) in gateway
                .store
                .list(EVENTS, &prefix)
                .map_err(|e| e.to_string())?
            {
                if event_timestamp(&key).is_some_and(|t| t < cutoff) {
                    deletes.push(sekisho_store::Write::delete(EVENTS, key));
                }
            }
            removed += deletes.len();
            if !deletes.is_empty() {
                gateway.store.write(&deletes).map_err(|e| e.to_string())?;
            }
        }
        Ok(removed)
    }

    fn read_events(
        &self,
        gateway: &Gateway,
        group: &LogGroup,
        stream_filter: &dyn Fn(&str) -> bool,
        range: (Option<i64>, Option<i64>),
    ) -> Result<Vec<(String, String, StoredEvent)>, ApiError> {
        let arn = group.arn(&gateway.account);
        let prefix = format!("{}{SEP}", group_key(&group.region, &group.name));
        let mut out = Vec::new();
        for (key, sealed) in gateway.store.list(EVENTS, &prefix).map_err(unavailable)? {
            let rest = &key[prefix.len()..];
            let Some((stream, _)) = rest.rsplit_once(SEP) else {
                continue;
            };
            if !stream_filter(stream) {
                continue;
            }
            let ts = event_timestamp(&key).unwrap_or(0);
            if range.0.is_some_and(|s| ts < s) || range.1.is_some_and(|e| ts > e) {
                continue;
            }
            let plain = gateway.kms.open_at_rest(
                &group.region,
                &sealed,
                &[("aws:logs:arn", arn.as_str())],
            )?;
            let event: StoredEvent = serde_json::from_slice(&plain)
                .map_err(|_| unavailable("a stored log event is damaged"))?;
            out.push((key.clone(), stream.to_string(), event));
            if out.len() >= MAX_EVENTS {
                break;
            }
        }
        Ok(out)
    }
}

fn event_timestamp(key: &str) -> Option<i64> {
    let last = key.rsplit(SEP).next()?;
    last.split('-').next()?.parse().ok()
}

/// The CloudWatch Logs filter pattern subset: terms that must all appear
/// (case-sensitive, as CloudWatch matches), quoted phrases, `-term` to
/// exclude. JSON and space-delimited patterns are refused.
fn matches_pattern(pattern: &str, message: &str) -> Result<bool, ApiError> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Ok(true);
    }
    if pattern.starts_with('{') || pattern.starts_with('[') {
        return Err(invalid(
            "JSON and space-delimited filter patterns are not supported; use terms and quoted phrases",
        ));
    }
    let mut rest = pattern;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (negate, body) = match rest.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let (term, next) = if let Some(q) = body.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => return Err(invalid("The filter pattern has an unclosed quote")),
            }
        } else {
            let end = body.find(' ').unwrap_or(body.len());
            (&body[..end], &body[end..])
        };
        if !term.is_empty() && message.contains(term) == negate {
            return Ok(false);
        }
        rest = next;
    }
    Ok(true)
}

fn page_token(token: Option<&str>) -> Result<usize, ApiError> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("p/")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid("The specified nextToken is invalid.")),
    }
}

pub async fn handle(gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    let a = Args::of(&call.input);
    let region = call.region.as_str();
    let logs = &gateway.logs;
    match call.op.name {
        "CreateLogGroup" => {
            let name = a.required("logGroupName")?;
            check_group_name(name)?;
            let kms_key_id = a.str("kmsKeyId")?.map(str::to_string);
            if let Some(key) = &kms_key_id {
                // CloudWatch Logs checks that the key exists and is usable.
                gateway.kms.check_usable(region, key).map_err(|e| {
                    invalid(format!("The KMS key {key} cannot be used: {}", e.message))
                })?;
            }
            let tags = a.string_map("tags")?;
            if tags.len() > 50 {
                return Err(invalid("A log group can have at most 50 tags"));
            }
            let group = LogGroup {
                name: name.to_string(),
                region: region.to_string(),
                creation_time: epoch_millis(OffsetDateTime::now_utc()),
                retention_in_days: None,
                kms_key_id,
                tags,
            };
            let mut groups = logs.groups.write().map_err(|_| unavailable("lock"))?;
            let key = (region.to_string(), name.to_string());
            if groups.contains_key(&key) {
                return Err(ApiError::new(
                    ErrorKind::EntityAlreadyExists,
                    "The specified log group already exists",
                )
                .with_code("ResourceAlreadyExistsException"));
            }
            persist_group(gateway, &group)?;
            groups.insert(key, group);
            Ok(Reply::Json(json!({})))
        }
        "DeleteLogGroup" => {
            let name = a.required("logGroupName")?;
            let mut groups = logs.groups.write().map_err(|_| unavailable("lock"))?;
            let key = (region.to_string(), name.to_string());
            if !groups.contains_key(&key) {
                return Err(not_found("log group"));
            }
            let prefix = format!("{}{SEP}", group_key(region, name));
            let mut writes = vec![sekisho_store::Write::delete(
                GROUPS,
                group_key(region, name),
            )];
            for (k, _) in gateway.store.list(EVENTS, &prefix).map_err(unavailable)? {
                writes.push(sekisho_store::Write::delete(EVENTS, k));
            }
            for (k, _) in gateway.store.list(STREAMS, &prefix).map_err(unavailable)? {
                writes.push(sekisho_store::Write::delete(STREAMS, k));
            }
            gateway.store.write(&writes).map_err(unavailable)?;
            groups.remove(&key);
            if let Ok(mut streams) = logs.streams.lock() {
                streams.retain(|k, _| !k.starts_with(&prefix));
            }
            Ok(Reply::Json(json!({})))
        }
        "PutRetentionPolicy" | "DeleteRetentionPolicy" => {
            let name = a.required("logGroupName")?;
            let days = if call.op.name == "PutRetentionPolicy" {
                let days = a
                    .int("retentionInDays")?
                    .ok_or_else(|| crate::protocol::missing("retentionInDays"))?;
                if !RETENTION_DAYS.contains(&days) {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
                    )));
                }
                Some(days)
            } else {
                None
            };
            let mut groups = logs.groups.write().map_err(|_| unavailable("lock"))?;
            let group = groups
                .get_mut(&(region.to_string(), name.to_string()))
                .ok_or_else(|| not_found("log group"))?;
            let mut next = group.clone();
            next.retention_in_days = days;
            persist_group(gateway, &next)?;
            *group = next;
            Ok(Reply::Json(json!({})))
        }
        "DescribeLogGroups" => {
            let prefix = a.str("logGroupNamePrefix")?.unwrap_or("");
            let limit = a.int_in("limit", 1, 50)?.unwrap_or(50) as usize;
            let start = page_token(a.str("nextToken")?)?;
            let groups = logs.groups.read().map_err(|_| unavailable("lock"))?;
            let matching: Vec<&LogGroup> = groups
                .values()
                .filter(|g| g.region == region && g.name.starts_with(prefix))
                .collect();
            let streams = logs.streams.lock().map_err(|_| unavailable("lock"))?;
            let page: Vec<Value> = matching
                .iter()
                .skip(start)
                .take(limit)
                .map(|g| {
                    let gp = format!("{}{SEP}", group_key(&g.region, &g.name));
                    let stored: u64 = streams
                        .range(gp.clone()..)
                        .take_while(|(k, _)| k.starts_with(&gp))
                        .map(|(_, s)| s.stored_bytes)
                        .sum();
                    let arn = g.arn(&gateway.account);
                    let mut v = json!({
                        "logGroupName": g.name,
                        "creationTime": g.creation_time,
                        "metricFilterCount": 0,
                        "arn": format!("{arn}:*"),
                        "logGroupArn": arn,
                        "storedBytes": stored,
                        "logGroupClass": "STANDARD",
                    });
                    if let Some(d) = g.retention_in_days {
                        v["retentionInDays"] = json!(d);
                    }
                    if let Some(k) = &g.kms_key_id {
                        v["kmsKeyId"] = json!(k);
                    }
                    v
                })
                .collect();
            let mut out = json!({ "logGroups": page });
            if start + limit < matching.len() {
                out["nextToken"] = json!(format!("p/{}", start + limit));
            }
            Ok(Reply::Json(out))
        }
        "DescribeLogStreams" => {
            let name = a.required("logGroupName")?;
            let group = logs
                .group(region, name)
                .ok_or_else(|| not_found("log group"))?;
            let prefix = a.str("logStreamNamePrefix")?.unwrap_or("");
            let limit = a.int_in("limit", 1, 50)?.unwrap_or(50) as usize;
            let start = page_token(a.str("nextToken")?)?;
            let gp = format!("{}{SEP}", group_key(region, name));
            let streams = logs.streams.lock().map_err(|_| unavailable("lock"))?;
            let arn = group.arn(&gateway.account);
            let matching: Vec<Value> = streams
                .range(gp.clone()..)
                .take_while(|(k, _)| k.starts_with(&gp))
                .filter_map(|(k, s)| {
                    let stream = &k[gp.len()..];
                    stream.starts_with(prefix).then(|| {
                        json!({
                            "logStreamName": stream,
                            "creationTime": s.creation_time,
                            "firstEventTimestamp": s.first_event,
                            "lastEventTimestamp": s.last_event,
                            "lastIngestionTime": s.last_ingestion,
                            "arn": format!("{arn}:log-stream:{stream}"),
                            "storedBytes": s.stored_bytes,
                        })
                    })
                })
                .collect();
            let total = matching.len();
            let page: Vec<Value> = matching.into_iter().skip(start).take(limit).collect();
            let mut out = json!({ "logStreams": page });
            if start + limit < total {
                out["nextToken"] = json!(format!("p/{}", start + limit));
            }
            Ok(Reply::Json(out))
        }
        "FilterLogEvents" => {
            let name = a.required("logGroupName")?;
            let group = logs
                .group(region, name)
                .ok_or_else(|| not_found("log group"))?;
            let names = a.string_list("logStreamNames")?;
            let prefix = a.str("logStreamNamePrefix")?.map(str::to_string);
            if !names.is_empty() && prefix.is_some() {
                return Err(invalid(
                    "logStreamNames and logStreamNamePrefix cannot be given together",
                ));
            }
            let pattern = a.bounded("filterPattern", 1024)?.unwrap_or("");
            let limit = a.int_in("limit", 1, 10_000)?.unwrap_or(10_000) as usize;
            let start = page_token(a.str("nextToken")?)?;
            let range = (a.int("startTime")?, a.int("endTime")?);
            let filter = |s: &str| {
                (names.is_empty() || names.iter().any(|n| n == s))
                    && prefix.as_deref().is_none_or(|p| s.starts_with(p))
            };
            let events = logs.read_events(gateway, &group, &filter, range)?;
            let mut matched = Vec::new();
            for (key, stream, e) in events {
                if matches_pattern(pattern, &e.message)? {
                    matched.push(json!({
                        "logStreamName": stream,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                        "eventId": event_id(&key),
                    }));
                }
            }
            let total = matched.len();
            let page: Vec<Value> = matched.into_iter().skip(start).take(limit).collect();
            let mut out = json!({ "events": page, "searchedLogStreams": [] });
            if start + limit < total {
                out["nextToken"] = json!(format!("p/{}", start + limit));
            }
            Ok(Reply::Json(out))
        }
        "GetLogEvents" => {
            let name = a.required("logGroupName")?;
            let stream = a.required("logStreamName")?;
            check_stream_name(stream)?;
            let group = logs
                .group(region, name)
                .ok_or_else(|| not_found("log group"))?;
            let limit = a.int_in("limit", 1, 10_000)?.unwrap_or(10_000) as usize;
            let range = (a.int("startTime")?, a.int("endTime")?);
            let start_from_head = a.bool("startFromHead")?.unwrap_or(false);
            let token = a.str("nextToken")?;
            let start = match token {
                None => None,
                Some(t) => Some(
                    t.strip_prefix("f/")
                        .or_else(|| t.strip_prefix("b/"))
                        .and_then(|n| n.parse::<usize>().ok())
                        .ok_or_else(|| invalid("The specified nextToken is invalid."))?,
                ),
            };
            let exists = logs
                .streams
                .lock()
                .map_err(|_| unavailable("lock"))?
                .contains_key(&format!("{}{SEP}{stream}", group_key(region, name)));
            if !exists {
                return Err(not_found("log stream"));
            }
            let events = logs.read_events(gateway, &group, &|s| s == stream, range)?;
            let total = events.len();
            // Without a token, the newest `limit` events (or the oldest
            // with startFromHead), as CloudWatch Logs does.
            let first = match start {
                Some(n) => n.min(total),
                None if start_from_head => 0,
                None => total.saturating_sub(limit),
            };
            let page: Vec<Value> = events
                .iter()
                .skip(first)
                .take(limit)
                .map(|(_, _, e)| {
                    json!({
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                    })
                })
                .collect();
            let end = (first + page.len()).min(total);
            Ok(Reply::Json(json!({
                "events": page,
                "nextForwardToken": format!("f/{end}"),
                "nextBackwardToken": format!("b/{}", first.saturating_sub(limit)),
            })))
        }
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("{other} is not a CloudWatch Logs operation here"),
        )),
    }
}

fn persist_group(gateway: &Gateway, group: &LogGroup) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(group).map_err(|e| ApiError::internal(e.to_string()))?;
    gateway
        .store
        .write(&[sekisho_store::Write::put(
            GROUPS,
            group_key(&group.region, &group.name),
            bytes,
        )])
        .map_err(unavailable)
}

/// A stable event id from the store key (digits only, as CloudWatch's).
fn event_id(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{:03}", b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns() {
        assert!(matches_pattern("", "anything").unwrap());
        assert!(matches_pattern("ERROR", "an ERROR here").unwrap());
        assert!(!matches_pattern("ERROR", "all fine").unwrap());
        assert!(matches_pattern("\"model id\" Converse", "model id of Converse").unwrap());
        assert!(!matches_pattern("Converse -denied", "Converse denied").unwrap());
        assert!(matches_pattern("{ $.x = 1 }", "x").is_err());
        assert!(matches_pattern("\"open", "x").is_err());
    }

    #[test]
    fn names() {
        assert!(check_group_name("/aws/bedrock/model-invocations").is_ok());
        assert!(check_group_name("bad name").is_err());
        assert!(check_group_name("").is_err());
        assert!(check_stream_name("a:b").is_err());
    }

    #[test]
    fn event_keys_carry_their_time() {
        let key = format!("us-east-1{SEP}g{SEP}s{SEP}{:015}-{:015}-{:012}", 42, 43, 7);
        assert_eq!(event_timestamp(&key), Some(42));
    }
}
