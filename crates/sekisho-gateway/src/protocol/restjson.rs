//! rest-json (the four Bedrock services): the operation is chosen by HTTP
//! method and path template, labels are taken from the path, errors are
//! `x-amzn-ErrorType: {Code}` with a `{"message": "…"}` body.
//!
//! # Paths
//!
//! A request path is split at `/` first and each segment is then
//! percent-decoded exactly once, the way botocore encodes it: a label is
//! sent with `/` as `%2F` and `:` as `%3A`, so
//! `/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx/converse`
//! has the single label `arn:aws:bedrock:us-east-1::foundation-model/x`.
//! An encoded slash never separates segments. A greedy label (`{key+}`)
//! takes the remaining segments joined by `/`.
//!
//! Refused outright (`ValidationException`), before any route is tried: a
//! bad escape, non-UTF-8 text, control characters (NUL included) and any
//! `.` or `..` segment, also when encoded (`%2E%2E`) and also inside a
//! label's decoded value (`a%2F..%2Fb`).
//!
//! # Precedence
//!
//! One [`RouteTable`] holds the routes of several services (all four Bedrock
//! services sign as `bedrock`). When more than one route matches, the most
//! specific wins: at the first segment where the candidates differ a literal
//! beats a label and a label beats a greedy label; then the route with more
//! required query parameters; then the route added first. Trailing slashes
//! are significant (`POST /agents/{agentId}/` is PrepareAgent, `POST
//! /agents/{sessionId}` InvokeInlineAgent). [`RouteTable::overlaps`] lists
//! the pairs of routes one request could match, for a startup or test
//! check.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use http::{Method, Response, Uri};
use serde_json::{Map, Value};

use super::json::{JsonLimits, parse_object};
use super::{DecodeError, ERROR_TYPE_HEADER, build_response, media_type, percent_decode};
use crate::error::{ApiError, Dialect, ErrorKind};

/// `Content-Type` of rest-json bodies.
pub const CONTENT_TYPE: &str = "application/json";

/// Bounds on a request's path and query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathLimits {
    /// The raw path, in bytes.
    pub max_path_bytes: usize,
    /// Path segments.
    pub max_segments: usize,
    /// The raw query string, in bytes.
    pub max_query_bytes: usize,
    /// Query parameters.
    pub max_query_params: usize,
}

impl Default for PathLimits {
    fn default() -> PathLimits {
        PathLimits {
            max_path_bytes: 4096,
            max_segments: 64,
            max_query_bytes: 8192,
            max_query_params: 100,
        }
    }
}

/// A path template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub template: String,
    pub reason: &'static str,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid path template {:?}: {}",
            self.template, self.reason
        )
    }
}

impl std::error::Error for TemplateError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Label(String),
    Greedy(String),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Label(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

/// A parsed request-URI template, e.g.
/// `/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`,
/// `/objects/{key+}`, `/tags/{resourceArn}?tagKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    raw: String,
    segments: Vec<Segment>,
    /// Query parameters the template requires (`?x-id=Foo` → value `Foo`,
    /// `?tagging` → any value).
    query: Vec<(String, Option<String>)>,
}

