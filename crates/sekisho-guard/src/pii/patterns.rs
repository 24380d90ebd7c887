//! The candidate shapes: one regex per shape, all compiled into a single
//! leftmost-first multi-pattern automaton, and the validator that decides
//! what each candidate is. Order is priority: when two shapes match at the
//! same start, the earlier one is tried (labels before bare values, specific
//! formats before the generic digit run).

use super::checksums as cs;
use super::context::ctx;
use super::entities::EntityType::{self, *};
use super::japanese as ja;
use super::names as en;
use super::{Ctx, Detection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Url,
    Email,
    AwsSecretLabel,
    Password,
    Username,
    NameLabel,
    AddressLabel,
    DriverLabel,
    PlateLabel,
    NameTitle,
    AwsAccessKey,
    Iban,
    Nino,
    CorpT,
    AlnumId,
    Swift,
    Vin,
    Mac,
    Ipv4,
    Ipv6,
    Expiry,
    Age,
    AddressEn,
    AddressJp,
    JpPlate,
    NameFurigana,
    NameHonorific,
    NameSpacedJa,
    NamePairEn,
    Numeric,
}

/// Types a numeric run can turn out to be.
pub(super) const NUMERIC_TYPES: &[EntityType] = &[
    CardNumber,
    CardCvv,
    UsSsn,
    UsItin,
    CaSocialInsuranceNumber,
    UsRouting,
    UsBankAccount,
    UkNhsNumber,
    UkUtr,
    CaHealthNumber,
    Phone,
    Pin,
    UsPassport,
    DriverId,
    JpMyNumber,
    JpCorporateNumber,
    JpPhone,
    JpPostalCode,
    JpDriversLicense,
    JpBankAccount,
    JpHealthInsuranceNumber,
];

/// Honorifics after a name, as in the NameHonorific pattern (longest first).
const HONORIFICS: &[&str] = &[
    "ちゃん",
    "さま",
    "さん",
    "くん",
    "先生",
    "様",
    "殿",
    "氏",
    "君",
];

const SECRET_VALUE: &str = r"[\x22'「]?[\x21-\x7E]+";

