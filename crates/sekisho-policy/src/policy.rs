//! The policy document model and its parser.
//!
//! A document is read with the span-keeping JSON reader, checked against the
//! IAM grammar, and compiled: action patterns lower-cased, resource patterns
//! split into ARN segments, condition values read for their operator. Errors
//! name the JSON path, the line and column, and what was expected.

use std::fmt;

use crate::arn::{Arn, ArnPattern};
use crate::condition::{Condition, Operator};
use crate::context::Context;
use crate::glob::Glob;
use crate::json::{self, Limits, Span, Spanned, Value};
use crate::variables::{ArnTemplate, Template};

/// `Version` of a policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The current language: policy variables are recognised.
    V2012_10_17,
    /// The original language, also what a document without `Version` uses:
    /// `${...}` is plain text.
    V2008_10_17,
}

/// `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// The kind of a principal entry in `Principal` / `NotPrincipal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    pub fn name(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// The principals a statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone, anonymous callers included.
    Any,
    /// `{"AWS": [...], "Service": [...], ...}` in document order.
    Listed(Vec<(PrincipalKind, String)>),
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalBlock {
    pub negated: bool,
    pub principals: Principals,
}

/// One entry of `Action` / `NotAction`, compiled for case-insensitive
/// matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPattern {
    pub text: String,
    matcher: ActionMatcher,
    filter: ActionFilter,
}

/// An action pattern, lower-cased, in the shape it has: nearly every action
/// pattern is a name, `service:*`, `service:Prefix*` or `*`, matched here
/// without the general wildcard matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ActionMatcher {
    Exact(String),
    Prefix(String),
    Any,
    Glob(Glob),
}

impl ActionPattern {
    pub fn new(text: &str) -> ActionPattern {
        let lower = text.to_lowercase();
        let glob = Glob::new(&lower);
        let matcher = if glob.is_any() {
            ActionMatcher::Any
        } else if let Some(exact) = glob.as_literal() {
            ActionMatcher::Exact(exact.to_string())
        } else {
            match lower.strip_suffix('*') {
                Some(prefix) if !prefix.contains(['*', '?']) => {
                    ActionMatcher::Prefix(prefix.to_string())
                }
                _ => ActionMatcher::Glob(glob),
            }
        };
        ActionPattern {
            text: text.to_string(),
            matcher,
            filter: ActionFilter::of_pattern(&lower),
        }
    }

    /// Matches an action that the caller lower-cased.
    #[inline]
    pub fn matches_lower(&self, action_lower: &str) -> bool {
        match &self.matcher {
            ActionMatcher::Exact(name) => name == action_lower,
            ActionMatcher::Prefix(prefix) => action_lower.starts_with(prefix.as_str()),
            ActionMatcher::Any => true,
            ActionMatcher::Glob(glob) => glob.matches(action_lower),
        }
    }

    /// The service prefix, when the pattern names one without wildcards.
    pub fn service(&self) -> Option<&str> {
        let (service, _) = self.text.split_once(':')?;
        (!service.contains(['*', '?'])).then_some(service)
    }
}

/// A cheap necessary condition for an action pattern (or a block of them)
/// to match an action, checked before any string is compared.
///
/// Most statements of a realistic policy set name other actions than the
/// request's. Three 64-bit masks, a bit each chosen by hash, reject them with
/// a few integer operations: the exact name of a pattern without wildcards
/// (`bedrock:invokemodel`); the service and first letter of the name of a
/// pattern such as `bedrock:get*`; the service of one such as `bedrock:*`.
/// A false positive (two names sharing a bit) only costs the full match that
/// follows. There are no false negatives: a pattern without wildcards matches
/// only its own text, and one whose text up to the first letter after the
/// colon has no wildcard matches only actions that begin with that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ActionFilter {
    /// All ones for a filter that lets anything through (`NotAction`, a
    /// wildcard in the service part): a request's `exact` bit is never 0.
    exact: u64,
    lead: u64,
    service: u64,
}

/// What the filter looks at in a request's action, computed once per
/// request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionKey {
    /// Never 0.
    exact: u64,
    /// 0 when the action has no service prefix (or no name after it).
    lead: u64,
    service: u64,
    /// The positions of the three bits (64 for none), for the index.
    positions: [u8; 3],
}

