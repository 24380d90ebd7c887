//! One error type for the whole crate, mapped onto KMS exception names.
//!
//! Messages name keys, aliases, paths and limits, never key material or
//! plaintext: they go back to API clients and into logs.

/// Every failure of this crate. [`KeyError::code`] gives the KMS exception
/// name the gateway puts in `__type`; `Display` gives the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key, alias or policy does not exist (in this region and account).
    #[error("{0}")]
    NotFound(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The key's state does not allow the operation (pending deletion...).
    #[error("{0}")]
    InvalidState(String),
    /// The ciphertext is malformed, tampered with, or its context differs.
    #[error("{0}")]
    InvalidCiphertext(String),
    /// The caller named a key other than the one that made the ciphertext.
    #[error("{0}")]
    IncorrectKey(String),
    /// A parameter is out of range or malformed.
    #[error("{0}")]
    Validation(String),
    /// The alias already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The alias name is malformed or reserved.
    #[error("{0}")]
    InvalidAliasName(String),
    /// Asked for something this key service does not offer (asymmetric keys...).
    #[error("{0}")]
    UnsupportedOperation(String),
    /// A quota was exceeded (tags per key, on-demand rotations...).
    #[error("{0}")]
    LimitExceeded(String),
    /// A tag is not valid.
    #[error("{0}")]
    Tag(String),
    /// The key policy is not acceptable.
    #[error("{0}")]
    MalformedPolicy(String),
    /// Randomness or cryptography failed, or a persisted record is corrupt.
    #[error("{0}")]
    Internal(String),
    /// The master key could not be loaded or created (a setup problem: the
    /// message says what to fix).
    #[error("{0}")]
    MasterKey(String),
}

impl KeyError {
    /// The exact KMS exception name for this error.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::NotFound(_) => "NotFoundException",
            KeyError::Disabled(_) => "DisabledException",
            KeyError::InvalidState(_) => "KMSInvalidStateException",
            KeyError::InvalidCiphertext(_) => "InvalidCiphertextException",
            KeyError::IncorrectKey(_) => "IncorrectKeyException",
            KeyError::Validation(_) => "ValidationException",
            KeyError::AlreadyExists(_) => "AlreadyExistsException",
            KeyError::InvalidAliasName(_) => "InvalidAliasNameException",
            KeyError::UnsupportedOperation(_) => "UnsupportedOperationException",
            KeyError::LimitExceeded(_) => "LimitExceededException",
            KeyError::Tag(_) => "TagException",
            KeyError::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            KeyError::Internal(_) | KeyError::MasterKey(_) => "KMSInternalException",
        }
    }

    /// The message alone (same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// True for errors the client caused (HTTP 400); false for 500.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, KeyError::Internal(_) | KeyError::MasterKey(_))
    }

    pub(crate) fn internal(what: &str) -> KeyError {
        KeyError::Internal(format!("internal cryptographic failure: {what}"))
    }

    /// The one message for every undecryptable blob: saying which check failed
    /// would help an attacker probe.
    pub(crate) fn bad_ciphertext() -> KeyError {
        KeyError::InvalidCiphertext(
            "The ciphertext is invalid, was modified, or its encryption context does not match."
                .to_string(),
        )
    }
}
