//! Passwords: Argon2id hashes in PHC format, verified off the async runtime.
//!
//! The parameters come from config so the test suite can use cheap ones;
//! the default is the argon2 crate's (OWASP's 19 MiB, 2 passes). Hashes keep
//! their own parameters, so changing them later still verifies old hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{ApiError, ApiResult};

/// NIST SP 800-63B: at least 8 characters; a generous upper bound keeps
/// hashing cost bounded.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Argon2id cost, from config.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
        }
    }
}

impl PasswordCost {
    fn hasher(&self) -> ApiResult<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| ApiError::internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Checks the length rules before a password is stored.
pub fn validate_new(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(ApiError::WeakPassword(format!(
            "the password must have at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(ApiError::WeakPassword(format!(
            "the password must have at most {MAX_LEN} characters"
        )));
    }
    Ok(())
}

/// Hashes synchronously (admin CLI, blocking threads).
pub fn hash_blocking(cost: PasswordCost, password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    cost.hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))
}

/// Verifies synchronously. An unparsable stored hash is an internal error,
/// not a wrong password.
pub fn verify_blocking(cost: PasswordCost, password: &str, stored: &str) -> ApiResult<bool> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| ApiError::internal(format!("stored hash: {e}")))?;
    Ok(cost
        .hasher()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

pub async fn hash(cost: PasswordCost, password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(cost, &password))
        .await
        .map_err(ApiError::internal)?
}

/// Verifies against `stored`, or against a dummy hash when the user does
/// not exist, so the answer takes the same time either way and an attacker
/// cannot tell which emails have accounts.
pub async fn verify(
    cost: PasswordCost,
    password: String,
    stored: Option<String>,
) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify_blocking(cost, &password, &h),
        None => {
            let dummy = dummy_hash(cost)?;
            let _ = verify_blocking(cost, &password, &dummy)?;
            Ok(false)
        }
    })
    .await
    .map_err(ApiError::internal)?
}

/// One hash per cost, made on first use, so unknown emails cost one
/// verification like known ones (not a hash and a verification).
fn dummy_hash(cost: PasswordCost) -> ApiResult<String> {
    static DUMMY: Mutex<Vec<(u32, u32, String)>> = Mutex::new(Vec::new());
    let key = (cost.memory_kib, cost.iterations);
    if let Ok(cache) = DUMMY.lock() {
        if let Some((_, _, h)) = cache.iter().find(|(m, t, _)| (*m, *t) == key) {
            return Ok(h.clone());
        }
    }
    let h = hash_blocking(cost, "not-a-user-password")?;
    if let Ok(mut cache) = DUMMY.lock() {
        cache.push((key.0, key.1, h.clone()));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let cost = PasswordCost {
            memory_kib: 1024,
            iterations: 1,
        };
        let h = hash_blocking(cost, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_blocking(cost, "correct horse", &h).unwrap());
        assert!(!verify_blocking(cost, "wrong horse", &h).unwrap());
    }

    #[test]
    fn length_rules() {
        assert!(validate_new("short").is_err());
        assert!(validate_new("long enough").is_ok());
    }
}
