//! Reading events back: CloudTrail LookupEvents and `tail`.
//!
//! Lookups walk log files newest first (file names carry their opening time,
//! so files outside the time window are skipped unread) and lines from last
//! to first, so results come newest first in the order they were written.
//! The open `.partial` file's complete lines are included: a call made a
//! moment ago is visible. Damaged or undecryptable lines are skipped.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cipher::{RecordCipher, decode_line};
use crate::layout::{self, FileRef};
use crate::record::Event;
use crate::scan::{self, MAX_LINE_BYTES};
use crate::{AuditError, signer, timefmt};

/// How far an event's time may lie outside its file's name-time window (a
/// long streaming call is logged when it ends, with the time it began).
const TIME_SLACK: time::Duration = time::Duration::minutes(15);
/// Largest page a lookup returns (CloudTrail's API allows 50).
pub const MAX_RESULTS_LIMIT: usize = 10_000;
/// Most bytes one tail step reads from a file.
const TAIL_CHUNK: u64 = 8 << 20;

/// LookupEvents' single lookup attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupAttribute {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

impl LookupAttribute {
    /// From the API's `AttributeKey`/`AttributeValue`.
    pub fn from_key_value(key: &str, value: &str) -> Result<Self, AuditError> {
        let v = value.to_owned();
        Ok(match key {
            "EventId" => LookupAttribute::EventId(v),
            "EventName" => LookupAttribute::EventName(v),
            "ReadOnly" => match value {
                "true" => LookupAttribute::ReadOnly(true),
                "false" => LookupAttribute::ReadOnly(false),
                _ => {
                    return Err(AuditError::InvalidParameter(
                        "ReadOnly must be true or false".into(),
                    ));
                }
            },
            "Username" => LookupAttribute::Username(v),
            "ResourceType" => LookupAttribute::ResourceType(v),
            "ResourceName" => LookupAttribute::ResourceName(v),
            "EventSource" => LookupAttribute::EventSource(v),
            "AccessKeyId" => LookupAttribute::AccessKeyId(v),
            other => {
                return Err(AuditError::InvalidParameter(format!(
                    "unknown AttributeKey {other:?}"
                )));
            }
        })
    }

    pub fn matches(&self, e: &Event) -> bool {
        match self {
            LookupAttribute::EventId(v) => &e.event_id == v,
            LookupAttribute::EventName(v) => &e.event_name == v,
            LookupAttribute::ReadOnly(v) => e.read_only == Some(*v),
            LookupAttribute::Username(v) => e.username() == Some(v.as_str()),
            LookupAttribute::ResourceType(v) => {
                e.resources.iter().any(|r| r.kind.as_deref() == Some(v))
            }
            LookupAttribute::ResourceName(v) => {
                e.resources.iter().any(|r| r.arn.as_deref() == Some(v))
            }
            LookupAttribute::EventSource(v) => &e.event_source == v,
            LookupAttribute::AccessKeyId(v) => e.user_identity.access_key_id.as_deref() == Some(v),
        }
    }