/// The shape table: (shape, regex, types it may yield).
pub(super) fn table() -> Vec<(Shape, String, &'static [EntityType])> {
    let prefs = ja::PREFECTURES.join("|");
    let mut t: Vec<(Shape, String, &'static [EntityType])> = vec![
        (Shape::Url, r"(?i:https?|ftp)://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+|(?-u:\b)www\.[A-Za-z0-9\-]+\.[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+".into(), &[Url]),
        (Shape::Email, r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}".into(), &[Email]),
        (
            Shape::AwsSecretLabel,
            r"(?i:aws_secret_access_key|secret_access_key|secretaccesskey|aws secret access key|secret access key|aws secret key|secret key|シークレットアクセスキー|シークレットキー)[\x22' ]*[:=][\x22' ]*[A-Za-z0-9/+]{40}".into(),
            &[AwsSecretKey],
        ),
        (
            Shape::Password,
            format!(
                r"(?-u:\b)(?i:password|passwd|pwd|pass phrase|passphrase|pass code|passcode|pin code|pin number|pin)[ ]?(?:is[ ]|[:：=])[ ]?{SECRET_VALUE}|(?:パスワード|暗証番号|合言葉)[ ]?(?:は|[:：=])[ ]?{SECRET_VALUE}"
            ),
            &[Password, Pin],
        ),
        (
            Shape::Username,
            format!(
                r"(?-u:\b)(?i:user ?name|user[ _\-]?id|login(?:[ _]?id)?|screen name)[ ]?(?:is[ ]|[:：=])[ ]?{SECRET_VALUE}|(?:ユーザー名|ユーザ名|ユーザーID|ユーザID|ログインID|ログイン名|アカウント名|アカウントID)[ ]?(?:は|[:：=])[ ]?{SECRET_VALUE}"
            ),
            &[Username],
        ),
        (
            Shape::NameLabel,
            r"(?:氏名|お名前|名前|フルネーム|担当者|宛名|口座名義|名義人|名義|(?-u:\b)(?i:full name|name|patient|customer name|contact name))[ ]?[:：][ ]?(?:[\p{Han}\p{Katakana}ー々]+(?:[ ][\p{Han}\p{Katakana}ー々]+)?|\p{Hiragana}+(?:[ ]\p{Hiragana}+)?|[A-Z][a-zA-Z'\-]+(?:[ ][A-Z]\.)?(?:[ ][A-Z][a-zA-Z'\-]+){0,2})".into(),
            &[Name],
        ),
        (Shape::AddressLabel, r"(?:住所|ご住所|現住所|所在地|送付先|お届け先|(?-u:\b)(?i:address|home address|mailing address))[ ]?[:：][ ]?[^\n\r,、。()「」]+".into(), &[Address]),
        (
            Shape::DriverLabel,
            r"(?-u:\b)(?i:driver'?s? licen[cs]e|driving licen[cs]e|dl)(?i:[ ](?:number|no\.?|#))?[ ]?(?:is[ ]|[:：#])[ ]?[A-Z0-9][A-Z0-9\-]{4,19}".into(),
            &[DriverId],
        ),
        (
            Shape::PlateLabel,
            r"(?-u:\b)(?i:license plate|licence plate|number plate|plate number|plate no\.?|registration number)[ ]?(?:is[ ]|[:：#])?[ ]?[A-Z0-9]{1,8}(?:[ \-][A-Z0-9]{1,4}){0,2}|(?:ナンバープレート|車両番号)[ ]?(?:は|[:：])?[ ]?[A-Z0-9]{1,8}(?:[ \-][A-Z0-9]{1,4}){0,2}".into(),
            &[LicensePlate],
        ),
        (
            Shape::NameTitle,
            r"(?-u:\b)(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Mister)\.?[ ][A-Z][a-zA-Z'\-]+(?:[ ][A-Z]\.)?(?:[ ][A-Z][a-zA-Z'\-]+)?".into(),
            &[Name],
        ),
        (Shape::AwsAccessKey, r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}(?-u:\b)".into(), &[AwsAccessKey]),
        (Shape::Iban, r"(?-u:\b)[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}".into(), &[Iban]),
        (Shape::Nino, r"(?-u:\b)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[A-D](?-u:\b)".into(), &[UkNino]),
        (Shape::CorpT, r"(?-u:\b)T[ \-]?[0-9]{13}(?-u:\b)".into(), &[JpCorporateNumber]),
        (Shape::AlnumId, r"(?-u:\b)[A-Z]{1,2}[0-9]{6,9}[A-Z]{0,2}(?-u:\b)".into(), &[JpResidenceCard, JpPassport, UsPassport, DriverId]),
        (Shape::Swift, r"(?-u:\b)[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?-u:\b)".into(), &[SwiftCode]),
        (Shape::Vin, r"(?-u:\b)[A-HJ-NPR-Z0-9]{17}(?-u:\b)".into(), &[Vin]),
        (Shape::Mac, r"[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}".into(), &[MacAddress]),
        (Shape::Ipv4, r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}".into(), &[IpAddress]),
        (Shape::Ipv6, r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}".into(), &[IpAddress]),
        (Shape::Expiry, r"(?:0[1-9]|1[0-2])[ ]?/[ ]?(?:20[0-9]{2}|[0-9]{2})(?-u:\b)".into(), &[CardExpiry]),
        (
            Shape::Age,
            r"(?-u:\b)(?i:aged?)[ ]?:?[ ]?[0-9]{1,3}(?-u:\b)|[0-9]{1,3}[ ]?(?i:years?[ \-]old|yrs?[ \-]old|y/o)(?-u:\b)|[0-9]{1,3}[ ]?(?:歳|才)|(?:年齢|満)[ ]?[:：]?[ ]?[0-9]{1,3}".into(),
            &[Age],
        ),
        (
            Shape::AddressEn,
            r"(?-u:\b)[0-9]{1,5}(?:[ ][A-Z][a-zA-Z]{1,20}){1,4}[ ](?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq)\.?(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl)\.?[ ]?#?[0-9A-Za-z\-]+)?(?:,[ ][A-Z][a-zA-Z]+(?:[ ][A-Z][a-zA-Z]+){0,3}(?:,[ ][A-Z]{2}(?:[ ][0-9]{5}(?:-[0-9]{4})?)?)?)?".into(),
            &[Address],
        ),
        (Shape::AddressJp, format!(r"(?:{prefs})[\p{{Han}}\p{{Katakana}}ーヶ々0-9\-]+"), &[Address]),
        (Shape::JpPlate, r"(?:\p{Han}{1,4}[ ]?)?[0-9]{2,3}[ ]?\p{Hiragana}[ ]?[0-9]{1,2}-[0-9]{2}".into(), &[LicensePlate]),
        (Shape::NameFurigana, r"[\p{Han}々]{2,8}\([\p{Katakana}ー ]{2,20}\)".into(), &[Name]),
        (Shape::NameHonorific, r"[\p{Han}々]{1,6}(?:様|さま|さん|殿|氏|君|くん|ちゃん|先生)|[\p{Katakana}ー]{2,10}(?:様|さん|氏)".into(), &[Name]),
        (Shape::NameSpacedJa, r"[\p{Han}々]{1,4}[ ][\p{Han}々]{1,4}".into(), &[Name]),
        (Shape::NamePairEn, r"(?-u:\b)[A-Z][a-z]{1,20}(?:[ ][A-Z]\.)?[ ][A-Z][a-z]{1,20}(?:-[A-Z][a-z]{1,20})?(?-u:\b)".into(), &[Name]),
    ];
    t.push((Shape::Numeric, NUMERIC.into(), NUMERIC_TYPES));
    t
}

