//! Condition blocks: operators, values, keys and their types.

use base64::Engine as _;

use super::actions::{Actions, Resolved};
use super::doc::{CondBlock, Effect, KeyEntry, OpEntry};
use super::resources::account_ok;
use super::variables::{self, Vars};
use super::{Severity, Sink};
use crate::arn::Arn;
use crate::catalog::{ConditionKeyInfo, KeyType, catalog};
use crate::condition::{
    Family, Operator, OperatorKind, SetQualifier, parse_bool, parse_date, parse_net, parse_number,
};

/// Keys whose values are account IDs.
const ACCOUNT_KEYS: &[&str] = &[
    "aws:sourceaccount",
    "aws:resourceaccount",
    "aws:principalaccount",
    "aws:sourceowner",
    "s3:resourceaccount",
    "kms:calleraccount",
];

/// Checks a statement's Condition block.
pub(super) fn check(
    cond: &CondBlock<'_>,
    effect: Option<Effect>,
    actions: &Actions<'_>,
    vars: Vars,
    sink: &mut Sink<'_>,
) {
    if cond.empty {
        sink.at(
            "EMPTY_CONDITION",
            Severity::Suggestion,
            &cond.key,
            "The Condition block is empty, so it restricts nothing.",
            "Remove \"Condition\": {}, or add the conditions that were meant.",
        );
    }
    for op in &cond.operators {
        match op.operator {
            None => unknown_operator(op, sink),
            Some(_) if op.empty => sink.at(
                "EMPTY_CONDITION",
                Severity::Suggestion,
                &op.name.loc,
                format!(
                    "'{}' names no condition key, so it restricts nothing.",
                    op.name.text
                ),
                format!(
                    "Remove \"{}\": {{}}, or add the keys to compare.",
                    op.name.text
                ),
            ),
            Some(_) => {}
        }
        for entry in &op.keys {
            if variables::not_allowed(entry.key.text, &entry.key.loc, "A condition key", sink) {
                continue;
            }
            let info = key_info(entry, op.operator, effect, sink);
            let Some(operator) = op.operator else {
                continue;
            };
            values(entry, operator, vars, sink);
            if let Some(info) = info {
                known_key(entry, operator, &info, effect, actions, sink);
            }
        }
    }
}

