//! A lenient view of a policy document for the linter.
//!
//! The parser stops at the first grammar error; the linter reads whatever
//! it can, so one run reports everything that is wrong. Each element keeps
//! its JSON path (as the parser spells it: `Statement[0].Action[1]`) and the
//! span of its value or key, so a finding can point at the exact place.
//! Elements the reader cannot make sense of are left out: the parser's
//! grammar error covers them.

use crate::condition::Operator;
use crate::json::{Span, Spanned, Value};

/// A place in the document: a JSON path and the span to point at.
#[derive(Debug, Clone)]
pub(super) struct Loc {
    pub path: String,
    pub span: Span,
}

/// A string value with its place.
#[derive(Debug, Clone)]
pub(super) struct Text<'a> {
    pub text: &'a str,
    pub loc: Loc,
}

/// The document.
#[derive(Debug)]
pub(super) struct Doc<'a> {
    pub root_span: Span,
    /// `Version` as written, when it is a string.
    pub version: Option<Text<'a>>,
    /// `Version` is present (whatever its value).
    pub version_present: bool,
    /// `Statement` is an empty array.
    pub statement_empty: Option<Loc>,
    pub statements: Vec<Stmt<'a>>,
}

/// `Effect`, when readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// One statement.
#[derive(Debug)]
pub(super) struct Stmt<'a> {
    pub loc: Loc,
    pub sid: Option<Text<'a>>,
    pub effect: Option<Effect>,
    pub principal: Option<PrincipalNode<'a>>,
    pub action: Option<Block<'a>>,
    pub resource: Option<Block<'a>>,
    pub condition: Option<CondBlock<'a>>,
}

/// `Action` / `NotAction` or `Resource` / `NotResource`.
#[derive(Debug)]
pub(super) struct Block<'a> {
    pub negated: bool,
    /// The element's key (`Statement[0].NotAction` and the key's span).
    pub key: Loc,
    pub items: Vec<Text<'a>>,
}

impl Block<'_> {
    pub fn has_star(&self) -> bool {
        self.items.iter().any(|i| i.text == "*")
    }
}

/// `Principal` / `NotPrincipal`.
#[derive(Debug)]
pub(super) struct PrincipalNode<'a> {
    pub negated: bool,
    pub key: Loc,
    pub form: PrincipalForm<'a>,
}

/// The shapes a principal element takes.
#[derive(Debug)]
pub(super) enum PrincipalForm<'a> {
    /// `"*"`.
    Star,
    /// Any other plain string (the parser reads it as `{"AWS": ...}`).
    Plain(Text<'a>),
    /// `{"AWS": ..., "Service": ...}`: (kind as written, key, values).
    Map(Vec<(Text<'a>, Vec<Text<'a>>)>),
    /// Something else; the parser reports it.
    Other,
}

impl PrincipalForm<'_> {
    /// Everyone: `"*"` or `{"AWS": "*"}`.
    pub fn is_public(&self) -> bool {
        match self {
            PrincipalForm::Star => true,
            PrincipalForm::Map(entries) => entries
                .iter()
                .any(|(kind, values)| kind.text == "AWS" && values.iter().any(|v| v.text == "*")),
            _ => false,
        }
    }

    /// The `Service` principals named.
    pub fn services(&self) -> impl Iterator<Item = &Text<'_>> {
        let entries: &[(Text<'_>, Vec<Text<'_>>)] = match self {
            PrincipalForm::Map(entries) => entries,
            _ => &[],
        };
        entries
            .iter()
            .filter(|(kind, _)| kind.text == "Service")
            .flat_map(|(_, values)| values.iter())
    }
}

/// `Condition`.
#[derive(Debug)]
pub(super) struct CondBlock<'a> {
    pub key: Loc,
    pub empty: bool,
    pub operators: Vec<OpEntry<'a>>,
}

