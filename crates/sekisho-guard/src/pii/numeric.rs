//! Digit runs: one candidate shape for every numeric identifier.
//!
//! The pattern table finds maximal runs of digits joined by single
//! separators (space, hyphen, dot, parentheses), which also catches spaced
//! ("4 1 1 1 ...") and re-grouped numbers. This module decides what a run
//! is: first the whole run, then, if the whole run is nothing, windows of
//! consecutive groups (a card number glued to a date by a space). A window
//! is read as a number of its own only where the separators show that it
//! ends there (see `delimited`); otherwise it is a piece of the longer
//! number, and only a checksummed card can be taken from it. Windows are
//! bounded by the longest identifier (19 digits), so the work per group is
//! constant and a run of any length is analysed in linear time.

use std::cell::OnceCell;

use super::checksums as cs;
use super::context::ctx;
use super::entities::EntityType::{self, *};
use super::{Ctx, Detection};

/// The longest numeric identifier we look for (card numbers, 19 digits),
/// plus room for a 4-3-7 bank account.
const MAX_DIGITS: usize = 19;

const SPACE: u8 = 1;
const HYPHEN: u8 = 2;
const DOT: u8 = 4;
const PAREN: u8 = 8;

struct Group {
    start: usize,
    end: usize,
    /// Separator kinds between this group and the previous one.
    sep_before: u8,
}

/// One window of consecutive groups, flattened.
struct Window<'g> {
    digits: [u8; MAX_DIGITS],
    n: usize,
    groups: &'g [Group],
    seps: u8,
    start: usize,
    end: usize,
    plus: bool,
}

impl Window<'_> {
    fn d(&self) -> &[u8] {
        &self.digits[..self.n]
    }
    fn shape(&self, lens: &[usize]) -> bool {
        self.groups.len() == lens.len()
            && self
                .groups
                .iter()
                .zip(lens)
                .all(|(g, l)| g.end - g.start == *l)
    }
    fn grouped(&self) -> bool {
        self.groups.len() > 1
    }
}

/// Analyse the run `text[start..end]` and push what it contains.
pub(super) fn analyze(
    text: &str,
    start: usize,
    end: usize,
    cx: &Ctx<'_>,
    out: &mut Vec<Detection>,
) {
    let bytes = text.as_bytes();
    let mut groups: Vec<Group> = Vec::new();
    let mut i = start;
    let mut sep = 0u8;
    let mut plus = false;
    while i < end {
        let b = bytes[i];
        if b.is_ascii_digit() {
            let s = i;
            while i < end && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group {
                start: s,
                end: i,
                sep_before: sep,
            });
            sep = 0;
            continue;
        }
        match b {
            b' ' => sep |= SPACE,
            b'-' => sep |= HYPHEN,
            b'.' => sep |= DOT,
            b'(' | b')' => sep |= PAREN,
            b'+' if groups.is_empty() => plus = true,
            _ => {}
        }
        i += 1;
    }
    if groups.is_empty() {
        return;
    }
    // A leading "(" belongs to the number only when it closes inside it: "(03)1234-5678".
    let open = start < bytes.len() && bytes[start] == b'(' && text[start..end].contains(')');
    let whole_start = if plus || open { start } else { groups[0].start };
    if let Some(types) = window(text, &groups, 0, groups.len(), whole_start, plus, cx, false) {
        out.push(Detection {
            start: whole_start,
            end: groups[groups.len() - 1].end,
            types,
        });
        return;
    }
    if groups.len() == 1 {
        return;
    }
    // Windows of consecutive groups: keep the longest accepted one starting
    // at each group, then skip past it.
    let mut gi = 0;
    while gi < groups.len() {
        let mut best: Option<(usize, &'static [EntityType])> = None;
        let mut digits = 0;
        // Without a label nearby only a card (15+ digits) can come out of a
        // sub-window; skipping the shorter ones keeps long runs cheap.
        let labelled = cx.has(!ctx::NEGATIVE, groups[gi].start, groups[gi].end);
        for gj in gi..groups.len() {
            digits += groups[gj].end - groups[gj].start;
            if digits > MAX_DIGITS {
                break;
            }
            if digits < 3 || !labelled && digits < 15 {
                continue;
            }
            let Some(t) = window(text, &groups, gi, gj + 1, groups[gi].start, false, cx, true)
            else {
                continue;
            };
            if t == [CardNumber] || delimited(&groups, gi, gj + 1) {
                best = Some((gj, t));
            }
        }
        if let Some((gj, types)) = best {
            out.push(Detection {
                start: groups[gi].start,
                end: groups[gj].end,
                types,
            });
            gi = gj + 1;
        } else {
            gi += 1;
        }
    }
}

