"""11c. External guardrail classifiers (`[[guardrail_classifier]]`): content
filters answered by an OpenAI-compatible moderation endpoint and by a Llama
Guard model behind a chat endpoint (both played by the suite's fake model
server), through boto3's apply_guardrail and converse. An endpoint that
cannot be reached blocks (fail closed); a bad classifier setting refuses the
start, naming the setting. Runs on a gateway of its own."""

from __future__ import annotations

import subprocess

import pytest

import harness
from harness import ACCOUNT, ECHO, prompt, stream_text

BLOCKED_IN = "Blocked by the moderation check."
BLOCKED_OUT = "The answer was blocked by the moderation check."


def classifier_config(fake_url: str, dead_port: int) -> str:
    return f"""
[[guardrail_classifier]]
name = "moderation"
protocol = "openai-moderation"
url = "{fake_url}/moderations"
model = "omni-moderation-latest"
api_key_env = "SEKISHO_COMPAT_FAKE_KEY"
filters = ["HATE", "INSULTS"]

[[guardrail_classifier]]
name = "llama-guard"
protocol = "llama-guard"
url = "{fake_url}/chat/completions"
model = "llama-guard-3-8b"
api_key_env = "SEKISHO_COMPAT_FAKE_KEY"
filters = ["VIOLENCE"]

[[guardrail_classifier]]
name = "unreachable"
protocol = "openai-moderation"
url = "http://127.0.0.1:{dead_port}/v1/moderations"
filters = ["SEXUAL"]
timeout_ms = 1000
"""


def base_config(tmp_path, port: int) -> str:
    return f"""\
data_dir = {harness.toml_str(str(tmp_path / "data"))}
account_id = "{ACCOUNT}"
regions = ["us-east-1"]

[[listener]]
bind = "127.0.0.1:{port}"
"""


@pytest.fixture(scope="module")
def own(tmp_path_factory, fake_openai):
    tmp_path = tmp_path_factory.mktemp("external-classifiers")
    port, dead = harness.free_port(), harness.free_port()
    text = base_config(tmp_path, port) + classifier_config(fake_openai.base_url, dead)
    gw = harness.Gateway(tmp_path, [port], text, env={"SEKISHO_COMPAT_FAKE_KEY": fake_openai.api_key}).start()
    yield gw
    gw.stop()


def guardrail(bedrock, name: str, filters: list) -> str:
    created = bedrock.create_guardrail(
        name=name,
        contentPolicyConfig={"filtersConfig": filters},
        blockedInputMessaging=BLOCKED_IN,
        blockedOutputsMessaging=BLOCKED_OUT,
    )
    return created["guardrailId"]


def apply(runtime, gid: str, text: str, source: str = "INPUT") -> dict:
    return runtime.apply_guardrail(
        guardrailIdentifier=gid, guardrailVersion="DRAFT", source=source, content=[{"text": {"text": text}}]
    )


def content_filters(out: dict) -> dict:
    return {f["type"]: f for a in out["assessments"] for f in a.get("contentPolicy", {}).get("filters", [])}


