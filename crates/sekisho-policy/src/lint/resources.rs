//! Resource / NotResource: ARN shape, account IDs, the services and
//! resource types of the statement's actions, redundancy.

use super::actions::{Actions, Resolved};
use super::doc::{Block, Text};
use super::variables::{self, Vars};
use super::{Severity, Sink};
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::arn::Arn;
use crate::catalog::{ActionInfo, ResourceType, Service, catalog};
use crate::glob::Glob;

/// Partitions an ARN may name.
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// Whether an ARN's account segment can match accounts: empty (services
/// whose ARNs have none), 12 digits, `aws` (AWS-managed resources), or a
/// wildcard or variable.
pub(super) fn account_ok(account: &str) -> bool {
    account.is_empty()
        || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        || account == "aws"
        || account.contains(['*', '?'])
        || account.contains("${")
}

/// Why an ARN-looking text is not a usable ARN, if it is not.
pub(super) fn arn_problem(text: &str) -> Option<String> {
    let Some(arn) = Arn::parse(text) else {
        let parts = text.split(':').count();
        return Some(if text.starts_with("arn:") {
            format!(
                "'{text}' has {parts} of the 6 colon-separated parts of an ARN (arn:partition:service:region:account:resource)"
            )
        } else {
            format!(
                "'{text}' is neither \"*\" nor an ARN (arn:partition:service:region:account:resource)"
            )
        });
    };
    let wild = |s: &str| s.contains(['*', '?']) || s.contains("${");
    if !wild(arn.partition) && !PARTITIONS.contains(&arn.partition) {
        return Some(format!(
            "'{}' is not an AWS partition (aws, aws-cn, aws-us-gov, ...)",
            arn.partition
        ));
    }
    if arn.service.is_empty() {
        return Some(format!("'{text}' has no service segment"));
    }
    if !wild(arn.service) && arn.service.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "the service segment '{}' has capitals; ARNs are case-sensitive and service names are lowercase",
            arn.service
        ));
    }
    if arn.resource.is_empty() {
        return Some(format!("'{text}' has no resource part after the account"));
    }
    None
}

/// The bucket of an S3 bucket or object ARN, when it cannot be a bucket
/// name.
fn invalid_bucket<'t>(arn: &Arn<'t>) -> Option<&'t str> {
    if arn.service != "s3" || !arn.region.is_empty() || !arn.account.is_empty() {
        return None;
    }
    let bucket = arn.resource.split('/').next().unwrap_or("");
    if bucket.contains(['*', '?']) || bucket.contains("${") {
        return None;
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(bucket.chars().next())
        && edge(bucket.chars().last());
    (!valid).then_some(bucket)
}

/// A catalogue resource type with its ARN template split into segments
/// and compiled for overlap tests, once per process.
struct CompiledType {
    service: &'static Service,
    rt: &'static ResourceType,
    /// The template's six segments, as written.
    raw: [&'static str; 6],
    tokens: [Vec<Tok>; 6],
}

/// The compiled resource types of every detailed service, and which of
/// them each action takes.
struct TypeIndex {
    types: Vec<CompiledType>,
    /// Action (by address in the 'static catalogue) -> indexes in `types`.
    by_action: HashMap<usize, Vec<usize>>,
}

fn action_key(action: &ActionInfo) -> usize {
    std::ptr::from_ref(action) as usize
}

fn type_index() -> &'static TypeIndex {
    static INDEX: OnceLock<TypeIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut types = Vec::new();
        let mut by_action = HashMap::new();
        for service in catalog().detailed_services() {
            let first = types.len();
            for rt in &service.resource_types {
                let mut raw = [""; 6];
                for (slot, part) in raw.iter_mut().zip(rt.arn_pattern.splitn(6, ':')) {
                    *slot = part;
                }
                types.push(CompiledType {
                    service,
                    rt,
                    raw,
                    tokens: raw.map(template_tokens),
                });
            }
            for action in &service.actions {
                let list: Vec<usize> = action
                    .resource_types
                    .iter()
                    .filter_map(|ar| {
                        (first..types.len())
                            .find(|&i| types[i].rt.name.eq_ignore_ascii_case(&ar.name))
                    })
                    .collect();
                by_action.insert(action_key(action), list);
            }
        }
        TypeIndex { types, by_action }
    })
}