/// Digits joined by single separators; a leading "+" or "(" for phones.
pub(super) const NUMERIC: &str =
    r"[+(]?[0-9]+(?:(?:[ ]{0,2}[\-.][ ]{0,2}|[ ]{1,2}|[ ]?\([ ]?|[ ]?\)[ ]?)[0-9]+)*\)?";

/// Shapes whose match length is bounded by the pattern and for which, after
/// a failed validation, the scan resumes one character later (at most a
/// pattern-length of re-reading per character: still linear). All other
/// shapes resume after the whole match.
pub(super) fn bounded(shape: Shape) -> bool {
    // Only shapes where a later start inside a rejected match can still be
    // valid ("Contact John Smith": the pair "Contact John" fails, "John
    // Smith" does not). Addresses, IPs and MACs rejected at one start are
    // rejected at every later one, and retrying them would multiply the work.
    matches!(
        shape,
        Shape::NamePairEn
            | Shape::NameSpacedJa
            | Shape::NameFurigana
            | Shape::NameTitle
            | Shape::JpPlate
            | Shape::Swift
            | Shape::Iban
            | Shape::AlnumId
            | Shape::Nino
            | Shape::Vin
            | Shape::Age
    )
}

/// Validate one candidate. Returns the detections (usually one) or nothing.
pub(super) fn validate(
    shape: Shape,
    text: &str,
    s: usize,
    e: usize,
    cx: &Ctx<'_>,
) -> Option<Detection> {
    let m = &text[s..e];
    let b = text.as_bytes();
    let det = |start: usize, end: usize, types: &'static [EntityType]| {
        Some(Detection { start, end, types })
    };
    match shape {
        Shape::Url => {
            let trimmed = m.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'']);
            let trimmed = if !trimmed.contains('(') {
                trimmed.trim_end_matches(')')
            } else {
                trimmed
            };
            det(s, s + trimmed.len(), &[Url])
        }
        Shape::Email => {
            let local = m.split('@').next()?;
            if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
                return None;
            }
            det(s, e, &[Email])
        }
        Shape::AwsSecretLabel => {
            if b.get(e)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b'='))
            {
                return None;
            }
            let v = &m[m.len() - 40..];
            let mixed = v.bytes().any(|c| c.is_ascii_lowercase())
                && v.bytes().any(|c| c.is_ascii_uppercase())
                && v.bytes().any(|c| c.is_ascii_digit());
            mixed.then_some(())?;
            det(e - 40, e, &[AwsSecretKey])
        }
        Shape::Password | Shape::Username => {
            let (vs, ve) = secret_value(m)?;
            let label = &m[..vs].to_ascii_lowercase();
            let value = &m[vs..ve];
            let types: &'static [EntityType] = if shape == Shape::Username {
                &[Username]
            } else if (label.starts_with("pin")
                || label.starts_with("暗証番号")
                || label.starts_with("pass code")
                || label.starts_with("passcode"))
                && value.bytes().all(|c| c.is_ascii_digit())
                && (4..=8).contains(&value.len())
            {
                &[Pin, Password]
            } else if label.starts_with("pin") {
                return None;
            } else {
                &[Password]
            };
            det(s + vs, s + ve, types)
        }
        Shape::NameLabel => {
            let vs = value_start(m)?;
            let v = &m[vs..];
            // Values that are clearly not names: a title word, one hiragana particle.
            if v.chars().count() < 2 || v.len() > 64 {
                return None;
            }
            det(s + vs, e, &[Name])
        }
        Shape::AddressLabel => {
            let vs = value_start(m)?;
            // Labels run to the end of the line; an address is rarely longer
            // than 80 characters, and a trailing particle is not part of it.
            let v = &m[vs..];
            let mut end = v.char_indices().nth(80).map_or(v.len(), |(i, _)| i);
            if let Some((i, _)) = v.char_indices().find(|(i, c)| {
                *i > 0 && matches!(c, '\u{3041}'..='\u{3096}') && !v[..*i].ends_with(['ヶ', 'ケ'])
            }) {
                end = end.min(i);
            }
            let v = ja::trim_address_value(&v[..end]);
            if v.chars().count() < 4 {
                return None;
            }
            det(s + vs, s + vs + v.len(), &[Address])
        }
        Shape::DriverLabel => {
            let vs = last_token_start(m);
            m[vs..].bytes().any(|c| c.is_ascii_digit()).then_some(())?;
            det(s + vs, e, &[DriverId])
        }
        Shape::PlateLabel => {
            let vs = value_start(m).or_else(|| after_label_space(m))?;
            let v = m[vs..].trim_start();
            let vs = m.len() - v.len();
            v.bytes().any(|c| c.is_ascii_digit()).then_some(())?;
            det(s + vs, e, &[LicensePlate])
        }
        Shape::NameTitle => {
            let vs = m.find(' ')? + 1;
            det(s + vs, e, &[Name])
        }
        Shape::AwsAccessKey => det(s, e, &[AwsAccessKey]),
        Shape::Iban => {
            // The pattern may swallow a following capitalised token; drop
            // trailing space-separated groups until the checksum holds.
            let mut end = e;
            loop {
                let compact: Vec<u8> = text[s..end].bytes().filter(|c| *c != b' ').collect();
                if compact.len() < 15 {
                    return None;
                }
                if cs::iban(&compact) && !b.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                    return det(s, end, &[Iban]);
                }
                end = s + text[s..end].rfind(' ')?;
            }
        }
        Shape::Nino => {
            let p = &m[..2];
            (!matches!(p, "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ")).then_some(())?;
            det(s, e, &[UkNino])
        }
        Shape::CorpT => {
            let d: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
            cs::corporate_number(&d).then_some(())?;
            det(s, e, &[JpCorporateNumber])
        }
        Shape::AlnumId => {
            let letters = m.bytes().take_while(u8::is_ascii_uppercase).count();
            let digits = m[letters..].bytes().take_while(u8::is_ascii_digit).count();
            let suffix = m.len() - letters - digits;
            if letters == 2 && digits == 8 && suffix == 2 {
                return det(s, e, &[JpResidenceCard]);
            }
            let passport = cx.has(ctx::PASSPORT, s, e);
            if passport && suffix == 0 && letters == 2 && digits == 7 {
                return det(s, e, &[JpPassport, UsPassport]);
            }
            if passport && suffix == 0 && letters == 1 && digits == 8 {
                return det(s, e, &[UsPassport]);
            }
            if cx.has(ctx::LICENSE, s, e) {
                return det(s, e, &[DriverId]);
            }
            None
        }
        Shape::Swift => {
            let has_digit = m[6..8].bytes().any(|c| c.is_ascii_digit())
                || m.len() == 11 && m[8..].bytes().any(|c| c.is_ascii_digit());
            (cx.has(ctx::SWIFT, s, e) || has_digit).then_some(())?;
            det(s, e, &[SwiftCode])
        }
        Shape::Vin => {
            let mb = m.as_bytes();
            let has_letter = mb.iter().any(u8::is_ascii_uppercase);
            let has_digit = mb.iter().any(u8::is_ascii_digit);
            (has_letter && has_digit && (cs::vin(mb) || cx.has(ctx::VIN, s, e))).then_some(())?;
            det(s, e, &[Vin])
        }
        Shape::Mac => {
            let hexish = |c: &u8| c.is_ascii_alphanumeric() || *c == b':' || *c == b'-';
            if s > 0 && hexish(&b[s - 1]) || b.get(e).is_some_and(hexish) {
                return None;
            }
            let seps: Vec<u8> = m.bytes().filter(|c| !c.is_ascii_hexdigit()).collect();
            seps.windows(2).all(|w| w[0] == w[1]).then_some(())?;
            det(s, e, &[MacAddress])
        }
        Shape::Ipv4 => {
            // "v1.2.3.4", "1.2.3.4.5" and "version 1.2.3.4" are versions.
            if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.') {
                return None;
            }
            if b.get(e).is_some_and(|c| c.is_ascii_alphanumeric())
                || b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit)
            {
                return None;
            }
            m.parse::<std::net::Ipv4Addr>().ok()?;
            if cx.negative(s) {
                return None;
            }
            det(s, e, &[IpAddress])
        }
        Shape::Ipv6 => {
            if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b':')
                || b.get(e).is_some_and(|c| c.is_ascii_alphanumeric())
            {
                return None;
            }
            (m.bytes().filter(u8::is_ascii_hexdigit).count() >= 2).then_some(())?;
            m.parse::<std::net::Ipv6Addr>().ok()?;
            det(s, e, &[IpAddress])
        }
        Shape::Expiry => {
            (cx.has(ctx::EXPIRY | ctx::CARD, s, e)).then_some(())?;
            det(s, e, &[CardExpiry])
        }
        Shape::Age => {
            let ds = m.find(|c: char| c.is_ascii_digit())?;
            let digits: String = m[ds..].chars().take_while(char::is_ascii_digit).collect();
            let age: u32 = digits.parse().ok()?;
            (age <= 130).then_some(())?;
            if ds == 0
                && s > 0
                && (b[s - 1].is_ascii_digit() || b[s - 1] == b'.' || b[s - 1] == b',')
            {
                return None;
            }
            det(s + ds, e, &[Age])
        }
        Shape::AddressEn => det(s, e, &[Address]),
        Shape::AddressJp => {
            let pref = ja::PREFECTURES.iter().find(|p| m.starts_with(**p))?;
            let tail = &m[pref.len()..];
            ja::address_tail_ok(tail).then_some(())?;
            let end = m.char_indices().nth(60).map_or(m.len(), |(i, _)| i);
            let v = m[..end].trim_end_matches('-');
            det(s, s + v.len(), &[Address])
        }
        Shape::JpPlate => det(s, e, &[LicensePlate]),
        Shape::NameFurigana => {
            let paren = m.find('(')?;
            let off = ja::name_with_furigana(&m[..paren])?;
            det(s + off, e, &[Name])
        }
        Shape::NameHonorific => {
            let run = HONORIFICS.iter().find_map(|h| m.strip_suffix(h))?;
            let (ns, ne) = ja::name_before_honorific(run)?;
            det(s + ns, s + ne, &[Name])
        }
        Shape::NameSpacedJa => {
            let sp = m.find(' ')?;
            ja::spaced_full_name(&m[..sp], &m[sp + 1..]).then_some(())?;
            det(s, e, &[Name])
        }
        Shape::NamePairEn => {
            let words: Vec<&str> = m.split(' ').collect();
            en::full_name(&words).then_some(())?;
            det(s, e, &[Name])
        }
        Shape::Numeric => None,
    }
}

