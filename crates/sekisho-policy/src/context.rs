//! The request context: condition keys and their values.
//!
//! Keys are case-insensitive in IAM, values are not: keys are stored
//! lower-cased once, when the context is built, so that every look-up during
//! evaluation compares against a key the policy lower-cased at compile time.
//!
//! Every key is stored with a 64-bit hash of its lower-cased text, in a
//! vector ordered by (hash, key), and found by binary search. The policy
//! side hashes its keys at compile time ([`KeyHash`]), so a look-up during
//! evaluation is a few integer comparisons and one string comparison to
//! confirm: cheaper than a `HashMap` with the standard library's hasher (which
//! hashes the key on every look-up), and, since ties on the hash fall back to
//! comparing the keys themselves, no choice of key names can make it worse
//! than a binary search of strings.

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

/// The hash of a lower-cased key, computed once where the key is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHash(u64);

impl KeyHash {
    /// Of a key that is already lower-case.
    pub fn of_lower(key_lower: &str) -> KeyHash {
        KeyHash(fnv1a(key_lower.as_bytes()))
    }
}

/// FNV-1a, 64 bits: short keys, no need for DoS resistance (see the module
/// documentation).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    hash: KeyHash,
    key: String,
    value: ContextValue,
}

/// Condition keys of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Ordered by (hash, key), keys unique.
    entries: Vec<Entry>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    fn find(&self, key_lower: &str, hash: KeyHash) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| {
            e.hash
                .cmp(&hash)
                .then_with(|| e.key.as_str().cmp(key_lower))
        })
    }

    /// [`find`](Self::find) for a look-up: a typical request has a dozen
    /// keys, and a forward scan of their hashes beats the bookkeeping of a
    /// binary search.
    #[inline]
    fn position(&self, key_lower: &str, hash: KeyHash) -> Option<usize> {
        if self.entries.len() > 16 {
            return self.find(key_lower, hash).ok();
        }
        for (i, e) in self.entries.iter().enumerate() {
            if e.hash == hash && e.key == key_lower {
                return Some(i);
            }
            if e.hash > hash {
                break;
            }
        }
        None
    }

    fn set(&mut self, key: &str, value: ContextValue, replace: bool) {
        let key = key.to_ascii_lowercase();
        let hash = KeyHash::of_lower(&key);
        match self.find(&key, hash) {
            Ok(i) if replace => self.entries[i].value = value,
            Ok(_) => {}
            Err(i) => self.entries.insert(i, Entry { hash, key, value }),
        }
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.set(key, ContextValue::Single(value.into()), true);
    }

    /// Sets a multivalued key, replacing any earlier value.
    pub fn insert_multi(&mut self, key: &str, values: Vec<String>) {
        self.set(key, ContextValue::Multi(values), true);
    }

    /// Sets a key only if it is not set yet.
    pub fn insert_default(&mut self, key: &str, value: impl Into<String>) {
        self.set(key, ContextValue::Single(value.into()), false);
    }

    /// Looks a key up in any case.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.get_lower(&key.to_ascii_lowercase())
    }

    /// Looks up a key that is already lower-case.
    pub fn get_lower(&self, key_lower: &str) -> Option<&ContextValue> {
        self.get_hashed(key_lower, KeyHash::of_lower(key_lower))
    }

    /// Looks up a lower-case key whose hash the caller computed once (the
    /// evaluation hot path).
    #[inline]
    pub fn get_hashed(&self, key_lower: &str, hash: KeyHash) -> Option<&ContextValue> {
        self.position(key_lower, hash)
            .map(|i| &self.entries[i].value)
    }

    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        let key = key.to_ascii_lowercase();
        let i = self.find(&key, KeyHash::of_lower(&key)).ok()?;
        Some(self.entries.remove(i).value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys (lower-cased) and values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_unique() {
        let mut c = Context::new();
        c.insert("aws:PrincipalTag/Team", "ml");
        c.insert("AWS:principaltag/team", "ops");
        c.insert_default("aws:principaltag/TEAM", "ignored");
        c.insert_multi("aws:TagKeys", vec!["a".into()]);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.get("aws:principaltag/team"),
            Some(&ContextValue::Single("ops".into()))
        );
        let key = "aws:tagkeys";
        assert!(c.get_hashed(key, KeyHash::of_lower(key)).is_some());
        assert_eq!(c.remove("AWS:TAGKEYS").map(|v| v.values().len()), Some(1));
        assert!(c.get("aws:TagKeys").is_none());
        // Many keys: every one is found, whatever the insertion order.
        let mut big = Context::new();
        for i in (0..200).rev() {
            big.insert(&format!("k:{i}"), i.to_string());
        }
        for i in 0..200 {
            assert_eq!(
                big.get(&format!("K:{i}")),
                Some(&ContextValue::Single(i.to_string()))
            );
        }
    }
}
