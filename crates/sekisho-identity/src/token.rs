//! Stateless, tamper-proof session tokens for temporary credentials.
//!
//! STS hands out an `ASIA...` access key id, a secret access key and a
//! session token. Here the token *is* the session: [`SessionClaims`]
//! (the secret included) sealed with AES-256-GCM under a [`TokenKey`] that
//! only the gateway holds. Nothing is stored per session; a request carrying
//! the token is authenticated by opening it, checking that it belongs to the
//! access key id of the signature, and verifying the signature with the
//! secret found inside.
//!
//! Format (version 1), base64url without padding:
//!
//! ```text
//! 0x01 | nonce (12 bytes, random) | AES-256-GCM(claims as compact JSON) | tag (16)
//! associated data: "sekisho-session-token" 0x00 0x01 access-key-id
//! ```
//!
//! The access key id in the associated data binds the token to its key id: a
//! token presented with another key id does not open ([`TokenError::Forged`]).
//! Times are kept to the second. An assumed-role token is about 360
//! characters; with a 200-byte session policy, a policy ARN and three tags,
//! about 900 (`tests/token.rs` prints both).
//!
//! Keys rotate: [`TokenKeyRing`] seals with its current key and opens with
//! the current and the previous ones.

use std::fmt;
use std::io;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, RandomizedNonceKey, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{CryptoError, SecretString, fill_random};

const VERSION: u8 = 1;
const AAD_LABEL: &[u8] = b"sekisho-session-token\0";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Tokens longer than this (in characters) are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused. Carries no part of the token or its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token at all: bad base64, too short, too long, unreadable claims.
    #[error("the security token is malformed")]
    Malformed,
    /// Does not open under any key, or belongs to another access key id.
    #[error("the security token is invalid")]
    Forged,
    /// Authentic, but past its expiry (AWS: `ExpiredToken`).
    #[error("the security token has expired")]
    Expired,
}

/// A 256-bit AES-GCM key for session tokens. Zeroized on drop; `Debug`
/// shows nothing of it.
#[derive(Clone)]
pub struct TokenKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// A new random key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        fill_random(bytes.as_mut())?;
        Ok(TokenKey { bytes })
    }

    /// A key from its 32 bytes (as persisted with [`TokenKey::to_bytes`]).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = bytes;
        let key = TokenKey {
            bytes: Zeroizing::new(bytes),
        };
        bytes.zeroize();
        key
    }

    /// The key's 32 bytes, for persistence (encrypt them at rest).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.bytes.clone()
    }

    /// Seals `claims` into a token.
    pub fn seal(&self, claims: &SessionClaims) -> Result<String, CryptoError> {
        let key =
            RandomizedNonceKey::new(&AES_256_GCM, self.bytes.as_ref()).map_err(|_| CryptoError)?;
        let wire = WireOut::from(claims);
        // Size the buffer exactly first, so that the plaintext is never
        // reallocated (which would leave copies of the secret behind).
        let mut counter = CountingWriter(0);
        serde_json::to_writer(&mut counter, &wire).map_err(|_| CryptoError)?;
        let plain_len = counter.0;
        let mut buf = Zeroizing::new(Vec::with_capacity(1 + NONCE_LEN + plain_len + TAG_LEN));
        buf.push(VERSION);
        buf.extend_from_slice(&[0u8; NONCE_LEN]);
        serde_json::to_writer(&mut *buf, &wire).map_err(|_| CryptoError)?;
        let aad = aad(&claims.access_key_id);
        let body = buf.get_mut(1 + NONCE_LEN..).ok_or(CryptoError)?;
        let (nonce, tag) = key
            .seal_in_place_separate_tag(Aad::from(aad.as_slice()), body)
            .map_err(|_| CryptoError)?;
        let nonce: &[u8; NONCE_LEN] = nonce.as_ref();
        buf.get_mut(1..1 + NONCE_LEN)
            .ok_or(CryptoError)?
            .copy_from_slice(nonce);
        buf.extend_from_slice(tag.as_ref());
        Ok(URL_SAFE_NO_PAD.encode(buf.as_slice()))
    }

    /// Opens `token` presented with `expected_access_key_id` at time `now`.
    pub fn open(
        &self,
        token: &str,
        expected_access_key_id: &str,
        now: OffsetDateTime,
    ) -> Result<SessionClaims, TokenError> {
        open_with(
            std::slice::from_ref(self),
            token,
            expected_access_key_id,
            now,
        )
    }
}

/// The current key, which seals, and previous keys, which still open.
#[derive(Clone, Debug)]
pub struct TokenKeyRing {
    keys: Vec<TokenKey>,
}

