//! CloudWatch Logs events at rest: sealed under the group's key, readable
//! back, and deleted once older than the group's retention.

use std::sync::Arc;

use sekisho_gateway::gateway::Gateway;
use sekisho_gateway::services::logs::Logs;
use sekisho_identity::iam::IamState;
use sekisho_store::{SqliteStore, Store};
use time::{Duration, OffsetDateTime};

const ACCOUNT: &str = "123456789012";

fn gateway() -> (Gateway, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let iam = IamState::new(ACCOUNT).unwrap();
    (Gateway::detached(ACCOUNT, iam, store.clone()), store)
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[test]
fn events_past_retention_are_deleted_and_the_rest_stay_sealed() {
    let (gw, store) = gateway();
    let now = OffsetDateTime::now_utc();
    gw.logs
        .create_group_for_tests(&gw, "us-east-1", "/aws/bedrock/model-invocations", Some(1))
        .unwrap();
    let old = millis(now - Duration::days(3));
    let fresh = millis(now - Duration::hours(2));
    for (t, text) in [(old, "old secret prompt"), (fresh, "fresh secret prompt")] {
        gw.logs
            .append(
                &gw,
                "us-east-1",
                "/aws/bedrock/model-invocations",
                "s",
                t,
                text,
            )
            .unwrap();
    }
    // Sealed at rest: the text is not in the stored bytes.
    let stored = store.list("logs.events", "").unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|(_, v)| !v.windows(6).any(|w| w == b"secret"))
    );
    assert_eq!(gw.logs.expire(&gw, now).unwrap(), 1);
    let left = store.list("logs.events", "").unwrap();
    assert_eq!(left.len(), 1);
    // A group without retention keeps everything.
    let logs: &Logs = &gw.logs;
    logs.create_group_for_tests(&gw, "us-east-1", "keep", None)
        .unwrap();
    logs.append(&gw, "us-east-1", "keep", "s", old, "kept")
        .unwrap();
    assert_eq!(logs.expire(&gw, now).unwrap(), 0);
    // Writing to a group that does not exist is refused.
    assert!(
        logs.append(&gw, "us-east-1", "missing", "s", fresh, "x")
            .is_err()
    );
}
