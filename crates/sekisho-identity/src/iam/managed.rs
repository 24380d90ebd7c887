//! The AWS-managed policies Sekisho knows: attachable by every account, not
//! modifiable, never stored.

use std::sync::{Arc, LazyLock};

use time::OffsetDateTime;
use time::macros::datetime;

use super::model::{ManagedPolicy, PolicyDocument, PolicyVersion};
use super::validate;

/// The ARN prefix of AWS-managed policies.
pub const AWS_POLICY_PREFIX: &str = "arn:aws:iam::aws:policy";

struct Builtin {
    name: &'static str,
    id: &'static str,
    description: &'static str,
    created: OffsetDateTime,
    updated: OffsetDateTime,
    version: &'static str,
    document: &'static str,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "AdministratorAccess",
        id: "ANPAIWMBCKSKIEE64ZLYK",
        description: "Provides full access to AWS services and resources.",
        created: datetime!(2015-02-06 18:39:46 UTC),
        updated: datetime!(2015-02-06 18:39:46 UTC),
        version: "v1",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#,
    },
    Builtin {
        name: "PowerUserAccess",
        id: "ANPAJYRXTHIB4FOVS3ZXS",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        created: datetime!(2015-02-06 18:39:47 UTC),
        updated: datetime!(2023-07-06 22:04:00 UTC),
        version: "v5",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "NotAction": [
        "iam:*",
        "organizations:*",
        "account:*"
      ],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "iam:CreateServiceLinkedRole",
        "iam:DeleteServiceLinkedRole",
        "iam:ListRoles",
        "organizations:DescribeOrganization",
        "account:ListRegions",
        "account:GetAccountInformation"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    Builtin {
        name: "ReadOnlyAccess",
        id: "ANPAILL3HVNFSB6DCOWYQ",
        description: "Provides read-only access to AWS services and resources.",
        created: datetime!(2015-02-06 18:39:48 UTC),
        updated: datetime!(2024-06-01 00:00:00 UTC),
        version: "v1",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadOnlyActions",
      "Effect": "Allow",
      "Action": [
        "bedrock:Get*",
        "bedrock:List*",
        "cloudtrail:Describe*",
        "cloudtrail:Get*",
        "cloudtrail:List*",
        "cloudtrail:LookupEvents",
        "ec2:Describe*",
        "iam:Generate*",
        "iam:Get*",
        "iam:List*",
        "iam:Simulate*",
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "logs:Describe*",
        "logs:FilterLogEvents",
        "logs:Get*",
        "logs:ListTagsForResource",
        "logs:StartQuery",
        "logs:StopQuery",
        "logs:TestMetricFilter",
        "organizations:Describe*",
        "organizations:List*",
        "s3:Get*",
        "s3:List*",
        "sts:GetCallerIdentity",
        "verifiedpermissions:Get*",
        "verifiedpermissions:List*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    Builtin {
        name: "AmazonBedrockFullAccess",
        id: "ANPAZKAPJZG4DQB3MAXZE",
        description: "Provides full access to Amazon Bedrock and additional permissions for the services it depends on.",
        created: datetime!(2023-12-12 00:00:00 UTC),
        updated: datetime!(2024-09-01 00:00:00 UTC),
        version: "v1",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "BedrockAll",
      "Effect": "Allow",
      "Action": [
        "bedrock:*"
      ],
      "Resource": "*"
    },
    {
      "Sid": "DescribeKey",
      "Effect": "Allow",
      "Action": [
        "kms:DescribeKey"
      ],
      "Resource": "arn:*:kms:*:*:key/*"
    },
    {
      "Sid": "APIsWithAllResourceAccess",
      "Effect": "Allow",
      "Action": [
        "iam:ListRoles",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups"
      ],
      "Resource": "*"
    },
    {
      "Sid": "PassRoleToBedrock",
      "Effect": "Allow",
      "Action": [
        "iam:PassRole"
      ],
      "Resource": "arn:aws:iam::*:role/*AmazonBedrock*",
      "Condition": {
        "StringEquals": {
          "iam:PassedToService": [
            "bedrock.amazonaws.com"
          ]
        }
      }
    }
  ]
}"#,
    },
    Builtin {
        name: "AmazonBedrockReadOnly",
        id: "ANPAZKAPJZG4LXY3KW7DB",
        description: "Provides read-only access to Amazon Bedrock.",
        created: datetime!(2023-12-12 00:00:00 UTC),
        updated: datetime!(2024-09-01 00:00:00 UTC),
        version: "v1",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AmazonBedrockReadOnly",
      "Effect": "Allow",
      "Action": [
        "bedrock:Get*",
        "bedrock:List*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
];

static POLICIES: LazyLock<Vec<Arc<ManagedPolicy>>> = LazyLock::new(|| {
    BUILTINS
        .iter()
        // The documents are constants checked by this module's tests; one
        // that failed to compile would be left out, never half-loaded.
        .filter_map(|b| {
            let arn = format!("{AWS_POLICY_PREFIX}/{}", b.name);
            let compiled =
                validate::document(b.document, validate::DocumentKind::Managed, |_| Ok(())).ok()?;
            let mut document = PolicyDocument::new(b.document.to_string(), compiled);
            document.label(arn.clone());
            Some(Arc::new(ManagedPolicy {
                name: b.name.to_string(),
                path: "/".to_string(),
                id: b.id.to_string(),
                arn,
                description: Some(b.description.to_string()),
                create_date: b.created,
                update_date: b.updated,
                default_version_id: b.version.to_string(),
                versions: vec![PolicyVersion {
                    version_id: b.version.to_string(),
                    document,
                    create_date: b.updated,
                }],
                next_version: 2,
                tags: Vec::new(),
                aws_managed: true,
            }))
        })
        .collect()
});

/// Every AWS-managed policy, in a fixed order.
pub fn all() -> &'static [Arc<ManagedPolicy>] {
    &POLICIES
}

/// An AWS-managed policy by ARN.
pub fn by_arn(arn: &str) -> Option<&'static Arc<ManagedPolicy>> {
    POLICIES.iter().find(|p| p.arn == arn)
}

/// Does the ARN name an AWS-managed policy (known or not)?
pub fn is_aws_arn(arn: &str) -> bool {
    arn.strip_prefix(AWS_POLICY_PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_compiles() {
        assert_eq!(all().len(), BUILTINS.len());
        for p in all() {
            assert!(p.aws_managed);
            assert!(by_arn(&p.arn).is_some());
            assert!(is_aws_arn(&p.arn));
            let v = p.default_version().expect("default version");
            assert_eq!(v.document.policy().name.as_deref(), Some(p.arn.as_str()));
        }
        assert!(by_arn("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(by_arn("arn:aws:iam::aws:policy/Nope").is_none());
        assert!(!is_aws_arn("arn:aws:iam::aws:policyX/y"));
    }
}
