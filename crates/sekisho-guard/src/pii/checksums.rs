//! Check digits. Every function takes ASCII digits (or alphanumerics) already
//! stripped of separators and answers false, never panics, on anything else.

fn digit(b: u8) -> Option<u32> {
    b.is_ascii_digit().then(|| u32::from(b - b'0'))
}

/// Luhn (ISO/IEC 7812): card numbers, Canadian SIN.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.len() < 2 {
        return false;
    }
    let mut sum = 0;
    for (i, b) in digits.iter().rev().enumerate() {
        let Some(mut d) = digit(*b) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Issuer prefixes of the card networks whose numbers carry a Luhn digit;
/// a Luhn-valid string with no known prefix is more likely an id or a count.
pub fn card_prefix_ok(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| {
        d.get(..k)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match d.first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),            // Visa
        Some(b'5') => (51..=55).contains(&p(2)) && n == 16, // Mastercard
        Some(b'2') => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        Some(b'3') => {
            matches!(p(2), 34 | 37) && n == 15
                || (3528..=3589).contains(&p(4)) && (16..=19).contains(&n)
                || matches!(p(2), 30 | 36 | 38 | 39) && (14..=19).contains(&n)
        } // Amex, JCB, Diners
        Some(b'6') => {
            (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)) || p(2) == 62)
                && (16..=19).contains(&n)
        } // Discover, UnionPay
        _ => false,
    }
}

/// IBAN (ISO 13616): move the first four characters to the end, letters to
/// 10..35, the number mod 97 must be 1. Computed piecewise so any length works.
pub fn iban(s: &[u8]) -> bool {
    if !(15..=34).contains(&s.len())
        || !s[..2].iter().all(u8::is_ascii_uppercase)
        || !s[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// ABA routing number: weights 3,7,1 repeated, sum mod 10 == 0, and a
/// Federal Reserve prefix (00-12, 21-32, 61-72, 80).
pub fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let prefix = u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0');
    if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let w = [3, 7, 1];
    d.iter()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * w[i % 3])
        .sum::<u32>()
        % 10
        == 0
}

/// My Number (個人番号): weights 6 5 4 3 2 7 6 5 4 3 2 over the first 11
/// digits; r = sum mod 11; check = 0 if r <= 1 else 11 - r.
pub fn my_number(d: &[u8]) -> bool {
    if d.len() != 12 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let r = d[..11]
        .iter()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum::<u32>()
        % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u32::from(d[11] - b'0') == check
}

/// Corporate Number (法人番号): the FIRST digit is 9 - (sum mod 9) where the
/// 12 base digits are weighted 1,2,1,2... from the right.
pub fn corporate_number(d: &[u8]) -> bool {
    if d.len() != 13 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = d[1..]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 2 })
        .sum();
    u32::from(d[0] - b'0') == 9 - sum % 9
}

/// 保険者番号 (8 digits): Luhn-style over the first 7 digits with weights
/// 2,1,2,... from the last, digit sums of the products; check = (10 - s%10)%10.
pub fn jp_insurer_number(d: &[u8]) -> bool {
    if d.len() != 8 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = d[..7]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let p = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    u32::from(d[7] - b'0') == (10 - sum % 10) % 10
}

/// UK NHS number: weights 10..2 over the first 9 digits, 11 - (sum mod 11),
/// 11 → 0, 10 → invalid.
pub fn nhs(d: &[u8]) -> bool {
    if d.len() != 10 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    u32::from(d[9] - b'0') == check
}

/// VIN (ISO 3779, North American check digit in position 9).
pub fn vin(s: &[u8]) -> bool {
    if s.len() != 17 {
        return false;
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A' | b'J' => 1,
            b'B' | b'K' | b'S' => 2,
            b'C' | b'L' | b'T' => 3,
            b'D' | b'M' | b'U' => 4,
            b'E' | b'N' | b'V' => 5,
            b'F' | b'W' => 6,
            b'G' | b'P' | b'X' => 7,
            b'H' | b'Y' => 8,
            b'R' | b'Z' => 9,
            _ => return None,
        })
    };
    let w = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let mut sum = 0;
    for (b, w) in s.iter().zip(w) {
        let Some(v) = value(*b) else { return false };
        sum += v * w;
    }
    let check = sum % 11;
    if check == 10 {
        s[8] == b'X'
    } else {
        u32::from(s[8]) == u32::from(b'0') + check
    }
}

/// US SSN structure: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub fn ssn_structure(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let area = &d[..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
}

/// US ITIN structure: 9xx-[50-65|70-88|90-92|94-99]-xxxx.
pub fn itin_structure(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) || d[0] != b'9' {
        return false;
    }
    let g = u32::from(d[3] - b'0') * 10 + u32::from(d[4] - b'0');
    matches!(g, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        assert!(luhn(b"4111111111111111") && card_prefix_ok(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(luhn(b"046454286")); // CA SIN sample
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(aba_routing(b"011000015") && aba_routing(b"021000021"));
        assert!(!aba_routing(b"021000022"));
        assert!(my_number(b"983205673214") && !my_number(b"983205673210"));
        for v in [&b"7010705000725"[..], b"4011001098993", b"7123456789012"] {
            assert!(corporate_number(v));
        }
        assert!(!corporate_number(b"7010705000726"));
        assert!(
            jp_insurer_number(b"33120015")
                && jp_insurer_number(b"01040013")
                && !jp_insurer_number(b"01040014")
        );
        assert!(nhs(b"9434765919") && !nhs(b"9434765918"));
        assert!(
            vin(b"1M8GDM9AXKP042788") && vin(b"11111111111111111") && !vin(b"1M8GDM9A1KP042788")
        );
        assert!(
            ssn_structure(b"123456789")
                && !ssn_structure(b"000123456")
                && !ssn_structure(b"666123456")
        );
        assert!(itin_structure(b"912701234") && !itin_structure(b"912401234"));
        assert!(!luhn(b"") && !my_number(b"12ab") && !iban(b"xx"));
    }
}
