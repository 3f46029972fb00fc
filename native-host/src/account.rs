//! Sign-in and the person's own 2FA, proxied to the account API.
//!
//! The extension must never hold a token, so the host adds them to the API
//! requests and strips them from the replies:
//!
//! - the **session token** and the **trusted-device token** live in the OS
//!   keyring ([`crate::secrets`]) and nowhere else. The keyring is shared by
//!   every host process of this OS user (the browser starts one per port),
//!   so signing in on one port signs in all of them.
//! - the **challenge token** of a sign-in waiting for its second factor
//!   lives in this process's memory only. It is good for ten minutes and one
//!   answer, and the port that started the sign-in is the one that answers
//!   it (the extension's service worker keeps its native port open while it
//!   waits for the code). Keeping it out of the keyring means a crashed or
//!   closed port leaves nothing behind; the cost is that a port closed in
//!   the middle of a sign-in makes the person type the password again.
//!
//! Non-secret status (the signed-in email and the last 2FA state the API
//! reported) is cached in a small JSON file in the data dir, so `session`
//! can answer, marked stale, while the API is down. The API has no route
//! that returns the email, so it comes from the sign-in the person typed.
//!
//! Every API error reaches the extension as the API's own
//! [`ErrorCode`] and message; an API that does not answer is
//! `api_unreachable` within the client's timeouts (well under 5 s); a
//! keyring that does not answer is `keyring_unavailable`, with no fallback.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::api::{
    AccountList, AuthenticatorSetup, ChallengeAnswer, ChallengeResult, CodeRequest, DisableRequest,
    Enforcement, EnrollmentComplete, HandoffCode, HandoffRedeem, PasswordConfirmation,
    PasswordRequest, RecoveryCodes, ResendRequest, SessionGrant, SetEnforcement, SignInRequest,
    SignInResponse, SmsCodeSent, SmsSetupRequest, SwitchRequest, SwitchStarted, TrustedDeviceList,
    TwoFactorState,
};
use shared::two_factor::{AccountRequest, Done, SessionView, SignInOutcome};
use shared::web_sync::{PendingPrompt, WebAppPrompt};
use shared::{ErrorBody, ErrorCode};
use tokio::sync::Mutex;

use crate::api_client::{ApiClient, ApiClientError, CallError};
use crate::secrets::{SecretKind, Secrets, SecretsError};
use crate::vault::{Vault, VaultError, VAULT_FILE};

/// File name of the non-secret status cache under the data dir.
pub const STATUS_FILE: &str = "account-status.json";

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

/// File name, under the data dir, of the origins (with the person) allowed
/// to sign in through the extension on this computer. Not secret.
pub const CONSENT_FILE: &str = "web-app-consent.json";

/// A web app request waiting for the person. Debug leaves the token out.
enum PendingWeb {
    /// `handoff_request` the first time for this origin and person.
    SignIn {
        origin: String,
        email: Option<String>,
    },
    /// `handoff_offer` of another person's session, redeemed and held here.
    Switch {
        origin: String,
        from: Option<String>,
        grant: SessionGrant,
    },
}

impl PendingWeb {
    fn prompt(&self) -> WebAppPrompt {
        match self {
            PendingWeb::SignIn { origin, email } => WebAppPrompt::SignIn {
                origin: origin.clone(),
                email: email.clone(),
            },
            PendingWeb::Switch {
                origin,
                from,
                grant,
            } => WebAppPrompt::Switch {
                origin: origin.clone(),
                from: from.clone(),
                to: grant.email.clone(),
            },
        }
    }
}

/// The consent file: which (origin, person) pairs the person allowed.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct Consents {
    #[serde(default)]
    allowed: Vec<String>,
}

/// One allowed pair, as kept in the file: the origin and the person's
/// email folded to lower case (empty when the host does not know it).
fn consent_key(origin: &str, email: Option<&str>) -> String {
    format!(
        "{} {}",
        origin,
        email
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_default()
    )
}

/// The allowed pairs; a missing or unreadable file allows nothing.
fn read_consents(path: &Path) -> Vec<String> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Consents>(&bytes).ok())
        .map(|c| c.allowed)
        .unwrap_or_default()
}

/// Adds a pair. Blocking.
fn add_consent(path: &Path, key: String) -> std::io::Result<()> {
    let mut consents = Consents {
        allowed: read_consents(path),
    };
    if !consents.allowed.contains(&key) {
        consents.allowed.push(key);
    }
    write_json_private(path, &consents)
}