/// Can the groups `gi..gj` of a run be a number of their own? Only where
/// the run changes separator at the cut: hyphens, dots and parentheses bind
/// the groups of one number, a single space may separate two numbers
/// ("090-1234-5678 2024"). In a run spaced throughout ("5387 4137 3320
/// 6431") nothing shows where one number would end, so no piece of it is a
/// number on its own.
fn delimited(groups: &[Group], gi: usize, gj: usize) -> bool {
    let spaced = |k: usize| groups[k].sep_before == SPACE;
    let cut_before = gi == 0 || spaced(gi);
    let cut_after = gj == groups.len() || spaced(gj);
    let bound_inside = (gi + 1..gj).all(|k| !spaced(k));
    let run_mixed = (1..groups.len()).any(|k| !spaced(k));
    cut_before && cut_after && bound_inside && run_mixed
}

#[allow(clippy::too_many_arguments)]
fn window(
    text: &str,
    all: &[Group],
    gi: usize,
    gj: usize,
    start: usize,
    plus: bool,
    cx: &Ctx<'_>,
    sub: bool,
) -> Option<&'static [EntityType]> {
    let groups = &all[gi..gj];
    let mut w = Window {
        digits: [0; MAX_DIGITS],
        n: 0,
        groups,
        seps: 0,
        start,
        end: groups.last()?.end,
        plus,
    };
    for (k, g) in groups.iter().enumerate() {
        if k > 0 {
            w.seps |= g.sep_before;
        }
        for &b in &text.as_bytes()[g.start..g.end] {
            if w.n == MAX_DIGITS {
                // Longer than any identifier: only a phone with a "+" can be
                // this long, and those are capped at 15 digits too.
                return None;
            }
            w.digits[w.n] = b;
            w.n += 1;
        }
    }
    if not_an_identifier(text, &w) {
        return None;
    }
    classify(&w, cx, sub)
}

/// Prices, counts, dates and thousands-separated amounts.
fn not_an_identifier(text: &str, w: &Window<'_>) -> bool {
    let before = text[..w.start].trim_end_matches(' ');
    let after = text[w.end..].trim_start_matches(' ');
    let prev = before.chars().next_back();
    let next = after.chars().next();
    if prev.is_some_and(|c| matches!(c, '¥' | '$' | '€' | '£' | '\\' | '#' | '№')) {
        return true;
    }
    if next.is_some_and(|c| "円万億兆年月日時分秒個件人回台枚本%倍度点位号".contains(c))
    {
        return true;
    }
    let pb = text.as_bytes();
    // "1,234,567": a group glued to a comma and more digits is an amount.
    if w.start >= 2 && pb[w.start - 1] == b',' && pb[w.start - 2].is_ascii_digit() {
        return true;
    }
    if pb.get(w.end) == Some(&b',') && pb.get(w.end + 1).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    // Dates: 2024-01-15, 2024.1.5, 15-01-2024.
    let len = |k: usize| w.groups[k].end - w.groups[k].start;
    let year = |g: &Group| {
        let s = &text[g.start..g.end];
        s.len() == 4 && (s.starts_with("19") || s.starts_with("20"))
    };
    if w.groups.len() == 3 && w.seps & (SPACE | PAREN) == 0 {
        let small = |k: usize| (1..=2).contains(&len(k));
        if year(&w.groups[0]) && small(1) && small(2) || small(0) && small(1) && year(&w.groups[2])
        {
            return true;
        }
    }
    false
}

