//! Context words: labels near a candidate that make a weak format credible
//! (a 7-digit run after 口座番号 is an account, after 注文番号 it is not).
//!
//! All keywords are found in one Aho-Corasick pass over the normalized view,
//! run only when some candidate needs context. ASCII keywords need word
//! boundaries ("pin" must not fire inside "spinning"); Japanese ones do not.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// Context classes, one bit each.
pub(crate) mod ctx {
    pub const CARD: u32 = 1 << 0;
    pub const CVV: u32 = 1 << 1;
    pub const EXPIRY: u32 = 1 << 2;
    pub const SSN: u32 = 1 << 3;
    pub const ITIN: u32 = 1 << 4;
    pub const SIN: u32 = 1 << 5;
    pub const ROUTING: u32 = 1 << 6;
    pub const ACCOUNT: u32 = 1 << 7;
    pub const NHS: u32 = 1 << 8;
    pub const UTR: u32 = 1 << 9;
    pub const CA_HEALTH: u32 = 1 << 10;
    pub const PHONE: u32 = 1 << 11;
    pub const MY_NUMBER: u32 = 1 << 12;
    pub const CORP: u32 = 1 << 13;
    pub const POSTAL: u32 = 1 << 14;
    pub const JP_BANK: u32 = 1 << 15;
    pub const LICENSE: u32 = 1 << 16;
    pub const PASSPORT: u32 = 1 << 17;
    pub const HEALTH_INS: u32 = 1 << 18;
    pub const PIN: u32 = 1 << 19;
    pub const PLATE: u32 = 1 << 20;
    pub const VIN: u32 = 1 << 21;
    pub const SWIFT: u32 = 1 << 22;
    /// Labels that say "this number is not about a person": order, invoice,
    /// tracking, version, product numbers. The nearest label wins.
    pub const NEGATIVE: u32 = 1 << 31;
}

const KEYWORDS: &[(&str, u32)] = {
    use ctx::*;
    &[
        ("card", CARD),
        ("cards", CARD),
        ("credit", CARD),
        ("debit", CARD),
        ("visa", CARD),
        ("mastercard", CARD),
        ("amex", CARD),
        ("カード", CARD),
        ("クレジット", CARD),
        ("デビット", CARD),
        ("cvv", CVV),
        ("cvv2", CVV),
        ("cvc", CVV),
        ("cvc2", CVV),
        ("cid", CVV),
        ("security code", CVV),
        ("セキュリティコード", CVV),
        ("セキュリティーコード", CVV),
        ("exp", EXPIRY),
        ("expiry", EXPIRY),
        ("expiration", EXPIRY),
        ("expires", EXPIRY),
        ("valid thru", EXPIRY),
        ("valid through", EXPIRY),
        ("有効期限", EXPIRY),
        ("ssn", SSN),
        ("social security", SSN),
        ("社会保障番号", SSN),
        ("itin", ITIN),
        ("taxpayer identification", ITIN),
        ("tax id", ITIN),
        ("sin", SIN),
        ("social insurance", SIN),
        ("nas", SIN),
        ("社会保険番号", SIN),
        ("routing", ROUTING),
        ("aba", ROUTING),
        ("rtn", ROUTING),
        ("transit number", ROUTING),
        ("account number", ACCOUNT),
        ("account no", ACCOUNT),
        ("acct", ACCOUNT),
        ("bank account", ACCOUNT),
        ("checking account", ACCOUNT),
        ("savings account", ACCOUNT),
        ("a/c", ACCOUNT),
        ("nhs", NHS),
        ("national health service", NHS),
        ("utr", UTR),
        ("unique taxpayer", UTR),
        ("tax reference", UTR),
        ("self assessment", UTR),
        ("health card", CA_HEALTH),
        ("health number", CA_HEALTH),
        ("ohip", CA_HEALTH),
        ("health insurance number", CA_HEALTH | HEALTH_INS),
        ("ramq", CA_HEALTH),
        ("carte santé", CA_HEALTH),
        ("phone", PHONE),
        ("tel", PHONE),
        ("telephone", PHONE),
        ("mobile", PHONE),
        ("cell", PHONE),
        ("fax", PHONE),
        ("call", PHONE),
        ("contact", PHONE),
        ("電話", PHONE),
        ("携帯", PHONE),
        ("連絡先", PHONE),
        ("ファックス", PHONE),
        ("ファクス", PHONE),
        ("マイナンバー", MY_NUMBER),
        ("個人番号", MY_NUMBER),
        ("my number", MY_NUMBER),
        ("mynumber", MY_NUMBER),
        ("法人番号", CORP),
        ("corporate number", CORP),
        ("登録番号", CORP),
        ("インボイス", CORP),
        ("適格請求書", CORP),
        ("〒", POSTAL),
        ("郵便番号", POSTAL),
        ("postal code", POSTAL),
        ("post code", POSTAL),
        ("zip", POSTAL),
        ("口座", JP_BANK),
        ("普通", JP_BANK),
        ("当座", JP_BANK),
        ("預金", JP_BANK),
        ("貯金", JP_BANK),
        ("支店", JP_BANK),
        ("銀行", JP_BANK),
        ("振込", JP_BANK),
        ("振り込み", JP_BANK),
        ("免許", LICENSE),
        ("運転免許", LICENSE),
        ("driver's license", LICENSE),
        ("drivers license", LICENSE),
        ("driver license", LICENSE),
        ("driving licence", LICENSE),
        ("driving license", LICENSE),
        ("license number", LICENSE),
        ("licence number", LICENSE),
        ("dl", LICENSE),
        ("passport", PASSPORT),
        ("パスポート", PASSPORT),
        ("旅券", PASSPORT),
        ("保険者番号", HEALTH_INS),
        ("保険証", HEALTH_INS),
        ("被保険者", HEALTH_INS),
        ("健康保険", HEALTH_INS),
        ("health insurance", HEALTH_INS),
        ("pin", PIN),
        ("pin code", PIN),
        ("passcode", PIN),
        ("暗証番号", PIN),
        ("ピン", PIN),
        ("license plate", PLATE),
        ("licence plate", PLATE),
        ("number plate", PLATE),
        ("plate", PLATE),
        ("ナンバープレート", PLATE),
        ("車両番号", PLATE),
        ("vin", VIN),
        ("vehicle identification", VIN),
        ("車台番号", VIN),
        ("chassis", VIN),
        ("swift", SWIFT),
        ("bic", SWIFT),
        ("swift code", SWIFT),
        ("swiftコード", SWIFT),
        ("注文番号", NEGATIVE),
        ("ご注文番号", NEGATIVE),
        ("order number", NEGATIVE),
        ("order no", NEGATIVE),
        ("order id", NEGATIVE),
        ("order #", NEGATIVE),
        ("invoice no", NEGATIVE),
        ("invoice number", NEGATIVE),
        ("伝票番号", NEGATIVE),
        ("受付番号", NEGATIVE),
        ("問い合わせ番号", NEGATIVE),
        ("お問い合わせ番号", NEGATIVE),
        ("予約番号", NEGATIVE),
        ("tracking", NEGATIVE),
        ("追跡番号", NEGATIVE),
        ("商品番号", NEGATIVE),
        ("品番", NEGATIVE),
        ("型番", NEGATIVE),
        ("product code", NEGATIVE),
        ("sku", NEGATIVE),
        ("version", NEGATIVE),
        ("ver", NEGATIVE),
        ("バージョン", NEGATIVE),
        ("build", NEGATIVE),
        ("isbn", NEGATIVE),
        ("issue", NEGATIVE),
        ("ticket", NEGATIVE),
    ]
};

