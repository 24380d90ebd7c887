//! The four ways KMS lets a caller name a key: key id, key ARN, alias name,
//! alias ARN.

use crate::error::KeyError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRef<'a> {
    Id(&'a str),
    KeyArn {
        region: &'a str,
        account: &'a str,
        id: &'a str,
    },
    AliasName(&'a str),
    AliasArn {
        region: &'a str,
        account: &'a str,
        name: &'a str,
    },
}

impl<'a> KeyRef<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<KeyRef<'a>, KeyError> {
        if text.is_empty() || text.len() > 2048 {
            return Err(KeyError::Validation(
                "KeyId must be 1 to 2048 characters".into(),
            ));
        }
        if let Some(rest) = text.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region, account, resource] = parts.as_slice() else {
                return Err(invalid_arn(text));
            };
            if *partition != "aws" || *service != "kms" {
                return Err(invalid_arn(text));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                return Ok(KeyRef::KeyArn {
                    region,
                    account,
                    id,
                });
            }
            if resource.starts_with("alias/") {
                return Ok(KeyRef::AliasArn {
                    region,
                    account,
                    name: resource,
                });
            }
            return Err(invalid_arn(text));
        }
        if text.starts_with("alias/") {
            return Ok(KeyRef::AliasName(text));
        }
        Ok(KeyRef::Id(text))
    }

    pub(crate) fn is_alias(&self) -> bool {
        matches!(self, KeyRef::AliasName(_) | KeyRef::AliasArn { .. })
    }
}

fn invalid_arn(text: &str) -> KeyError {
    KeyError::NotFound(format!("Invalid arn {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(KeyRef::parse("abc").unwrap(), KeyRef::Id("abc"));
        assert_eq!(
            KeyRef::parse("alias/x").unwrap(),
            KeyRef::AliasName("alias/x")
        );
        assert_eq!(
            KeyRef::parse("arn:aws:kms:r:1:key/k").unwrap(),
            KeyRef::KeyArn {
                region: "r",
                account: "1",
                id: "k"
            }
        );
        assert_eq!(
            KeyRef::parse("arn:aws:kms:r:1:alias/a/b").unwrap(),
            KeyRef::AliasArn {
                region: "r",
                account: "1",
                name: "alias/a/b"
            }
        );
        for bad in [
            "arn:aws:s3:r:1:key/k",
            "arn:aws:kms:r:1:grant/x",
            "arn:aws:kms",
            "",
        ] {
            assert!(KeyRef::parse(bad).is_err(), "{bad}");
        }
    }
}
