//! The request context: condition keys and their values.
//!
//! Keys are case-insensitive in IAM, values are not: keys are stored
//! lower-cased once, when the context is built, so that every look-up during
//! evaluation is a single hash probe with a key the policy lower-cased at
//! compile time.

use std::collections::HashMap;

/// A context key's value: one string, or a set of strings for multivalued
/// keys such as `aws:TagKeys` or `aws:PrincipalOrgPaths`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice, whatever the shape.
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(v) => v,
        }
    }
}

/// Condition keys of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    keys: HashMap<String, ContextValue>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), ContextValue::Single(value.into()));
    }

    /// Sets a multivalued key, replacing any earlier value.
    pub fn insert_multi(&mut self, key: &str, values: Vec<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), ContextValue::Multi(values));
    }

    /// Sets a key only if it is not set yet.
    pub fn insert_default(&mut self, key: &str, value: impl Into<String>) {
        self.keys
            .entry(key.to_ascii_lowercase())
            .or_insert_with(|| ContextValue::Single(value.into()));
    }

    /// Looks a key up in any case.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.keys.get(&key.to_ascii_lowercase())
    }

    /// Looks up a key that is already lower-case (the fast path).
    pub fn get_lower(&self, key_lower: &str) -> Option<&ContextValue> {
        self.keys.get(key_lower)
    }

    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        self.keys.remove(&key.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys (lower-cased) and values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }
}
