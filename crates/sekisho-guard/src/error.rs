//! Configuration errors, each naming the offending field so the gateway can
//! answer `ValidationException` with the path a client can act on.

/// A guardrail configuration the engine refuses, with the JSON path of the
/// field (e.g. `sensitiveInformationPolicyConfig.regexesConfig[2].pattern`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
