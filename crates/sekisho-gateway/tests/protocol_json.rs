//! awsJson 1.0/1.1: target parsing, content types, bounded JSON bodies,
//! responses and the error shape.

use http::{HeaderMap, HeaderValue};
use sekisho_gateway::error::{ApiError, ErrorKind};
use sekisho_gateway::protocol::json::{
    self, JsonError, JsonLimits, JsonVersion, error_body, parse_object, parse_request,
    parse_target, parse_value,
};
use serde_json::{Value, json};

fn headers(target: Option<&str>, content_type: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(t) = target {
        h.insert("x-amz-target", HeaderValue::from_str(t).unwrap());
    }
    if let Some(c) = content_type {
        h.insert("content-type", HeaderValue::from_str(c).unwrap());
    }
    h
}

#[test]
fn targets_of_the_services() {
    for (target, prefix, op) in [
        ("TrentService.Encrypt", "TrentService", "Encrypt"),
        (
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail",
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            "CreateTrail",
        ),
        (
            "Logs_20140328.CreateLogGroup",
            "Logs_20140328",
            "CreateLogGroup",
        ),
        ("DynamoDB_20120810.GetItem", "DynamoDB_20120810", "GetItem"),
    ] {
        let t = parse_target(target).unwrap();
        assert_eq!((t.prefix, t.operation), (prefix, op));
    }
    for bad in [
        "",
        "Encrypt",
        ".",
        "TrentService.",
        ".Encrypt",
        "Trent Service.Encrypt",
        "Trent/Service.Encrypt",
        "A.B-C",
        "A..B.C",
    ] {
        let e = parse_target(bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownOperation, "{bad:?}");
    }
    assert!(parse_target(&format!("{}.Op", "A".repeat(300))).is_err());
}

#[test]
fn request_decoding() {
    let limits = JsonLimits::default();
    let h = headers(
        Some("TrentService.Encrypt"),
        Some("application/x-amz-json-1.1"),
    );
    let r = parse_request(
        JsonVersion::V1_1,
        &h,
        br#"{"KeyId":"alias/x","Plaintext":"aGk="}"#,
        &limits,
    )
    .unwrap();
    assert_eq!(r.target_prefix, "TrentService");
    assert_eq!(r.operation, "Encrypt");
    assert_eq!(r.version, JsonVersion::V1_1);
    assert_eq!(r.body["KeyId"], "alias/x");

    // Empty body is {} (some SDKs send nothing for operations without input).
    let r = parse_request(JsonVersion::V1_1, &h, b"", &limits).unwrap();
    assert!(r.body.is_empty());
    // Parameters on the content type are fine.
    let h2 = headers(
        Some("Logs_20140328.DescribeLogGroups"),
        Some("application/x-amz-json-1.1; charset=utf-8"),
    );
    assert!(parse_request(JsonVersion::V1_1, &h2, b"{}", &limits).is_ok());
    // 1.0.
    let h3 = headers(
        Some("DynamoDB_20120810.ListTables"),
        Some("application/x-amz-json-1.0"),
    );
    assert!(parse_request(JsonVersion::V1_0, &h3, b"{}", &limits).is_ok());
    assert!(parse_request(JsonVersion::V1_1, &h3, b"{}", &limits).is_err());

    // Missing or duplicated target.
    let e = parse_request(
        JsonVersion::V1_1,
        &headers(None, Some("application/x-amz-json-1.1")),
        b"{}",
        &limits,
    )
    .unwrap_err();
    assert_eq!(
        e.code(sekisho_gateway::error::Dialect::Json),
        "UnknownOperationException"
    );
    let mut dup = h.clone();
    dup.append(
        "x-amz-target",
        HeaderValue::from_static("TrentService.Decrypt"),
    );
    assert!(
        parse_request(JsonVersion::V1_1, &dup, b"{}", &limits)
            .unwrap_err()
            .message
            .contains("more than once")
    );
    // Non-ASCII target header value.
    let mut weird = HeaderMap::new();
    weird.insert(
        "x-amz-target",
        HeaderValue::from_bytes(b"Trent\xffService.Encrypt").unwrap(),
    );
    weird.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    assert_eq!(
        parse_request(JsonVersion::V1_1, &weird, b"{}", &limits)
            .unwrap_err()
            .kind,
        ErrorKind::UnknownOperation
    );

    // Wrong or missing content type.
    for ct in [None, Some("application/json"), Some("text/plain")] {
        let e = parse_request(
            JsonVersion::V1_1,
            &headers(Some("TrentService.Encrypt"), ct),
            b"{}",
            &limits,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation, "{ct:?}");
    }

    // Bodies that are not objects, or not JSON.
    for body in [
        &b"[]"[..],
        b"1",
        b"\"s\"",
        b"null",
        b"{",
        b"{\"a\":1}x",
        b"\xff",
    ] {
        let e = parse_request(JsonVersion::V1_1, &h, body, &limits).unwrap_err();
        assert_eq!(
            e.code(sekisho_gateway::error::Dialect::Json),
            "SerializationException",
            "{body:?}"
        );
        assert_eq!(e.kind.status(), 400);
    }
}

