//! RFC 6238 TOTP for virtual MFA devices: HMAC-SHA1, 30-second steps,
//! 6 digits, as AWS's virtual MFA devices and every authenticator app.
//!
//! The seed is 20 random bytes (160 bits, RFC 4226's recommendation),
//! handed to the user as base32 (`Base32StringSeed` of
//! `CreateVirtualMFADevice`). [`verify`] returns the matched time step so
//! that the caller can refuse a code used twice (store the last step and
//! require a later one), as AWS does.

use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::keys::{CryptoError, fill_random};

/// Seed length in bytes.
pub const SEED_LEN: usize = 20;
/// Time step in seconds.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Largest accepted `window` of [`verify`] (steps on each side).
pub const MAX_WINDOW: u32 = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random 20-byte seed.
pub fn generate_seed() -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut seed = Zeroizing::new(vec![0u8; SEED_LEN]);
    fill_random(&mut seed)?;
    Ok(seed)
}

/// RFC 4648 base32, upper case, without padding (what authenticator apps
/// and `otpauth://` URIs expect; a 20-byte seed gives 32 characters).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 (either case, `=` padding and spaces ignored); `None` on
/// any other character or on non-zero trailing bits.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            b'=' => {
                padding = true;
                continue;
            }
            b' ' => continue,
            _ => return None,
        };
        if padding {
            return None;
        }
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits >= 5 || acc != 0 {
        return None;
    }
    Some(out)
}

/// The 6-digit code for `unix_seconds`.
pub fn code_at(seed: &[u8], unix_seconds: i64) -> String {
    code_at_digits(seed, unix_seconds, DIGITS)
}

/// The code for `unix_seconds` with `digits` digits (clamped to 6..=8; 8 is
/// what the RFC 6238 test vectors use).
pub fn code_at_digits(seed: &[u8], unix_seconds: i64, digits: u32) -> String {
    let digits = digits.clamp(6, 8);
    let value = hotp(seed, step_of(unix_seconds), digits);
    format!("{value:0width$}", width = digits as usize)
}

fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// RFC 4226 HOTP value for counter `step` (two's complement for negative
/// steps, which only occur before 1970).
fn hotp(seed: &[u8], step: i64, digits: u32) -> u32 {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = aws_lc_rs::hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    // SHA-1 output is 20 bytes; offset <= 15, so offset + 3 <= 18.
    let offset = usize::from(mac.get(19).copied().unwrap_or(0) & 0x0f);
    let mut word = [0u8; 4];
    if let Some(w) = mac.get(offset..offset + 4) {
        word.copy_from_slice(w);
    }
    let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

/// Checks a 6-digit `code` against the steps `now - window ..= now + window`
/// (`window` capped at [`MAX_WINDOW`]) and returns the matched step
/// (`unix_seconds / 30`), or `None`. Every step of the window is computed
/// and compared in constant time.
pub fn verify(seed: &[u8], code: &str, unix_seconds: i64, window: u32) -> Option<i64> {
    let code = code.as_bytes();
    if code.len() != DIGITS as usize || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut given = 0u32;
    for &d in code {
        given = given * 10 + u32::from(d - b'0');
    }
    let window = i64::from(window.min(MAX_WINDOW));
    let now_step = step_of(unix_seconds);
    let mut found = subtle::Choice::from(0);
    let mut matched: i64 = 0;
    for delta in -window..=window {
        let step = now_step.saturating_add(delta);
        let hit = hotp(seed, step, DIGITS).ct_eq(&given);
        // Keep the first match; later ones do not overwrite it.
        let take = hit & !found;
        matched = i64::conditional_select(&matched, &step, take);
        found |= hit;
    }
    bool::from(found).then_some(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() {
        for (t, want) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at_digits(RFC_SEED, t, 8), want, "T={t}");
            // The 6-digit code is the last six digits of the 8-digit one.
            assert_eq!(code_at(RFC_SEED, t), want[2..], "T={t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, i as i64, 6), *w);
        }
    }

    #[test]
    fn verify_window_and_step() {
        let t = 1_700_000_000;
        let step = t / 30;
        let code = code_at(RFC_SEED, t);
        assert_eq!(verify(RFC_SEED, &code, t, 1), Some(step));
        assert_eq!(verify(RFC_SEED, &code, t + 30, 1), Some(step));
        assert_eq!(verify(RFC_SEED, &code, t - 30, 1), Some(step));
        assert_eq!(verify(RFC_SEED, &code, t + 61, 1), None);
        assert_eq!(verify(RFC_SEED, &code, t + 30, 0), None);
        assert_eq!(verify(RFC_SEED, &code, t, 0), Some(step));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(verify(RFC_SEED, &wrong, t, 0), None);
        for bad in ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"] {
            assert_eq!(verify(RFC_SEED, bad, t, 1), None, "{bad}");
        }
        // No panic at the ends of time, nor with an empty seed.
        let _ = verify(RFC_SEED, "000000", i64::MAX, u32::MAX);
        let _ = verify(RFC_SEED, "000000", i64::MIN, u32::MAX);
        let _ = code_at(&[], -1);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"fo"), "MZXQ");
        assert_eq!(base32_encode(b"foo"), "MZXW6");
        assert_eq!(base32_encode(b"foob"), "MZXW6YQ");
        assert_eq!(base32_encode(b"fooba"), "MZXW6YTB");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW6YTBO1"), None);
        assert_eq!(base32_decode("MZ=XW"), None);
        let seed = generate_seed().unwrap();
        assert_eq!(seed.len(), SEED_LEN);
        let text = base32_encode(&seed);
        assert_eq!(text.len(), 32);
        assert_eq!(base32_decode(&text).unwrap(), *seed);
        assert_eq!(base32_encode(RFC_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }
}