fn classify(w: &Window<'_>, cx: &Ctx<'_>, sub: bool) -> Option<&'static [EntityType]> {
    let d = w.d();
    let n = w.n;
    // The number's own label says what it is; other labels nearby belong to
    // their own numbers ("SSN 123-45-6789; routing number 021000021").
    // Without one, any label in reach counts.
    // Looked up only once a window's length makes a label matter.
    let label = OnceCell::new();
    let label = || *label.get_or_init(|| cx.label(w.start));
    let has = |f: u32| match label() {
        Some(classes) => classes & f != 0,
        None => cx.has(f, w.start, w.end),
    };
    // Sub-windows carry no grouping evidence: only checksummed cards and
    // context-backed types are taken from them.
    let shape_ok = !sub;
    // A number labelled as an identifier with its own check digit is that
    // identifier (mistyped, or a decoy) even where it passes Luhn.
    let named_other = || label().is_some_and(|l| l & OWN_CHECK != 0);

    if w.plus && (8..=15).contains(&n) {
        return Some(if d.starts_with(b"81") {
            &[JpPhone, Phone]
        } else {
            &[Phone]
        });
    }
    if (13..=19).contains(&n)
        && cs::luhn(d)
        && cs::card_prefix_ok(d)
        && (!sub || n >= 15)
        && !named_other()
    {
        return Some(&[CardNumber]);
    }
    if n == 12 {
        if cs::my_number(d) && (has(ctx::MY_NUMBER) || shape_ok && w.shape(&[4, 4, 4])) {
            return Some(&[JpMyNumber]);
        }
        if has(ctx::LICENSE) && (10..=97).contains(&two(d)) {
            return Some(&[JpDriversLicense, DriverId]);
        }
    }
    if n == 13 && cs::corporate_number(d) && (has(ctx::CORP) || cx.preceded_by_t(w.start)) {
        return Some(&[JpCorporateNumber]);
    }
    if (n == 7 || n == 8 || n == 13 && w.shape(&[5, 8]) || n == 14 && w.shape(&[4, 3, 7]))
        && has(ctx::JP_BANK)
        && !has(ctx::POSTAL)
    {
        return Some(&[JpBankAccount, UsBankAccount]);
    }
    if n == 8 && has(ctx::HEALTH_INS) && cs::jp_insurer_number(d) || n == 6 && has(ctx::HEALTH_INS)
    {
        return Some(&[JpHealthInsuranceNumber]);
    }
    if n == 9 {
        let ssn_shape = shape_ok && w.shape(&[3, 2, 4]);
        // The ABA checksum is the stronger evidence: a valid routing number
        // under a routing label is one, whatever SSN structure it also has.
        if !ssn_shape && cs::aba_routing(d) && has(ctx::ROUTING) {
            return Some(&[UsRouting]);
        }
        if cs::itin_structure(d) && (ssn_shape || has(ctx::ITIN | ctx::SSN)) {
            return Some(&[UsItin]);
        }
        if cs::ssn_structure(d) && (ssn_shape || has(ctx::SSN)) {
            return Some(&[UsSsn]);
        }
        if cs::luhn(d)
            && d[0] != b'8'
            && (has(ctx::SIN) || shape_ok && w.shape(&[3, 3, 3]) && !has(ctx::PHONE))
        {
            return Some(&[CaSocialInsuranceNumber]);
        }
    }
    if n == 10 {
        // A number labelled NHS whose check digit fails is a typo or a
        // decoy, not a phone number.
        if has(ctx::NHS) {
            return cs::nhs(d).then_some(&[UkNhsNumber][..]);
        }
        if has(ctx::UTR) {
            return Some(&[UkUtr]);
        }
        if has(ctx::CA_HEALTH) {
            return Some(&[CaHealthNumber]);
        }
    }
    // 〒 or a postal label names the number outright; a phone label
    // further away does not outweigh it.
    if n == 7 && (cx.preceded_by_postal_mark(w.start) || has(ctx::POSTAL)) {
        return Some(&[JpPostalCode]);
    }
    // Phone numbers have 7 to 15 digits (with a "+", handled above).
    if (7..=15).contains(&n)
        && let Some(t) = phone(w, has(ctx::PHONE), sub)
    {
        return Some(t);
    }
    if n == 7 && shape_ok && w.shape(&[3, 4]) && w.seps == HYPHEN {
        return Some(&[JpPostalCode]);
    }
    if (3..=4).contains(&n) && has(ctx::CVV) {
        return Some(&[CardCvv]);
    }
    if (4..=8).contains(&n) && has(ctx::PIN) {
        return Some(&[Pin]);
    }
    if (6..=17).contains(&n) && has(ctx::ACCOUNT) {
        return Some(&[UsBankAccount]);
    }
    if (7..=9).contains(&n) && has(ctx::PASSPORT) {
        return Some(&[UsPassport]);
    }
    if (5..=15).contains(&n) && has(ctx::LICENSE) {
        return Some(&[DriverId]);
    }
    None
}

