"""7. Refusals with the exception AWS raises: a wrong signature, an unknown
key, a request signed 6 minutes ago (or ahead), a tampered session token,
an untrusted role, a missing MFA (and then MFA from a virtual device with
TOTP codes computed here).

An *expired* session token cannot be produced here honestly: the shortest
session AWS (and Sekisho) issues lasts 900 s, and the gateway's clock is
its own. The Rust integration suite covers it."""

from __future__ import annotations

import datetime
from unittest import mock

import botocore.compat
import pytest

import harness
import seed_world
from harness import ACCOUNT, ECHO, Creds, raises_code


def say(client, model=ECHO):
    return client.converse(
        modelId=model, messages=[{"role": "user", "content": [{"text": harness.prompt("authenticate me")}]}]
    )


def corrupt(secret: str) -> str:
    i = len(secret) // 2
    return secret[:i] + ("A" if secret[i] != "A" else "B") + secret[i + 1 :]


# -- signatures ---------------------------------------------------------------


def test_wrong_secret_is_a_signature_mismatch(gateway):
    wrong = Creds(gateway.admin.access_key, corrupt(gateway.admin.secret_key))
    with raises_code("SignatureDoesNotMatch", status=403):
        gateway.client("sts", wrong).get_caller_identity()
    with raises_code("SignatureDoesNotMatch", status=403):
        gateway.client("iam", wrong).list_users()
    with raises_code("InvalidSignatureException", status=403):
        say(gateway.client("bedrock-runtime", wrong))


def test_unknown_access_key(gateway):
    unknown = Creds("AKIA" + "Q" * 16, gateway.admin.secret_key)
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", unknown).get_caller_identity()
    with raises_code("UnrecognizedClientException", status=403):
        say(gateway.client("bedrock-runtime", unknown))


def shifted_clock(minutes: float):
    real = botocore.compat.get_current_datetime

    def now(remove_tzinfo=True):
        return real(remove_tzinfo) + datetime.timedelta(minutes=minutes)

    return mock.patch("botocore.auth.get_current_datetime", now)


@pytest.mark.parametrize("minutes", [-6, 6])
def test_query_request_signed_six_minutes_off_is_refused(gateway, minutes):
    # STS and IAM say SignatureDoesNotMatch ("Signature expired: ..." or
    # "Signature not yet current: ...").
    sts = gateway.client("sts")
    iam = gateway.client("iam")
    with shifted_clock(minutes):
        with raises_code("SignatureDoesNotMatch", status=403) as info:
            sts.get_caller_identity()
        assert "Signature" in info.value.response["Error"]["Message"]
        with raises_code("SignatureDoesNotMatch", status=403):
            iam.list_users()


@pytest.mark.parametrize("minutes", [-6, 6])
def test_bedrock_request_signed_six_minutes_off_is_refused(gateway, minutes):
    runtime = gateway.client("bedrock-runtime")
    with shifted_clock(minutes):
        with raises_code("InvalidSignatureException", status=403) as info:
            say(runtime)
    message = info.value.response["Error"]["Message"].lower()
    assert "expired" in message or "not yet current" in message, message


def test_request_signed_four_minutes_ago_is_accepted(gateway):
    with shifted_clock(-4):
        assert gateway.client("sts").get_caller_identity()["Arn"].endswith(":user/admin")
        assert say(gateway.client("bedrock-runtime"))["stopReason"] == "end_turn"


# -- presigned URLs (SigV4 in the query) ---------------------------------------


def fetch(gateway, url: str) -> harness.RawResponse:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    return harness.send_raw(parts.netloc, gateway.ca, "GET", target, {"Host": parts.netloc}, b"", "query")


def test_presigned_get_caller_identity(gateway, world):
    """A presigned URL as botocore makes it (used by EKS and Vault style
    IAM authentication): for every service but S3 the payload hash is that
    of the (empty) body, not UNSIGNED-PAYLOAD. The method is signed, so the
    URL is presigned for the GET that fetches it."""
    sts = gateway.client("sts", world.users["alice"])
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    resp = fetch(gateway, url)
    assert resp.status == 200, resp
    assert f"arn:aws:iam::{ACCOUNT}:user/alice".encode() in resp.body


