//! Session tokens: round trip, tamper-proofing, binding to the access key
//! id, expiry, key rotation, and no claim in any `Debug`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sekisho_identity::keys::{self, AccessKeyKind};
use sekisho_identity::token::{self, MAX_TOKEN_LEN};
use sekisho_identity::{
    SecretString, SessionClaims, SessionKind, TokenError, TokenKey, TokenKeyRing,
};
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_709_285_400).unwrap()
}

fn assumed_role_claims() -> SessionClaims {
    let (akid, secret) = keys::generate_access_key(AccessKeyKind::Temporary).unwrap();
    SessionClaims {
        access_key_id: akid,
        secret_access_key: secret,
        account: "123456789012".into(),
        kind: SessionKind::AssumedRole {
            role_arn: "arn:aws:iam::123456789012:role/BedrockInvokeRole".into(),
            role_id: "AROADBQP57FF2AEXAMPLE".into(),
            session_name: "app-session-42".into(),
        },
        source_identity: None,
        issued_at: t0(),
        expires_at: t0() + Duration::hours(1),
        session_policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        mfa_authenticated_at: None,
    }
}

fn rich_claims() -> SessionClaims {
    let mut c = assumed_role_claims();
    c.source_identity = Some("alice@example.com".into());
    c.session_policy = Some(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}]}"#
            .into(),
    );
    c.policy_arns = vec!["arn:aws:iam::123456789012:policy/AllowClaudeOnly".into()];
    c.tags = vec![
        ("Project".into(), "genai".into()),
        ("CostCenter".into(), "1234".into()),
        ("部署".into(), "開発".into()),
    ];
    c.transitive_tag_keys = vec!["Project".into()];
    c.mfa_authenticated_at = Some(t0() - Duration::minutes(3));
    c
}

#[test]
fn round_trip_every_kind() {
    let key = TokenKey::generate().unwrap();
    let mut session = assumed_role_claims();
    session.kind = SessionKind::SessionToken {
        user_arn: "arn:aws:iam::123456789012:user/alice".into(),
        user_id: "AIDACKCEVSQ6C2EXAMPLE".into(),
    };
    let mut federation = assumed_role_claims();
    federation.kind = SessionKind::FederationToken {
        user_name: "bob".into(),
    };
    for claims in [assumed_role_claims(), rich_claims(), session, federation] {
        let token = key.seal(&claims).unwrap();
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let opened = key.open(&token, &claims.access_key_id, t0()).unwrap();
        assert_eq!(opened, claims);
        assert_eq!(
            opened.secret_access_key.expose(),
            claims.secret_access_key.expose()
        );
        // Two seals of the same claims differ (random nonce).
        assert_ne!(key.seal(&claims).unwrap(), token);
    }
}

#[test]
fn tokens_stay_small() {
    let key = TokenKey::generate().unwrap();
    let plain = key.seal(&assumed_role_claims()).unwrap();
    let rich = key.seal(&rich_claims()).unwrap();
    eprintln!(
        "token sizes: assumed role {} chars, with policy+tags {} chars",
        plain.len(),
        rich.len()
    );
    assert!(plain.len() < 600, "{}", plain.len());
    assert!(rich.len() < 2048, "{}", rich.len());
}

#[test]
fn flipping_any_byte_is_forged() {
    let key = TokenKey::generate().unwrap();
    let claims = rich_claims();
    let token = key.seal(&claims).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    for i in 0..raw.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = raw.clone();
            bad[i] ^= bit;
            let bad = URL_SAFE_NO_PAD.encode(&bad);
            assert_eq!(
                key.open(&bad, &claims.access_key_id, t0()).unwrap_err(),
                TokenError::Forged,
                "byte {i}"
            );
        }
    }
    // Flipping characters of the text never opens either.
    for i in 0..token.len() {
        let mut bad = token.clone().into_bytes();
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        let err = key.open(&bad, &claims.access_key_id, t0()).unwrap_err();
        assert!(
            matches!(err, TokenError::Forged | TokenError::Malformed),
            "char {i}"
        );
    }
    // Truncated and extended.
    for cut in [1, 16, 17, 28, 29, raw.len() - 1] {
        let bad = URL_SAFE_NO_PAD.encode(&raw[..raw.len() - cut]);
        assert!(
            key.open(&bad, &claims.access_key_id, t0()).is_err(),
            "cut {cut}"
        );
    }
    let mut longer = raw.clone();
    longer.push(0);
    let longer = URL_SAFE_NO_PAD.encode(&longer);
    assert_eq!(
        key.open(&longer, &claims.access_key_id, t0()).unwrap_err(),
        TokenError::Forged
    );
}

#[test]
fn bound_to_the_access_key_id() {
    let key = TokenKey::generate().unwrap();
    let claims = assumed_role_claims();
    let token = key.seal(&claims).unwrap();
    let other = keys::generate_access_key_id(AccessKeyKind::Temporary).unwrap();
    assert_eq!(
        key.open(&token, &other, t0()).unwrap_err(),
        TokenError::Forged
    );
    assert_eq!(key.open(&token, "", t0()).unwrap_err(), TokenError::Forged);
    let lower = claims.access_key_id.to_ascii_lowercase();
    assert_eq!(
        key.open(&token, &lower, t0()).unwrap_err(),
        TokenError::Forged
    );
}