/// Atomic replace of a small non-secret JSON file, readable by this OS user
/// only. Blocking.
fn write_json_private<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{}.{}.tmp", name, std::process::id()));
    write_private(&tmp, &json)?;
    std::fs::rename(&tmp, path)
}

/// File name, under the data dir, of whose trusted-device token the keyring
/// holds (an email, not secret).
pub const DEVICE_OWNER_FILE: &str = "trusted-device-owner.json";

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
struct DeviceOwner {
    #[serde(default)]
    email: Option<String>,
}

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// What the status cache file holds: nothing secret.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
struct CachedStatus {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    two_factor: Option<TwoFactorState>,
}

/// The session logic of one host process. Held by the dispatcher.
pub struct Account {
    http: ApiClient,
    data_dir: PathBuf,
    /// The keyring, connected on first use; a failure is not kept, so
    /// unlocking the keyring fixes the next request.
    secrets: Arc<StdMutex<Option<Arc<Secrets>>>>,
    /// The sign-in waiting for a code on this port.
    challenge: Mutex<Option<PendingChallenge>>,
    /// Serialises writers of the status cache within this process.
    cache_lock: Mutex<()>,
    /// What the web app asked that waits for the person's answer in the
    /// popup. Memory only: a pending session is never written anywhere.
    web: Mutex<Option<PendingWeb>>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("api", &self.http.base_url())
            .finish_non_exhaustive()
    }
}

/// A request's outcome: a JSON result or a typed error for the extension.
pub type Outcome = Result<serde_json::Value, ErrorBody>;

impl Account {
    /// `api_url` comes from the host's config only; `data_dir` holds the
    /// status cache.
    pub fn new(api_url: &str, data_dir: PathBuf) -> Result<Account, ApiClientError> {
        Ok(Account {
            http: ApiClient::new(api_url)?,
            data_dir,
            secrets: Arc::new(StdMutex::new(None)),
            challenge: Mutex::new(None),
            cache_lock: Mutex::new(()),
            web: Mutex::new(None),
        })
    }

    /// Answers one [`AccountRequest`].
    pub async fn handle(&self, request: AccountRequest) -> Outcome {
        let kind = request.kind();
        let outcome = self.dispatch(request).await;
        if let Err(e) = &outcome {
            tracing::info!(request = kind, code = ?e.code, "account request failed");
        }
        outcome
    }

    async fn dispatch(&self, request: AccountRequest) -> Outcome {
        match request {
            AccountRequest::SignIn { email, password } => {
                to_value(&self.sign_in(email, password).await?)
            }
            AccountRequest::AnswerChallenge {
                code,
                recovery_code,
                remember_device,
            } => to_value(
                &self
                    .answer_challenge(code, recovery_code, remember_device)
                    .await?,
            ),
            AccountRequest::ResendSms => to_value(&self.resend_sms().await?),
            AccountRequest::SignOut => to_value(&self.sign_out().await?),
            AccountRequest::SignOutEverywhere => to_value(&self.sign_out_everywhere().await?),
            AccountRequest::Session => to_value(&self.session().await?),
            AccountRequest::AuthenticatorSetup { password } => {
                let body = json(&PasswordConfirmation { password })?;
                let r: AuthenticatorSetup = self
                    .authed(Method::POST, "/two-factor/authenticator/setup", Some(body))
                    .await?;
                to_value(&r)
            }
            AccountRequest::AuthenticatorConfirm { code } => {
                let body = json(&CodeRequest { code })?;
                let r: EnrollmentComplete = self
                    .authed(
                        Method::POST,
                        "/two-factor/authenticator/confirm",
                        Some(body),
                    )
                    .await?;
                self.refresh_cache_quietly().await;
                to_value(&r)
            }
            AccountRequest::SmsSetup { phone, password } => {
                let body = json(&SmsSetupRequest { phone, password })?;
                let r: SmsCodeSent = self
                    .authed(Method::POST, "/two-factor/sms/setup", Some(body))
                    .await?;
                to_value(&r)
            }
            AccountRequest::SmsConfirm { code } => {
                let body = json(&CodeRequest { code })?;
                let r: EnrollmentComplete = self
                    .authed(Method::POST, "/two-factor/sms/confirm", Some(body))
                    .await?;
                self.refresh_cache_quietly().await;
                to_value(&r)
            }
            AccountRequest::SwitchMethod { method, password } => {
                let body = json(&SwitchRequest { method, password })?;
                let r: SwitchStarted = self
                    .authed(Method::POST, "/two-factor/switch", Some(body))
                    .await?;
                to_value(&r)
            }
            AccountRequest::Disable { password, confirm } => {
                to_value(&self.disable(password, confirm).await?)
            }
            AccountRequest::RegenerateRecoveryCodes { password } => {
                let body = json(&PasswordRequest { password })?;
                let r: RecoveryCodes = self
                    .authed(Method::POST, "/two-factor/recovery-codes", Some(body))
                    .await?;
                self.refresh_cache_quietly().await;
                to_value(&r)
            }
            AccountRequest::ListTrustedDevices => {
                let r: TrustedDeviceList =
                    self.authed(Method::GET, "/trusted-devices", None).await?;
                to_value(&r)
            }
            AccountRequest::RevokeTrustedDevice { id } => {
                let path = format!("/trusted-devices/{}", id);
                self.authed_empty(Method::DELETE, &path, None).await?;
                to_value(&Done {})
            }
            AccountRequest::ListAccounts => {
                let r: AccountList = self.authed(Method::GET, "/accounts", None).await?;
                to_value(&r)
            }
            AccountRequest::SetEnforcement {
                account_id,
                enforce_2fa,
                password,
            } => {
                let path = format!("/accounts/{}/enforcement", account_id);
                let body = json(&SetEnforcement {
                    enforce_2fa,
                    password,
                })?;
                let r: Enforcement = self.authed(Method::PUT, &path, Some(body)).await?;
                to_value(&r)
            }
            AccountRequest::CreateHandoff { origin } => {
                to_value(&self.create_handoff(origin).await?)
            }
            AccountRequest::RedeemHandoff { code, origin } => {
                to_value(&self.redeem_handoff(code, origin).await?)
            }
            AccountRequest::WebAppPrompt => to_value(&PendingPrompt {
                prompt: self.web.lock().await.as_ref().map(PendingWeb::prompt),
            }),
            AccountRequest::AnswerWebAppPrompt { allow } => {
                to_value(&self.answer_web_app(allow).await?)
            }
        }
    }

