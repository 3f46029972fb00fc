//! TOTP for authenticator apps (R1, R2): RFC 6238 with SHA-1, 6 digits,
//! 30-second steps, ±1 step of drift, 160-bit secrets, each step accepted
//! once per user (RFC 6238 §5.2).
//!
//! Verification reports the matched step so the caller can refuse a step at
//! or below the last one used. When a code matches a step further away (up
//! to 5 minutes), the error says so: that is a clock that is off, not a
//! wrong secret, and the user can fix it.

use data_encoding::BASE64;
use rand::RngCore;
use shared::api::AuthenticatorSetup;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use crate::error::{ApiError, ApiResult};

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: usize = 6;
/// Accepted drift in steps on either side.
pub const DRIFT_STEPS: i64 = 1;
/// How far to look for a skew hint, in steps (5 minutes).
pub const SKEW_HINT_STEPS: i64 = 10;
/// 160 bits, the RFC 4226 recommendation.
pub const SECRET_BYTES: usize = 20;

pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account_name: &str) -> ApiResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        DRIFT_STEPS as u8,
        STEP_SECONDS,
        secret.to_vec(),
        Some(shared::product::PRODUCT.to_string()),
        account_name.to_string(),
    )
    .map_err(|e| ApiError::internal(format!("totp parameters: {e}")))
}

/// What the setup screen shows: the key, the URI and its QR code.
pub fn setup_material(secret: &[u8], account_name: &str) -> ApiResult<AuthenticatorSetup> {
    let t = totp(secret, account_name)?;
    let png = t
        .get_qr_png()
        .map_err(|e| ApiError::internal(format!("qr code: {e}")))?;
    Ok(AuthenticatorSetup {
        secret_base32: t.get_secret_base32(),
        otpauth_uri: t.get_url(),
        qr_png_base64: BASE64.encode(&png),
    })
}

/// The code for one step (tests and the benchmark use this too).
pub fn code_at(secret: &[u8], unix_seconds: i64) -> ApiResult<String> {
    Ok(totp(secret, "x")?.generate(unix_seconds.max(0) as u64))
}

/// The outcome of comparing a typed code with the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Within the drift window, at this absolute step.
    Step(i64),
    /// Only matches `offset` steps away: a clock is off.
    Skewed {
        offset: i64,
    },
    None,
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS as i64)
}

/// Compares `typed` with the codes around `now`, in constant time per code.
pub fn compare(secret: &[u8], typed: &str, now: i64) -> ApiResult<Match> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Match::None);
    }
    let t = totp(secret, "x")?;
    let current = step_of(now);
    let matches = |offset: i64| -> bool {
        let step = current + offset;
        if step < 0 {
            return false;
        }
        let code = t.generate(step as u64 * STEP_SECONDS);
        bool::from(code.as_bytes().ct_eq(typed.as_bytes()))
    };
    // Prefer the current step, then the neighbours.
    for offset in [0i64, -1, 1] {
        if offset.abs() <= DRIFT_STEPS && matches(offset) {
            return Ok(Match::Step(current + offset));
        }
    }
    for distance in (DRIFT_STEPS + 1)..=SKEW_HINT_STEPS {
        for offset in [-distance, distance] {
            if matches(offset) {
                return Ok(Match::Skewed { offset });
            }
        }
    }
    Ok(Match::None)
}

/// Turns a comparison into an accepted step or the right error.
/// `last_step` is the highest step this user has already used.
pub fn accept(result: Match, last_step: Option<i64>) -> ApiResult<i64> {
    match result {
        Match::Step(step) => {
            if last_step.map(|l| step <= l).unwrap_or(false) {
                Err(ApiError::ReusedCode)
            } else {
                Ok(step)
            }
        }
        Match::Skewed { offset } => {
            let seconds = offset.abs() * STEP_SECONDS as i64;
            let direction = if offset < 0 { "behind" } else { "ahead of" };
            Err(ApiError::InvalidCode(format!(
                "the code is not valid now, but it matches the code of about {seconds} seconds \
                 {direction} the server's time: the clock of the device with the authenticator app \
                 looks wrong; set it to update automatically"
            )))
        }
        Match::None => Err(ApiError::InvalidCode(
            "the code is wrong; enter the current 6-digit code from your authenticator app".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, through the same library the server uses.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let seeds: [(Algorithm, &[u8]); 3] = [
            (Algorithm::SHA1, b"12345678901234567890"),
            (Algorithm::SHA256, b"12345678901234567890123456789012"),
            (
                Algorithm::SHA512,
                b"1234567890123456789012345678901234567890123456789012345678901234",
            ),
        ];
        let vectors: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        for (i, (alg, seed)) in seeds.iter().enumerate() {
            let t = TOTP::new(*alg, 8, 1, 30, seed.to_vec(), None, "x".into()).unwrap();
            for (time, expected) in vectors.iter() {
                assert_eq!(t.generate(*time), expected[i], "{alg:?} t={time}");
            }
        }
    }

    #[test]
    fn drift_replay_and_skew() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let current = step_of(now);
        let code = code_at(&secret, now).unwrap();
        let step = accept(compare(&secret, &code, now).unwrap(), None).unwrap();
        assert_eq!(step, current);
        assert!(matches!(
            accept(compare(&secret, &code, now).unwrap(), Some(step)),
            Err(ApiError::ReusedCode)
        ));
        let previous = code_at(&secret, now - 30).unwrap();
        assert_eq!(
            compare(&secret, &previous, now).unwrap(),
            Match::Step(current - 1)
        );
        let two_old = code_at(&secret, now - 60).unwrap();
        assert_eq!(
            compare(&secret, &two_old, now).unwrap(),
            Match::Skewed { offset: -2 }
        );
        assert_eq!(compare(&secret, "12345", now).unwrap(), Match::None);
    }
}
