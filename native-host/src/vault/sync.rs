//! Keeping the vault in step with the API's record of the person's codes.
//!
//! The vault's copy of a code the API has seen used no longer works, so it
//! is shown as used; a kept batch that new codes replaced (made in the web
//! app, on another computer) no longer works at all, so it is shown as
//! replaced, and the used places the API reports, which belong to the new
//! batch, are not applied to it. Accounts are compared as emails (trimmed,
//! case folded), since the person may have typed theirs differently when
//! saving.

use rusqlite::{params, TransactionBehavior};
use sha2::{Digest, Sha256};
use shared::rules::{normalize_recovery_code, recovery_batch_preimage};

use super::{Vault, VaultError};

/// A batch's fingerprint, as the API reports it in `recovery_codes_batch`.
pub fn fingerprint(codes: &[String]) -> String {
    Sha256::digest(recovery_batch_preimage(codes).as_bytes())
        .iter()
        .map(|b| format!("{:02x}", b))
        .collect()
}

/// What the API says of the person's codes, as far as the vault cares.
#[derive(Debug, Clone, Copy)]
pub struct ApiCodes<'a> {
    /// 2FA is on: without it the person has no codes at all.
    pub enabled: bool,
    /// The current batch's fingerprint; `None` for a batch issued before
    /// the API recorded fingerprints (then only `used` is known).
    pub batch: Option<&'a str>,
    /// Used places (1-based) in the current batch.
    pub used: &'a [u32],
}

/// What a sync changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub marked_used: usize,
    pub marked_replaced: usize,
}

impl Vault {
    /// Marks the kept copy of `typed` (one of `email`'s codes) used; how
    /// many were marked. Codes compare in the API's normal form, so a code
    /// typed in capitals or without dashes still finds its copy.
    pub fn mark_code_used(&mut self, email: &str, typed: &str) -> Result<usize, VaultError> {
        let typed = normalize_recovery_code(typed);
        let entries = self.list(None)?;
        for entry in entries
            .iter()
            .filter(|e| !e.used && !e.replaced && e.account.trim().eq_ignore_ascii_case(email))
        {
            let (account, code) = self.reveal(entry.id)?;
            if normalize_recovery_code(&code) == typed {
                self.mark_used(&account, &[entry.position])?;
                return Ok(1);
            }
        }
        Ok(0)
    }

    /// Brings `email`'s kept codes in step with `api`: a batch the API no
    /// longer has is marked replaced (all of it, and nothing in it used by
    /// position); the current batch gets its used places marked.
    pub fn sync_with_api(&mut self, email: &str, api: ApiCodes<'_>) -> Result<Synced, VaultError> {
        let mut accounts: Vec<String> = Vec::new();
        for entry in self.list(None)? {
            if entry.account.trim().eq_ignore_ascii_case(email)
                && !accounts.contains(&entry.account)
            {
                accounts.push(entry.account);
            }
        }
        let mut synced = Synced::default();
        for account in accounts {
            let kept = self.kept_batch(&account)?;
            let current = match api.batch {
                Some(batch) => kept == batch,
                // A batch from before fingerprints: only the positions say
                // anything, as they did before.
                None => api.enabled,
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if current {
                for position in api.used {
                    synced.marked_used += tx.execute(
                        "UPDATE recovery_codes SET used = 1
                         WHERE account = ?1 AND position = ?2 AND used = 0 AND replaced = 0",
                        params![account, position],
                    )?;
                }
            } else {
                synced.marked_replaced += tx.execute(
                    "UPDATE recovery_codes SET replaced = 1 WHERE account = ?1 AND replaced = 0",
                    params![account],
                )?;
            }
            tx.commit()?;
        }
        Ok(synced)
    }

    /// The fingerprint of the batch kept for `account`; rows kept before
    /// fingerprints get theirs computed from the codes, once.
    fn kept_batch(&mut self, account: &str) -> Result<String, VaultError> {
        let stored: Option<String> = self.conn.query_row(
            "SELECT MAX(batch) FROM recovery_codes WHERE account = ?1",
            params![account],
            |r| r.get(0),
        )?;
        if let Some(batch) = stored {
            return Ok(batch);
        }
        let mut codes = Vec::new();
        for entry in self.list(Some(account))? {
            codes.push(self.reveal(entry.id)?.1);
        }
        let batch = fingerprint(&codes);
        self.conn.execute(
            "UPDATE recovery_codes SET batch = ?1 WHERE account = ?2",
            params![batch, account],
        )?;
        Ok(batch)
    }
}
