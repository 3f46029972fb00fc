//! The web app (R7): `create_handoff`, `redeem_handoff`, `web_app_prompt`
//! and `answer_web_app_prompt`.
//!
//! What a page asks that only the person may allow (a first sign-in
//! through the extension on this computer, or a switch to another person)
//! waits in this process's memory until the person answers in the popup;
//! a pending session is never written anywhere.

use std::path::Path;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use shared::api::{HandoffCode, HandoffRedeem, SessionGrant};
use shared::two_factor::SessionView;
use shared::web_sync::{PendingPrompt, WebAppPrompt};
use shared::{ErrorBody, ErrorCode};
use tokio::sync::Mutex;

use super::session::{authed, end_in_background, session, session_token, start_session};
use super::{json, trusted_devices};
use crate::api_client::CallError;
use crate::files::write_json_private;
use crate::secrets::SecretKind;
use crate::services::{blocking, Services};

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

/// What the web app asked that waits for the person's answer in the popup.
#[derive(Default)]
pub struct WebWaiting(Mutex<Option<PendingWeb>>);

impl std::fmt::Debug for WebWaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebWaiting").finish_non_exhaustive()
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

fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A handoff code for the web app at `origin` (the service worker let only
/// the configured origin through). The first time for this computer,
/// origin and person, nothing is minted: the request waits for the
/// person's "Allow" in the popup, which a page cannot give.
pub async fn create_handoff(
    s: &Services,
    web: &WebWaiting,
    origin: String,
) -> Result<HandoffCode, ErrorBody> {
    session_token(s).await?;
    let email = s.status_cache().email().await;
    let consents = s.file(CONSENT_FILE);
    let key = consent_key(&origin, email.as_deref());
    let allowed = blocking(move || read_consents(&consents).contains(&key)).await?;
    if !allowed {
        web.replace(s, PendingWeb::SignIn { origin, email }).await;
        return Err(ErrorBody::new(
            ErrorCode::ConsentRequired,
            "Open dialer-2fa from the browser's toolbar to allow this web app to sign in \
             as you on this computer, then try again.",
        ));
    }
    authed(s, Method::POST, "/handoff", None).await
}

/// Signs in with the web app's handoff code. Nobody signed in here, or the
/// same person: at once. Another person: the new session waits in memory
/// (never the keyring) until the person confirms the switch in the popup;
/// a page alone cannot switch who is signed in.
pub async fn redeem_handoff(
    s: &Services,
    web: &WebWaiting,
    code: String,
    origin: Option<String>,
) -> Result<SessionView, ErrorBody> {
    // The keyring must answer before the one-time code is spent.
    s.secrets().await?;
    let body = json(&HandoffRedeem { code })?;
    let grant: SessionGrant = s
        .api()
        .call_json(Method::POST, "/handoff/redeem", None, Some(&body))
        .await
        .map_err(CallError::into_body)?;
    let signed_in = s.secret_get(SecretKind::SessionToken).await?.is_some();
    let current = if signed_in {
        s.status_cache().email().await
    } else {
        None
    };
    let same_person = match (&current, &grant.email) {
        (Some(a), Some(b)) => same_email(a, b),
        _ => false,
    };
    if signed_in && !same_person {
        let origin = origin.unwrap_or_default();
        let next = PendingWeb::Switch {
            origin,
            from: current,
            grant,
        };
        web.replace(s, next).await;
        return Err(ErrorBody::new(
            ErrorCode::ConsentRequired,
            "The dialer-2fa extension is signed in as someone else. Open dialer-2fa from \
             the browser's toolbar to confirm the switch.",
        ));
    }
    take_grant(s, grant, same_person).await
}

/// What waits for the person, for the popup.
pub async fn prompt(web: &WebWaiting) -> PendingPrompt {
    PendingPrompt {
        prompt: web.0.lock().await.as_ref().map(PendingWeb::prompt),
    }
}

/// The person's answer in the popup to what the web app asked.
pub async fn answer(s: &Services, web: &WebWaiting, allow: bool) -> Result<SessionView, ErrorBody> {
    let pending = web.0.lock().await.take().ok_or_else(|| {
        ErrorBody::new(
            ErrorCode::NotFound,
            "Nothing from the web app is waiting for an answer (it may have been answered \
             already, or the helper restarted). Try again in the web app.",
        )
    })?;
    match (pending, allow) {
        (PendingWeb::SignIn { origin, email }, true) => {
            let consents = s.file(CONSENT_FILE);
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
            return take_grant(s, grant, false).await;
        }
        (PendingWeb::Switch { grant, .. }, false) => {
            tracing::info!("the person refused the switch offered by the web app");
            end_in_background(s, grant.session_token);
        }
    }
    session(s).await
}

impl WebWaiting {
    /// Puts `next` in the waiting slot; a switch it replaces is signed out
    /// at the API, so no refused or forgotten session stays usable there.
    async fn replace(&self, s: &Services, next: PendingWeb) {
        let replaced = self.0.lock().await.replace(next);
        if let Some(PendingWeb::Switch { grant, .. }) = replaced {
            end_in_background(s, grant.session_token);
        }
    }
}

/// Keeps a redeemed session. The other client's computer trust comes as
/// this host's own trusted-device token (same end date), so a later
/// password sign-in here skips the code too (R8 across clients). It
/// replaces a stored token only for the person signed in here: a token of
/// one person is never replaced by another's.
async fn take_grant(
    s: &Services,
    grant: SessionGrant,
    same_person: bool,
) -> Result<SessionView, ErrorBody> {
    if let Some(device) = grant.trusted_device_token {
        let stored = s
            .secret_get(SecretKind::TrustedDeviceToken)
            .await?
            .is_some();
        let owner = trusted_devices::device_owner(s).await;
        let owners_own = match (&owner, &grant.email) {
            (Some(owner), Some(email)) => same_email(owner, email),
            // A token stored before owners were recorded: the person signed
            // in here is the best guess of whose it is.
            (None, _) => same_person,
            (Some(_), None) => false,
        };
        if !stored || owners_own {
            trusted_devices::store_device_token(s, device, grant.email.as_deref()).await?;
        } else {
            tracing::info!("kept this computer's trusted-device token of another person");
        }
    }
    start_session(s, grant.session_token, grant.email).await
}
