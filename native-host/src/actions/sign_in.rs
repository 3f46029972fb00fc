//! `sign_in`, `answer_challenge`, `resend_sms`.
//!
//! The **challenge token** of a sign-in waiting for its second factor lives
//! in this process's memory only. It is good for ten minutes and one
//! answer, and the port that started the sign-in is the one that answers it
//! (the extension's service worker keeps its native port open while it
//! waits for the code). Keeping it out of the keyring means a crashed or
//! closed port leaves nothing behind; the cost is that a port closed in the
//! middle of a sign-in makes the person type the password again.

use reqwest::Method;
use shared::api::{
    ChallengeAnswer, ChallengeResult, ResendRequest, SignInRequest, SignInResponse, SmsCodeSent,
};
use shared::two_factor::SignInOutcome;
use shared::{ErrorBody, ErrorCode};
use tokio::sync::Mutex;

use super::session::start_session;
use super::{json, trusted_devices};
use crate::api_client::CallError;
use crate::secrets::SecretKind;
use crate::services::Services;

/// The label the API shows in the trusted-device list for this computer.
const DEVICE_LABEL: &str = "dialer-2fa browser extension";

/// A sign-in waiting for its second factor. Debug leaves the token out.
struct PendingChallenge {
    token: String,
    email: String,
}

impl std::fmt::Debug for PendingChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingChallenge").finish_non_exhaustive()
    }
}

/// The sign-in waiting for a code on this port, if any.
#[derive(Debug, Default)]
pub struct Challenge(Mutex<Option<PendingChallenge>>);

impl Challenge {
    pub(crate) async fn clear(&self) {
        *self.0.lock().await = None;
    }
}

/// Password sign-in, presenting this computer's trusted-device token. The
/// keyring is read first: without it no session could be kept, so the
/// password is not even sent.
pub async fn sign_in(
    s: &Services,
    challenge: &Challenge,
    email: String,
    password: String,
) -> Result<SignInOutcome, ErrorBody> {
    let device_token = s.secret_get(SecretKind::TrustedDeviceToken).await?;
    let email = email.trim().to_string();
    let body = json(&SignInRequest {
        email: email.clone(),
        password,
        trusted_device_token: device_token,
    })?;
    let response: SignInResponse = s
        .api()
        .call_json(Method::POST, "/sign-in", None, Some(&body))
        .await
        .map_err(CallError::into_body)?;
    match response {
        SignInResponse::Authenticated { session_token, .. } => {
            challenge.clear().await;
            let session = start_session(s, session_token, Some(email)).await?;
            Ok(SignInOutcome::SignedIn { session })
        }
        SignInResponse::TwoFactorRequired {
            challenge_token,
            method,
            phone_hint,
            expires_at,
        } => {
            *challenge.0.lock().await = Some(PendingChallenge {
                token: challenge_token,
                email,
            });
            Ok(SignInOutcome::TwoFactorRequired {
                method,
                phone_hint,
                expires_at,
            })
        }
        SignInResponse::TwoFactorSetupRequired { session_token, .. } => {
            challenge.clear().await;
            let session = start_session(s, session_token, Some(email)).await?;
            Ok(SignInOutcome::SetupRequired { session })
        }
    }
}

/// Answers the pending challenge; with `remember_device` the returned
/// 60-day token replaces the stored one.
pub async fn answer_challenge(
    s: &Services,
    challenge: &Challenge,
    code: Option<String>,
    recovery_code: Option<String>,
    remember_device: bool,
) -> Result<SignInOutcome, ErrorBody> {
    let mut pending = challenge.0.lock().await;
    let waiting = pending.as_ref().ok_or_else(no_pending_challenge)?;
    let email = waiting.email.clone();
    let used_recovery_code = recovery_code.clone();
    let body = json(&ChallengeAnswer {
        challenge_token: waiting.token.clone(),
        code,
        recovery_code,
        remember_device,
        device_label: remember_device.then(|| DEVICE_LABEL.to_string()),
    })?;
    let result: Result<ChallengeResult, CallError> = s
        .api()
        .call_json(Method::POST, "/sign-in/challenge", None, Some(&body))
        .await;
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            // A dead challenge cannot be answered again: forget it so the
            // next answer says "sign in again" without asking.
            if let CallError::Api(body) = &e {
                if matches!(
                    body.code,
                    ErrorCode::CodeExpired | ErrorCode::TooManyAttempts
                ) {
                    *pending = None;
                }
            }
            return Err(e.into_body());
        }
    };
    *pending = None;
    drop(pending);
    if let Some(device_token) = &result.trusted_device_token {
        trusted_devices::store_device_token(s, device_token.clone(), Some(&email)).await?;
    }
    if let Some(typed) = used_recovery_code {
        super::vault::mark_code_used(s, &email, typed).await;
    }
    let session = start_session(s, result.session_token, Some(email)).await?;
    Ok(SignInOutcome::SignedIn { session })
}

pub async fn resend_sms(s: &Services, challenge: &Challenge) -> Result<SmsCodeSent, ErrorBody> {
    let pending = challenge.0.lock().await;
    let waiting = pending.as_ref().ok_or_else(no_pending_challenge)?;
    let body = json(&ResendRequest {
        challenge_token: waiting.token.clone(),
    })?;
    drop(pending);
    s.api()
        .call_json(Method::POST, "/sign-in/challenge/resend", None, Some(&body))
        .await
        .map_err(CallError::into_body)
}

fn no_pending_challenge() -> ErrorBody {
    ErrorBody::new(
        ErrorCode::CodeExpired,
        "No sign-in is waiting for a code here (it expired, was completed, or the helper \
         restarted). Sign in again.",
    )
}
