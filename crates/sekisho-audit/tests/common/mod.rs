//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sekisho_audit::record::{IdentityType, Resource, UserIdentity};
use sekisho_audit::{Event, Journal, JournalConfig, Signer};
use time::OffsetDateTime;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct ManualClock(pub Arc<AtomicI64>);

impl ManualClock {
    pub fn new() -> Self {
        ManualClock(Arc::new(AtomicI64::new(1_795_000_000)))
    }
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).unwrap()
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn as_fn(&self) -> impl Fn() -> OffsetDateTime + Send + Sync + 'static {
        let c = self.clone();
        move || c.now()
    }
}

pub fn event(n: usize, at: OffsetDateTime) -> Event {
    let mut id = UserIdentity::new(IdentityType::IAMUser);
    id.user_name = Some(format!("user{}", n % 3));
    id.access_key_id = Some(format!("AKIA{:016}", n % 5));
    id.arn = Some(format!("arn:aws:iam::{ACCOUNT}:user/user{}", n % 3));
    let mut e = Event::api_call(
        id,
        at,
        "bedrock.amazonaws.com",
        if n.is_multiple_of(2) {
            "InvokeModel"
        } else {
            "Converse"
        },
        REGION,
    );
    e.read_only = Some(n.is_multiple_of(4));
    e.request_parameters = serde_json::json!({ "n": n, "modelId": "sekisho.echo-v1" });
    e.resources.push(Resource {
        arn: Some(format!(
            "arn:aws:bedrock:{REGION}::foundation-model/m{}",
            n % 2
        )),
        account_id: None,
        kind: Some("AWS::Bedrock::Model".into()),
    });
    e
}

/// A record of about `size` bytes.
pub fn record_of_size(n: usize, size: usize) -> Vec<u8> {
    let mut e = event(n, OffsetDateTime::now_utc());
    let base = e.to_json().len();
    e.additional_event_data =
        Some(serde_json::json!({ "pad": "x".repeat(size.saturating_sub(base + 20)) }));
    e.to_json()
}

pub fn config(dir: &Path) -> JournalConfig {
    JournalConfig::new(dir, ACCOUNT, REGION)
}

pub fn signer() -> (Signer, Vec<u8>) {
    Signer::generate().unwrap()
}

pub fn open(dir: &Path, pkcs8: &[u8], clock: &ManualClock) -> Journal {
    Journal::open(
        config(dir),
        Signer::from_pkcs8(pkcs8).unwrap(),
        clock.as_fn(),
    )
    .unwrap()
}

/// Sealed log files (relative paths), oldest first.
pub fn sealed_logs(dir: &Path) -> Vec<String> {
    sekisho_audit::layout::list_logs(dir)
        .into_iter()
        .filter(|f| !f.partial)
        .map(|f| f.rel)
        .collect()
}

pub fn digests(dir: &Path) -> Vec<String> {
    sekisho_audit::layout::list_digests(dir)
        .into_iter()
        .map(|f| f.rel)
        .collect()
}

pub fn path(dir: &Path, rel: &str) -> PathBuf {
    sekisho_audit::layout::join_rel(dir, rel)
}