/// Labels of identifiers that carry their own check digit.
const OWN_CHECK: u32 =
    ctx::MY_NUMBER | ctx::CORP | ctx::NHS | ctx::SIN | ctx::ROUTING | ctx::HEALTH_INS;

fn two(d: &[u8]) -> u32 {
    u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0')
}

/// Japanese numbers start with a trunk 0 and have 10 or 11 digits; NANP
/// numbers have 10 (or 11 with a leading 1) with area and exchange codes
/// starting 2-9. A bare run needs a phone label, except Japanese mobile
/// numbers (0[6789]0 + 8 digits), which nothing else resembles.
fn phone(w: &Window<'_>, labelled: bool, sub: bool) -> Option<&'static [EntityType]> {
    let d = w.d();
    let n = w.n;
    let grouped = !sub && w.grouped() && w.seps & DOT == 0;
    if d[0] == b'0' && n >= 10 && d[1] != b'0' {
        let mobile =
            n == 11 && matches!(&d[..3], b"060" | b"070" | b"080" | b"090" | b"050" | b"020");
        let free = d.starts_with(b"0120") && n == 10
            || d.starts_with(b"0800") && n == 11
            || d.starts_with(b"0570") && n == 10;
        let fixed = n == 10;
        if (mobile || free || fixed)
            && jp_grouping(w, free)
            && (grouped || labelled || mobile && !sub)
        {
            return Some(&[JpPhone, Phone]);
        }
    }
    let nanp =
        |d: &[u8]| d.len() == 10 && (b'2'..=b'9').contains(&d[0]) && (b'2'..=b'9').contains(&d[3]);
    if nanp(d) && (labelled || grouped && (w.shape(&[3, 3, 4]) || w.seps & PAREN != 0))
        || n == 11 && d[0] == b'1' && nanp(&d[1..]) && (labelled || grouped)
    {
        return Some(&[Phone]);
    }
    if labelled && (7..=15).contains(&n) && w.grouped() {
        return Some(&[Phone]);
    }
    None
}

/// Japanese numbers written in three or more groups end with the 4-digit
/// subscriber number (free dial and navi dial: 3 digits, "0120-123-456").
/// "0401 4715 71" is a piece of something else.
fn jp_grouping(w: &Window<'_>, free: bool) -> bool {
    let Some(last) = w.groups.last() else {
        return false;
    };
    let last_len = last.end - last.start;
    w.groups.len() < 3 || last_len == 4 || free && last_len == 3
}