impl PathTemplate {
    pub fn parse(template: &str) -> Result<PathTemplate, TemplateError> {
        let err = |reason| TemplateError {
            template: template.to_owned(),
            reason,
        };
        let (path, query) = match template.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (template, None),
        };
        let Some(rest) = path.strip_prefix('/') else {
            return Err(err("it must start with '/'"));
        };
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let parts: Vec<&str> = rest.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(err("a label name must be letters, digits and '_'"));
                }
                if names.contains(&name) {
                    return Err(err("a label appears twice"));
                }
                names.push(name);
                if greedy {
                    if segments.iter().any(|s| matches!(s, Segment::Greedy(_))) {
                        return Err(err("at most one greedy label"));
                    }
                    segments.push(Segment::Greedy(name.to_owned()));
                } else {
                    segments.push(Segment::Label(name.to_owned()));
                }
            } else if part.contains(['{', '}']) {
                return Err(err("a label must be a whole segment"));
            } else if part.is_empty() && !last {
                return Err(err("empty segment"));
            } else if *part == "." || *part == ".." {
                return Err(err("'.' and '..' segments are not allowed"));
            } else {
                segments.push(Segment::Literal((*part).to_owned()));
            }
        }
        let mut required = Vec::new();
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some((k, v)) => required.push((k.to_owned(), Some(v.to_owned()))),
                    None => required.push((pair.to_owned(), None)),
                }
            }
        }
        Ok(PathTemplate {
            raw: template.to_owned(),
            segments,
            query: required,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Where the greedy label is, if any.
    fn greedy_at(&self) -> Option<usize> {
        self.segments
            .iter()
            .position(|s| matches!(s, Segment::Greedy(_)))
    }

    /// Pairs each template segment with the path segment(s) it covers: for
    /// a greedy label, the range of path segments it takes.
    fn align<'p>(&self, path: &'p [String]) -> Option<Vec<(&Segment, &'p [String])>> {
        let (g, after) = match self.greedy_at() {
            None if path.len() == self.segments.len() => (self.segments.len(), 0),
            None => return None,
            // The greedy label takes at least one segment.
            Some(g) if path.len() > self.segments.len() - 1 => (g, self.segments.len() - g - 1),
            Some(_) => return None,
        };
        let mut out = Vec::with_capacity(self.segments.len());
        for (k, seg) in self.segments.iter().enumerate() {
            let covered = if k < g {
                &path[k..k + 1]
            } else if k == g {
                &path[g..path.len() - after]
            } else {
                let at = path.len() - (self.segments.len() - k);
                &path[at..at + 1]
            };
            out.push((seg, covered));
        }
        Some(out)
    }

    /// Whether the decoded segments match (no allocation on the way).
    fn matches(&self, path: &[String]) -> bool {
        let greedy = self.greedy_at();
        let (g, after) = match greedy {
            None if path.len() == self.segments.len() => (usize::MAX, 0),
            None => return false,
            Some(g) if path.len() > self.segments.len() - 1 => (g, self.segments.len() - g - 1),
            Some(_) => return false,
        };
        self.segments.iter().enumerate().all(|(k, seg)| {
            if k == g {
                path[g..path.len() - after].iter().all(|p| !p.is_empty())
            } else {
                let at = if greedy.is_some() && k > g {
                    path.len() - (self.segments.len() - k)
                } else {
                    k
                };
                match seg {
                    Segment::Literal(lit) => *lit == path[at],
                    Segment::Label(_) | Segment::Greedy(_) => !path[at].is_empty(),
                }
            }
        })
    }

    /// The labels of a matching path, in template order.
    fn labels(&self, path: &[String]) -> Vec<(String, String)> {
        let Some(aligned) = self.align(path) else {
            return Vec::new();
        };
        aligned
            .into_iter()
            .filter_map(|(seg, covered)| match seg {
                Segment::Literal(_) => None,
                Segment::Label(name) => Some((name.clone(), covered.concat())),
                Segment::Greedy(name) => Some((name.clone(), covered.join("/"))),
            })
            .collect()
    }

    fn query_matches(&self, query: &QueryString) -> bool {
        self.query.iter().all(|(k, v)| match v {
            None => query.first(k).is_some(),
            Some(v) => query.first(k) == Some(v.as_str()),
        })
    }

    /// Whether some request could match both templates (same segment
    /// shapes; literals equal where both have one).
    fn overlaps(&self, other: &PathTemplate) -> bool {
        overlap(&self.segments, &other.segments)
    }
}

