//! The recovery-code vault: codes the user chose to keep on this computer,
//! in SQLite under the data dir, each encrypted with XChaCha20-Poly1305
//! under a 256-bit key that lives only in the OS keyring.
//!
//! Several hosts may have the vault open at once (Chrome starts one per
//! port), and any of them may be killed mid-write. SQLite in WAL mode with
//! `synchronous=FULL` keeps every committed transaction and discards an
//! interrupted one; every change runs in a `BEGIN IMMEDIATE` transaction so
//! concurrent writers queue on the database lock (with a busy timeout)
//! instead of failing. The same lock serialises creating the vault key, so
//! two hosts starting together cannot each invent a key and lose codes.
//!
//! Each ciphertext is bound (as associated data) to its account and
//! position, so rows cannot be swapped between accounts undetected.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use shared::native::VaultEntry;

use crate::secrets::SecretsError;

mod key;
mod sync;

pub use sync::{fingerprint, ApiCodes, Synced};

pub use key::KeyStore;
#[cfg(test)]
use key::KEY_LEN;
use key::{bootstrap_key, NONCE_LEN};

/// File name under the data dir.
pub const VAULT_FILE: &str = "vault.sqlite3";

/// How long a writer waits for another host's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    account    TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    nonce      BLOB    NOT NULL,
    ciphertext BLOB    NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    saved_at   INTEGER NOT NULL,
    UNIQUE (account, position)
);
";

/// Issue 15: each kept code knows its batch (the fingerprint the API
/// reports, `shared::rules::recovery_batch_preimage`), and whether new
/// codes made elsewhere replaced that batch, so the popup never offers a
/// dead code as good. Rows kept before have no batch until the next sync
/// computes it from the codes themselves.
const SCHEMA_V2: &str = "
ALTER TABLE recovery_codes ADD COLUMN batch TEXT;
ALTER TABLE recovery_codes ADD COLUMN replaced INTEGER NOT NULL DEFAULT 0;
";

/// Bounds on what `vault_save` accepts: the API issues 10 codes of a dozen
/// characters; the slack is for other issuers, the bound for memory.
pub const MAX_CODES: usize = 32;
pub const MAX_CODE_CHARS: usize = 64;
pub const MAX_ACCOUNT_CHARS: usize = 320;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Keyring(#[from] SecretsError),
    #[error("the vault database failed: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("could not prepare the vault's folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("no recovery code with id {0} is kept on this computer")]
    NotFound(u64),
    #[error(
        "the vault key in the OS keyring does not match the vault on disk, so the kept codes \
         cannot be read; they may have been saved under another user's keyring. \
         `dialer-2fa-host reset-vault --yes` starts an empty vault"
    )]
    KeyMismatch,
    #[error(
        "the vault key is missing from the OS keyring, so the {0} kept codes cannot be read. \
         `dialer-2fa-host reset-vault --yes` forgets them and starts an empty vault"
    )]
    KeyLost(u64),
    #[error("a kept code could not be decrypted: the vault was changed outside the host")]
    Corrupt,
    #[error("the vault was written by a newer version of the host (schema {0})")]
    TooNew(i64),
}

