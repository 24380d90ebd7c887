"""11b. Account-level enforced guardrails (PutEnforcedGuardrailConfiguration,
ListEnforcedGuardrailsConfiguration, DeleteEnforcedGuardrailConfiguration)
with boto3's `bedrock` client: once put, every model call of the region
(Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream) is
guarded without naming a guardrail; a deleted guardrail under enforcement
refuses the calls; the configuration survives a restart; deleting it lets
calls pass again. Runs on a gateway of its own, so the enforcement never
reaches the other tests' calls."""

from __future__ import annotations

import json

import pytest

import harness
from harness import ACCOUNT, ECHO, prompt, raises_code

BLOCKED_IN = "Blocked by the account's guardrail."
BLOCKED_OUT = "The answer was blocked by the account's guardrail."
WORD = "project bluebird"


def guardrail_config(name: str) -> dict:
    return {
        "name": name,
        "wordPolicyConfig": {"wordsConfig": [{"text": WORD}]},
        "sensitiveInformationPolicyConfig": {
            "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}],
        },
        "blockedInputMessaging": BLOCKED_IN,
        "blockedOutputsMessaging": BLOCKED_OUT,
    }


@pytest.fixture
def own(tmp_path):
    port = harness.free_port()
    text = f"""\
data_dir = {harness.toml_str(str(tmp_path / "data"))}
account_id = "{ACCOUNT}"
regions = ["us-east-1"]

[[listener]]
bind = "127.0.0.1:{port}"
"""
    gw = harness.Gateway(tmp_path, [port], text).start()
    yield gw, (tmp_path, [port], text)
    gw.stop()


def converse(runtime, text: str) -> dict:
    return runtime.converse(modelId=ECHO, messages=[{"role": "user", "content": [{"text": text}]}])


def invoke_body(text: str) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                       "messages": [{"role": "user", "content": text}]})


