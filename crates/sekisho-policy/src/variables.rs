//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`,
//! `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.
//!
//! Variables are only recognised in documents of Version 2012-10-17; in
//! older documents the text is taken literally, as AWS does. A variable whose
//! key is absent from the request (and has no default) makes the value that
//! holds it unresolvable: such a value matches nothing.

use crate::arn::Arn;
use crate::context::{Context, ContextValue, KeyHash};
use crate::glob::{Glob, Tok, match_tokens};

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

/// A variable of a compiled pattern: where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VarRef {
    key_lower: String,
    key_hash: KeyHash,
    default: Option<String>,
}

impl VarRef {
    fn new(key_lower: &str, default: &Option<String>) -> VarRef {
        VarRef {
            key_lower: key_lower.to_string(),
            key_hash: KeyHash::of_lower(key_lower),
            default: default.clone(),
        }
    }

    /// The value for one request; `None` when it is unresolvable.
    fn resolve<'a>(&'a self, ctx: &'a Context) -> Option<&'a str> {
        lookup_str(ctx, &self.key_lower, self.key_hash, self.default.as_deref())
    }
}

/// One token of a pattern compiled from a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternToken {
    Lit(String),
    Star,
    One,
    /// The value of the pattern's variable in this slot, literally.
    Var(usize),
}