fn overlap(a: &[Segment], b: &[Segment]) -> bool {
    match (a.first(), b.first()) {
        (None, None) => true,
        (Some(Segment::Greedy(_)), _) => {
            // The greedy label eats one or more of b's segments.
            (1..=b.len()).any(|n| {
                b[..n]
                    .iter()
                    .all(|s| !matches!(s, Segment::Literal(l) if l.is_empty()))
                    && overlap(&a[1..], &b[n..])
            })
        }
        (_, Some(Segment::Greedy(_))) => overlap(b, a),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(x), Some(y)) => {
            let ok = match (x, y) {
                (Segment::Literal(p), Segment::Literal(q)) => p == q,
                (Segment::Literal(l), _) | (_, Segment::Literal(l)) => !l.is_empty(),
                _ => true,
            };
            ok && overlap(&a[1..], &b[1..])
        }
    }
}

/// Identifies a route in its table (the order it was added in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteId(pub usize);

#[derive(Debug, Clone)]
struct Route<T> {
    service: &'static str,
    method: Method,
    template: PathTemplate,
    rank: Vec<u8>,
    value: T,
}

/// A route that matched a request.
#[derive(Debug)]
pub struct RouteMatch<'a, T> {
    pub id: RouteId,
    /// The service the route belongs to (`bedrock-runtime`, …).
    pub service: &'static str,
    /// The template that matched.
    pub template: &'a str,
    /// What the route was registered with (an operation id, a handler).
    pub value: &'a T,
    /// Labels in template order, decoded once.
    pub labels: Vec<(String, String)>,
    /// The decoded query string.
    pub query: QueryString,
}

impl<T> RouteMatch<'_, T> {
    /// A label's decoded value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A routing table over one or more rest-json services.
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    routes: Vec<Route<T>>,
    /// Routes without a greedy label, by segment count.
    by_len: HashMap<usize, Vec<usize>>,
    /// Routes with a greedy label.
    greedy: Vec<usize>,
    limits: PathLimits,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable::new()
    }
}

impl<T> RouteTable<T> {
    pub fn new() -> RouteTable<T> {
        RouteTable::with_limits(PathLimits::default())
    }

    pub fn with_limits(limits: PathLimits) -> RouteTable<T> {
        RouteTable {
            routes: Vec::new(),
            by_len: HashMap::new(),
            greedy: Vec::new(),
            limits,
        }
    }

    /// Adds a route. Earlier routes win ties (see the module docs).
    pub fn add(
        &mut self,
        service: &'static str,
        method: Method,
        template: &str,
        value: T,
    ) -> Result<RouteId, TemplateError> {
        let template = PathTemplate::parse(template)?;
        let rank = template.segments.iter().map(Segment::rank).collect();
        let index = self.routes.len();
        if template
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)))
        {
            self.greedy.push(index);
        } else {
            self.by_len
                .entry(template.segments.len())
                .or_default()
                .push(index);
        }
        self.routes.push(Route {
            service,
            method,
            template,
            rank,
            value,
        });
        Ok(RouteId(self.routes.len() - 1))
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The service, method and template of a route.
    pub fn describe(&self, id: RouteId) -> Option<(&'static str, &Method, &str)> {
        self.routes
            .get(id.0)
            .map(|r| (r.service, &r.method, r.template.as_str()))
    }

    /// Routes a request given its URI.
    pub fn route_uri(&self, method: &Method, uri: &Uri) -> Result<RouteMatch<'_, T>, ApiError> {
        self.route(method, uri.path(), uri.query())
    }

    /// Routes a request by method, raw (still percent-encoded) path and raw
    /// query string.
    pub fn route(
        &self,
        method: &Method,
        raw_path: &str,
        raw_query: Option<&str>,
    ) -> Result<RouteMatch<'_, T>, ApiError> {
        let segments = decode_path(raw_path, &self.limits)?;
        let query = QueryString::parse(raw_query.unwrap_or(""), &self.limits)?;
        let mut best: Option<usize> = None;
        let mut path_matched = false;
        let same_len = self
            .by_len
            .get(&segments.len())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for &i in same_len.iter().chain(&self.greedy) {
            let route = &self.routes[i];
            if !route.template.matches(&segments) {
                continue;
            }
            if !route.template.query_matches(&query) {
                continue;
            }
            path_matched = true;
            if route.method != *method {
                continue;
            }
            let better = match best {
                None => true,
                Some(j) => {
                    let other = &self.routes[j];
                    let key = (&route.rank, route.template.query.len());
                    let other_key = (&other.rank, other.template.query.len());
                    key > other_key || (key == other_key && i < j)
                }
            };
            if better {
                best = Some(i);
            }
        }
        match best {
            Some(i) => {
                let route = &self.routes[i];
                let labels = route.template.labels(&segments);
                Ok(RouteMatch {
                    id: RouteId(i),
                    service: route.service,
                    template: route.template.as_str(),
                    value: &route.value,
                    labels,
                    query,
                })
            }
            None if path_matched => Err(ApiError::new(
                ErrorKind::UnknownOperation,
                format!(
                    "The {} method is not supported for this resource",
                    method.as_str()
                ),
            )),
            None => Err(ApiError::new(
                ErrorKind::UnknownOperation,
                "The requested operation is not recognized by this service",
            )),
        }
    }

    /// Pairs of routes (same method) that one request could match; the
    /// first of each pair is the one that wins.
    pub fn overlaps(&self) -> Vec<(RouteId, RouteId)> {
        let mut out = Vec::new();
        for i in 0..self.routes.len() {
            for j in i + 1..self.routes.len() {
                let (a, b) = (&self.routes[i], &self.routes[j]);
                if a.method == b.method && a.template.overlaps(&b.template) {
                    let a_wins =
                        (&a.rank, a.template.query.len()) >= (&b.rank, b.template.query.len());
                    out.push(if a_wins {
                        (RouteId(i), RouteId(j))
                    } else {
                        (RouteId(j), RouteId(i))
                    });
                }
            }
        }
        out
    }
}

