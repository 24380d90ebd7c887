//! Policy variables: where they may appear and whether they are well formed.

use super::doc::Loc;
use super::{Severity, Sink};
use crate::catalog::catalog;
use crate::variables::{Part, Template};

/// What the document's Version says about variables.
#[derive(Debug, Clone, Copy)]
pub(super) struct Vars {
    /// `${...}` is a variable (Version 2012-10-17).
    pub enabled: bool,
    /// Version is absent (rather than 2008-10-17).
    pub version_missing: bool,
}

/// Reports a variable in an element that takes none (Action, Principal, a
/// condition key, Sid). Returns whether the text holds `${`.
pub(super) fn not_allowed(text: &str, loc: &Loc, element: &str, sink: &mut Sink<'_>) -> bool {
    if !text.contains("${") {
        return false;
    }
    sink.at(
        "INVALID_VARIABLE_PLACEMENT",
        Severity::Error,
        loc,
        format!(
            "{element} does not take policy variables: '{text}' is matched as literal text, so it never means what the variable would."
        ),
        format!(
            "Write a literal value in {element}; to vary by caller, keep the variable in Resource or in a condition value (StringLike, StringEquals, ArnLike...) instead."
        ),
    );
    true
}

/// Checks a value that may hold variables (a Resource entry, the value of
/// an operator that takes variables). Returns whether the text holds `${`.
pub(super) fn check_value(text: &str, loc: &Loc, vars: Vars, sink: &mut Sink<'_>) -> bool {
    if !text.contains("${") {
        return false;
    }
    if !vars.enabled {
        let why = if vars.version_missing {
            "The document has no Version, so it is read as Version 2008-10-17"
        } else {
            "Version 2008-10-17 has no policy variables"
        };
        sink.at(
            "VARIABLE_WITHOUT_VERSION",
            Severity::Error,
            loc,
            format!(
                "{why}: '{text}' is literal text here, not a variable, and matches only a value spelt exactly like that."
            ),
            "Add \"Version\": \"2012-10-17\" as the first element of the document.",
        );
        return true;
    }
    match Template::parse(text) {
        Err(e) => sink.at(
            "MALFORMED_VARIABLE",
            Severity::Error,
            loc,
            format!(
                "{}; the value is then taken as literal text.",
                e.message.trim_end_matches('.')
            ),
            "Write variables as ${aws:username} or ${aws:PrincipalTag/team, 'default'}; for a literal '$', '*' or '?' write ${$}, ${*} or ${?}.",
        ),
        Ok(None) => {}
        Ok(Some(template)) => {
            for part in &template.parts {
                let Part::Var { key, .. } = part else {
                    continue;
                };
                check_variable_key(key, loc, sink);
            }
        }
    }
    true
}

fn check_variable_key(key: &str, loc: &Loc, sink: &mut Sink<'_>) {
    let cat = catalog();
    match cat.condition_key(key) {
        None => {
            let suggestion = super::short(key).and_then(|k| cat.suggest_condition_key(k));
            let hint = suggestion
                .as_ref()
                .map_or_else(|| ".".to_string(), |s| format!("; did you mean '{s}'?"));
            let fix = match suggestion {
                Some(s) => format!("Write ${{{s}}}."),
                None => "Use a condition key the request carries, such as ${aws:username}, ${aws:userid} or ${aws:PrincipalTag/KEY}.".to_string(),
            };
            sink.at(
                "UNKNOWN_VARIABLE",
                Severity::Warning,
                loc,
                format!(
                    "The variable ${{{key}}} names no known condition key, so it never has a value and this entry matches nothing unless it has a default{hint}"
                ),
                fix,
            );
        }
        Some(info) if info.value_type.is_multivalued() => sink.at(
            "MULTIVALUED_VARIABLE",
            Severity::Warning,
            loc,
            format!(
                "{} is multivalued ({}); a multivalued key is never substituted, so this entry matches nothing.",
                info.name,
                info.value_type.as_str()
            ),
            format!(
                "Test {} in a condition with ForAnyValue:/ForAllValues: instead of using it as a variable.",
                info.name
            ),
        ),
        Some(_) => {}
    }
}
