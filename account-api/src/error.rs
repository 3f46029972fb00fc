//! Typed errors of the API and their wire form.
//!
//! Every failure becomes `{"error": {"code", "message"}}` with a status that
//! matches the code; the code comes from `shared::ErrorCode` so the host and
//! the extension read the same enum. Internal errors are logged (without
//! secrets: nothing here carries a token or code) and answered with a
//! generic message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::ApiError as WireError;
use shared::{ErrorBody, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first: the session token is missing, expired or revoked")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    InvalidCode(String),
    #[error("this code was already used; wait for the next one")]
    ReusedCode,
    #[error("{0}")]
    CodeExpired(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("too many failed attempts; try again in {}", wait_words(*retry_after))]
    RateLimited { retry_after: i64 },
    #[error("two-factor authentication must be set up first; this session can only set it up")]
    SetupRequired,
    #[error("enter your password again to make this change")]
    PasswordRequired,
    #[error("two-factor authentication is required for you ({0}), so it cannot be turned off")]
    NotAllowedWhileEnforced(String),
    #[error("{0}")]
    InvalidPhone(String),
    #[error("this number is one of our own phone lines; use your personal number")]
    PhoneIsPlatformLine,
    #[error("a code was sent moments ago; you can ask for another in {}", wait_words(*retry_after))]
    ResendCooldown { retry_after: i64 },
    #[error("two-factor authentication is not turned on")]
    TwoFactorNotEnabled,
    #[error("{0}")]
    ConfirmationRequired(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("the grace period for setting up two-factor authentication is over, or its skips are used up; set it up now")]
    GraceExhausted,
    #[error("a reminder went to this account less than a day ago; the next one can go in {}", wait_words(*retry_after))]
    ReminderTooSoon { retry_after: i64 },
    /// The provider's own words are logged, never answered: they can name
    /// the provider account or its internals.
    #[error("the text message could not be sent; try again in a minute")]
    SmsDeliveryFailed,
    /// An hourly SMS cap (per user, number, country or overall) is reached.
    #[error("{message}")]
    SmsCapReached { message: String, retry_after: i64 },
    /// The server could not take the request on now, and did nothing:
    /// every Argon2 slot stayed taken for the whole bounded wait (the
    /// password was not checked and nothing was counted), or on PostgreSQL
    /// no pooled connection came free, a lock stayed held past
    /// `db::LOCK_WAIT`, or every serialization race was lost.
    #[error("the server is busy; try again in {}", wait_words(*retry_after))]
    Busy { retry_after: i64 },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the server did not finish this request within {seconds} seconds; try again")]
    Timeout { seconds: u64 },
    /// `/v1/ready` failed a check; the message names which one.
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed(_) => ErrorCode::BadRequest,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ApiError::InvalidCode(_) => ErrorCode::InvalidCode,
            ApiError::ReusedCode => ErrorCode::ReusedCode,
            ApiError::CodeExpired(_) => ErrorCode::CodeExpired,
            ApiError::TooManyAttempts(_) => ErrorCode::TooManyAttempts,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::SetupRequired => ErrorCode::SetupRequired,
            ApiError::PasswordRequired => ErrorCode::PasswordRequired,
            ApiError::NotAllowedWhileEnforced(_) => ErrorCode::NotAllowedWhileEnforced,
            ApiError::InvalidPhone(_) => ErrorCode::InvalidPhone,
            ApiError::PhoneIsPlatformLine => ErrorCode::PhoneIsPlatformLine,
            ApiError::ResendCooldown { .. } => ErrorCode::ResendCooldown,
            ApiError::TwoFactorNotEnabled => ErrorCode::TwoFactorNotEnabled,
            ApiError::ConfirmationRequired(_) => ErrorCode::ConfirmationRequired,
            ApiError::WeakPassword(_) => ErrorCode::WeakPassword,
            ApiError::GraceExhausted => ErrorCode::GraceExhausted,
            ApiError::ReminderTooSoon { .. } => ErrorCode::ReminderTooSoon,
            ApiError::SmsDeliveryFailed => ErrorCode::SmsDeliveryFailed,
            ApiError::SmsCapReached { .. } => ErrorCode::RateLimited,
            ApiError::Busy { .. } => ErrorCode::RateLimited,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::Timeout { .. } => ErrorCode::Timeout,
            ApiError::NotReady(_) => ErrorCode::NotReady,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::InvalidPhone(_)
            | ApiError::PhoneIsPlatformLine
            | ApiError::ConfirmationRequired(_)
            | ApiError::WeakPassword(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized
            | ApiError::InvalidCredentials
            | ApiError::InvalidCode(_)
            | ApiError::ReusedCode
            | ApiError::CodeExpired(_)
            | ApiError::PasswordRequired => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::SetupRequired
            | ApiError::GraceExhausted
            | ApiError::NotAllowedWhileEnforced(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::TwoFactorNotEnabled => StatusCode::CONFLICT,
            ApiError::TooManyAttempts(_)
            | ApiError::RateLimited { .. }
            | ApiError::ResendCooldown { .. }
            | ApiError::SmsCapReached { .. }
            | ApiError::ReminderTooSoon { .. }
            | ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::SmsDeliveryFailed => StatusCode::BAD_GATEWAY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout { .. } | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(what.to_string())
    }
}

/// Through `StoreError`, so both kinds of database error are judged in one
/// place.
impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        crate::store::StoreError::from(e).into()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_lock_wait_over() {
            // Said here since the client only hears "busy".
            tracing::warn!(error = %e, "a request waited too long for a database lock; answered busy");
            return ApiError::Busy { retry_after: 1 };
        }
        ApiError::Internal(format!("database: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "the server failed; try again later".to_string()
            }
            other => other.to_string(),
        };
        let retry_after = match &self {
            ApiError::SmsCapReached { retry_after, .. } => Some(*retry_after),
            ApiError::RateLimited { retry_after }
            | ApiError::ResendCooldown { retry_after }
            | ApiError::ReminderTooSoon { retry_after }
            | ApiError::Busy { retry_after } => Some(*retry_after),
            ApiError::Timeout { .. } => Some(1),
            _ => None,
        };
        let body = WireError {
            error: ErrorBody::new(self.code(), message),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A wait as a person reads it: "1 second", "15 minutes", "23 hours",
/// rounded up so that trying again after it works. The seconds themselves
/// go in Retry-After for programs.
pub fn wait_words(seconds: i64) -> String {
    let (n, unit) = match seconds.max(1) {
        s if s < 60 => (s, "second"),
        s if s < 2 * 3600 => ((s + 59) / 60, "minute"),
        s => ((s + 3599) / 3600, "hour"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_the_largest_sensible_unit_rounded_up_and_singular_for_one() {
        for (seconds, words) in [
            (0, "1 second"),
            (1, "1 second"),
            (30, "30 seconds"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (900, "15 minutes"),
            (7199, "120 minutes"),
            (7200, "2 hours"),
            (86_399, "24 hours"),
        ] {
            assert_eq!(wait_words(seconds), words, "{seconds} s");
        }
        assert_eq!(
            ApiError::Busy { retry_after: 1 }.to_string(),
            "the server is busy; try again in 1 second"
        );
    }
}
