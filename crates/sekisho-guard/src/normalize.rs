//! The normalized view every detector scans, and the map back to the original.
//!
//! Evasion lives in the gap between what a reader sees and what a byte
//! matcher sees: full-width digits, look-alike hyphens, zero-width characters
//! inside an e-mail address, kanji numerals in a phone number. One pass folds
//! all of that into a view (NFKC + the extra folds below) and records, for
//! every normalized byte, the original byte range it came from, so a match in
//! the view masks exactly the original characters and nothing else.
//!
//! The map is a list of segments rather than one entry per byte: identity runs
//! (ASCII, kana, most kanji) collapse into one segment, which keeps the pass at
//! memory speed on ordinary text.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

/// The normalized text and its segment map to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    segs: Vec<Seg>,
}

/// One segment: `norm_len` normalized bytes that came from `orig_len`
/// original bytes. Identity segments map byte for byte; the others map as a
/// unit (one original cluster became something else, possibly nothing).
#[derive(Debug, Clone, Copy)]
struct Seg {
    norm: usize,
    orig: usize,
    norm_len: usize,
    orig_len: usize,
    identity: bool,
}

/// Positional kanji numerals folded to digits inside digit runs. `十百千`
/// are not positional and are left alone: a phone number is never spelled
/// with them, and folding them would garble ordinary prose.
fn kanji_digit(c: char) -> Option<char> {
    Some(match c {
        '〇' | '零' => '0',
        '一' | '壱' => '1',
        '二' | '弐' => '2',
        '三' | '参' => '3',
        '四' => '4',
        '五' => '5',
        '六' => '6',
        '七' => '7',
        '八' => '8',
        '九' => '9',
        _ => return None,
    })
}

/// Characters with no visible glyph that an attacker can sprinkle inside an
/// identifier to break a matcher; they are dropped from the view.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{E0100}'..='\u{E01EF}')
}

/// Dash and minus look-alikes that NFKC leaves alone; always folded to '-'.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'
            ..='\u{2015}'
                | '\u{2212}'
                | '\u{2043}'
                | '\u{02D7}'
                | '\u{FE58}'
                | '\u{2500}'
                | '\u{2501}'
                | '\u{2E3A}'
                | '\u{2E3B}'
    )
}

/// Marks that read as a separator only between digits (the long-vowel mark
/// and the middle dot are ordinary letters/punctuation in Japanese words).
fn is_digit_only_separator(c: char) -> bool {
    matches!(
        c,
        '\u{30FC}' | '\u{FF70}' | '\u{30FB}' | '\u{FF65}' | '\u{2027}'
    )
}

/// Could this original character become a digit in the view?
fn is_digitish(c: char) -> bool {
    c.is_ascii_digit()
        || ('\u{FF10}'..='\u{FF19}').contains(&c)
        || ('\u{1D7CE}'..='\u{1D7FF}').contains(&c)
        || kanji_digit(c).is_some()
}

/// Characters NFKC maps to themselves, checked without running the
/// normalizer: ASCII, hiragana, katakana (not the half-width forms), the
/// common CJK ideographs and Japanese punctuation.
fn nfkc_stable(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{30FC}'..='\u{30FE}'
        | '\u{4E00}'..='\u{9FFF}' | '\u{3001}'..='\u{3002}' | '\u{3005}'..='\u{3007}' | '\u{300C}'..='\u{3011}')
}

/// Joins a starter with the marks that compose with it under NFKC
/// (combining marks and the Japanese voiced-sound marks).
fn is_combining(c: char) -> bool {
    match c {
        '\u{3099}' | '\u{309A}' | '\u{FF9E}' | '\u{FF9F}' => true,
        // Kana and ideographs are starters: skip the table lookup.
        c if (c as u32) < 0x300 || nfkc_stable(c) => false,
        c => canonical_combining_class(c) != 0,
    }
}

/// A character the fast path may copy as is: NFKC-stable and not one of
/// the characters whose meaning depends on neighbouring digits.
fn plain(c: char) -> bool {
    // `nfkc_stable` without the kanji numerals (〇 U+3007 and the rest in
    // the ideograph block) and the long-vowel mark (U+30FC), ideographs
    // first: the common case is decided by one range test.
    match c {
        '\u{4E00}'..='\u{9FFF}' => kanji_digit(c).is_none(),
        '\u{3041}'..='\u{3096}'
        | '\u{30A1}'..='\u{30FA}'
        | '\u{30FD}'..='\u{30FE}'
        | '\u{3001}'..='\u{3002}'
        | '\u{3005}'..='\u{3006}'
        | '\u{300C}'..='\u{3011}' => true,
        _ => false,
    }
}

