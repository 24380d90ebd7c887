//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`,
//! `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.
//!
//! Variables are only recognised in documents of Version 2012-10-17; in
//! older documents the text is taken literally, as AWS does. A variable whose
//! key is absent from the request (and has no default) makes the value that
//! holds it unresolvable: such a value matches nothing.

use crate::context::{Context, ContextValue};
use crate::glob::Glob;

/// One piece of a value that may hold variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written; `*` and `?` in it are wildcards where the operator
    /// supports them.
    Text(String),
    /// A character produced by `${*}`, `${?}` or `${$}`: always literal.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`.
    Var {
        /// The key as written, for messages.
        key: String,
        /// Lower-cased key, for look-up.
        key_lower: String,
        default: Option<String>,
    },
}

/// A value split into text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// What went wrong reading a `${...}`, for the linter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableSyntaxError {
    pub message: String,
}

impl Template {
    /// Splits `text` into parts. Returns `Ok(None)` when it holds no `${`.
    pub fn parse(text: &str) -> Result<Option<Template>, VariableSyntaxError> {
        if !text.contains("${") {
            return Ok(None);
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(VariableSyntaxError {
                    message: format!("policy variable in '{text}' is not closed with '}}'"),
                });
            };
            let inner = after[..end].trim();
            parts.push(match inner {
                "*" => Part::Escaped('*'),
                "?" => Part::Escaped('?'),
                "$" => Part::Escaped('$'),
                _ => parse_var(inner, text)?,
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Some(Template { parts }))
    }

    /// Keys of the variables used, for the linter.
    pub fn variable_keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// The value as a plain string, or `None` if a variable is unresolvable.
    pub fn resolve_string(&self, ctx: &Context) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Escaped(c) => out.push(*c),
                Part::Var {
                    key_lower, default, ..
                } => out.push_str(&lookup(ctx, key_lower, default.as_deref())?),
            }
        }
        Some(out)
    }

    /// The value as a wildcard pattern: wildcards in the written text stay
    /// wildcards, whatever a variable or escape produced is literal.
    pub fn resolve_glob(&self, ctx: &Context) -> Option<Glob> {
        let mut glob = Glob::empty();
        for part in &self.parts {
            match part {
                Part::Text(t) => glob.push_pattern(t),
                Part::Escaped(c) => glob.push_literal(c.encode_utf8(&mut [0; 4])),
                Part::Var {
                    key_lower, default, ..
                } => glob.push_literal(&lookup(ctx, key_lower, default.as_deref())?),
            }
        }
        Some(glob)
    }
}

fn parse_var(inner: &str, text: &str) -> Result<Part, VariableSyntaxError> {
    let (key, default) = match inner.split_once(',') {
        None => (inner, None),
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .ok_or_else(|| VariableSyntaxError {
                    message: format!(
                        "default value of the policy variable in '{text}' must be in single quotes, like ${{aws:username, 'none'}}"
                    ),
                })?;
            (key.trim(), Some(quoted.to_string()))
        }
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(VariableSyntaxError {
            message: format!("policy variable in '{text}' has no valid key"),
        });
    }
    Ok(Part::Var {
        key: key.to_string(),
        key_lower: key.to_ascii_lowercase(),
        default,
    })
}

/// A variable's value: only single-valued keys can be substituted.
fn lookup(ctx: &Context, key_lower: &str, default: Option<&str>) -> Option<String> {
    match ctx.get_lower(key_lower) {
        Some(ContextValue::Single(v)) => Some(v.clone()),
        Some(ContextValue::Multi(_)) => None,
        None => default.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        let mut c = Context::new();
        c.insert("aws:username", "Bob*");
        c.insert("aws:PrincipalTag/team", "ml");
        c.insert_multi("aws:TagKeys", vec!["a".into(), "b".into()]);
        c
    }

    #[test]
    fn resolves_variables_case_insensitively() {
        let t = Template::parse("home/${aws:USERNAME}/${aws:principaltag/team}")
            .unwrap()
            .unwrap();
        assert_eq!(t.resolve_string(&ctx()).unwrap(), "home/Bob*/ml");
    }

    #[test]
    fn variable_values_are_literal_in_patterns() {
        let t = Template::parse("test${aws:username}").unwrap().unwrap();
        let g = t.resolve_glob(&ctx()).unwrap();
        assert!(g.matches("testBob*"));
        assert!(!g.matches("testBobTwo"));
        let t = Template::parse("a${*}b*").unwrap().unwrap();
        let g = t.resolve_glob(&ctx()).unwrap();
        assert!(g.matches("a*bcd"));
        assert!(!g.matches("axbcd"));
    }

    #[test]
    fn defaults_and_missing_keys() {
        let t = Template::parse("${aws:missing, 'none'}").unwrap().unwrap();
        assert_eq!(t.resolve_string(&ctx()).unwrap(), "none");
        let t = Template::parse("${aws:missing}").unwrap().unwrap();
        assert_eq!(t.resolve_string(&ctx()), None);
        let t = Template::parse("${aws:TagKeys}").unwrap().unwrap();
        assert_eq!(
            t.resolve_string(&ctx()),
            None,
            "multi-valued keys do not substitute"
        );
        assert_eq!(
            Template::parse("${$}{x}")
                .unwrap()
                .unwrap()
                .resolve_string(&ctx())
                .unwrap(),
            "${x}"
        );
    }

    #[test]
    fn syntax_errors() {
        assert!(Template::parse("${aws:username").is_err());
        assert!(Template::parse("${aws:username, none}").is_err());
        assert!(Template::parse("${}").is_err());
        assert_eq!(Template::parse("plain").unwrap(), None);
    }
}