    fn key(&self) -> String {
        format!("{self:?}")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupFilter {
    pub attribute: Option<LookupAttribute>,
    /// Inclusive bounds on eventTime.
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
}

impl LookupFilter {
    pub fn matches(&self, e: &Event) -> bool {
        self.start_time.is_none_or(|s| e.event_time >= s)
            && self.end_time.is_none_or(|t| e.event_time <= t)
            && self.attribute.as_ref().is_none_or(|a| a.matches(e))
    }

    /// Ties a next token to the filter it was issued for.
    fn fingerprint(&self) -> String {
        let text = format!(
            "{}|{:?}|{:?}",
            self.attribute
                .as_ref()
                .map(LookupAttribute::key)
                .unwrap_or_default(),
            self.start_time.map(timefmt::iso),
            self.end_time.map(timefmt::iso)
        );
        signer::sha256_hex(text.as_bytes())
            .chars()
            .take(16)
            .collect()
    }
}

/// An event as read back, with its stored JSON (LookupEvents' `CloudTrailEvent`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event: Event,
    pub json: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookupPage {
    pub events: Vec<StoredEvent>,
    pub next_token: Option<String>,
}

/// Where a lookup page stopped: lines before `line` of `file` come next.
#[derive(Serialize, Deserialize)]
struct Token {
    f: String,
    l: usize,
    h: String,
}

/// CloudTrail LookupEvents over the journal in `dir`, newest first.
pub fn lookup(
    dir: &Path,
    cipher: Option<&dyn RecordCipher>,
    filter: &LookupFilter,
    max_results: usize,
    next_token: Option<&str>,
) -> Result<LookupPage, AuditError> {
    if max_results == 0 || max_results > MAX_RESULTS_LIMIT {
        return Err(AuditError::InvalidParameter(format!(
            "MaxResults {max_results}; allowed 1 to {MAX_RESULTS_LIMIT}"
        )));
    }
    let token = next_token.map(|t| decode_token(t, filter)).transpose()?;
    let resume = token
        .as_ref()
        .map(|t| {
            let name = t.f.rsplit('/').next().unwrap_or_default();
            layout::parse_name(name, layout::LOG_EXT).ok_or(AuditError::InvalidNextToken)
        })
        .transpose()?;
    let logs = layout::list_logs(dir);
    let mut page = LookupPage::default();
    for (i, f) in logs.iter().enumerate().rev() {
        let mut upper = usize::MAX;
        if let (Some(t), Some(key)) = (&token, resume) {
            if (f.time, f.seq) > key {
                continue;
            }
            if f.rel == t.f {
                upper = t.l;
            }
        }
        if !may_hold(f, logs.get(i + 1), filter) {
            continue;
        }
        let Ok(data) = scan::read_bounded(&f.disk_path(dir)) else {
            continue;
        };
        let lines = complete_lines(&data);
        for (n, line) in lines.iter().enumerate().take(upper.min(lines.len())).rev() {
            if page.events.len() == max_results {
                page.next_token = Some(encode_token(&f.rel, n + 1, filter));
                return Ok(page);
            }
            if let Some(e) = decode_event(line, cipher)
                && filter.matches(&e.event)
            {
                page.events.push(e);
            }
        }
    }
    Ok(page)
}

/// Whether file `f` (followed by `next`) can hold events in the filter's window.
fn may_hold(f: &FileRef, next: Option<&FileRef>, filter: &LookupFilter) -> bool {
    let lower = f.time - TIME_SLACK;
    let upper = next.map(|n| n.time + TIME_SLACK);
    let too_old = matches!((upper, filter.start_time), (Some(u), Some(s)) if u < s);
    let too_new = filter.end_time.is_some_and(|e| lower > e);
    !too_old && !too_new
}

/// Lines ending in a newline; a torn tail (still being written) is left out.
fn complete_lines(data: &[u8]) -> Vec<&[u8]> {
    let end = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    data.get(..end)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

fn decode_event(line: &[u8], cipher: Option<&dyn RecordCipher>) -> Option<StoredEvent> {
    if line.len() > MAX_LINE_BYTES {
        return None;
    }
    let json = decode_line(line, cipher).ok()?;
    let event: Event = serde_json::from_slice(&json).ok()?;
    let json = String::from_utf8(json).ok()?;
    Some(StoredEvent { event, json })
}

fn encode_token(file: &str, line: usize, filter: &LookupFilter) -> String {
    let t = Token {
        f: file.to_owned(),
        l: line,
        h: filter.fingerprint(),
    };
    let json = serde_json::to_vec(&t).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_token(s: &str, filter: &LookupFilter) -> Result<Token, AuditError> {
    if s.len() > 4096 {
        return Err(AuditError::InvalidNextToken);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| AuditError::InvalidNextToken)?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|_| AuditError::InvalidNextToken)?;
    if t.h != filter.fingerprint() || !layout::is_safe_rel(&t.f, layout::LOGS) {
        return Err(AuditError::InvalidNextToken);
    }
    Ok(t)
}

/// A reading position for `tail`: a log file (final name) and a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailPosition {
    pub file: String,
    pub offset: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailBatch {
    pub events: Vec<StoredEvent>,
    /// Complete lines that could not be decoded.
    pub damaged: u64,
    /// Where the next call continues (unchanged when nothing was read).
    pub position: Option<TailPosition>,
}

/// The current end of the journal: a `tail -f` starts here.
pub fn tail_end(dir: &Path) -> Option<TailPosition> {
    let f = layout::list_logs(dir).pop()?;
    let len = std::fs::metadata(f.disk_path(dir))
        .map(|m| m.len())
        .unwrap_or(0);
    Some(TailPosition {
        file: f.rel,
        offset: len,
    })
}

/// Up to `max_events` events written after `position` (from the oldest file
/// when None), in write order. Call again with the returned position to follow.
pub fn read_events_since(
    dir: &Path,
    cipher: Option<&dyn RecordCipher>,
    position: Option<&TailPosition>,
    max_events: usize,
) -> Result<TailBatch, AuditError> {
    let start_key = position
        .map(|p| {
            let name = p.file.rsplit('/').next().unwrap_or_default();
            layout::parse_name(name, layout::LOG_EXT).ok_or_else(|| {
                AuditError::InvalidParameter("tail position names no log file".into())
            })
        })
        .transpose()?;
    let mut batch = TailBatch {
        position: position.cloned(),
        ..TailBatch::default()
    };
    let logs = layout::list_logs(dir);
    for f in &logs {
        let mut offset = 0;
        if let (Some(p), Some(key)) = (position, start_key) {
            if (f.time, f.seq) < key {
                continue;
            }
            if f.rel == p.file {
                offset = p.offset;
            }
        }
        loop {
            let chunk = read_from(&f.disk_path(dir), offset)?;
            batch.damaged += chunk.skipped;
            let mut advanced = chunk.consumed;
            for (line, end) in &chunk.lines {
                if batch.events.len() == max_events {
                    advanced = lines_end_before(&chunk.lines, *end);
                    break;
                }
                match decode_event(line, cipher) {
                    Some(e) => batch.events.push(e),
                    None => batch.damaged += 1,
                }
            }
            offset += advanced;
            batch.position = Some(TailPosition {
                file: f.rel.clone(),
                offset,
            });
            if batch.events.len() == max_events {
                return Ok(batch);
            }
            if chunk.consumed < TAIL_CHUNK / 2 {
                break; // reached the end of what is complete in this file
            }
        }
    }
    Ok(batch)
}

/// The end offset of the line before the one ending at `end`.
fn lines_end_before(lines: &[(Vec<u8>, u64)], end: u64) -> u64 {
    lines
        .iter()
        .map(|(_, e)| *e)
        .take_while(|e| *e < end)
        .last()
        .unwrap_or(0)
}

struct Chunk {
    /// Non-empty complete lines and the offset (relative) just past each.
    lines: Vec<(Vec<u8>, u64)>,
    consumed: u64,
    skipped: u64,
}

/// Complete lines from `offset`, reading at most [`TAIL_CHUNK`] bytes.
fn read_from(path: &Path, offset: u64) -> Result<Chunk, AuditError> {
    let mut chunk = Chunk {
        lines: Vec::new(),
        consumed: 0,
        skipped: 0,
    };
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        // Sealed (renamed) between listing and opening: read it next call.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(chunk),
        Err(e) => return Err(AuditError::io("read log file", path, e)),
    };
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.take(TAIL_CHUNK).read_to_end(&mut buf))
        .map_err(|e| AuditError::io("read log file", path, e))?;
    let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if end == 0 && buf.len() as u64 == TAIL_CHUNK {
        // A full chunk without a newline is no record of ours: step over it
        // (one damaged line) rather than stall here forever.
        chunk.consumed = TAIL_CHUNK;
        chunk.skipped = 1;
        return Ok(chunk);
    }
    for l in buf
        .get(..end)
        .unwrap_or_default()
        .split_inclusive(|&b| b == b'\n')
    {
        chunk.consumed += l.len() as u64;
        let body = l.strip_suffix(b"\n").unwrap_or(l);
        if !body.is_empty() {
            chunk.lines.push((body.to_vec(), chunk.consumed));
        }
    }
    Ok(chunk)
}
