//! The Query/XML writer: response and error shapes, escaping of every
//! string, timestamps.

use sekisho_gateway::error::{ApiError, ErrorKind};
use sekisho_gateway::protocol::xml::{
    self, IAM_NS, STS_NS, XmlWriter, error_body, escape_text, iso8601, policy_document_encode,
    query_response, query_response_body,
};

/// A strict little well-formedness check: balanced tags, only the five
/// predefined entities and `&#xD;`, no raw `<`/`>` in text, only XML 1.0
/// characters. Returns the sequence of element names opened.
fn check_well_formed(doc: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').expect("unterminated end tag");
            let name = &after[..end];
            assert_eq!(
                stack.pop().as_deref(),
                Some(name),
                "mismatched end tag in {doc}"
            );
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').expect("unterminated start tag");
            let tag = &after[..end];
            let name = tag.split(' ').next().unwrap();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
                "bad name {name:?}"
            );
            let attr = &tag[name.len()..];
            if !attr.is_empty() {
                let value = attr
                    .strip_prefix(" xmlns=\"")
                    .and_then(|a| a.strip_suffix('"'))
                    .expect("attribute");
                check_text(value);
                assert!(!value.contains('"'));
            }
            stack.push(name.to_owned());
            opened.push(name.to_owned());
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            check_text(&rest[..end]);
            assert!(
                !stack.is_empty(),
                "text outside the root: {:?}",
                &rest[..end]
            );
            rest = &rest[end..];
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    opened
}

fn check_text(text: &str) {
    assert!(!text.contains('>'), "raw > in {text:?}");
    for c in text.chars() {
        assert!(
            matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'),
            "not an XML char: {c:?}"
        );
    }
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let after = &rest[i..];
        let ok = [
            "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#xD;", "&#x9;", "&#xA;",
        ]
        .iter()
        .find(|e| after.starts_with(*e));
        let e = ok.unwrap_or_else(|| panic!("bare & in {text:?}"));
        rest = &after[e.len()..];
    }
}

/// Undoes the writer's escaping (for round-trip checks).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#x9;", "\t")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