/// An open vault. Blocking; the host calls it under `spawn_blocking`.
pub struct Vault {
    conn: Connection,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens (creating and migrating if needed) the vault at `path`, with its
    /// key from `keys` (created there on first use).
    pub fn open(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers go on while another host writes; switching to it
        // is a no-op once the file is in WAL mode.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "vault is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        restrict_file(path);
        migrate(&mut conn)?;
        let key = bootstrap_key(&mut conn, keys)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key)
            .map_err(|_| VaultError::Invalid("the vault key has the wrong length".into()))?;
        Ok(Vault { conn, cipher })
    }

    /// Replaces the codes kept for `account` with `codes`, atomically.
    pub fn save(&mut self, account: &str, codes: &[String]) -> Result<u32, VaultError> {
        validate_account(account)?;
        if codes.is_empty() || codes.len() > MAX_CODES {
            return Err(VaultError::Invalid(format!(
                "between 1 and {} codes can be saved, not {}",
                MAX_CODES,
                codes.len()
            )));
        }
        let codes: Vec<&str> = codes.iter().map(|c| c.trim()).collect();
        if codes
            .iter()
            .any(|c| c.is_empty() || c.chars().count() > MAX_CODE_CHARS)
        {
            return Err(VaultError::Invalid(format!(
                "each code must have 1 to {} characters",
                MAX_CODE_CHARS
            )));
        }
        let now = unix_now();
        let owned: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let batch = sync::fingerprint(&owned);
        let mut sealed = Vec::with_capacity(codes.len());
        for (i, code) in codes.iter().enumerate() {
            let position = i as u32 + 1;
            sealed.push((position, self.seal(account, position, code.as_bytes())?));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM recovery_codes WHERE account = ?1",
            params![account],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO recovery_codes
                 (account, position, nonce, ciphertext, used, saved_at, batch, replaced)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, 0)",
            )?;
            for (position, (nonce, ciphertext)) in &sealed {
                insert.execute(params![account, position, nonce, ciphertext, now, batch])?;
            }
        }
        tx.commit()?;
        Ok(sealed.len() as u32)
    }

    /// What is kept, without the codes; one account or all.
    pub fn list(&self, account: Option<&str>) -> Result<Vec<VaultEntry>, VaultError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, account, position, used, saved_at, replaced FROM recovery_codes
             WHERE ?1 IS NULL OR account = ?1 ORDER BY account, position",
        )?;
        let rows = stmt.query_map(params![account], |r| {
            Ok(VaultEntry {
                id: r.get::<_, i64>(0)? as u64,
                account: r.get(1)?,
                position: r.get(2)?,
                used: r.get::<_, i64>(3)? != 0,
                saved_at: r.get::<_, i64>(4)?.max(0) as u64,
                replaced: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One code in clear, with its account.
    pub fn reveal(&self, id: u64) -> Result<(String, String), VaultError> {
        let row: Option<(String, u32, Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT account, position, nonce, ciphertext FROM recovery_codes WHERE id = ?1",
                params![id_param(id)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (account, position, nonce, ciphertext) = row.ok_or(VaultError::NotFound(id))?;
        let plain = self.open_sealed(&account, position, &nonce, &ciphertext)?;
        let code = String::from_utf8(plain).map_err(|_| VaultError::Corrupt)?;
        Ok((account, code))
    }

    /// Forgets the codes kept for `account`; how many there were.
    pub fn delete(&mut self, account: &str) -> Result<u32, VaultError> {
        validate_account(account)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM recovery_codes WHERE account = ?1",
            params![account],
        )?;
        tx.commit()?;
        Ok(n as u32)
    }

    /// Records which codes the API has seen used (positions are 1-based).
    pub fn mark_used(&mut self, account: &str, positions: &[u32]) -> Result<(), VaultError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for position in positions {
            tx.execute(
                "UPDATE recovery_codes SET used = 1 WHERE account = ?1 AND position = ?2",
                params![account, position],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn seal(
        &self,
        account: &str,
        position: u32,
        plain: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = code_aad(account, position);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        Ok((nonce.to_vec(), ciphertext))
    }

    fn open_sealed(
        &self,
        account: &str,
        position: u32,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        if nonce.len() != NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let aad = code_aad(account, position);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Corrupt)
    }
}

/// Deletes the vault's files (database, WAL, shared memory), for
/// `reset-vault` when its key is gone. Returns the files that existed.
pub fn remove_files(path: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut removed = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

fn code_aad(account: &str, position: u32) -> Vec<u8> {
    format!("dialer-2fa/vault/v1/code/{}/{}", position, account).into_bytes()
}

fn id_param(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(-1)
}

fn validate_account(account: &str) -> Result<(), VaultError> {
    if account.trim().is_empty() || account.chars().count() > MAX_ACCOUNT_CHARS {
        return Err(VaultError::Invalid(format!(
            "the account must have 1 to {} characters",
            MAX_ACCOUNT_CHARS
        )));
    }
    Ok(())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn migrate(conn: &mut Connection) -> Result<(), VaultError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::TooNew(version));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The vault's folder is the user's alone.
fn create_private_dir(dir: &Path) -> Result<(), VaultError> {
    let folder_err = |source| VaultError::Folder {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(folder_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(folder_err)?;
    }
    Ok(())
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(error = %e, "could not restrict the vault file's permissions");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A key store in memory, standing in for the keyring.
    #[derive(Default)]
    struct MemoryKeys(RefCell<Option<Vec<u8>>>);

    impl KeyStore for MemoryKeys {
        fn load_key(&self) -> Result<Option<Vec<u8>>, SecretsError> {
            Ok(self.0.borrow().clone())
        }
        fn store_key(&self, key: &[u8]) -> Result<(), SecretsError> {
            *self.0.borrow_mut() = Some(key.to_vec());
            Ok(())
        }
    }

    fn codes(prefix: &str) -> Vec<String> {
        (0..10)
            .map(|i| format!("{}-{:04}-ZQXJ", prefix, i))
            .collect()
    }

    #[test]
    fn save_list_reveal_delete() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MemoryKeys::default();
        let mut vault = Vault::open(&dir.path().join(VAULT_FILE), &keys).unwrap();
        assert_eq!(vault.save("a@example.com", &codes("AAA")).unwrap(), 10);
        assert_eq!(vault.save("b@example.com", &codes("BBB")).unwrap(), 10);
        let entries = vault.list(Some("a@example.com")).unwrap();
        assert_eq!(entries.len(), 10);
        assert_eq!(entries[0].position, 1);
        let (account, code) = vault.reveal(entries[3].id).unwrap();
        assert_eq!(
            (account.as_str(), code.as_str()),
            ("a@example.com", "AAA-0003-ZQXJ")
        );
        assert_eq!(vault.list(None).unwrap().len(), 20);
        vault.mark_used("a@example.com", &[4]).unwrap();
        assert!(vault.list(Some("a@example.com")).unwrap()[3].used);
        assert_eq!(vault.delete("a@example.com").unwrap(), 10);
        assert!(matches!(
            vault.reveal(entries[3].id),
            Err(VaultError::NotFound(_))
        ));
        assert_eq!(vault.list(None).unwrap().len(), 10);
    }

    #[test]
    fn saving_again_replaces_all_codes() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MemoryKeys::default();
        let mut vault = Vault::open(&dir.path().join(VAULT_FILE), &keys).unwrap();
        vault.save("a", &codes("OLD")).unwrap();
        vault.save("a", &codes("NEW")[..3]).unwrap();
        let entries = vault.list(None).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(vault.reveal(entries[0].id).unwrap().1, "NEW-0000-ZQXJ");
    }

    #[test]
    fn a_batch_replaced_elsewhere_is_marked_replaced_and_new_positions_leave_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = Vault::open(&dir.path().join(VAULT_FILE), &MemoryKeys::default()).unwrap();
        let old = codes("OLD");
        vault.save("A@example.com ", &old).unwrap();
        vault.save("b@example.com", &codes("BBB")).unwrap();
        let kept = fingerprint(&old);
        // The current batch: its used places are marked.
        let api = ApiCodes {
            enabled: true,
            batch: Some(&kept),
            used: &[2],
        };
        let synced = vault.sync_with_api("a@example.com", api).unwrap();
        assert_eq!(
            synced,
            Synced {
                marked_used: 1,
                marked_replaced: 0
            }
        );
        // Another batch: nothing more marked used, everything replaced.
        let new = fingerprint(&codes("NEW"));
        let api = ApiCodes {
            enabled: true,
            batch: Some(&new),
            used: &[3, 4],
        };
        let synced = vault.sync_with_api("a@example.com", api).unwrap();
        assert_eq!(
            synced,
            Synced {
                marked_used: 0,
                marked_replaced: 10
            }
        );
        let entries = vault.list(Some("A@example.com ")).unwrap();
        assert!(entries.iter().all(|e| e.replaced));
        let used: Vec<u32> = entries
            .iter()
            .filter(|e| e.used)
            .map(|e| e.position)
            .collect();
        assert_eq!(used, vec![2]);
        // A replaced code typed at sign-in is not "found" either.
        assert_eq!(
            vault
                .mark_code_used("a@example.com", "OLD-0005-ZQXJ")
                .unwrap(),
            0
        );
        // Other people's codes are untouched; saving again starts afresh.
        assert!(vault
            .list(Some("b@example.com"))
            .unwrap()
            .iter()
            .all(|e| !e.replaced));
        vault.save("a@example.com", &codes("NEW")).unwrap();
        assert!(vault
            .list(Some("a@example.com"))
            .unwrap()
            .iter()
            .all(|e| !e.replaced && !e.used));
    }

    #[test]
    fn without_2fa_kept_codes_are_replaced_and_a_batch_without_fingerprint_syncs_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = Vault::open(&dir.path().join(VAULT_FILE), &MemoryKeys::default()).unwrap();
        vault.save("a", &codes("A")).unwrap();
        // A row kept before fingerprints: computed from the codes.
        vault
            .conn
            .execute("UPDATE recovery_codes SET batch = NULL", [])
            .unwrap();
        let legacy = ApiCodes {
            enabled: true,
            batch: None,
            used: &[1],
        };
        assert_eq!(vault.sync_with_api("a", legacy).unwrap().marked_used, 1);
        let same = fingerprint(&codes("A"));
        let api = ApiCodes {
            enabled: true,
            batch: Some(&same),
            used: &[1, 5],
        };
        assert_eq!(
            vault.sync_with_api("a", api).unwrap(),
            Synced {
                marked_used: 1,
                marked_replaced: 0
            }
        );
        let off = ApiCodes {
            enabled: false,
            batch: None,
            used: &[],
        };
        assert_eq!(vault.sync_with_api("a", off).unwrap().marked_replaced, 10);
    }

    #[test]
    fn a_vault_of_the_first_schema_is_upgraded_and_keeps_its_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VAULT_FILE);
        let keys = MemoryKeys::default();
        let mut vault = Vault::open(&path, &keys).unwrap();
        vault.save("a", &codes("V1")).unwrap();
        vault
            .conn
            .execute_batch(
                "ALTER TABLE recovery_codes DROP COLUMN batch;
                 ALTER TABLE recovery_codes DROP COLUMN replaced;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        drop(vault);
        let mut vault = Vault::open(&path, &keys).unwrap();
        let entries = vault.list(Some("a")).unwrap();
        assert_eq!(entries.len(), 10);
        assert!(entries.iter().all(|e| !e.replaced));
        let current = fingerprint(&codes("V1"));
        let api = ApiCodes {
            enabled: true,
            batch: Some(&current),
            used: &[7],
        };
        assert_eq!(vault.sync_with_api("a", api).unwrap().marked_used, 1);
    }

    #[test]
    fn plaintext_never_reaches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VAULT_FILE);
        let keys = MemoryKeys::default();
        let mut vault = Vault::open(&path, &keys).unwrap();
        vault.save("a", &codes("PLAINTEXTMARK")).unwrap();
        drop(vault);
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            assert!(!bytes
                .windows(b"PLAINTEXTMARK".len())
                .any(|w| w == b"PLAINTEXTMARK"));
        }
    }

    #[test]
    fn reopening_with_the_same_key_reads_the_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VAULT_FILE);
        let keys = MemoryKeys::default();
        Vault::open(&path, &keys)
            .unwrap()
            .save("a", &codes("K"))
            .unwrap();
        let vault = Vault::open(&path, &keys).unwrap();
        let first = vault.list(None).unwrap()[0].id;
        assert_eq!(vault.reveal(first).unwrap().1, "K-0000-ZQXJ");
    }

    #[test]
    fn a_different_key_is_refused_and_a_lost_key_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VAULT_FILE);
        Vault::open(&path, &MemoryKeys::default())
            .unwrap()
            .save("a", &codes("K"))
            .unwrap();
        let other = MemoryKeys(RefCell::new(Some(vec![7u8; KEY_LEN])));
        assert!(matches!(
            Vault::open(&path, &other),
            Err(VaultError::KeyMismatch)
        ));
        assert!(matches!(
            Vault::open(&path, &MemoryKeys::default()),
            Err(VaultError::KeyLost(10))
        ));
    }

    #[test]
    fn tampered_rows_do_not_decrypt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VAULT_FILE);
        let keys = MemoryKeys::default();
        let mut vault = Vault::open(&path, &keys).unwrap();
        vault.save("a", &codes("A")).unwrap();
        vault.save("b", &codes("B")).unwrap();
        // Move one of b's ciphertexts onto a's row: the AEAD refuses it.
        vault
            .conn
            .execute(
                "UPDATE recovery_codes SET nonce = (SELECT nonce FROM recovery_codes WHERE account='b' AND position=1),
                 ciphertext = (SELECT ciphertext FROM recovery_codes WHERE account='b' AND position=1)
                 WHERE account='a' AND position=1",
                [],
            )
            .unwrap();
        let id = vault.list(Some("a")).unwrap()[0].id;
        assert!(matches!(vault.reveal(id), Err(VaultError::Corrupt)));
    }

    #[test]
    fn bad_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = Vault::open(&dir.path().join(VAULT_FILE), &MemoryKeys::default()).unwrap();
        assert!(matches!(vault.save("a", &[]), Err(VaultError::Invalid(_))));
        assert!(matches!(
            vault.save("", &codes("x")),
            Err(VaultError::Invalid(_))
        ));
        assert!(matches!(
            vault.save("a", &["  ".to_string()]),
            Err(VaultError::Invalid(_))
        ));
        assert!(matches!(
            vault.save("a", &vec!["c".to_string(); MAX_CODES + 1]),
            Err(VaultError::Invalid(_))
        ));
    }
}
