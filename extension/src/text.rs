//! Words and small conversions the pages share: how a method, a date or an
//! error reads to a person, and how typed codes are cleaned up. Plain Rust so
//! the tests run on the build machine.

use shared::api::TwoFactorMethod;
use shared::{ErrorBody, ErrorCode};

/// How long an SMS code lives on the API. `SmsCodeSent` gives expiry and
/// resend times on the server's clock, which tests move by weeks; their
/// difference from the code's lifetime gives the cooldown independently of
/// this computer's clock.
pub const SMS_CODE_LIFETIME: i64 = shared::rules::SMS_CODE_LIFETIME_SECS;

/// The cooldown assumed when a sign-in challenge sends an SMS: the challenge
/// says when it expires, not when a resend is allowed, so the API's own
/// cooldown is used.
pub const DEFAULT_RESEND_COOLDOWN: u32 = shared::rules::SMS_RESEND_COOLDOWN_SECS as u32;

/// "Remember this computer for 60 days", with the API's number of days.
pub fn remember_computer_label() -> String {
    format!(
        "Remember this computer for {} days",
        shared::rules::TRUSTED_DEVICE_DAYS
    )
}

/// At or below this many unused recovery codes the badge and the popup warn.
pub const LOW_RECOVERY_CODES: u32 = 3;

pub fn method_name(method: TwoFactorMethod) -> &'static str {
    match method {
        TwoFactorMethod::Authenticator => "Authenticator app",
        TwoFactorMethod::Sms => "Text message (SMS)",
    }
}

/// The authenticator key as people type it from the screen: groups of four
/// (`ABCD EFGH ...`). Only for showing; copying gives the key itself.
pub fn group_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().filter(|c| !c.is_whitespace()).collect();
    chars
        .chunks(4)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A typed or pasted 6-digit code: spaces and dashes people paste along with
/// it are dropped, and anything else is refused before it costs an attempt.
pub fn clean_code(typed: &str) -> Result<String, String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.is_empty() {
        return Err("Enter the 6-digit code.".into());
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("The code is 6 digits, like 123 456.".into());
    }
    Ok(code)
}

/// A recovery code as typed: only surrounding space is dropped here; the API
/// ignores case, dashes and inner spaces itself.
pub fn clean_recovery_code(typed: &str) -> Result<String, String> {
    let code = typed.trim();
    if code.is_empty() {
        return Err("Enter one of your recovery codes.".into());
    }
    Ok(code.to_string())
}

/// An E.164 number with spaces, dashes, dots and brackets removed.
pub fn clean_phone(typed: &str) -> Result<String, String> {
    let phone: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = phone.strip_prefix('+').unwrap_or("");
    if phone.is_empty() {
        return Err("Enter your mobile number with its country code.".into());
    }
    if !phone.starts_with('+')
        || digits.len() < 8
        || digits.len() > 15
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("Enter the number with + and the country code, like +1 415 555 0123.".into());
    }
    Ok(phone)
}

/// The seconds until another SMS may be asked for, from an `SmsCodeSent`.
pub fn resend_cooldown(expires_at: i64, resend_available_at: i64) -> u32 {
    let sent_at = expires_at - SMS_CODE_LIFETIME;
    (resend_available_at - sent_at).clamp(0, 600) as u32
}

/// An error as the page shows it. The host's and API's messages are already
/// written for a person; the cases where the extension knows better what
/// went wrong get their own words.
pub fn error_text(error: &ErrorBody) -> String {
    match error.code {
        ErrorCode::HostNotInstalled => {
            "The dialer-2fa helper is not installed for this browser.".into()
        }
        ErrorCode::ApiUnreachable => format!(
            "The account server did not answer. Check your connection and try again. ({})",
            error.message
        ),
        // Our own words, not the message: an older API put the SMS
        // provider's refusal text there.
        ErrorCode::SmsDeliveryFailed => {
            "We could not send the text message. Try again in a minute.".into()
        }
        _ => sentence(&error.message),
    }
}

