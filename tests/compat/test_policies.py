"""3-5. The seed documents' policies deciding real calls: AllowClaudeOnly
(identity policy), the region-restriction SCP, and the VPC endpoint policy
on a listener that is an endpoint."""

from __future__ import annotations

import pytest

import harness
import seed_world
from harness import ECHO, HAIKU, LLAMA, SONNET, TITAN_EAST_ONLY, VPCE, raises_code


def say(client, model, what="hello"):
    return client.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": harness.prompt(what)}]}],
        inferenceConfig={"maxTokens": 50},
    )


# -- 3. AllowClaudeOnly ------------------------------------------------------


@pytest.fixture(scope="module")
def claude_only(gateway, world):
    return gateway.assume(world.roles["ClaudeOnlyRole"], "compat-claude-only")


def test_allow_claude_only_allows_the_claude_models(gateway, claude_only):
    runtime = gateway.client("bedrock-runtime", claude_only)
    assert say(runtime, HAIKU)["stopReason"] == "end_turn"
    assert say(runtime, SONNET)["output"]["message"]["content"][0]["text"].startswith("You said: ")
    # InvokeModelWithResponseStream is allowed too (ConverseStream's action).
    events = list(
        runtime.converse_stream(
            modelId=SONNET, messages=[{"role": "user", "content": [{"text": harness.prompt("stream")}]}]
        )["stream"]
    )
    assert any("contentBlockDelta" in e for e in events)


def test_allow_claude_only_refuses_other_models(gateway, claude_only):
    runtime = gateway.client("bedrock-runtime", claude_only)
    for model in (LLAMA, ECHO):
        with raises_code("AccessDeniedException", status=403) as info:
            say(runtime, model)
        message = info.value.response["Error"]["Message"]
        assert "bedrock:InvokeModel" in message, message
    # The same allowed model in another region is another resource.
    west = gateway.client("bedrock-runtime", claude_only, region="us-west-2")
    with raises_code("AccessDeniedException", status=403):
        say(west, HAIKU)
    # And the stream action is refused just the same.
    with raises_code("AccessDeniedException", status=403):
        runtime.converse_stream(modelId=LLAMA, messages=[{"role": "user", "content": [{"text": "x"}]}])


def test_allow_claude_only_for_a_user_through_a_group(gateway, world):
    runtime = gateway.client("bedrock-runtime", world.users["alice"])
    assert say(runtime, SONNET)["stopReason"] == "end_turn"
    with raises_code("AccessDeniedException", status=403):
        say(runtime, LLAMA)


# -- 4. The region-restriction SCP -------------------------------------------


def test_region_scp_refuses_a_third_region(gateway):
    """The admin has AdministratorAccess; the SCP still refuses Bedrock in
    ap-northeast-1, a region the gateway serves and the model is
    available in."""
    for region in ("us-east-1", "us-west-2"):
        runtime = gateway.client("bedrock-runtime", region=region)
        assert say(runtime, ECHO)["stopReason"] == "end_turn"
    tokyo = gateway.client("bedrock-runtime", region="ap-northeast-1")
    with raises_code("AccessDeniedException", status=403) as info:
        say(tokyo, ECHO)
    assert "service control policy" in info.value.response["Error"]["Message"].lower()
    with raises_code("AccessDeniedException", status=403):
        tokyo.count_tokens(modelId=ECHO, input={"converse": {"messages": [{"role": "user", "content": [{"text": "x"}]}]}})
    # The SCP denies bedrock:* only: STS in the same region still answers.
    ident = gateway.client("sts", region="ap-northeast-1").get_caller_identity()
    assert ident["Arn"].endswith(":user/admin")


def test_region_scp_applies_to_role_sessions(gateway, world):
    creds = gateway.assume(world.roles["BedrockRole"], "compat-scp")
    assert say(gateway.client("bedrock-runtime", creds, region="us-west-2"), ECHO)["stopReason"] == "end_turn"
    with raises_code("AccessDeniedException", status=403):
        say(gateway.client("bedrock-runtime", creds, region="ap-northeast-1"), ECHO)


def test_unserved_region_and_data_residency(gateway):
    # A region the gateway does not serve: the credential scope is refused.
    with raises_code("InvalidSignatureException", status=403):
        say(gateway.client("bedrock-runtime", region="eu-west-1"), ECHO)
    # A model configured for us-east-1 only is refused elsewhere, though the
    # SCP allows us-west-2.
    assert say(gateway.client("bedrock-runtime"), TITAN_EAST_ONLY)["stopReason"] == "end_turn"
    with raises_code("ValidationException", status=400):
        say(gateway.client("bedrock-runtime", region="us-west-2"), TITAN_EAST_ONLY)


# -- 5. The VPC endpoint policy ----------------------------------------------


