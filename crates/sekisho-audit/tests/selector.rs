//! Event selectors with the seed trail's selector.

use sekisho_audit::record::EventCategory;
use sekisho_audit::selector::{self, EventFacts, EventSelector, ReadWriteType, any_matches};

const SEED: &str = r#"[{"ReadWriteType":"All","IncludeManagementEvents":true,
  "DataResources":[{"Type":"AWS::Bedrock::Guardrail","Values":["arn:aws:bedrock:*:*:guardrail/*"]}]}]"#;

fn facts<'a>(
    cat: EventCategory,
    ro: bool,
    src: &'a str,
    res: &'a [(&'a str, &'a str)],
) -> EventFacts<'a> {
    EventFacts {
        category: cat,
        read_only: ro,
        event_source: src,
        resources: res,
    }
}

#[test]
fn seed_selector() {
    let sel = selector::parse(SEED.as_bytes()).unwrap();
    assert_eq!(sel[0].read_write_type, ReadWriteType::All);
    let guardrail = [(
        "AWS::Bedrock::Guardrail",
        "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123",
    )];
    let model = [(
        "AWS::Bedrock::Model",
        "arn:aws:bedrock:us-east-1::foundation-model/x",
    )];
    assert!(any_matches(
        &sel,
        &facts(
            EventCategory::Data,
            true,
            "bedrock.amazonaws.com",
            &guardrail
        )
    ));
    assert!(!any_matches(
        &sel,
        &facts(EventCategory::Data, true, "bedrock.amazonaws.com", &model)
    ));
    assert!(any_matches(
        &sel,
        &facts(EventCategory::Management, false, "iam.amazonaws.com", &[])
    ));
    // Serialises back in CloudTrail's shape.
    let json = serde_json::to_value(&sel).unwrap();
    assert_eq!(
        json[0]["DataResources"][0]["Type"],
        "AWS::Bedrock::Guardrail"
    );
    assert_eq!(
        json[0]["ExcludeManagementEventSources"],
        serde_json::json!([])
    );
}

#[test]
fn read_write_and_exclusions() {
    let s = EventSelector {
        read_write_type: ReadWriteType::WriteOnly,
        exclude_management_event_sources: vec!["kms.amazonaws.com".into()],
        ..EventSelector::default()
    };
    assert!(s.matches(&facts(
        EventCategory::Management,
        false,
        "iam.amazonaws.com",
        &[]
    )));
    assert!(!s.matches(&facts(
        EventCategory::Management,
        true,
        "iam.amazonaws.com",
        &[]
    )));
    assert!(!s.matches(&facts(
        EventCategory::Management,
        false,
        "kms.amazonaws.com",
        &[]
    )));
    let no_mgmt = EventSelector {
        include_management_events: false,
        ..EventSelector::default()
    };
    assert!(!no_mgmt.matches(&facts(
        EventCategory::Management,
        false,
        "iam.amazonaws.com",
        &[]
    )));
}

#[test]
fn validation() {
    assert!(selector::parse(br#"[{"ReadWriteType":"Sometimes"}]"#).is_err());
    assert!(
        selector::parse(
            br#"[{"DataResources":[{"Type":"AWS::Nope::Thing","Values":["arn:aws:x"]}]}]"#
        )
        .is_err()
    );
    assert!(
        selector::parse(br#"[{"DataResources":[{"Type":"AWS::S3::Object","Values":["bucket"]}]}]"#)
            .is_err()
    );
    assert!(selector::parse(br#"[{},{},{},{},{},{}]"#).is_err());
    let many: Vec<_> = (0..251)
        .map(|i| format!(r#"{{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b{i}/"]}}"#))
        .collect();
    let json = format!(r#"[{{"DataResources":[{}]}}]"#, many.join(","));
    assert!(selector::parse(json.as_bytes()).is_err());
    let defaults = selector::parse(b"[{}]").unwrap();
    assert_eq!(defaults, vec![EventSelector::default()]);
}
