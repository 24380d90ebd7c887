"""2. `sts.assume_role`, then with the session's credentials the five
Bedrock runtime calls, through the `echo` backend and through an
OpenAI-compatible backend (the fake model server), checking the answers."""

from __future__ import annotations

import json

import pytest

import harness
from fake_openai import answer_for, word_count
from harness import ACCOUNT, ECHO, HAIKU, HAIKU_UPSTREAM, raises_code

SYSTEM = "You are a careful assistant."
MODELS = [ECHO, HAIKU]


def expected_answer(model: str, text: str) -> str:
    if model == ECHO:
        return f"You said: {text}"
    return answer_for(HAIKU_UPSTREAM, [{"role": "user", "content": text}])


@pytest.fixture(scope="module")
def bedrock_session(gateway, world):
    resp = gateway.client("sts").assume_role(
        RoleArn=world.roles["BedrockRole"], RoleSessionName="compat-runtime", DurationSeconds=900
    )
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/BedrockRole/compat-runtime"
    creds = harness.creds_of(resp["Credentials"], "BedrockRole session")
    assert creds.access_key.startswith("ASIA")
    ident = gateway.client("sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/BedrockRole/compat-runtime"
    return creds


@pytest.fixture
def runtime(gateway, bedrock_session):
    return gateway.client("bedrock-runtime", bedrock_session)


def last_upstream_request(fake_openai):
    requests = fake_openai.requests_for(HAIKU_UPSTREAM)
    assert requests, "the fake model server got no request"
    return requests[-1]["body"]


def user_text(message) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content)
    return content


@pytest.mark.parametrize("model", MODELS)
def test_converse(runtime, fake_openai, model):
    text = harness.prompt(f"Tell me about checkpoints ({model})")
    resp = runtime.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": text}]}],
        system=[{"text": SYSTEM}],
        inferenceConfig={"maxTokens": 200, "temperature": 0.5},
    )
    assert resp["output"]["message"]["role"] == "assistant"
    assert resp["output"]["message"]["content"] == [{"text": expected_answer(model, text)}]
    assert resp["stopReason"] == "end_turn"
    usage = resp["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["outputTokens"] > 0 and usage["inputTokens"] > 0
    if model == HAIKU:
        sent = last_upstream_request(fake_openai)
        assert sent["model"] == HAIKU_UPSTREAM
        assert sent["messages"][0] == {"role": "system", "content": SYSTEM}
        assert sent["messages"][-1]["role"] == "user" and user_text(sent["messages"][-1]) == text
        assert sent["max_tokens"] == 200
        assert not sent.get("stream")
        # The upstream's own token counts are reported.
        assert usage["outputTokens"] == word_count(expected_answer(model, text))
        assert usage["inputTokens"] == word_count(SYSTEM) + word_count(text)


@pytest.mark.parametrize("model", MODELS)
def test_converse_stream(runtime, fake_openai, model):
    text = harness.prompt(f"Stream a short answer please ({model})")
    resp = runtime.converse_stream(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": 300},
    )
    kinds, deltas, stop, usage = [], [], None, None
    for event in resp["stream"]:
        (kind, body), = event.items()
        kinds.append(kind)
        if kind == "contentBlockDelta":
            deltas.append(body["delta"]["text"])
        elif kind == "messageStop":
            stop = body["stopReason"]
        elif kind == "metadata":
            usage = body["usage"]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    assert "contentBlockStop" in kinds
    assert len(deltas) >= 2, f"the answer came in one piece: {deltas}"
    assert "".join(deltas) == expected_answer(model, text)
    assert stop == "end_turn"
    assert usage["outputTokens"] > 0
    if model == HAIKU:
        sent = last_upstream_request(fake_openai)
        assert sent["stream"] is True
        assert user_text(sent["messages"][-1]) == text


def anthropic_body(text: str, max_tokens: int = 256) -> bytes:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        }
    ).encode()


@pytest.mark.parametrize("model", MODELS)
def test_invoke_model(runtime, fake_openai, model):
    text = harness.prompt(f"Invoke the model directly ({model})")
    resp = runtime.invoke_model(
        modelId=model, body=anthropic_body(text), contentType="application/json", accept="application/json"
    )
    assert resp["contentType"] == "application/json"
    body = json.loads(resp["body"].read())
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["content"] == [{"type": "text", "text": expected_answer(model, text)}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"]["output_tokens"] > 0
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == body["usage"]["output_tokens"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == body["usage"]["input_tokens"]
    if model == HAIKU:
        sent = last_upstream_request(fake_openai)
        assert sent["model"] == HAIKU_UPSTREAM and sent["max_tokens"] == 256
        assert sent["messages"][0] == {"role": "system", "content": SYSTEM}


@pytest.mark.parametrize("model", MODELS)
def test_invoke_model_with_response_stream(runtime, fake_openai, model):
    text = harness.prompt(f"Invoke and stream ({model})")
    resp = runtime.invoke_model_with_response_stream(
        modelId=model, body=anthropic_body(text), contentType="application/json", accept="application/json"
    )
    chunks = []
    for event in resp["body"]:
        assert "chunk" in event, f"unexpected event {event}"
        chunks.append(json.loads(event["chunk"]["bytes"]))
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    deltas = [c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == expected_answer(model, text)
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] > 0 and metrics["inputTokenCount"] > 0
    message_delta = [c for c in chunks if c["type"] == "message_delta"]
    assert message_delta and message_delta[-1]["delta"]["stop_reason"] == "end_turn"


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(runtime, model):
    text = harness.prompt(f"How many tokens is this ({model})")
    messages = [{"role": "user", "content": [{"text": text}]}]
    counted = runtime.count_tokens(modelId=model, input={"converse": {"messages": messages, "system": [{"text": SYSTEM}]}})
    assert isinstance(counted["inputTokens"], int) and counted["inputTokens"] > 0
    longer = runtime.count_tokens(
        modelId=model,
        input={"converse": {"messages": messages + [{"role": "assistant", "content": [{"text": "Sure."}]}, *messages]}},
    )
    assert longer["inputTokens"] > counted["inputTokens"]
    if model == ECHO:
        # The trial model counts the way it bills: the same number as the
        # input tokens of the same conversation.
        said = runtime.converse(modelId=model, messages=messages, system=[{"text": SYSTEM}])
        assert counted["inputTokens"] == said["usage"]["inputTokens"]


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_of_an_invoke_model_body(runtime, model):
    text = harness.prompt(f"Count an InvokeModel body ({model})")
    # The body is a blob: botocore sends it base64-encoded in the JSON.
    counted = runtime.count_tokens(modelId=model, input={"invokeModel": {"body": anthropic_body(text)}})
    assert counted["inputTokens"] > 0
    by_converse = runtime.count_tokens(
        modelId=model,
        input={"converse": {"messages": [{"role": "user", "content": [{"text": text}]}], "system": [{"text": SYSTEM}]}},
    )
    assert counted["inputTokens"] == by_converse["inputTokens"]


def test_count_tokens_is_its_own_action(gateway, world):
    """CountTokens is authorized as bedrock:CountTokens: a role allowed only
    to invoke models may not count tokens."""
    creds = gateway.assume(world.roles["OtherBedrockRole"], "compat-no-count")
    runtime = gateway.client("bedrock-runtime", creds)
    messages = [{"role": "user", "content": [{"text": harness.prompt("count me")}]}]
    assert runtime.converse(modelId=ECHO, messages=messages)["stopReason"] == "end_turn"
    with raises_code("AccessDeniedException", status=403):
        runtime.count_tokens(modelId=ECHO, input={"converse": {"messages": messages}})