/// The length of the leading run of ASCII bytes, eight bytes at a time.
fn ascii_prefix(bytes: &[u8]) -> usize {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if word & HIGH_BITS != 0 {
            break;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|b| b.is_ascii()).count()
}

/// The length of the leading run of plain kana/kanji: identity, except a
/// last character that a combining mark follows (it composes under NFKC).
/// Combining marks are never plain, so one look at each character does.
fn plain_run(s: &str) -> usize {
    let mut run = 0;
    let mut last_start = 0;
    for (off, c) in s.char_indices() {
        if !plain(c) {
            if is_combining(c) {
                run = last_start;
            }
            break;
        }
        last_start = off;
        run = off + c.len_utf8();
    }
    run
}

impl Normalized {
    /// Build the view of `original` in one pass.
    pub fn new(original: &str) -> Self {
        let mut b = Builder {
            out: String::with_capacity(original.len()),
            segs: Vec::new(),
            last: None,
        };
        let bytes = original.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            // ASCII fast path: a whole ASCII run is identity, except a last
            // letter that a combining mark follows (it composes under NFKC).
            if byte < 0x80 {
                let j = i + ascii_prefix(&bytes[i..]);
                let mut k = j;
                if original[j..].chars().next().is_some_and(is_combining) {
                    k = j - 1;
                }
                if k > i {
                    b.identity(i, &original[i..k]);
                    i = k;
                    continue;
                }
            }
            let rest = &original[i..];
            let run = plain_run(rest);
            if run > 0 {
                b.identity(i, &rest[..run]);
                i += run;
                continue;
            }
            let mut chars = rest.char_indices();
            let Some((_, c)) = chars.next() else { break };
            let mut end = c.len_utf8();
            for (off, n) in chars {
                if is_combining(n) {
                    end = off + n.len_utf8();
                } else {
                    break;
                }
            }
            let cluster = &rest[..end];
            let single = end == c.len_utf8();
            let next = rest[end..].chars().next();
            b.cluster(i, cluster, c, single, next, rest[end..].chars().nth(1));
            i += end;
        }
        Normalized {
            text: b.out,
            segs: b.segs,
        }
    }

    /// The normalized view.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original byte range that the normalized byte range `start..end`
    /// came from. Removed characters strictly inside the range are included;
    /// those at its edges are not.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end {
            let o = self.map_start(start);
            return (o, o);
        }
        (self.map_start(start), self.map_end(end))
    }

    fn seg_index(&self, pos: usize) -> usize {
        // Last segment with norm <= pos and a non-empty normalized part.
        let idx = self.segs.partition_point(|s| s.norm + s.norm_len <= pos);
        idx.min(self.segs.len().saturating_sub(1))
    }

    fn map_start(&self, pos: usize) -> usize {
        if self.segs.is_empty() {
            return 0;
        }
        let i = self.seg_index(pos);
        let s = self.segs[i];
        if pos >= s.norm + s.norm_len {
            return s.orig + s.orig_len;
        }
        if s.identity {
            s.orig + (pos - s.norm)
        } else {
            s.orig
        }
    }

    fn map_end(&self, pos: usize) -> usize {
        if self.segs.is_empty() {
            return 0;
        }
        let i = self.seg_index(pos - 1);
        let s = self.segs[i];
        if s.identity {
            s.orig + (pos - s.norm).min(s.orig_len)
        } else {
            s.orig + s.orig_len
        }
    }
}

struct Builder {
    out: String,
    segs: Vec<Seg>,
    /// The last character emitted, for the digit-context folds.
    last: Option<char>,
}

impl Builder {
    fn identity(&mut self, orig: usize, s: &str) {
        let norm = self.out.len();
        self.out.push_str(s);
        self.last = s.chars().next_back().or(self.last);
        if let Some(l) = self.segs.last_mut()
            && l.identity
            && l.norm + l.norm_len == norm
            && l.orig + l.orig_len == orig
        {
            l.norm_len += s.len();
            l.orig_len += s.len();
            return;
        }
        self.segs.push(Seg {
            norm,
            orig,
            norm_len: s.len(),
            orig_len: s.len(),
            identity: true,
        });
    }

    fn replaced(&mut self, orig: usize, orig_len: usize, s: &str) {
        let norm = self.out.len();
        self.out.push_str(s);
        self.last = s.chars().next_back().or(self.last);
        self.segs.push(Seg {
            norm,
            orig,
            norm_len: s.len(),
            orig_len,
            identity: false,
        });
    }

