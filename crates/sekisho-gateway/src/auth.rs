//! Authentication: from a SigV4-signed request to the caller it speaks for.
//!
//! Long-term keys (`AKIA…`) are looked up in the account's IAM state and
//! must be active; temporary keys (`ASIA…`) must come with the session token
//! that was sealed for them, which carries their secret and the session's
//! claims. Either way the signature is recomputed and compared in constant
//! time. Failures are counted; their messages never hold a key or token.

use std::sync::atomic::{AtomicU64, Ordering};

use sekisho_identity::iam::{IamState, SealedSecret};
use sekisho_identity::keys::{AccessKeyKind, access_key_kind};
use sekisho_identity::sigv4::{self, AuthError, HttpParts, PayloadHash, SigV4Claim};
use sekisho_identity::token::{SessionClaims, SessionKind, TokenError, TokenKeyRing};
use sekisho_policy::Principal;
use sekisho_policy::principal::{AwsPrincipal, AwsPrincipalKind};
use time::OffsetDateTime;

use crate::error::{ApiError, ErrorKind};
use crate::secrets::SecretBox;

/// Who is calling, as established by the signature.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// `arn:aws:iam::…:user/alice` or `arn:aws:sts::…:assumed-role/r/s`.
    pub arn: String,
    pub account: String,
    /// `aws:userid`: `AIDA…` for users, `AROA…:session` for role sessions.
    pub user_id: String,
    /// `aws:username`, for IAM users (and their sessions).
    pub user_name: Option<String>,
    /// The role behind a role session.
    pub role_name: Option<String>,
    pub access_key_id: String,
    /// Present for temporary credentials.
    pub session: Option<SessionClaims>,
}

impl Caller {
    /// The ARN used for `aws:PrincipalArn`: the role for a role session.
    pub fn principal_arn(&self) -> &str {
        match &self.principal {
            Principal::Aws(p) => p.role_arn.as_deref().unwrap_or(&p.arn),
            _ => &self.arn,
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match &self.principal {
            Principal::Aws(p) => match p.kind {
                AwsPrincipalKind::Root => "Account",
                AwsPrincipalKind::User => "User",
                AwsPrincipalKind::Role | AwsPrincipalKind::AssumedRole => "AssumedRole",
                AwsPrincipalKind::FederatedUser => "FederatedUser",
            },
            _ => "Anonymous",
        }
    }
}

/// Counts of failed authentications, by reason.
#[derive(Debug, Default)]
pub struct AuthStats {
    pub unknown_key: AtomicU64,
    pub bad_signature: AtomicU64,
    pub expired: AtomicU64,
    pub bad_token: AtomicU64,
    pub malformed: AtomicU64,
}

impl AuthStats {
    pub fn total(&self) -> u64 {
        self.unknown_key.load(Ordering::Relaxed)
            + self.bad_signature.load(Ordering::Relaxed)
            + self.expired.load(Ordering::Relaxed)
            + self.bad_token.load(Ordering::Relaxed)
            + self.malformed.load(Ordering::Relaxed)
    }
}

/// Maps a SigV4 failure to the wire error AWS sends for it.
pub fn auth_error(e: &AuthError, stats: &AuthStats) -> ApiError {
    let bump = |c: &AtomicU64| {
        c.fetch_add(1, Ordering::Relaxed);
    };
    match e {
        AuthError::Missing => ApiError::new(
            ErrorKind::MissingAuthentication,
            "Missing Authentication Token: sign the request with AWS Signature Version 4",
        ),
        AuthError::Malformed(m) => {
            bump(&stats.malformed);
            ApiError::new(
                ErrorKind::IncompleteSignature,
                format!("Malformed authorization: {m}"),
            )
        }
        AuthError::UnsupportedAlgorithm => {
            bump(&stats.malformed);
            ApiError::new(ErrorKind::IncompleteSignature, e.to_string())
        }
        AuthError::SignatureMismatch => {
            bump(&stats.bad_signature);
            ApiError::new(
                ErrorKind::InvalidSignature,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
            )
        }
        AuthError::RequestTooOld | AuthError::RequestInFuture | AuthError::PresignedExpired => {
            bump(&stats.expired);
            ApiError::new(ErrorKind::RequestExpired, format!("Signature expired: {e}"))
        }
        AuthError::ScopeMismatch(m) => {
            bump(&stats.malformed);
            ApiError::new(
                ErrorKind::InvalidSignature,
                format!("Credential should be scoped correctly: {m}"),
            )
        }
    }
}

/// What authentication consults.
pub struct Authenticator<'a> {
    pub iam: &'a IamState,
    pub tokens: &'a TokenKeyRing,
    pub secrets: &'a SecretBox,
    pub stats: &'a AuthStats,
}

