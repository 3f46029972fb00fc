//! Recovery codes (R4): 10 per set, 80 bits each, stored as keyed MACs,
//! each usable once.
//!
//! Using one is a single conditional UPDATE (`used_at IS NULL`) on the one
//! server connection, so two requests with the same code cannot both win.

use crate::params;
use crate::store::{Conn, OptionalExtension, StoreResult};
use rand::Rng;
use sha2::{Digest, Sha256};
use shared::rules::{
    normalize_recovery_code as normalize, recovery_batch_preimage,
    RECOVERY_CODE_ALPHABET as ALPHABET, RECOVERY_CODE_GROUPS as GROUPS,
    RECOVERY_CODE_GROUP_LEN as GROUP_LEN,
};

use crate::secret_box::SecretBox;

pub const COUNT: usize = shared::rules::RECOVERY_CODE_COUNT;

/// A new code such as `7kq2-m9xd-4hrt-0vbn` (16 symbols, 80 bits).
pub fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(GROUPS * (GROUP_LEN + 1));
    for g in 0..GROUPS {
        if g > 0 {
            out.push('-');
        }
        for _ in 0..GROUP_LEN {
            out.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
        }
    }
    out
}

fn mac(secrets: &SecretBox, user_id: i64, code: &str) -> Vec<u8> {
    secrets.mac(&format!("recovery:{user_id}"), &normalize(code))
}

/// Replaces the user's codes with a fresh set and returns it (shown once).
pub fn replace_all(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    user_id: i64,
) -> StoreResult<Vec<String>> {
    conn.execute(
        "DELETE FROM recovery_codes WHERE user_id = ?1",
        params![user_id],
    )?;
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let code = new_code();
        conn.execute(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
            params![user_id, mac(secrets, user_id, &code), now],
        )?;
        codes.push(code);
    }
    conn.execute(
        "UPDATE users SET recovery_batch = ?1 WHERE id = ?2",
        params![fingerprint(&codes), user_id],
    )?;
    Ok(codes)
}

/// The fingerprint of a batch (`shared::rules::recovery_batch_preimage`):
/// clients that keep copies compare theirs with it.
pub fn fingerprint(codes: &[String]) -> String {
    Sha256::digest(recovery_batch_preimage(codes).as_bytes())
        .iter()
        .map(|b| format!("{:02x}", b))
        .collect()
}

/// The fingerprint of the user's current batch, when it has one.
pub fn batch(conn: &Conn, user_id: i64) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT recovery_batch FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get::<Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// Uses a code up. True only for the one request that used it.
pub fn consume(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    user_id: i64,
    typed: &str,
) -> StoreResult<bool> {
    let changed = conn.execute(
        "UPDATE recovery_codes SET used_at = ?1
         WHERE id = (SELECT id FROM recovery_codes
                     WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL LIMIT 1)
           AND used_at IS NULL",
        params![now, user_id, mac(secrets, user_id, typed)],
    )?;
    Ok(changed == 1)
}

pub fn remaining(conn: &Conn, user_id: i64) -> StoreResult<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        params![user_id],
        |r| r.get(0),
    )
}

/// The places (1-based, in the order the set was issued) of the used codes.
pub fn used_positions(conn: &Conn, user_id: i64) -> StoreResult<Vec<u32>> {
    let used = conn.query_map(
        "SELECT used_at IS NOT NULL FROM recovery_codes WHERE user_id = ?1 ORDER BY id",
        params![user_id],
        |r| r.get::<bool>(0),
    )?;
    Ok(used
        .iter()
        .enumerate()
        .filter(|(_, used)| **used)
        .map(|(i, _)| i as u32 + 1)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_80_bits_and_normalize() {
        let c = new_code();
        assert_eq!(c.len(), 19);
        assert_eq!(normalize(&c.to_uppercase()), normalize(&c));
        assert_eq!(normalize("IL0O-"), "1100");
    }
}
