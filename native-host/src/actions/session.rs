//! The session: who is signed in here, signing out, and API calls made
//! with the session token.
//!
//! The **session token** lives in the OS keyring and nowhere else. The
//! keyring is shared by every host process of this OS user (the browser
//! starts one per port), so signing in on one port signs in all of them.

use reqwest::Method;
use serde::de::DeserializeOwned;
use shared::api::{DisableRequest, TwoFactorState};
use shared::two_factor::SessionView;
use shared::{ErrorBody, ErrorCode};

use super::json;
use super::sign_in::Challenge;
use crate::api_client::CallError;
use crate::secrets::SecretKind;
use crate::services::Services;
use crate::status_cache::CachedStatus;

/// Who is signed in here: the keyring decides whether anyone is, the API
/// what their 2FA is; the cache answers (stale) when the API does not.
pub async fn session(s: &Services) -> Result<SessionView, ErrorBody> {
    let token = match s.secret_get(SecretKind::SessionToken).await? {
        Some(token) => token,
        None => {
            s.status_cache().write(None).await;
            return Ok(SessionView::signed_out());
        }
    };
    let result: Result<TwoFactorState, CallError> = s
        .api()
        .call_json(Method::GET, "/two-factor", Some(&token), None)
        .await;
    match result {
        Ok(two_factor) => {
            let email = s.status_cache().set_two_factor(two_factor.clone()).await;
            if let Some(email) = email.as_deref() {
                super::vault::sync_with_api(s, email, &two_factor).await;
            }
            Ok(SessionView {
                signed_in: true,
                email,
                two_factor: Some(two_factor),
                stale: false,
            })
        }
        Err(e) if e.is_session_rejected() => {
            forget_session(s).await?;
            Ok(SessionView::signed_out())
        }
        Err(CallError::Unreachable(_)) => {
            let cached = s.status_cache().read().await.unwrap_or_default();
            Ok(SessionView {
                signed_in: true,
                email: cached.email,
                two_factor: cached.two_factor,
                stale: true,
            })
        }
        Err(e) => Err(e.into_body()),
    }
}

/// Ends this computer's session. The local token goes even when the API
/// cannot be told: nobody can use a token nobody has. The trusted-device
/// token stays, so the next sign-in skips the code.
pub async fn sign_out(s: &Services, challenge: &Challenge) -> Result<SessionView, ErrorBody> {
    challenge.clear().await;
    if let Some(token) = s.secret_get(SecretKind::SessionToken).await? {
        if let Err(e) = s
            .api()
            .call(Method::POST, "/sign-out", Some(&token), None)
            .await
        {
            tracing::info!(error = %e, "the API was not told of the sign-out");
        }
    }
    forget_session(s).await?;
    Ok(SessionView::signed_out())
}

/// Ends every session of the person. Unlike [`sign_out`] this needs the
/// API: if it cannot be reached the person is told, and stays signed in
/// here, rather than believing the other sessions ended.
pub async fn sign_out_everywhere(s: &Services) -> Result<SessionView, ErrorBody> {
    authed_empty(s, Method::POST, "/sign-out/everywhere", None).await?;
    forget_session(s).await?;
    Ok(SessionView::signed_out())
}

/// Turns 2FA off, then answers the new session view. The API revokes
/// every trusted device, so the stored device token goes too.
pub async fn disable(
    s: &Services,
    password: String,
    confirm: bool,
) -> Result<SessionView, ErrorBody> {
    let body = json(&DisableRequest { password, confirm })?;
    authed_empty(s, Method::POST, "/two-factor/disable", Some(body)).await?;
    s.secret_delete(SecretKind::TrustedDeviceToken).await?;
    session(s).await
}

/// Uses one of the grace period's skips for this session (issue 14), then
/// answers with the session as it now stands.
pub async fn skip_setup(s: &Services) -> Result<SessionView, ErrorBody> {
    authed_empty(
        s,
        Method::POST,
        "/two-factor/setup/skip",
        Some(serde_json::json!({})),
    )
    .await?;
    session(s).await
}

/// Stores a new session token (ending the one it replaces), reads the
/// person's 2FA and caches what is not secret.
pub(crate) async fn start_session(
    s: &Services,
    token: String,
    email: Option<String>,
) -> Result<SessionView, ErrorBody> {
    let old = s.secret_get(SecretKind::SessionToken).await?;
    s.secret_set(SecretKind::SessionToken, token.clone())
        .await?;
    if let Some(old) = old.filter(|old| *old != token) {
        // Best effort, in the background so the sign-in answers without
        // waiting on it: an old session left open on the server is
        // harmless once its token is gone from here.
        end_in_background(s, old);
    }
    let two_factor: Option<TwoFactorState> = s
        .api()
        .call_json(Method::GET, "/two-factor", Some(&token), None)
        .await
        .ok();
    let cached = CachedStatus {
        email: email.clone(),
        two_factor: two_factor.clone(),
    };
    s.status_cache().write(Some(cached)).await;
    Ok(SessionView {
        signed_in: true,
        email,
        two_factor,
        stale: false,
    })
}

/// Signs a session this host will not keep out at the API, in the
/// background: best effort.
pub(crate) fn end_in_background(s: &Services, token: String) {
    let http = s.api().clone();
    tokio::spawn(async move {
        if let Err(e) = http
            .call(Method::POST, "/sign-out", Some(&token), None)
            .await
        {
            tracing::info!(error = %e, "a session this host does not keep was not signed out");
        }
    });
}

/// A call with the stored session token. A session the API rejects (401
/// `unauthorized`) is forgotten and the person hears they were signed out.
pub(crate) async fn authed<T: DeserializeOwned>(
    s: &Services,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<T, ErrorBody> {
    let token = session_token(s).await?;
    let result = s
        .api()
        .call_json(method, path, Some(&token), body.as_ref())
        .await;
    check_session(s, result).await
}

/// [`authed`] for a call the API answers without a body.
pub(crate) async fn authed_empty(
    s: &Services,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(), ErrorBody> {
    let token = session_token(s).await?;
    let result = s
        .api()
        .call(method, path, Some(&token), body.as_ref())
        .await
        .map(|_| ());
    check_session(s, result).await
}

async fn check_session<T>(s: &Services, result: Result<T, CallError>) -> Result<T, ErrorBody> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.is_session_rejected() => {
            forget_session(s).await?;
            Err(ErrorBody::new(
                ErrorCode::Unauthorized,
                "You were signed out (the session ended or was revoked). Sign in again.",
            ))
        }
        Err(e) => Err(e.into_body()),
    }
}

/// The stored session token, or `unauthorized` when nobody is signed in.
pub(crate) async fn session_token(s: &Services) -> Result<String, ErrorBody> {
    s.secret_get(SecretKind::SessionToken)
        .await?
        .ok_or_else(|| ErrorBody::new(ErrorCode::Unauthorized, "Sign in first."))
}

/// Deletes the session token and the cached status.
async fn forget_session(s: &Services) -> Result<(), ErrorBody> {
    s.secret_delete(SecretKind::SessionToken).await?;
    s.status_cache().write(None).await;
    Ok(())
}

/// After a change of the person's 2FA: re-read it for the cache. A failure
/// only leaves the cache older.
pub(crate) async fn refresh_cache_quietly(s: &Services) {
    if let Ok(Some(token)) = s.secret_get(SecretKind::SessionToken).await {
        if let Ok(two_factor) = s
            .api()
            .call_json::<TwoFactorState>(Method::GET, "/two-factor", Some(&token), None)
            .await
        {
            s.status_cache().set_two_factor(two_factor).await;
        }
    }
}