/// Verifies a request's signature and establishes its caller.
pub fn authenticate(
    auth: &Authenticator<'_>,
    parts: &HttpParts<'_>,
    claim: &SigV4Claim,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let Authenticator {
        iam,
        tokens,
        secrets,
        stats,
    } = *auth;
    // botocore presigns non-S3 requests over the body's hash; the verifier
    // also accepts UNSIGNED-PAYLOAD for presigned URLs.
    let payload = PayloadHash::of_body(body);
    let unknown = || {
        stats.unknown_key.fetch_add(1, Ordering::Relaxed);
        ApiError::new(
            ErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    };
    match access_key_kind(&claim.access_key_id) {
        Some(AccessKeyKind::LongTerm) => {
            if claim.session_token.is_some() {
                // A long-term key never has a token: someone mixed credentials.
                return Err(unknown());
            }
            let (user, key) = iam
                .find_access_key(&claim.access_key_id)
                .ok_or_else(unknown)?;
            if key.status.as_str() != "Active" {
                return Err(unknown());
            }
            let secret = secrets.open(&key.secret).map_err(|_| {
                ApiError::new(
                    ErrorKind::ServiceUnavailable,
                    "The credential store cannot be read",
                )
            })?;
            sigv4::verify(parts, claim, &payload, secret.expose(), now)
                .map_err(|e| auth_error(&e, stats))?;
            Ok(Caller {
                principal: Principal::Aws(AwsPrincipal {
                    arn: user.arn.clone(),
                    account: iam.account().to_string(),
                    kind: AwsPrincipalKind::User,
                    role_arn: None,
                }),
                arn: user.arn.clone(),
                account: iam.account().to_string(),
                user_id: user.id.clone(),
                user_name: Some(user.name.clone()),
                role_name: None,
                access_key_id: claim.access_key_id.clone(),
                session: None,
            })
        }
        Some(AccessKeyKind::Temporary) => {
            let Some(token) = &claim.session_token else {
                return Err(unknown());
            };
            let session = tokens
                .open(token, &claim.access_key_id, now)
                .map_err(|e| match e {
                    TokenError::Expired => {
                        stats.expired.fetch_add(1, Ordering::Relaxed);
                        ApiError::new(
                            ErrorKind::ExpiredToken,
                            "The security token included in the request is expired",
                        )
                    }
                    _ => {
                        stats.bad_token.fetch_add(1, Ordering::Relaxed);
                        ApiError::new(
                            ErrorKind::InvalidToken,
                            "The security token included in the request is invalid.",
                        )
                    }
                })?;
            sigv4::verify(
                parts,
                claim,
                &payload,
                session.secret_access_key.expose(),
                now,
            )
            .map_err(|e| auth_error(&e, stats))?;
            caller_from_session(session, iam)
        }
        None => Err(unknown()),
    }
}

fn caller_from_session(session: SessionClaims, iam: &IamState) -> Result<Caller, ApiError> {
    let account = session.account.clone();
    let invalid = || {
        ApiError::new(
            ErrorKind::InvalidToken,
            "The security token included in the request is invalid.",
        )
    };
    let caller = match &session.kind {
        SessionKind::AssumedRole {
            role_arn,
            role_id,
            session_name,
        } => {
            // The role must still exist: deleting a role ends its sessions.
            let role = iam.find_role_by_arn(role_arn).ok_or_else(invalid)?;
            let arn = format!(
                "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
                role.name
            );
            Caller {
                principal: Principal::Aws(AwsPrincipal {
                    arn: arn.clone(),
                    account: account.clone(),
                    kind: AwsPrincipalKind::AssumedRole,
                    role_arn: Some(role_arn.clone()),
                }),
                arn,
                account,
                user_id: format!("{role_id}:{session_name}"),
                user_name: None,
                role_name: Some(role.name.clone()),
                access_key_id: session.access_key_id.clone(),
                session: None,
            }
        }
        SessionKind::SessionToken { user_arn, user_id } => {
            let user = iam.find_user_by_arn(user_arn).ok_or_else(invalid)?;
            Caller {
                principal: Principal::Aws(AwsPrincipal {
                    arn: user_arn.clone(),
                    account: account.clone(),
                    kind: AwsPrincipalKind::User,
                    role_arn: None,
                }),
                arn: user_arn.clone(),
                account,
                user_id: user_id.clone(),
                user_name: Some(user.name.clone()),
                role_name: None,
                access_key_id: session.access_key_id.clone(),
                session: None,
            }
        }
        SessionKind::FederationToken { .. } => return Err(invalid()),
    };
    Ok(Caller {
        session: Some(session),
        ..caller
    })
}

/// Seals a secret access key for storage.
pub fn seal_secret(secrets: &SecretBox, secret: &str) -> Result<SealedSecret, ApiError> {
    secrets.seal(secret.as_bytes()).map_err(|_| {
        ApiError::new(
            ErrorKind::ServiceUnavailable,
            "The credential store cannot be written",
        )
    })
}