/// Splits a raw path at `/` and decodes each segment once, refusing the
/// path tricks listed in the module docs.
pub fn decode_path(raw_path: &str, limits: &PathLimits) -> Result<Vec<String>, ApiError> {
    if raw_path.len() > limits.max_path_bytes {
        return Err(ApiError::validation(format!(
            "The request path exceeds the maximum length of {} bytes",
            limits.max_path_bytes
        )));
    }
    let Some(rest) = raw_path.strip_prefix('/') else {
        return Err(ApiError::validation("The request path must start with '/'"));
    };
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        if segments.len() >= limits.max_segments {
            return Err(ApiError::validation(format!(
                "The request path has more than {} segments",
                limits.max_segments
            )));
        }
        let decoded = percent_decode(raw, false).map_err(|e| match e {
            DecodeError::BadEscape => {
                ApiError::validation("The request path has an invalid percent-encoding")
            }
            DecodeError::NotUtf8 => ApiError::validation("The request path is not valid UTF-8"),
        })?;
        if decoded.chars().any(|c| c.is_ascii_control()) {
            return Err(ApiError::validation(
                "The request path contains a control character",
            ));
        }
        if decoded.split('/').any(|part| part == "." || part == "..") {
            return Err(ApiError::validation(
                "The request path contains a '.' or '..' segment",
            ));
        }
        segments.push(decoded);
    }
    Ok(segments)
}

/// A decoded query string, pairs in request order (`+` is a space, each
/// name and value decoded once; repeated names are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryString {
    pairs: Vec<(String, String)>,
}

