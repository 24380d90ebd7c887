//! Text normalization and hashed n-gram features, bit-for-bit the same as
//! `scripts/train-guard-classifiers.py` (`normalize`, `features`).
//!
//! * normalize: NFKC, then full-string lower-casing (`str::to_lowercase`, which
//!   like Python's `str.lower` applies the final-sigma rule), then drop
//!   [`is_ignorable`] code points, map [`is_space`] code points to `' '`,
//!   collapse runs of spaces and trim them at both ends.
//! * char n-grams (n = `char_min..=char_max`) over code points, attributed to
//!   their first code point; word 1-grams and 2-grams over tokens (maximal runs
//!   of code points that are neither `' '` nor [`is_word_separator`]),
//!   attributed to the first token's start.
//! * hash: FNV-1a 64 from `FNV_OFFSET ^ seed`, fed one kind byte (`c`, `w`,
//!   `b`) and then the UTF-8 bytes (a bigram is `w1 ' ' w2`); bucket =
//!   `(h ^ (h >> 32)) & (2^bits - 1)`, sign = `-1` when bit 63 is set.

use unicode_normalization::UnicodeNormalization;

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(crate) const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The White_Space code points (the set is spelled out, not taken from a
/// Unicode table, so both implementations agree whatever their Unicode version).
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Invisible code points dropped before featurization (soft hyphen, zero-width
/// space/joiners, word joiner, BOM, Mongolian vowel separator).
pub fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{ad}' | '\u{180e}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
    )
}

/// Code points that end a word token (besides the space).
pub fn is_word_separator(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '、' | '。'
                | '「'
                | '」'
                | '『'
                | '』'
                | '・'
                | '【'
                | '】'
                | '〈'
                | '〉'
                | '《'
                | '》'
                | '〔'
                | '〕'
                | '…'
                | '‥'
        )
}

/// Kana, CJK ideographs and the common Japanese punctuation: code points
/// that NFKC and lower-casing leave as they are (and that combine with
/// nothing), so text made of them and ASCII skips both (checked against the
/// Unicode tables for every one of them in the tests).
fn is_plain_japanese(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{3096}'     // hiragana
        | '\u{30A1}'..='\u{30FA}'   // katakana
        | '\u{30FC}'                 // prolonged sound mark
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{3001}'..='\u{3002}'   // 、。
        | '\u{300C}'..='\u{300F}'   // 「」『』
        | '\u{3005}'                 // 々
        | '\u{3012}') // 〒
}

/// Normalizes `text`; returns the normalized string and its length in code points.
///
/// The text is normalized piece by piece between ASCII white space, which
/// gives what normalizing it whole gives: a space composes with nothing on
/// either side (NFKC), and it is neither cased nor case-ignorable, so it ends
/// the context of the final-sigma rule (lower-casing). Pieces made only of
/// ASCII and [`is_plain_japanese`] code points, which NFKC and lower-casing
/// leave as they are apart from ASCII case, skip both; only the other
/// pieces pay for them.
pub fn normalize(text: &str) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut out = Collapse::new(text.len());
    let mut lowered = String::new();
    // Where the current piece starts, in `text` and in the output.
    let mut piece = (0usize, out.mark());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if is_ascii_space_byte(b) {
            out.space();
            i += 1;
            piece = (i, out.mark());
        } else if let (run, chars) = plain_run(text, i)
            && run > i
        {
            out.push_plain(&text[i..run], chars);
            i = run;
        } else {
            // This piece needs NFKC and full lower-casing: redo it whole.
            let end = bytes[i..]
                .iter()
                .position(|&b| is_ascii_space_byte(b))
                .map_or(bytes.len(), |k| i + k);
            out.reset(piece.1);
            lowered.clear();
            lower_nfkc(&text[piece.0..end], &mut lowered);
            for c in lowered.chars() {
                out.push(c);
            }
            i = end;
        }
    }
    out.finish()
}

/// The end (in bytes) and length (in code points) of the run of ASCII
/// without white space and plain-Japanese code points at byte `i`.
fn plain_run(text: &str, mut i: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut chars = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii() {
            if is_ascii_space_byte(b) {
                break;
            }
            i += 1;
        } else if plain_japanese_at(bytes, i) {
            i += 3;
        } else {
            break;
        }
        chars += 1;
    }
    (i, chars)
}

/// Whether a plain-Japanese code point starts at byte `i` of the UTF-8
/// `bytes` (each is three bytes long, U+3001 to U+9FFF).
#[inline(always)]
fn plain_japanese_at(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i..i + 3) {
        Some(&[b0 @ 0xe3..=0xe9, b1, b2]) => {
            let cp =
                (u32::from(b0 & 0x0f) << 12) | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
            char::from_u32(cp).is_some_and(is_plain_japanese)
        }
        _ => false,
    }
}