impl TokenKeyRing {
    /// A ring with `current` and the `previous` keys (newest first).
    pub fn new(current: TokenKey, previous: impl IntoIterator<Item = TokenKey>) -> Self {
        let mut keys = vec![current];
        keys.extend(previous);
        TokenKeyRing { keys }
    }

    /// The sealing key.
    pub fn current(&self) -> &TokenKey {
        &self.keys[0]
    }

    /// All keys, current first.
    pub fn keys(&self) -> &[TokenKey] {
        &self.keys
    }

    /// Seals with the current key.
    pub fn seal(&self, claims: &SessionClaims) -> Result<String, CryptoError> {
        self.current().seal(claims)
    }

    /// Opens with any key of the ring.
    pub fn open(
        &self,
        token: &str,
        expected_access_key_id: &str,
        now: OffsetDateTime,
    ) -> Result<SessionClaims, TokenError> {
        open_with(&self.keys, token, expected_access_key_id, now)
    }
}

fn aad(access_key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 1 + access_key_id.len());
    aad.extend_from_slice(AAD_LABEL);
    aad.push(VERSION);
    aad.extend_from_slice(access_key_id.as_bytes());
    aad
}

/// Opens `token` with the first of `keys` under which it authenticates.
pub fn open_with(
    keys: &[TokenKey],
    token: &str,
    expected_access_key_id: &str,
    now: OffsetDateTime,
) -> Result<SessionClaims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let raw = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| TokenError::Malformed)?,
    );
    if raw.len() < 1 + NONCE_LEN + TAG_LEN {
        return Err(TokenError::Malformed);
    }
    if raw[0] != VERSION {
        return Err(TokenError::Forged);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&raw[1..1 + NONCE_LEN]);
    let aad = aad(expected_access_key_id);
    let mut work = Zeroizing::new(Vec::with_capacity(raw.len()));
    for key in keys {
        work.clear();
        work.extend_from_slice(&raw[1 + NONCE_LEN..]);
        // RandomizedNonceKey cannot open with a given nonce; a LessSafeKey
        // over the same bytes can (opening never reuses a nonce).
        let Ok(unbound) = UnboundKey::new(&AES_256_GCM, key.bytes.as_ref()) else {
            continue;
        };
        let key = LessSafeKey::new(unbound);
        let Ok(plain) = key.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_slice()),
            work.as_mut_slice(),
        ) else {
            continue;
        };
        let wire: WireIn = serde_json::from_slice(plain).map_err(|_| TokenError::Malformed)?;
        let claims = SessionClaims::try_from(wire)?;
        if claims.access_key_id != expected_access_key_id {
            return Err(TokenError::Forged);
        }
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        return Ok(claims);
    }
    Err(TokenError::Forged)
}

/// What a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// `sts:AssumeRole` (and `AssumeRoleWithWebIdentity`).
    AssumedRole {
        /// `arn:aws:iam::<account>:role/<path><name>`.
        role_arn: String,
        /// `AROA...`.
        role_id: String,
        /// `RoleSessionName`.
        session_name: String,
    },
    /// `sts:GetSessionToken`.
    SessionToken {
        /// The IAM user's ARN.
        user_arn: String,
        /// The user's `AIDA...` id.
        user_id: String,
    },
    /// `sts:GetFederationToken`.
    FederationToken {
        /// The federated user's name.
        user_name: String,
    },
}

/// Everything a session token carries.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The temporary access key id (`ASIA...`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: SecretString,
    /// The 12-digit account id.
    pub account: String,
    /// Role session, user session or federation.
    pub kind: SessionKind,
    /// `SourceIdentity`.
    pub source_identity: Option<String>,
    /// Issue time (kept to the second).
    pub issued_at: OffsetDateTime,
    /// Expiry (kept to the second); the token opens strictly before it.
    pub expires_at: OffsetDateTime,
    /// Inline session policy (JSON text).
    pub session_policy: Option<String>,
    /// Managed session policy ARNs.
    pub policy_arns: Vec<String>,
    /// Session tags.
    pub tags: Vec<(String, String)>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// When MFA was last authenticated, for `aws:MultiFactorAuthAge`.
    pub mfa_authenticated_at: Option<OffsetDateTime>,
}

/// The secret is redacted; the session policy shows only its length.
impl fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionClaims")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("account", &self.account)
            .field("kind", &self.kind)
            .field("source_identity", &self.source_identity)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field(
                "session_policy_len",
                &self.session_policy.as_ref().map(String::len),
            )
            .field("policy_arns", &self.policy_arns)
            .field("tags", &self.tags)
            .field("transitive_tag_keys", &self.transitive_tag_keys)
            .field("mfa_authenticated_at", &self.mfa_authenticated_at)
            .finish()
    }
}