fn unknown_operator(op: &OpEntry<'_>, sink: &mut Sink<'_>) {
    let name = op.name.text;
    let (qualified, rest) = match name
        .strip_prefix("ForAllValues:")
        .or_else(|| name.strip_prefix("ForAnyValue:"))
    {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base == "Null" && (qualified || if_exists) {
        sink.at(
            "NULL_WITH_QUALIFIER",
            Severity::Error,
            &op.name.loc,
            format!(
                "'{name}' is not an operator: Null itself tests whether the key is present, so it takes no IfExists suffix and no ForAllValues:/ForAnyValue: qualifier."
            ),
            "Write \"Null\".",
        );
        return;
    }
    let suggestion = super::short(name).and_then(super::suggest_operator);
    let hint = suggestion
        .as_ref()
        .map_or_else(|| ".".to_string(), |s| format!("; did you mean '{s}'?"));
    let fix = match suggestion {
        Some(s) => format!("Write \"{s}\" (operator names are case-sensitive)."),
        None => "Use an IAM condition operator: StringEquals, StringLike, ArnLike, Bool, IpAddress, NumericLessThan, DateGreaterThan, Null, ... optionally with the IfExists suffix or a ForAllValues:/ForAnyValue: qualifier.".to_string(),
    };
    sink.at(
        "UNKNOWN_OPERATOR",
        Severity::Error,
        &op.name.loc,
        format!("'{name}' is not a condition operator{hint}"),
        fix,
    );
}

/// What a condition on a key that requests never carry amounts to.
fn absent_key_effect(
    operator: Option<Operator>,
    entry: &KeyEntry<'_>,
    effect: Option<Effect>,
) -> String {
    let Some(op) = operator else {
        return "Requests never carry it.".to_string();
    };
    let tail = match effect {
        Some(Effect::Deny) => " and this Deny applies to every request it covers",
        Some(Effect::Allow) => " and restricts nothing",
        None => "",
    };
    let always = |why: &str| format!("Requests never carry it, so {why} always holds{tail}.");
    let never = |why: &str| {
        format!("Requests never carry it, so {why} never holds and the statement never applies.")
    };
    if op.kind == OperatorKind::Null {
        let values: Vec<Option<bool>> = entry.values.iter().map(|v| parse_bool(&v.text)).collect();
        if !values.is_empty() && values.iter().all(|v| *v == Some(true)) {
            return always("Null \"true\"");
        }
        if !values.is_empty() && values.iter().all(|v| *v == Some(false)) {
            return never("Null \"false\"");
        }
        return "Requests never carry it.".to_string();
    }
    let name = op.name();
    if op.if_exists {
        return always(&format!("{name} (IfExists)"));
    }
    match op.qualifier {
        Some(SetQualifier::ForAllValues) => {
            always(&format!("{name} (ForAllValues holds for a missing key)"))
        }
        Some(SetQualifier::ForAnyValue) => never(&name),
        None if op.kind.is_negated() => always(&format!(
            "{name} (a negated operator holds for a missing key)"
        )),
        None => never(&name),
    }
}

/// Looks the key up; reports it when unknown.
fn key_info(
    entry: &KeyEntry<'_>,
    operator: Option<Operator>,
    effect: Option<Effect>,
    sink: &mut Sink<'_>,
) -> Option<ConditionKeyInfo> {
    let cat = catalog();
    let key = entry.key.text;
    if let Some(info) = cat.condition_key(key) {
        return Some(info);
    }
    let suggestion = super::short(key).and_then(|k| cat.suggest_condition_key(k));
    let hint = suggestion
        .as_ref()
        .map_or_else(|| ".".to_string(), |s| format!("; did you mean '{s}'?"));
    let (severity, what) = match key.split_once(':') {
        None => (
            Severity::Error,
            format!(
                "'{key}' is not a condition key: keys are written prefix:name, such as aws:SourceIp"
            ),
        ),
        Some((prefix, _)) if prefix.eq_ignore_ascii_case("aws") => (
            Severity::Error,
            format!("'{key}' is not a global condition key"),
        ),
        Some((prefix, name)) if cat.is_known_service(prefix) => (
            Severity::Error,
            format!(
                "{} ({}) has no condition key '{name}'",
                cat.service_name(prefix).unwrap_or(prefix),
                prefix.to_ascii_lowercase()
            ),
        ),
        Some((prefix, name)) if prefix.contains('.') => (
            Severity::Warning,
            format!(
                "'{name}' is not a claim AWS passes on for the identity provider '{prefix}' (it documents aud, sub, amr, azp, email and oaud)"
            ),
        ),
        Some((prefix, _)) => (
            Severity::Error,
            format!(
                "'{prefix}' is not the prefix of any AWS service or identity provider, so '{key}' is not a condition key"
            ),
        ),
    };
    let fix = match &suggestion {
        Some(s) => format!("Replace \"{key}\" with \"{s}\"."),
        None => "Use a condition key that the statement's actions support (see the Service Authorization Reference) or a global aws: key.".to_string(),
    };
    sink.at(
        "UNKNOWN_CONDITION_KEY",
        severity,
        &entry.key.loc,
        format!(
            "{what}{hint} {}",
            absent_key_effect(operator, entry, effect)
        ),
        fix,
    );
    None
}

/// Checks the values of one key for its operator.
fn values(entry: &KeyEntry<'_>, op: Operator, vars: Vars, sink: &mut Sink<'_>) {
    let name = op.name();
    if entry.empty_array {
        sink.at(
            "EMPTY_CONDITION_VALUES",
            Severity::Warning,
            &entry.value_loc,
            format!(
                "'{}' has an empty list of values: {name} has nothing to compare with, which is almost never what was meant.",
                entry.key.text
            ),
            "List the values to compare with, or remove the key.",
        );
    }
    let family = op.kind.family();
    for value in &entry.values {
        let text = value.text.as_str();
        if text.contains("${") {
            if op.kind.allows_variables() {
                variables::check_value(text, &value.loc, vars, sink);
            } else {
                sink.at(
                    "INVALID_VARIABLE_PLACEMENT",
                    Severity::Error,
                    &value.loc,
                    format!(
                        "{name} does not take policy variables: '{text}' is read as it is written and cannot be read as {}.",
                        family_value(family)
                    ),
                    "Compare against a variable with a String, Arn or Bool operator, or write a literal value.",
                );
            }
            continue;
        }
        let problem = match family {
            Family::Numeric => parse_number(text)
                .is_none()
                .then_some("a number (such as 10 or -3.5; no exponents, units or spaces)"),
            Family::Date => parse_date(text)
                .is_none()
                .then_some("a date (ISO 8601 such as 2025-01-31T00:00:00Z, or epoch seconds)"),
            Family::Bool => parse_bool(text)
                .is_none()
                .then_some("\"true\" or \"false\""),
            Family::Null => parse_bool(text)
                .is_none()
                .then_some("\"true\" (the key is absent) or \"false\" (the key is present)"),
            Family::Ip => parse_net(text)
                .is_none()
                .then_some("an IP address or CIDR block (such as 203.0.113.0/24 or 2001:db8::/32)"),
            Family::Binary => base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .is_err()
                .then_some("base64-encoded data"),
            Family::Arn => Arn::parse(text).is_none().then_some(
                "an ARN (arn:partition:service:region:account:resource; wildcards allowed)",
            ),
            Family::String | Family::StringIgnoreCase | Family::StringLike => None,
        };
        if let Some(expected) = problem {
            sink.at(
                "INVALID_CONDITION_VALUE",
                Severity::Error,
                &value.loc,
                format!(
                    "{name} cannot read '{text}': it expects {expected}. A value it cannot read never matches."
                ),
                format!("Write the value as {expected}."),
            );
        }
        if matches!(family, Family::String | Family::StringIgnoreCase) && text.contains('*') {
            let like = if op.kind.is_negated() {
                "StringNotLike"
            } else {
                "StringLike"
            };
            sink.at(
                "WILDCARD_WITHOUT_LIKE_OPERATOR",
                Severity::Warning,
                &value.loc,
                format!(
                    "{name} compares literally: the '*' in '{text}' matches only an asterisk, not any text."
                ),
                format!("Use {like} for wildcard matching, or remove the '*'."),
            );
        }
    }
}

fn family_value(family: Family) -> &'static str {
    match family {
        Family::Numeric => "a number",
        Family::Date => "a date",
        Family::Ip => "an IP address or range",
        Family::Binary => "base64 data",
        Family::Null => "true or false",
        _ => "a value",
    }
}