impl CondBlock<'_> {
    /// Every (operator, key) pair whose operator is known.
    pub fn entries(&self) -> impl Iterator<Item = (&OpEntry<'_>, Operator, &KeyEntry<'_>)> {
        self.operators.iter().flat_map(|op| {
            op.operator
                .into_iter()
                .flat_map(move |o| op.keys.iter().map(move |k| (op, o, k)))
        })
    }

    /// Whether a condition names `key` (case-insensitively) under any
    /// known operator.
    pub fn has_key(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.entries().any(|(_, _, k)| pred(k.key.text))
    }
}

/// `"StringEquals": { ... }` inside `Condition`.
#[derive(Debug)]
pub(super) struct OpEntry<'a> {
    /// The operator name as written, located at its key.
    pub name: Text<'a>,
    /// `None` when the name is not an operator.
    pub operator: Option<Operator>,
    /// The operator's value is an empty object.
    pub empty: bool,
    pub keys: Vec<KeyEntry<'a>>,
}

/// `"aws:SourceIp": [...]` under an operator.
#[derive(Debug)]
pub(super) struct KeyEntry<'a> {
    /// The key as written, located at the key.
    pub key: Text<'a>,
    /// The values' element (the array or the single value).
    pub value_loc: Loc,
    pub empty_array: bool,
    pub values: Vec<CondValue>,
}

/// One condition value: strings, numbers and booleans as their text.
#[derive(Debug)]
pub(super) struct CondValue {
    pub text: String,
    pub loc: Loc,
}

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The members of an object, first occurrence of each name only.
fn members(value: &Spanned<Value>) -> Option<Vec<(&Spanned<String>, &Spanned<Value>)>> {
    let Value::Object(members) = &value.value else {
        return None;
    };
    let mut out: Vec<(&Spanned<String>, &Spanned<Value>)> = Vec::with_capacity(members.len());
    for (k, v) in members {
        if !out.iter().any(|(seen, _)| seen.value == k.value) {
            out.push((k, v));
        }
    }
    Some(out)
}

fn get<'v>(
    members: &[(&'v Spanned<String>, &'v Spanned<Value>)],
    name: &str,
) -> Option<(&'v Spanned<String>, &'v Spanned<Value>)> {
    members.iter().find(|(k, _)| k.value == name).copied()
}

fn text<'a>(value: &'a Spanned<Value>, path: String) -> Option<Text<'a>> {
    match &value.value {
        Value::String(s) => Some(Text {
            text: s,
            loc: Loc {
                path,
                span: value.span,
            },
        }),
        _ => None,
    }
}

fn key_text<'a>(key: &'a Spanned<String>, path: String) -> Text<'a> {
    Text {
        text: &key.value,
        loc: Loc {
            path,
            span: key.span,
        },
    }
}

/// A string or an array of strings; non-strings are skipped.
fn strings<'a>(value: &'a Spanned<Value>, path: &str) -> Vec<Text<'a>> {
    match &value.value {
        Value::String(_) => text(value, path.to_string()).into_iter().collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| text(item, format!("{path}[{i}]")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads the document; `None` when the root is not an object.
pub(super) fn read(root: &Spanned<Value>) -> Option<Doc<'_>> {
    let top = members(root)?;
    let version = get(&top, "Version");
    let mut doc = Doc {
        root_span: root.span,
        version: version.and_then(|(_, v)| text(v, "Version".to_string())),
        version_present: version.is_some(),
        statement_empty: None,
        statements: Vec::new(),
    };
    if let Some((key, value)) = get(&top, "Statement") {
        match &value.value {
            Value::Array(items) if items.is_empty() => {
                doc.statement_empty = Some(Loc {
                    path: "Statement".to_string(),
                    span: key.span,
                });
            }
            Value::Array(items) => {
                doc.statements = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| statement(s, format!("Statement[{i}]")))
                    .collect();
            }
            Value::Object(_) => {
                doc.statements = statement(value, "Statement".to_string())
                    .into_iter()
                    .collect();
            }
            _ => {}
        }
    }
    Some(doc)
}

