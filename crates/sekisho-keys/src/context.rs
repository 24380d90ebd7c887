//! Encryption context: the caller's String→String map that is bound to a
//! ciphertext as additional authenticated data, as in KMS.

use std::collections::BTreeMap;

/// A KMS encryption context. A `BTreeMap` keeps it sorted by key, which the
/// canonical encoding relies on. An empty map and "no context" are the same.
pub type EncryptionContext = BTreeMap<String, String>;

/// The canonical byte encoding: a count, then each key and value with a
/// 4-byte big-endian length prefix, in key order. The prefixes make
/// `{"a":"bc"}` and `{"ab":"c"}` encode differently.
pub fn canonical_context(ctx: &EncryptionContext) -> Vec<u8> {
    let size: usize = ctx.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(4 + size);
    push_len(&mut out, ctx.len());
    for (k, v) in ctx {
        push_len(&mut out, k.len());
        out.extend_from_slice(k.as_bytes());
        push_len(&mut out, v.len());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Appends a length as u32 big-endian. Lengths above u32::MAX cannot occur
/// for in-memory strings the gateway accepts; they saturate rather than wrap.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    let n = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn length_prefix_separates_boundaries() {
        assert_ne!(
            canonical_context(&ctx(&[("a", "bc")])),
            canonical_context(&ctx(&[("ab", "c")]))
        );
    }

    #[test]
    fn order_independent() {
        let a = ctx(&[("x", "1"), ("a", "2")]);
        let b = ctx(&[("a", "2"), ("x", "1")]);
        assert_eq!(canonical_context(&a), canonical_context(&b));
        assert_eq!(
            canonical_context(&EncryptionContext::new()),
            vec![0, 0, 0, 0]
        );
    }
}
