//! Action / NotAction: format, services and actions known to the
//! catalogue, wildcards, redundancy.

use std::collections::HashMap;

use super::doc::{Block, Loc};
use super::{Severity, Sink, variables};
use crate::catalog::{ActionInfo, Service, catalog};
use crate::glob::Glob;

/// A catalogue action that a statement's Action names.
#[derive(Debug, Clone)]
pub(super) struct Resolved<'a> {
    pub service: &'static Service,
    pub action: &'static ActionInfo,
    /// The Action entry that named it.
    pub loc: &'a Loc,
    /// The entry names exactly this action (no wildcard).
    pub literal: bool,
}

impl Resolved<'_> {
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.service.prefix, self.action.name)
    }
}

/// What the statement's actions are, for the resource and condition checks.
#[derive(Debug, Default)]
pub(super) struct Actions<'a> {
    /// Lowercase service prefixes, when the element is `Action` and every
    /// entry names a service without wildcards.
    pub services: Option<Vec<String>>,
    /// The catalogue actions matched, when the element is `Action` and
    /// every entry is in a service the catalogue details.
    pub resolved: Option<Vec<Resolved<'a>>>,
}

/// Checks the entries of `Action` / `NotAction`.
pub(super) fn check<'a>(block: &'a Block<'_>, sink: &mut Sink<'_>) -> Actions<'a> {
    let cat = catalog();
    let element = if block.negated { "NotAction" } else { "Action" };
    let mut services: Option<Vec<String>> = Some(Vec::new());
    let mut resolved: Option<Vec<Resolved<'a>>> = Some(Vec::new());
    for item in &block.items {
        let text = item.text;
        if text == "*" {
            services = None;
            resolved = None;
            continue;
        }
        if variables::not_allowed(text, &item.loc, element, sink) {
            services = None;
            resolved = None;
            continue;
        }
        let well_formed = text.split_once(':').filter(|(s, a)| {
            !s.is_empty()
                && !a.is_empty()
                && !a.contains(':')
                && !text.contains(char::is_whitespace)
        });
        let Some((service, name)) = well_formed else {
            let hint = if text.contains(char::is_whitespace) {
                "it holds white space"
            } else {
                "an action is written service:ActionName"
            };
            sink.at(
                "INVALID_ACTION",
                Severity::Error,
                &item.loc,
                format!("'{text}' is not an action: {hint}."),
                "Write the service prefix and the action name separated by one colon, for example \"s3:GetObject\" or \"bedrock:InvokeModel\", or \"*\" for every action.",
            );
            services = None;
            resolved = None;
            continue;
        };
        if service.contains(['*', '?']) {
            services = None;
            resolved = None;
            continue;
        }
        if !cat.is_known_service(service) {
            let (hint, fix) = match super::short(service).and_then(|s| cat.suggest_service(s)) {
                Some(s) => (
                    format!("; did you mean '{s}'?"),
                    format!("Replace it with \"{s}:{name}\"."),
                ),
                None => (
                    ".".to_string(),
                    "Use the IAM service prefix from the Service Authorization Reference (for example bedrock, s3, kms, logs).".to_string(),
                ),
            };
            sink.at(
                "UNKNOWN_SERVICE",
                Severity::Error,
                &item.loc,
                format!("'{service}' is not the prefix of any AWS service, so '{text}' matches no action{hint}"),
                fix,
            );
            services = None;
            resolved = None;
            continue;
        }
        if let Some(list) = services.as_mut() {
            let lower = service.to_ascii_lowercase();
            if !list.contains(&lower) {
                list.push(lower);
            }
        }
        let Some(detail) = cat.service(service) else {
            // A known service the catalogue does not detail: only the
            // prefix can be checked.
            resolved = None;
            continue;
        };
        if name.contains(['*', '?']) {
            let matched: Vec<&ActionInfo> = cat.actions_matching(service, name).collect();
            if matched.is_empty() {
                sink.at(
                    "WILDCARD_MATCHES_NO_ACTION",
                    Severity::Error,
                    &item.loc,
                    format!(
                        "'{text}' matches no action of {} ({}), so it grants or denies nothing.",
                        detail.name, detail.prefix
                    ),
                    format!(
                        "Correct the pattern so it matches the intended {} actions (their names are in the Service Authorization Reference), or remove it.",
                        detail.prefix
                    ),
                );
                resolved = None;
                continue;
            }
            if let Some(list) = resolved.as_mut() {
                list.extend(matched.into_iter().map(|action| Resolved {
                    service: detail,
                    action,
                    loc: &item.loc,
                    literal: false,
                }));
            }
        } else {
            match detail.action(name) {
                Some(action) => {
                    if let Some(list) = resolved.as_mut() {
                        list.push(Resolved {
                            service: detail,
                            action,
                            loc: &item.loc,
                            literal: true,
                        });
                    }
                }
                None => {
                    let suggestion =
                        super::short(name).and_then(|n| cat.suggest_action(service, n));
                    let (hint, fix) = match suggestion {
                        Some(s) => (
                            format!("; did you mean '{}:{s}'?", detail.prefix),
                            format!("Replace it with \"{}:{s}\".", detail.prefix),
                        ),
                        None => (
                            ".".to_string(),
                            format!(
                                "Use an action that {} defines (see the Service Authorization Reference), or a wildcard such as \"{}:Get*\".",
                                detail.name, detail.prefix
                            ),
                        ),
                    };
                    sink.at(
                        "UNKNOWN_ACTION",
                        Severity::Error,
                        &item.loc,
                        format!(
                            "{} ({}) has no action '{name}', so '{text}' matches nothing{hint}",
                            detail.name, detail.prefix
                        ),
                        fix,
                    );
                    resolved = None;
                }
            }
        }
    }
    redundant(block, element, sink);
    if block.negated {
        return Actions::default();
    }
    Actions { services, resolved }
}