    // ---- sign-in -------------------------------------------------------

    /// Password sign-in, presenting this computer's trusted-device token.
    /// The keyring is read first: without it no session could be kept, so
    /// the password is not even sent.
    async fn sign_in(&self, email: String, password: String) -> Result<SignInOutcome, ErrorBody> {
        let device_token = self.secret_get(SecretKind::TrustedDeviceToken).await?;
        let email = email.trim().to_string();
        let body = json(&SignInRequest {
            email: email.clone(),
            password,
            trusted_device_token: device_token,
        })?;
        let response: SignInResponse = self
            .http
            .call_json(Method::POST, "/sign-in", None, Some(&body))
            .await
            .map_err(CallError::into_body)?;
        match response {
            SignInResponse::Authenticated { session_token, .. } => {
                *self.challenge.lock().await = None;
                let session = self.start_session(session_token, Some(email)).await?;
                Ok(SignInOutcome::SignedIn { session })
            }
            SignInResponse::TwoFactorRequired {
                challenge_token,
                method,
                phone_hint,
                expires_at,
            } => {
                *self.challenge.lock().await = Some(PendingChallenge {
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
                *self.challenge.lock().await = None;
                let session = self.start_session(session_token, Some(email)).await?;
                Ok(SignInOutcome::SetupRequired { session })
            }
        }
    }

    /// Answers the pending challenge; with `remember_device` the returned
    /// 60-day token replaces the stored one.
    async fn answer_challenge(
        &self,
        code: Option<String>,
        recovery_code: Option<String>,
        remember_device: bool,
    ) -> Result<SignInOutcome, ErrorBody> {
        let mut pending = self.challenge.lock().await;
        let challenge = pending.as_ref().ok_or_else(no_pending_challenge)?;
        let email = challenge.email.clone();
        let used_recovery_code = recovery_code.clone();
        let body = json(&ChallengeAnswer {
            challenge_token: challenge.token.clone(),
            code,
            recovery_code,
            remember_device,
            device_label: remember_device.then(|| DEVICE_LABEL.to_string()),
        })?;
        let result: Result<ChallengeResult, CallError> = self
            .http
            .call_json(Method::POST, "/sign-in/challenge", None, Some(&body))
            .await;
        let result = match result {
            Ok(result) => result,
            Err(e) => {
                // A dead challenge cannot be answered again: forget it so
                // the next answer says "sign in again" without asking.
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
            self.store_device_token(device_token.clone(), Some(&email))
                .await?;
        }
        if let Some(typed) = used_recovery_code {
            self.mark_vault_code_used(&email, typed).await;
        }
        let session = self
            .start_session(result.session_token, Some(email))
            .await?;
        Ok(SignInOutcome::SignedIn { session })
    }

    /// The API accepted a recovery code: if the vault keeps it for this
    /// person, mark it used there. The API reports only how many codes are
    /// left, never which, so the code passing through here is the only way
    /// the vault can learn which one is spent. Best effort: a vault problem
    /// must not undo a successful sign-in.
    async fn mark_vault_code_used(&self, email: &str, typed: String) {
        let path = self.data_dir.join(VAULT_FILE);
        let secrets = match self.secrets().await {
            Ok(secrets) => secrets,
            Err(_) => return,
        };
        let email = email.to_string();
        let result =
            blocking(move || mark_used_in_vault(&path, secrets.as_ref(), &email, &typed)).await;
        match result {
            Ok(Ok(marked)) => tracing::info!(marked, "vault synced after a recovery code"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not mark the used code in the vault"),
            Err(_) => tracing::warn!("could not mark the used code in the vault"),
        }
    }

    /// The API names the used codes by their place in the issued list, so a
    /// code spent on another client (the web app, a phone) shows as used in
    /// this computer's vault too. Best effort, like the above.
    async fn sync_vault_used(&self, email: &str, positions: Vec<u32>) {
        let path = self.data_dir.join(VAULT_FILE);
        if positions.is_empty() || !path.exists() {
            return;
        }
        let secrets = match self.secrets().await {
            Ok(secrets) => secrets,
            Err(_) => return,
        };
        let email = email.to_string();
        let result =
            blocking(move || mark_positions_in_vault(&path, secrets.as_ref(), &email, &positions))
                .await;
        match result {
            Ok(Ok(marked)) => tracing::info!(marked, "vault synced with the API's used codes"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sync the vault's used codes"),
            Err(_) => tracing::warn!("could not sync the vault's used codes"),
        }
    }

    async fn resend_sms(&self) -> Result<SmsCodeSent, ErrorBody> {
        let pending = self.challenge.lock().await;
        let challenge = pending.as_ref().ok_or_else(no_pending_challenge)?;
        let body = json(&ResendRequest {
            challenge_token: challenge.token.clone(),
        })?;
        drop(pending);
        self.http
            .call_json(Method::POST, "/sign-in/challenge/resend", None, Some(&body))
            .await
            .map_err(CallError::into_body)
    }

    // ---- the web app (R7) -----------------------------------------------

    /// A handoff code for the web app at `origin` (the service worker let
    /// only the configured origin through). The first time for this
    /// computer, origin and person, nothing is minted: the request waits for
    /// the person's "Allow" in the popup, which a page cannot give.
    async fn create_handoff(&self, origin: String) -> Result<HandoffCode, ErrorBody> {
        self.session_token().await?;
        let email = self.read_cache().await.and_then(|c| c.email);
        let consents = self.data_dir.join(CONSENT_FILE);
        let key = consent_key(&origin, email.as_deref());
        let allowed = blocking(move || read_consents(&consents).contains(&key)).await?;
        if !allowed {
            let mut web = self.web.lock().await;
            self.replace_pending(&mut web, PendingWeb::SignIn { origin, email });
            return Err(ErrorBody::new(
                ErrorCode::ConsentRequired,
                "Open dialer-2fa from the browser's toolbar to allow this web app to sign in \
                 as you on this computer, then try again.",
            ));
        }
        self.authed(Method::POST, "/handoff", None).await
    }

    /// Signs in with the web app's handoff code. Nobody signed in here, or
    /// the same person: at once, as before. Another person: the new session
    /// waits in memory (never the keyring) until the person confirms the
    /// switch in the popup; a page alone cannot switch who is signed in.
    async fn redeem_handoff(
        &self,
        code: String,
        origin: Option<String>,
    ) -> Result<SessionView, ErrorBody> {
        // The keyring must answer before the one-time code is spent.
        self.secrets().await?;
        let body = json(&HandoffRedeem { code })?;
        let grant: SessionGrant = self
            .http
            .call_json(Method::POST, "/handoff/redeem", None, Some(&body))
            .await
            .map_err(CallError::into_body)?;
        let signed_in = self.secret_get(SecretKind::SessionToken).await?.is_some();
        let current = if signed_in {
            self.read_cache().await.and_then(|c| c.email)
        } else {
            None
        };
        let same_person = match (&current, &grant.email) {
            (Some(a), Some(b)) => same_email(a, b),
            _ => false,
        };
        if signed_in && !same_person {
            let mut web = self.web.lock().await;
            self.replace_pending(
                &mut web,
                PendingWeb::Switch {
                    origin: origin.unwrap_or_default(),
                    from: current,
                    grant,
                },
            );
            return Err(ErrorBody::new(
                ErrorCode::ConsentRequired,
                "The dialer-2fa extension is signed in as someone else. Open dialer-2fa from \
                 the browser's toolbar to confirm the switch.",
            ));
        }
        self.take_grant(grant, same_person).await
    }

    /// Keeps a redeemed session. The other client's computer trust comes as
    /// this host's own trusted-device token (same end date), so a later
    /// password sign-in here skips the code too (R8 across clients). It
    /// replaces a stored token only for the person signed in here: a token
    /// of one person is never replaced by another's.
    async fn take_grant(
        &self,
        grant: SessionGrant,
        same_person: bool,
    ) -> Result<SessionView, ErrorBody> {
        if let Some(device) = grant.trusted_device_token {
            let stored = self
                .secret_get(SecretKind::TrustedDeviceToken)
                .await?
                .is_some();
            let owner = self.device_owner().await;
            let owners_own = match (&owner, &grant.email) {
                (Some(owner), Some(email)) => same_email(owner, email),
                // A token stored before owners were recorded: the person
                // signed in here is the best guess of whose it is.
                (None, _) => same_person,
                (Some(_), None) => false,
            };
            if !stored || owners_own {
                self.store_device_token(device, grant.email.as_deref())
                    .await?;
            } else {
                tracing::info!("kept this computer's trusted-device token of another person");
            }
        }
        self.start_session(grant.session_token, grant.email).await
    }

    /// Stores the trusted-device token and records, in a non-secret file,
    /// whose it is, so a handoff never replaces one person's with another's.
    async fn store_device_token(
        &self,
        token: String,
        email: Option<&str>,
    ) -> Result<(), ErrorBody> {
        self.secret_set(SecretKind::TrustedDeviceToken, token)
            .await?;
        let path = self.data_dir.join(DEVICE_OWNER_FILE);
        let owner = DeviceOwner {
            email: email.map(|e| e.trim().to_ascii_lowercase()),
        };
        let result = blocking(move || write_json_private(&path, &owner)).await?;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record whose trusted-device token this is");
        }
        Ok(())
    }

    /// Whose trusted-device token the keyring holds, when recorded.
    async fn device_owner(&self) -> Option<String> {
        let path = self.data_dir.join(DEVICE_OWNER_FILE);
        blocking(move || {
            std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<DeviceOwner>(&b).ok())
                .and_then(|o| o.email)
        })
        .await
        .ok()
        .flatten()
    }

    /// The person's answer in the popup to what the web app asked.
    async fn answer_web_app(&self, allow: bool) -> Result<SessionView, ErrorBody> {
        let pending = self.web.lock().await.take().ok_or_else(|| {
            ErrorBody::new(
                ErrorCode::NotFound,
                "Nothing from the web app is waiting for an answer (it may have been answered \
                 already, or the helper restarted). Try again in the web app.",
            )
        })?;
        match (pending, allow) {
            (PendingWeb::SignIn { origin, email }, true) => {
                let consents = self.data_dir.join(CONSENT_FILE);
                let key = consent_key(&origin, email.as_deref());
                blocking(move || add_consent(&consents, key))
                    .await?
                    .map_err(|e| {
                        ErrorBody::new(
                            ErrorCode::Internal,
                            format!("could not remember the permission: {}", e),
                        )
                    })?;
                tracing::info!("the person allowed the web app to sign in through the extension");
            }
            (PendingWeb::SignIn { .. }, false) => {
                tracing::info!("the person refused the web app's sign-in");
            }
            (PendingWeb::Switch { grant, .. }, true) => {
                tracing::info!("the person confirmed the switch offered by the web app");
                return self.take_grant(grant, false).await;
            }
            (PendingWeb::Switch { grant, .. }, false) => {
                tracing::info!("the person refused the switch offered by the web app");
                self.end_grant(grant);
            }
        }
        self.session().await
    }

    /// Puts `next` in the waiting slot; a switch it replaces is signed out
    /// at the API, so no refused or forgotten session stays usable there.
    fn replace_pending(&self, slot: &mut Option<PendingWeb>, next: PendingWeb) {
        if let Some(PendingWeb::Switch { grant, .. }) = slot.replace(next) {
            self.end_grant(grant);
        }
    }

    /// Signs a session this host will not keep out at the API, in the
    /// background: best effort, like the end of a replaced session.
    fn end_grant(&self, grant: SessionGrant) {
        let http = self.http.clone();
        tokio::spawn(async move {
            if let Err(e) = http
                .call(Method::POST, "/sign-out", Some(&grant.session_token), None)
                .await
            {
                tracing::info!(error = %e, "the refused session was not signed out at the API");
            }
        });
    }

    /// Stores a new session token (ending the one it replaces), reads the
    /// person's 2FA and caches what is not secret.
    async fn start_session(
        &self,
        token: String,
        email: Option<String>,
    ) -> Result<SessionView, ErrorBody> {
        let old = self.secret_get(SecretKind::SessionToken).await?;
        self.secret_set(SecretKind::SessionToken, token.clone())
            .await?;
        if let Some(old) = old.filter(|old| *old != token) {
            // Best effort, in the background so the sign-in answers without
            // waiting on it: an old session left open on the server is
            // harmless once its token is gone from here.
            let http = self.http.clone();
            tokio::spawn(async move {
                let _ = http.call(Method::POST, "/sign-out", Some(&old), None).await;
            });
        }
        let two_factor: Option<TwoFactorState> = self
            .http
            .call_json(Method::GET, "/two-factor", Some(&token), None)
            .await
            .ok();
        let cached = CachedStatus {
            email: email.clone(),
            two_factor: two_factor.clone(),
        };
        self.write_cache(Some(cached)).await;
        Ok(SessionView {
            signed_in: true,
            email,
            two_factor,
            stale: false,
        })
    }

    // ---- the session ---------------------------------------------------

    /// Who is signed in here: the keyring decides whether anyone is, the
    /// API what their 2FA is; the cache answers (stale) when the API does
    /// not.
    async fn session(&self) -> Result<SessionView, ErrorBody> {
        let token = match self.secret_get(SecretKind::SessionToken).await? {
            Some(token) => token,
            None => {
                self.write_cache(None).await;
                return Ok(SessionView::signed_out());
            }
        };
        let result: Result<TwoFactorState, CallError> = self
            .http
            .call_json(Method::GET, "/two-factor", Some(&token), None)
            .await;
        match result {
            Ok(two_factor) => {
                let mut cached = self.read_cache().await.unwrap_or_default();
                cached.two_factor = Some(two_factor.clone());
                let email = cached.email.clone();
                self.write_cache(Some(cached)).await;
                if let Some(email) = email.as_deref() {
                    self.sync_vault_used(email, two_factor.recovery_codes_used.clone())
                        .await;
                }
                Ok(SessionView {
                    signed_in: true,
                    email,
                    two_factor: Some(two_factor),
                    stale: false,
                })
            }
            Err(e) if e.is_session_rejected() => {
                self.forget_session().await?;
                Ok(SessionView::signed_out())
            }
            Err(CallError::Unreachable(_)) => {
                let cached = self.read_cache().await.unwrap_or_default();
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
    async fn sign_out(&self) -> Result<SessionView, ErrorBody> {
        *self.challenge.lock().await = None;
        if let Some(token) = self.secret_get(SecretKind::SessionToken).await? {
            if let Err(e) = self
                .http
                .call(Method::POST, "/sign-out", Some(&token), None)
                .await
            {
                tracing::info!(error = %e, "the API was not told of the sign-out");
            }
        }
        self.forget_session().await?;
        Ok(SessionView::signed_out())
    }

    /// Ends every session of the person. Unlike [`Account::sign_out`] this
    /// needs the API: if it cannot be reached the person is told, and stays
    /// signed in here, rather than believing the other sessions ended.
    async fn sign_out_everywhere(&self) -> Result<SessionView, ErrorBody> {
        self.authed_empty(Method::POST, "/sign-out/everywhere", None)
            .await?;
        self.forget_session().await?;
        Ok(SessionView::signed_out())
    }

    /// Turns 2FA off, then answers the new session view. The API revokes
    /// every trusted device, so the stored device token goes too.
    async fn disable(&self, password: String, confirm: bool) -> Result<SessionView, ErrorBody> {
        let body = json(&DisableRequest { password, confirm })?;
        self.authed_empty(Method::POST, "/two-factor/disable", Some(body))
            .await?;
        self.secret_delete(SecretKind::TrustedDeviceToken).await?;
        self.session().await
    }

    /// A call with the stored session token. A session the API rejects
    /// (401 `unauthorized`) is forgotten and the person hears they were
    /// signed out.
    async fn authed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ErrorBody> {
        let token = self.session_token().await?;
        let result = self
            .http
            .call_json(method, path, Some(&token), body.as_ref())
            .await;
        self.check_session(result).await
    }

    async fn authed_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(), ErrorBody> {
        let token = self.session_token().await?;
        let result = self
            .http
            .call(method, path, Some(&token), body.as_ref())
            .await
            .map(|_| ());
        self.check_session(result).await
    }

    async fn check_session<T>(&self, result: Result<T, CallError>) -> Result<T, ErrorBody> {
        match result {
            Ok(value) => Ok(value),
            Err(e) if e.is_session_rejected() => {
                self.forget_session().await?;
                Err(ErrorBody::new(
                    ErrorCode::Unauthorized,
                    "You were signed out (the session ended or was revoked). Sign in again.",
                ))
            }
            Err(e) => Err(e.into_body()),
        }
    }

    async fn session_token(&self) -> Result<String, ErrorBody> {
        self.secret_get(SecretKind::SessionToken)
            .await?
            .ok_or_else(|| ErrorBody::new(ErrorCode::Unauthorized, "Sign in first."))
    }

    /// Deletes the session token and the cached status.
    async fn forget_session(&self) -> Result<(), ErrorBody> {
        self.secret_delete(SecretKind::SessionToken).await?;
        self.write_cache(None).await;
        Ok(())
    }

    /// After a change of the person's 2FA: re-read it for the cache. A
    /// failure only leaves the cache older.
    async fn refresh_cache_quietly(&self) {
        if let Ok(Some(token)) = self.secret_get(SecretKind::SessionToken).await {
            if let Ok(two_factor) = self
                .http
                .call_json::<TwoFactorState>(Method::GET, "/two-factor", Some(&token), None)
                .await
            {
                let mut cached = self.read_cache().await.unwrap_or_default();
                cached.two_factor = Some(two_factor);
                self.write_cache(Some(cached)).await;
            }
        }
    }

    // ---- the keyring ---------------------------------------------------

    async fn secrets(&self) -> Result<Arc<Secrets>, ErrorBody> {
        let slot = self.secrets.clone();
        blocking(move || connect_secrets(&slot))
            .await?
            .map_err(keyring_error)
    }

    async fn secret_get(&self, kind: SecretKind) -> Result<Option<String>, ErrorBody> {
        let secrets = self.secrets().await?;
        let bytes = blocking(move || secrets.get(kind))
            .await?
            .map_err(keyring_error)?;
        // A value that is not UTF-8 was not written by this host: treat it
        // as absent rather than send garbage to the API.
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
    }

    async fn secret_set(&self, kind: SecretKind, value: String) -> Result<(), ErrorBody> {
        let secrets = self.secrets().await?;
        blocking(move || secrets.set(kind, value.as_bytes()))
            .await?
            .map_err(keyring_error)
    }

    async fn secret_delete(&self, kind: SecretKind) -> Result<(), ErrorBody> {
        let secrets = self.secrets().await?;
        blocking(move || secrets.delete(kind))
            .await?
            .map(|_| ())
            .map_err(keyring_error)
    }

    // ---- the status cache ----------------------------------------------

    async fn read_cache(&self) -> Option<CachedStatus> {
        let path = self.data_dir.join(STATUS_FILE);
        blocking(move || read_cache_file(&path)).await.ok()?
    }

    /// Writes (or with `None` removes) the cache. Failures are logged, not
    /// returned: the cache only makes a down API less of a blank.
    async fn write_cache(&self, status: Option<CachedStatus>) {
        let _guard = self.cache_lock.lock().await;
        let dir = self.data_dir.clone();
        let result = blocking(move || write_cache_file(&dir, status.as_ref())).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not update the status cache"),
            Err(_) => tracing::warn!("could not update the status cache"),
        }
    }
}

/// Marks the vault's copy of `typed` (for `email`'s codes) used; how many
/// were marked. A computer without a vault file is left without one.
/// Blocking.
fn mark_used_in_vault(
    path: &Path,
    secrets: &Secrets,
    email: &str,
    typed: &str,
) -> Result<usize, VaultError> {
    if !path.exists() {
        return Ok(0);
    }
    let mut vault = Vault::open(path, secrets)?;
    let typed = normalize_recovery_code(typed);
    let entries = vault.list(None)?;
    for entry in entries
        .iter()
        .filter(|e| !e.used && e.account.trim().eq_ignore_ascii_case(email))
    {
        let (account, code) = vault.reveal(entry.id)?;
        if normalize_recovery_code(&code) == typed {
            vault.mark_used(&account, &[entry.position])?;
            return Ok(1);
        }
    }
    Ok(0)
}

/// Marks `email`'s kept codes at `positions` used; how many changed.
/// Blocking.
fn mark_positions_in_vault(
    path: &Path,
    secrets: &Secrets,
    email: &str,
    positions: &[u32],
) -> Result<usize, VaultError> {
    let mut vault = Vault::open(path, secrets)?;
    let mut accounts: Vec<String> = Vec::new();
    let mut marked = 0;
    for entry in vault.list(None)? {
        if !entry.used
            && positions.contains(&entry.position)
            && entry.account.trim().eq_ignore_ascii_case(email)
        {
            marked += 1;
            if !accounts.contains(&entry.account) {
                accounts.push(entry.account);
            }
        }
    }
    for account in accounts {
        vault.mark_used(&account, positions)?;
    }
    Ok(marked)
}

/// The API's reading of a typed recovery code (account-api
/// `recovery_codes::normalize`): dashes and blanks dropped, case folded,
/// look-alikes (i, l -> 1; o -> 0) merged.
fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect()
}

fn read_cache_file(path: &Path) -> Option<CachedStatus> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Atomic replace (unique temp file, then rename), so concurrent host
/// processes each leave a whole file and readers never see half of one.
fn write_cache_file(dir: &Path, status: Option<&CachedStatus>) -> std::io::Result<()> {
    let path = dir.join(STATUS_FILE);
    let status = match status {
        Some(status) => status,
        None => {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
    };
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{}.{}.tmp", STATUS_FILE, std::process::id()));
    write_private(&tmp, &json)?;
    std::fs::rename(&tmp, &path)
}

/// The email is not secret but it is personal: readable by this OS user
/// only, like the vault.
#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The keyring, connected on first use and kept. Blocking.
fn connect_secrets(slot: &StdMutex<Option<Arc<Secrets>>>) -> Result<Arc<Secrets>, SecretsError> {
    let mut guard = slot
        .lock()
        .map_err(|_| SecretsError::Failed("an earlier keyring call crashed".into()))?;
    if let Some(secrets) = guard.as_ref() {
        return Ok(secrets.clone());
    }
    let secrets = Arc::new(Secrets::connect()?);
    *guard = Some(secrets.clone());
    Ok(secrets)
}

fn keyring_error(e: SecretsError) -> ErrorBody {
    tracing::warn!(error = %e, "keyring failed");
    ErrorBody::new(
        ErrorCode::KeyringUnavailable,
        format!(
            "{}. The helper keeps your sign-in only in the OS keyring, so it cannot sign you in \
             until the keyring answers.",
            e
        ),
    )
}

fn no_pending_challenge() -> ErrorBody {
    ErrorBody::new(
        ErrorCode::CodeExpired,
        "No sign-in is waiting for a code here (it expired, was completed, or the helper \
         restarted). Sign in again.",
    )
}

/// Runs blocking work (keyring D-Bus calls, files) off the async threads.
async fn blocking<T, F>(f: F) -> Result<T, ErrorBody>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ErrorBody::new(ErrorCode::Internal, "the host's worker thread crashed"))
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, ErrorBody> {
    serde_json::to_value(value).map_err(|e| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("could not encode the request: {}", e),
        )
    })
}

fn to_value<T: Serialize>(value: &T) -> Outcome {
    serde_json::to_value(value).map_err(|e| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("could not encode the reply: {}", e),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_compare_as_the_api_reads_them() {
        assert_eq!(
            normalize_recovery_code(" AbIL-o9x2 "),
            normalize_recovery_code("ab11-09x2")
        );
        assert_ne!(
            normalize_recovery_code("ab12"),
            normalize_recovery_code("ab13")
        );
    }

    #[test]
    fn cache_file_round_trips_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let status = CachedStatus {
            email: Some("a@example.com".into()),
            two_factor: None,
        };
        write_cache_file(dir.path(), Some(&status)).unwrap();
        assert_eq!(read_cache_file(&dir.path().join(STATUS_FILE)), Some(status));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STATUS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        write_cache_file(dir.path(), None).unwrap();
        write_cache_file(dir.path(), None).unwrap();
        assert_eq!(read_cache_file(&dir.path().join(STATUS_FILE)), None);
    }
}