    fn last_is_digit(&self) -> bool {
        self.last.is_some_and(|c| c.is_ascii_digit())
    }

    /// Inside a digit run: the previous character is a digit, or a digit
    /// then one separator (so "090-一二三四" folds after the hyphen).
    fn in_digit_run(&self) -> bool {
        if self.last_is_digit() {
            return true;
        }
        let mut it = self.out.chars().rev();
        matches!(it.next(), Some('-' | ' ')) && it.next().is_some_and(|c| c.is_ascii_digit())
    }

    fn cluster(
        &mut self,
        orig: usize,
        cluster: &str,
        c: char,
        single: bool,
        next: Option<char>,
        after: Option<char>,
    ) {
        let len = cluster.len();
        if single {
            if is_invisible(c) {
                self.replaced(orig, len, "");
                return;
            }
            if is_dash(c) {
                self.replaced(orig, len, "-");
                return;
            }
            if is_digit_only_separator(c) {
                if self.last_is_digit() && next.is_some_and(is_digitish) {
                    self.replaced(orig, len, "-");
                } else {
                    self.identity_or_nfkc(orig, cluster);
                }
                return;
            }
            if let Some(d) = kanji_digit(c) {
                // A lone 一 is a word (一人, 統一); three digit-ish characters
                // in a row, or one after a digit, is a number.
                let starts_run = next.is_some_and(is_digitish) && after.is_some_and(is_digitish);
                if self.in_digit_run() || starts_run {
                    let mut buf = [0u8; 4];
                    self.replaced(orig, len, d.encode_utf8(&mut buf));
                } else {
                    self.identity(orig, cluster);
                }
                return;
            }
            if nfkc_stable(c) {
                self.identity(orig, cluster);
                return;
            }
        }
        self.identity_or_nfkc(orig, cluster);
    }

    fn identity_or_nfkc(&mut self, orig: usize, cluster: &str) {
        let folded: String = cluster
            .nfkc()
            .map(|ch| if is_dash(ch) { '-' } else { ch })
            .filter(|ch| !is_invisible(*ch))
            .collect();
        if folded == cluster {
            self.identity(orig, cluster);
        } else {
            self.replaced(orig, cluster.len(), &folded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(s: &str) -> String {
        Normalized::new(s).text().to_string()
    }

    /// The fast-path test is exactly "NFKC-stable and no digit-dependent
    /// meaning" for every character.
    #[test]
    fn plain_matches_its_definition() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let defined = nfkc_stable(c) && kanji_digit(c).is_none() && !is_digit_only_separator(c);
            assert_eq!(plain(c), defined, "{c:?}");
        }
    }

    #[test]
    fn ascii_prefix_stops_at_the_first_non_ascii_byte() {
        assert_eq!(ascii_prefix(b""), 0);
        assert_eq!(ascii_prefix(b"abc"), 3);
        assert_eq!(ascii_prefix("0123456789abcdefé".as_bytes()), 16);
        assert_eq!(ascii_prefix("01234é6789abcdef".as_bytes()), 5);
        assert_eq!(ascii_prefix("é".as_bytes()), 0);
    }

    #[test]
    fn folds_full_width_and_dashes() {
        assert_eq!(view("０９０－１２３４－５６７８"), "090-1234-5678");
        assert_eq!(view("090‐1234―5678"), "090-1234-5678");
        assert_eq!(view("０９０ー１２３４ー５６７８"), "090-1234-5678");
        assert_eq!(view("コーヒー"), "コーヒー");
        assert_eq!(view("ｶﾞｰﾃﾞﾝ"), "ガーデン");
    }

    #[test]
    fn folds_kanji_numerals_in_runs_only() {
        assert_eq!(view("〇九〇‐一二三四‐五六七八"), "090-1234-5678");
        assert_eq!(view("一人で統一する"), "一人で統一する");
        assert_eq!(view("2024年一月"), "2024年一月");
    }

    #[test]
    fn drops_invisible_and_maps_back() {
        let s = "a\u{200B}b@ex\u{FEFF}ample.com";
        let n = Normalized::new(s);
        assert_eq!(n.text(), "ab@example.com");
        assert_eq!(n.original_range(0, n.text().len()), (0, s.len()));
        let s = "x ４１１１ y";
        let n = Normalized::new(s);
        assert_eq!(n.text(), "x 4111 y");
        let (a, b) = n.original_range(2, 6);
        assert_eq!(&s[a..b], "４１１１");
    }
}
