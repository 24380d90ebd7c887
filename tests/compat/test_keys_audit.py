"""10. Keys, audit trail and model invocation logging with boto3's `kms`,
`cloudtrail`, `logs` and `bedrock` clients: the seed's calls as written
(and where the seed is wrong, what boto3 says of it), key policies that
refuse, rotation, tamper-evident ciphertexts, invocation records with and
without text, and who/when/what through LookupEvents."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from botocore.exceptions import ClientError, ParamValidationError

import harness
from harness import ACCOUNT, ECHO, SECRETS, prompt, raises_code

GROUP = "/aws/bedrock/model-invocations"


@pytest.fixture(scope="module")
def kms(gateway):
    return gateway.client("kms")


@pytest.fixture(scope="module")
def seed_key(kms):
    """The seed's key creation and key policy, as written."""
    response = kms.create_key(
        Description="Bedrockカスタムモデル暗号化キー",
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Tags=[{"TagKey": "Purpose", "TagValue": "Bedrock"}],
    )
    key_id = response["KeyMetadata"]["KeyId"]
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM policies",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow Bedrock",
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy))
    return key_id


def test_seed_key_is_created_with_its_policy(kms, seed_key):
    meta = kms.describe_key(KeyId=seed_key)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT" and meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{seed_key}"
    assert meta["Description"] == "Bedrockカスタムモデル暗号化キー"
    policy = json.loads(kms.get_key_policy(KeyId=seed_key, PolicyName="default")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["Enable IAM policies", "Allow Bedrock"]
    tags = kms.list_resource_tags(KeyId=seed_key)["Tags"]
    assert tags == [{"TagKey": "Purpose", "TagValue": "Bedrock"}]
    assert any(k["KeyId"] == seed_key for k in kms.list_keys()["Keys"])


def test_encrypt_decrypt_with_context_and_tampering(kms, seed_key):
    secret = b"model weights key " + os.urandom(8).hex().encode()
    SECRETS.add(base64.b64encode(secret), "KMS plaintext (base64)")
    ctx = {"purpose": "bedrock-custom-model", "team": "platform"}
    blob = kms.encrypt(KeyId=seed_key, Plaintext=secret, EncryptionContext=ctx)["CiphertextBlob"]
    assert secret not in blob
    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    assert out["Plaintext"] == secret
    assert out["KeyId"].endswith(seed_key)
    # A different or missing context, or any changed byte: refused.
    with raises_code("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other", "team": "platform"})
    with raises_code("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=blob)
    for position in (0, len(blob) // 2, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with raises_code("InvalidCiphertextException", "NotFoundException"):
            kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
    with raises_code("InvalidCiphertextException", "NotFoundException"):
        kms.decrypt(CiphertextBlob=blob[:-3], EncryptionContext=ctx)


def test_data_keys_for_envelope_encryption(kms, seed_key):
    out = kms.generate_data_key(KeyId=seed_key, KeySpec="AES_256", EncryptionContext={"bucket": "kb"})
    assert len(out["Plaintext"]) == 32
    SECRETS.add(base64.b64encode(out["Plaintext"]), "data key (base64)")
    SECRETS.add(out["Plaintext"].hex(), "data key (hex)")
    again = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"bucket": "kb"})
    assert again["Plaintext"] == out["Plaintext"]
    bare = kms.generate_data_key_without_plaintext(KeyId=seed_key, NumberOfBytes=64)
    assert "Plaintext" not in bare and bare["CiphertextBlob"]
    with raises_code("ValidationException"):
        kms.generate_data_key(KeyId=seed_key, KeySpec="AES_256", NumberOfBytes=32)


def test_aliases_name_keys(kms, seed_key):
    kms.create_alias(AliasName="alias/bedrock-custom", TargetKeyId=seed_key)
    blob = kms.encrypt(KeyId="alias/bedrock-custom", Plaintext=b"via alias")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"via alias"
    names = [a["AliasName"] for a in kms.list_aliases(KeyId=seed_key)["Aliases"]]
    assert names == ["alias/bedrock-custom"]
    with raises_code("AlreadyExistsException"):
        kms.create_alias(AliasName="alias/bedrock-custom", TargetKeyId=seed_key)
    with raises_code("NotFoundException", "InvalidAliasNameException", "ValidationException"):
        kms.create_alias(AliasName="alias/aws/reserved", TargetKeyId=seed_key)