def test_presigned_url_tampered_or_stale(gateway, world):
    sts = gateway.client("sts", world.users["alice"])
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    tampered = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1 :]
    bad = fetch(gateway, tampered)
    assert bad.status == 403 and bad.code == "SignatureDoesNotMatch", bad
    with shifted_clock(-10):
        stale = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    old = fetch(gateway, stale)
    # (What AWS calls an expired presigned STS URL is not settled here: any
    # of its refusal codes will do, a 403 it must be.)
    assert old.status == 403 and old.code in ("SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "RequestExpired"), old


# -- session tokens -----------------------------------------------------------


@pytest.fixture(scope="module")
def session(gateway, world):
    return gateway.assume(world.roles["BedrockRole"], "compat-tokens")


def test_tampered_session_token(gateway, session):
    token = session.token
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    bad = Creds(session.access_key, session.secret_key, tampered)
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", bad).get_caller_identity()
    with raises_code("UnrecognizedClientException", status=403):
        say(gateway.client("bedrock-runtime", bad))
    # Cut short, or missing: the same.
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", Creds(session.access_key, session.secret_key, token[:-8])).get_caller_identity()
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", Creds(session.access_key, session.secret_key)).get_caller_identity()
    # The untouched token still works.
    assert say(gateway.client("bedrock-runtime", session))["stopReason"] == "end_turn"


def test_session_token_of_another_session(gateway, world, session):
    other = gateway.assume(world.roles["BedrockRole"], "compat-tokens-2")
    mixed = Creds(session.access_key, session.secret_key, other.token)
    with raises_code("UnrecognizedClientException", "InvalidSignatureException", status=403):
        say(gateway.client("bedrock-runtime", mixed))


def test_wrong_session_secret(gateway, session):
    bad = Creds(session.access_key, corrupt(session.secret_key), session.token)
    with raises_code("InvalidSignatureException", status=403):
        say(gateway.client("bedrock-runtime", bad))


# -- trust --------------------------------------------------------------------


def test_untrusted_role_is_refused(gateway, world):
    sts = gateway.client("sts")
    # The agent role trusts the Bedrock service only: even the
    # administrator may not assume it.
    with raises_code("AccessDenied", status=403) as info:
        sts.assume_role(RoleArn=world.roles[seed_world.AGENT_ROLE], RoleSessionName="compat-deputy")
    assert "sts:AssumeRole" in info.value.response["Error"]["Message"]
    # A user the role trusts (the account) whose own policies do not allow it.
    with raises_code("AccessDenied", status=403):
        gateway.client("sts", world.users["bob"]).assume_role(
            RoleArn=world.roles["BedrockRole"], RoleSessionName="compat-bob"
        )
    # A role that does not exist.
    with raises_code("AccessDenied", status=403):
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/NoSuchRole", RoleSessionName="compat-none")


def test_role_session_name_is_validated(gateway, world):
    with raises_code("ValidationError", status=400):
        gateway.client("sts").assume_role(RoleArn=world.roles["BedrockRole"], RoleSessionName="bad name!")


# -- MFA ----------------------------------------------------------------------


def enable_virtual_mfa(gateway, user: str) -> tuple[str, str]:
    """CreateVirtualMFADevice + EnableMFADevice with two consecutive codes;
    returns (serial, base32 seed)."""
    iam = gateway.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user}-device")["VirtualMFADevice"]
    serial = device["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/{user}-device"
    # A blob: botocore has already undone the base64 of the wire.
    seed = device["Base32StringSeed"].decode("ascii")
    harness.SECRETS.add(seed, f"MFA seed of {user}")
    assert len(seed) >= 26 and seed.rstrip("=").isalnum()
    now = harness.totp_now()
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1=harness.totp(seed, now - 30),
        AuthenticationCode2=harness.totp(seed, now),
    )
    listed = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [serial]
    return serial, seed


def test_role_requiring_mfa(gateway, world):
    user = world.users["mfa-user"]
    sts = gateway.client("sts", user)
    role = world.roles["MfaRole"]
    with raises_code("AccessDenied", status=403):
        sts.assume_role(RoleArn=role, RoleSessionName="compat-no-mfa")

    serial, seed = enable_virtual_mfa(gateway, "mfa-user")
    # Still refused without a code; a wrong code is refused too.
    with raises_code("AccessDenied", status=403):
        sts.assume_role(RoleArn=role, RoleSessionName="compat-no-mfa")
    now = harness.totp_now()
    wrong = f"{(int(harness.totp(seed, now)) + 500_000) % 1_000_000:06d}"
    with raises_code("AccessDenied", status=403):
        sts.assume_role(RoleArn=role, RoleSessionName="compat-bad-mfa", SerialNumber=serial, TokenCode=wrong)
    # A fresh code (the next step: the two codes above were used to enable).
    code = harness.totp(seed, harness.totp_now() + 30)
    resp = sts.assume_role(RoleArn=role, RoleSessionName="compat-mfa", SerialNumber=serial, TokenCode=code)
    creds = harness.creds_of(resp["Credentials"], "MfaRole session")
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/MfaRole/compat-mfa"
    assert say(gateway.client("bedrock-runtime", creds))["stopReason"] == "end_turn"


def test_mfa_session_from_get_session_token(gateway, world):
    user = world.users["mfa-session-user"]
    role = world.roles["MfaRole"]
    plain = harness.creds_of(
        gateway.client("sts", user).get_session_token(DurationSeconds=900)["Credentials"], "plain session"
    )
    with raises_code("AccessDenied", status=403):
        gateway.client("sts", plain).assume_role(RoleArn=role, RoleSessionName="compat-plain")

    serial, seed = enable_virtual_mfa(gateway, "mfa-session-user")
    resp = gateway.client("sts", user).get_session_token(
        DurationSeconds=900, SerialNumber=serial, TokenCode=harness.totp(seed, harness.totp_now() + 30)
    )
    with_mfa = harness.creds_of(resp["Credentials"], "MFA session")
    assumed = gateway.client("sts", with_mfa).assume_role(RoleArn=role, RoleSessionName="compat-mfa-session")
    harness.creds_of(assumed["Credentials"], "MfaRole session via GetSessionToken")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/MfaRole/compat-mfa-session")