def test_enforced_guardrail_applies_to_every_model_call(own):
    gw, (tmp_path, ports, text) = own
    bedrock, runtime = gw.client("bedrock"), gw.client("bedrock-runtime")
    assert bedrock.list_enforced_guardrails_configuration()["guardrailsConfig"] == []
    # Not enforced yet: the word passes.
    assert WORD in converse(runtime, prompt(f"about {WORD}"))["output"]["message"]["content"][0]["text"]

    created = bedrock.create_guardrail(**guardrail_config("compat-enforced"))
    gid = created["guardrailId"]
    bedrock.create_guardrail_version(guardrailIdentifier=gid)
    put = bedrock.put_enforced_guardrail_configuration(
        guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
    )
    config_id = put["configId"]
    assert put["updatedBy"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    listed = bedrock.list_enforced_guardrails_configuration()["guardrailsConfig"]
    assert len(listed) == 1
    assert listed[0]["configId"] == config_id
    assert listed[0]["guardrailId"] == gid
    assert listed[0]["guardrailArn"] == created["guardrailArn"]
    assert listed[0]["guardrailVersion"] == "1"
    assert listed[0]["owner"] == "ACCOUNT"
    # A management event in the audit trail.
    events = gw.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutEnforcedGuardrailConfiguration"}],
    )["Events"]
    mine = [json.loads(e["CloudTrailEvent"]) for e in events]
    mine = [e for e in mine if e["requestID"] == put["ResponseMetadata"]["RequestId"]]
    assert len(mine) == 1 and mine[0]["eventCategory"] == "Management"
    assert mine[0]["eventSource"] == "bedrock.amazonaws.com"

    # Converse without guardrailConfig: input blocked before the model.
    blocked = converse(runtime, prompt(f"tell me about {WORD}"))
    assert blocked["stopReason"] == "guardrail_intervened"
    assert blocked["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    assert blocked["usage"]["outputTokens"] == 0
    # Masked before the model.
    masked = converse(runtime, prompt("write to taro@example.com"))["output"]["message"]["content"][0]["text"]
    assert "{EMAIL}" in masked and "taro@example.com" not in masked
    # ConverseStream.
    stream = runtime.converse_stream(
        modelId=ECHO, messages=[{"role": "user", "content": [{"text": prompt(f"on {WORD}")}]}],
    )
    out, stop = "", None
    for event in stream["stream"]:
        if "contentBlockDelta" in event:
            out += event["contentBlockDelta"]["delta"]["text"]
        if "messageStop" in event:
            stop = event["messageStop"]["stopReason"]
    assert out == BLOCKED_IN and stop == "guardrail_intervened"
    # InvokeModel and its stream, without the guardrail headers.
    resp = json.loads(runtime.invoke_model(modelId=ECHO, body=invoke_body(prompt(f"on {WORD}")))["body"].read())
    assert resp["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert resp["content"][0]["text"] == BLOCKED_IN
    streamed = ""
    for event in runtime.invoke_model_with_response_stream(modelId=ECHO, body=invoke_body(prompt(f"on {WORD}")))["body"]:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk.get("type") == "content_block_delta":
            streamed += chunk["delta"]["text"]
    assert streamed == BLOCKED_IN
    # guardContent tags do not steer the account's guardrail away
    # (COMPREHENSIVE by default): the plain text is checked too.
    tagged = runtime.converse(
        modelId=ECHO, messages=[{"role": "user", "content": [
            {"text": prompt(f"on {WORD}")}, {"guardContent": {"text": {"text": "hello"}}},
        ]}],
    )
    assert tagged["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    # A call naming the same guardrail is guarded by it.
    same = runtime.converse(
        modelId=ECHO, messages=[{"role": "user", "content": [{"text": prompt(f"on {WORD}")}]}],
        guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
    )
    assert same["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    # A call naming another guardrail gets both: a block by either blocks,
    # with the messaging of the one that blocked.
    other = bedrock.create_guardrail(
        name="compat-named",
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCK"}]},
        blockedInputMessaging="named in", blockedOutputsMessaging="named out",
    )["guardrailId"]
    named = {"guardrailIdentifier": other, "guardrailVersion": "DRAFT"}

    def named_converse(text: str) -> dict:
        return runtime.converse(
            modelId=ECHO, messages=[{"role": "user", "content": [{"text": text}]}], guardrailConfig=named,
        )

    assert named_converse(prompt(f"on {WORD}"))["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    assert named_converse(prompt("card 4111 1111 1111 1111"))["output"]["message"]["content"] == [{"text": "named in"}]
    both = named_converse(prompt("mail jiro@example.com"))["output"]["message"]["content"][0]["text"]
    assert both.startswith("You said: ") and "{EMAIL}" in both and "jiro@example.com" not in both
    resp = json.loads(runtime.invoke_model(
        modelId=ECHO, body=invoke_body(prompt(f"on {WORD}")), guardrailIdentifier=other, guardrailVersion="DRAFT",
    )["body"].read())
    assert resp["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert resp["content"][0]["text"] == BLOCKED_IN
    resp = json.loads(runtime.invoke_model(
        modelId=ECHO, body=invoke_body(prompt("mail jiro@example.com")), guardrailIdentifier=other, guardrailVersion="DRAFT",
    )["body"].read())
    assert resp["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert "{EMAIL}" in resp["content"][0]["text"]
    stream = runtime.converse_stream(
        modelId=ECHO, messages=[{"role": "user", "content": [{"text": prompt("mail jiro@example.com")}]}],
        guardrailConfig=named,
    )
    out = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"] if "contentBlockDelta" in e)
    assert "{EMAIL}" in out and "jiro@example.com" not in out

    # A second configuration without configId conflicts; one naming an
    # unknown configId does not exist.
    with raises_code("ConflictException"):
        bedrock.put_enforced_guardrail_configuration(
            guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
        )
    with raises_code("ResourceNotFoundException"):
        bedrock.put_enforced_guardrail_configuration(
            configId="nosuchconfig",
            guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
        )

    # Survives a restart.
    gw.stop()
    gw = harness.Gateway(tmp_path, ports, text).start()
    try:
        bedrock, runtime = gw.client("bedrock"), gw.client("bedrock-runtime")
        assert [c["configId"] for c in bedrock.list_enforced_guardrails_configuration()["guardrailsConfig"]] == [config_id]
        assert converse(runtime, prompt(f"again {WORD}"))["output"]["message"]["content"] == [{"text": BLOCKED_IN}]

        # Delete the configuration: calls pass again.
        bedrock.delete_enforced_guardrail_configuration(configId=config_id)
        assert bedrock.list_enforced_guardrails_configuration()["guardrailsConfig"] == []
        assert WORD in converse(runtime, prompt(f"free {WORD}"))["output"]["message"]["content"][0]["text"]
        with raises_code("ResourceNotFoundException"):
            bedrock.delete_enforced_guardrail_configuration(configId=config_id)
    finally:
        gw.stop()


def test_enforced_guardrail_fails_closed_and_validates(own):
    gw, _ = own
    bedrock, runtime = gw.client("bedrock"), gw.client("bedrock-runtime")
    gid = bedrock.create_guardrail(**guardrail_config("compat-enforced-gone"))["guardrailId"]
    with raises_code("ResourceNotFoundException"):
        bedrock.put_enforced_guardrail_configuration(
            guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
        )
    with raises_code("ResourceNotFoundException"):
        bedrock.put_enforced_guardrail_configuration(
            guardrailInferenceConfig={"guardrailIdentifier": "zzzzzzzzzzzz", "guardrailVersion": "1"},
        )
    bedrock.create_guardrail_version(guardrailIdentifier=gid)
    with raises_code("ValidationException"):
        bedrock.put_enforced_guardrail_configuration(
            guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1",
                                      "modelEnforcement": {"includedModels": ["Not A Model"], "excludedModels": []}},
        )
    # Only one model is covered: another one is not guarded.
    config_id = bedrock.put_enforced_guardrail_configuration(
        guardrailInferenceConfig={
            "guardrailIdentifier": gid, "guardrailVersion": "1",
            "selectiveContentGuarding": {"system": "SELECTIVE", "messages": "COMPREHENSIVE"},
            "modelEnforcement": {"includedModels": ["ALL"], "excludedModels": [ECHO]},
        },
    )["configId"]
    assert WORD in converse(runtime, prompt(f"excluded {WORD}"))["output"]["message"]["content"][0]["text"]
    listed = bedrock.list_enforced_guardrails_configuration()["guardrailsConfig"][0]
    assert listed["modelEnforcement"] == {"includedModels": ["ALL"], "excludedModels": [ECHO]}
    assert listed["selectiveContentGuarding"] == {"system": "SELECTIVE", "messages": "COMPREHENSIVE"}
    # SELECTIVE messages: only the tagged block is checked on input (the
    # model is called), the echoed answer is checked in full.
    bedrock.put_enforced_guardrail_configuration(
        configId=config_id,
        guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1",
                                  "selectiveContentGuarding": {"messages": "SELECTIVE"}},
    )
    selective = runtime.converse(
        modelId=ECHO, messages=[{"role": "user", "content": [
            {"text": prompt(f"on {WORD}")}, {"guardContent": {"text": {"text": "hello"}}},
        ]}],
    )
    assert selective["output"]["message"]["content"] == [{"text": BLOCKED_OUT}]
    assert selective["usage"]["outputTokens"] > 0
    selective = runtime.converse(
        modelId=ECHO, messages=[{"role": "user", "content": [
            {"text": prompt("hi")}, {"guardContent": {"text": {"text": f"on {WORD}"}}},
        ]}],
    )
    assert selective["output"]["message"]["content"] == [{"text": BLOCKED_IN}]
    bedrock.put_enforced_guardrail_configuration(
        configId=config_id,
        guardrailInferenceConfig={"guardrailIdentifier": gid, "guardrailVersion": "1"},
    )
    # The enforced guardrail is deleted: calls are refused, not run unguarded.
    bedrock.delete_guardrail(guardrailIdentifier=gid)
    with raises_code("ResourceNotFoundException"):
        converse(runtime, prompt("hello"))
    with raises_code("ResourceNotFoundException"):
        runtime.invoke_model(modelId=ECHO, body=invoke_body(prompt("hello")))
    bedrock.delete_enforced_guardrail_configuration(configId=config_id)
    assert converse(runtime, prompt("hello"))["stopReason"] == "end_turn"