def test_endpoint_policy_lets_the_named_role_through(gateway, world):
    creds = gateway.assume(world.roles["BedrockRole"], "compat-vpce")
    through_endpoint = gateway.client("bedrock-runtime", creds, listener=VPCE)
    answer = say(through_endpoint, ECHO, "through the endpoint")
    assert answer["output"]["message"]["content"][0]["text"].startswith("You said: through the endpoint")
    resp = through_endpoint.invoke_model_with_response_stream(
        modelId=ECHO,
        body=b'{"messages":[{"role":"user","content":"streamed"}],"max_tokens":20}',
        contentType="application/json",
    )
    assert any("chunk" in e for e in resp["body"])
    # The endpoint policy names us-east-1 models only.
    with raises_code("AccessDeniedException", status=403):
        say(gateway.client("bedrock-runtime", creds, listener=VPCE, region="us-west-2"), ECHO)


def test_endpoint_policy_refuses_another_role(gateway, world):
    creds = gateway.assume(world.roles["OtherBedrockRole"], "compat-vpce-other")
    # Allowed by its identity policy on the plain listener ...
    assert say(gateway.client("bedrock-runtime", creds), ECHO)["stopReason"] == "end_turn"
    # ... refused through the endpoint, whose policy names BedrockRole only.
    with raises_code("AccessDeniedException", status=403) as info:
        say(gateway.client("bedrock-runtime", creds, listener=VPCE), ECHO)
    assert "endpoint" in info.value.response["Error"]["Message"].lower()
    # The administrator is no exception.
    with raises_code("AccessDeniedException", status=403):
        say(gateway.client("bedrock-runtime", listener=VPCE), ECHO)


# -- the other layers: versions, boundaries, session policies ----------------


def test_policy_versions_change_what_a_role_may_do(gateway, world):
    iam = gateway.client("iam")
    arn = iam.create_policy(PolicyName="Versioned", PolicyDocument=harness.policy_text("BedrockInvoke.json"))["Policy"]["Arn"]
    iam.create_role(RoleName="VersionedRole", AssumeRolePolicyDocument=seed_world.trust_account())
    iam.attach_role_policy(RoleName="VersionedRole", PolicyArn=arn)
    role_arn = iam.get_role(RoleName="VersionedRole")["Role"]["Arn"]
    creds = gateway.assume(role_arn, "compat-versions")
    runtime = gateway.client("bedrock-runtime", creds)
    assert say(runtime, LLAMA)["stopReason"] == "end_turn"
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=harness.policy_text("AllowClaudeOnly.json"), SetAsDefault=True)
    assert v2["PolicyVersion"]["VersionId"] == "v2" and v2["PolicyVersion"]["IsDefaultVersion"]
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2"]
    # The same session, evaluated against the new default version.
    with raises_code("AccessDeniedException", status=403):
        say(runtime, LLAMA)
    assert say(runtime, HAIKU)["stopReason"] == "end_turn"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert say(runtime, LLAMA)["stopReason"] == "end_turn"
    iam.detach_role_policy(RoleName="VersionedRole", PolicyArn=arn)
    with raises_code("AccessDeniedException", status=403):
        say(runtime, LLAMA)


def test_permissions_boundary_limits_a_role(gateway, world):
    iam = gateway.client("iam")
    iam.create_role(
        RoleName="BoundedRole",
        AssumeRolePolicyDocument=seed_world.trust_account(),
        PermissionsBoundary=world.policies["AllowClaudeOnly"],
    )
    iam.attach_role_policy(RoleName="BoundedRole", PolicyArn=world.policies["BedrockInvoke"])
    role = iam.get_role(RoleName="BoundedRole")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == world.policies["AllowClaudeOnly"]
    runtime = gateway.client("bedrock-runtime", gateway.assume(role["Arn"], "compat-bounded"))
    assert say(runtime, SONNET)["stopReason"] == "end_turn"
    with raises_code("AccessDeniedException", status=403) as info:
        say(runtime, LLAMA)
    assert "permissions boundary" in info.value.response["Error"]["Message"]


def test_session_policy_narrows_a_session(gateway, world):
    creds = gateway.assume(
        world.roles["BedrockRole"], "compat-session-policy", Policy=harness.policy_text("AllowClaudeOnly.json")
    )
    runtime = gateway.client("bedrock-runtime", creds)
    assert say(runtime, HAIKU)["stopReason"] == "end_turn"
    with raises_code("AccessDeniedException", status=403):
        say(runtime, LLAMA)
    # Without it, the same role may.
    plain = gateway.client("bedrock-runtime", gateway.assume(world.roles["BedrockRole"], "compat-no-session-policy"))
    assert say(plain, LLAMA)["stopReason"] == "end_turn"
