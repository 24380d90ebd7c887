//! IAM's error codes and AWS-like messages.

use std::fmt;

/// The IAM error code of a failed operation (the `Code` of the query
/// protocol's `<Error>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IamErrorKind {
    /// The named entity does not exist.
    NoSuchEntity,
    /// An entity with that name (names are case-insensitive) exists.
    EntityAlreadyExists,
    /// A quota would be exceeded.
    LimitExceeded,
    /// The entity still has subordinate entities or attachments.
    DeleteConflict,
    /// A value is syntactically fine but not acceptable (a bad ARN, a
    /// reserved tag key, duplicate tag keys...).
    InvalidInput,
    /// The policy document is not a valid policy of its kind.
    MalformedPolicyDocument,
    /// A parameter breaks the API's pattern or length constraints.
    ValidationError,
    /// The entity is AWS-managed and cannot be changed.
    UnmodifiableEntity,
    /// The MFA codes given to `EnableMFADevice` were not accepted.
    InvalidAuthenticationCode,
    /// An internal failure (no randomness, an inconsistent state): the
    /// request is refused, never served from a doubtful state.
    ServiceFailure,
}

impl IamErrorKind {
    /// The wire code, as AWS spells it.
    pub fn code(self) -> &'static str {
        match self {
            IamErrorKind::NoSuchEntity => "NoSuchEntity",
            IamErrorKind::EntityAlreadyExists => "EntityAlreadyExists",
            IamErrorKind::LimitExceeded => "LimitExceeded",
            IamErrorKind::DeleteConflict => "DeleteConflict",
            IamErrorKind::InvalidInput => "InvalidInput",
            IamErrorKind::MalformedPolicyDocument => "MalformedPolicyDocument",
            IamErrorKind::ValidationError => "ValidationError",
            IamErrorKind::UnmodifiableEntity => "UnmodifiableEntity",
            IamErrorKind::InvalidAuthenticationCode => "InvalidAuthenticationCode",
            IamErrorKind::ServiceFailure => "ServiceFailure",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            IamErrorKind::NoSuchEntity => 404,
            IamErrorKind::EntityAlreadyExists
            | IamErrorKind::LimitExceeded
            | IamErrorKind::DeleteConflict => 409,
            IamErrorKind::InvalidAuthenticationCode => 403,
            IamErrorKind::ServiceFailure => 500,
            IamErrorKind::InvalidInput
            | IamErrorKind::MalformedPolicyDocument
            | IamErrorKind::ValidationError
            | IamErrorKind::UnmodifiableEntity => 400,
        }
    }

    /// `Sender` or `Receiver` (the `Type` of the query protocol's error).
    pub fn fault(self) -> &'static str {
        match self {
            IamErrorKind::ServiceFailure => "Receiver",
            _ => "Sender",
        }
    }
}

impl fmt::Display for IamErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed IAM operation: the code and a message in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct IamError {
    pub kind: IamErrorKind,
    pub message: String,
}

impl IamError {
    pub fn new(kind: IamErrorKind, message: impl Into<String>) -> IamError {
        IamError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn no_such(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::NoSuchEntity, message)
    }

    pub(crate) fn exists(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::EntityAlreadyExists, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::LimitExceeded, message)
    }

    pub(crate) fn quota(name: &str, limit: usize) -> IamError {
        IamError::limit(format!("Cannot exceed quota for {name}: {limit}"))
    }

    pub(crate) fn conflict(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::DeleteConflict, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::ServiceFailure, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::InvalidInput, message)
    }

    pub(crate) fn malformed(message: impl Into<String>) -> IamError {
        IamError::new(IamErrorKind::MalformedPolicyDocument, message)
    }

    /// AWS's wording for a broken API constraint.
    pub(crate) fn validation(value: Option<&str>, field: &str, constraint: &str) -> IamError {
        let message = match value {
            Some(v) => format!(
                "1 validation error detected: Value '{}' at '{field}' failed to satisfy constraint: {constraint}",
                shorten(v)
            ),
            None => format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"
            ),
        };
        IamError::new(IamErrorKind::ValidationError, message)
    }

    pub(crate) fn user_not_found(name: &str) -> IamError {
        IamError::no_such(format!("The user with name {name} cannot be found."))
    }

    pub(crate) fn group_not_found(name: &str) -> IamError {
        IamError::no_such(format!("The group with name {name} cannot be found."))
    }

    pub(crate) fn role_not_found(name: &str) -> IamError {
        IamError::no_such(format!("The role with name {name} cannot be found."))
    }

    pub(crate) fn policy_not_found(arn: &str) -> IamError {
        IamError::no_such(format!("Policy {arn} does not exist or is not attachable."))
    }
}

/// Values echoed in messages are kept short and printable.
fn shorten(value: &str) -> String {
    const MAX: usize = 256;
    let mut out: String = value
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > MAX {
        out.push_str("...");
    }
    out
}