/// [`normalize`] by the letter of its definition, the whole text at once
/// (the reference for the tests).
#[cfg(test)]
fn normalize_full(text: &str) -> (String, usize) {
    let mut lowered = String::new();
    lower_nfkc(text, &mut lowered);
    let mut out = Collapse::new(lowered.len());
    for c in lowered.chars() {
        out.push(c);
    }
    out.finish()
}

fn is_ascii_space_byte(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// NFKC, then full lower-casing, of `text`, appended to `out`.
fn lower_nfkc(text: &str, out: &mut String) {
    if unicode_normalization::is_nfkc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        out.push_str(&text.to_lowercase());
    } else {
        out.push_str(&text.nfkc().collect::<String>().to_lowercase());
    }
}

/// The last step of [`normalize`]: drops [`is_ignorable`] code points, turns
/// each run of [`is_space`] code points into one `' '` and trims them at
/// both ends, counting code points.
struct Collapse {
    out: String,
    n: usize,
    /// The last code point written was a space (or nothing was written yet).
    space: bool,
}

impl Collapse {
    fn new(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            n: 0,
            space: true,
        }
    }

    fn space(&mut self) {
        if !self.space {
            self.out.push(' ');
            self.n += 1;
            self.space = true;
        }
    }

    fn push(&mut self, c: char) {
        if is_ignorable(c) {
            return;
        }
        if is_space(c) {
            self.space();
            return;
        }
        self.out.push(c);
        self.n += 1;
        self.space = false;
    }

    /// A run of ASCII (no white space) and plain-Japanese text of `chars`
    /// code points: nothing in it is ignorable or a space.
    fn push_plain(&mut self, run: &str, chars: usize) {
        if run.is_empty() {
            return;
        }
        let start = self.out.len();
        self.out.push_str(run);
        if let Some(tail) = self.out.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
        self.n += chars;
        self.space = false;
    }

    /// The state to go back to with [`Collapse::reset`].
    fn mark(&self) -> (usize, usize, bool) {
        (self.out.len(), self.n, self.space)
    }

    fn reset(&mut self, (len, n, space): (usize, usize, bool)) {
        self.out.truncate(len);
        self.n = n;
        self.space = space;
    }

    fn finish(mut self) -> (String, usize) {
        if self.out.ends_with(' ') {
            self.out.pop();
            self.n -= 1;
        }
        (self.out, self.n)
    }
}

#[inline(always)]
fn feed(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[inline(always)]
fn start(seed: u64, kind: u8) -> u64 {
    feed(FNV_OFFSET ^ seed, &[kind])
}

/// Feature configuration (read from a model header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureConfig {
    pub hash_bits: u8,
    pub char_min: u8,
    pub char_max: u8,
    /// 0: no word features, 1: unigrams, 2: unigrams and bigrams.
    pub word_max: u8,
    pub seed: u64,
}

impl FeatureConfig {
    fn mask(&self) -> u64 {
        (1u64 << self.hash_bits) - 1
    }
}

/// A hashed feature: bucket index and sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub bucket: u32,
    pub negative: bool,
}

#[inline(always)]
fn to_feature(h: u64, mask: u64) -> Feature {
    // mask < 2^32 (hash_bits <= 30 is checked when a model is loaded)
    Feature {
        bucket: ((h ^ (h >> 32)) & mask) as u32,
        negative: (h >> 63) != 0,
    }
}

#[inline(always)]
fn is_char_start(b: u8) -> bool {
    (b & 0xc0) != 0x80
}

