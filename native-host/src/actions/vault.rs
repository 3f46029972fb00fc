//! `vault_save`, `vault_list`, `vault_reveal`, `vault_delete`, and keeping
//! the vault in step with the codes the API has seen used.

use shared::native::{VaultDeleteResult, VaultListResult, VaultRevealResult, VaultSaveResult};
use shared::ErrorBody;

use crate::services::Services;

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

/// The API names the used codes by their place in the issued list, so a
/// code spent on another client (the web app, a phone) shows as used in
/// this computer's vault too. Best effort, like the above.
pub async fn sync_used_positions(services: &Services, email: &str, positions: Vec<u32>) {
    if positions.is_empty() || !services.vault_exists() {
        return;
    }
    let email = email.to_string();
    match services
        .with_vault(move |v| v.mark_positions_used(&email, &positions))
        .await
    {
        Ok(marked) => tracing::info!(marked, "vault synced with the API's used codes"),
        Err(e) => tracing::warn!(code = ?e.code, "could not sync the vault's used codes"),
    }
}
