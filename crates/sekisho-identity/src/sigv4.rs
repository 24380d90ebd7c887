//! Verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`), in the
//! `Authorization` header and presigned in the query string.
//!
//! Two steps, so that the caller can find the key between them:
//!
//! 1. [`parse`] reads the claim (access key id, credential scope, signed
//!    headers, signature, date, session token) without any secret;
//! 2. [`verify`] rebuilds the canonical request from the request as received,
//!    derives the signing key from the secret and compares the signature in
//!    constant time, after checking the clock (±5 minutes for header
//!    signatures; `X-Amz-Date` .. `X-Amz-Date + X-Amz-Expires` for presigned
//!    URLs, the start with the same 5 minutes of tolerance for the signer's
//!    clock).
//!
//! A [`SigningKey`] can be derived once and cached per access key id and
//! credential scope (one day, region, service): [`verify_with_key`].
//!
//! # What comes from `aws-sigv4`, and why the rest is here
//!
//! The key derivation and the final HMAC are the official crate's
//! [`aws_sigv4::sign::v4::generate_signing_key`] and
//! [`aws_sigv4::sign::v4::calculate_signature`]. Its canonical-request code
//! (`http_request::canonical_request`) is `pub(crate)`, and its only public
//! entry point, [`aws_sigv4::http_request::sign`], is a *signer*: it decides
//! itself which headers to sign (it always adds `x-amz-date`, the session
//! token and its own `host`, drops `user-agent`…), needs a path that
//! `http::Uri` accepts, and encodes the path on the assumption that an SDK
//! produced it (it only re-escapes `%`). A verifier must instead rebuild
//! exactly what *any* client signed, from the raw request line and the
//! client's own `SignedHeaders` list, so the canonicalization is written here
//! — following the same rules, and checked against the official signing test
//! suite (`tests/data/aws-signing-test-suite`) and against signatures made by
//! `aws_sigv4::http_request::sign` (`tests/sigv4.rs`).
//!
//! (`generate_signing_key` builds `"AWS4" + secret` in a `String` it does
//! not zeroize; caching [`SigningKey`]s also makes that rarer.)
//!
//! # Canonicalization
//!
//! * Path: for every service but S3, dot segments and empty segments are
//!   removed ([`CanonicalOptions::normalize_path`]) and the path *as received*
//!   is percent-encoded once more (`%3A` becomes `%253A`, a raw `:` becomes
//!   `%3A`). For S3 (`s3`, `s3-object-lambda`, `s3express`) the path is used
//!   as received, only bytes that are not yet encoded being encoded.
//! * Query: split on `&`, each key and value percent-decoded (`+` is a space,
//!   as `aws-sigv4` reads it) and re-encoded per RFC 3986 (unreserved
//!   `A-Za-z0-9-._~` kept, everything else `%XX`), sorted by encoded key then
//!   value; `X-Amz-Signature` left out for presigned URLs. A presigned URL's
//!   `X-Amz-Security-Token` is accepted both signed (the usual way) and
//!   appended after signing (AWS IoT style): the token is sealed to its
//!   access key id anyway, and the secret it carries is what must sign.
//! * Headers: the client's `SignedHeaders` in the client's order, names lower
//!   case, values trimmed of spaces with runs of spaces collapsed, repeated
//!   headers joined with `,`.
//! * Payload: see [`PayloadHash`].
//!
//! Only `x-amz-date` (header) / `X-Amz-Date` (query) is accepted as the
//! request time; the legacy `Date` header is not. HTTP/2 callers must pass
//! `:authority` as `host`.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use subtle::ConstantTimeEq;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use zeroize::Zeroizing;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Clock skew tolerated between the client's `X-Amz-Date` and our clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// Longest validity of a presigned URL (7 days), as AWS.
pub const MAX_PRESIGNED_EXPIRES: u32 = 604_800;
/// The payload hash of an unsigned payload.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty string, hex.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SCOPE_TERMINATOR: &str = "aws4_request";
const MAX_SIGNED_HEADERS: usize = 64;

/// The parts of a received HTTP request that a signature covers.
///
/// `path` and `query` are raw, exactly as on the request line (still
/// percent-encoded); `headers` carry lower-case names, one entry per header
/// line (repeated headers repeated). The body is represented by its hash,
/// [`PayloadHash`].
#[derive(Clone, Copy)]
pub struct HttpParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// Raw path, as received, still percent-encoded.
    pub path: &'a str,
    /// Raw query string without the `?`, as received.
    pub query: &'a str,
    /// `(lower-case name, value)` pairs.
    pub headers: &'a [(String, String)],
}

