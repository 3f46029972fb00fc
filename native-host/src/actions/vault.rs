//! `vault_save`, `vault_list`, `vault_reveal`, `vault_delete`, and keeping
//! the vault in step with the codes the API has seen used.

use reqwest::Method;
use shared::api::TwoFactorState;
use shared::native::{VaultDeleteResult, VaultListResult, VaultRevealResult, VaultSaveResult};
use shared::rules::RECOVERY_CODE_COUNT;
use shared::{ErrorBody, ErrorCode};

use super::session;
use crate::services::Services;
use crate::vault::{fingerprint, ApiCodes};

pub async fn save(
    services: &Services,
    account: String,
    codes: Vec<String>,
) -> Result<VaultSaveResult, ErrorBody> {
    let (account, saved) = services
        .with_vault(move |v| v.save(&account, &codes).map(|n| (account, n)))
        .await?;
    Ok(VaultSaveResult { account, saved })
}

pub async fn list(
    services: &Services,
    account: Option<String>,
) -> Result<VaultListResult, ErrorBody> {
    let entries = services
        .with_vault(move |v| v.list(account.as_deref()))
        .await?;
    Ok(VaultListResult { entries })
}

pub async fn reveal(services: &Services, code_id: u64) -> Result<VaultRevealResult, ErrorBody> {
    let (account, code) = services.with_vault(move |v| v.reveal(code_id)).await?;
    Ok(VaultRevealResult {
        id: code_id,
        account,
        code,
    })
}

pub async fn delete(services: &Services, account: String) -> Result<VaultDeleteResult, ErrorBody> {
    let deleted = services.with_vault(move |v| v.delete(&account)).await?;
    Ok(VaultDeleteResult { deleted })
}

/// The API accepted a recovery code: if the vault keeps it for this
/// person, mark it used there. The API reports only how many codes are
/// left, never which, so the code passing through here is the only way
/// the vault can learn which one is spent. Best effort: a vault problem
/// must not undo a successful sign-in, and a computer without a vault file
/// is left without one.
pub async fn mark_code_used(services: &Services, email: &str, typed: String) {
    if !services.vault_exists() {
        return;
    }
    let email = email.to_string();
    match services
        .with_vault(move |v| v.mark_code_used(&email, &typed))
        .await
    {
        Ok(marked) => tracing::info!(marked, "vault synced after a recovery code"),
        Err(e) => tracing::warn!(code = ?e.code, "could not mark the used code in the vault"),
    }
}

/// The API names the current batch by its fingerprint and its used codes
/// by their place in it, so a code spent on another client (the web app, a
/// phone) shows as used in this computer's vault too, and a batch replaced
/// there shows as replaced here. Best effort, like the above.
pub async fn sync_with_api(services: &Services, email: &str, state: &TwoFactorState) {
    if !services.vault_exists() {
        return;
    }
    let email = email.to_string();
    let (enabled, batch, used) = (
        state.enabled,
        state.recovery_codes_batch.clone(),
        state.recovery_codes_used.clone(),
    );
    match services
        .with_vault(move |v| {
            let api = ApiCodes {
                enabled,
                batch: batch.as_deref(),
                used: &used,
            };
            v.sync_with_api(&email, api)
        })
        .await
    {
        Ok(s) => tracing::info!(
            used = s.marked_used,
            replaced = s.marked_replaced,
            "vault synced with the API's codes"
        ),
        Err(e) => tracing::warn!(code = ?e.code, "could not sync the vault with the API"),
    }
}

/// `vault_keep_current`: the web app's "Keep them in the dialer-2fa
/// extension". Kept only if they are exactly the signed-in person's
/// current batch at the API (its fingerprint), so a page can neither
/// plant codes of its own nor bring back a batch that was replaced; they
/// are kept under the signed-in email, never a name the page chose.
pub async fn keep_current(
    services: &Services,
    codes: Vec<String>,
) -> Result<VaultSaveResult, ErrorBody> {
    let not_current = || {
        ErrorBody::new(
            ErrorCode::RecoveryCodesNotCurrent,
            "These are not the current recovery codes of the person signed in to the dialer-2fa extension, so it did not keep them.",
        )
    };
    if codes.len() != RECOVERY_CODE_COUNT {
        return Err(not_current());
    }
    let state: TwoFactorState = session::authed(services, Method::GET, "/two-factor", None).await?;
    let email = services.status_cache().set_two_factor(state.clone()).await;
    let email = match email {
        Some(email) => email,
        None => return Err(ErrorBody::new(ErrorCode::Unauthorized, "Sign in first.")),
    };
    let current = state.recovery_codes_batch.as_deref();
    if current != Some(fingerprint(&codes).as_str()) {
        return Err(not_current());
    }
    save(services, email, codes).await
}