/// Calls `emit(position, feature)` for every feature of the normalized text
/// `norm` (as returned by [`normalize`]). Linear in `norm.len()`.
pub fn for_each_feature(norm: &str, cfg: &FeatureConfig, mut emit: impl FnMut(usize, Feature)) {
    let mask = cfg.mask();
    let bytes = norm.as_bytes();
    let hc = start(cfg.seed, b'c');
    let hw = start(cfg.seed, b'w');
    let hb = start(cfg.seed, b'b');
    let cmin = usize::from(cfg.char_min.max(1));
    let cmax = usize::from(cfg.char_max);

    // word tokens: (start position, byte range) of the previous token
    let mut prev_tok: Option<(usize, usize, usize)> = None;
    let mut tok: Option<(usize, usize)> = None; // (start pos, start byte) of the current token

    let mut pos = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        // char n-grams starting at byte i
        if cmax > 0 {
            let mut h = hc;
            let mut k = 0usize; // chars fed
            let mut j = i;
            while j < bytes.len() {
                let b = bytes[j];
                if j > i && is_char_start(b) {
                    k += 1;
                    if k >= cmin {
                        emit(pos, to_feature(h, mask));
                    }
                    if k == cmax {
                        break;
                    }
                }
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
                j += 1;
            }
            if j == bytes.len() {
                // the last n-gram ends at the end of the text
                k += 1;
                if k >= cmin && k <= cmax {
                    emit(pos, to_feature(h, mask));
                }
            }
        }
        // the code point at byte i
        let clen = utf8_len(bytes[i]);
        if cfg.word_max > 0 {
            let sep = match bytes[i] {
                b if b.is_ascii() => b == b' ' || b.is_ascii_punctuation(),
                _ => norm
                    .get(i..i + clen)
                    .and_then(|r| r.chars().next())
                    .is_none_or(is_word_separator),
            };
            match (sep, tok) {
                (false, None) => tok = Some((pos, i)),
                (true, Some((tp, tb))) => {
                    word(
                        bytes,
                        (tp, tb, i),
                        &mut prev_tok,
                        cfg,
                        hw,
                        hb,
                        mask,
                        &mut emit,
                    );
                    tok = None;
                }
                _ => {}
            }
        }
        i += clen;
        pos += 1;
    }
    if cfg.word_max > 0
        && let Some((tp, tb)) = tok
    {
        word(
            bytes,
            (tp, tb, bytes.len()),
            &mut prev_tok,
            cfg,
            hw,
            hb,
            mask,
            &mut emit,
        );
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn word(
    bytes: &[u8],
    cur: (usize, usize, usize),
    prev: &mut Option<(usize, usize, usize)>,
    cfg: &FeatureConfig,
    hw: u64,
    hb: u64,
    mask: u64,
    emit: &mut impl FnMut(usize, Feature),
) {
    let (pos, b0, b1) = cur;
    let cur_bytes = bytes.get(b0..b1).unwrap_or_default();
    emit(pos, to_feature(feed(hw, cur_bytes), mask));
    if cfg.word_max >= 2
        && let Some((ppos, p0, p1)) = *prev
    {
        let prev_bytes = bytes.get(p0..p1).unwrap_or_default();
        let h = feed(feed(feed(hb, prev_bytes), b" "), cur_bytes);
        emit(ppos, to_feature(h, mask));
    }
    *prev = Some(cur);
}

#[inline(always)]
fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::char::canonical_combining_class;
    use unicode_normalization::{IsNormalized, is_nfkc_quick};

    #[test]
    fn plain_japanese_is_left_alone_by_nfkc_and_lowercasing() {
        let mut checked = 0;
        let mut utf8 = [0u8; 4];
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            assert_eq!(plain_japanese_at(bytes, 0), is_plain_japanese(c), "{c:?}");
            if !is_plain_japanese(c) {
                continue;
            }
            let s = c.to_string();
            assert_eq!(is_nfkc_quick(s.chars()), IsNormalized::Yes, "{c:?}");
            assert_eq!(s.nfkc().collect::<String>(), s, "{c:?}");
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            assert_eq!(s.to_lowercase(), s, "{c:?}");
            checked += 1;
        }
        assert!(checked > 20_000);
        // Piece by piece gives what the whole text at once gives.
        for text in [
            "本日は晴天なり。「テスト」ですヨ",
            "Mixed 日本語 TEXT、OK。",
            "〒100々",
            "  \t Leading and trailing \r\n\x0b\x0c ",
            "a  \n\n b\tc ",
            "",
            "   ",
            "ASCII ONLY, no Japanese!",
            "ｶﾞ か\u{ff9e} ΟΔΟΣ ΟΔΟΣ. ΣΑ Σ",
        ] {
            let full: String = text.nfkc().collect::<String>().to_lowercase();
            let got = normalize(text);
            assert_eq!(got, normalize_full(text), "{text:?}");
            assert_eq!(got.1, got.0.chars().count());
            if !text.contains(['ｶ', '\u{ff9e}']) {
                assert_eq!(got.0, full.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }

    /// Random texts from an alphabet of the cases that interact across a
    /// piece boundary: combining marks (and half-width voiced marks that
    /// NFKC turns into them), final and non-final sigma, case-ignorable
    /// punctuation, every kind of space, ignorables, full-width and
    /// compatibility forms, plain ASCII and Japanese.
    #[test]
    fn normalizing_piece_by_piece_equals_normalizing_whole() {
        let alphabet: Vec<char> = "aZ Σσς'.:-\u{301}\u{308}\u{3099}\u{ff9e}\u{ff9f}ｶﾊかは\t\n\r\x0b\x0c\u{a0}\u{3000}\u{2028}\u{85}\u{200b}\u{ad}\u{feff}ＡＢ１ﬁ㍻①ΑΒİ本。、é"
            .chars()
            .collect();
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let len = (next() % 12) as usize;
            // One code point in four from anywhere in Unicode.
            let text: String = (0..len)
                .map(|_| match next() % 4 {
                    0 => char::from_u32((next() % 0x11_0000) as u32).unwrap_or(' '),
                    _ => alphabet[(next() % alphabet.len() as u64) as usize],
                })
                .collect();
            assert_eq!(normalize(&text), normalize_full(&text), "{text:?}");
        }
    }
}
