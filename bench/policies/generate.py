#!/usr/bin/env python3
"""Writes the benchmark's policy set (identity policies, a permissions
boundary and three levels of SCPs) as JSON files beside this script.

The set is meant to look like a real workload account's: ten identity
policies of about ten statements each (actions and resources with
wildcards, policy variables, NotAction / NotResource, Allow and Deny, and
conditions with string, ARN, IP, date, boolean, numeric, Null and
set operators), a boundary, and an organization of root / OU / account SCPs.
Exactly which statements allow the benchmark's call
(bedrock:InvokeModel on foundation-model/sekisho.echo-v1 in us-east-1,
from 127.0.0.1, by user bench-app tagged team=ml) is incidental: the
evaluator has to look at every statement of every policy either way, since
an explicit deny anywhere wins.

Run it to regenerate the files; the files are committed so a reader can see
exactly what was measured.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REGIONS = ["us-east-1", "us-west-2", "ap-northeast-1"]


def stmt(sid, effect, action=None, resource=None, condition=None, not_action=None, not_resource=None):
    s = {"Sid": sid, "Effect": effect}
    if action is not None:
        s["Action"] = action
    if not_action is not None:
        s["NotAction"] = not_action
    if resource is not None:
        s["Resource"] = resource
    if not_resource is not None:
        s["NotResource"] = not_resource
    if condition:
        s["Condition"] = condition
    return s


def policy(statements):
    return {"Version": "2012-10-17", "Statement": statements}


TLS = {"Bool": {"aws:SecureTransport": "true"}}
CORP_NET = {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16"]}}
IN_REGIONS = {"StringEquals": {"aws:RequestedRegion": REGIONS}}


def both(*conds):
    out = {}
    for c in conds:
        for op, kv in c.items():
            out.setdefault(op, {}).update(kv)
    return out


def bedrock_invoke():
    return policy([
        stmt("InvokeApprovedModels", "Allow",
             ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
             ["arn:aws:bedrock:*::foundation-model/sekisho.*",
              "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-*",
              "arn:aws:bedrock:*::foundation-model/amazon.titan-text-*"],
             both(IN_REGIONS, TLS, CORP_NET)),
        stmt("InvokeInferenceProfiles", "Allow", "bedrock:InvokeModel*",
             "arn:aws:bedrock:*:*:inference-profile/us.*",
             both(IN_REGIONS, {"StringLike": {"aws:PrincipalTag/team": ["ml", "data*"]}})),
        stmt("CountTokens", "Allow", "bedrock:CountTokens", "arn:aws:bedrock:*::foundation-model/*", IN_REGIONS),
        stmt("ReadCatalogue", "Allow", ["bedrock:Get*", "bedrock:List*"], "*"),
        stmt("DenyLegacyModels", "Deny", "bedrock:InvokeModel*",
             ["arn:aws:bedrock:*::foundation-model/anthropic.claude-v2*",
              "arn:aws:bedrock:*::foundation-model/anthropic.claude-instant-*",
              "arn:aws:bedrock:*::foundation-model/meta.llama2-*"]),
        stmt("DenyOutsideRegions", "Deny", "bedrock:*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": REGIONS}}),
        stmt("DenyWithoutTeamTag", "Deny", "bedrock:Invoke*", "*",
             {"Null": {"aws:PrincipalTag/team": "true"}}),
        stmt("DenyPlainHttp", "Deny", "*", "*", {"Bool": {"aws:SecureTransport": "false"}}),
        stmt("DenyAfterProjectEnd", "Deny", "bedrock:*", "*",
             {"DateGreaterThan": {"aws:CurrentTime": "2099-12-31T23:59:59Z"}}),
        stmt("GuardrailsRead", "Allow", ["bedrock:GetGuardrail", "bedrock:ApplyGuardrail"],
             "arn:aws:bedrock:*:*:guardrail/*", IN_REGIONS),
    ])


def s3_data():
    return policy([
        stmt("ListOwnPrefix", "Allow", "s3:ListBucket", "arn:aws:s3:::ml-datasets",
             {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "shared/*"]}}),
        stmt("ReadShared", "Allow", ["s3:GetObject", "s3:GetObjectVersion"],
             ["arn:aws:s3:::ml-datasets/shared/*", "arn:aws:s3:::ml-models/*/released/*"]),
        stmt("ReadWriteHome", "Allow", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "arn:aws:s3:::ml-datasets/home/${aws:username}/*", TLS),
        stmt("PutEncryptedOnly", "Deny", "s3:PutObject", "arn:aws:s3:::ml-*/*",
             {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        stmt("NoBucketAdmin", "Deny", ["s3:PutBucketPolicy", "s3:DeleteBucket*", "s3:PutBucketAcl"], "*"),
        stmt("ListAllBuckets", "Allow", "s3:ListAllMyBuckets", "*"),
        stmt("ReadTaggedObjects", "Allow", "s3:GetObject", "arn:aws:s3:::*/*",
             {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}}),
        stmt("DenyPublicAcl", "Deny", "s3:PutObjectAcl", "*",
             {"StringEquals": {"s3:x-amz-acl": ["public-read", "public-read-write"]}}),
        stmt("LogsBucketWrite", "Allow", "s3:PutObject", "arn:aws:s3:::ml-logs/${aws:PrincipalAccount}/*",
             CORP_NET),
        stmt("DenyOtherAccounts", "Deny", "s3:*", "*",
             {"StringNotEqualsIfExists": {"s3:ResourceAccount": "${aws:PrincipalAccount}"},
              "Bool": {"aws:ViaAWSService": "false"}}),
    ])


def dynamodb():
    return policy([
        stmt("ReadTables", "Allow", ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"],
             "arn:aws:dynamodb:*:*:table/ml-*"),
        stmt("WriteOwnItems", "Allow", ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
             "arn:aws:dynamodb:*:*:table/ml-sessions",
             {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:userid}"]}}),
        stmt("DescribeAll", "Allow", ["dynamodb:Describe*", "dynamodb:List*"], "*"),
        stmt("NoScan", "Deny", "dynamodb:Scan", "*"),
        stmt("NoTableAdmin", "Deny", ["dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:UpdateTable"], "*"),
        stmt("IndexQuery", "Allow", "dynamodb:Query", "arn:aws:dynamodb:*:*:table/ml-*/index/*", IN_REGIONS),
        stmt("Streams", "Allow", ["dynamodb:GetRecords", "dynamodb:GetShardIterator"],
             "arn:aws:dynamodb:*:*:table/ml-*/stream/*"),
        stmt("DenyOutsideRegions", "Deny", "dynamodb:*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": REGIONS}}),
        stmt("ConditionCheck", "Allow", "dynamodb:ConditionCheckItem", "arn:aws:dynamodb:*:*:table/ml-*"),
        stmt("PartiQLRead", "Allow", "dynamodb:PartiQLSelect", "arn:aws:dynamodb:*:*:table/ml-*",
             TLS),
    ])


def kms():
    return policy([
        stmt("UseDataKeys", "Allow", ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"],
             "arn:aws:kms:*:*:key/*",
             {"StringLike": {"kms:ViaService": ["s3.*.amazonaws.com", "dynamodb.*.amazonaws.com"]}}),
        stmt("DescribeKeys", "Allow", ["kms:DescribeKey", "kms:List*"], "*"),
        stmt("NoKeyAdmin", "Deny", ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"], "*"),
        stmt("AliasUse", "Allow", "kms:Decrypt", "arn:aws:kms:*:*:key/*",
             {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/ml-*"}}),
        stmt("GrantsForServices", "Allow", "kms:CreateGrant", "*",
             {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
        stmt("DenyCrossRegion", "Deny", "kms:*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": REGIONS}}),
        stmt("EncryptionContext", "Allow", "kms:Decrypt", "*",
             {"StringEquals": {"kms:EncryptionContext:team": "${aws:PrincipalTag/team}"}}),
        stmt("Sign", "Allow", ["kms:Sign", "kms:Verify"], "arn:aws:kms:*:*:key/*",
             {"StringEquals": {"kms:SigningAlgorithm": ["ECDSA_SHA_256", "RSASSA_PSS_SHA_256"]}}),
        stmt("RandomBytes", "Allow", "kms:GenerateRandom", "*"),
        stmt("DenyInsecure", "Deny", "kms:*", "*", {"Bool": {"aws:SecureTransport": "false"}}),
    ])


def logs():
    return policy([
        stmt("WriteLogs", "Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
             "arn:aws:logs:*:*:log-group:/ml/*:*"),
        stmt("ReadLogs", "Allow", ["logs:Get*", "logs:Describe*", "logs:FilterLogEvents", "logs:StartQuery"],
             "arn:aws:logs:*:*:log-group:/ml/*"),
        stmt("Metrics", "Allow", "cloudwatch:PutMetricData", "*",
             {"StringEquals": {"cloudwatch:namespace": ["ML/Inference", "ML/Training"]}}),
        stmt("ReadMetrics", "Allow", ["cloudwatch:Get*", "cloudwatch:List*", "cloudwatch:Describe*"], "*"),
        stmt("NoRetentionChanges", "Deny", ["logs:DeleteRetentionPolicy", "logs:PutRetentionPolicy",
                                            "logs:DeleteLogGroup"], "*"),
        stmt("Alarms", "Allow", ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
             "arn:aws:cloudwatch:*:*:alarm:ml-*"),
        stmt("Dashboards", "Allow", "cloudwatch:*Dashboard*", "arn:aws:cloudwatch::*:dashboard/ml-*"),
        stmt("DenyAuditGroups", "Deny", "logs:*", ["arn:aws:logs:*:*:log-group:/audit/*",
                                                   "arn:aws:logs:*:*:log-group:aws-cloudtrail-*"]),
        stmt("Insights", "Allow", ["logs:StopQuery", "logs:GetQueryResults"], "*"),
        stmt("XRay", "Allow", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*", CORP_NET),
    ])


def iam_self():
    me = "arn:aws:iam::*:user/${aws:username}"
    return policy([
        stmt("ViewAccountInfo", "Allow", ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices",
                                         "iam:ListRoles", "iam:ListPolicies"], "*"),
        stmt("ManageOwnPassword", "Allow", ["iam:ChangePassword", "iam:GetUser"], me),
        stmt("ManageOwnKeys", "Allow", ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
                                        "iam:UpdateAccessKey"], me),
        stmt("ManageOwnMFA", "Allow", ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice",
                                       "iam:ResyncMFADevice"],
             ["arn:aws:iam::*:mfa/${aws:username}", me]),
        stmt("DeactivateOwnMFAWithMFA", "Allow", "iam:DeactivateMFADevice", me,
             {"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        stmt("DenyPrivilegeEscalation", "Deny", ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                                                 "iam:AttachUserPolicy", "iam:PutUserPolicy",
                                                 "iam:PutUserPermissionsBoundary"], "*"),
        stmt("PassMlRoles", "Allow", "iam:PassRole", "arn:aws:iam::*:role/ml-*",
             {"StringEquals": {"iam:PassedToService": ["bedrock.amazonaws.com", "sagemaker.amazonaws.com"]}}),
        stmt("ReadRoles", "Allow", ["iam:GetRole", "iam:ListRoleTags"], "arn:aws:iam::*:role/*"),
        stmt("DenyOtherUsers", "Deny", "iam:*", "arn:aws:iam::*:user/*",
             {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"}}),
        stmt("ReadPolicies", "Allow", ["iam:GetPolicy", "iam:GetPolicyVersion"],
             "arn:aws:iam::*:policy/*"),
    ])


def sts():
    return policy([
        stmt("AssumeMlRoles", "Allow", "sts:AssumeRole", "arn:aws:iam::*:role/ml-*",
             {"StringEquals": {"aws:PrincipalTag/team": "ml"}}),
        stmt("TagSessions", "Allow", "sts:TagSession", "*",
             {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "project"]}}),
        stmt("SessionToken", "Allow", "sts:GetSessionToken", "*"),
        stmt("CallerIdentity", "Allow", "sts:GetCallerIdentity", "*"),
        stmt("DenyAdminRoles", "Deny", "sts:AssumeRole", ["arn:aws:iam::*:role/Admin*",
                                                          "arn:aws:iam::*:role/OrganizationAccountAccessRole"]),
        stmt("SourceIdentity", "Allow", "sts:SetSourceIdentity", "*",
             {"StringLike": {"sts:SourceIdentity": "${aws:username}"}}),
        stmt("DenyLongSessions", "Deny", "sts:AssumeRole", "*",
             {"StringNotLike": {"sts:RoleSessionName": "${aws:username}-*"}}),
        stmt("FederationNever", "Deny", "sts:GetFederationToken", "*"),
        stmt("AssumeFromCorp", "Allow", "sts:AssumeRole", "arn:aws:iam::*:role/shared-*", CORP_NET),
        stmt("DecodeMessages", "Allow", "sts:DecodeAuthorizationMessage", "*"),
    ])


def bedrock_agents():
    return policy([
        stmt("InvokeAgents", "Allow", "bedrock:InvokeAgent",
             "arn:aws:bedrock:*:*:agent-alias/*/*", IN_REGIONS),
        stmt("Retrieve", "Allow", "bedrock:Retrieve",
             "arn:aws:bedrock:*:*:knowledge-base/*",
             {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        stmt("ReadAgents", "Allow", ["bedrock:GetAgent*", "bedrock:ListAgent*"], "*"),
        stmt("NoAgentAdmin", "Deny", ["bedrock:CreateAgent", "bedrock:DeleteAgent", "bedrock:UpdateAgent",
                                      "bedrock:PrepareAgent"], "*"),
        stmt("KnowledgeBaseRead", "Allow", ["bedrock:GetKnowledgeBase", "bedrock:ListKnowledgeBases"], "*"),
        stmt("DenyKbWrite", "Deny", ["bedrock:CreateKnowledgeBase", "bedrock:DeleteKnowledgeBase",
                                     "bedrock:StartIngestionJob"], "*"),
        stmt("Sessions", "Allow", ["bedrock:GetSession", "bedrock:EndSession"],
             "arn:aws:bedrock:*:*:session/*"),
        stmt("Flows", "Allow", "bedrock:InvokeFlow", "arn:aws:bedrock:*:*:flow/*/alias/*", IN_REGIONS),
        stmt("Prompts", "Allow", ["bedrock:GetPrompt", "bedrock:ListPrompts"], "*"),
        stmt("DenyCustomization", "Deny", ["bedrock:CreateModelCustomizationJob",
                                           "bedrock:CreateProvisionedModelThroughput"], "*"),
    ])


def ec2_read():
    return policy([
        stmt("Describe", "Allow", "ec2:Describe*", "*"),
        stmt("StartStopTagged", "Allow", ["ec2:StartInstances", "ec2:StopInstances"],
             "arn:aws:ec2:*:*:instance/*",
             {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        stmt("NoTerminate", "Deny", "ec2:TerminateInstances", "*",
             {"StringNotEquals": {"aws:ResourceTag/env": "sandbox"}}),
        stmt("GpuOnlyInSandbox", "Deny", "ec2:RunInstances", "arn:aws:ec2:*:*:instance/*",
             {"StringLike": {"ec2:InstanceType": ["p4*", "p5*", "g5*"]},
              "StringNotEquals": {"aws:RequestTag/env": "sandbox"}}),
        stmt("RunSmall", "Allow", "ec2:RunInstances", "*",
             {"StringLike": {"ec2:InstanceType": ["t3.*", "m6i.*", "g5.xlarge"]}}),
        stmt("CreateTagsOnRun", "Allow", "ec2:CreateTags", "arn:aws:ec2:*:*:*/*",
             {"StringEquals": {"ec2:CreateAction": "RunInstances"}}),
        stmt("DenyVpcChanges", "Deny", ["ec2:*Vpc*", "ec2:*Subnet*", "ec2:*Gateway*", "ec2:*Route*"], "*"),
        stmt("SecurityGroupsRead", "Allow", "ec2:DescribeSecurityGroup*", "*"),
        stmt("Volumes", "Allow", ["ec2:AttachVolume", "ec2:DetachVolume"], "arn:aws:ec2:*:*:volume/*",
             {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}),
        stmt("DenyOutsideRegions", "Deny", "ec2:*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": REGIONS}}),
    ])


def guard_rails():
    return policy([
        stmt("DenyOutsideCorpNetwork", "Deny", "*", "*",
             {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16", "::1/128"]},
              "Bool": {"aws:ViaAWSService": "false"}}),
        stmt("DenyAllButListedServices", "Deny",
             not_action=["bedrock:*", "s3:*", "dynamodb:*", "kms:*", "logs:*", "cloudwatch:*", "iam:*",
                         "sts:*", "ec2:*", "xray:*"], resource="*"),
        stmt("DenyProductionData", "Deny", "*",
             ["arn:aws:s3:::prod-*", "arn:aws:dynamodb:*:*:table/prod-*"]),
        stmt("DenyUntaggedCreates", "Deny", ["ec2:RunInstances", "dynamodb:CreateTable"], "*",
             {"Null": {"aws:RequestTag/team": "true"}}),
        stmt("DenyOldTls", "Deny", "*", "*", {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
        stmt("DenyOutsideWorkHoursForAdmin", "Deny", "iam:*", "*",
             {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
        stmt("DenyWrongPrincipalAccount", "Deny", "*", "*",
             {"StringNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:user/*", "arn:aws:iam::*:role/*"]}}),
        stmt("DenyNotOwnedModels", "Deny", "bedrock:InvokeModel*",
             not_resource=["arn:aws:bedrock:*::foundation-model/*", "arn:aws:bedrock:*:*:inference-profile/*",
                           "arn:aws:bedrock:*:*:provisioned-model/ml-*", "arn:aws:bedrock:*:*:imported-model/*"]),
        stmt("DenyWithoutCostCenter", "Deny", "bedrock:InvokeModel*", "*",
             {"StringNotLike": {"aws:PrincipalTag/cost-center": "cc-*"}}),
        stmt("DenyAnonymousUserAgents", "Deny", "*", "*",
             {"StringLike": {"aws:UserAgent": ["*sqlmap*", "*nikto*"]}}),
    ])


def group_inline():
    return policy([
        stmt("TeamBuckets", "Allow", ["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::team-${aws:PrincipalTag/team}/*"),
        stmt("TeamTables", "Allow", "dynamodb:*Item", "arn:aws:dynamodb:*:*:table/team-${aws:PrincipalTag/team}-*"),
        stmt("TeamKeys", "Allow", "kms:Decrypt", "*",
             {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        stmt("TeamLogs", "Allow", "logs:*", "arn:aws:logs:*:*:log-group:/team/${aws:PrincipalTag/team}/*"),
        stmt("TeamModels", "Allow", "bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/sekisho.echo-*",
             both(IN_REGIONS, {"StringEquals": {"aws:PrincipalTag/team": "ml"}})),
        stmt("TeamProfiles", "Allow", "bedrock:InvokeModel", "arn:aws:bedrock:*:*:inference-profile/*",
             {"StringEquals": {"aws:PrincipalTag/team": "ml"}}),
        stmt("DenyOtherTeams", "Deny", "s3:*", "arn:aws:s3:::team-*",
             {"StringNotLike": {"s3:prefix": "${aws:PrincipalTag/team}/*"}}),
        stmt("TeamAlarms", "Allow", "cloudwatch:*Alarm*", "arn:aws:cloudwatch:*:*:alarm:${aws:PrincipalTag/team}-*"),
        stmt("TeamSecrets", "Deny", "*", "arn:aws:secretsmanager:*:*:secret:other-*"),
        stmt("TeamQueues", "Deny", "sqs:*", "*"),
    ])


def group_managed():
    return policy([
        stmt("MLReadOnlyBedrock", "Allow", ["bedrock:Get*", "bedrock:List*"], "*"),
        stmt("MLReadOnlyS3", "Allow", ["s3:Get*", "s3:List*"], "arn:aws:s3:::ml-*"),
        stmt("MLReadOnlyLogs", "Allow", ["logs:Describe*", "logs:Get*"], "*"),
        stmt("MLInvokeTitan", "Allow", "bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/amazon.titan-*",
             IN_REGIONS),
        stmt("MLEmbeddings", "Allow", "bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/*embed*",
             IN_REGIONS),
        stmt("MLDenyBatch", "Deny", ["bedrock:CreateModelInvocationJob", "bedrock:StopModelInvocationJob"], "*"),
        stmt("MLDenyDelete", "Deny", ["s3:Delete*", "dynamodb:Delete*", "logs:Delete*", "bedrock:Delete*"], "*",
             {"StringNotEquals": {"aws:PrincipalTag/role": "lead"}}),
        stmt("MLSageMakerRead", "Allow", ["sagemaker:Describe*", "sagemaker:List*"], "*"),
        stmt("MLDenyEndpoints", "Deny", "sagemaker:CreateEndpoint*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}),
        stmt("MLCloudWatch", "Allow", "cloudwatch:GetMetricData", "*", TLS),
    ])


def user_inline():
    # A user's inline policies share 2,048 characters in AWS: short statements.
    return policy([
        stmt("A", "Allow", "bedrock:List*", "*"),
        stmt("B", "Allow", "bedrock:Invoke*", "arn:aws:bedrock:us-*::foundation-model/*", TLS),
        stmt("C", "Deny", "bedrock:*", "arn:aws:bedrock:*:*:custom-model/*"),
        stmt("D", "Allow", "s3:GetObject", "arn:aws:s3:::ml-scratch/${aws:username}/*"),
        stmt("E", "Deny", "iam:*AccessKey*", "arn:aws:iam::*:user/admin"),
        stmt("F", "Allow", "logs:PutLogEvents", "*"),
        stmt("G", "Deny", "ec2:*", "*", {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        stmt("H", "Allow", "sts:GetCallerIdentity", "*"),
        stmt("I", "Deny", "kms:Delete*", "*"),
        stmt("J", "Allow", "bedrock:CountTokens", "*", IN_REGIONS),
    ])


def boundary():
    return policy([
        stmt("BoundaryServices", "Allow", ["bedrock:*", "s3:*", "dynamodb:*", "kms:*", "logs:*",
                                           "cloudwatch:*", "sts:*", "ec2:*", "xray:*", "sagemaker:*"], "*"),
        stmt("BoundarySelfIam", "Allow", "iam:*", "arn:aws:iam::*:user/${aws:username}"),
        stmt("BoundaryIamRead", "Allow", ["iam:Get*", "iam:List*"], "*"),
        stmt("BoundaryPassRole", "Allow", "iam:PassRole", "arn:aws:iam::*:role/ml-*"),
        stmt("BoundaryNoOrg", "Deny", ["organizations:*", "account:*"], "*"),
        stmt("BoundaryRegions", "Deny", "*", "*",
             {"StringNotEquals": {"aws:RequestedRegion": REGIONS},
              "ForAllValues:StringNotLike": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}),
    ])


def scp_root():
    return policy([
        stmt("FullAWSAccess", "Allow", "*", "*"),
        stmt("DenyOutsideApprovedRegions", "Deny",
             not_action=["iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*", "route53:*",
                         "budgets:*", "waf:*"], resource="*",
             condition={"StringNotEquals": {"aws:RequestedRegion": REGIONS + ["eu-central-1"]},
                        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrgAdmin"}}),
        stmt("DenyLeaveOrganization", "Deny", "organizations:LeaveOrganization", "*"),
        stmt("DenyRootUser", "Deny", "*", "*", {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
        stmt("ProtectCloudTrail", "Deny", ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail",
                                           "cloudtrail:UpdateTrail"], "*"),
        stmt("ProtectGuardDuty", "Deny", ["guardduty:Delete*", "guardduty:Disassociate*"], "*"),
    ])


def scp_ou():
    return policy([
        stmt("AllowWorkloadServices", "Allow",
             ["bedrock:*", "s3:*", "dynamodb:*", "kms:*", "logs:*", "cloudwatch:*", "iam:*", "sts:*",
              "ec2:*", "xray:*", "sagemaker:*", "cloudtrail:*"], "*"),
        stmt("DenyModelCustomization", "Deny", ["bedrock:CreateModelCustomizationJob",
                                                "bedrock:CreateProvisionedModelThroughput",
                                                "bedrock:PutModelInvocationLoggingConfiguration"], "*"),
        stmt("ApprovedModelsOnly", "Deny", "bedrock:InvokeModel*",
             not_resource=["arn:aws:bedrock:*::foundation-model/sekisho.*",
                           "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-*",
                           "arn:aws:bedrock:*::foundation-model/amazon.titan-*",
                           "arn:aws:bedrock:*:*:inference-profile/*"]),
        stmt("RequireTlsEverywhere", "Deny", "*", "*", {"Bool": {"aws:SecureTransport": "false"}}),
        stmt("DenyIamUserCreation", "Deny", ["iam:CreateUser", "iam:CreateAccessKey"], "*",
             {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/OrgAdmin", "arn:aws:iam::*:user/admin"]}}),
        stmt("DenyKmsDeletion", "Deny", "kms:ScheduleKeyDeletion", "*"),
    ])


def scp_account():
    return policy([
        stmt("FullAWSAccess", "Allow", "*", "*"),
        stmt("RequireTeamTagForModels", "Deny", "bedrock:InvokeModel*", "*",
             {"Null": {"aws:PrincipalTag/team": "true"},
              "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/admin"}}),
        stmt("DenyPublicBuckets", "Deny", ["s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"], "*"),
        stmt("DenyOutsideNetwork", "Deny", "bedrock:*", "*",
             {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8", "::1/128"]}}),
        stmt("DenyGuardrailChanges", "Deny", ["bedrock:DeleteGuardrail", "bedrock:UpdateGuardrail"], "*",
             {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/SecurityAdmin"}}),
    ])


FILES = {
    "identity/user-managed-01-bedrock-invoke.json": bedrock_invoke,
    "identity/user-managed-02-s3-data.json": s3_data,
    "identity/user-managed-03-dynamodb.json": dynamodb,
    "identity/user-managed-04-kms.json": kms,
    "identity/user-managed-05-logs.json": logs,
    "identity/user-managed-06-iam-self.json": iam_self,
    "identity/user-managed-07-guard-rails.json": guard_rails,
    "identity/user-inline-08-basics.json": user_inline,
    "identity/group-inline-09-team.json": group_inline,
    "identity/group-managed-10-ml-readonly.json": group_managed,
    "boundary.json": boundary,
    "scp/1-root.json": scp_root,
    "scp/2-ou-workloads.json": scp_ou,
    "scp/3-account.json": scp_account,
}

# Not attached by default (the user has 10 policies); kept for a heavier run.
EXTRA = {
    "extra/sts.json": sts,
    "extra/bedrock-agents.json": bedrock_agents,
    "extra/ec2.json": ec2_read,
}


def main():
    for name, make in {**FILES, **EXTRA}.items():
        path = os.path.join(HERE, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        compact = name.startswith("identity/user-inline")
        with open(path, "w") as f:
            if compact:
                json.dump(make(), f, separators=(",", ":"))
            else:
                json.dump(make(), f, indent=2)
            f.write("\n")
    print(f"wrote {len(FILES) + len(EXTRA)} policy files under {HERE}")


if __name__ == "__main__":
    main()
