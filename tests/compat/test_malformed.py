"""8. Malformed bodies, wrong content types, unknown model ids, oversized
bodies, path tricks in model ids and header abuse: each gets an AWS error
of the right class, never a 500, never a hang. The crafted requests are
signed by botocore's SigV4Auth and sent byte for byte with http.client."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from urllib.parse import quote

import pytest

import harness
from harness import ECHO, HAIKU, MAX_BODY_BYTES, RawResponse, raises_code


def converse_path(model: str, op: str = "converse") -> str:
    return f"/model/{quote(model, safe='')}/{op}"


def message(text="hello") -> dict:
    return {"messages": [{"role": "user", "content": [{"text": text}]}]}


def bedrock(gateway, path, body=b"", **kw) -> RawResponse:
    headers = kw.pop("headers", {"Content-Type": "application/json"})
    return gateway.raw("POST", path, service="bedrock", protocol="rest-json", body=body, headers=headers, **kw)


def sts(gateway, body: bytes, **kw) -> RawResponse:
    headers = kw.pop("headers", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    return gateway.raw("POST", "/", service="sts", protocol="query", body=body, headers=headers, **kw)


def assert_error(resp: RawResponse, codes, statuses=None):
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    assert resp.status < 500, f"server error: {resp!r}"
    assert resp.status >= 400, f"accepted: {resp!r}"
    assert resp.code in codes, f"expected {codes}, got {resp.code!r}: {resp!r}"
    assert resp.headers.get("x-amzn-requestid"), f"no request id: {resp!r}"
    if statuses is not None:
        statuses = (statuses,) if isinstance(statuses, int) else tuple(statuses)
        assert resp.status in statuses, f"expected HTTP {statuses}: {resp!r}"


VALIDATION = ("ValidationException",)
BAD_JSON = ("ValidationException", "SerializationException")


# -- bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"messages": [',
        b"not json at all",
        b"[]",
        b'"a string"',
        b"{}",
        b'{"messages": "hello"}',
        b'{"messages": []}',
        b'{"messages": [{"role": "system", "content": [{"text": "x"}]}]}',
        b'{"messages": [{"role": "user", "content": []}]}',
        b'{"messages": [{"role": "user", "content": [{"text": 5}]}]}',
        b'{"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": -1}}',
        b'{"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": 1e400}}',
        b'{"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"temperature": "hot"}}',
        b'{"messages": [{"role": "user", "content": [{"text": "\xff\xfe"}]}]}',
        b'{"messages": [{"role": "user", "content": [{"text": "\\ud800"}]}]}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"",
    ],
    ids=lambda b: b[:40].decode("latin-1"),
)
def test_malformed_converse_bodies(gateway, body):
    assert_error(bedrock(gateway, converse_path(ECHO), body), BAD_JSON, 400)


@pytest.mark.parametrize(
    "body",
    [
        b"plain text",
        b'{"max_tokens": 10}',
        b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": "hi"}',
        b'{"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]}',
        b'{"anthropic_version": "1999-01-01", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}',
    ],
    ids=lambda b: b[:40].decode("latin-1"),
)
def test_malformed_invoke_model_bodies(gateway, body):
    assert_error(bedrock(gateway, converse_path(HAIKU, "invoke"), body), BAD_JSON, 400)


def test_malformed_bodies_through_boto3(gateway):
    runtime = gateway.client("bedrock-runtime", parameter_validation=False)
    with raises_code("ValidationException", status=400):
        runtime.converse(modelId=ECHO, messages=[{"role": "robot", "content": [{"text": "x"}]}])
    with raises_code("ValidationException", status=400):
        runtime.invoke_model(modelId=HAIKU, body=b"{not json", contentType="application/json")
    with raises_code("ValidationException", status=400):
        runtime.count_tokens(modelId=ECHO, input={})


# -- content types ------------------------------------------------------------


def test_invoke_model_with_a_wrong_content_type(gateway):
    runtime = gateway.client("bedrock-runtime")
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}).encode()
    with raises_code("ValidationException", status=400):
        runtime.invoke_model(modelId=ECHO, body=body, contentType="text/plain")
    with raises_code("ValidationException", status=400):
        runtime.invoke_model_with_response_stream(modelId=ECHO, body=body, contentType="application/xml")


def test_query_protocol_with_a_json_content_type(gateway):
    resp = sts(
        gateway,
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status < 500, resp
    assert resp.status >= 400, f"a JSON content type was read as a form: {resp!r}"


def test_malformed_query_requests(gateway):
    assert_error(sts(gateway, b"Action=NoSuchAction&Version=2011-06-15"), ("InvalidAction",), 400)
    assert_error(sts(gateway, b"Version=2011-06-15"), ("MissingAction", "InvalidAction"), 400)
    assert_error(sts(gateway, b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=x1"), ("ValidationError", "MissingParameter"), 400)
    assert_error(sts(gateway, b"Action=GetCallerIdentity&Version=2011-06-15&Bad=%ZZ%"), ("ValidationError", "MalformedQueryString", "InvalidParameterValue"), 400)
    assert_error(
        sts(gateway, b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=x1&RoleArn=" + b"a" * 100 + b"&DurationSeconds=abc"),
        ("ValidationError", "InvalidParameterValue", "MalformedInput"),
        400,
    )


# -- model ids ----------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-v99:0",
        "sekisho.echo-v2",
        "SEKISHO.ECHO-V1",
        "arn:aws:bedrock:us-east-1::foundation-model/no.such-model-v1:0",
        "arn:aws:bedrock:us-east-1::custom-model/sekisho.echo-v1",
        "arn:aws:s3:::sekisho.echo-v1",
        "x" * 3000,
    ],
    ids=lambda m: m[:50],
)
def test_unknown_model_ids(gateway, model):
    runtime = gateway.client("bedrock-runtime", parameter_validation=False)
    text = harness.prompt("to nobody")
    with raises_code("ValidationException", "ResourceNotFoundException"):
        runtime.converse(modelId=model, messages=[{"role": "user", "content": [{"text": text}]}])
    with raises_code("ValidationException", "ResourceNotFoundException"):
        runtime.invoke_model(
            modelId=model, body=json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 5}),
            contentType="application/json",
        )
    with raises_code("ValidationException", "ResourceNotFoundException"):
        runtime.count_tokens(modelId=model, input={"converse": {"messages": [{"role": "user", "content": [{"text": text}]}]}})


def test_model_arn_and_inference_profile_forms_of_a_known_model(gateway):
    runtime = gateway.client("bedrock-runtime")
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{ECHO}"
    out = runtime.converse(modelId=arn, messages=[{"role": "user", "content": [{"text": "by arn"}]}])
    assert out["output"]["message"]["content"][0]["text"] == "You said: by arn"


# -- sizes --------------------------------------------------------------------


def test_oversized_body(gateway):
    big = "x" * (MAX_BODY_BYTES + 1024)
    runtime = gateway.client("bedrock-runtime")
    with raises_code("ValidationException", status=413):
        runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": big}]}])
    with raises_code("ValidationError", status=413):
        gateway.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/BedrockRole", RoleSessionName="big", Policy=big)
    # Just under the limit is served.
    fits = "y " * ((MAX_BODY_BYTES - 512) // 2)
    out = runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": fits}]}])
    assert out["stopReason"] == "end_turn"


def test_declared_oversized_body_is_refused_without_waiting(gateway):
    """A Content-Length above the limit is refused at once, not after
    waiting for bytes that never come."""
    host = f"127.0.0.1:{gateway.ports[0]}"
    ctx = ssl.create_default_context(cafile=gateway.ca)
    with socket.create_connection(("127.0.0.1", gateway.ports[0]), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(
                (
                    f"POST {converse_path(ECHO)} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {MAX_BODY_BYTES * 100}\r\n\r\n"
                ).encode()
                + b'{"messages": ['
            )
            try:
                head = tls.recv(4096)
            except socket.timeout:
                pytest.fail("no answer within 10 s to a request declaring an oversized body")
    status_line = head.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), head[:300]


# -- paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        f"{ECHO}/../../x",
        f"../{ECHO}",
        "..",
        ".",
        f"{ECHO}\\..\\x",
        f"{ECHO}\x00",
        f"arn:aws:bedrock:us-east-1::foundation-model/{ECHO}/../x",
        f"arn:aws:bedrock:us-east-1::foundation-model/../{ECHO}",
        f"{ECHO}%2F..%2Fx",
    ],
    ids=repr,
)
def test_path_tricks_through_boto3(gateway, model):
    """botocore percent-encodes the label (`/` as %2F) and signs the path
    normalized and encoded twice, as AWS expects."""
    runtime = gateway.client("bedrock-runtime", parameter_validation=False)
    with raises_code("ValidationException", "UnknownOperationException", "ResourceNotFoundException") as info:
        runtime.converse(modelId=model, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


@pytest.mark.parametrize(
    "path",
    [
        f"/model/{ECHO}%2F..%2F..%2Fx/converse",
        f"/model/..%2F{ECHO}/converse",
        "/model/%2E%2E/converse",
        f"/model/{ECHO}%252F..%252Fx/converse",
        f"/model/{ECHO}%00/converse",
        f"/model/{ECHO}%5C..%5Cx/converse",
        f"/model/{ECHO}/converse/..%2F..%2Finvoke",
        f"/model/{ECHO}/../{ECHO}/converse/extra",
        f"/model/{ECHO}/converse%3Fx=1",
        f"/model/{ECHO}%ZZ/converse",
        f"/model/{ECHO}%/converse",
        "/model//converse",
        "/model/%20/converse",
    ],
)
def test_path_tricks_raw(gateway, path):
    resp = bedrock(gateway, path, json.dumps(message()).encode())
    assert_error(resp, ("ValidationException", "UnknownOperationException", "ResourceNotFoundException", "InvalidSignatureException"))
    assert resp.code != "InvalidSignatureException" or "%ZZ" in path or path.endswith("%/converse"), (
        f"botocore's signature of {path} was not accepted: {resp!r}"
    )


def test_dot_segments_are_normalized_like_the_signature(gateway):
    """botocore signs `/model/../model/ID/converse` as its normalized form;
    the gateway must read it the same way (answer, or refuse by route),
    never a signature error or a 500."""
    resp = bedrock(gateway, f"/model/x/../{ECHO}/converse", json.dumps(message("dots")).encode())
    assert resp.status < 500, resp
    if resp.status == 200:
        assert json.loads(resp.body)["output"]["message"]["content"][0]["text"] == "You said: dots"
    else:
        assert resp.code in ("UnknownOperationException", "ValidationException", "ResourceNotFoundException"), resp


# -- headers ------------------------------------------------------------------


def test_missing_authentication(gateway):
    resp = bedrock(gateway, converse_path(ECHO), json.dumps(message()).encode(), sign=False)
    assert_error(resp, ("MissingAuthenticationTokenException",), 403)
    resp = sts(gateway, b"Action=GetCallerIdentity&Version=2011-06-15", sign=False)
    assert_error(resp, ("MissingAuthenticationToken",), 403)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 Credential=AKIA/20200101/us-east-1/bedrock, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA512 Credential=x, SignedHeaders=host, Signature=00",
        "Bearer abc.def.ghi",
        "AWS4-HMAC-SHA256 " + "Credential=" + "A" * 20000,
    ],
    ids=lambda a: a[:40],
)
@pytest.mark.parametrize("service", ["bedrock-runtime", "sts"])
def test_malformed_authorization(gateway, authorization, service):
    # AWS's JSON and rest-json services say IncompleteSignatureException,
    # the Query services IncompleteSignature.
    if service == "sts":
        resp = sts(gateway, b"Action=GetCallerIdentity&Version=2011-06-15", after_signing={"Authorization": authorization})
        assert_error(resp, ("IncompleteSignature",), (400, 403))
    else:
        resp = bedrock(
            gateway, converse_path(ECHO), json.dumps(message()).encode(), after_signing={"Authorization": authorization}
        )
        assert_error(resp, ("IncompleteSignatureException",), (400, 403))


def test_repeated_signing_header(gateway):
    body = json.dumps(message()).encode()
    resp = bedrock(gateway, converse_path(ECHO), body, after_signing={"X-Amz-Date": ["20200101T000000Z", "20200101T000000Z"]})
    assert_error(resp, ("IncompleteSignatureException", "InvalidSignatureException"), (400, 403))


def test_signed_parts_changed_in_transit(gateway):
    body = json.dumps(message()).encode()
    # The signed Host is not the one sent.
    resp = bedrock(gateway, converse_path(ECHO), body, after_signing={"Host": "evil.example"})
    assert_error(resp, ("InvalidSignatureException",), 403)
    # A body other than the signed one.
    resp = gateway.raw(
        "POST", converse_path(ECHO), service="bedrock", protocol="rest-json",
        body=json.dumps(message("changed")).encode(),
        headers={"Content-Type": "application/json", "X-Amz-Content-Sha256": "0" * 64},
    )
    assert_error(resp, ("InvalidSignatureException",), 403)


def test_security_token_on_a_long_term_key(gateway):
    resp = bedrock(gateway, converse_path(ECHO), json.dumps(message()).encode(), headers={"Content-Type": "application/json", "X-Amz-Security-Token": "garbage-token"})
    assert_error(resp, ("UnrecognizedClientException",), 403)


def test_header_values_that_are_not_text(gateway):
    resp = bedrock(gateway, converse_path(ECHO), json.dumps(message()).encode(), after_signing={"X-Custom": "caf\xe9 \xff"})
    assert resp.status < 500, resp
    assert resp.status == 400 and resp.code == "ValidationException", resp


def test_oversized_headers(gateway):
    body = json.dumps(message()).encode()
    for extra in ({"X-Pad": "p" * 40_000}, {f"X-Pad-{i}": "p" * 10 for i in range(300)}):
        try:
            resp = bedrock(gateway, converse_path(ECHO), body, after_signing=extra)
        except (ConnectionError, http.client.HTTPException, ssl.SSLError):
            continue  # closed without an answer: refused, and no 500
        assert resp.status in (400, 431), resp


def test_forwarded_for_is_not_believed_from_an_untrusted_peer(gateway, world):
    """aws:SourceIp comes from the peer; an X-Forwarded-For from a client
    that is no trusted proxy changes nothing."""
    iam = gateway.client("iam")
    doc = lambda cidr: json.dumps(  # noqa: E731
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "bedrock:InvokeModel",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": cidr}},
                }
            ],
        }
    )
    import seed_world

    for name, cidr in (("FromDocNet", "203.0.113.0/24"), ("FromLoopback", "127.0.0.0/8")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=seed_world.trust_account())
        iam.put_role_policy(RoleName=name, PolicyName="SourceIp", PolicyDocument=doc(cidr))
    account = harness.ACCOUNT
    doc_net = gateway.assume(f"arn:aws:iam::{account}:role/FromDocNet", "compat-xff")
    loopback = gateway.assume(f"arn:aws:iam::{account}:role/FromLoopback", "compat-xff")
    body = json.dumps(message()).encode()
    ok = bedrock(gateway, converse_path(ECHO), body, creds=loopback)
    assert ok.status == 200, ok
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        value = "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"
        resp = bedrock(gateway, converse_path(ECHO), body, creds=doc_net, headers={"Content-Type": "application/json", header: value})
        assert_error(resp, ("AccessDeniedException",), 403)