def test_rotation_keeps_old_ciphertexts_readable(kms):
    key = kms.create_key(Description="rotation")["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before rotation")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=365)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    kms.rotate_key_on_demand(KeyId=key)
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    new = kms.encrypt(KeyId=key, Plaintext=b"after rotation")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after rotation"


def test_disable_and_scheduled_deletion(kms):
    key = kms.create_key(Description="lifecycle")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    with raises_code("DisabledException"):
        kms.encrypt(KeyId=key, Plaintext=b"y")
    with raises_code("DisabledException"):
        kms.decrypt(CiphertextBlob=blob)
    kms.enable_key(KeyId=key)
    with raises_code("ValidationException"):
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=3)
    out = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    with raises_code("KMSInvalidStateException"):
        kms.decrypt(CiphertextBlob=blob)
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


def test_a_key_policy_that_does_not_grant_refuses(gateway, kms, world):
    """A key whose policy grants only the admin user: an IAM user with
    AdministratorAccess is still refused (the key policy does not hand
    access to IAM), and a policy that would lock its writer out is refused."""
    admin_arn = f"arn:aws:iam::{ACCOUNT}:user/admin"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AdminOnly", "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    key = kms.create_key(Description="admin only", Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    iam = gateway.client("iam")
    iam.create_user(UserName="kms-outsider")
    iam.attach_user_policy(UserName="kms-outsider", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    outsider = harness.access_key_creds(iam.create_access_key(UserName="kms-outsider"), "kms-outsider")
    other = gateway.client("kms", outsider)
    with raises_code("AccessDeniedException"):
        other.encrypt(KeyId=key, Plaintext=b"no")
    with raises_code("AccessDeniedException"):
        other.describe_key(KeyId=key)
    # The outsider can use a key whose policy enables IAM policies.
    own = kms.create_key(Description="default policy")["KeyMetadata"]["KeyId"]
    assert other.encrypt(KeyId=own, Plaintext=b"yes")["KeyId"].endswith(own)
    lockout = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/kms-outsider"}, "Action": "kms:Decrypt", "Resource": "*"}
        ],
    }
    with raises_code("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(lockout))
    with raises_code("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy='{"Version": "2012-10-17", "Statement": [')


def test_seed_cloudtrail_event_selectors(gateway, seed_key):
    cloudtrail = gateway.client("cloudtrail")
    created = cloudtrail.create_trail(
        Name="my-trail", S3BucketName="audit-logs-bucket", KmsKeyId=seed_key, EnableLogFileValidation=True
    )
    assert created["TrailARN"] == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/my-trail"
    # The seed's call, as written.
    response = cloudtrail.put_event_selectors(
        TrailName="my-trail",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::Bedrock::Guardrail", "Values": ["arn:aws:bedrock:*:*:guardrail/*"]}],
            }
        ],
    )
    assert response["EventSelectors"][0]["DataResources"][0]["Type"] == "AWS::Bedrock::Guardrail"
    got = cloudtrail.get_event_selectors(TrailName="my-trail")
    assert got["EventSelectors"] == response["EventSelectors"]
    assert cloudtrail.get_trail_status(Name="my-trail")["IsLogging"] is False
    cloudtrail.start_logging(Name="my-trail")
    assert cloudtrail.get_trail_status(Name="my-trail")["IsLogging"] is True
    trails = cloudtrail.describe_trails()["trailList"]
    assert [t["Name"] for t in trails] == ["my-trail"] and trails[0]["LogFileValidationEnabled"] is True
    with raises_code("TrailAlreadyExistsException"):
        cloudtrail.create_trail(Name="my-trail", S3BucketName="audit-logs-bucket")
    with raises_code("InvalidEventSelectorsException"):
        cloudtrail.put_event_selectors(
            TrailName="my-trail", EventSelectors=[{"ReadWriteType": "All", "DataResources": [{"Type": "AWS::Nope::Thing", "Values": ["x"]}]}]
        )
    with raises_code("TrailNotFoundException"):
        cloudtrail.get_trail_status(Name="no-such-trail")


def test_seed_log_group_and_invocation_logging(gateway, seed_key):
    logs = gateway.client("logs")
    # The seed's calls, as written.
    logs.create_log_group(logGroupName=GROUP, kmsKeyId=seed_key, tags={"Purpose": "Bedrock監査ログ"})
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/bedrock")["logGroups"]
    assert len(groups) == 1
    assert groups[0]["retentionInDays"] == 365 and groups[0]["kmsKeyId"] == seed_key
    with raises_code("ResourceAlreadyExistsException"):
        logs.create_log_group(logGroupName=GROUP)
    with raises_code("InvalidParameterException"):
        logs.put_retention_policy(logGroupName=GROUP, retentionInDays=366)

    bedrock = gateway.client("bedrock")
    # The seed's put_model_invocation_logging_configuration, as written:
    # its largeDataDeliveryS3Config names s3BucketName / s3KeyPrefix, which
    # botocore's model does not have, so boto3 refuses it before sending.
    seed_config = {
        "cloudWatchConfig": {
            "logGroupName": GROUP,
            "roleArn": "arn:aws:iam::123456789012:role/BedrockLoggingRole",
            "largeDataDeliveryS3Config": {"s3BucketName": "bedrock-logs-bucket", "s3KeyPrefix": "large-data/"},
        },
        "s3Config": {"bucketName": "bedrock-logs-bucket", "keyPrefix": "invocation-logs/"},
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": False,
    }
    with pytest.raises(ParamValidationError, match="s3BucketName"):
        bedrock.put_model_invocation_logging_configuration(loggingConfig=seed_config)
    # botocore cannot even serialize it; sent by hand, the gateway names
    # the missing member.
    raw = gateway.raw(
        "PUT",
        "/logging/modelinvocations",
        service="bedrock",
        protocol="rest-json",
        body=json.dumps({"loggingConfig": seed_config}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert raw.status == 400 and raw.code == "ValidationException", raw
    assert "largeDataDeliveryS3Config.bucketName" in raw.error["Message"]
    # With botocore's member names, as the seed meant it.
    fixed = json.loads(json.dumps(seed_config))
    fixed["cloudWatchConfig"]["largeDataDeliveryS3Config"] = {"bucketName": "bedrock-logs-bucket", "keyPrefix": "large-data/"}
    bedrock.put_model_invocation_logging_configuration(loggingConfig=fixed)
    got = bedrock.get_model_invocation_logging_configuration()["loggingConfig"]
    assert got["cloudWatchConfig"]["logGroupName"] == GROUP and got["textDataDeliveryEnabled"] is True

    # A converse call appears in the log group with prompt and completion.
    runtime = gateway.client("bedrock-runtime")
    asked = prompt("invocation logging check")
    answer = runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": asked}]}])
    request_id = answer["ResponseMetadata"]["RequestId"]
    completion = answer["output"]["message"]["content"][0]["text"]
    records = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=GROUP)["events"]]
    mine = [r for r in records if r["requestId"] == request_id]
    assert len(mine) == 1, records
    record = mine[0]
    assert record["schemaType"] == "ModelInvocationLog" and record["operation"] == "Converse"
    assert record["modelId"] == ECHO and record["identity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert asked in json.dumps(record["input"], ensure_ascii=False)
    assert completion in json.dumps(record["output"], ensure_ascii=False)
    assert record["input"]["inputTokenCount"] > 0 and record["output"]["outputTokenCount"] > 0
    streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["aws/bedrock/modelinvocations"]
    got_events = logs.get_log_events(logGroupName=GROUP, logStreamName="aws/bedrock/modelinvocations", startFromHead=True)["events"]
    assert any(request_id in e["message"] for e in got_events)

    # A streamed call is logged when its stream ends.
    streamed = prompt("streamed invocation")
    out = runtime.converse_stream(modelId=ECHO, messages=[{"role": "user", "content": [{"text": streamed}]}])
    stream_id = out["ResponseMetadata"]["RequestId"]
    for _ in out["stream"]:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=GROUP, filterPattern=f'"{stream_id}"')["events"]
        if events:
            break
        time.sleep(0.1)
    assert events and streamed in events[0]["message"]

    # With text delivery off, the prompt is absent from the record.
    fixed["textDataDeliveryEnabled"] = False
    bedrock.put_model_invocation_logging_configuration(loggingConfig=fixed)
    hidden = prompt("text delivery off")
    quiet = runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": hidden}]}])
    quiet_id = quiet["ResponseMetadata"]["RequestId"]
    records = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=GROUP)["events"]]
    quiet_record = [r for r in records if r["requestId"] == quiet_id]
    assert len(quiet_record) == 1
    text = json.dumps(quiet_record[0], ensure_ascii=False)
    assert hidden not in text and quiet_record[0]["input"]["inputTokenCount"] > 0

    # Off again: no record at all.
    bedrock.delete_model_invocation_logging_configuration()
    assert "loggingConfig" not in bedrock.get_model_invocation_logging_configuration()
    after = runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": prompt("logging off")}]}])
    after_id = after["ResponseMetadata"]["RequestId"]
    assert not any(after_id in e["message"] for e in logs.filter_log_events(logGroupName=GROUP)["events"])


def test_lookup_events_answers_who_when_what(gateway):
    runtime = gateway.client("bedrock-runtime")
    before = time.time() - 1
    answer = runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": prompt("who when what")}]}])
    request_id = answer["ResponseMetadata"]["RequestId"]
    cloudtrail = gateway.client("cloudtrail")
    events = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Converse"}],
        StartTime=before,
        MaxResults=50,
    )["Events"]
    mine = [e for e in events if json.loads(e["CloudTrailEvent"])["requestID"] == request_id]
    assert len(mine) == 1, [e["EventId"] for e in events]
    event = mine[0]
    assert event["Username"] == "admin" and event["EventSource"] == "bedrock.amazonaws.com"
    record = json.loads(event["CloudTrailEvent"])
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["accessKeyId"] == gateway.admin.access_key
    assert record["requestParameters"] == {"modelId": ECHO}
    assert record["responseElements"] is None
    assert record["eventCategory"] == "Data" and record["managementEvent"] is False
    assert record["resources"][0]["type"] == "AWS::Bedrock::Model"
    assert record["tlsDetails"]["tlsVersion"].startswith("TLSv1.")
    # The prompt is nowhere in the record.
    assert "who when what" not in event["CloudTrailEvent"]
    by_user = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "admin"}], MaxResults=5)
    assert by_user["Events"] and all(e["Username"] == "admin" for e in by_user["Events"])
    # Refusals are recorded too, with their error code.
    with raises_code("AccessDeniedException"):
        gateway.client("bedrock-runtime", region="ap-northeast-1").converse(
            modelId=ECHO, messages=[{"role": "user", "content": [{"text": "x"}]}]
        )
    denied = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Converse"}], MaxResults=5
    )["Events"]
    assert json.loads(denied[0]["CloudTrailEvent"])["errorCode"] == "AccessDeniedException"
    with raises_code("InvalidLookupAttributesException", "ValidationException"):
        cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "Nope", "AttributeValue": "x"}])


def test_failed_authentication_is_recorded(gateway):
    bad = harness.Creds(gateway.admin.access_key, "wrong-secret-" + "x" * 27)
    with raises_code("InvalidSignatureException", "SignatureDoesNotMatch"):
        gateway.client("kms", bad).list_keys()
    cloudtrail = gateway.client("cloudtrail")
    events = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": gateway.admin.access_key}], MaxResults=20
    )["Events"]
    failed = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert any(r.get("errorCode") == "InvalidSignatureException" and r["eventSource"] == "kms.amazonaws.com" for r in failed)
