"""The IAM world of the seed documents: managed policies as the seeds
write them, the roles they describe (the Bedrock role, an agent service
role with the confused-deputy trust policy, a role requiring MFA), groups
and users with access keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import harness
from harness import ACCOUNT


def trust_account(extra_condition: dict | None = None) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    if extra_condition:
        statement["Condition"] = extra_condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


AGENT_ROLE = "AmazonBedrockExecutionRoleForAgents_compat"
MANAGED = ["BedrockInvoke", "AllowClaudeOnly", "KnowledgeBaseAccess", "AgentInvoke", "GuardrailsManagement"]
COUNT_TOKENS_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CountTokens", "Effect": "Allow", "Action": "bedrock:CountTokens", "Resource": "arn:aws:bedrock:*::foundation-model/*"}
        ],
    }
)


def agent_trust_policy() -> str:
    # The seed writes the account number as a placeholder.
    return harness.policy_text("AmazonBedrockAgentTrustPolicy.json").replace("Account_Number", ACCOUNT)


@dataclass
class World:
    policies: dict = field(default_factory=dict)  # name -> ARN
    roles: dict = field(default_factory=dict)  # name -> ARN
    users: dict = field(default_factory=dict)  # name -> Creds (access key)

    def role(self, name: str) -> str:
        return self.roles[name]


def build(gateway) -> World:
    """Creates, with the admin's `iam` client, the users, groups, roles and
    policies of the seed documents (their policy JSON as written)."""
    iam = gateway.client("iam")
    w = World()
    for name in MANAGED:
        resp = iam.create_policy(
            PolicyName=name,
            PolicyDocument=harness.policy_text(f"{name}.json"),
            Description=f"{name}, from the seed documents",
        )
        w.policies[name] = resp["Policy"]["Arn"]

    def role(name, trust, managed=(), inline=None, path="/", **kw):
        resp = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Path=path, **kw)
        w.roles[name] = resp["Role"]["Arn"]
        for p in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=w.policies[p])
        for pname, doc in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=doc)

    role("BedrockRole", trust_account(), ["BedrockInvoke"], {"CountTokens": COUNT_TOKENS_POLICY})
    role("OtherBedrockRole", trust_account(), ["BedrockInvoke"])
    role("ClaudeOnlyRole", trust_account(), ["AllowClaudeOnly"])
    role(
        "MfaRole",
        trust_account({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        ["BedrockInvoke"],
    )
    role(
        AGENT_ROLE,
        agent_trust_policy(),
        inline={
            "AmazonBedrockAgentBedrockFoundationModelPolicy": harness.policy_text(
                "AmazonBedrockAgentBedrockFoundationModelPolicy.json"
            ),
            "AmazonBedrockAgentDataStorePolicy": harness.policy_text("AmazonBedrockAgentDataStorePolicy.json"),
        },
        path="/service-role/",
        Description="Amazon Bedrock agent service role (seed trust policy)",
        MaxSessionDuration=3600,
    )

    for group, managed in {
        "claude-users": ["AllowClaudeOnly"],
        "kb-readers": ["KnowledgeBaseAccess", "AgentInvoke"],
        "security-admins": ["GuardrailsManagement"],
    }.items():
        iam.create_group(GroupName=group)
        for p in managed:
            iam.attach_group_policy(GroupName=group, PolicyArn=w.policies[p])

    mfa_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/MfaRole"},
                {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"},
            ],
        }
    )
    for user, groups, tags, inline in [
        ("alice", ["claude-users", "kb-readers"], [], None),
        ("bob", [], [], None),
        ("mfa-user", [], [], mfa_policy),
        ("mfa-session-user", [], [], mfa_policy),
        ("sec-admin", ["security-admins"], [{"Key": "Role", "Value": "SecurityAdmin"}], None),
    ]:
        iam.create_user(UserName=user, Tags=tags)
        for g in groups:
            iam.add_user_to_group(GroupName=g, UserName=user)
        if inline:
            iam.put_user_policy(UserName=user, PolicyName="AssumeMfaRole", PolicyDocument=inline)
        w.users[user] = harness.access_key_creds(iam.create_access_key(UserName=user), f"user {user}")
    return w