/// How far before a candidate a label still counts (bytes of the view:
/// about 20 Japanese characters or 60 Latin ones), and how far after.
const BEFORE: usize = 64;
pub(super) const AFTER: usize = 12;

/// The compiled keyword matcher.
pub(crate) struct ContextMatcher {
    /// `None` only if the constant table failed to build (it does not);
    /// then no context is ever found and context-only types stay silent.
    ac: Option<AhoCorasick>,
    /// The longest keyword, in bytes.
    max_len: usize,
}

/// Keywords are looked for only around candidates that ask for them, one
/// chunk of the text at a time: ordinary prose has few candidates, and
/// scanning all of it for labels cost as much as the rest of the detector.
const CHUNK: usize = 1024;

/// Keyword hits of one text, sorted by start; complete for the chunks
/// marked scanned.
pub(crate) struct ContextHits {
    hits: Vec<(usize, usize, u32)>,
    scanned: Vec<bool>,
}

impl ContextMatcher {
    pub fn new() -> Self {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(KEYWORDS.iter().map(|(k, _)| *k))
            .ok();
        let max_len = KEYWORDS.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        Self { ac, max_len }
    }

    /// How far before a candidate's start the hits must be known: every
    /// hit the lookups below consider (they look `BEFORE + 32` back).
    pub fn reach_before(&self) -> usize {
        BEFORE + 32 + self.max_len
    }

    /// Make sure every hit starting in `lo..hi` is in `hits`.
    pub fn ensure(&self, text: &str, hits: &mut ContextHits, lo: usize, hi: usize) {
        let hi = hi.min(text.len());
        if lo >= hi {
            return;
        }
        for chunk in lo / CHUNK..=(hi - 1) / CHUNK {
            if !hits.scanned[chunk] {
                hits.scanned[chunk] = true;
                self.scan_chunk(text, chunk, hits);
            }
        }
    }