/// A message as a sentence: capital first letter, full stop at the end.
pub fn sentence(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 1);
    let mut chars = message.trim().chars();
    if let Some(first) = chars.next() {
        // ASCII only: the Unicode case tables would cost the popup 10 KB.
        out.push(first.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A date on the server's clock, written as people read it: `3 Feb 2027`.
pub fn date(unix_seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{} {} {}", d, MONTHS[(m - 1) as usize], y)
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's
/// `civil_from_days`: no date crate in a 1.63 wasm build for one function.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// The text of the downloadable recovery-code file.
pub fn codes_file(email: &str, codes: &[String]) -> String {
    let mut out = format!(
        "dialer-2fa recovery codes for {}\nEach code works once. Keep this file somewhere safe.\n\n",
        email
    );
    for code in codes {
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The toolbar button's tooltip (and its name for a screen reader): the
/// product, then what the badge and the icon ask of the person.
pub fn toolbar_title(state: crate::toolbar::ToolbarState) -> String {
    use crate::toolbar::ToolbarState;
    let product = shared::product::PRODUCT;
    match state {
        ToolbarState::Normal => product.to_string(),
        ToolbarState::SetupRequired => format!("{}: set up two-factor authentication", product),
        ToolbarState::CodesLow(1) => format!("{}: 1 recovery code left", product),
        ToolbarState::CodesLow(left) => format!("{}: {} recovery codes left", product, left),
        ToolbarState::AnswerWaiting => format!("{}: a web page waits for your answer", product),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_codes_with_spaces_are_accepted() {
        assert_eq!(clean_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(clean_code("123-456").unwrap(), "123456");
        assert!(clean_code("12345").is_err());
        assert!(clean_code("12a456").is_err());
        assert_eq!(clean_code("").unwrap_err(), "Enter the 6-digit code.");
    }

    #[test]
    fn key_is_grouped_in_fours() {
        assert_eq!(group_key("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(group_key("ABCDEF"), "ABCD EF");
        assert_eq!(group_key(""), "");
    }

    #[test]
    fn phone_needs_country_code() {
        assert_eq!(clean_phone("+1 (415) 555-0123").unwrap(), "+14155550123");
        assert!(clean_phone("4155550123").is_err());
        assert!(clean_phone("+1").is_err());
    }

    #[test]
    fn cooldown_comes_from_server_times_not_local_clock() {
        let now = 5_000_000_000;
        assert_eq!(resend_cooldown(now + SMS_CODE_LIFETIME, now + 30), 30);
        assert_eq!(resend_cooldown(now + SMS_CODE_LIFETIME, now - 5), 0);
    }

    #[test]
    fn dates_read_as_day_month_year() {
        assert_eq!(date(0), "1 Jan 1970");
        assert_eq!(date(1_798_761_600), "1 Jan 2027");
        assert_eq!(date(951_782_400), "29 Feb 2000");
    }

    #[test]
    fn host_errors_get_plain_words() {
        let e = ErrorBody::new(ErrorCode::InvalidCode, "That code is not right.");
        assert_eq!(error_text(&e), "That code is not right.");
        let e = ErrorBody::new(
            ErrorCode::InvalidCredentials,
            "the email or the password is wrong",
        );
        assert_eq!(error_text(&e), "The email or the password is wrong.");
        let e = ErrorBody::new(ErrorCode::ApiUnreachable, "timed out");
        assert!(error_text(&e).starts_with("The account server did not answer."));
    }

    #[test]
    fn sms_delivery_failure_gets_plain_words_without_the_provider_text() {
        let e = ErrorBody::new(
            ErrorCode::SmsDeliveryFailed,
            "the text message could not be sent: Twilio code 21211 for AC0123",
        );
        let text = error_text(&e);
        assert_eq!(
            text,
            "We could not send the text message. Try again in a minute."
        );
        assert!(!text.contains("Twilio"));
    }

    #[test]
    fn codes_file_lists_every_code() {
        let text = codes_file("a@example.com", &["aaaa".into(), "bbbb".into()]);
        assert!(text.contains("a@example.com"));
        assert!(text.ends_with("aaaa\nbbbb\n"));
    }
}