// An entry whose only wildcard is `*` covers another when it matches the
// other's text with the other's wildcards taken literally: its literal parts
// then land on literal characters of the other, wherever those wildcards
// expand. (`?` patterns are not taken to cover anything.)

/// At most this many wildcard entries are compared with the others, which
/// keeps the check linear in the size of any document.
pub(super) const MAX_COVERING: usize = 256;

fn redundant(block: &Block<'_>, element: &str, sink: &mut Sink<'_>) {
    let lower: Vec<String> = block.items.iter().map(|i| i.text.to_lowercase()).collect();
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(lower.len());
    for (i, l) in lower.iter().enumerate() {
        first.entry(l.as_str()).or_insert(i);
    }
    let covering: Vec<(usize, Glob)> = lower
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains('*') && !l.contains('?'))
        .take(MAX_COVERING)
        .map(|(j, l)| (j, Glob::new(l)))
        .collect();
    for (i, item) in block.items.iter().enumerate() {
        let dup = first.get(lower[i].as_str()).copied().filter(|&j| j < i);
        let cover = covering
            .iter()
            .find(|(j, g)| *j != i && lower[*j] != lower[i] && g.matches(&lower[i]))
            .map(|(j, _)| *j);
        let by = match (dup, cover) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(j) = by {
            let other = block.items[j].text;
            let what = if lower[j] == lower[i] {
                format!("'{}' is listed twice in {element}", item.text)
            } else {
                format!(
                    "'{}' is already covered by '{other}' in {element}",
                    item.text
                )
            };
            sink.at(
                "REDUNDANT_ACTION",
                Severity::Suggestion,
                &item.loc,
                format!("{what}; the entry changes nothing."),
                format!("Remove '{}'.", item.text),
            );
        }
    }
}

/// Lowercase patterns of the block that cover `action` (lowercase).
pub(super) fn block_covers(block: &Block<'_>, action: &str) -> bool {
    block
        .items
        .iter()
        .any(|i| Glob::new(&i.text.to_lowercase()).matches(action))
        != block.negated
}
