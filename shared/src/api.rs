//! Wire types of the account API v1 that other processes read.
//!
//! The API generates its OpenAPI document from its own route definitions;
//! the bodies it returns to the host and the web app are these types.

use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;

/// Path prefix of every versioned route.
pub const API_PREFIX: &str = "/v1";

/// `GET /v1/health`: what the host reports as the API's status.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Always "ok" when the API answers at all.
    pub status: String,
    /// The API's crate version.
    pub version: String,
}

/// The envelope of every API error: `{"error": {"code", "message"}}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error: ErrorBody,
}