#[test]
fn json_reader_is_strict_and_bounded() {
    let limits = JsonLimits {
        max_bytes: 1000,
        max_depth: 5,
    };
    assert_eq!(
        parse_value(br#"{"a":[1,2,{"b":null}]}"#, &limits).unwrap(),
        json!({"a":[1,2,{"b":null}]})
    );
    // Key order is preserved.
    let v = parse_value(br#"{"z":1,"a":2}"#, &limits).unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["z", "a"]
    );
    // Duplicate keys, at any depth.
    for body in [
        &br#"{"a":1,"a":2}"#[..],
        br#"{"x":{"modelId":"a","modelId":"b"}}"#,
        br#"[{"k":1,"k":1}]"#,
    ] {
        match parse_value(body, &limits) {
            Err(JsonError::Syntax(m)) => assert!(m.contains("duplicate key"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    // Depth.
    assert!(parse_value(b"[[[[[1]]]]]", &limits).is_ok());
    assert_eq!(
        parse_value(b"[[[[[[1]]]]]]", &limits),
        Err(JsonError::TooDeep { max_depth: 5 })
    );
    assert_eq!(
        parse_value(br#"{"a":{"b":{"c":{"d":{"e":{}}}}}}"#, &limits),
        Err(JsonError::TooDeep { max_depth: 5 })
    );
    // Size.
    assert_eq!(
        parse_value(&vec![b' '; 1001], &limits),
        Err(JsonError::TooLarge { max_bytes: 1000 })
    );
    assert_eq!(
        parse_object(&vec![b' '; 1001], &limits),
        Err(JsonError::TooLarge { max_bytes: 1000 })
    );
    // Lone surrogates, invalid UTF-8, trailing garbage, NaN, huge exponents.
    for body in [
        &br#""\ud800""#[..],
        b"\"\xff\"",
        b"{} {}",
        b"NaN",
        b"1e999",
        b"{\"a\":01}",
        b"",
        b"\"\x00\"",
    ] {
        assert!(
            matches!(parse_value(body, &limits), Err(JsonError::Syntax(_))),
            "{body:?}"
        );
    }
    // Escaped NUL is legal JSON and fine.
    assert_eq!(
        parse_value(br#""\u0000""#, &limits).unwrap(),
        json!("\u{0}")
    );
    // Big integers stay exact when they fit.
    assert_eq!(
        parse_value(b"18446744073709551615", &limits).unwrap(),
        json!(u64::MAX)
    );
}

#[test]
fn deep_and_huge_json_does_not_overflow() {
    let limits = JsonLimits::default();
    // 100,000 nested arrays: refused by depth, no stack overflow.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert_eq!(
        parse_value(
            deep.as_bytes(),
            &JsonLimits {
                max_bytes: 1 << 20,
                ..limits
            }
        ),
        Err(JsonError::TooDeep { max_depth: 64 })
    );
    let deep_obj = "{\"a\":".repeat(50_000) + "1" + &"}".repeat(50_000);
    assert!(matches!(
        parse_value(
            deep_obj.as_bytes(),
            &JsonLimits {
                max_bytes: 1 << 20,
                ..limits
            }
        ),
        Err(JsonError::TooDeep { .. })
    ));
    // A depth limit above serde_json's own (128) still ends cleanly.
    let lax = JsonLimits {
        max_bytes: 1 << 20,
        max_depth: 10_000,
    };
    assert!(matches!(
        parse_value(deep.as_bytes(), &lax),
        Err(JsonError::TooDeep { .. })
    ));
    // 2 MiB body over the 1 MiB default.
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(2 << 20));
    let e = json::parse_request(
        JsonVersion::V1_1,
        &headers(
            Some("TrentService.Encrypt"),
            Some("application/x-amz-json-1.1"),
        ),
        big.as_bytes(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PayloadTooLarge);
}

#[test]
fn responses_and_errors() {
    let r = json::response(JsonVersion::V1_1, &json!({"KeyId": "k"}), "rid");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.1");
    assert_eq!(r.headers()["x-amzn-requestid"], "rid");
    assert_eq!(&r.body()[..], br#"{"KeyId":"k"}"#);

    let e = ApiError::not_found("Key 'arn:aws:kms:us-east-1:1:key/x' does not exist")
        .with_code("NotFoundException");
    let r = json::error_response(JsonVersion::V1_1, &e, "rid");
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-amzn-errortype"], "NotFoundException");
    assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.1");
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(
        v,
        json!({"__type": "NotFoundException", "message": "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist"})
    );
    // Keys in the order botocore documents them.
    assert!(
        std::str::from_utf8(r.body())
            .unwrap()
            .starts_with("{\"__type\"")
    );

    let r = json::error_response(
        JsonVersion::V1_0,
        &ApiError::new(ErrorKind::Throttling, "Rate exceeded"),
        "r",
    );
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.0");
    let v: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(v["__type"], "ThrottlingException");

    // Messages with quotes, newlines, control characters stay valid JSON.
    let e = ApiError::validation("a \"quoted\"\nline \u{0} \\ </script>");
    let v: Value = serde_json::from_slice(&error_body(&e)).unwrap();
    assert_eq!(v["message"], "a \"quoted\"\nline \u{0} \\ </script>");
}
