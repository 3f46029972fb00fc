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
    // Nearest steps first, so the current step wins over its neighbours.
    // Within the drift window a match is accepted; further out it only
    // tells the person their phone's clock is off.
    for distance in 0..=SKEW_HINT_STEPS {
        for offset in [-distance, distance] {
            if matches(offset) {
                return Ok(if distance <= DRIFT_STEPS {
                    Match::Step(current + offset)
                } else {
                    Match::Skewed { offset }
                });
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

    /// RFC 6238 appendix B's SHA-1 seed ("12345678901234567890", ASCII).
    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// RFC 6238 appendix B, SHA-1 column: (time, published 8-digit value).
    /// A 6-digit code is the same HOTP value mod 10^6, so the last six
    /// digits are what an authenticator app shows.
    const RFC_SHA1: [(i64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];

    fn six(published: &str) -> &str {
        &published[published.len() - DIGITS..]
    }

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

    /// The server's own code path (`code_at`, `compare`) against the
    /// published values, not against itself.
    #[test]
    fn server_codes_are_the_published_rfc6238_values() {
        for (time, published) in RFC_SHA1 {
            assert_eq!(code_at(RFC_SEED, time).unwrap(), six(published), "t={time}");
            assert_eq!(
                compare(RFC_SEED, six(published), time).unwrap(),
                Match::Step(step_of(time)),
                "t={time}"
            );
        }
    }

    /// Drift, replay and skew with codes whose steps are known from the
    /// RFC: 1111111109 and 1111111111 fall in neighbouring steps
    /// (37037036 and 37037037).
    #[test]
    fn drift_replay_and_skew() {
        let earlier = six(RFC_SHA1[1].1); // step 37037036
        let later = six(RFC_SHA1[2].1); // step 37037037
        assert_eq!(step_of(1111111109), 37037036);
        assert_eq!(step_of(1111111111), 37037037);

        // At the later step: its own code, and the previous step's (drift).
        let now = 1111111111;
        assert_eq!(
            compare(RFC_SEED, later, now).unwrap(),
            Match::Step(37037037)
        );
        assert_eq!(
            compare(RFC_SEED, earlier, now).unwrap(),
            Match::Step(37037036)
        );
        // Seen from the earlier step, the later code is the next step's:
        // accepted as drift; seen from one step before that, it is two
        // steps ahead: only a skew hint.
        assert_eq!(
            compare(RFC_SEED, later, 1111111109 - 30).unwrap(),
            Match::Skewed { offset: 2 }
        );
        assert_eq!(
            compare(RFC_SEED, later, 1111111109).unwrap(),
            Match::Step(37037037)
        );

        // Each step once.
        let step = accept(compare(RFC_SEED, later, now).unwrap(), None).unwrap();
        assert_eq!(step, 37037037);
        assert!(matches!(
            accept(compare(RFC_SEED, later, now).unwrap(), Some(step)),
            Err(ApiError::ReusedCode)
        ));
        // A step below the last used one is refused too, even in the window.
        assert!(matches!(
            accept(compare(RFC_SEED, earlier, now).unwrap(), Some(step)),
            Err(ApiError::ReusedCode)
        ));
        assert_eq!(
            accept(compare(RFC_SEED, later, now).unwrap(), Some(step - 1)).unwrap(),
            step
        );

        // Two and three steps late: a skew hint, not a match.
        let two_late = 1111111111 + 60;
        assert_eq!(
            compare(RFC_SEED, later, two_late).unwrap(),
            Match::Skewed { offset: -2 }
        );
        assert_eq!(
            compare(RFC_SEED, earlier, two_late).unwrap(),
            Match::Skewed { offset: -3 }
        );
        assert!(matches!(
            accept(Match::Skewed { offset: -2 }, None),
            Err(ApiError::InvalidCode(m)) if m.contains("60 seconds behind")
        ));
        // Eleven steps late: too far even for a hint.
        assert_eq!(
            compare(RFC_SEED, later, 1111111111 + 11 * 30).unwrap(),
            Match::None
        );

        // Not six digits: never a match.
        assert_eq!(compare(RFC_SEED, "12345", now).unwrap(), Match::None);
        assert_eq!(compare(RFC_SEED, "o50471", now).unwrap(), Match::None);
        // Spaces people type are ignored.
        assert_eq!(
            compare(RFC_SEED, " 050 471", now).unwrap(),
            Match::Step(37037037)
        );
    }

    /// oathtool, an implementation nobody here wrote, for a fresh random
    /// secret as the setup screen shows it (base32, decoded here with
    /// data-encoding rather than the TOTP library).
    fn oathtool(secret_base32: &str, unix: i64, window: u32) -> Vec<String> {
        let out = std::process::Command::new("oathtool")
            .args(["--totp", "-b", "-N", &format!("@{unix}"), "-w"])
            .arg(window.to_string())
            .arg(secret_base32)
            .output()
            .expect("oathtool is installed (make setup)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// Near the Unix epoch the window must stop at step 0: the code of
    /// step 0 still matches there, and a wrong code is refused without
    /// looking at steps before it (which do not exist).
    #[test]
    fn the_window_stops_at_step_zero() {
        let first = code_at(RFC_SEED, 0).unwrap();
        assert_eq!(compare(RFC_SEED, &first, 0).unwrap(), Match::Step(0));
        assert_eq!(compare(RFC_SEED, &first, 29).unwrap(), Match::Step(0));
        let window: Vec<String> = (0..=SKEW_HINT_STEPS)
            .map(|step| code_at(RFC_SEED, step * STEP_SECONDS as i64).unwrap())
            .collect();
        let wrong = (0..1_000_000)
            .map(|n| format!("{n:06}"))
            .find(|c| !window.contains(c))
            .unwrap();
        assert_eq!(compare(RFC_SEED, &wrong, 0).unwrap(), Match::None);
    }

    #[test]
    fn a_random_secret_agrees_with_oathtool() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let setup = setup_material(&secret, "amy@example.com").unwrap();
        let decoded = data_encoding::BASE32_NOPAD
            .decode(setup.secret_base32.trim_end_matches('=').as_bytes())
            .unwrap();
        assert_eq!(&decoded[..], &secret[..]);
        assert!(setup
            .otpauth_uri
            .contains(&format!("secret={}", setup.secret_base32)));
        let now = 1_700_000_000;
        // oathtool -w 2 at now - 30 prints the steps before, at and after now.
        let window = oathtool(&setup.secret_base32, now - 30, 2);
        assert_eq!(window.len(), 3);
        assert_eq!(code_at(&secret, now).unwrap(), window[1]);
        assert_eq!(
            compare(&secret, &window[0], now).unwrap(),
            Match::Step(step_of(now) - 1)
        );
        assert_eq!(
            compare(&secret, &window[1], now).unwrap(),
            Match::Step(step_of(now))
        );
        assert_eq!(
            compare(&secret, &window[2], now).unwrap(),
            Match::Step(step_of(now) + 1)
        );
        // A code none of the 21 steps around now has: no match, no hint.
        let near = oathtool(&setup.secret_base32, now - 300, 20);
        assert_eq!(near.len(), 21);
        let wrong = (0..1_000_000u32)
            .map(|n| format!("{n:06}"))
            .find(|c| !near.contains(c))
            .unwrap();
        assert_eq!(compare(&secret, &wrong, now).unwrap(), Match::None);
    }
}