/// Checks for a key the catalogue knows.
fn known_key(
    entry: &KeyEntry<'_>,
    op: Operator,
    info: &ConditionKeyInfo,
    effect: Option<Effect>,
    actions: &Actions<'_>,
    sink: &mut Sink<'_>,
) {
    let key = entry.key.text;
    let name = op.name();
    if op.kind != OperatorKind::Null {
        qualifier(entry, op, info, sink);
        type_mismatch(entry, op, info, sink);
    }
    account_values(entry, op, info, sink);

    let cat = catalog();
    let prefix = info
        .name
        .split_once(':')
        .map_or("", |(p, _)| p)
        .to_ascii_lowercase();
    let services = actions.services.as_deref().unwrap_or_default();
    let service_key = !info.global && cat.is_known_service(&prefix);
    if service_key && !services.is_empty() && !services.contains(&prefix) {
        sink.at(
            "CONDITION_KEY_SERVICE_MISMATCH",
            Severity::Warning,
            &entry.key.loc,
            format!(
                "'{key}' is a condition key of {} ({prefix}), but the statement's actions are all of {}. {}",
                cat.service_name(&prefix).unwrap_or(&prefix),
                services.join(", "),
                absent_key_effect(Some(op), entry, effect)
            ),
            format!(
                "Use a key of the actions' services or a global aws: key, or move \"{name}\" on '{key}' to a statement with {prefix} actions."
            ),
        );
        return;
    }
    let lower = info.name.to_ascii_lowercase();
    let tag_key = lower.starts_with("aws:requesttag/")
        || lower.starts_with("aws:resourcetag/")
        || lower == "aws:tagkeys";
    if !((service_key && services.contains(&prefix)) || tag_key) {
        return;
    }
    let Some(resolved) = actions.resolved.as_ref().filter(|r| !r.is_empty()) else {
        return;
    };
    if resolved.iter().any(|r| supports(r, &info.name)) {
        return;
    }
    let mut names: Vec<String> = Vec::new();
    for r in resolved {
        let n = r.full_name();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let shown = if names.len() > 4 {
        format!("{}, and {} more", names[..4].join(", "), names.len() - 4)
    } else {
        names.join(", ")
    };
    sink.at(
        "CONDITION_KEY_NOT_SUPPORTED",
        Severity::Warning,
        &entry.key.loc,
        format!(
            "None of the statement's actions ({shown}) supports '{key}'. {}",
            absent_key_effect(Some(op), entry, effect)
        ),
        "Use a condition key these actions support (listed for each action in the Service Authorization Reference), or remove the condition.",
    );
}

/// Whether a catalogue action lists the key (by its canonical name).
fn supports(r: &Resolved<'_>, canonical: &str) -> bool {
    let eq = |k: &String| k.eq_ignore_ascii_case(canonical);
    r.action.condition_keys.iter().any(eq)
        || r.action.resource_types.iter().any(|ar| {
            ar.condition_keys.iter().any(eq)
                || r.service
                    .resource_type(&ar.name)
                    .is_some_and(|rt| rt.condition_keys.iter().any(eq))
        })
}

fn qualifier(entry: &KeyEntry<'_>, op: Operator, info: &ConditionKeyInfo, sink: &mut Sink<'_>) {
    let key = entry.key.text;
    let base = Operator {
        qualifier: None,
        ..op
    }
    .name();
    match (op.qualifier, info.value_type.is_multivalued()) {
        (None, true) => sink.at(
            "MISSING_QUALIFIER",
            Severity::Warning,
            &entry.key.loc,
            format!(
                "'{key}' is multivalued ({}): a request can carry several values, and without a set qualifier it is unclear whether any or all of them must match.",
                info.value_type.as_str()
            ),
            format!(
                "Write \"ForAnyValue:{base}\" (at least one requested value must match) or \"ForAllValues:{base}\" (every requested value must match; it also holds when the key is missing, so pair it with a Null \"false\" check)."
            ),
        ),
        (Some(SetQualifier::ForAllValues), false) => sink.at(
            "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
            Severity::SecurityWarning,
            &entry.key.loc,
            format!(
                "'{key}' is single-valued; ForAllValues: holds whenever the key is missing from the request, so the condition can be met by leaving the key out and may grant more than intended."
            ),
            format!("Remove the qualifier: write \"{base}\"."),
        ),
        (Some(SetQualifier::ForAnyValue), false) => sink.at(
            "FORANYVALUE_WITH_SINGLE_VALUED_KEY",
            Severity::Suggestion,
            &entry.key.loc,
            format!(
                "'{key}' is single-valued; ForAnyValue: adds nothing for a key with one value."
            ),
            format!("Remove the qualifier: write \"{base}\"."),
        ),
        _ => {}
    }
}

fn type_mismatch(entry: &KeyEntry<'_>, op: Operator, info: &ConditionKeyInfo, sink: &mut Sink<'_>) {
    let family = op.kind.family();
    let strings = matches!(
        family,
        Family::String | Family::StringIgnoreCase | Family::StringLike
    );
    let ty = info.value_type.element();
    let (ok, want) = match ty {
        KeyType::String => (
            strings,
            "StringEquals, StringLike or another String operator",
        ),
        KeyType::Arn => (
            strings || family == Family::Arn,
            "ArnLike or ArnEquals (or a String operator)",
        ),
        KeyType::Numeric => (
            family == Family::Numeric,
            "NumericEquals, NumericLessThan or another Numeric operator",
        ),
        KeyType::Date => (
            family == Family::Date,
            "DateGreaterThan, DateLessThan or another Date operator",
        ),
        KeyType::Bool => (family == Family::Bool, "Bool"),
        KeyType::IpAddress => (family == Family::Ip, "IpAddress or NotIpAddress"),
        KeyType::Binary => (family == Family::Binary, "BinaryEquals"),
        _ => (true, ""),
    };
    if ok {
        return;
    }
    sink.at(
        "CONDITION_TYPE_MISMATCH",
        Severity::Warning,
        &entry.key.loc,
        format!(
            "{} compares {}, but '{}' is a {} key; the comparison does not work the way the operator suggests.",
            op.name(),
            family_description(family),
            entry.key.text,
            ty.as_str()
        ),
        format!("Use {want} for '{}'.", entry.key.text),
    );
}

fn family_description(family: Family) -> &'static str {
    match family {
        Family::String | Family::StringIgnoreCase | Family::StringLike => "strings",
        Family::Numeric => "numbers",
        Family::Date => "dates",
        Family::Bool => "booleans",
        Family::Binary => "binary values",
        Family::Ip => "IP addresses",
        Family::Arn => "ARNs",
        Family::Null => "presence",
    }
}

