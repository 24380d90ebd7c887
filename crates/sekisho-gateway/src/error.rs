//! Errors on the wire.
//!
//! Handlers return an [`ApiError`] with a protocol-neutral [`ErrorKind`];
//! the protocol encoder of the service in use renders it in that protocol's
//! exact shape (query/XML, awsJson, rest-json) with the code that service's
//! SDK expects, so boto3 raises its usual exception classes. STS says
//! `AccessDenied` where Bedrock says `AccessDeniedException`: the mapping
//! lives in [`ErrorKind::code`], nowhere else.

use std::fmt;

/// What went wrong, independent of protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller is not allowed (policy decision).
    AccessDenied,
    /// The access key id is unknown or inactive.
    UnrecognizedClient,
    /// The signature does not match.
    InvalidSignature,
    /// The request is missing authentication or is malformed in its
    /// authentication (no Authorization header, bad credential scope).
    MissingAuthentication,
    /// The authorization is present but incomplete or unreadable.
    IncompleteSignature,
    /// Signed too long ago or too far ahead (±5 minutes).
    RequestExpired,
    /// The session token is expired.
    ExpiredToken,
    /// The session token is malformed or forged.
    InvalidToken,
    /// A parameter is missing, malformed or out of range.
    Validation,
    /// A policy document is not valid.
    MalformedPolicyDocument,
    /// The named resource does not exist.
    NotFound,
    /// The resource already exists.
    EntityAlreadyExists,
    /// A quota is exhausted (e.g. two access keys per user).
    LimitExceeded,
    /// The resource is in a state that forbids the call (e.g. deleting a
    /// user that still has keys).
    Conflict,
    /// Too many requests.
    Throttling,
    /// The backend model did not answer in time.
    ModelTimeout,
    /// The backend model failed or refused.
    ModelError,
    /// The model is not ready / not available in this region.
    ModelNotReady,
    /// A control needed to serve the request cannot run (fail closed).
    ServiceUnavailable,
    /// The operation is not known at this endpoint.
    UnknownOperation,
    /// Body too large, unsupported media type, and similar.
    PayloadTooLarge,
    /// An unexpected failure inside Sekisho.
    Internal,
}

/// Which protocol family renders the error (codes differ between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Query protocol with XML responses (STS, IAM).
    Query,
    /// awsJson 1.0/1.1 and rest-json (Bedrock, KMS, CloudTrail, Logs).
    Json,
}

impl ErrorKind {
    /// The error code the service's SDK maps to an exception class.
    pub fn code(self, dialect: Dialect) -> &'static str {
        use Dialect::*;
        use ErrorKind::*;
        match (self, dialect) {
            (AccessDenied, Query) => "AccessDenied",
            (AccessDenied, Json) => "AccessDeniedException",
            (UnrecognizedClient, Query) => "InvalidClientTokenId",
            (UnrecognizedClient, Json) => "UnrecognizedClientException",
            (InvalidSignature, Query) => "SignatureDoesNotMatch",
            (InvalidSignature, Json) => "InvalidSignatureException",
            (MissingAuthentication, Query) => "MissingAuthenticationToken",
            (MissingAuthentication, Json) => "MissingAuthenticationTokenException",
            (IncompleteSignature, Query) => "IncompleteSignature",
            (IncompleteSignature, Json) => "IncompleteSignatureException",
            // STS and IAM say SignatureDoesNotMatch ("Signature expired").
            (RequestExpired, Query) => "SignatureDoesNotMatch",
            (RequestExpired, Json) => "InvalidSignatureException",
            (ExpiredToken, Query) => "ExpiredToken",
            (ExpiredToken, Json) => "ExpiredTokenException",
            (InvalidToken, Query) => "InvalidClientTokenId",
            (InvalidToken, Json) => "UnrecognizedClientException",
            (Validation, Query) => "ValidationError",
            (Validation, Json) => "ValidationException",
            (MalformedPolicyDocument, Query) => "MalformedPolicyDocument",
            (MalformedPolicyDocument, Json) => "ValidationException",
            (NotFound, Query) => "NoSuchEntity",
            (NotFound, Json) => "ResourceNotFoundException",
            (EntityAlreadyExists, Query) => "EntityAlreadyExists",
            (EntityAlreadyExists, Json) => "ConflictException",
            (LimitExceeded, Query) => "LimitExceeded",
            (LimitExceeded, Json) => "ServiceQuotaExceededException",
            (Conflict, Query) => "DeleteConflict",
            (Conflict, Json) => "ConflictException",
            (Throttling, Query) => "Throttling",
            (Throttling, Json) => "ThrottlingException",
            (ModelTimeout, _) => "ModelTimeoutException",
            (ModelError, _) => "ModelErrorException",
            (ModelNotReady, _) => "ModelNotReadyException",
            (ServiceUnavailable, Query) => "ServiceUnavailable",
            (ServiceUnavailable, Json) => "ServiceUnavailableException",
            (UnknownOperation, Query) => "InvalidAction",
            (UnknownOperation, Json) => "UnknownOperationException",
            (PayloadTooLarge, Query) => "ValidationError",
            (PayloadTooLarge, Json) => "ValidationException",
            (Internal, Query) => "InternalFailure",
            (Internal, Json) => "InternalServerException",
        }
    }

    /// HTTP status.
    pub fn status(self) -> u16 {
        use ErrorKind::*;
        match self {
            AccessDenied
            | UnrecognizedClient
            | InvalidSignature
            | MissingAuthentication
            | IncompleteSignature
            | RequestExpired
            | ExpiredToken
            | InvalidToken => 403,
            Validation | MalformedPolicyDocument | UnknownOperation => 400,
            NotFound => 404,
            EntityAlreadyExists | Conflict => 409,
            LimitExceeded => 409,
            Throttling => 429,
            ModelTimeout => 408,
            ModelError => 424,
            ModelNotReady => 429,
            ServiceUnavailable => 503,
            PayloadTooLarge => 413,
            Internal => 500,
        }
    }

    /// Whether the client is at fault (`Sender`) or the server (`Receiver`).
    pub fn is_sender_fault(self) -> bool {
        !matches!(
            self,
            ErrorKind::Internal
                | ErrorKind::ServiceUnavailable
                | ErrorKind::ModelTimeout
                | ErrorKind::ModelError
        )
    }
}

/// An error for the client. The message is shown to the caller and so never
/// holds a secret, a token or a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Overrides the code of [`ErrorKind::code`] where a service has its own
    /// (e.g. IAM's `NoSuchEntity` vs Bedrock's `ResourceNotFoundException`
    /// are covered, but `InvalidInput` or `EntityTemporarilyUnmodifiable`
    /// are not).
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    pub fn code(&self, dialect: Dialect) -> &'static str {
        self.code.unwrap_or_else(|| self.kind.code(dialect))
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Validation, message)
    }

    pub fn access_denied(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::AccessDenied, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}