// --- the sealed payload: private types, short field names -----------------

#[derive(Serialize)]
#[serde(tag = "t")]
enum KindOut<'a> {
    #[serde(rename = "r")]
    AssumedRole { a: &'a str, i: &'a str, n: &'a str },
    #[serde(rename = "s")]
    SessionToken { a: &'a str, i: &'a str },
    #[serde(rename = "f")]
    FederationToken { n: &'a str },
}

#[derive(Deserialize)]
#[serde(tag = "t")]
enum KindIn {
    #[serde(rename = "r")]
    AssumedRole { a: String, i: String, n: String },
    #[serde(rename = "s")]
    SessionToken { a: String, i: String },
    #[serde(rename = "f")]
    FederationToken { n: String },
}

/// Serializes the secret for sealing only; `SecretString` itself has no
/// `Serialize`.
struct ExposeSecret<'a>(&'a SecretString);

impl Serialize for ExposeSecret<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

fn is_empty_slice<T>(v: &[T]) -> bool {
    v.is_empty()
}

#[derive(Serialize)]
struct WireOut<'a> {
    k: &'a str,
    s: ExposeSecret<'a>,
    a: &'a str,
    p: KindOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    si: Option<&'a str>,
    ia: i64,
    ea: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sp: Option<&'a str>,
    #[serde(skip_serializing_if = "is_empty_slice")]
    pa: &'a [String],
    #[serde(skip_serializing_if = "is_empty_slice")]
    tg: &'a [(String, String)],
    #[serde(skip_serializing_if = "is_empty_slice")]
    tt: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<i64>,
}

impl<'a> From<&'a SessionClaims> for WireOut<'a> {
    fn from(c: &'a SessionClaims) -> Self {
        WireOut {
            k: &c.access_key_id,
            s: ExposeSecret(&c.secret_access_key),
            a: &c.account,
            p: match &c.kind {
                SessionKind::AssumedRole {
                    role_arn,
                    role_id,
                    session_name,
                } => KindOut::AssumedRole {
                    a: role_arn,
                    i: role_id,
                    n: session_name,
                },
                SessionKind::SessionToken { user_arn, user_id } => KindOut::SessionToken {
                    a: user_arn,
                    i: user_id,
                },
                SessionKind::FederationToken { user_name } => {
                    KindOut::FederationToken { n: user_name }
                }
            },
            si: c.source_identity.as_deref(),
            ia: c.issued_at.unix_timestamp(),
            ea: c.expires_at.unix_timestamp(),
            sp: c.session_policy.as_deref(),
            pa: &c.policy_arns,
            tg: &c.tags,
            tt: &c.transitive_tag_keys,
            m: c.mfa_authenticated_at.map(OffsetDateTime::unix_timestamp),
        }
    }
}

#[derive(Deserialize)]
struct WireIn {
    k: String,
    s: SecretString,
    a: String,
    p: KindIn,
    #[serde(default)]
    si: Option<String>,
    ia: i64,
    ea: i64,
    #[serde(default)]
    sp: Option<String>,
    #[serde(default)]
    pa: Vec<String>,
    #[serde(default)]
    tg: Vec<(String, String)>,
    #[serde(default)]
    tt: Vec<String>,
    #[serde(default)]
    m: Option<i64>,
}

impl TryFrom<WireIn> for SessionClaims {
    type Error = TokenError;

    fn try_from(w: WireIn) -> Result<Self, TokenError> {
        let t = |s: i64| OffsetDateTime::from_unix_timestamp(s).map_err(|_| TokenError::Malformed);
        Ok(SessionClaims {
            access_key_id: w.k,
            secret_access_key: w.s,
            account: w.a,
            kind: match w.p {
                KindIn::AssumedRole { a, i, n } => SessionKind::AssumedRole {
                    role_arn: a,
                    role_id: i,
                    session_name: n,
                },
                KindIn::SessionToken { a, i } => SessionKind::SessionToken {
                    user_arn: a,
                    user_id: i,
                },
                KindIn::FederationToken { n } => SessionKind::FederationToken { user_name: n },
            },
            source_identity: w.si,
            issued_at: t(w.ia)?,
            expires_at: t(w.ea)?,
            session_policy: w.sp,
            policy_arns: w.pa,
            tags: w.tg,
            transitive_tag_keys: w.tt,
            mfa_authenticated_at: w.m.map(t).transpose()?,
        })
    }
}

struct CountingWriter(usize);

impl io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