impl ActionKey {
    /// Of an action the caller lower-cased. One pass of the hash over the
    /// text: the service's hash, continued over `:` and the first character,
    /// is the lead's, and continued to the end, the action's.
    pub(crate) fn new(action_lower: &str) -> ActionKey {
        let bytes = action_lower.as_bytes();
        let Some(colon) = bytes.iter().position(|&b| b == b':') else {
            return ActionKey::of_bits(bit(fnv1a(FNV_OFFSET, bytes)), 0, 0);
        };
        let service = fnv1a(FNV_OFFSET, &bytes[..colon]);
        let lead_end = action_lower[colon + 1..]
            .chars()
            .next()
            .map_or(colon + 1, |c| colon + 1 + c.len_utf8());
        let lead = fnv1a(service, &bytes[colon..lead_end]);
        ActionKey::of_bits(
            bit(fnv1a(lead, &bytes[lead_end..])),
            if lead_end > colon + 1 { bit(lead) } else { 0 },
            bit(service),
        )
    }

    fn of_bits(exact: u64, lead: u64, service: u64) -> ActionKey {
        ActionKey {
            exact,
            lead,
            service,
            // `trailing_zeros` of 0 is 64: no bit.
            positions: [exact, lead, service].map(|b| b.trailing_zeros() as u8),
        }
    }
}

/// `service:Name` split into the service and the text up to and including
/// the first character of the name (`None` when the name is empty).
fn split_action(text: &str) -> Option<(&str, Option<&str>)> {
    let colon = text.bytes().position(|b| b == b':')?;
    let lead = text[colon + 1..]
        .chars()
        .next()
        .map(|c| &text[..colon + 1 + c.len_utf8()]);
    Some((&text[..colon], lead))
}

impl ActionFilter {
    const ANY: ActionFilter = ActionFilter {
        exact: u64::MAX,
        lead: 0,
        service: 0,
    };

    fn of_pattern(lower: &str) -> ActionFilter {
        let wildcard = |s: &str| s.contains(['*', '?']);
        let hash = |s: &str| bit(fnv1a(FNV_OFFSET, s.as_bytes()));
        if !wildcard(lower) {
            return ActionFilter {
                exact: hash(lower),
                ..ActionFilter::default()
            };
        }
        match split_action(lower) {
            Some((_, Some(lead))) if !wildcard(lead) => ActionFilter {
                lead: hash(lead),
                ..ActionFilter::default()
            },
            Some((service, _)) if !wildcard(service) => ActionFilter {
                service: hash(service),
                ..ActionFilter::default()
            },
            _ => ActionFilter::ANY,
        }
    }

    fn union(self, other: ActionFilter) -> ActionFilter {
        ActionFilter {
            exact: self.exact | other.exact,
            lead: self.lead | other.lead,
            service: self.service | other.service,
        }
    }

