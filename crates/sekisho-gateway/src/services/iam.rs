//! IAM (Query protocol): being written.

use crate::error::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::services::{Call, Reply};

pub async fn handle(_gateway: &Gateway, call: Call) -> Result<Reply, ApiError> {
    Err(ApiError::new(ErrorKind::UnknownOperation, format!("{} is being written", call.op.name)))
}
