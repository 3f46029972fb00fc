//! What a handler takes from a request: JSON bodies and paths whose
//! rejections are JSON errors, the client address, and the caller behind
//! the bearer token.
//!
//! Extractors stay at the HTTP edge: rules take the values they yield
//! (a [`Caller`], an address), so the web app's cookie routes call the same
//! rules without building these.

use axum::extract::{FromRequest, FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::{ApiError, ApiResult};
use crate::rules::session::{self, Caller};
use crate::state::AppState;

/// A caller whose session may do anything its user may.
pub struct SignedIn(pub Caller);

/// A caller whose session may at least set up 2FA (all sessions).
pub struct AnySession(pub Caller);

/// The client's IP address, for per-address limits and the audit log:
/// the socket's, or behind a trusted proxy the one it forwarded
/// (`client_addr`).
pub struct ClientAddr(pub String);

fn addr_of(parts: &Parts) -> String {
    crate::client_addr::of(parts)
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(addr_of(parts)))
    }
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        load_caller(parts, state).await.map(AnySession)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = load_caller(parts, state).await?;
        if caller.setup_only {
            return Err(ApiError::SetupRequired);
        }
        Ok(SignedIn(caller))
    }
}

async fn load_caller(parts: &Parts, state: &AppState) -> ApiResult<Caller> {
    let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
    session::load_caller(state, &token, addr_of(parts)).await
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() {
        None
    } else {
        Some(token.to_string())
    }
}

/// `axum::Json` whose rejections are API errors with a JSON body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with JSON errors.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}
