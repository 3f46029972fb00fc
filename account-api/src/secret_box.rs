//! Encryption at rest for TOTP secrets, and keyed MACs for short codes.
//!
//! The server key is 32 random bytes. By default it is a file beside the
//! database (`<db>.key`, mode 0600), created on first start. An operator
//! running several nodes gives every node the same key instead
//! ([`ServerKey`]: `--server-key-file` or `DIALER_2FA_SERVER_KEY`), which is
//! never created for them: a node that made up its own key would seal
//! secrets no other node can open. A copy of the database alone does not
//! reveal any TOTP secret, and a 6-digit SMS code's stored MAC cannot be
//! brute-forced offline without the key.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The environment variable that may hold the server key, base64.
pub const KEY_ENV: &str = "DIALER_2FA_SERVER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or create the server key {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("the server key {0} is not {KEY_LEN} bytes; restore it from backup")]
    BadLength(PathBuf),
    // The text itself is never part of the message: it may be most of a key.
    #[error("{KEY_ENV} is not base64 (standard alphabet, with padding)")]
    EnvNotBase64,
    #[error("{KEY_ENV} decodes to {0} bytes; the server key is {KEY_LEN} bytes")]
    EnvBadLength(usize),
    #[error("both --server-key-file and {KEY_ENV} are set; give the server key one way only")]
    Both,
    #[error(
        "a PostgreSQL node needs its server key from --server-key-file or {KEY_ENV}: \
         every node must seal TOTP secrets with the same key, so none is made up here"
    )]
    SharedStoreNeedsKey,
}

/// Where the server key comes from.
#[derive(Clone, Default)]
pub enum ServerKey {
    /// `<db>.key`, created on first start: one node, nothing to configure.
    #[default]
    BesideDatabase,
    /// `--server-key-file`: the same 32 raw bytes as a `<db>.key` (so a
    /// single node's key file can be handed to the next node as it is);
    /// it must exist.
    File(PathBuf),
    /// `DIALER_2FA_SERVER_KEY`: base64 of the 32 bytes.
    Base64(Zeroizing<String>),
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerKey::BesideDatabase => f.write_str("BesideDatabase"),
            ServerKey::File(path) => f.debug_tuple("File").field(path).finish(),
            ServerKey::Base64(_) => f.write_str("Base64(..)"),
        }
    }
}

impl ServerKey {
    /// The source an operator gave: the file flag, the environment
    /// variable, or neither. Both is refused rather than ranked, since
    /// either silently winning would leave a node on a key its operator
    /// did not mean.
    pub fn from_options(
        file: Option<PathBuf>,
        env: Option<String>,
    ) -> Result<ServerKey, KeyFileError> {
        match (file, env) {
            (Some(_), Some(_)) => Err(KeyFileError::Both),
            (Some(path), None) => Ok(ServerKey::File(path)),
            (None, Some(text)) => Ok(ServerKey::Base64(Zeroizing::new(text))),
            (None, None) => Ok(ServerKey::BesideDatabase),
        }
    }

    /// The key itself; `db` places the default file.
    /// `db` is the SQLite file the default key sits beside; `None` for a
    /// store shared by several nodes, which must be given the key.
    pub fn load(&self, db: Option<&Path>) -> Result<SecretBox, KeyFileError> {
        match self {
            ServerKey::BesideDatabase => match db {
                Some(db) => SecretBox::load_or_create(&key_path_for(db)),
                None => Err(KeyFileError::SharedStoreNeedsKey),
            },
            ServerKey::File(path) => SecretBox::load(path),
            ServerKey::Base64(text) => SecretBox::from_base64(text),
        }
    }
}

/// The server key and the ciphers made from it.
#[derive(Clone)]
pub struct SecretBox {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// Where the key of a database lives: `<db>.key`.
pub fn key_path_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

impl SecretBox {
    /// Loads a key file that must exist.
    pub fn load(path: &Path) -> Result<SecretBox, KeyFileError> {
        let bytes = Zeroizing::new(
            std::fs::read(path).map_err(|e| KeyFileError::Io(path.to_path_buf(), e))?,
        );
        SecretBox::from_bytes(&bytes).ok_or_else(|| KeyFileError::BadLength(path.to_path_buf()))
    }

