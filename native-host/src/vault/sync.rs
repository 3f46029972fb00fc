//! Keeping the vault in step with the API's record of spent codes.
//!
//! The vault's copy of a code the API has seen used no longer works, so it
//! is shown as used. Accounts are compared as emails (trimmed, case folded),
//! since the person may have typed theirs differently when saving.

use shared::rules::normalize_recovery_code;

use super::{Vault, VaultError};

impl Vault {
    /// Marks the kept copy of `typed` (one of `email`'s codes) used; how
    /// many were marked. Codes compare in the API's normal form, so a code
    /// typed in capitals or without dashes still finds its copy.
    pub fn mark_code_used(&mut self, email: &str, typed: &str) -> Result<usize, VaultError> {
        let typed = normalize_recovery_code(typed);
        let entries = self.list(None)?;
        for entry in entries
            .iter()
            .filter(|e| !e.used && e.account.trim().eq_ignore_ascii_case(email))
        {
            let (account, code) = self.reveal(entry.id)?;
            if normalize_recovery_code(&code) == typed {
                self.mark_used(&account, &[entry.position])?;
                return Ok(1);
            }
        }
        Ok(0)
    }

    /// Marks `email`'s kept codes at `positions` (1-based, in the order the
    /// API issued them) used; how many changed.
    pub fn mark_positions_used(
        &mut self,
        email: &str,
        positions: &[u32],
    ) -> Result<usize, VaultError> {
        let mut accounts: Vec<String> = Vec::new();
        let mut marked = 0;
        for entry in self.list(None)? {
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
            self.mark_used(&account, positions)?;
        }
        Ok(marked)
    }
}