/// Header values may hold the session token and the signature; `Debug` shows
/// only the method, the path and the header names.
impl fmt::Debug for HttpParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpParts")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_len", &self.query.len())
            .field(
                "header_names",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What the caller knows about the body.
///
/// * `Hex(h)`: the caller hashed the body (SHA-256, hex; see
///   [`PayloadHash::of_body`]). A header signature must cover exactly this
///   hash; an `x-amz-content-sha256` header is honoured only when it equals it.
///   A presigned URL may cover either this hash or `UNSIGNED-PAYLOAD`
///   (S3-style presigning signs `UNSIGNED-PAYLOAD`, botocore's generic
///   presigner the body hash).
/// * `Unsigned`: the caller did not hash the body and the request is verified
///   as an `UNSIGNED-PAYLOAD` request: the body is then **not** covered by the
///   signature. Any other `x-amz-content-sha256` is refused.
///
/// Streaming payload signatures (`STREAMING-...`) are not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadHash {
    /// Lower-case hex SHA-256 of the body.
    Hex(String),
    /// The body is not covered by the signature.
    Unsigned,
}

impl PayloadHash {
    /// Hashes `body` (SHA-256 with aws-lc-rs).
    pub fn of_body(body: &[u8]) -> Self {
        PayloadHash::Hex(hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            body,
        )))
    }
}

/// What a request claims about its signature; produced by [`parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Claim {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// Credential scope date, `yyyymmdd`.
    pub date: String,
    /// Credential scope region.
    pub region: String,
    /// Credential scope service (the signing name: `bedrock`, `sts`, ...).
    pub service: String,
    /// Signed header names, in the client's order.
    pub signed_headers: Vec<String>,
    /// The signature, 64 hex digits.
    pub signature: String,
    /// `X-Amz-Date`.
    pub amz_date: OffsetDateTime,
    /// `X-Amz-Security-Token` (header or query), if any.
    pub session_token: Option<String>,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub presigned_expires: Option<u32>,
    /// Whether the signature came in the query string.
    pub presigned: bool,
}

impl SigV4Claim {
    /// `date/region/service/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The session token and the signature are redacted.
impl fmt::Debug for SigV4Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4Claim")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"<redacted>")
            .field("amz_date", &self.amz_date)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("presigned_expires", &self.presigned_expires)
            .field("presigned", &self.presigned)
            .finish()
    }
}