/// The resource types an action takes.
fn types_of(action: &ActionInfo) -> impl Iterator<Item = &'static CompiledType> {
    let index = type_index();
    index
        .by_action
        .get(&action_key(action))
        .into_iter()
        .flatten()
        .filter_map(|&i| index.types.get(i))
}

/// A policy ARN split and compiled for overlap tests.
struct UserArn<'t> {
    raw: [&'t str; 6],
    tokens: [Vec<Tok>; 6],
}

impl<'t> UserArn<'t> {
    fn new(text: &'t str) -> Option<UserArn<'t>> {
        let mut raw = [""; 6];
        let mut n = 0;
        for (slot, part) in raw.iter_mut().zip(text.splitn(6, ':')) {
            *slot = part;
            n += 1;
        }
        (n == 6).then(|| UserArn {
            raw,
            tokens: raw.map(user_tokens),
        })
    }
}

/// Checks `Resource` / `NotResource` entries against the statement's
/// actions.
pub(super) fn check(block: &Block<'_>, actions: &Actions<'_>, vars: Vars, sink: &mut Sink<'_>) {
    let mut arn_entries: Vec<UserArn<'_>> = Vec::new();
    let mut all_arns = true;
    let mut matched_any_type = false;
    for item in &block.items {
        let text = item.text;
        if text == "*" {
            all_arns = false;
            continue;
        }
        let has_variables = variables::check_value(text, &item.loc, vars, sink);
        if let Some(problem) = arn_problem(text) {
            sink.at(
                "INVALID_ARN",
                Severity::Error,
                &item.loc,
                format!("{problem}, so it matches no resource."),
                "Write the resource's full ARN, such as \"arn:aws:s3:::my-bucket/*\" or \"arn:aws:bedrock:us-east-1::foundation-model/*\", or \"*\" for every resource.",
            );
            all_arns = false;
            continue;
        }
        let Some(arn) = Arn::parse(text) else {
            continue;
        };
        if !account_ok(arn.account) {
            sink.at(
                "INVALID_ARN_ACCOUNT",
                Severity::Error,
                &item.loc,
                format!(
                    "The account '{}' is not a 12-digit account ID, so this ARN matches no resource (a placeholder left in?).",
                    arn.account
                ),
                format!(
                    "Put the 12-digit ID of the account that owns the resource in place of '{}', or '*' for any account.",
                    arn.account
                ),
            );
        }
        if let Some(bucket) = invalid_bucket(&arn) {
            sink.at(
                "INVALID_BUCKET_NAME",
                Severity::Warning,
                &item.loc,
                format!(
                    "'{bucket}' is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens), so no bucket created since 2018 matches it (a placeholder left in?)."
                ),
                "Put the bucket's real name in the ARN, such as \"arn:aws:s3:::my-knowledge-bucket/*\".",
            );
        }
        let Some(user) = UserArn::new(text) else {
            continue;
        };
        if !(block.negated || (has_variables && !vars.enabled))
            && let Some(matched) = check_against_actions(item, &arn, &user, actions, sink)
        {
            matched_any_type |= matched;
        }
        arn_entries.push(user);
    }
    if !block.negated && all_arns && !arn_entries.is_empty() {
        action_mismatch(&arn_entries, actions, matched_any_type, sink);
    }
    redundant(block, sink);
}

/// Service and resource-type checks for one ARN. Returns whether the ARN
/// matched a resource type, when that could be decided.
fn check_against_actions(
    item: &Text<'_>,
    arn: &Arn<'_>,
    user: &UserArn<'_>,
    actions: &Actions<'_>,
    sink: &mut Sink<'_>,
) -> Option<bool> {
    let service = arn.service;
    if service.contains(['*', '?']) || service.contains("${") {
        return None;
    }
    let cat = catalog();
    let services = actions.services.as_ref()?;
    if services.is_empty() {
        return None;
    }
    if !services.iter().any(|s| s == service) {
        let plausible = services.iter().any(|s| {
            cat.service(s).is_some_and(|d| {
                d.resource_types
                    .iter()
                    .any(|rt| template_service(&rt.arn_pattern) == Some(service))
            })
        });
        if !plausible {
            let names = services.join(", ");
            sink.at(
                "RESOURCE_SERVICE_MISMATCH",
                Severity::Warning,
                &item.loc,
                format!(
                    "'{}' is a resource of service '{service}', but the statement's actions are all of {names}; no action here is authorized against it.",
                    item.text
                ),
                format!(
                    "Use an ARN of a {names} resource here, or move '{}' to a statement whose actions work on {service} resources.",
                    item.text
                ),
            );
        }
        return None;
    }
    let resolved = actions.resolved.as_ref()?;
    let candidates = candidate_types(resolved, service);
    if candidates.is_empty() {
        return None;
    }
    let mut near: Option<(&ResourceType, String)> = None;
    for ct in &candidates {
        match overlap(user, ct) {
            Overlap::Full => return Some(true),
            Overlap::Segments(fixed) if near.is_none() => near = Some((ct.rt, fixed)),
            _ => {}
        }
    }
    let (message, fix) = match near {
        Some((rt, fixed)) => (
            format!(
                "'{}' does not fit the ARN format of {} resources ({}), so it matches none.",
                item.text, rt.name, rt.arn_pattern
            ),
            format!("Write \"{fixed}\"."),
        ),
        None => {
            let list: Vec<String> = candidates
                .iter()
                .take(4)
                .map(|ct| format!("{}:{} {}", ct.service.prefix, ct.rt.name, ct.rt.arn_pattern))
                .collect();
            let more = if candidates.len() > 4 {
                format!(" and {} more", candidates.len() - 4)
            } else {
                String::new()
            };
            (
                format!(
                    "'{}' matches no resource type of the statement's actions (they take {}{more}).",
                    item.text,
                    list.join("; ")
                ),
                "Use the ARN of a resource type the actions take, or move this resource to a statement with actions that work on it.".to_string(),
            )
        }
    };
    sink.at(
        "RESOURCE_TYPE_MISMATCH",
        Severity::Warning,
        &item.loc,
        message,
        fix,
    );
    Some(false)
}

/// The resource types of the resolved actions whose ARNs are of `service`,
/// each once.
fn candidate_types(resolved: &[Resolved<'_>], service: &str) -> Vec<&'static CompiledType> {
    let mut out: Vec<&'static CompiledType> = Vec::new();
    for r in resolved {
        for ct in types_of(r.action) {
            if ct.raw[2] == service && !out.iter().any(|o| std::ptr::eq(*o, ct)) {
                out.push(ct);
            }
        }
    }
    out
}

/// Literal actions that none of the statement's resources applies to.
fn action_mismatch(
    arns: &[UserArn<'_>],
    actions: &Actions<'_>,
    matched_any_type: bool,
    sink: &mut Sink<'_>,
) {
    let Some(resolved) = actions.resolved.as_ref() else {
        return;
    };
    let mut done: std::collections::HashSet<usize> = std::collections::HashSet::new();
    for r in resolved {
        if !r.literal || !done.insert(action_key(r.action)) {
            continue;
        }
        let types: Vec<&CompiledType> = types_of(r.action).collect();
        let name = r.full_name();
        if types.is_empty() {
            sink.at(
                "ACTION_RESOURCE_MISMATCH",
                Severity::Warning,
                r.loc,
                format!(
                    "{name} supports no resource-level permissions: it is authorized only against \"*\", so this statement, which lists only ARNs, never applies to it."
                ),
                format!("Move {name} to a statement with \"Resource\": \"*\" (narrowed with conditions if needed)."),
            );
            continue;
        }
        let applies = arns
            .iter()
            .any(|a| types.iter().any(|ct| overlap(a, ct) == Overlap::Full));
        // When no resource fits any action, the RESOURCE_TYPE_MISMATCH
        // findings already explain it.
        if !applies && matched_any_type {
            let kinds: Vec<String> = types
                .iter()
                .take(4)
                .map(|ct| format!("{} ({})", ct.rt.name, ct.rt.arn_pattern))
                .collect();
            sink.at(
                "ACTION_RESOURCE_MISMATCH",
                Severity::Warning,
                r.loc,
                format!(
                    "None of the statement's resources is of a type {name} is authorized against ({}), so this statement never applies to it.",
                    kinds.join(", ")
                ),
                format!("Add the {name} resource's ARN to Resource, or move {name} to a statement of its own."),
            );
        }
    }
}

fn redundant(block: &Block<'_>, sink: &mut Sink<'_>) {
    let element = if block.negated {
        "NotResource"
    } else {
        "Resource"
    };
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(block.items.len());
    for (i, item) in block.items.iter().enumerate() {
        first.entry(item.text).or_insert(i);
    }
    // Entries that may cover others: "*", and ARNs whose only wildcard is
    // `*`, compiled segment by segment.
    let covering: Vec<(usize, Option<[Glob; 5]>)> = block
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            item.text.contains('*') && !item.text.contains('?') && !item.text.contains("${")
        })
        .take(super::actions::MAX_COVERING)
        .filter_map(|(j, item)| {
            if item.text == "*" {
                return Some((j, None));
            }
            let a = Arn::parse(item.text)?;
            Some((j, Some(segments(&a).map(Glob::new))))
        })
        .collect();
    for (i, item) in block.items.iter().enumerate() {
        let dup = first.get(item.text).copied().filter(|&j| j < i);
        let inner = if item.text.contains("${") {
            None
        } else {
            Arn::parse(item.text)
        };
        let cover = covering
            .iter()
            .find(|(j, globs)| {
                *j != i
                    && block.items[*j].text != item.text
                    && match (globs, &inner) {
                        (None, _) => true,
                        (Some(g), Some(a)) => g.iter().zip(segments(a)).all(|(g, s)| g.matches(s)),
                        (Some(_), None) => false,
                    }
            })
            .map(|(j, _)| *j);
        let by = match (dup, cover) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(j) = by {
            let other = block.items[j].text;
            let what = if other == item.text {
                format!("'{}' is listed twice in {element}", item.text)
            } else {
                format!(
                    "'{}' is already covered by '{other}' in {element}",
                    item.text
                )
            };
            sink.at(
                "REDUNDANT_RESOURCE",
                Severity::Suggestion,
                &item.loc,
                format!("{what}; the entry changes nothing."),
                format!("Remove '{}'.", item.text),
            );
        }
    }
}

fn segments<'t>(a: &Arn<'t>) -> [&'t str; 5] {
    [a.partition, a.service, a.region, a.account, a.resource]
}

/// The service segment of a catalogue ARN template.
fn template_service(template: &str) -> Option<&str> {
    template.split(':').nth(2)
}

/// One element of a pattern for overlap tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// Exactly one character (`slash`: which may be `/`).
    One {
        slash: bool,
    },
    /// Any run of characters (`slash`: which may hold `/`).
    Star {
        slash: bool,
    },
}