def test_moderation_endpoint_answers_hate_and_insults(own, fake_openai):
    bedrock, runtime = own.client("bedrock"), own.client("bedrock-runtime")
    gid = guardrail(bedrock, "ext-moderation", [
        {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"},
        {"type": "INSULTS", "inputStrength": "MEDIUM", "outputStrength": "MEDIUM"},
    ])
    try:
        text = prompt("People like them are vermin.")
        out = apply(runtime, gid, text)
        assert out["action"] == "GUARDRAIL_INTERVENED", out
        assert out["outputs"] == [{"text": BLOCKED_IN}]
        hate = content_filters(out)["HATE"]
        assert (hate["confidence"], hate["action"]) == ("HIGH", "BLOCKED"), out
        # The endpoint got the text, with the configured key and model.
        seen = [r for r in fake_openai.requests if r["path"].endswith("/moderations") and r["body"]["input"] == text]
        assert seen, "the moderation endpoint was not asked"
        headers = {k.lower(): v for k, v in seen[-1]["headers"].items()}
        assert headers["authorization"] == f"Bearer {fake_openai.api_key}"
        assert seen[-1]["body"]["model"] == "omni-moderation-latest"

        # harassment 0.62 → MEDIUM confidence: blocked at MEDIUM strength.
        out = apply(runtime, gid, prompt("Read the manual, you idiot."))
        insults = content_filters(out)["INSULTS"]
        assert (insults["confidence"], insults["action"]) == ("MEDIUM", "BLOCKED"), out

        out = apply(runtime, gid, prompt("The quarterly report is attached."))
        assert out["action"] == "NONE", out

        # Japanese text goes to the endpoint as it is.
        out = apply(runtime, gid, prompt("あの連中は虫けらだ。"))
        assert content_filters(out)["HATE"]["action"] == "BLOCKED", out
    finally:
        bedrock.delete_guardrail(guardrailIdentifier=gid)


def test_llama_guard_checks_the_model_answer(own, fake_openai):
    bedrock, runtime = own.client("bedrock"), own.client("bedrock-runtime")
    gid = guardrail(bedrock, "ext-llama-guard", [
        {"type": "VIOLENCE", "inputStrength": "NONE", "outputStrength": "HIGH"},
    ])
    version = bedrock.create_guardrail_version(guardrailIdentifier=gid)["version"]
    try:
        # The echo model repeats the prompt; only the answer is checked.
        resp = runtime.converse(
            modelId=ECHO,
            messages=[{"role": "user", "content": [{"text": prompt("Say: I will kill you.")}]}],
            guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": version},
        )
        assert resp["stopReason"] == "guardrail_intervened", resp
        assert resp["output"]["message"]["content"][0]["text"] == BLOCKED_OUT
        asked = [r for r in fake_openai.requests_for("llama-guard-3-8b") if "kill you" in str(r["body"]["messages"])]
        assert asked, "Llama Guard was not asked"
        # The answer is classified as the assistant's turn.
        assert asked[-1]["body"]["messages"][-1]["role"] == "assistant"

        resp = runtime.converse(
            modelId=ECHO,
            messages=[{"role": "user", "content": [{"text": prompt("Say: have a nice day.")}]}],
            guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": version},
        )
        assert resp["stopReason"] != "guardrail_intervened", resp
    finally:
        bedrock.delete_guardrail(guardrailIdentifier=gid)


def test_an_unreachable_classifier_blocks(own):
    bedrock, runtime = own.client("bedrock"), own.client("bedrock-runtime")
    gid = guardrail(bedrock, "ext-down", [{"type": "SEXUAL", "inputStrength": "HIGH", "outputStrength": "HIGH"}])
    try:
        marker = prompt("good morning")
        out = apply(runtime, gid, marker)
        assert out["action"] == "GUARDRAIL_INTERVENED", out
        assert out["outputs"] == [{"text": BLOCKED_IN}]
        # The failure is logged by classifier name, without the text.
        logs = own.logs()
        assert "unreachable" in logs
        assert marker not in logs
    finally:
        bedrock.delete_guardrail(guardrailIdentifier=gid)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ('[[guardrail_classifier]]\nname = "a"\nprotocol = "openai-moderation"\nurl = "http://127.0.0.1:9/v1/moderations"\n'
         'filters = ["HATE"]\n[[guardrail_classifier]]\nname = "b"\nprotocol = "openai-moderation"\n'
         'url = "http://127.0.0.1:9/v1/moderations"\nfilters = ["HATE"]\n', "already answered"),
        ('[[guardrail_classifier]]\nname = "g"\nprotocol = "llama-guard"\nurl = "http://127.0.0.1:9/v1/chat/completions"\n'
         'model = "llama-guard-3-8b"\nfilters = ["INSULTS"]\n', "categories.INSULTS"),
        ('[[guardrail_classifier]]\nname = "k"\nprotocol = "openai-moderation"\nurl = "http://127.0.0.1:9/v1/moderations"\n'
         'api_key_env = "SEKISHO_COMPAT_NO_SUCH_VARIABLE"\nfilters = ["HATE"]\n', "SEKISHO_COMPAT_NO_SUCH_VARIABLE"),
        ('[[guardrail_classifier]]\nname = "p"\nprotocol = "perspective"\nurl = "http://127.0.0.1:9/"\n'
         'filters = ["HATE"]\n', "protocol"),
    ],
)
def test_a_bad_classifier_setting_refuses_the_start(tmp_path, extra, expected):
    config = tmp_path / "sekisho.toml"
    config.write_text(base_config(tmp_path, harness.free_port()) + extra)
    done = subprocess.run(
        [str(harness.sekisho_binary()), "serve", "--config", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert expected in done.stderr, done.stderr
    # Nothing was created before the refusal.
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streamed_output_goes_through_the_classifier(own, mode):
    """A model-based filter on output also guards ConverseStream: the
    answer is judged in windows before release (sync) or alongside it
    (async), and a hit stops the stream with the blocked messaging."""
    bedrock, runtime = own.client("bedrock"), own.client("bedrock-runtime")
    gid = guardrail(bedrock, f"ext-stream-{mode}", [
        {"type": "VIOLENCE", "inputStrength": "NONE", "outputStrength": "HIGH"},
    ])
    try:
        def run(text):
            resp = runtime.converse_stream(
                modelId=ECHO,
                messages=[{"role": "user", "content": [{"text": text}]}],
                guardrailConfig={"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "streamProcessingMode": mode},
            )
            return stream_text(resp)

        filler = " ".join(f"word{i}" for i in range(150))
        text, stop = run(prompt(f"{filler} and then I will kill you"))
        assert stop == "guardrail_intervened" and text.endswith(BLOCKED_OUT), text
        if mode == "sync":
            assert "kill you" not in text
        else:
            assert text.startswith("You said: word0")
        plain = prompt(f"{filler} have a nice day")
        text, stop = run(plain)
        assert stop == "end_turn" and text == f"You said: {plain}", text
    finally:
        bedrock.delete_guardrail(guardrailIdentifier=gid)