#[test]
fn get_caller_identity_shape() {
    let body = query_response_body("GetCallerIdentity", STS_NS, "req-1", |w| {
        w.element("Arn", "arn:aws:iam::123456789012:user/alice")
            .element("UserId", "AIDAEXAMPLE")
            .element("Account", "123456789012");
    });
    assert_eq!(
        body,
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLE</UserId>\
<Account>123456789012</Account></GetCallerIdentityResult>\
<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
    check_well_formed(&body);
}

#[test]
fn assume_role_shape_with_nesting_and_timestamp() {
    let exp = time::macros::datetime!(2026-11-25 22:05:26 UTC);
    let response = query_response("AssumeRole", STS_NS, "rid", |w| {
        w.nested("Credentials", |w| {
            w.element("AccessKeyId", "ASIAEXAMPLE")
                .element("SecretAccessKey", "s")
                .element("SessionToken", "t")
                .timestamp_element("Expiration", exp);
        });
        w.nested("AssumedRoleUser", |w| {
            w.element("AssumedRoleId", "AROA:s1")
                .element("Arn", "arn:aws:sts::1:assumed-role/r/s1");
        });
        w.int_element("PackedPolicySize", 6);
        w.opt_element("SourceIdentity", None);
    });
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml");
    assert_eq!(response.headers()["x-amzn-requestid"], "rid");
    let body = std::str::from_utf8(response.body()).unwrap();
    assert!(body.contains("<Expiration>2026-11-25T22:05:26Z</Expiration>"));
    assert!(body.contains("<PackedPolicySize>6</PackedPolicySize>"));
    assert!(!body.contains("SourceIdentity"));
    let names = check_well_formed(body);
    assert_eq!(names[0], "AssumeRoleResponse");
    assert_eq!(names[1], "AssumeRoleResult");
}

#[test]
fn iam_lists_use_member() {
    let body = query_response_body("ListRoleTags", IAM_NS, "r", |w| {
        w.tag_list("Tags", [("Project", "Sekisho"), ("a&b", "<c>")]);
        w.bool_element("IsTruncated", false);
        w.string_list("Names", ["x", "y"]);
        w.list("Empty", Vec::<u8>::new(), |_, _| {});
        w.list("Users", ["alice"], |w, name| {
            w.element("UserName", name);
        });
    });
    assert!(body.contains(
        "<Tags><member><Key>Project</Key><Value>Sekisho</Value></member>\
<member><Key>a&amp;b</Key><Value>&lt;c&gt;</Value></member></Tags>"
    ));
    assert!(body.contains("<IsTruncated>false</IsTruncated>"));
    assert!(body.contains("<Names><member>x</member><member>y</member></Names>"));
    assert!(body.contains("<Empty></Empty>"));
    assert!(body.contains("<Users><member><UserName>alice</UserName></member></Users>"));
    assert!(
        body.starts_with(
            "<ListRoleTagsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        )
    );
    check_well_formed(&body);
}

#[test]
fn operation_without_output() {
    let body = query_response_body("DeleteUser", IAM_NS, "r", |_| {});
    assert_eq!(
        body,
        "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><DeleteUserResult></DeleteUserResult>\
<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"
    );
}

#[test]
fn error_shape() {
    let err = ApiError::new(
        ErrorKind::AccessDenied,
        "User: arn:aws:iam::1:user/a is not authorized to perform: sts:AssumeRole on resource: <x> & \"y\"",
    );
    let body = error_body(STS_NS, &err, "req-9");
    assert_eq!(
        body,
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
<Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/a is not authorized to perform: sts:AssumeRole \
on resource: &lt;x&gt; &amp; &quot;y&quot;</Message></Error><RequestId>req-9</RequestId></ErrorResponse>"
    );
    check_well_formed(&body);

    let r = xml::error_response(IAM_NS, &ApiError::internal("boom"), "q");
    assert_eq!(r.status(), 500);
    let body = std::str::from_utf8(r.body()).unwrap();
    assert!(body.contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
    assert!(body.contains("<RequestId>q</RequestId>"));
    assert_eq!(r.headers()["x-amzn-RequestId"], "q");

    // A service-specific code override.
    let e = ApiError::validation("bad").with_code("InvalidInput");
    assert!(error_body(IAM_NS, &e, "r").contains("<Code>InvalidInput</Code>"));
}

#[test]
fn every_string_is_escaped_and_round_trips() {
    let nasty = [
        "",
        "plain",
        "&amp; already escaped",
        "<script>alert('x')</script>",
        "\"quoted\" 'single'",
        "]]> cdata end",
        "line1\nline2\r\nline3\ttab",
        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
        "\u{FFFE}\u{FFFF}\u{FFFD}",
        "日本語のテキスト 🎌",
        "\u{D7FF}\u{E000}\u{10FFFF}",
        "&#x0; &#0; &lt",
    ];
    for s in nasty {
        let body = query_response_body("Op", STS_NS, s, |w| {
            w.element("Value", s);
        });
        check_well_formed(&body);
        let start = body.find("<Value>").unwrap() + 7;
        let end = body.find("</Value>").unwrap();
        let back = unescape(&body[start..end]);
        let expected: String = s
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
                c => c,
            })
            .collect();
        assert_eq!(back, expected, "{s:?}");
    }
    // All 0..=0x2FF and surrogate neighbours in one go.
    let all: String = (0u32..0x300)
        .chain(0xD7F0..0xD800)
        .chain(0xE000..0xE010)
        .filter_map(char::from_u32)
        .collect();
    let body = query_response_body("Op", STS_NS, "r", |w| {
        w.element("All", &all);
    });
    check_well_formed(&body);
    assert!(escape_text("a>b").contains("&gt;"));
}

#[test]
fn names_and_namespaces_cannot_break_the_document() {
    let mut w = XmlWriter::new();
    w.start_ns("Bad Name<>", "x\"><evil attr=\"")
        .element("", "t")
        .element("9lives", "t")
        .end();
    let doc = w.finish();
    check_well_formed(&doc);

    // Unbalanced use: finish closes what is open; extra end() is harmless.
    let mut w = XmlWriter::new();
    w.start("A").start("B").text("x");
    w.end().end().end().end();
    assert_eq!(w.finish(), "<A><B>x</B></A>");
    let mut w = XmlWriter::new();
    w.start("A").start("B");
    assert_eq!(w.finish(), "<A><B></B></A>");

    // nested() closes what its closure left open.
    let mut w = XmlWriter::new();
    w.nested("Outer", |w| {
        w.start("Inner").start("Deeper");
    });
    w.element("After", "x");
    assert_eq!(
        w.finish(),
        "<Outer><Inner><Deeper></Deeper></Inner></Outer><After>x</After>"
    );
}

#[test]
fn timestamps_are_iso8601_utc_seconds() {
    assert_eq!(
        iso8601(time::macros::datetime!(2026-11-25 22:05:26.999 UTC)),
        "2026-11-25T22:05:26Z"
    );
    assert_eq!(
        iso8601(time::macros::datetime!(2026-11-26 07:05:26 +09:00)),
        "2026-11-25T22:05:26Z"
    );
    assert_eq!(
        iso8601(time::macros::datetime!(0001-01-01 00:00:00 UTC)),
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(xml::iso8601_unix(1_795_644_326), "2026-11-25T22:05:26Z");
    // The extremes of the representable range neither panic nor lie about UTC.
    let _ = iso8601(
        time::PrimitiveDateTime::MAX.assume_offset(time::UtcOffset::from_hms(-23, 0, 0).unwrap()),
    );
    let _ = iso8601(
        time::PrimitiveDateTime::MIN.assume_offset(time::UtcOffset::from_hms(23, 0, 0).unwrap()),
    );
}

#[test]
fn policy_documents_are_url_encoded() {
    let doc =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
    let enc = policy_document_encode(doc);
    assert!(enc.starts_with("%7B%22Version%22%3A%222012-10-17%22"));
    assert!(!enc.contains(['{', '"', ' ', '&', '<']));
    assert_eq!(policy_document_encode("a b/日"), "a%20b%2F%E6%97%A5");
}
