//! The Query protocol decoder: botocore's flattening, typed getters, AWS
//! validation messages, hostile input.

use http::Method;
use sekisho_gateway::error::{Dialect, ErrorKind};
use sekisho_gateway::protocol::query::{QueryLimits, QueryParams};

fn parse(s: &str) -> QueryParams {
    QueryParams::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn parse_err(s: &[u8]) -> sekisho_gateway::error::ApiError {
    match QueryParams::parse(s) {
        Ok(q) => panic!("{:?} parsed: {q:?}", String::from_utf8_lossy(s)),
        Err(e) => e,
    }
}

/// What botocore sends for sts.assume_role with every list shape filled.
const ASSUME_ROLE: &str = "Action=AssumeRole&Version=2011-06-15\
&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=s1\
&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess\
&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp2\
&Policy=%7B%22Version%22%3A%222012-10-17%22%7D\
&DurationSeconds=3600\
&Tags.member.1.Key=Project&Tags.member.1.Value=Sekisho\
&Tags.member.2.Key=Team&Tags.member.2.Value=AI+Platform\
&TransitiveTagKeys.member.1=Project&TransitiveTagKeys.member.2=Team\
&ExternalId=ext-123&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fu&TokenCode=123456\
&SourceIdentity=alice";

#[test]
fn assume_role_as_botocore_sends_it() {
    let q = parse(ASSUME_ROLE);
    assert_eq!(q.action(), "AssumeRole");
    assert_eq!(q.version(), Some("2011-06-15"));
    assert_eq!(
        q.required("RoleArn").unwrap(),
        "arn:aws:iam::123456789012:role/demo"
    );
    assert_eq!(q.optional("Policy"), Some(r#"{"Version":"2012-10-17"}"#));
    assert_eq!(q.int("DurationSeconds").unwrap(), Some(3600));
    assert_eq!(q.int_in("DurationSeconds", 900, 43200).unwrap(), Some(3600));
    assert_eq!(
        q.tags("Tags").unwrap(),
        vec![("Project", "Sekisho"), ("Team", "AI Platform")]
    );
    assert_eq!(
        q.list("TransitiveTagKeys").unwrap(),
        vec!["Project", "Team"]
    );
    let arns = q.struct_list("PolicyArns").unwrap();
    assert_eq!(arns.len(), 2);
    assert_eq!(
        arns[0].required("arn").unwrap(),
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    assert_eq!(arns[1].index(), 2);
    assert_eq!(arns[1].path(), "PolicyArns.member.2");
    assert!(q.contains("PolicyArns"));
    assert!(!q.contains("Policy.x"));
    assert!(!q.contains("Nothing"));
    assert_eq!(q.len(), 18);
    assert_eq!(q.iter().next(), Some(("Action", "AssumeRole")));
}

#[test]
fn missing_required_is_aws_worded() {
    let q = parse("Action=AssumeRole&Version=2011-06-15");
    let e = q.required("RoleArn").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(e.code(Dialect::Query), "ValidationError");
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn typed_getters() {
    let q = parse("Action=X&A=12&B=-3&C=abc&D=1.5&E=true&F=FALSE&G=yes&H=&I=99999999999999999999");
    assert_eq!(q.int("A").unwrap(), Some(12));
    assert_eq!(q.int("B").unwrap(), Some(-3));
    assert_eq!(q.int("Missing").unwrap(), None);
    let e = q.int("C").unwrap_err();
    assert!(e.message.contains("Value 'abc' at 'c'"), "{}", e.message);
    assert!(q.int("D").is_err());
    assert!(q.int("H").is_err());
    assert!(q.int("I").is_err());
    assert_eq!(q.bool("E").unwrap(), Some(true));
    assert_eq!(q.bool("F").unwrap(), Some(false));
    assert!(q.bool("G").is_err());
    assert_eq!(q.bool("Missing").unwrap(), None);

    let e = q.int_in("A", 900, 43200).unwrap_err();
    assert_eq!(
        e.message,
        "1 validation error detected: Value '12' at 'a' failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    let e = q.int_in("A", 0, 10).unwrap_err();
    assert!(
        e.message
            .ends_with("Member must have value less than or equal to 10")
    );

    let q = parse("Action=X&RoleSessionName=ab&Long=%E6%97%A5%E6%9C%AC");
    let e = q.required_len("RoleSessionName", 2, 64).map(|_| ()).err();
    assert!(e.is_none());
    let e = q.required_len("RoleSessionName", 3, 64).unwrap_err();
    assert!(
        e.message
            .contains("Member must have length greater than or equal to 3")
    );
    // String values are not echoed (they can be secrets such as ExternalId).
    let q2 = parse("Action=X&ExternalId=s3cr3t-value");
    let e = q2.required_len("ExternalId", 2, 4).unwrap_err();
    assert_eq!(
        e.message,
        "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length less than or equal to 4"
    );
    assert!(!e.message.contains("s3cr3t"));
    // Length counts characters, not bytes.
    assert_eq!(q.string_len("Long", 2, 2).unwrap(), Some("日本"));
    assert!(q.string_len("Long", 0, 1).is_err());
    assert_eq!(q.string_len("Missing", 1, 2).unwrap(), None);
}

#[test]
fn lists_and_maps() {
    // Indexes are ordered numerically, not as text, and gaps are allowed.
    let q = parse("Action=X&Names.member.10=j&Names.member.2=b&Names.member.1=a");
    assert_eq!(q.list("Names").unwrap(), vec!["a", "b", "j"]);
    // The empty list botocore sends as the bare name.
    let q = parse("Action=X&Names=");
    assert!(q.list("Names").unwrap().is_empty());
    assert!(q.contains("Names"));
    // Absent.
    assert!(parse("Action=X").list("Names").unwrap().is_empty());
    // A value where a list belongs.
    assert!(parse("Action=X&Names=a").list("Names").is_err());
    // Not flattened as member.N.
    assert!(parse("Action=X&Names.1=a").list("Names").is_err());
    assert!(parse("Action=X&Names.member.0=a").list("Names").is_err());
    assert!(parse("Action=X&Names.member.01=a").list("Names").is_err());
    assert!(parse("Action=X&Names.member.x=a").list("Names").is_err());
    assert!(parse("Action=X&Names.member.=a").list("Names").is_err());
    assert!(
        parse("Action=X&Names.member.1.=a")
            .struct_list("Names")
            .is_err()
    );
    assert!(
        parse("Action=X&Names.member.99999=a")
            .list("Names")
            .is_err()
    );
    // Structure where a string belongs and the reverse.
    assert!(
        parse("Action=X&Names.member.1.Key=a")
            .list("Names")
            .is_err()
    );
    assert!(
        parse("Action=X&Tags.member.1=a")
            .struct_list("Tags")
            .is_err()
    );
    assert!(
        parse("Action=X&Tags.member.1=a&Tags.member.1.Key=b")
            .struct_list("Tags")
            .is_err()
    );
    // Prefix of another parameter's name is not a member.
    let q = parse("Action=X&Names.member.1=a&NamesExtra=b&Policy=p&PolicyArns.member.1.arn=a");
    assert_eq!(q.list("Names").unwrap(), vec!["a"]);
    assert_eq!(q.get("Policy"), Some("p"));
    assert_eq!(q.struct_list("PolicyArns").unwrap().len(), 1);

    // Tags need both Key and Value; the message names the member.
    let e = parse("Action=X&Tags.member.1.Key=a&Tags.member.2.Value=b")
        .tags("Tags")
        .unwrap_err();
    assert!(
        e.message.starts_with("2 validation errors detected: "),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("at 'tags.1.member.value'"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("at 'tags.2.member.key'"),
        "{}",
        e.message
    );

    let q = parse("Action=X&PolicyArns.member.1.other=x");
    let e = q.struct_list("PolicyArns").unwrap()[0]
        .required("arn")
        .unwrap_err();
    assert!(
        e.message.contains("'policyArns.1.member.arn'"),
        "{}",
        e.message
    );

    let q = parse(
        "Action=X&Attrs.entry.1.key=k1&Attrs.entry.1.value=v1&Attrs.entry.2.key=k2&Attrs.entry.2.value=",
    );
    assert_eq!(q.map("Attrs").unwrap(), vec![("k1", "v1"), ("k2", "")]);
    assert!(parse("Action=X&Attrs.entry.1.key=k1").map("Attrs").is_err());

    let q = parse("Action=X&Names.member.1=a&Names.member.2=b&Names.member.3=c");
    assert!(q.list_bounded("Names", 3).is_ok());
    assert!(q.list_bounded("Names", 2).is_err());
}

#[test]
fn form_decoding() {
    let q = parse("Action=X&A=a+b%20c&B=%E6%97%A5%E6%9C%AC%E8%AA%9E&C&D=x%3Dy%26z&&E=%2B");
    assert_eq!(q.get("A"), Some("a b c"));
    assert_eq!(q.get("B"), Some("日本語"));
    assert_eq!(q.get("C"), Some(""));
    assert_eq!(q.get("D"), Some("x=y&z"));
    assert_eq!(q.get("E"), Some("+"));
    // Decoded once: %2541 is "%41", not "A".
    assert_eq!(parse("Action=X&F=%2541").get("F"), Some("%41"));
    // Raw UTF-8 bytes (not percent-encoded) are accepted when valid.
    assert_eq!(parse("Action=X&G=日本").get("G"), Some("日本"));
}

#[test]
fn action_rules() {
    let e = parse_err(b"Version=2011-06-15");
    assert_eq!(e.code(Dialect::Query), "MissingAction");
    let e = parse_err(b"Action=&Version=2011-06-15");
    assert_eq!(e.code(Dialect::Query), "MissingAction");
    let e = parse_err(b"Action=Get%3CCaller%3E");
    assert_eq!(e.kind, ErrorKind::UnknownOperation);
    assert_eq!(e.code(Dialect::Query), "InvalidAction");
    assert!(!e.message.contains('<'));
    let long = format!("Action={}", "A".repeat(129));
    assert_eq!(parse_err(long.as_bytes()).kind, ErrorKind::UnknownOperation);

    let q = parse("Action=FooBar&Version=2011-06-15");
    let e = q.unknown_action_error();
    assert_eq!(e.code(Dialect::Query), "InvalidAction");
    assert_eq!(
        e.message,
        "Could not find operation FooBar for version 2011-06-15"
    );
    assert_eq!(
        parse("Action=FooBar").unknown_action_error().message,
        "Could not find operation FooBar for version NO_VERSION_SPECIFIED"
    );
}

#[test]
fn hostile_input_is_refused_cleanly() {
    // Bad escapes, including '%' at the very end.
    for input in [
        &b"Action=X&A=%"[..],
        b"Action=X&A=%4",
        b"Action=X&A=%G0",
        b"Action=X&%=1",
        b"Action=X%",
        b"Action=X&A=%%41",
    ] {
        let e = parse_err(input);
        assert_eq!(e.kind, ErrorKind::Validation, "{input:?}");
        assert!(e.message.contains("percent-encoding"), "{}", e.message);
    }
    // Invalid UTF-8, encoded and raw.
    for input in [
        &b"Action=X&A=%FF"[..],
        b"Action=X&A=%C3%28",
        b"Action=X&A=\xff\xfe",
        b"Action=X&%ED%A0%80=1",
    ] {
        let e = parse_err(input);
        assert_eq!(e.kind, ErrorKind::Validation);
        assert!(e.message.contains("UTF-8"), "{}", e.message);
    }
    // NUL is a valid character in a value but must not break anything.
    assert_eq!(parse("Action=X&A=%00").get("A"), Some("\0"));
    // Empty name.
    assert!(parse_err(b"Action=X&=v").message.contains("empty name"));
    // Parameter pollution: a name given twice.
    let e = parse_err(b"Action=AssumeRole&RoleArn=a&RoleArn=b");
    assert!(e.message.contains("more than once"), "{}", e.message);
    let e = parse_err(b"Action=AssumeRole&Action=GetCallerIdentity");
    assert!(e.message.contains("more than once"));
    // Also through different encodings of the same name.
    assert!(
        parse_err(b"Action=X&Role%41rn=a&RoleArn=b")
            .message
            .contains("more than once")
    );
}

#[test]
fn limits_hold() {
    let limits = QueryLimits {
        max_bytes: 100,
        max_params: 3,
        max_name_bytes: 10,
        max_value_bytes: 10,
        max_list_index: 5,
    };
    let p = |s: &str| QueryParams::parse_with(s.as_bytes(), &limits);
    assert!(p("Action=X&A=1&B=2").is_ok());
    assert!(
        p("Action=X&A=1&B=2&C=3")
            .unwrap_err()
            .message
            .contains("more than 3 parameters")
    );
    assert!(
        p("Action=X&ABCDEFGHIJK=1")
            .unwrap_err()
            .message
            .contains("name longer than 10")
    );
    assert!(p("Action=X&A=12345678901").is_err());
    assert!(p("Action=X&A=%41%41%41%41%41%41%41%41%41%41").is_ok());
    assert!(p("Action=X&A=%41%41%41%41%41%41%41%41%41%41%41").is_err());
    let big = format!("Action=X&A={}", "x".repeat(200));
    let e = p(&big).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PayloadTooLarge);
    assert!(p("Action=X&N.member.5=a").unwrap().list("N").is_ok());
    assert!(p("Action=X&N.member.6=a").unwrap().list("N").is_err());

    // Defaults: a 2 MiB body, 100k parameters, a huge value.
    let huge = vec![b'a'; 2 * 1024 * 1024];
    assert_eq!(
        QueryParams::parse(&huge).unwrap_err().kind,
        ErrorKind::PayloadTooLarge
    );
    let many: String = (0..5000).map(|i| format!("P{i}=1&")).collect::<String>() + "Action=X";
    assert!(
        QueryParams::parse(many.as_bytes())
            .unwrap_err()
            .message
            .contains("parameters")
    );
    let only_ampersands = "&".repeat(500_000) + "Action=X";
    assert!(QueryParams::parse(only_ampersands.as_bytes()).is_ok());
    let value = format!("Action=X&PolicyDocument={}", "%41".repeat(200_000));
    assert_eq!(
        QueryParams::parse(value.as_bytes())
            .unwrap()
            .get("PolicyDocument")
            .unwrap()
            .len(),
        200_000
    );
}

#[test]
fn from_request_get_and_post() {
    let limits = QueryLimits::default();
    let form = Some("application/x-www-form-urlencoded; charset=utf-8");

    let q = QueryParams::from_request(
        &Method::POST,
        None,
        form,
        b"Action=GetCallerIdentity&Version=2011-06-15",
        &limits,
    )
    .unwrap();
    assert_eq!(q.action(), "GetCallerIdentity");

    // GET: the URL query (presigned requests carry X-Amz-* there too).
    let q = QueryParams::from_request(
        &Method::GET,
        Some("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        None,
        b"Action=Ignored",
        &limits,
    )
    .unwrap();
    assert_eq!(q.action(), "GetCallerIdentity");
    assert_eq!(q.get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));

    // POST merges the URL query, but a name may appear only once overall.
    let q = QueryParams::from_request(
        &Method::POST,
        Some("Version=2011-06-15"),
        form,
        b"Action=GetCallerIdentity",
        &limits,
    )
    .unwrap();
    assert_eq!(q.version(), Some("2011-06-15"));
    assert!(
        QueryParams::from_request(&Method::POST, Some("Action=A"), form, b"Action=B", &limits)
            .is_err()
    );

    // Wrong content type with a body.
    let e = QueryParams::from_request(
        &Method::POST,
        None,
        Some("application/json"),
        b"{}",
        &limits,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(QueryParams::from_request(&Method::POST, None, None, b"Action=X", &limits).is_err());
    // Empty body, params in the URL: fine without a content type.
    assert!(QueryParams::from_request(&Method::POST, Some("Action=X"), None, b"", &limits).is_ok());
    // Other methods.
    assert!(QueryParams::from_request(&Method::PUT, Some("Action=X"), form, b"", &limits).is_err());
}

#[test]
fn fuzz_like_inputs_never_panic() {
    // A deterministic pseudo-random walk over awkward bytes.
    let alphabet: &[u8] = b"%&=+.Aa1member.entry.0\xff\xc3\x00Tags.9";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 40) as usize;
        let mut input = b"Action=X&".to_vec();
        let mut s = state;
        for _ in 0..len {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            input.push(alphabet[(s >> 33) as usize % alphabet.len()]);
        }
        if let Ok(q) = QueryParams::parse(&input) {
            let _ = q.list("Tags");
            let _ = q.tags("Tags");
            let _ = q.map("entry");
            let _ = q.struct_list("A");
            let _ = q.int("A");
            let _ = q.bool("A");
        }
    }
}
