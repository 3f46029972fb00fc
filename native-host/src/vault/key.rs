//! The vault key: where it comes from, and the check that the keyring's key
//! is the one the kept codes were written with.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::VaultError;
use crate::secrets::{SecretKind, Secrets, SecretsError};

/// Plaintext whose encryption in `meta` proves the keyring's key is the one
/// the codes were written with.
const KEY_CHECK_PLAINTEXT: &[u8] = b"dialer-2fa vault key check v1";
const KEY_CHECK_AAD: &[u8] = b"dialer-2fa/vault/key-check";
pub(super) const NONCE_LEN: usize = 24;
pub(super) const KEY_LEN: usize = 32;

/// Where the vault key comes from: the OS keyring in the host, a plain
/// value in unit tests.
pub trait KeyStore {
    fn load_key(&self) -> Result<Option<Vec<u8>>, SecretsError>;
    fn store_key(&self, key: &[u8]) -> Result<(), SecretsError>;
}

impl KeyStore for Secrets {
    fn load_key(&self) -> Result<Option<Vec<u8>>, SecretsError> {
        self.get(SecretKind::VaultKey)
    }
    fn store_key(&self, key: &[u8]) -> Result<(), SecretsError> {
        self.set(SecretKind::VaultKey, key)
    }
}

/// Finds or creates the vault key, holding the database's write lock so
/// that hosts starting together agree on one key.
pub(super) fn bootstrap_key(
    conn: &mut Connection,
    keys: &dyn KeyStore,
) -> Result<Vec<u8>, VaultError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let check: Option<Vec<u8>> = tx
        .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let stored = keys.load_key()?.filter(|k| k.len() == KEY_LEN);
    let key = match (stored, check) {
        (Some(key), Some(check)) => {
            if !key_check_matches(&key, &check) {
                return Err(VaultError::KeyMismatch);
            }
            key
        }
        (Some(key), None) => {
            write_key_check(&tx, &key)?;
            key
        }
        (None, check) => {
            if check.is_some() {
                let kept: i64 =
                    tx.query_row("SELECT count(*) FROM recovery_codes", [], |r| r.get(0))?;
                if kept > 0 {
                    return Err(VaultError::KeyLost(kept as u64));
                }
            }
            let key = XChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
            keys.store_key(&key)?;
            write_key_check(&tx, &key)?;
            key
        }
    };
    tx.commit()?;
    Ok(key)
}

fn write_key_check(tx: &rusqlite::Transaction<'_>, key: &[u8]) -> Result<(), VaultError> {
    let cipher = XChaCha20Poly1305::new_from_slice(key)
        .map_err(|_| VaultError::Invalid("the vault key has the wrong length".into()))?;
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: KEY_CHECK_PLAINTEXT,
                aad: KEY_CHECK_AAD,
            },
        )
        .map_err(|_| VaultError::Corrupt)?;
    let mut value = nonce.to_vec();
    value.extend_from_slice(&sealed);
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('key_check', ?1)",
        params![value],
    )?;
    Ok(())
}

fn key_check_matches(key: &[u8], check: &[u8]) -> bool {
    let Ok(cipher) = XChaCha20Poly1305::new_from_slice(key) else {
        return false;
    };
    if check.len() < NONCE_LEN {
        return false;
    }
    let (nonce, sealed) = check.split_at(NONCE_LEN);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: KEY_CHECK_AAD,
            },
        )
        .map(|plain| plain == KEY_CHECK_PLAINTEXT)
        .unwrap_or(false)
}