    #[inline]
    pub(crate) fn may_match(self, key: ActionKey) -> bool {
        (self.exact & key.exact) | (self.lead & key.lead) | (self.service & key.service) != 0
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continued from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One bit of 64, chosen by a hash.
fn bit(hash: u64) -> u64 {
    // FNV-1a's top bits hardly depend on the last bytes (`bedrock:g` and
    // `bedrock:l` would share a bit), so mix them first (splitmix64's
    // finalizer).
    let mut z = hash;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    1 << (z >> 58)
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionBlock {
    pub negated: bool,
    pub patterns: Vec<ActionPattern>,
    /// Derived from the two fields above when the block is built.
    filter: ActionFilter,
}

impl ActionBlock {
    pub fn new(negated: bool, patterns: Vec<ActionPattern>) -> ActionBlock {
        let filter = if negated {
            // `NotAction` covers what its patterns do not match.
            ActionFilter::ANY
        } else {
            patterns
                .iter()
                .fold(ActionFilter::default(), |f, p| f.union(p.filter))
        };
        ActionBlock {
            negated,
            patterns,
            filter,
        }
    }

    /// Does the block cover the (lower-cased) action?
    pub fn covers(&self, action_lower: &str) -> bool {
        self.patterns.iter().any(|p| p.matches_lower(action_lower)) != self.negated
    }

    /// [`covers`](Self::covers) for a caller that checked the block's
    /// pre-filter: each pattern's pre-filter before its match. The
    /// evaluation hot path.
    #[inline]
    pub(crate) fn covers_prefiltered(&self, action_lower: &str, key: ActionKey) -> bool {
        self.patterns
            .iter()
            .any(|p| p.filter.may_match(key) && p.matches_lower(action_lower))
            != self.negated
    }
}

/// One entry of `Resource` / `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePattern {
    pub text: String,
    matcher: ResourceMatcher,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ResourceMatcher {
    /// `*`
    Any,
    Arn(ArnPattern),
    /// Holds policy variables: resolved per request.
    Template(ArnTemplate),
    /// Neither `*` nor an ARN: matches nothing.
    Invalid,
}

impl ResourcePattern {
    pub fn new(text: &str, variables: bool) -> ResourcePattern {
        let matcher = if text == "*" {
            ResourceMatcher::Any
        } else if let Some(t) = variables
            .then(|| Template::parse(text).ok().flatten())
            .flatten()
        {
            ResourceMatcher::Template(ArnTemplate::new(&t))
        } else {
            ArnPattern::new(text).map_or(ResourceMatcher::Invalid, ResourceMatcher::Arn)
        };
        ResourcePattern {
            text: text.to_string(),
            matcher,
        }
    }

    /// `"*"` exactly.
    pub fn is_any(&self) -> bool {
        matches!(self.matcher, ResourceMatcher::Any)
    }

    /// Matches a request's resource. The resource `*` (an action that
    /// supports no resource type) is matched only by the pattern `*`.
    pub fn matches(&self, resource: &str, ctx: &Context) -> bool {
        self.matches_arn(resource, Arn::parse(resource).as_ref(), ctx)
    }

    /// [`matches`](Self::matches) with the resource already split into an
    /// ARN (`None` when it is not one), so that a request's ARN is parsed
    /// once, not once per pattern.
    pub(crate) fn matches_arn(&self, resource: &str, arn: Option<&Arn<'_>>, ctx: &Context) -> bool {
        match &self.matcher {
            ResourceMatcher::Any => true,
            _ if resource == "*" => false,
            ResourceMatcher::Arn(p) => arn.is_some_and(|a| p.matches(a)),
            ResourceMatcher::Template(t) => {
                arn.is_some_and(|a| t.matches_resource(ctx, resource, a))
            }
            ResourceMatcher::Invalid => false,
        }
    }
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceBlock {
    pub negated: bool,
    pub patterns: Vec<ResourcePattern>,
}

impl ResourceBlock {
    pub fn covers(&self, resource: &str, ctx: &Context) -> bool {
        self.covers_arn(resource, Arn::parse(resource).as_ref(), ctx)
    }

    /// [`covers`](Self::covers) with the resource already split into an ARN.
    #[inline]
    pub(crate) fn covers_arn(&self, resource: &str, arn: Option<&Arn<'_>>, ctx: &Context) -> bool {
        self.patterns
            .iter()
            .any(|p| p.matches_arn(resource, arn, ctx))
            != self.negated
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` list (0 when `Statement` is an object).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalBlock>,
    pub action: ActionBlock,
    /// Absent in trust policies written without `Resource`.
    pub resource: Option<ResourceBlock>,
    pub conditions: Vec<Condition>,
    pub span: Span,
}

impl Statement {
    /// How a person refers to the statement: its Sid, or its index.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement '{sid}'"),
            _ => format!("statement #{}", self.index),
        }
    }
}

/// A parsed and compiled policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A name for explanations (a file name, a managed policy's name).
    pub name: Option<String>,
    pub version: Version,
    /// `Version` was present in the document.
    pub version_given: bool,
    pub id: Option<String>,
    pub statements: Statements,
}

/// The statements of a policy, in document order.
///
/// Read-only (it dereferences to a slice of [`Statement`]) because it also
/// holds what evaluation derives from the statements: each statement's
/// action pre-filter and a few facts about it, and an index from the
/// pre-filters' bits to the statements, so that a request looks only at the
/// statements that may name its action. Being built together and never
/// changed, they cannot disagree.
#[derive(Clone, PartialEq)]
pub struct Statements {
    list: Vec<Statement>,
    /// One per statement, same order.
    prefilter: Vec<Prefilter>,
    /// `None` with more statements than the index has bits for (then every
    /// pre-filter is checked).
    index: Option<ActionIndex>,
}

/// Statements by the bits of their action pre-filters, as bitmaps of
/// statement positions: a request's candidates are the union of four
/// bitmaps, iterated in statement order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ActionIndex {
    /// Statements whose pre-filter lets any action through.
    any: u128,
    exact: BitTable,
    lead: BitTable,
    service: BitTable,
}

/// Statements per bit position, stored only for the positions in use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BitTable {
    /// Per bit position (and one more, for "no bit"): where its bitmap is in
    /// `statements`, or `NONE`. A table, not a rank computed with a
    /// population count, which the baseline x86-64 target does in software.
    slot: [u8; 65],
    statements: Vec<u128>,
}

const NONE: u8 = u8::MAX;

impl Default for BitTable {
    fn default() -> BitTable {
        BitTable {
            slot: [NONE; 65],
            statements: Vec::new(),
        }
    }
}

impl BitTable {
    fn insert(&mut self, mask: u64, position: usize) {
        let mut rest = mask;
        while rest != 0 {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.slot[bit] == NONE {
                // At most 64 positions: the slot fits in a byte.
                self.slot[bit] = self.statements.len() as u8;
                self.statements.push(0);
            }
            self.statements[usize::from(self.slot[bit])] |= 1 << position;
        }
    }

    /// The statements at bit position `bit` (64: none).
    #[inline]
    fn get(&self, bit: u8) -> u128 {
        match self.slot[usize::from(bit)] {
            NONE => 0,
            slot => self.statements[usize::from(slot)],
        }
    }
}

impl ActionIndex {
    fn new(prefilter: &[Prefilter]) -> Option<ActionIndex> {
        if prefilter.len() > u128::BITS as usize {
            return None;
        }
        let mut index = ActionIndex::default();
        for (position, pre) in prefilter.iter().enumerate() {
            let f = pre.action;
            if f.exact == u64::MAX {
                index.any |= 1 << position;
            } else {
                index.exact.insert(f.exact, position);
                index.lead.insert(f.lead, position);
                index.service.insert(f.service, position);
            }
        }
        Some(index)
    }

    #[inline]
    fn candidates(&self, key: ActionKey) -> u128 {
        let [exact, lead, service] = key.positions;
        self.any | self.exact.get(exact) | self.lead.get(lead) | self.service.get(service)
    }
}

/// What a request must pass before a statement is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prefilter {
    pub(crate) action: ActionFilter,
    pub(crate) allow: bool,
    /// The statement applies to any resource (`"*"` among its `Resource`,
    /// or no `Resource` at all): the resource need not be looked at.
    pub(crate) any_resource: bool,
}

impl Statements {
    fn new(list: Vec<Statement>) -> Statements {
        let prefilter =
            list.iter()
                .map(|s| Prefilter {
                    action: s.action.filter,
                    allow: s.effect == Effect::Allow,
                    any_resource: s.resource.as_ref().is_none_or(|r| {
                        !r.negated && r.patterns.iter().any(ResourcePattern::is_any)
                    }),
                })
                .collect::<Vec<_>>();
        Statements {
            index: ActionIndex::new(&prefilter),
            list,
            prefilter,
        }
    }

    /// The statements (with their pre-filters) that may name the action,
    /// in document order.
    #[inline]
    pub(crate) fn candidates(&self, key: ActionKey) -> Candidates<'_> {
        Candidates {
            statements: self,
            key,
            next: match &self.index {
                Some(index) => Next::Bits(index.candidates(key)),
                None => Next::Scan(0),
            },
        }
    }
}

/// See [`Statements::candidates`].
pub(crate) struct Candidates<'s> {
    statements: &'s Statements,
    key: ActionKey,
    next: Next,
}

enum Next {
    /// The candidates' positions not yet returned.
    Bits(u128),
    /// No index: the next position whose pre-filter to check.
    Scan(usize),
}

impl<'s> Iterator for Candidates<'s> {
    type Item = (&'s Prefilter, &'s Statement);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.statements;
        let i = match &mut self.next {
            Next::Bits(bits) => {
                if *bits == 0 {
                    return None;
                }
                let i = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                i
            }
            Next::Scan(from) => {
                let offset = s.prefilter[*from..]
                    .iter()
                    .position(|pre| pre.action.may_match(self.key))?;
                let i = *from + offset;
                *from = i + 1;
                i
            }
        };
        Some((&s.prefilter[i], &s.list[i]))
    }
}

impl std::ops::Deref for Statements {
    type Target = [Statement];

    fn deref(&self) -> &[Statement] {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Statements {
    type Item = &'a Statement;
    type IntoIter = std::slice::Iter<'a, Statement>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl fmt::Debug for Statements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.list.fmt(f)
    }
}

/// Why a policy document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// JSON path of the offending element, such as `Statement[0].Action`.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            write!(
                f,
                "{} (line {}, column {}): {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ParseError {}

impl Policy {
    /// Parses a document with the default limits.
    pub fn parse(input: &[u8]) -> Result<Policy, ParseError> {
        Policy::parse_with(input, &Limits::default())
    }

    /// Parses a document within `limits`.
    pub fn parse_with(input: &[u8], limits: &Limits) -> Result<Policy, ParseError> {
        let root = json::parse(input, limits).map_err(|e| ParseError {
            path: String::new(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        // The reader accepted the bytes, so they are UTF-8.
        let source = std::str::from_utf8(input).unwrap_or("");
        Parser { source }.document(&root)
    }

    /// Parses a `serde_json::Value` (for documents embedded in other JSON).
    pub fn from_value(value: &serde_json::Value) -> Result<Policy, ParseError> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        Policy::parse(text.as_bytes())
    }

    /// Sets the name used in explanations.
    pub fn named(mut self, name: impl Into<String>) -> Policy {
        self.name = Some(name.into());
        self
    }

    /// How a person refers to the policy.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("policy")
    }
}

struct Parser<'s> {
    source: &'s str,
}

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Parser<'_> {
    fn error(&self, path: &str, span: Span, message: impl Into<String>) -> ParseError {
        let (line, column) = json::line_col(self.source, span.start);
        ParseError {
            path: path.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Spanned<Value>,
        path: &str,
        allowed: &[&str],
        what: &str,
    ) -> Result<Vec<(&'v str, &'v Spanned<Value>)>, ParseError> {
        let Value::Object(members) = &value.value else {
            return Err(self.error(
                path,
                value.span,
                format!(
                    "expected {what} (a JSON object), found {}",
                    value.value.kind()
                ),
            ));
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for (key, val) in members {
            let name = key.value.as_str();
            let child = join(path, name);
            if !allowed.is_empty() && !allowed.contains(&name) {
                let hint = allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(name))
                    .map(|a| format!("; element names are case-sensitive: did you mean '{a}'?"))
                    .unwrap_or_else(|| format!("; expected one of {}", allowed.join(", ")));
                return Err(self.error(
                    &child,
                    key.span,
                    format!("unknown element '{name}'{hint}"),
                ));
            }
            if seen.contains(&name) {
                return Err(self.error(
                    &child,
                    key.span,
                    format!("duplicate element '{name}'; each element may appear once"),
                ));
            }
            seen.push(name);
            out.push((name, val));
        }
        Ok(out)
    }

    fn string<'v>(&self, value: &'v Spanned<Value>, path: &str) -> Result<&'v str, ParseError> {
        match &value.value {
            Value::String(s) => Ok(s),
            other => Err(self.error(
                path,
                value.span,
                format!("expected a string, found {}", other.kind()),
            )),
        }
    }

    /// A string or a non-empty array of strings.
    fn strings(&self, value: &Spanned<Value>, path: &str) -> Result<Vec<String>, ParseError> {
        match &value.value {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) if items.is_empty() => Err(self.error(
                path,
                value.span,
                "expected a string or a non-empty array of strings, found an empty array",
            )),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    self.string(item, &format!("{path}[{i}]"))
                        .map(str::to_string)
                })
                .collect(),
            other => Err(self.error(
                path,
                value.span,
                format!(
                    "expected a string or an array of strings, found {}",
                    other.kind()
                ),
            )),
        }
    }

    fn document(&self, root: &Spanned<Value>) -> Result<Policy, ParseError> {
        let members = self.object(root, "", TOP_LEVEL, "a policy document")?;
        let mut version = Version::V2008_10_17;
        let mut version_given = false;
        let mut id = None;
        let mut statements_value = None;
        for (name, value) in &members {
            match *name {
                "Version" => {
                    version_given = true;
                    version = match self.string(value, "Version")? {
                        "2012-10-17" => Version::V2012_10_17,
                        "2008-10-17" => Version::V2008_10_17,
                        other => {
                            return Err(self.error(
                                "Version",
                                value.span,
                                format!(
                                    "unsupported Version '{other}'; expected \"2012-10-17\" (or the older \"2008-10-17\")"
                                ),
                            ));
                        }
                    }
                }
                "Id" => id = Some(self.string(value, "Id")?.to_string()),
                _ => statements_value = Some(*value),
            }
        }
        let Some(statements_value) = statements_value else {
            return Err(self.error("", root.span, "missing required element 'Statement'"));
        };
        let variables = version == Version::V2012_10_17;
        let statements = match &statements_value.value {
            // An empty list is valid and grants nothing; the linter reports it.
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, s)| self.statement(s, i, &format!("Statement[{i}]"), variables))
                .collect::<Result<Vec<_>, _>>()?,
            Value::Object(_) => {
                vec![self.statement(statements_value, 0, "Statement", variables)?]
            }
            other => {
                return Err(self.error(
                    "Statement",
                    statements_value.span,
                    format!(
                        "expected a statement object or an array of them, found {}",
                        other.kind()
                    ),
                ));
            }
        };
        Ok(Policy {
            name: None,
            version,
            version_given,
            id,
            statements: Statements::new(statements),
        })
    }

    fn statement(
        &self,
        value: &Spanned<Value>,
        index: usize,
        path: &str,
        variables: bool,
    ) -> Result<Statement, ParseError> {
        let members = self.object(value, path, STATEMENT_KEYS, "a statement")?;
        let get = |name: &str| members.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let exclusive = |a: &str, b: &str| -> Result<Option<(bool, &Spanned<Value>)>, ParseError> {
            match (get(a), get(b)) {
                (Some(_), Some(v)) => Err(self.error(
                    &join(path, b),
                    v.span,
                    format!("a statement may have '{a}' or '{b}', not both"),
                )),
                (Some(v), None) => Ok(Some((false, v))),
                (None, Some(v)) => Ok(Some((true, v))),
                (None, None) => Ok(None),
            }
        };

        let sid = get("Sid")
            .map(|v| self.string(v, &join(path, "Sid")).map(str::to_string))
            .transpose()?;
        let effect = match get("Effect") {
            None => return Err(self.error(path, value.span, "missing required element 'Effect'")),
            Some(v) => match self.string(v, &join(path, "Effect"))? {
                "Allow" => Effect::Allow,
                "Deny" => Effect::Deny,
                other => {
                    return Err(self.error(
                        &join(path, "Effect"),
                        v.span,
                        format!(
                            "expected \"Allow\" or \"Deny\" (case-sensitive), found \"{other}\""
                        ),
                    ));
                }
            },
        };
        let principal = exclusive("Principal", "NotPrincipal")?
            .map(|(negated, v)| {
                let name = if negated { "NotPrincipal" } else { "Principal" };
                self.principals(v, &join(path, name))
                    .map(|principals| PrincipalBlock {
                        negated,
                        principals,
                    })
            })
            .transpose()?;
        let action = match exclusive("Action", "NotAction")? {
            None => {
                return Err(self.error(
                    path,
                    value.span,
                    "missing required element 'Action' (or 'NotAction')",
                ));
            }
            Some((negated, v)) => {
                let name = if negated { "NotAction" } else { "Action" };
                ActionBlock::new(
                    negated,
                    self.strings(v, &join(path, name))?
                        .iter()
                        .map(|a| ActionPattern::new(a))
                        .collect(),
                )
            }
        };
        let resource = exclusive("Resource", "NotResource")?
            .map(|(negated, v)| {
                let name = if negated { "NotResource" } else { "Resource" };
                self.strings(v, &join(path, name))
                    .map(|list| ResourceBlock {
                        negated,
                        patterns: list
                            .iter()
                            .map(|r| ResourcePattern::new(r, variables))
                            .collect(),
                    })
            })
            .transpose()?;
        let conditions = match get("Condition") {
            None => Vec::new(),
            Some(v) => self.conditions(v, &join(path, "Condition"), variables)?,
        };
        Ok(Statement {
            index,
            sid,
            effect,
            principal,
            action,
            resource,
            conditions,
            span: value.span,
        })
    }

    fn principals(&self, value: &Spanned<Value>, path: &str) -> Result<Principals, ParseError> {
        match &value.value {
            Value::String(s) if s == "*" => Ok(Principals::Any),
            // AWS documents only "*" here, but tools and older documents
            // write a bare ARN or account; it means {"AWS": ...}. The linter
            // reports it.
            Value::String(s) => Ok(Principals::Listed(vec![(PrincipalKind::Aws, s.clone())])),
            Value::Object(_) => {
                let members = self.object(
                    value,
                    path,
                    &["AWS", "Service", "Federated", "CanonicalUser"],
                    "a principal map",
                )?;
                let mut out = Vec::new();
                for (name, v) in members {
                    let kind = match name {
                        "AWS" => PrincipalKind::Aws,
                        "Service" => PrincipalKind::Service,
                        "Federated" => PrincipalKind::Federated,
                        _ => PrincipalKind::CanonicalUser,
                    };
                    for p in self.strings(v, &join(path, name))? {
                        out.push((kind, p));
                    }
                }
                if out.is_empty() {
                    return Err(self.error(
                        path,
                        value.span,
                        "the principal map names no principal",
                    ));
                }
                Ok(Principals::Listed(out))
            }
            other => Err(self.error(
                path,
                value.span,
                format!("expected \"*\" or a principal map, found {}", other.kind()),
            )),
        }
    }

    fn conditions(
        &self,
        value: &Spanned<Value>,
        path: &str,
        variables: bool,
    ) -> Result<Vec<Condition>, ParseError> {
        let mut out = Vec::new();
        for (op_name, keys) in self.object(value, path, &[], "a Condition block")? {
            let op_path = join(path, op_name);
            let Some(operator) = Operator::parse(op_name) else {
                let key_span = match &value.value {
                    Value::Object(m) => m
                        .iter()
                        .find(|(k, _)| k.value == op_name)
                        .map_or(value.span, |(k, _)| k.span),
                    _ => value.span,
                };
                let hint = crate::lint::suggest_operator(op_name)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                return Err(self.error(
                    &op_path,
                    key_span,
                    format!("unknown condition operator '{op_name}'{hint}"),
                ));
            };
            for (key, values) in
                self.object(keys, &op_path, &[], "a map of condition keys to values")?
            {
                let key_path = join(&op_path, key);
                let raw = self.condition_values(values, &key_path)?;
                out.push(Condition::new(operator, key, raw, variables));
            }
        }
        Ok(out)
    }

    /// Condition values: strings, numbers or booleans, alone or in an array.
    fn condition_values(
        &self,
        value: &Spanned<Value>,
        path: &str,
    ) -> Result<Vec<String>, ParseError> {
        let scalar = |v: &Spanned<Value>, p: &str| -> Result<String, ParseError> {
            match &v.value {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(self.error(
                    p,
                    v.span,
                    format!(
                        "expected a string, number or boolean condition value, found {}",
                        other.kind()
                    ),
                )),
            }
        };
        match &value.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| scalar(item, &format!("{path}[{i}]")))
                .collect(),
            _ => Ok(vec![scalar(value, path)?]),
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Policy, ParseError> {
        Policy::parse(s.as_bytes())
    }

    #[test]
    fn parses_a_full_statement() {
        let p = parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"A","Effect":"Allow",
            "Principal":{"AWS":["arn:aws:iam::123456789012:root","111122223333"],"Service":"bedrock.amazonaws.com"},
            "Action":["bedrock:InvokeModel","bedrock:Converse*"],"Resource":"arn:aws:bedrock:*::foundation-model/*",
            "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","ap-northeast-1"]},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}]}"#,
        )
        .unwrap();
        assert_eq!(p.version, Version::V2012_10_17);
        let s = &p.statements[0];
        assert_eq!(s.sid.as_deref(), Some("A"));
        assert_eq!(s.effect, Effect::Allow);
        let Some(PrincipalBlock {
            negated: false,
            principals: Principals::Listed(list),
        }) = &s.principal
        else {
            panic!("listed principals expected")
        };
        assert_eq!(list.len(), 3);
        assert!(s.action.covers("bedrock:conversestream"));
        assert_eq!(s.conditions.len(), 3);
        assert_eq!(s.conditions[1].values[0].raw, "true");
        assert_eq!(s.conditions[2].values[0].raw, "3600");
    }

    #[test]
    fn prefilters_never_hide_a_match() {
        let patterns = [
            "*",
            "s3:*",
            "s3:Get*",
            "s3:GetObject",
            "s3:G?tObject",
            "s3:*Object",
            "s?:GetObject",
            "S3:GETOBJECT",
            "bedrock:Invoke*",
            "bedrock:InvokeModel",
            "bedrock:",
            "bedrock*",
            "*:GetObject",
            "iam",
            "",
            "kms:Décrypt",
        ];
        let actions = [
            "s3:getobject",
            "s3:getobjectacl",
            "s3:putobject",
            "s3:",
            "s3",
            "bedrock:invokemodel",
            "bedrock:",
            "bedrockx:invokemodel",
            "iam",
            "",
            "kms:décrypt",
            "kms:dé",
        ];
        for negated in [false, true] {
            for a in patterns {
                for b in patterns {
                    let block = ActionBlock::new(
                        negated,
                        vec![ActionPattern::new(a), ActionPattern::new(b)],
                    );
                    for action in actions {
                        let key = ActionKey::new(action);
                        let fast =
                            block.filter.may_match(key) && block.covers_prefiltered(action, key);
                        let slow = block.covers(action);
                        assert_eq!(
                            fast, slow,
                            "{a:?}, {b:?} (negated: {negated}) on {action:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn candidates_are_every_statement_that_covers_the_action() {
        let patterns = [
            "s3:GetObject",
            "s3:Get*",
            "s3:*",
            "kms:Decrypt",
            "*",
            "*:Decrypt",
            "bedrock:Invoke*",
            "S3:PUTOBJECT",
            "iam:?assRole",
        ];
        let actions = [
            "s3:getobject",
            "s3:putobject",
            "kms:decrypt",
            "bedrock:invokemodel",
            "iam:passrole",
            "sts:assumerole",
        ];
        // 40 statements use the index; 200 are past its 128 bits and are
        // scanned.
        for count in [40, 200] {
            let statements: Vec<String> = (0..count)
                .map(|i| {
                    let a = patterns[i % patterns.len()];
                    let b = patterns[(i * 7 + 3) % patterns.len()];
                    let key = if i % 11 == 0 { "NotAction" } else { "Action" };
                    format!(r#"{{"Effect":"Allow","{key}":["{a}","{b}"],"Resource":"*"}}"#)
                })
                .collect();
            let doc = format!(r#"{{"Statement":[{}]}}"#, statements.join(","));
            let policy = parse(&doc).unwrap();
            assert_eq!(policy.statements.index.is_some(), count <= 128);
            for action in actions {
                let key = ActionKey::new(action);
                let fast: Vec<usize> = policy
                    .statements
                    .candidates(key)
                    .filter(|(_, s)| s.action.covers_prefiltered(action, key))
                    .map(|(_, s)| s.index)
                    .collect();
                let slow: Vec<usize> = policy
                    .statements
                    .iter()
                    .filter(|s| s.action.covers(action))
                    .map(|s| s.index)
                    .collect();
                assert_eq!(fast, slow, "{count} statements, {action}");
            }
        }
    }

    #[test]
    fn statement_may_be_an_object_and_version_may_be_absent() {
        let p = parse(r#"{"Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"*"}}"#)
            .unwrap();
        assert_eq!(p.version, Version::V2008_10_17);
        assert!(!p.version_given);
        assert!(p.statements[0].action.negated);
        assert!(p.statements[0].resource.as_ref().unwrap().negated);
    }

    #[test]
    fn errors_name_path_line_and_expectation() {
        let e = parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\n\"Effect\":\"allow\",\"Action\":\"s3:*\"}]}").unwrap_err();
        assert_eq!(e.path, "Statement[0].Effect");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("\"Allow\" or \"Deny\""), "{e}");

        let e = parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringEqual":{"a":"b"}}}]}"#).unwrap_err();
        assert_eq!(e.path, "Statement[0].Condition.StringEqual");
        assert!(e.message.contains("did you mean 'StringEquals'"), "{e}");

        let e = parse(r#"{"Statement":[{"Effect":"Allow","action":"s3:*"}]}"#).unwrap_err();
        assert!(
            e.message.contains("case-sensitive: did you mean 'Action'"),
            "{e}"
        );

        let e =
            parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*"}]}"#)
                .unwrap_err();
        assert!(e.message.contains("not both"), "{e}");

        let e =
            parse(r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#).unwrap_err();
        assert!(e.message.contains("empty array"), "{e}");

        let e = parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Principal":5}]}"#)
            .unwrap_err();
        assert!(
            e.message.contains("expected \"*\" or a principal map"),
            "{e}"
        );

        let e =
            parse(r#"{"Version":"2012-10-17","Version":"2012-10-17","Statement":{}}"#).unwrap_err();
        assert!(e.message.contains("duplicate element"), "{e}");

        let e = parse(r#"{"Version":"2024-01-01","Statement":{}}"#).unwrap_err();
        assert!(e.message.contains("unsupported Version"), "{e}");

        let e = parse(r#"{"Version":"2012-10-17"}"#).unwrap_err();
        assert!(
            e.message.contains("missing required element 'Statement'"),
            "{e}"
        );

        let e = parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"k":[null]}}}]}"#).unwrap_err();
        assert_eq!(e.path, "Statement[0].Condition.StringEquals.k[0]");

        let e = parse("[]").unwrap_err();
        assert!(e.message.contains("policy document"), "{e}");
    }
}