/// Why a request was not authenticated. Messages name fields, never values
/// of credentials, tokens or signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither an `Authorization` header nor `X-Amz-Algorithm` in the query
    /// (AWS: "Missing Authentication Token").
    #[error("the request is not signed")]
    Missing,
    /// The authorization data cannot be read.
    #[error("malformed authorization: {0}")]
    Malformed(String),
    /// Not `AWS4-HMAC-SHA256`.
    #[error("unsupported authorization algorithm, only AWS4-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm,
    /// The signature (or the body hash it covers) does not match.
    #[error(
        "the request signature we calculated does not match the signature you provided; \
         check your secret access key and signing method"
    )]
    SignatureMismatch,
    /// `X-Amz-Date` more than 5 minutes before now (AWS: "Signature expired").
    #[error("signature expired: the request time is more than 5 minutes before the server time")]
    RequestTooOld,
    /// `X-Amz-Date` more than 5 minutes after now (AWS: "Signature not yet current").
    #[error(
        "signature not yet current: the request time is more than 5 minutes after the server time"
    )]
    RequestInFuture,
    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires`.
    #[error("request has expired")]
    PresignedExpired,
    /// The credential scope does not fit the request.
    #[error("credential scope mismatch: {0}")]
    ScopeMismatch(String),
}

fn malformed(msg: impl Into<String>) -> AuthError {
    AuthError::Malformed(msg.into())
}

/// How the path is canonicalized. [`verify`] uses
/// [`CanonicalOptions::for_service`]; [`verify_with`] takes it explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalOptions {
    /// Remove `.`/`..` and empty segments (all services but S3).
    pub normalize_path: bool,
    /// Percent-encode the received path once more (all services but S3).
    pub double_encode_path: bool,
}

impl CanonicalOptions {
    /// S3 (`s3`, `s3-object-lambda`, `s3express`): no normalization, single
    /// encoding. Every other service: normalization and double encoding.
    pub fn for_service(service: &str) -> Self {
        let s3 = matches!(service, "s3" | "s3-object-lambda" | "s3express");
        CanonicalOptions {
            normalize_path: !s3,
            double_encode_path: !s3,
        }
    }
}

// ---------------------------------------------------------------------------
// parse

/// Reads the signature claim of a request. Cheap and secret-free: it lets
/// the caller find the key. [`verify`] re-checks everything it relies on.
pub fn parse(parts: &HttpParts<'_>) -> Result<SigV4Claim, AuthError> {
    let authorization = single_header(parts.headers, "authorization")?;
    let presigned = query_pairs(parts.query).any(|(k, _)| decode(k).as_ref() == b"X-Amz-Algorithm");
    match (authorization, presigned) {
        (Some(_), true) => Err(malformed(
            "both an Authorization header and an X-Amz-Algorithm query parameter",
        )),
        (Some(auth), false) => parse_header_auth(parts, auth),
        (None, true) => parse_presigned(parts),
        (None, false) => Err(AuthError::Missing),
    }
}

fn parse_header_auth(parts: &HttpParts<'_>, auth: &str) -> Result<SigV4Claim, AuthError> {
    let auth = auth.trim_matches(|c| c == ' ' || c == '\t');
    let (algorithm, rest) = match auth.split_once(' ') {
        Some(split) => split,
        None if auth == ALGORITHM => return Err(malformed("Authorization has no components")),
        None => return Err(AuthError::UnsupportedAlgorithm),
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(',') {
        let component = component.trim_matches(|c| c == ' ' || c == '\t');
        if component.is_empty() {
            continue;
        }
        let (key, value) = component
            .split_once('=')
            .ok_or_else(|| malformed("an Authorization component is not key=value"))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed("unknown Authorization component")),
        };
        if slot.replace(value).is_some() {
            return Err(malformed("repeated Authorization component"));
        }
    }
    let credential = credential.ok_or_else(|| malformed("Authorization lacks Credential"))?;
    let signed_headers =
        signed_headers.ok_or_else(|| malformed("Authorization lacks SignedHeaders"))?;
    let signature = signature.ok_or_else(|| malformed("Authorization lacks Signature"))?;

    let date = single_header(parts.headers, "x-amz-date")?
        .ok_or_else(|| malformed("missing X-Amz-Date header"))?;
    let amz_date = parse_amz_date(date.trim_matches(' '))?;
    let session_token = single_header(parts.headers, "x-amz-security-token")?
        .map(|t| t.trim_matches(' '))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    build_claim(
        credential,
        signed_headers,
        signature,
        amz_date,
        session_token,
        None,
    )
}

fn parse_presigned(parts: &HttpParts<'_>) -> Result<SigV4Claim, AuthError> {
    let mut algorithm = None;
    let mut credential = None;
    let mut date = None;
    let mut signed_headers = None;
    let mut signature = None;
    let mut expires = None;
    let mut token = None;
    for (k, v) in query_pairs(parts.query) {
        let slot = match decode(k).as_ref() {
            b"X-Amz-Algorithm" => &mut algorithm,
            b"X-Amz-Credential" => &mut credential,
            b"X-Amz-Date" => &mut date,
            b"X-Amz-SignedHeaders" => &mut signed_headers,
            b"X-Amz-Signature" => &mut signature,
            b"X-Amz-Expires" => &mut expires,
            b"X-Amz-Security-Token" => &mut token,
            _ => continue,
        };
        let value = String::from_utf8(decode(v).into_owned())
            .map_err(|_| malformed("an X-Amz-* query parameter is not UTF-8"))?;
        if slot.replace(value).is_some() {
            return Err(malformed("repeated X-Amz-* query parameter"));
        }
    }
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let credential = credential.ok_or_else(|| malformed("missing X-Amz-Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| malformed("missing X-Amz-SignedHeaders"))?;
    let signature = signature.ok_or_else(|| malformed("missing X-Amz-Signature"))?;
    let date = date.ok_or_else(|| malformed("missing X-Amz-Date"))?;
    let amz_date = parse_amz_date(&date)?;
    let expires = expires.ok_or_else(|| malformed("missing X-Amz-Expires"))?;
    let expires = parse_expires(&expires)?;
    build_claim(
        &credential,
        &signed_headers,
        &signature,
        amz_date,
        token.filter(|t| !t.is_empty()),
        Some(expires),
    )
}

fn parse_expires(s: &str) -> Result<u32, AuthError> {
    if s.is_empty() || s.len() > 7 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("X-Amz-Expires must be a number of seconds"));
    }
    let n: u32 = s
        .parse()
        .map_err(|_| malformed("X-Amz-Expires must be a number of seconds"))?;
    if !(1..=MAX_PRESIGNED_EXPIRES).contains(&n) {
        return Err(malformed(
            "X-Amz-Expires must be between 1 and 604800 seconds",
        ));
    }
    Ok(n)
}

fn build_claim(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: OffsetDateTime,
    session_token: Option<String>,
    presigned_expires: Option<u32>,
) -> Result<SigV4Claim, AuthError> {
    let mut scope = credential.split('/');
    let (Some(akid), Some(date), Some(region), Some(service), Some(term), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(malformed(
            "Credential must be access-key-id/date/region/service/aws4_request",
        ));
    };
    if akid.is_empty() || akid.len() > 128 || !akid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(malformed("invalid access key id in Credential"));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("invalid date in Credential"));
    }
    for (what, v) in [("region", region), ("service", service)] {
        if v.is_empty()
            || v.len() > 64
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(malformed(format!("invalid {what} in Credential")));
        }
    }
    if term != SCOPE_TERMINATOR {
        return Err(malformed("Credential must end with aws4_request"));
    }
    let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    let claim = SigV4Claim {
        access_key_id: akid.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
        amz_date,
        session_token,
        presigned_expires,
        presigned: presigned_expires.is_some(),
    };
    check_claim(&claim)?;
    Ok(claim)
}

/// Invariants of a claim that do not need the request or the secret.
fn check_claim(claim: &SigV4Claim) -> Result<(), AuthError> {
    if claim.signature.len() != 64 || !claim.signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("the signature must be 64 hex digits"));
    }
    if claim.signed_headers.is_empty() || claim.signed_headers.len() > MAX_SIGNED_HEADERS {
        return Err(malformed("SignedHeaders has too many or no names"));
    }
    for (i, name) in claim.signed_headers.iter().enumerate() {
        if name.is_empty() || name.len() > 128 || !name.bytes().all(is_lower_token_char) {
            return Err(malformed("SignedHeaders holds an invalid header name"));
        }
        if claim.signed_headers[..i].contains(name) {
            return Err(malformed("SignedHeaders repeats a header name"));
        }
    }
    if !claim.signed_headers.iter().any(|h| h == "host") {
        return Err(malformed("the host header must be signed"));
    }
    if claim.presigned != claim.presigned_expires.is_some() {
        return Err(malformed(
            "X-Amz-Expires belongs to presigned requests only",
        ));
    }
    if let Some(e) = claim.presigned_expires
        && !(1..=MAX_PRESIGNED_EXPIRES).contains(&e)
    {
        return Err(malformed(
            "X-Amz-Expires must be between 1 and 604800 seconds",
        ));
    }
    let mut ymd = [0u8; 8];
    write_ymd(&mut ymd, claim.amz_date);
    if claim.date.as_bytes() != ymd {
        return Err(AuthError::ScopeMismatch(
            "the credential scope date is not the date of X-Amz-Date".into(),
        ));
    }
    Ok(())
}

/// RFC 7230 token characters, lower case.
fn is_lower_token_char(b: u8) -> bool {
    b.is_ascii_lowercase()
        || b.is_ascii_digit()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// `yyyymmddThhmmssZ`, strictly.
fn parse_amz_date(s: &str) -> Result<OffsetDateTime, AuthError> {
    let b = s.as_bytes();
    let bad = || malformed("X-Amz-Date must be yyyymmddThhmmssZ");
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, AuthError> {
        let mut n = 0u32;
        for &d in b.get(r).ok_or_else(bad)? {
            if !d.is_ascii_digit() {
                return Err(bad());
            }
            n = n * 10 + u32::from(d - b'0');
        }
        Ok(n)
    };
    let year = i32::try_from(num(0..4)?).map_err(|_| bad())?;
    let month = Month::try_from(u8::try_from(num(4..6)?).map_err(|_| bad())?).map_err(|_| bad())?;
    let day = u8::try_from(num(6..8)?).map_err(|_| bad())?;
    let hour = u8::try_from(num(9..11)?).map_err(|_| bad())?;
    let minute = u8::try_from(num(11..13)?).map_err(|_| bad())?;
    let second = u8::try_from(num(13..15)?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    let time = Time::from_hms(hour, minute, second).map_err(|_| bad())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

fn write_ymd(out: &mut [u8; 8], t: OffsetDateTime) {
    let t = t.to_offset(UtcOffset::UTC);
    let y = t.year().clamp(0, 9999) as u32;
    let m = u32::from(u8::from(t.month()));
    let d = u32::from(t.day());
    let digits = [
        y / 1000,
        y / 100 % 10,
        y / 10 % 10,
        y % 10,
        m / 10,
        m % 10,
        d / 10,
        d % 10,
    ];
    for (o, n) in out.iter_mut().zip(digits) {
        // n < 10
        *o = b'0' + n as u8;
    }
}

fn write_amz_date(out: &mut String, t: OffsetDateTime) {
    let t = t.to_offset(UtcOffset::UTC);
    let mut buf = [0u8; 16];
    let (ymd, rest) = buf.split_at_mut(8);
    let mut d = [0u8; 8];
    write_ymd(&mut d, t);
    ymd.copy_from_slice(&d);
    rest[0] = b'T';
    for (i, v) in [t.hour(), t.minute(), t.second()].into_iter().enumerate() {
        rest[1 + 2 * i] = b'0' + v / 10 % 10;
        rest[2 + 2 * i] = b'0' + v % 10;
    }
    rest[7] = b'Z';
    push_ascii(out, &buf);
}

// ---------------------------------------------------------------------------
// verify

/// Verifies the signature of a request against `secret_access_key`, with the
/// path canonicalization AWS uses for `claim.service`
/// ([`CanonicalOptions::for_service`]).
///
/// `claim` must come from [`parse`] of the same `parts`; its invariants are
/// re-checked. Checks, in order: the claim (scope date, `host` signed, ...),
/// the clock, the payload hash, the signature (constant time).
pub fn verify(
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    payload: &PayloadHash,
    secret_access_key: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    verify_with(
        parts,
        claim,
        payload,
        secret_access_key,
        now,
        CanonicalOptions::for_service(&claim.service),
    )
}

/// [`verify`] with explicit path canonicalization options.
pub fn verify_with(
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    payload: &PayloadHash,
    secret_access_key: &str,
    now: OffsetDateTime,
    options: CanonicalOptions,
) -> Result<(), AuthError> {
    check_claim(claim)?;
    check_time(claim, now)?;
    let candidates = payload_candidates(parts, claim, payload)?;
    let key = SigningKey::derive(secret_access_key, claim);
    compare_signature(parts, claim, &candidates, &key, options)
}

/// [`verify_with`] with a [`SigningKey`] derived earlier (and cached by the
/// caller, e.g. per access key id and credential scope). A key derived for
/// another scope gives [`AuthError::ScopeMismatch`].
pub fn verify_with_key(
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    payload: &PayloadHash,
    key: &SigningKey,
    now: OffsetDateTime,
    options: CanonicalOptions,
) -> Result<(), AuthError> {
    check_claim(claim)?;
    check_time(claim, now)?;
    if !key.fits(claim) {
        return Err(AuthError::ScopeMismatch(
            "the signing key was derived for another credential scope".into(),
        ));
    }
    let candidates = payload_candidates(parts, claim, payload)?;
    compare_signature(parts, claim, &candidates, key, options)
}

/// A SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date),
/// region), service), "aws4_request")`, derived with `aws-sigv4`. It is valid
/// for one day, region and service, and lets whoever holds it sign for them:
/// treat it as a secret (it is zeroized on drop and redacted in `Debug`).
#[derive(Clone)]
pub struct SigningKey {
    key: Zeroizing<Vec<u8>>,
    date: [u8; 8],
    region: String,
    service: String,
}