    /// The hits starting in one chunk (a keyword may run past its end).
    fn scan_chunk(&self, text: &str, chunk: usize, hits: &mut ContextHits) {
        let Some(ac) = &self.ac else { return };
        let bytes = text.as_bytes();
        let start = chunk * CHUNK;
        let end = (start + CHUNK).min(text.len());
        let input =
            aho_corasick::Input::new(text).range(start..(end + self.max_len).min(text.len()));
        let mut found = Vec::new();
        for m in ac.find_overlapping_iter(input) {
            let (s, e) = (m.start(), m.end());
            if s >= end {
                continue;
            }
            if bytes[s].is_ascii_alphanumeric() && s > 0 && bytes[s - 1].is_ascii_alphanumeric() {
                continue;
            }
            if bytes[e - 1].is_ascii_alphanumeric()
                && bytes.get(e).is_some_and(u8::is_ascii_alphanumeric)
            {
                continue;
            }
            found.push((s, e, KEYWORDS[m.pattern().as_usize()].1));
        }
        found.sort_unstable();
        // Chunks hold disjoint start ranges: splicing keeps the order.
        let at = hits.hits.partition_point(|h| h.0 < start);
        hits.hits.splice(at..at, found);
    }
}

impl ContextHits {
    /// No hits known yet for a text of `len` bytes.
    pub fn new(len: usize) -> Self {
        Self {
            hits: Vec::new(),
            scanned: vec![false; len.div_ceil(CHUNK)],
        }
    }
}

/// How close after a label its value starts ("call me at +1 …",
/// "電話番号は03-…").
const VALUE_GAP: usize = 16;

/// Does a number follow the label ending at `label_end` closely?
fn labels_a_value(text: &str, label_end: usize) -> bool {
    let b = text.as_bytes();
    b[label_end..b.len().min(label_end + VALUE_GAP)]
        .iter()
        .any(u8::is_ascii_digit)
}

impl ContextHits {
    /// Is there a keyword of class `want` near `start..end`, and is the
    /// nearest label before the candidate not a negative one? A keyword
    /// after the candidate counts only if no number follows it closely: a
    /// label right before a value is that value's ("…6431; call me at +1
    /// 477…" labels the phone number, not the digits before it).
    pub fn has(&self, text: &str, want: u32, start: usize, end: usize) -> bool {
        let lo = start.saturating_sub(BEFORE + 32);
        let first = self.hits.partition_point(|h| h.0 < lo);
        let mut found = false;
        let mut nearest_before: Option<(usize, u32)> = None;
        for &(s, e, f) in &self.hits[first..] {
            if s > end + AFTER {
                break;
            }
            let before = e <= start && start - e <= BEFORE;
            let after = s >= end && s - end <= AFTER && !labels_a_value(text, e);
            if before && f != 0 && nearest_before.is_none_or(|(ne, _)| e >= ne) {
                nearest_before = Some((e, f));
            }
            if (before || after) && f & want != 0 {
                found = true;
            }
        }
        if let Some((_, f)) = nearest_before
            && f & ctx::NEGATIVE != 0
            && f & want == 0
        {
            return false;
        }
        found
    }

    /// The label nearest before `start` (within the window): where it ends
    /// and its classes. A label is every keyword ending there and those
    /// chained to them: "health card" is a health-number and a card word,
    /// "マイナンバーカード" a My Number and a card word.
    pub fn nearest_label(&self, start: usize) -> Option<(usize, u32)> {
        let lo = start.saturating_sub(BEFORE + 32);
        let first = self.hits.partition_point(|h| h.0 < lo);
        let last = self.hits.partition_point(|h| h.0 < start);
        let near = &self.hits[first..last];
        let in_reach = |h: &(usize, usize, u32)| h.1 <= start && start - h.1 <= BEFORE;
        let end = near.iter().filter(|h| in_reach(h)).map(|h| h.1).max()?;
        // Grow the label leftwards over touching or overlapping keywords:
        // one sweep by decreasing start finds its left edge (a hit that
        // connects only through an earlier-starting one lies inside it).
        let mut label_start = end;
        for h in near.iter().rev().filter(|h| h.1 <= end) {
            if h.1 >= label_start {
                label_start = label_start.min(h.0);
            }
        }
        let classes = near
            .iter()
            .filter(|h| h.1 <= end && h.1 >= label_start)
            .fold(0, |acc, h| acc | h.2);
        Some((end, classes))
    }

    /// Is the nearest label before `start` a negative one (order number,
    /// version, ...)?
    /// A label in an earlier sentence does not describe the value ("…
    /// the previous version. 10.0.0.1 is the gateway").
    pub fn negative(&self, text: &str, start: usize) -> bool {
        // Hits are sorted by start; every hit ending by `start` also starts
        // before it, so search by start and filter on the end.
        let idx = self.hits.partition_point(|h| h.0 < start);
        self.hits[..idx]
            .iter()
            .rev()
            .take(8)
            .filter(|h| h.1 <= start && start - h.1 <= BEFORE)
            .max_by_key(|h| h.1)
            .is_some_and(|h| h.2 & ctx::NEGATIVE != 0 && !sentence_ends_between(text, h.1, start))
    }
}

/// Does a sentence end in `text[from..to]`?
fn sentence_ends_between(text: &str, from: usize, to: usize) -> bool {
    let between = text.get(from..to).unwrap_or("");
    between.contains(['。', '！', '？', '!', '?', '\n']) || between.contains(". ")
}