#[test]
fn expiry() {
    let key = TokenKey::generate().unwrap();
    let claims = assumed_role_claims();
    let token = key.seal(&claims).unwrap();
    let akid = &claims.access_key_id;
    assert!(
        key.open(&token, akid, claims.expires_at - Duration::seconds(1))
            .is_ok()
    );
    assert_eq!(
        key.open(&token, akid, claims.expires_at).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        key.open(&token, akid, claims.expires_at + Duration::days(1))
            .unwrap_err(),
        TokenError::Expired
    );
}

#[test]
fn wrong_key_and_rotation() {
    let old = TokenKey::generate().unwrap();
    let new = TokenKey::generate().unwrap();
    let claims = assumed_role_claims();
    let akid = &claims.access_key_id;
    let old_token = old.seal(&claims).unwrap();
    assert_eq!(
        new.open(&old_token, akid, t0()).unwrap_err(),
        TokenError::Forged
    );

    let ring = TokenKeyRing::new(new.clone(), [old.clone()]);
    assert_eq!(ring.open(&old_token, akid, t0()).unwrap(), claims);
    let new_token = ring.seal(&claims).unwrap();
    assert_eq!(new.open(&new_token, akid, t0()).unwrap(), claims);
    assert_eq!(
        old.open(&new_token, akid, t0()).unwrap_err(),
        TokenError::Forged
    );
    assert_eq!(
        token::open_with(std::slice::from_ref(&old), &new_token, akid, t0()).unwrap_err(),
        TokenError::Forged
    );
    assert_eq!(
        token::open_with(&[], &new_token, akid, t0()).unwrap_err(),
        TokenError::Forged
    );

    // Persistence.
    let restored = TokenKey::from_bytes(*new.to_bytes());
    assert_eq!(restored.open(&new_token, akid, t0()).unwrap(), claims);
}

#[test]
fn malformed_tokens() {
    let key = TokenKey::generate().unwrap();
    for bad in [
        "",
        "!",
        "a",
        "AAAA",
        "====",
        "not a token",
        "AQ",
        &"A".repeat(MAX_TOKEN_LEN + 4),
    ] {
        assert_eq!(
            key.open(bad, "ASIAIOSFODNN7EXAMPLE", t0()).unwrap_err(),
            TokenError::Malformed,
            "{bad:.20}"
        );
    }
    // A real AWS token is not ours.
    let aws = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6";
    assert!(key.open(aws, "ASIAIOSFODNN7EXAMPLE", t0()).is_err());
}

#[test]
fn nothing_secret_in_debug() {
    let key = TokenKey::generate().unwrap();
    let claims = rich_claims();
    let token = key.seal(&claims).unwrap();
    let key_bytes = key.to_bytes();
    let shown = format!(
        "{claims:?} {key:?} {:?} {:?} {:?}",
        TokenKeyRing::new(key.clone(), []),
        key.open(&token, "ASIAOTHER", t0()),
        key.open(&token, &claims.access_key_id, t0() + Duration::days(1)),
    );
    assert!(
        !shown.contains(claims.secret_access_key.expose()),
        "{shown}"
    );
    assert!(
        !shown.contains("bedrock:InvokeModel"),
        "session policy shown: {shown}"
    );
    assert!(!shown.contains(&hex::encode(*key_bytes)));
    assert!(!shown.contains(&format!("{:?}", *key_bytes)));
    assert!(!shown.contains(&token[..20]));
    for e in [
        TokenError::Malformed,
        TokenError::Forged,
        TokenError::Expired,
    ] {
        assert!(!e.to_string().is_empty());
    }
    let s = SecretString::from("hunter2hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn garbage_never_opens(text in "[A-Za-z0-9_-]{0,400}", akid in "[A-Z0-9]{0,24}") {
            let key = TokenKey::from_bytes([7u8; 32]);
            prop_assert!(key.open(&text, &akid, t0()).is_err());
        }

        #[test]
        fn any_claims_round_trip(
            account in "[0-9]{12}",
            name in ".{0,64}",
            policy in proptest::option::of(".{0,300}"),
            tags in proptest::collection::vec((".{1,16}", ".{0,16}"), 0..6),
            secs in 0i64..4_000_000_000,
            dur in 1i64..200_000,
        ) {
            let key = TokenKey::from_bytes([9u8; 32]);
            let mut c = assumed_role_claims();
            c.account = account;
            c.kind = SessionKind::FederationToken { user_name: name };
            c.session_policy = policy;
            c.tags = tags;
            c.issued_at = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            c.expires_at = c.issued_at + Duration::seconds(dur);
            let token = key.seal(&c).unwrap();
            prop_assert_eq!(key.open(&token, &c.access_key_id, c.issued_at).unwrap(), c);
        }
    }
}