impl SigningKey {
    /// Derives the key for the claim's scope (the date of its `X-Amz-Date`,
    /// its region and service).
    pub fn derive(secret_access_key: &str, claim: &SigV4Claim) -> Self {
        let key = aws_sigv4::sign::v4::generate_signing_key(
            secret_access_key,
            SystemTime::from(claim.amz_date),
            &claim.region,
            &claim.service,
        );
        let mut date = [0u8; 8];
        write_ymd(&mut date, claim.amz_date);
        SigningKey {
            key: Zeroizing::new(key.as_ref().to_vec()),
            date,
            region: claim.region.clone(),
            service: claim.service.clone(),
        }
    }

    /// Whether the key was derived for the claim's credential scope.
    pub fn fits(&self, claim: &SigV4Claim) -> bool {
        claim.date.as_bytes() == self.date
            && claim.region == self.region
            && claim.service == self.service
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("date", &String::from_utf8_lossy(&self.date))
            .field("region", &self.region)
            .field("service", &self.service)
            .field("key", &"<redacted>")
            .finish()
    }
}

fn compare_signature(
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    candidates: &[Option<&str>; 2],
    key: &SigningKey,
    options: CanonicalOptions,
) -> Result<(), AuthError> {
    let mut expected = [0u8; 64];
    for (e, s) in expected.iter_mut().zip(claim.signature.bytes()) {
        *e = s.to_ascii_lowercase();
    }
    // A presigned URL's session token is normally part of the signed query;
    // some signers (AWS IoT style, `SessionTokenMode::Exclude` of aws-sigv4)
    // append it after signing. Both are accepted: the token is bound to its
    // access key id by its own seal and the secret inside it is what signs.
    let token_variants: &[bool] = if claim.presigned && claim.session_token.is_some() {
        &[false, true]
    } else {
        &[false]
    };
    let mut creq = String::with_capacity(512);
    let mut sts = String::with_capacity(160);
    let mut matched = subtle::Choice::from(0);
    for &omit_token in token_variants {
        creq.clear();
        write_canonical_prefix(&mut creq, parts, claim, options, omit_token)?;
        let prefix_len = creq.len();
        for payload_hash in candidates.iter().flatten() {
            creq.truncate(prefix_len);
            creq.push_str(payload_hash);
            sts.clear();
            write_string_to_sign(&mut sts, claim, &creq);
            let actual = aws_sigv4::sign::v4::calculate_signature(&*key.key, sts.as_bytes());
            matched |= actual.as_bytes().ct_eq(&expected);
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

fn check_time(claim: &SigV4Claim, now: OffsetDateTime) -> Result<(), AuthError> {
    let age = now - claim.amz_date;
    if age < -MAX_CLOCK_SKEW {
        return Err(AuthError::RequestInFuture);
    }
    match claim.presigned_expires {
        None if age > MAX_CLOCK_SKEW => Err(AuthError::RequestTooOld),
        Some(expires) if age > Duration::seconds(i64::from(expires)) => {
            Err(AuthError::PresignedExpired)
        }
        _ => Ok(()),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The payload hashes the signature may cover (one or two).
fn payload_candidates<'a>(
    parts: &'a HttpParts<'_>,
    claim: &SigV4Claim,
    payload: &'a PayloadHash,
) -> Result<[Option<&'a str>; 2], AuthError> {
    let computed = match payload {
        PayloadHash::Hex(h) if is_hex64(h) => Some(h.as_str()),
        PayloadHash::Hex(_) => return Err(malformed("the payload hash must be 64 hex digits")),
        PayloadHash::Unsigned => None,
    };
    let header = single_header(parts.headers, "x-amz-content-sha256")?.map(|h| h.trim_matches(' '));
    match (header, computed) {
        (Some(h), _) if h.starts_with("STREAMING-") => {
            Err(malformed("streaming payload signing is not supported"))
        }
        (Some(h), Some(c)) if h.eq_ignore_ascii_case(c) => Ok([Some(h), None]),
        (Some(UNSIGNED_PAYLOAD), None) => Ok([Some(UNSIGNED_PAYLOAD), None]),
        (Some(UNSIGNED_PAYLOAD), Some(_)) if claim.presigned => Ok([Some(UNSIGNED_PAYLOAD), None]),
        (Some(_), _) => Err(AuthError::SignatureMismatch),
        (None, None) => Ok([Some(UNSIGNED_PAYLOAD), None]),
        (None, Some(c)) if claim.presigned => Ok([Some(UNSIGNED_PAYLOAD), Some(c)]),
        (None, Some(c)) => Ok([Some(c), None]),
    }
}

/// The canonical request AWS would build for this request and claim, with
/// `payload_hash` as its last line.
///
/// It contains the signed header values, among them possibly the session
/// token: use it for tests and local debugging, never log it or send it
/// back to a client.
pub fn canonical_request(
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    payload_hash: &str,
    options: CanonicalOptions,
) -> Result<String, AuthError> {
    let mut out = String::with_capacity(512);
    write_canonical_prefix(&mut out, parts, claim, options, false)?;
    out.push_str(payload_hash);
    Ok(out)
}

/// `AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n<hex sha256(canonical request)>`.
pub fn string_to_sign(claim: &SigV4Claim, canonical_request: &str) -> String {
    let mut out = String::with_capacity(160);
    write_string_to_sign(&mut out, claim, canonical_request);
    out
}

fn write_string_to_sign(out: &mut String, claim: &SigV4Claim, canonical_request: &str) {
    out.push_str(ALGORITHM);
    out.push('\n');
    write_amz_date(out, claim.amz_date);
    out.push('\n');
    out.push_str(&claim.date);
    out.push('/');
    out.push_str(&claim.region);
    out.push('/');
    out.push_str(&claim.service);
    out.push('/');
    out.push_str(SCOPE_TERMINATOR);
    out.push('\n');
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical_request.as_bytes());
    push_hex(out, digest.as_ref());
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// Everything of the canonical request but the payload hash.
fn write_canonical_prefix(
    out: &mut String,
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    options: CanonicalOptions,
    omit_token: bool,
) -> Result<(), AuthError> {
    out.push_str(parts.method);
    out.push('\n');
    write_canonical_uri(out, parts.path, options);
    out.push('\n');
    write_canonical_query(out, parts.query, claim.presigned, omit_token);
    out.push('\n');
    for name in &claim.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for (n, v) in parts.headers {
            if n.eq_ignore_ascii_case(name) {
                if found {
                    out.push(',');
                }
                found = true;
                push_trimmed_value(out, v);
            }
        }
        if !found {
            return Err(malformed("a signed header is missing from the request"));
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in claim.signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    Ok(())
}

/// Trims spaces and collapses runs of spaces, as `aws-sigv4`'s `trim_all`
/// (only spaces; other whitespace is kept, as S3 does).
fn push_trimmed_value(out: &mut String, value: &str) {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        out.push_str(value);
        return;
    }
    let mut prev_space = false;
    for c in value.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

fn write_canonical_uri(out: &mut String, raw: &str, options: CanonicalOptions) {
    let path: Cow<'_, str> = if options.normalize_path {
        normalize_path(raw)
    } else if raw.is_empty() {
        Cow::Borrowed("/")
    } else {
        Cow::Borrowed(raw)
    };
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if is_unreserved(c) || c == b'/' {
            let run = b[i..]
                .iter()
                .position(|&x| !(is_unreserved(x) || x == b'/'))
                .map_or(b.len(), |n| i + n);
            push_ascii(out, &b[i..run]);
            i = run;
            continue;
        } else if !options.double_encode_path
            && c == b'%'
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            // Already encoded: keep the escape as it is.
            out.push('%');
            out.push(char::from(b[i + 1]));
            out.push(char::from(b[i + 2]));
            i += 2;
        } else {
            push_pct(out, c);
        }
        i += 1;
    }
}

/// RFC 3986 dot-segment removal that also drops empty segments, as botocore
/// and `aws-sigv4` do; a trailing slash is kept.
fn normalize_path(raw: &str) -> Cow<'_, str> {
    if raw.is_empty() {
        return Cow::Borrowed("/");
    }
    if raw.starts_with('/') && !raw.contains("//") && !raw.split('/').any(|s| s == "." || s == "..")
    {
        return Cow::Borrowed(raw);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(raw.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing = ["/", "/.", "/.."].iter().any(|t| raw.ends_with(t));
    if out.is_empty() || trailing {
        out.push('/');
    }
    Cow::Owned(out)
}

fn query_pairs(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoding as `application/x-www-form-urlencoded` (what `aws-sigv4`
/// uses to read a query): `+` is a space; a `%` not followed by two hex
/// digits is kept literally.
fn decode(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if !b.iter().any(|c| *c == b'%' || *c == b'+') {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex_val);
                let lo = b.get(i + 2).copied().and_then(hex_val);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn encode_into(out: &mut String, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|&b| !is_unreserved(b))
            .unwrap_or(rest.len());
        push_ascii(out, &rest[..run]);
        if let Some(&b) = rest.get(run) {
            push_pct(out, b);
            rest = &rest[run + 1..];
        } else {
            rest = &[];
        }
    }
}

/// Appends bytes known to be ASCII.
fn push_ascii(out: &mut String, ascii: &[u8]) {
    if let Ok(s) = std::str::from_utf8(ascii) {
        out.push_str(s);
    }
}

fn write_canonical_query(out: &mut String, raw: &str, presigned: bool, omit_token: bool) {
    if raw.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in query_pairs(raw) {
        let k = decode(k);
        if presigned && k.as_ref() == b"X-Amz-Signature"
            || omit_token && k.as_ref() == b"X-Amz-Security-Token"
        {
            continue;
        }
        let mut ek = String::with_capacity(k.len());
        encode_into(&mut ek, &k);
        let mut ev = String::with_capacity(v.len());
        encode_into(&mut ev, &decode(v));
        pairs.push((ek, ev));
    }
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

fn single_header<'a>(
    headers: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, AuthError> {
    let mut found = None;
    for (n, v) in headers {
        if n.eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(malformed(format!("repeated {name} header")));
            }
            found = Some(v.as_str());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_botocore() {
        for (raw, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/a/b/../c/./d/", "/a/c/d/"),
            ("/agents/abc/", "/agents/abc/"),
            ("/../..", "/"),
            ("/a/..", "/"),
            ("/a/.", "/a/"),
            ("/a.b/c..d", "/a.b/c..d"),
            ("relative/x", "/relative/x"),
        ] {
            assert_eq!(normalize_path(raw), want, "{raw}");
        }
    }

    #[test]
    fn encodes_paths() {
        let double = CanonicalOptions::for_service("bedrock");
        let single = CanonicalOptions::for_service("s3");
        let enc = |p: &str, o| {
            let mut s = String::new();
            write_canonical_uri(&mut s, p, o);
            s
        };
        assert_eq!(
            enc(
                "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                double
            ),
            "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"
        );
        assert_eq!(enc("/model/a:b/converse", double), "/model/a%3Ab/converse");
        assert_eq!(
            enc("/test/@connections/x%3D", double),
            "/test/%40connections/x%253D"
        );
        assert_eq!(enc("/a%20b/%E3%81%82", single), "/a%20b/%E3%81%82");
        assert_eq!(enc("/a b/あ", single), "/a%20b/%E3%81%82");
        assert_eq!(enc("/a%zz", single), "/a%25zz");
        assert_eq!(enc("//x/../y", single), "//x/../y");
    }

    #[test]
    fn canonical_query() {
        let q = |raw: &str, presigned| {
            let mut s = String::new();
            write_canonical_query(&mut s, raw, presigned, false);
            s
        };
        assert_eq!(q("", false), "");
        assert_eq!(q("b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(q("k", false), "k=");
        assert_eq!(
            q("a=x+y&c=%7e&d=%2f&&e=!", false),
            "a=x%20y&c=~&d=%2F&e=%21"
        );
        assert_eq!(q("X-Amz-Signature=abc&a=1", true), "a=1");
        assert_eq!(
            q("X-Amz-Signature=abc&a=1", false),
            "X-Amz-Signature=abc&a=1"
        );
        // sorted on the encoded form: "%" < "A" < "a"
        assert_eq!(q("a=1&A=2&%21=3", false), "%21=3&A=2&a=1");
        assert_eq!(q("p=%zz", false), "p=%25zz");
    }

    #[test]
    fn amz_dates() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_440_938_160);
        let mut s = String::new();
        write_amz_date(&mut s, t);
        assert_eq!(s, "20150830T123600Z");
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T243600Z",
            "20150830T123660Z",
            "+0150830T123600Z",
            "２0150830T123600Z",
        ] {
            assert!(parse_amz_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_values_are_trimmed() {
        let mut s = String::new();
        push_trimmed_value(&mut s, "  a   b \t c  ");
        assert_eq!(s, "a b \t c");
    }
}
