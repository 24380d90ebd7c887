//! Condition operators and their evaluation.
//!
//! A `Condition` block is a conjunction: every operator, and every key under
//! it, must hold. For one key, a positive operator holds when the request
//! value matches any policy value; a negated operator (`StringNotEquals`,
//! `NotIpAddress`, ...) holds when it matches none. Values that cannot be
//! read for the operator (a malformed date, an unresolvable variable) match
//! nothing, and a negated operator with nothing readable to compare does not
//! hold either: a broken condition never grants by accident.

use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;

use crate::arn::{Arn, ArnPattern};
use crate::context::{Context, ContextValue, KeyHash};
use crate::glob::Glob;
use crate::variables::{ArnTemplate, Template, TemplatePattern};

/// The comparison an operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use OperatorKind as K;

/// Every operator, with its name as written in policies.
pub const OPERATORS: &[(&str, OperatorKind)] = &[
    ("StringEquals", K::StringEquals),
    ("StringNotEquals", K::StringNotEquals),
    ("StringEqualsIgnoreCase", K::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", K::StringNotEqualsIgnoreCase),
    ("StringLike", K::StringLike),
    ("StringNotLike", K::StringNotLike),
    ("NumericEquals", K::NumericEquals),
    ("NumericNotEquals", K::NumericNotEquals),
    ("NumericLessThan", K::NumericLessThan),
    ("NumericLessThanEquals", K::NumericLessThanEquals),
    ("NumericGreaterThan", K::NumericGreaterThan),
    ("NumericGreaterThanEquals", K::NumericGreaterThanEquals),
    ("DateEquals", K::DateEquals),
    ("DateNotEquals", K::DateNotEquals),
    ("DateLessThan", K::DateLessThan),
    ("DateLessThanEquals", K::DateLessThanEquals),
    ("DateGreaterThan", K::DateGreaterThan),
    ("DateGreaterThanEquals", K::DateGreaterThanEquals),
    ("Bool", K::Bool),
    ("BinaryEquals", K::BinaryEquals),
    ("IpAddress", K::IpAddress),
    ("NotIpAddress", K::NotIpAddress),
    ("ArnEquals", K::ArnEquals),
    ("ArnLike", K::ArnLike),
    ("ArnNotEquals", K::ArnNotEquals),
    ("ArnNotLike", K::ArnNotLike),
    ("Null", K::Null),
];

impl OperatorKind {
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }

    /// Holds when the request value matches none of the policy values.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            K::StringNotEquals
                | K::StringNotEqualsIgnoreCase
                | K::StringNotLike
                | K::NumericNotEquals
                | K::DateNotEquals
                | K::NotIpAddress
                | K::ArnNotEquals
                | K::ArnNotLike
        )
    }

    /// The family of values it compares, which decides how values are read.
    pub fn family(self) -> Family {
        match self {
            K::StringEquals | K::StringNotEquals => Family::String,
            K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => Family::StringIgnoreCase,
            K::StringLike | K::StringNotLike => Family::StringLike,
            K::NumericEquals
            | K::NumericNotEquals
            | K::NumericLessThan
            | K::NumericLessThanEquals
            | K::NumericGreaterThan
            | K::NumericGreaterThanEquals => Family::Numeric,
            K::DateEquals
            | K::DateNotEquals
            | K::DateLessThan
            | K::DateLessThanEquals
            | K::DateGreaterThan
            | K::DateGreaterThanEquals => Family::Date,
            K::Bool => Family::Bool,
            K::BinaryEquals => Family::Binary,
            K::IpAddress | K::NotIpAddress => Family::Ip,
            K::ArnEquals | K::ArnLike | K::ArnNotEquals | K::ArnNotLike => Family::Arn,
            K::Null => Family::Null,
        }
    }

    /// AWS allows policy variables in the values of these operators only.
    pub fn allows_variables(self) -> bool {
        matches!(
            self.family(),
            Family::String
                | Family::StringIgnoreCase
                | Family::StringLike
                | Family::Arn
                | Family::Bool
        )
    }
}

/// How an operator reads its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// `ForAllValues:` / `ForAnyValue:` for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// An operator as written: qualifier, comparison and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub qualifier: Option<SetQualifier>,
    pub kind: OperatorKind,
    pub if_exists: bool,
}