/// Where the value starts after "label : " (or "label is ", "label は").
fn value_start(m: &str) -> Option<usize> {
    let i = m.find([':', '：', '=', '#'])?;
    let sep_len = m[i..].chars().next()?.len_utf8();
    let rest = &m[i + sep_len..];
    let v = rest.trim_start_matches(' ');
    (!v.is_empty()).then_some(m.len() - v.len())
}

fn after_label_space(m: &str) -> Option<usize> {
    let i = m.rfind(' ')?;
    Some(i + 1)
}

fn last_token_start(m: &str) -> usize {
    m.rfind([' ', ':', '：', '#'])
        .map_or(0, |i| i + m[i..].chars().next().map_or(1, char::len_utf8))
}

/// The value of a "password: xxx" or "パスワードは xxx" candidate, without
/// opening/closing quotes and a sentence-final period.
fn secret_value(m: &str) -> Option<(usize, usize)> {
    let sep = [" is ", ":", "：", "=", "は"]
        .iter()
        .filter_map(|p| m.find(p).map(|i| (i, p.len())))
        .min_by_key(|(i, _)| *i)?;
    let mut vs = sep.0 + sep.1;
    while m[vs..].starts_with(' ') {
        vs += 1;
    }
    for q in ['"', '\'', '「'] {
        if m[vs..].starts_with(q) {
            vs += q.len_utf8();
        }
    }
    let v = m[vs..].trim_end_matches(['"', '\'', '.', ',', ';', ')', '」']);
    (!v.is_empty()).then_some((vs, vs + v.len()))
}