    fn from_bytes(bytes: &[u8]) -> Option<SecretBox> {
        let key: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(SecretBox {
            key: Zeroizing::new(key),
        })
    }

    /// The key from base64 text (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<SecretBox, KeyFileError> {
        let bytes = Zeroizing::new(
            data_encoding::BASE64
                .decode(text.trim().as_bytes())
                .map_err(|_| KeyFileError::EnvNotBase64)?,
        );
        SecretBox::from_bytes(&bytes).ok_or(KeyFileError::EnvBadLength(bytes.len()))
    }

    /// Seals and opens a throw-away value: `/v1/ready`'s check that the
    /// key is loaded and the cipher works, when no stored secret exists to
    /// try it on.
    pub fn probe(&self) -> Result<(), SealError> {
        let sealed = self.seal(b"ready", "probe")?;
        match self.open(&sealed, "probe")?.as_slice() {
            b"ready" => Ok(()),
            _ => Err(SealError),
        }
    }

    /// Loads the key file, or creates it (0600) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, KeyFileError> {
        match std::fs::read(path) {
            Ok(bytes) => SecretBox::from_bytes(&Zeroizing::new(bytes))
                .ok_or_else(|| KeyFileError::BadLength(path.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                rand::rngs::OsRng.fill_bytes(&mut key[..]);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let io = |e| KeyFileError::Io(path.to_path_buf(), e);
                let mut file = match options.open(path) {
                    Ok(f) => f,
                    // Another process created it between our read and open.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return SecretBox::load_or_create(path)
                    }
                    Err(e) => return Err(io(e)),
                };
                file.write_all(&key[..]).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(SecretBox { key })
            }
            Err(e) => Err(KeyFileError::Io(path.to_path_buf(), e)),
        }
    }

    /// A key that lives only in memory (unit tests).
    pub fn ephemeral() -> SecretBox {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        SecretBox { key }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key[..].into())
    }

    /// Seals `plain`; `context` (e.g. "totp:42") binds the blob to its row so
    /// a blob copied to another user does not open.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }

    /// HMAC-SHA256 of a short code under the server key.
    pub fn mac(&self, purpose: &str, value: &str) -> Vec<u8> {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed secret could not be opened with the server key")]
pub struct SealError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let b = SecretBox::ephemeral();
        let sealed = b.seal(b"secret", "totp:1").unwrap();
        assert_eq!(&b.open(&sealed, "totp:1").unwrap()[..], b"secret");
        assert!(b.open(&sealed, "totp:2").is_err());
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn base64_key_must_decode_to_32_bytes_and_errors_never_show_it() {
        let key = data_encoding::BASE64.encode(&[7u8; 32]);
        let a = SecretBox::from_base64(&format!(" {key}\n")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [7u8; 32]).unwrap();
        assert_eq!(
            a.mac("x", "1"),
            SecretBox::load(&path).unwrap().mac("x", "1")
        );
        let short = data_encoding::BASE64.encode(&[7u8; 31]);
        let e = SecretBox::from_base64(&short).unwrap_err();
        assert!(matches!(e, KeyFileError::EnvBadLength(31)));
        assert!(!e.to_string().contains(&short));
        let e = SecretBox::from_base64("not base64!").unwrap_err();
        assert!(matches!(e, KeyFileError::EnvNotBase64));
        assert!(!e.to_string().contains("not base64!"));
        assert!(matches!(
            ServerKey::from_options(Some(path), Some(key)),
            Err(KeyFileError::Both)
        ));
        assert_eq!(
            format!("{:?}", ServerKey::Base64(Zeroizing::new("s3cr3t".into()))),
            "Base64(..)"
        );
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3.key");
        let a = SecretBox::load_or_create(&path).unwrap();
        let b = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(a.mac("x", "1"), b.mac("x", "1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
