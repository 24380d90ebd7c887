"""1. The seed documents' users, roles and policies, created with the `iam`
client as the seeds write them, read back as written; an access key of a
user signs; the AWS CLI works with the generated config files."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import harness
import seed_world
from harness import ACCOUNT, raises_code


def test_managed_policies_read_back_as_the_seeds_write_them(gateway, world):
    iam = gateway.client("iam")
    for name in seed_world.MANAGED:
        arn = world.policies[name]
        assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        assert policy["PolicyName"] == name
        assert policy["DefaultVersionId"] == "v1"
        assert policy["AttachmentCount"] >= 1
        version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
        # botocore decodes the URL-encoded document into a dict.
        assert version["Document"] == harness.policy_json(f"{name}.json")
        assert version["IsDefaultVersion"] is True
    listed = {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
    assert set(seed_world.MANAGED) <= listed


def test_roles_keep_their_trust_and_permission_policies(gateway, world):
    iam = gateway.client("iam")
    role = iam.get_role(RoleName="BedrockRole")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/BedrockRole"
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == json.loads(seed_world.trust_account())
    attached = iam.list_attached_role_policies(RoleName="BedrockRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [world.policies["BedrockInvoke"]]
    assert iam.list_role_policies(RoleName="BedrockRole")["PolicyNames"] == ["CountTokens"]

    # The agent service role: the seed's confused-deputy trust policy and
    # its two inline policies, verbatim.
    agent = iam.get_role(RoleName=seed_world.AGENT_ROLE)["Role"]
    assert agent["Path"] == "/service-role/"
    assert agent["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/{seed_world.AGENT_ROLE}"
    assert agent["MaxSessionDuration"] == 3600
    trust = agent["AssumeRolePolicyDocument"]
    assert trust == json.loads(seed_world.agent_trust_policy())
    condition = trust["Statement"][0]["Condition"]
    assert condition["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert condition["ArnLike"]["aws:SourceArn"] == f"arn:aws:bedrock:us-west-2:{ACCOUNT}:agent/*"
    names = sorted(iam.list_role_policies(RoleName=seed_world.AGENT_ROLE)["PolicyNames"])
    assert names == ["AmazonBedrockAgentBedrockFoundationModelPolicy", "AmazonBedrockAgentDataStorePolicy"]
    for name in names:
        doc = iam.get_role_policy(RoleName=seed_world.AGENT_ROLE, PolicyName=name)["PolicyDocument"]
        assert doc == harness.policy_json(f"{name}.json")

    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert {"BedrockRole", "OtherBedrockRole", "ClaudeOnlyRole", "MfaRole", seed_world.AGENT_ROLE} <= roles


def test_users_groups_and_tags(gateway, world):
    iam = gateway.client("iam")
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    assert {"admin", "alice", "bob", "mfa-user", "sec-admin"} <= users
    group = iam.get_group(GroupName="claude-users")
    assert [u["UserName"] for u in group["Users"]] == ["alice"]
    attached = iam.list_attached_group_policies(GroupName="kb-readers")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AgentInvoke", "KnowledgeBaseAccess"]
    groups = sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"])
    assert groups == ["claude-users", "kb-readers"]
    tags = iam.list_user_tags(UserName="sec-admin")["Tags"]
    assert tags == [{"Key": "Role", "Value": "SecurityAdmin"}]
    assert iam.list_user_policies(UserName="mfa-user")["PolicyNames"] == ["AssumeMfaRole"]


def test_resource_policies_are_not_identity_policies(gateway, world):
    """The seed's VPC endpoint policy and KMS key policy name a Principal:
    as identity policies they are malformed, as in AWS."""
    iam = gateway.client("iam")
    for name in ["VpcEndpointPolicy", "KmsKeyPolicy"]:
        with raises_code("MalformedPolicyDocument", status=400):
            iam.create_policy(PolicyName=f"Bad{name}", PolicyDocument=harness.policy_text(f"{name}.json"))
    with raises_code("MalformedPolicyDocument", status=400):
        iam.put_user_policy(UserName="bob", PolicyName="NotJson", PolicyDocument='{"Version": "2012-10-17", "Statement": [')
    with raises_code("MalformedPolicyDocument", status=400):
        iam.create_role(RoleName="NoPrincipal", AssumeRolePolicyDocument=harness.policy_text("BedrockInvoke.json"))
    names = {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
    assert "BadVpcEndpointPolicy" not in names


def test_access_keys_sign_and_are_bounded(gateway, world):
    iam = gateway.client("iam")
    alice = world.users["alice"]
    assert alice.access_key.startswith("AKIA")
    ident = gateway.client("sts", alice).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert ident["Account"] == ACCOUNT
    keys = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(alice.access_key, "Active")]

    # At most two keys per user; an inactive key no longer signs.
    iam.create_user(UserName="carol")
    first = harness.access_key_creds(iam.create_access_key(UserName="carol"), "user carol")
    second = harness.access_key_creds(iam.create_access_key(UserName="carol"), "user carol")
    with raises_code("LimitExceeded", status=409):
        iam.create_access_key(UserName="carol")
    assert gateway.client("sts", second).get_caller_identity()["Arn"].endswith(":user/carol")
    iam.update_access_key(UserName="carol", AccessKeyId=second.access_key, Status="Inactive")
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", second).get_caller_identity()
    iam.delete_access_key(UserName="carol", AccessKeyId=second.access_key)
    with raises_code("InvalidClientTokenId", status=403):
        gateway.client("sts", second).get_caller_identity()
    assert gateway.client("sts", first).get_caller_identity()["Arn"].endswith(":user/carol")


def aws_cli(gateway, args, credentials_file=None, extra_env=None):
    """Runs the AWS CLI v1 of the suite's virtualenv with the config files
    `sekisho serve` generated, AWS_CA_BUNDLE set to the generated CA."""
    aws = Path(sys.executable).parent / "aws"
    assert aws.is_file(), f"the AWS CLI is missing from the virtualenv ({aws}): scripts/compat installs it"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(gateway.data_dir / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials_file or gateway.data_dir / "credentials"),
        AWS_PROFILE="sekisho",
        AWS_CA_BUNDLE=gateway.ca,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_RETRY_MODE="standard",
        AWS_MAX_ATTEMPTS="1",
    )
    env.update(extra_env or {})
    proc = subprocess.run(
        [str(aws), *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
    return json.loads(proc.stdout)


def test_generated_aws_files_name_the_running_gateway(gateway):
    config = configparser.ConfigParser()
    config.read(gateway.data_dir / "config")
    profile = config["profile sekisho"]
    assert profile["endpoint_url"] == f"https://localhost:{gateway.ports[0]}"
    assert Path(profile["ca_bundle"]).resolve() == Path(gateway.ca).resolve()
    assert profile["region"] == "us-east-1"
    credentials = gateway.data_dir / "credentials"
    assert credentials.stat().st_mode & 0o777 == 0o600


def test_aws_cli_with_the_generated_configuration(gateway, world, tmp_path):
    ident = aws_cli(gateway, ["sts", "get-caller-identity"])
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    users = {u["UserName"] for u in aws_cli(gateway, ["iam", "list-users"])["Users"]}
    assert {"admin", "alice", "bob"} <= users
    # A user's own key, in a credentials file of its own.
    alice = world.users["alice"]
    creds = tmp_path / "alice-credentials"
    creds.write_text(f"[sekisho]\naws_access_key_id = {alice.access_key}\naws_secret_access_key = {alice.secret_key}\n")
    creds.chmod(0o600)
    ident = aws_cli(gateway, ["sts", "get-caller-identity"], credentials_file=creds)
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    # And a model call from the CLI, through the same configuration.
    text = harness.prompt("Hello from the AWS CLI")
    out = aws_cli(
        gateway,
        [
            "bedrock-runtime",
            "converse",
            "--model-id",
            harness.ECHO,
            "--messages",
            json.dumps([{"role": "user", "content": [{"text": text}]}]),
        ],
    )
    assert out["output"]["message"]["content"][0]["text"] == f"You said: {text}"


def test_iam_errors_have_the_aws_codes(gateway, world):
    iam = gateway.client("iam")
    with raises_code("NoSuchEntity", status=404):
        iam.get_user(UserName="nobody-here")
    with raises_code("NoSuchEntity", status=404):
        iam.get_role(RoleName="NoSuchRole")
    with raises_code("EntityAlreadyExists", status=409):
        iam.create_user(UserName="alice")
    with raises_code("EntityAlreadyExists", status=409):
        iam.create_policy(PolicyName="BedrockInvoke", PolicyDocument=harness.policy_text("BedrockInvoke.json"))
    # A user with an access key (and groups) cannot be deleted.
    with raises_code("DeleteConflict", status=409):
        iam.delete_user(UserName="alice")
    with raises_code("ValidationError", status=400):
        iam.create_user(UserName="bad/name")


def test_iam_calls_are_authorized_by_iam_policies(gateway, world):
    # alice may call Bedrock models (AllowClaudeOnly) but no IAM action.
    iam = gateway.client("iam", world.users["alice"])
    with raises_code("AccessDenied", status=403) as info:
        iam.list_users()
    assert "iam:ListUsers" in info.value.response["Error"]["Message"]
    with raises_code("AccessDenied", status=403):
        iam.create_access_key(UserName="bob")
    with raises_code("AccessDenied", status=403):
        iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