const STAR: Tok = Tok::Star { slash: true };

/// A policy ARN segment: `*` and `?` are wildcards, a variable may be
/// anything.
fn user_tokens(seg: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(seg.len());
    let mut rest = seg;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            out.push(STAR);
            rest = &rest[end + 1..];
            continue;
        }
        out.push(match c {
            '*' => STAR,
            '?' => Tok::One { slash: true },
            c => Tok::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A catalogue template segment: each `${Placeholder}` is one or more
/// characters. A placeholder that is the whole segment (a bucket, queue or
/// topic name) holds no `/`.
fn template_tokens(seg: &str) -> Vec<Tok> {
    let whole = seg.starts_with("${") && seg.find('}') == Some(seg.len() - 1);
    let mut out = Vec::with_capacity(seg.len());
    let mut rest = seg;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            out.push(Tok::One { slash: !whole });
            out.push(Tok::Star { slash: !whole });
            rest = &rest[end + 1..];
            continue;
        }
        out.push(Tok::Lit(c));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Whether some text matches both patterns: a search of the product of the
/// two automata.
fn intersects(a: &[Tok], b: &[Tok]) -> bool {
    let is_star = |t: Tok| matches!(t, Tok::Star { .. });
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let idx = i * width + j;
        if seen[idx] {
            continue;
        }
        seen[idx] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let ta = a.get(i).copied();
        let tb = b.get(j).copied();
        if ta.is_some_and(is_star) {
            stack.push((i + 1, j));
        }
        if tb.is_some_and(is_star) {
            stack.push((i, j + 1));
        }
        if let (Some(x), Some(y)) = (ta, tb) {
            let compatible = match (x, y) {
                (Tok::Lit(p), Tok::Lit(q)) => p == q,
                (Tok::Lit(p), Tok::One { slash } | Tok::Star { slash })
                | (Tok::One { slash } | Tok::Star { slash }, Tok::Lit(p)) => slash || p != '/',
                _ => true,
            };
            if compatible && !(is_star(x) && is_star(y)) {
                let ni = if is_star(x) { i } else { i + 1 };
                let nj = if is_star(y) { j } else { j + 1 };
                stack.push((ni, nj));
            }
        }
    }
    false
}

/// How a policy ARN relates to a catalogue ARN template.
#[derive(Debug, PartialEq, Eq)]
enum Overlap {
    /// Some ARN of the type matches the pattern.
    Full,
    /// Service and resource part fit, other segments do not: the ARN
    /// written the way the type wants it.
    Segments(String),
    None,
}

fn overlap(user: &UserArn<'_>, ct: &CompiledType) -> Overlap {
    let fits = |k: usize| intersects(&user.tokens[k], &ct.tokens[k]);
    if !fits(2) || !fits(5) {
        return Overlap::None;
    }
    let bad: Vec<usize> = [1usize, 3, 4].into_iter().filter(|&k| !fits(k)).collect();
    if bad.is_empty() {
        return Overlap::Full;
    }
    let mut fixed: Vec<&str> = user.raw.to_vec();
    for k in bad {
        let t = ct.raw[k];
        fixed[k] = if t.is_empty() {
            ""
        } else if t.starts_with("${") {
            "*"
        } else {
            t
        };
    }
    Overlap::Segments(fixed.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ov(user: &str, template: &str) -> Overlap {
        let t = catalog()
            .service("bedrock")
            .and_then(|s| {
                s.resource_types
                    .iter()
                    .find(|rt| rt.arn_pattern == template)
            })
            .and_then(|rt| type_index().types.iter().find(|ct| std::ptr::eq(ct.rt, rt)));
        match (UserArn::new(user), t) {
            (Some(u), Some(ct)) => overlap(&u, ct),
            _ => Overlap::None,
        }
    }

    #[test]
    fn glob_intersection() {
        let i = |a: &str, b: &str| intersects(&user_tokens(a), &template_tokens(b));
        assert!(i("foundation-model/*", "foundation-model/${ResourceId}"));
        assert!(!i("foundation-model/", "foundation-model/${ResourceId}"));
        assert!(!i("knowledge-base/*", "foundation-model/${ResourceId}"));
        assert!(i("*", ""));
        assert!(!i("us-east-1", ""));
        assert!(i(
            "agent-alias/*/*",
            "agent-alias/${AgentId}/${AgentAliasId}"
        ));
        assert!(i("my-bucket/*", "${BucketName}/${ObjectName}"));
        assert!(!i("my-bucket", "${BucketName}/${ObjectName}"));
        assert!(i("my-bucket", "${BucketName}"));
        assert!(i("my-*", "${BucketName}"));
        assert!(!i("my-bucket/*", "${BucketName}"));
        assert!(i("log-group:/aws/bedrock/*", "log-group:${LogGroupName}"));
        assert!(i("user/${aws:username}", "user/${UserNameWithPath}"));
        assert!(i("a?c", "abc"));
        assert!(!i("a?c", "ac"));
        let j = |a: &str, b: &str| intersects(&user_tokens(a), &user_tokens(b));
        assert!(j("*x*", "*y*"));
        assert!(!j("a*", "b*"));
    }

    #[test]
    fn overlap_names_the_fixed_arn() {
        let fm = "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}";
        assert_eq!(
            ov("arn:aws:bedrock:*::foundation-model/*", fm),
            Overlap::Full
        );
        assert_eq!(
            ov(
                "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x",
                fm
            ),
            Overlap::Segments("arn:aws:bedrock:us-east-1::foundation-model/x".into())
        );
        assert_eq!(
            ov("arn:aws:bedrock:us-east-1::knowledge-base/x", fm),
            Overlap::None
        );
    }
}