impl Operator {
    /// Reads an operator name such as `ForAnyValue:StringLikeIfExists`.
    /// Operator names are case-sensitive in IAM, qualifiers too.
    pub fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = OPERATORS.iter().find(|(n, _)| *n == base)?.1;
        if kind == K::Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(Operator {
            qualifier,
            kind,
            if_exists,
        })
    }

    pub fn name(&self) -> String {
        let q = match self.qualifier {
            Some(SetQualifier::ForAllValues) => "ForAllValues:",
            Some(SetQualifier::ForAnyValue) => "ForAnyValue:",
            None => "",
        };
        let e = if self.if_exists { "IfExists" } else { "" };
        format!("{q}{}{e}", self.kind.name())
    }
}

/// A policy value read once, at compile time, for its operator.
#[derive(Debug, Clone, PartialEq)]
enum Compiled {
    Str(String),
    Lower(String),
    Glob(Glob),
    Number(f64),
    Date(i128),
    Bool(bool),
    Bytes(Vec<u8>),
    Net(IpNet),
    Arn(ArnPattern),
    /// A value holding policy variables, compiled for matching in place
    /// (String and StringLike operators).
    Pattern(TemplatePattern),
    /// An ARN value holding policy variables (Arn operators).
    ArnTemplate(ArnTemplate),
    /// Unreadable for the operator: matches nothing. Also what a value
    /// holding variables compiles to for the other operators: it is resolved
    /// and read per request.
    Invalid,
}

/// One value of a condition, as written and as compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionValue {
    /// The value as written (numbers and booleans as their JSON text).
    pub raw: String,
    /// Set when the value holds policy variables: resolved per request.
    pub template: Option<Template>,
    compiled: Compiled,
}

/// One `operator: { key: values }` entry of a Condition block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written.
    pub key: String,
    pub key_lower: String,
    pub values: Vec<ConditionValue>,
    /// Of `key_lower`, for the context look-up.
    key_hash: KeyHash,
    /// `operator.kind.family()` and `.is_negated()`, read once.
    family: Family,
    negated: bool,
    /// No value holds a policy variable.
    plain: bool,
}

impl Condition {
    /// Builds a condition; `variables` says whether `${...}` is recognised
    /// (Version 2012-10-17).
    pub fn new(
        operator: Operator,
        key: &str,
        raw_values: Vec<String>,
        variables: bool,
    ) -> Condition {
        let family = operator.kind.family();
        let values: Vec<ConditionValue> = raw_values
            .into_iter()
            .map(|raw| {
                // A malformed variable is taken as literal text; the linter
                // reports it.
                let template = if variables && operator.kind.allows_variables() {
                    Template::parse(&raw).ok().flatten()
                } else {
                    None
                };
                let compiled = match &template {
                    None => compile_value(family, &raw),
                    Some(t) => match family {
                        Family::String => Compiled::Pattern(TemplatePattern::new(t, false)),
                        Family::StringLike => Compiled::Pattern(TemplatePattern::new(t, true)),
                        Family::Arn => Compiled::ArnTemplate(ArnTemplate::new(t)),
                        _ => Compiled::Invalid,
                    },
                };
                ConditionValue {
                    raw,
                    template,
                    compiled,
                }
            })
            .collect();
        let key_lower = key.to_ascii_lowercase();
        let plain = values.iter().all(|v| v.template.is_none());
        Condition {
            operator,
            key: key.to_string(),
            key_hash: KeyHash::of_lower(&key_lower),
            key_lower,
            values,
            family,
            negated: operator.kind.is_negated(),
            plain,
        }
    }

