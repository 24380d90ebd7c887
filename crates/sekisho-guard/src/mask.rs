//! Masking: replace exactly the original characters of each anonymized
//! match by its tag and leave every other byte as it was.

/// A span of the original text to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaskSpan {
    pub start: usize,
    pub end: usize,
    pub tag: String,
    /// Higher wins a tie in length: PII types over custom regexes.
    pub specificity: u8,
}

/// Apply `spans` to `original`. Overlapping spans are merged into one
/// replacement (nothing a detector found may leak out of a partial overlap);
/// the merged span takes the tag of its longest member, then the most
/// specific, then the earliest, so the result does not depend on the order
/// the detectors reported in.
pub(crate) fn mask(original: &str, mut spans: Vec<MaskSpan>) -> String {
    spans.retain(|s| {
        s.start < s.end
            && s.end <= original.len()
            && original.is_char_boundary(s.start)
            && original.is_char_boundary(s.end)
    });
    if spans.is_empty() {
        return original.to_string();
    }
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out = String::with_capacity(original.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let start = spans[i].start;
        let mut end = spans[i].end;
        let mut best = i;
        let mut j = i + 1;
        while j < spans.len() && spans[j].start < end {
            end = end.max(spans[j].end);
            let (b, c) = (&spans[best], &spans[j]);
            if (c.end - c.start, c.specificity) > (b.end - b.start, b.specificity) {
                best = j;
            }
            j += 1;
        }
        out.push_str(&original[pos..start]);
        out.push_str(&spans[best].tag);
        pos = end;
        i = j;
    }
    out.push_str(&original[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(start: usize, end: usize, tag: &str, specificity: u8) -> MaskSpan {
        MaskSpan {
            start,
            end,
            tag: tag.into(),
            specificity,
        }
    }

    #[test]
    fn merges_overlaps_deterministically() {
        let s = "abcdefghij";
        assert_eq!(mask(s, vec![sp(2, 4, "{X}", 1)]), "ab{X}efghij");
        assert_eq!(
            mask(s, vec![sp(2, 6, "{A}", 1), sp(4, 8, "{B}", 2)]),
            "ab{B}ij"
        );
        assert_eq!(
            mask(s, vec![sp(4, 8, "{B}", 1), sp(2, 6, "{A}", 1)]),
            "ab{A}ij"
        );
        assert_eq!(
            mask(s, vec![sp(0, 10, "{ALL}", 0), sp(2, 3, "{A}", 9)]),
            "{ALL}"
        );
        assert_eq!(mask("日本", vec![sp(1, 2, "{A}", 0)]), "日本");
    }
}