fn account_values(
    entry: &KeyEntry<'_>,
    op: Operator,
    info: &ConditionKeyInfo,
    sink: &mut Sink<'_>,
) {
    let family = op.kind.family();
    let key = entry.key.text;
    let strings = matches!(
        family,
        Family::String | Family::StringIgnoreCase | Family::StringLike
    );
    let account_key = ACCOUNT_KEYS.contains(&info.name.to_ascii_lowercase().as_str());
    let arn_key = info.value_type.element() == KeyType::Arn || family == Family::Arn;
    for value in &entry.values {
        let text = value.text.as_str();
        if text.contains("${") {
            continue;
        }
        let bad = if account_key && strings {
            !account_ok(text) || text.is_empty()
        } else if arn_key && (strings || family == Family::Arn) {
            Arn::parse(text).is_some_and(|arn| !account_ok(arn.account))
        } else {
            false
        };
        if bad {
            let what = if account_key {
                format!("'{text}' is not a 12-digit account ID")
            } else {
                format!("the account in '{text}' is not a 12-digit account ID")
            };
            sink.at(
                "INVALID_ACCOUNT_VALUE",
                Severity::Warning,
                &value.loc,
                format!("{what}, so it never matches '{key}' (a placeholder left in?)."),
                "Put the 12-digit ID of the intended account in its place.",
            );
        }
    }
}