impl QueryString {
    pub fn parse(raw: &str, limits: &PathLimits) -> Result<QueryString, ApiError> {
        if raw.len() > limits.max_query_bytes {
            return Err(ApiError::validation(format!(
                "The query string exceeds the maximum length of {} bytes",
                limits.max_query_bytes
            )));
        }
        let mut pairs = Vec::new();
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            if pairs.len() >= limits.max_query_params {
                return Err(ApiError::validation(format!(
                    "The query string has more than {} parameters",
                    limits.max_query_params
                )));
            }
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            let decode = |s: &str| {
                percent_decode(s, true).map_err(|e| match e {
                    DecodeError::BadEscape => {
                        ApiError::validation("The query string has an invalid percent-encoding")
                    }
                    DecodeError::NotUtf8 => {
                        ApiError::validation("The query string is not valid UTF-8")
                    }
                })
            };
            let (k, v) = (decode(k)?, decode(v)?);
            if k.chars().chain(v.chars()).any(|c| c == '\0') {
                return Err(ApiError::validation(
                    "The query string contains a NUL character",
                ));
            }
            pairs.push((k, v));
        }
        Ok(QueryString { pairs })
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (list parameters: `?tagKeys=a&tagKeys=b`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of a single-valued parameter; given twice is an error.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        match (it.next(), it.next()) {
            (None, _) => Ok(None),
            (Some((_, v)), None) => Ok(Some(v.as_str())),
            (Some(_), Some(_)) => Err(super::violation_redacted(
                name,
                "Member must be given at most once",
            )),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Decodes a JSON object body of a rest-json operation. The content type,
/// when given, must be `application/json`; an empty body is `{}`.
pub fn parse_json_body(
    content_type: Option<&str>,
    body: &[u8],
    limits: &JsonLimits,
) -> Result<Map<String, Value>, ApiError> {
    if let Some(ct) = content_type
        && media_type(ct) != CONTENT_TYPE
    {
        return Err(ApiError::validation(format!(
            "The Content-Type must be {CONTENT_TYPE}"
        )));
    }
    parse_object(body, limits).map_err(|e| e.into_rest_json_error())
}

/// A JSON response with the given status.
pub fn json_response(status: u16, body: &Value, request_id: &str) -> Response<Bytes> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    build_response(status, CONTENT_TYPE, request_id, &[], Bytes::from(bytes))
}

/// A response with a body of any content type (InvokeModel's blob).
pub fn raw_response(
    status: u16,
    content_type: &'static str,
    body: Bytes,
    request_id: &str,
) -> Response<Bytes> {
    build_response(status, content_type, request_id, &[], body)
}

/// `{"message": "…"}`.
pub fn error_body(err: &ApiError) -> Bytes {
    let mut map = Map::new();
    map.insert("message".to_owned(), Value::String(err.message.clone()));
    Bytes::from(serde_json::to_vec(&Value::Object(map)).unwrap_or_default())
}

/// The rest-json error response for `err`: its status, `application/json`,
/// `x-amzn-ErrorType: {Code}` and `x-amzn-RequestId`.
pub fn error_response(err: &ApiError, request_id: &str) -> Response<Bytes> {
    build_response(
        err.kind.status(),
        CONTENT_TYPE,
        request_id,
        &[(ERROR_TYPE_HEADER, err.code(Dialect::Json))],
        error_body(err),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert!(PathTemplate::parse("/model/{modelId}/converse").is_ok());
        assert!(PathTemplate::parse("/agents/{agentId}/").is_ok());
        assert!(PathTemplate::parse("/").is_ok());
        assert!(PathTemplate::parse("model").is_err());
        assert!(PathTemplate::parse("/a/{x}/{x}").is_err());
        assert!(PathTemplate::parse("/a/{x+}/{y+}").is_err());
        assert!(PathTemplate::parse("/a/pre{x}").is_err());
        assert!(PathTemplate::parse("/a//b").is_err());
        assert!(PathTemplate::parse("/a/{}").is_err());
    }

    #[test]
    fn overlap_rules() {
        let t = |s: &str| PathTemplate::parse(s).unwrap();
        assert!(t("/tags/{a}").overlaps(&t("/tags/{b}")));
        assert!(!t("/agents/{a}/").overlaps(&t("/agents/{b}")));
        assert!(t("/a/{x}").overlaps(&t("/a/lit")));
        assert!(!t("/a/{x}").overlaps(&t("/b/lit")));
        assert!(t("/o/{k+}").overlaps(&t("/o/a/b/c")));
        assert!(t("/o/{k+}/x").overlaps(&t("/o/a/b/x")));
        assert!(!t("/o/{k+}/x").overlaps(&t("/o/x")));
        assert!(!t("/o/{k+}").overlaps(&t("/o/")));
    }
}
