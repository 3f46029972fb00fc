//! Numbers and normal forms that more than one process must agree on.
//!
//! The API enforces them, the host compares with them and the extension
//! shows them; if a copy drifted, the vault would stop marking spent codes
//! or the popup would promise a cooldown the API does not keep. So each is
//! written once, here.

/// How long an SMS code works, in seconds. The extension derives the
/// resend cooldown from `SmsCodeSent` with it, on the API's clock.
pub const SMS_CODE_LIFETIME_SECS: i64 = 10 * 60;

/// How long after one SMS code another may be sent, in seconds. The
/// extension shows it when a sign-in challenge (which says only when it
/// expires) sends a code.
pub const SMS_RESEND_COOLDOWN_SECS: i64 = 30;

/// How long "remember this computer" skips the second factor (R8), in days;
/// the trust is not renewed by use.
pub const TRUSTED_DEVICE_DAYS: i64 = 60;

/// [`TRUSTED_DEVICE_DAYS`] in seconds, as tokens carry it.
pub const TRUSTED_DEVICE_SECS: i64 = TRUSTED_DEVICE_DAYS * 86_400;

/// How many recovery codes one set holds.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// The symbols of a recovery code: Crockford's base32 (no i, l, o, u), so
/// codes read aloud well and look-alikes can be merged when typed.
pub const RECOVERY_CODE_ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A recovery code is this many groups ...
pub const RECOVERY_CODE_GROUPS: usize = 4;

/// ... of this many symbols, joined by dashes (`7kq2-m9xd-4hrt-0vbn`).
pub const RECOVERY_CODE_GROUP_LEN: usize = 4;

/// The one reading of a typed recovery code: dashes and blanks dropped,
/// case folded, and the letters people confuse with digits (i, l -> 1;
/// o -> 0) read as those digits. The API keys its MACs by it and the host
/// finds the vault's copy of a spent code by it, so both must use this.
pub fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect()
}

/// What a batch's fingerprint hashes (SHA-256, lower-case hex): a domain
/// tag, then each code in its normal form, one a line, in the order issued.
/// The API reports the fingerprint of the person's current batch; the host
/// computes it of the codes it keeps and of codes a page asks it to keep,
/// so it can tell a batch replaced elsewhere, and accept from the web app
/// only the batch that is current. Ten codes of 80 bits each leave nothing
/// to guess from the hash.
pub fn recovery_batch_preimage(codes: &[String]) -> String {
    let mut text = String::from("dialer-2fa/recovery-batch/v1");
    for code in codes {
        text.push('\n');
        text.push_str(&normalize_recovery_code(code));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers as DESIGN.md states them: an SMS code works ten minutes
    /// and "remember this computer" lasts 60 days. (cargo-mutants tests
    /// this crate alone, so the API's tests of the same rules do not see a
    /// change here.)
    #[test]
    fn the_lifetimes_are_the_designs_in_seconds() {
        assert_eq!(SMS_CODE_LIFETIME_SECS, 600, "ten minutes");
        assert_eq!(TRUSTED_DEVICE_DAYS, 60);
        assert_eq!(TRUSTED_DEVICE_SECS, 60 * 24 * 60 * 60, "60 days");
    }

    #[test]
    fn recovery_codes_read_alike_whatever_the_case_dashes_and_look_alikes() {
        assert_eq!(
            normalize_recovery_code(" AbIL-o9x2 "),
            normalize_recovery_code("ab11-09x2")
        );
        assert_eq!(normalize_recovery_code("IL0O-"), "1100");
        assert_ne!(
            normalize_recovery_code("ab12"),
            normalize_recovery_code("ab13")
        );
    }

    #[test]
    fn the_alphabet_holds_no_look_alike() {
        assert_eq!(RECOVERY_CODE_ALPHABET.len(), 32);
        for c in RECOVERY_CODE_ALPHABET {
            let s = (*c as char).to_string();
            assert_eq!(normalize_recovery_code(&s), s, "{} changes when typed", s);
        }
    }

    #[test]
    fn a_batch_preimage_reads_codes_in_their_normal_form_and_order() {
        let a = vec!["AB12-cd34".to_string(), "ef56".to_string()];
        let b = vec!["ab12cd34".to_string(), "EF56".to_string()];
        assert_eq!(recovery_batch_preimage(&a), recovery_batch_preimage(&b));
        let swapped = vec![b[1].clone(), b[0].clone()];
        assert_ne!(
            recovery_batch_preimage(&a),
            recovery_batch_preimage(&swapped)
        );
        assert_eq!(
            recovery_batch_preimage(&a),
            "dialer-2fa/recovery-batch/v1\nab12cd34\nef56"
        );
    }
}
