//! The AWS SigV4 signing test suite, read where cargo unpacked the
//! `aws-sigv4` crate (which ships it, Apache-2.0) — it is not copied here:
//! every signed request, in the header and in the query, must verify, give
//! the suite's canonical request, and fail once its signature is altered.
//!
//! The suite's requests were canonicalized with single path encoding (CRT's
//! default), with or without normalization as each `context.json` says.

use std::fs;
use std::path::{Path, PathBuf};

use sekisho_identity::sigv4::{self, AuthError, CanonicalOptions, HttpParts, PayloadHash};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn parts(&self) -> HttpParts<'_> {
        HttpParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
        }
    }
}

/// Reads the suite's HTTP/1.1 text form. The request target may hold raw
/// spaces and UTF-8 (that is what some cases test); folded header lines are
/// joined with a space.
fn parse_request(text: &str) -> Request {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let (method, rest) = first.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line);
            continue;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_ascii_lowercase(), value.trim_start().to_owned()));
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_owned(),
    }
}

/// The suite inside the unpacked `aws-sigv4` package of the cargo registry
/// (a dependency of this crate, so it is there whenever this test builds).
fn suite_dir() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let registry = home.join("registry/src");
    let mut found: Vec<PathBuf> = fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|index| fs::read_dir(index.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("aws-sigv4-1."))
        })
        .map(|p| p.join("aws-signing-test-suite/v4"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "the aws-sigv4 package's aws-signing-test-suite was not found under {}",
            registry.display()
        )
    })
}

fn json_str<'a>(json: &'a serde_json::Value, key: &str) -> &'a str {
    json[key].as_str().unwrap()
}

#[test]
fn every_suite_case_verifies() {
    let mut checked = 0;
    let mut dirs: Vec<_> = fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(context) = fs::read_to_string(dir.join("context.json")) else {
            continue; // the two canonical-request-only cases, below
        };
        let context: serde_json::Value = serde_json::from_str(&context).unwrap();
        let secret = json_str(&context["credentials"], "secret_access_key");
        let akid = json_str(&context["credentials"], "access_key_id");
        let now = OffsetDateTime::parse(json_str(&context, "timestamp"), &Rfc3339).unwrap();
        let options = CanonicalOptions {
            normalize_path: context["normalize"].as_bool().unwrap(),
            double_encode_path: false,
        };
        for location in ["header", "query"] {
            let text =
                fs::read_to_string(dir.join(format!("{location}-signed-request.txt"))).unwrap();
            let req = parse_request(&text);
            let parts = req.parts();
            let claim = sigv4::parse(&parts).unwrap_or_else(|e| panic!("{name} {location}: {e}"));
            assert_eq!(claim.access_key_id, akid);
            assert_eq!(claim.presigned, location == "query", "{name}");
            assert_eq!(
                claim.session_token.as_deref(),
                context["credentials"]["token"].as_str(),
                "{name} {location}"
            );

            let expected_creq =
                fs::read_to_string(dir.join(format!("{location}-canonical-request.txt"))).unwrap();
            let payload_line = expected_creq.rsplit('\n').next().unwrap();
            // `canonical_request` gives the standard form, with a presigned
            // URL's session token signed; `verify` also accepts it unsigned
            // (post-sts-header-after, query).
            let token_unsigned =
                context["omit_session_token"].as_bool() == Some(true) && location == "query";
            if !token_unsigned {
                let creq = sigv4::canonical_request(&parts, &claim, payload_line, options).unwrap();
                assert_eq!(creq, expected_creq, "{name} {location}: canonical request");
                let expected_sts =
                    fs::read_to_string(dir.join(format!("{location}-string-to-sign.txt"))).unwrap();
                assert_eq!(
                    sigv4::string_to_sign(&claim, &creq),
                    expected_sts,
                    "{name} {location}"
                );
            }

            let payload = PayloadHash::of_body(&req.body);
            let result = sigv4::verify_with(&parts, &claim, &payload, secret, now, options);
            assert_eq!(result, Ok(()), "{name} {location}");

            let wrong = sigv4::verify_with(&parts, &claim, &payload, "x", now, options);
            assert_eq!(
                wrong,
                Err(AuthError::SignatureMismatch),
                "{name} {location}"
            );
            let mut tampered = claim.clone();
            let last = if tampered.signature.ends_with('0') {
                "1"
            } else {
                "0"
            };
            tampered.signature.replace_range(63.., last);
            let result = sigv4::verify_with(&parts, &tampered, &payload, secret, now, options);
            assert_eq!(
                result,
                Err(AuthError::SignatureMismatch),
                "{name} {location}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 38, "every case with a context, both locations");
}

#[test]
fn get_vanilla_well_known_vector() {
    let req = parse_request(
        "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\n\
         Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n",
    );
    let parts = req.parts();
    let claim = sigv4::parse(&parts).unwrap();
    assert_eq!(claim.region, "us-east-1");
    assert_eq!(claim.service, "service");
    assert_eq!(claim.date, "20150830");
    assert_eq!(claim.signed_headers, ["host", "x-amz-date"]);
    let now = OffsetDateTime::parse("2015-08-30T12:36:00Z", &Rfc3339).unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let empty = PayloadHash::of_body(b"");
    assert_eq!(empty, PayloadHash::Hex(sigv4::EMPTY_PAYLOAD_SHA256.into()));
    assert_eq!(sigv4::verify(&parts, &claim, &empty, secret, now), Ok(()));
    assert_eq!(
        sigv4::verify(
            &parts,
            &claim,
            &empty,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
            now
        ),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn double_encoding_cases_give_the_suite_canonical_request() {
    for name in ["double-url-encode", "double-encode-path"] {
        let dir = suite_dir().join(name);
        let req = parse_request(&fs::read_to_string(dir.join("request.txt")).unwrap());
        let expected = fs::read_to_string(dir.join("header-canonical-request.txt")).unwrap();
        // The claim only supplies the signed header names here.
        let mut headers = req.headers.clone();
        for (n, v) in &mut headers {
            if n == "x-amz-date" {
                // double-encode-path's expected request carries another date.
                let want = expected
                    .lines()
                    .find_map(|l| l.strip_prefix("x-amz-date:"))
                    .unwrap();
                *v = want.to_owned();
            }
        }
        let date = headers
            .iter()
            .find(|(n, _)| n == "x-amz-date")
            .unwrap()
            .1
            .clone();
        headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={}",
                &date[..8],
                "0".repeat(64)
            ),
        ));
        let parts = HttpParts {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &headers,
        };
        let claim = sigv4::parse(&parts).unwrap();
        let creq = sigv4::canonical_request(
            &parts,
            &claim,
            sigv4::EMPTY_PAYLOAD_SHA256,
            CanonicalOptions::for_service("lambda"),
        )
        .unwrap();
        assert_eq!(creq, expected, "{name}");
    }
}
