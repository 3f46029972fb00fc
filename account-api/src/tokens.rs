//! Bearer tokens: random, at least 128 bits, stored only as SHA-256 hashes.
//!
//! A prefix names the token's kind (`ses_`, `chl_`, `dev_`, `hof_`), which
//! makes a leaked token recognisable to secret scanners and stops one kind
//! being presented as another (the hash covers the prefix).

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Challenge,
    TrustedDevice,
    Handoff,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "ses_",
            TokenKind::Challenge => "chl_",
            TokenKind::TrustedDevice => "dev_",
            TokenKind::Handoff => "hof_",
        }
    }
}

/// 256 random bits, URL-safe base64, with the kind's prefix.
pub fn new_token(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{}{}", kind.prefix(), BASE64URL_NOPAD.encode(&bytes))
}

/// The stored form of a token. Lookups are by this hash; the token itself
/// is never stored or logged.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_long_and_prefixed() {
        let a = new_token(TokenKind::Session);
        let b = new_token(TokenKind::Session);
        assert_ne!(a, b);
        assert!(a.starts_with("ses_"));
        assert_eq!(a.len(), 4 + 43);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 32);
    }
}