    /// Evaluates the condition against the request context.
    pub fn evaluate(&self, ctx: &Context) -> bool {
        let op = self.operator;
        let present = ctx.get_hashed(&self.key_lower, self.key_hash);
        if op.kind == K::Null {
            // Null: "true" asks for the key to be absent, "false" present.
            // (Null values were read as booleans at compile time.)
            let is_absent = present.is_none_or(|v| v.values().is_empty());
            return self
                .values
                .iter()
                .any(|v| matches!(v.compiled, Compiled::Bool(b) if b == is_absent));
        }
        let Some(value) = present else {
            // A missing key: IfExists holds, ForAllValues holds vacuously,
            // ForAnyValue fails; otherwise a negated operator holds (nothing
            // matches) and a positive one fails.
            return match op.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => op.if_exists,
                None => op.if_exists || self.negated,
            };
        };
        let request_values = value.values();
        match op.qualifier {
            Some(SetQualifier::ForAllValues) => {
                request_values.iter().all(|rv| self.single(rv, ctx))
            }
            Some(SetQualifier::ForAnyValue) => request_values.iter().any(|rv| self.single(rv, ctx)),
            None => match value {
                ContextValue::Single(rv) => self.single(rv, ctx),
                // A single-valued operator on a multivalued key: holds when
                // any value does, like ForAnyValue. An empty set holds
                // nothing.
                ContextValue::Multi(values) => values.iter().any(|rv| self.single(rv, ctx)),
            },
        }
    }

    /// One request value against all policy values.
    fn single(&self, request: &str, ctx: &Context) -> bool {
        // The operators nearly every condition uses, with values without
        // variables: compared directly, without the general reading of the
        // request value for its family.
        if self.plain {
            match self.family {
                Family::String => {
                    return self.plain_match(|c| match c {
                        Compiled::Str(p) => Some(p == request),
                        _ => None,
                    });
                }
                Family::StringLike => {
                    return self.plain_match(|c| match c {
                        Compiled::Glob(g) => Some(g.matches(request)),
                        _ => None,
                    });
                }
                Family::Bool => {
                    let Some(request) = parse_bool(request) else {
                        return false;
                    };
                    return self.plain_match(|c| match c {
                        Compiled::Bool(p) => Some(*p == request),
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        let (kind, family) = (self.operator.kind, self.family);
        let Some(request) = RequestValue::read(family, request) else {
            return false;
        };
        let mut readable = 0usize;
        let mut matched = false;
        for value in &self.values {
            // `None`: the value cannot be read for this request (an
            // unresolvable variable, a malformed value) and is skipped.
            let outcome = match (&value.template, &value.compiled, &request) {
                (Some(_), Compiled::Pattern(p), RequestValue::Str(r)) => p.matches(ctx, r),
                (Some(_), Compiled::ArnTemplate(t), RequestValue::Arn(a)) => t.matches(ctx, a),
                (Some(t), _, _) => {
                    let resolved = resolve(family, t, ctx);
                    (resolved != Compiled::Invalid).then(|| compare(kind, &request, &resolved))
                }
                (None, Compiled::Invalid, _) => None,
                (None, compiled, _) => Some(compare(kind, &request, compiled)),
            };
            let Some(hit) = outcome else { continue };
            readable += 1;
            if hit {
                matched = true;
                break;
            }
        }
        if self.negated {
            readable > 0 && !matched
        } else {
            matched
        }
    }
}

impl Condition {
    /// [`single`](Self::single) over values without variables: `test` says
    /// whether a policy value matches, `None` when it is unreadable. A
    /// positive operator holds when any value matches; a negated one when
    /// none does and at least one was readable.
    fn plain_match(&self, test: impl Fn(&Compiled) -> Option<bool>) -> bool {
        let mut readable = false;
        for value in &self.values {
            match test(&value.compiled) {
                Some(true) => return !self.negated,
                Some(false) => readable = true,
                None => {}
            }
        }
        self.negated && readable
    }
}

/// A request value read for an operator family.
enum RequestValue<'a> {
    Str(&'a str),
    Number(f64),
    Date(i128),
    Bool(bool),
    Bytes(Vec<u8>),
    Ip(IpAddr),
    Arn(Arn<'a>),
}

impl<'a> RequestValue<'a> {
    fn read(family: Family, text: &'a str) -> Option<RequestValue<'a>> {
        Some(match family {
            Family::String | Family::StringIgnoreCase | Family::StringLike => {
                RequestValue::Str(text)
            }
            Family::Numeric => RequestValue::Number(parse_number(text)?),
            Family::Date => RequestValue::Date(parse_date(text)?),
            Family::Bool => RequestValue::Bool(parse_bool(text)?),
            Family::Binary => RequestValue::Bytes(parse_base64(text)?),
            Family::Ip => RequestValue::Ip(text.trim().parse().ok()?),
            Family::Arn => RequestValue::Arn(Arn::parse(text)?),
            Family::Null => return None,
        })
    }
}

fn compare(kind: OperatorKind, request: &RequestValue<'_>, policy: &Compiled) -> bool {
    match (request, policy) {
        (RequestValue::Str(r), Compiled::Str(p)) => *r == p,
        (RequestValue::Str(r), Compiled::Lower(p)) => r.to_lowercase() == *p,
        (RequestValue::Str(r), Compiled::Glob(g)) => g.matches(r),
        (RequestValue::Number(r), Compiled::Number(p)) => ordered(kind, r.partial_cmp(p)),
        (RequestValue::Date(r), Compiled::Date(p)) => ordered(kind, Some(r.cmp(p))),
        (RequestValue::Bool(r), Compiled::Bool(p)) => r == p,
        (RequestValue::Bytes(r), Compiled::Bytes(p)) => r == p,
        (RequestValue::Ip(ip), Compiled::Net(net)) => net.contains(ip),
        (RequestValue::Arn(arn), Compiled::Arn(p)) => p.matches(arn),
        _ => false,
    }
}

/// Numeric and date operators: does the ordering satisfy the operator?
/// Negated operators compare for equality; the caller inverts.
fn ordered(kind: OperatorKind, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(ord) = ord else { return false };
    match kind {
        K::NumericEquals | K::NumericNotEquals | K::DateEquals | K::DateNotEquals => ord == Equal,
        K::NumericLessThan | K::DateLessThan => ord == Less,
        K::NumericLessThanEquals | K::DateLessThanEquals => ord != Greater,
        K::NumericGreaterThan | K::DateGreaterThan => ord == Greater,
        K::NumericGreaterThanEquals | K::DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}

fn compile_value(family: Family, raw: &str) -> Compiled {
    let compiled = match family {
        Family::String => Some(Compiled::Str(raw.to_string())),
        Family::StringIgnoreCase => Some(Compiled::Lower(raw.to_lowercase())),
        Family::StringLike => Some(Compiled::Glob(Glob::new(raw))),
        Family::Numeric => parse_number(raw).map(Compiled::Number),
        Family::Date => parse_date(raw).map(Compiled::Date),
        Family::Bool => parse_bool(raw).map(Compiled::Bool),
        Family::Binary => parse_base64(raw).map(Compiled::Bytes),
        Family::Ip => parse_net(raw).map(Compiled::Net),
        Family::Arn => ArnPattern::new(raw).map(Compiled::Arn),
        Family::Null => parse_bool(raw).map(Compiled::Bool),
    };
    compiled.unwrap_or(Compiled::Invalid)
}

/// Resolves a value holding variables for one request.
fn resolve(family: Family, template: &Template, ctx: &Context) -> Compiled {
    let compiled = match family {
        Family::StringLike => template.resolve_glob(ctx).map(Compiled::Glob),
        Family::Arn => resolve_arn_pattern(template, ctx).map(Compiled::Arn),
        _ => template
            .resolve_string(ctx)
            .map(|s| compile_value(family, &s)),
    };
    compiled.unwrap_or(Compiled::Invalid)
}

/// An ARN pattern holding variables, for one request. The written text is
/// split into segments and the variables' values are placed literally, so a
/// value holding `:` or `*` can never add a segment or a wildcard.
pub(crate) fn resolve_arn_pattern(template: &Template, ctx: &Context) -> Option<ArnPattern> {
    let mut segments: Vec<Glob> = vec![Glob::empty()];
    for part in &template.parts {
        match part {
            crate::variables::Part::Text(t) => {
                let mut pieces = t.split(':');
                if let Some(first) = pieces.next() {
                    segments.last_mut()?.push_pattern(first);
                }
                for piece in pieces {
                    if segments.len() < 6 {
                        segments.push(Glob::empty());
                        segments.last_mut()?.push_pattern(piece);
                    } else {
                        let last = segments.last_mut()?;
                        last.push_literal(":");
                        last.push_pattern(piece);
                    }
                }
            }
            crate::variables::Part::Escaped(c) => segments
                .last_mut()?
                .push_literal(c.encode_utf8(&mut [0; 4])),
            crate::variables::Part::Var {
                key_lower, default, ..
            } => {
                let value = match ctx.get_lower(key_lower) {
                    Some(ContextValue::Single(v)) => v.clone(),
                    Some(ContextValue::Multi(_)) => return None,
                    None => default.clone()?,
                };
                segments.last_mut()?.push_literal(&value);
            }
        }
    }
    if segments.len() != 6 || segments[0].as_literal() != Some("arn") {
        return None;
    }
    let mut it = segments.into_iter().skip(1);
    let segs: [Glob; 5] = std::array::from_fn(|_| it.next().unwrap_or_else(Glob::empty));
    Some(ArnPattern::from_globs(segs))
}

/// Numbers as IAM reads them: an optional sign, digits, an optional
/// fraction. Not `inf`, not `NaN`, not hex.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    t.parse().ok()
}

#[inline]
pub fn parse_bool(text: &str) -> Option<bool> {
    // The spelling every request and nearly every policy uses, first.
    match text {
        "true" => return Some(true),
        "false" => return Some(false),
        _ => {}
    }
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// A CIDR block, or a single address as a /32 or /128.
pub fn parse_net(text: &str) -> Option<IpNet> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Some(net);
    }
    t.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Dates as milliseconds since the Unix epoch.
///
/// ISO 8601 dates and date-times (`2024-01-01`, `2024-01-01T00:00:00Z`,
/// fractional seconds, `+09:00` offsets), or a number of epoch seconds. A
/// number too large to be seconds in any plausible year (over 10^11, the
/// year 5138) is read as epoch milliseconds, as JavaScript-based tools write
/// them.
pub fn parse_date(text: &str) -> Option<i128> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i128 = t.parse().ok()?;
        return Some(if n >= 100_000_000_000 { n } else { n * 1000 });
    }
    parse_iso8601(t)
}

fn parse_iso8601(t: &str) -> Option<i128> {
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date_part, time_part) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut d = date_part.split('-');
    let year = num(d.next()?)?;
    let month = num(d.next()?)?;
    let day = num(d.next()?)?;
    if d.next().is_some() || date_part.len() != 10 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    let mut ms: i128 = i128::from(date.midnight().assume_utc().unix_timestamp()) * 1000;
    let Some(time_part) = time_part else {
        return Some(ms);
    };
    // Split off the zone: Z, or +hh:mm / -hh:mm / +hhmm.
    let (clock, offset_ms) = if let Some(c) = time_part.strip_suffix(['Z', 'z']) {
        (c, 0i128)
    } else if let Some(i) = time_part.rfind(['+', '-']) {
        let (c, z) = time_part.split_at(i);
        let sign: i128 = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        if z.len() != 4 {
            return None;
        }
        let h = num(&z[..2])?;
        let m = num(&z[2..])?;
        if h > 23 || m > 59 {
            return None;
        }
        (c, sign * i128::from(h * 3600 + m * 60) * 1000)
    } else {
        (time_part, 0)
    };
    let mut c = clock.split(':');
    let hour = num(c.next()?)?;
    let minute = num(c.next()?)?;
    let (second, millis) = match c.next() {
        None => (0, 0),
        Some(s) => match s.split_once('.') {
            None => (num(s)?, 0),
            Some((whole, frac)) => {
                num(frac)?;
                let mut digits: String = frac.chars().take(3).collect();
                while digits.len() < 3 {
                    digits.push('0');
                }
                (num(whole)?, num(&digits)?)
            }
        },
    };
    if c.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += i128::from((hour * 3600 + minute * 60 + second) * 1000 + millis);
    Some(ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!(op.qualifier, Some(SetQualifier::ForAnyValue));
        assert_eq!(op.kind, K::StringLike);
        assert!(op.if_exists);
        assert_eq!(op.name(), "ForAnyValue:StringLikeIfExists");
        assert!(Operator::parse("StringEqual").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-01-01"), Some(1_704_067_200_000));
        assert_eq!(parse_date("2024-01-01T00:00:00Z"), Some(1_704_067_200_000));
        assert_eq!(
            parse_date("2024-01-01T09:00:00+09:00"),
            Some(1_704_067_200_000)
        );
        assert_eq!(
            parse_date("2024-01-01T00:00:00.5Z"),
            Some(1_704_067_200_500)
        );
        assert_eq!(parse_date("1704067200"), Some(1_704_067_200_000));
        assert_eq!(parse_date("1704067200000"), Some(1_704_067_200_000));
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("not a date"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("10.5"), Some(10.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("1e5"), None);
        assert_eq!(parse_number(""), None);
    }

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(
            Operator::parse(op).unwrap(),
            key,
            values.iter().map(|s| s.to_string()).collect(),
            true,
        )
    }

    #[test]
    fn missing_keys_and_qualifiers() {
        let mut ctx = Context::new();
        ctx.insert_multi("aws:TagKeys", vec!["a".into(), "b".into()]);
        assert!(!cond("StringEquals", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(cond("StringNotEquals", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(!cond("ForAnyValue:StringNotEquals", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(cond("StringNotEqualsIfExists", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(cond("ForAllValues:StringEquals", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(!cond("ForAnyValue:StringEquals", "aws:missing", &["x"]).evaluate(&ctx));
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b", "c"]).evaluate(&ctx));
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]).evaluate(&ctx));
        assert!(cond("ForAnyValue:StringEquals", "aws:tagkeys", &["b"]).evaluate(&ctx));
        assert!(cond("Null", "aws:missing", &["true"]).evaluate(&ctx));
        assert!(!cond("Null", "aws:TagKeys", &["true"]).evaluate(&ctx));
        assert!(cond("Null", "aws:TagKeys", &["false"]).evaluate(&ctx));
    }

    #[test]
    fn arn_values_with_variables() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "Bob");
        let c = cond(
            "ArnLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::123456789012:user/${aws:username}"],
        );
        ctx.insert("aws:PrincipalArn", "arn:aws:iam::123456789012:user/Bob");
        assert!(c.evaluate(&ctx));
        ctx.insert("aws:username", "Bob:x");
        assert!(!c.evaluate(&ctx));
    }
}