fn statement(value: &Spanned<Value>, path: String) -> Option<Stmt<'_>> {
    let m = members(value)?;
    let effect = get(&m, "Effect").and_then(|(_, v)| match &v.value {
        Value::String(s) if s == "Allow" => Some(Effect::Allow),
        Value::String(s) if s == "Deny" => Some(Effect::Deny),
        _ => None,
    });
    let block = |plain: &str, negated: &str| {
        let (neg, (key, v)) = match (get(&m, plain), get(&m, negated)) {
            (Some(kv), _) => (false, kv),
            (None, Some(kv)) => (true, kv),
            (None, None) => return None,
        };
        let name = if neg { negated } else { plain };
        let key_path = join(&path, name);
        Some(Block {
            negated: neg,
            items: strings(v, &key_path),
            key: Loc {
                path: key_path,
                span: key.span,
            },
        })
    };
    let action = block("Action", "NotAction");
    let resource = block("Resource", "NotResource");
    let principal = principal(&m, &path);
    let condition = get(&m, "Condition").map(|(k, v)| condition(k, v, &join(&path, "Condition")));
    Some(Stmt {
        sid: get(&m, "Sid").and_then(|(_, v)| text(v, join(&path, "Sid"))),
        effect,
        principal,
        action,
        resource,
        condition,
        loc: Loc {
            path,
            span: value.span,
        },
    })
}

fn principal<'a>(
    m: &[(&'a Spanned<String>, &'a Spanned<Value>)],
    path: &str,
) -> Option<PrincipalNode<'a>> {
    let (negated, (key, value)) = match (get(m, "Principal"), get(m, "NotPrincipal")) {
        (Some(kv), _) => (false, kv),
        (None, Some(kv)) => (true, kv),
        (None, None) => return None,
    };
    let name = if negated { "NotPrincipal" } else { "Principal" };
    let key_path = join(path, name);
    let form = match &value.value {
        Value::String(s) if s == "*" => PrincipalForm::Star,
        Value::String(_) => match text(value, key_path.clone()) {
            Some(t) => PrincipalForm::Plain(t),
            None => PrincipalForm::Other,
        },
        Value::Object(_) => {
            let entries = members(value)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let kind_path = join(&key_path, &k.value);
                    let values = strings(v, &kind_path);
                    (key_text(k, kind_path), values)
                })
                .collect();
            PrincipalForm::Map(entries)
        }
        _ => PrincipalForm::Other,
    };
    Some(PrincipalNode {
        negated,
        key: Loc {
            path: key_path,
            span: key.span,
        },
        form,
    })
}

fn condition<'a>(key: &'a Spanned<String>, value: &'a Spanned<Value>, path: &str) -> CondBlock<'a> {
    let ops = members(value).unwrap_or_default();
    let operators = ops
        .iter()
        .map(|(op_key, op_value)| {
            let op_path = join(path, &op_key.value);
            let keys = members(op_value)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let key_path = join(&op_path, &k.value);
                    condition_values(k, v, key_path)
                })
                .collect::<Vec<_>>();
            OpEntry {
                operator: Operator::parse(&op_key.value),
                empty: matches!(&op_value.value, Value::Object(m) if m.is_empty()),
                keys,
                name: key_text(op_key, op_path),
            }
        })
        .collect();
    CondBlock {
        key: Loc {
            path: path.to_string(),
            span: key.span,
        },
        empty: matches!(&value.value, Value::Object(m) if m.is_empty()),
        operators,
    }
}

fn condition_values<'a>(
    key: &'a Spanned<String>,
    value: &'a Spanned<Value>,
    path: String,
) -> KeyEntry<'a> {
    let scalar = |v: &Spanned<Value>, p: String| -> Option<CondValue> {
        let text = match &v.value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.clone(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some(CondValue {
            text,
            loc: Loc {
                path: p,
                span: v.span,
            },
        })
    };
    let (values, empty_array) = match &value.value {
        Value::Array(items) => (
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| scalar(item, format!("{path}[{i}]")))
                .collect(),
            items.is_empty(),
        ),
        _ => (scalar(value, path.clone()).into_iter().collect(), false),
    };
    KeyEntry {
        value_loc: Loc {
            path: path.clone(),
            span: value.span,
        },
        key: key_text(key, path),
        empty_array,
        values,
    }
}