impl PatternToken {
    fn view<'a>(&'a self, values: &[&'a str]) -> Tok<'a> {
        match self {
            PatternToken::Lit(s) => Tok::Lit(s),
            PatternToken::Star => Tok::Star,
            PatternToken::One => Tok::One,
            PatternToken::Var(slot) => Tok::Lit(values[*slot]),
        }
    }
}

/// Variables resolved on the stack up to this many; more (none in practice)
/// resolve into a vector.
const INLINE_VARS: usize = 8;

/// Resolves every variable once and runs `f` on their values; `None` when
/// one is unresolvable.
fn with_values<'a, R>(
    vars: &'a [VarRef],
    ctx: &'a Context,
    f: impl FnOnce(&[&'a str]) -> R,
) -> Option<R> {
    if vars.len() <= INLINE_VARS {
        let mut buf = [""; INLINE_VARS];
        for (slot, var) in buf.iter_mut().zip(vars) {
            *slot = var.resolve(ctx)?;
        }
        Some(f(&buf[..vars.len()]))
    } else {
        let values: Vec<&str> = vars.iter().map(|v| v.resolve(ctx)).collect::<Option<_>>()?;
        Some(f(&values))
    }
}

/// Matches the whole of `text` against `tokens` with the variables' values.
fn match_with(tokens: &[PatternToken], values: &[&str], text: &str) -> bool {
    match_tokens(tokens.len(), |i| tokens[i].view(values), text)
}

/// Compiles templates into tokens, numbering the variables.
#[derive(Default)]
struct Compiler {
    vars: Vec<VarRef>,
}

impl Compiler {
    /// Appends written text, reading `*` and `?` as wildcards when asked to.
    fn text(tokens: &mut Vec<PatternToken>, text: &str, wildcards: bool) {
        if !wildcards {
            if !text.is_empty() {
                tokens.push(PatternToken::Lit(text.to_string()));
            }
            return;
        }
        let mut lit = String::new();
        for c in text.chars() {
            match c {
                '*' | '?' => {
                    if !lit.is_empty() {
                        tokens.push(PatternToken::Lit(std::mem::take(&mut lit)));
                    }
                    tokens.push(if c == '*' {
                        PatternToken::Star
                    } else {
                        PatternToken::One
                    });
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            tokens.push(PatternToken::Lit(lit));
        }
    }

    fn var(&mut self, tokens: &mut Vec<PatternToken>, key_lower: &str, default: &Option<String>) {
        tokens.push(PatternToken::Var(self.vars.len()));
        self.vars.push(VarRef::new(key_lower, default));
    }
}

/// A template compiled once for matching: the evaluation hot path resolves
/// the variables to borrowed context values and matches in place, where
/// [`Template::resolve_glob`] and [`Template::resolve_string`] would build a
/// new pattern or string for every request. Same semantics: the written
/// text's wildcards (when `wildcards`) stay wildcards, and what a variable or
/// escape produces is literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePattern {
    tokens: Vec<PatternToken>,
    vars: Vec<VarRef>,
}

impl TemplatePattern {
    /// `wildcards`: `*` and `?` in the written text are wildcards
    /// (`StringLike`), or literal (`StringEquals`).
    pub fn new(template: &Template, wildcards: bool) -> TemplatePattern {
        let mut c = Compiler::default();
        let mut tokens = Vec::new();
        for part in &template.parts {
            match part {
                Part::Text(t) => Compiler::text(&mut tokens, t, wildcards),
                Part::Escaped(ch) => tokens.push(PatternToken::Lit(ch.to_string())),
                Part::Var {
                    key_lower, default, ..
                } => c.var(&mut tokens, key_lower, default),
            }
        }
        TemplatePattern {
            tokens,
            vars: c.vars,
        }
    }

    /// Matches the whole of `text`; `None` when a variable is unresolvable.
    pub fn matches(&self, ctx: &Context, text: &str) -> Option<bool> {
        with_values(&self.vars, ctx, |values| {
            match_with(&self.tokens, values, text)
        })
    }
}

/// An ARN pattern holding policy variables, compiled once. The written text
/// is split into the six ARN segments at compile time and the variables'
/// values are placed literally, so a value holding `:` or `*` can never add
/// a segment or a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnTemplate {
    /// `arn`, partition, service, region, account, resource; `None` when the
    /// written text does not have six segments (it matches nothing).
    segments: Option<Box<[Vec<PatternToken>; 6]>>,
    vars: Vec<VarRef>,
    /// The written text up to its first wildcard, variable or escape: an
    /// ARN the pattern matches begins with it, which rejects most ARNs
    /// before any variable is looked up.
    prefix: String,
}

impl ArnTemplate {
    pub fn new(template: &Template) -> ArnTemplate {
        let mut c = Compiler::default();
        let mut segments: Vec<Vec<PatternToken>> = vec![Vec::new()];
        for part in &template.parts {
            let Some(last) = segments.last_mut() else {
                break;
            };
            match part {
                Part::Text(t) => {
                    let mut pieces = t.split(':');
                    if let Some(first) = pieces.next() {
                        Compiler::text(last, first, true);
                    }
                    for piece in pieces {
                        if segments.len() < 6 {
                            segments.push(Vec::new());
                        } else if let Some(last) = segments.last_mut() {
                            // Colons in the resource part are text.
                            last.push(PatternToken::Lit(":".into()));
                        }
                        if let Some(last) = segments.last_mut() {
                            Compiler::text(last, piece, true);
                        }
                    }
                }
                Part::Escaped(ch) => last.push(PatternToken::Lit(ch.to_string())),
                Part::Var {
                    key_lower, default, ..
                } => c.var(last, key_lower, default),
            }
        }
        let mut prefix = String::new();
        for part in &template.parts {
            let Part::Text(t) = part else { break };
            match t.find(['*', '?']) {
                Some(i) => {
                    prefix.push_str(&t[..i]);
                    break;
                }
                None => prefix.push_str(t),
            }
        }
        ArnTemplate {
            segments: <[Vec<PatternToken>; 6]>::try_from(segments)
                .ok()
                .map(Box::new),
            vars: c.vars,
            prefix,
        }
    }

    /// Matches an ARN; `None` when the pattern is unusable for this request
    /// (a variable is unresolvable, or the first segment is not `arn`).
    pub fn matches(&self, ctx: &Context, arn: &Arn<'_>) -> Option<bool> {
        let segments = self.segments.as_deref()?;
        with_values(&self.vars, ctx, |values| {
            // The first segment must be exactly `arn`, without wildcards.
            if !is_literally(&segments[0], values, "arn") {
                return None;
            }
            let texts = [
                arn.partition,
                arn.service,
                arn.region,
                arn.account,
                arn.resource,
            ];
            // The resource part first: where patterns usually differ.
            Some(
                (0..5)
                    .rev()
                    .all(|i| match_with(&segments[i + 1], values, texts[i])),
            )
        })
        .flatten()
    }

    /// Matches a request's resource, given as text and as its ARN: `false`
    /// also when the pattern is unusable.
    pub fn matches_resource(&self, ctx: &Context, text: &str, arn: &Arn<'_>) -> bool {
        text.starts_with(self.prefix.as_str()) && self.matches(ctx, arn) == Some(true)
    }
}

/// The tokens have no wildcard and spell exactly `want`.
fn is_literally(tokens: &[PatternToken], values: &[&str], want: &str) -> bool {
    let mut rest = want;
    for t in tokens {
        match t.view(values) {
            Tok::Lit(s) => match rest.strip_prefix(s) {
                Some(r) => rest = r,
                None => return false,
            },
            Tok::Star | Tok::One => return false,
        }
    }
    rest.is_empty()
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

/// A variable's value, borrowed: only single-valued keys can be
/// substituted.
fn lookup_str<'a>(
    ctx: &'a Context,
    key_lower: &str,
    key_hash: KeyHash,
    default: Option<&'a str>,
) -> Option<&'a str> {
    match ctx.get_hashed(key_lower, key_hash) {
        Some(ContextValue::Single(v)) => Some(v),
        Some(ContextValue::Multi(_)) => None,
        None => default,
    }
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
    fn compiled_templates_agree_with_resolving() {
        let templates = [
            "arn:aws:s3:::home/${aws:username}/*",
            "arn:aws:s3:::home/${aws:PrincipalTag/team}/${aws:username}",
            "arn:${aws:partition, 'aws'}:s3:::b/*",
            "${aws:arnprefix}:s3:::b",
            "arn:aws:s3:::a${*}b?/${aws:TagKeys}",
            "arn:aws:iam::${aws:PrincipalAccount}:role/x:y:${aws:username}",
            "arn:aws:s3:::${aws:missing}",
            "arn:aws:s3:::${aws:missing, 'dflt'}/*",
            "arn:aws:s3::b/${aws:username}",
            "arn*:aws:s3:::${aws:username}",
        ];
        let arns = [
            "arn:aws:s3:::home/Bob*/x",
            "arn:aws:s3:::home/ml/Bob*",
            "arn:aws:s3:::home/Bob/x",
            "arn:aws:s3:::b/k",
            "arn:aws:s3:::b",
            "arn:aws:s3:::a*bc/x",
            "arn:aws:iam::123456789012:role/x:y:Bob*",
            "arn:aws:s3:::dflt/z",
            "arn:aws-cn:s3:::b/1",
        ];
        let mut c = ctx();
        c.insert("aws:PrincipalAccount", "123456789012");
        c.insert("aws:arnprefix", "arn:aws");
        for t in templates {
            let template = Template::parse(t).unwrap().unwrap();
            let compiled = ArnTemplate::new(&template);
            let like = TemplatePattern::new(&template, true);
            let equals = TemplatePattern::new(&template, false);
            for text in arns {
                let arn = Arn::parse(text).unwrap();
                let want =
                    crate::condition::resolve_arn_pattern(&template, &c).map(|p| p.matches(&arn));
                assert_eq!(compiled.matches(&c, &arn), want, "{t} on {text}");
                assert_eq!(
                    compiled.matches_resource(&c, text, &arn),
                    want == Some(true),
                    "{t} on {text}"
                );
                let want_like = template.resolve_glob(&c).map(|g| g.matches(text));
                assert_eq!(like.matches(&c, text), want_like, "{t} like {text}");
                let want_eq = template.resolve_string(&c).map(|s| s == text);
                assert_eq!(equals.matches(&c, text), want_eq, "{t} = {text}");
            }
        }
    }

    #[test]
    fn syntax_errors() {
        assert!(Template::parse("${aws:username").is_err());
        assert!(Template::parse("${aws:username, none}").is_err());
        assert!(Template::parse("${}").is_err());
        assert_eq!(Template::parse("plain").unwrap(), None);
    }
}
