//! Words and small conversions the pages share: how a method, a date or an
//! error reads to a person, and how typed codes are cleaned up. Plain Rust so
//! the tests run on the build machine.
//!
//! The words both clients show live in one catalogue, `web-app/words.json`,
//! which the web app reads too (`logic.mjs`): `build.rs` compiles it in as
//! string constants, so the same thing reads the same in the popup, the settings page and the
//! web app, and a new copy of a phrase elsewhere fails
//! `tests/web-logic/words.test.mjs`.

use shared::api::TwoFactorMethod;
use shared::{ErrorBody, ErrorCode};

/// `word!` and `intl`, written by `build.rs` from `web-app/words.json`.
#[macro_use]
mod catalogue {
    include!(concat!(env!("OUT_DIR"), "/words.rs"));
}

/// `fill!("key", &[("name", value)])`: the catalogue's words for `key` with
/// each `{name}` placeholder replaced by its value.
macro_rules! fill {
    ($key:tt, $args:expr $(,)?) => {
        $crate::text::fill_in(word!($key), $args)
    };
}

/// `words` with each `{name}` placeholder replaced by its value; one left
/// unfilled stays visible, and the tests refuse it.
pub fn fill_in(words: &str, args: &[(&str, &str)]) -> String {
    let mut rest = words;
    let mut out = String::with_capacity(rest.len() + 16);
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `Intl.DateTimeFormat` options the catalogue names `name`, so both
/// clients write dates alike.
pub fn intl_options(name: &str) -> &'static [(&'static str, &'static str)] {
    catalogue::intl(name)
}

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
        TwoFactorMethod::Authenticator => word!("method.authenticator"),
        TwoFactorMethod::Sms => word!("method.sms"),
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
        return Err(word!("input.code_empty").into());
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(word!("input.code_format").into());
    }
    Ok(code)
}

/// A recovery code as typed: only surrounding space is dropped here; the API
/// ignores case, dashes and inner spaces itself.
pub fn clean_recovery_code(typed: &str) -> Result<String, String> {
    let code = typed.trim();
    if code.is_empty() {
        return Err(word!("input.recovery_empty").into());
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
        return Err(word!("input.phone_empty").into());
    }
    if !phone.starts_with('+')
        || digits.len() < 8
        || digits.len() > 15
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(word!("input.phone_format").into());
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
        ErrorCode::HostNotInstalled => word!("error.host_not_installed").into(),
        ErrorCode::ApiUnreachable => fill!("error.api_unreachable", &[("message", &error.message)]),
        // Our own words, not the message: an older API put the SMS
        // provider's refusal text there.
        ErrorCode::SmsDeliveryFailed => word!("error.sms_delivery_failed").into(),
        ErrorCode::ReminderTooSoon => fill!(
            "error.reminder_too_soon",
            &[("message", &sentence(&error.message))],
        ),
        ErrorCode::GraceExhausted => word!("error.grace_exhausted").into(),
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

/// From this many days before a 2FA deadline the toolbar badge counts
/// the days down (issue 14).
pub const DEADLINE_BADGE_DAYS: i64 = 7;

/// The name the API gives the platform's own schedule in `set_by` and
/// `required_by`.
pub const PLATFORM: &str = "server policy";

/// The banner over a scheduled 2FA deadline, with the date already written
/// in the person's locale (`dom::date`): "2FA will be required from
/// 3 Feb 2027 (12 days left)." Once the date has passed (`days_left` 0),
/// it says since when.
pub fn deadline_text(days_left: i64, date: &str) -> String {
    match days_left {
        d if d <= 0 => fill!("deadline.since", &[("date", date)]),
        1 => fill!("deadline.one_day", &[("date", date)]),
        d => fill!("deadline.days", &[("date", date), ("days", &d.to_string())]),
    }
}

/// Who set a deadline or a requirement, in words: account names, and
/// "the platform" for the server's own schedule.
pub fn set_by_text(set_by: &[String]) -> String {
    let names: Vec<&str> = set_by
        .iter()
        .map(|s| {
            if s == PLATFORM {
                word!("deadline.platform")
            } else {
                s.as_str()
            }
        })
        .collect();
    if names.is_empty() {
        word!("deadline.set_by_platform").into()
    } else {
        fill!("deadline.set_by", &[("names", &names.join(", "))])
    }
}

/// The grace period's skip button: "Skip for now (2 skips left)".
pub fn skip_label(skips_left: u32) -> String {
    if skips_left == 1 {
        word!("skip.one").into()
    } else {
        fill!("skip.many", &[("skips", &skips_left.to_string())])
    }
}

/// After a skip, on the banner: how many more sign-ins may skip setup.
pub fn skips_left_text(skips_left: u32) -> String {
    match skips_left {
        0 => word!("skip.left_none").into(),
        1 => word!("skip.left_one").into(),
        n => fill!("skip.left_many", &[("skips", &n.to_string())]),
    }
}

/// The toolbar badge while a deadline is near: "5d", "0d" once it passed.
pub fn deadline_badge(days_left: i64) -> String {
    format!("{}d", days_left.max(0))
}

/// "Send reminder" once a reminder went out: when the next may.
pub fn next_reminder_text(date_time: &str) -> String {
    fill!("reminder.next", &[("date", date_time)])
}

/// The owners' choices of when enforcement starts: now, or in this many
/// days (issue 14 offers 7, 14 and 30 on the settings page).
pub const ENFORCE_IN_DAYS: [u32; 3] = [7, 14, 30];

/// The longest grace period a schedule may have, in days.
pub const MAX_GRACE_DAYS: u32 = 7;

/// A choice of when enforcement starts, as the settings page lists it.
pub fn enforce_when_label(in_days: Option<u32>) -> String {
    match in_days {
        None => word!("enforce.now").into(),
        Some(d) => fill!("enforce.in_days", &[("days", &d.to_string())]),
    }
}

/// A grace period, as the settings page lists it.
pub fn grace_label(days: u32) -> String {
    match days {
        0 => word!("grace.none").into(),
        1 => word!("grace.one").into(),
        d => fill!("grace.many", &[("days", &d.to_string())]),
    }
}

/// An owner's scheduled enforcement: "2FA required from 3 Feb 2027
/// (grace period 2 days)."
pub fn scheduled_text(date: &str, grace_days: u32) -> String {
    match grace_days {
        0 => fill!("scheduled.no_grace", &[("date", date)]),
        1 => fill!("scheduled.grace_one", &[("date", date)]),
        g => fill!(
            "scheduled.grace_many",
            &[("date", date), ("days", &g.to_string())],
        ),
    }
}

/// The owner's own entry among those who have not set up 2FA.
pub fn you(email: &str) -> String {
    fill!("members.you", &[("email", email)])
}

/// Under "Send reminder" while the owner has not set up 2FA either: a
/// reminder never goes to the person who sends it.
pub fn reminder_not_to_you() -> &'static str {
    word!("reminder.not_to_you")
}

/// The members an owner still waits for, in words.
pub fn not_set_up_text(emails: &[String]) -> String {
    if emails.is_empty() {
        word!("members.all_set_up").into()
    } else {
        fill!("members.not_set_up", &[("emails", &emails.join(", "))])
    }
}

/// The text of the downloadable recovery-code file.
pub fn codes_file(email: &str, codes: &[String]) -> String {
    let mut out = fill!("codes.file", &[("email", email)]);
    for code in codes {
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// What a page says after "Skip for now", from the skips the API says are
/// left (`None` when it did not say).
pub fn skipped_notice(skips_left: Option<u32>) -> String {
    match skips_left {
        Some(0) => word!("skip.done_last").into(),
        Some(1) => word!("skip.done_one").into(),
        Some(n) => fill!("skip.done_many", &[("skips", &n.to_string())]),
        None => word!("skip.done").into(),
    }
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
        ToolbarState::DeadlineSoon(0) => format!("{}: 2FA is required now: set it up", product),
        ToolbarState::DeadlineSoon(1) => format!("{}: 2FA required in 1 day", product),
        ToolbarState::DeadlineSoon(days) => {
            format!("{}: 2FA required in {} days", product, days)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// The catalogue as the web app reads it.
    const CATALOGUE: &str = include_str!("../../web-app/words.json");

    #[derive(Deserialize)]
    struct Catalogue {
        words: BTreeMap<String, String>,
    }

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
    fn deadlines_read_with_the_days_left_and_who_set_them() {
        assert_eq!(
            deadline_text(12, "3 Feb 2027"),
            "2FA will be required from 3 Feb 2027 (12 days left)."
        );
        assert_eq!(
            deadline_text(1, "3 Feb 2027"),
            "2FA will be required from 3 Feb 2027 (1 day left)."
        );
        assert_eq!(
            deadline_text(0, "3 Feb 2027"),
            "2FA is required since 3 Feb 2027."
        );
        assert_eq!(
            set_by_text(&["Acme".into(), PLATFORM.into()]),
            "Set by Acme, the platform."
        );
        assert_eq!(set_by_text(&[]), "Set by the platform.");
        assert_eq!(skip_label(1), "Skip for now (1 skip left)");
        assert_eq!(skip_label(3), "Skip for now (3 skips left)");
        assert_eq!(deadline_badge(5), "5d");
        assert_eq!(deadline_badge(-1), "0d");
    }

    #[test]
    fn a_reminder_too_soon_and_no_skips_left_get_plain_words() {
        let e = ErrorBody::new(ErrorCode::ReminderTooSoon, "try again after 10:00");
        assert!(error_text(&e).starts_with("A reminder already went out for this account today"));
        assert!(error_text(&e).ends_with("Try again after 10:00."));
        let e = ErrorBody::new(ErrorCode::GraceExhausted, "grace over");
        assert_eq!(
            error_text(&e),
            "No more skips: set up two-factor authentication now to continue."
        );
    }

    fn placeholders(words: &str) -> Vec<String> {
        // What follows each `{`, the text before the first one aside.
        let mut names: Vec<String> = words
            .split_once('{')
            .map_or("", |(_, rest)| rest)
            .split('{')
            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
            .collect();
        names.sort();
        names
    }

    /// Every `word!("key")` and `fill!("key", &[("name", ..)])` in the
    /// extension's code (its tests aside): (file, key, names filled, or
    /// `None` for `word`).
    fn calls() -> Vec<(String, String, Option<Vec<String>>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Code only: comments quote calls to say what they do.
            let code: String = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let code = code.as_str();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            for (fun, is_fill) in [("word!(", false), ("fill!(", true)] {
                for (at, _) in code.match_indices(fun) {
                    if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = code[at + fun.len()..].trim_start();
                    let key = match rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                        Some((key, _)) => key.to_string(),
                        None => continue, // the definition, `key: &'static str`
                    };
                    let names = if is_fill {
                        // The names are read from the call itself: `&[("name", ..)]`.
                        let after = rest[key.len() + 2..].trim_start();
                        let inline = after
                            .strip_prefix(',')
                            .map(|a| a.trim_start().starts_with("&["))
                            .unwrap_or(false);
                        assert!(
                            inline,
                            "{}: fill!(\"{}\", ..) writes its arguments inline",
                            file, key
                        );
                        let args = &rest[rest.find('[').unwrap()..];
                        let mut depth = 0;
                        let end = args
                            .char_indices()
                            .find(|&(_, c)| {
                                match c {
                                    '[' => depth += 1,
                                    ']' => depth -= 1,
                                    _ => {}
                                }
                                depth == 0
                            })
                            .unwrap()
                            .0;
                        let args = &args[..end];
                        let mut names: Vec<String> = args
                            .split_once('(')
                            .map_or("", |(_, rest)| rest)
                            .split('(')
                            .filter_map(|p| p.trim_start().strip_prefix('"'))
                            .filter_map(|p| {
                                let (name, after) = p.split_once('"')?;
                                let named = !name.is_empty()
                                    && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                                (named && after.trim_start().starts_with(','))
                                    .then(|| name.to_string())
                            })
                            .collect();
                        names.sort();
                        Some(names)
                    } else {
                        None
                    };
                    out.push((file.clone(), key, names));
                }
            }
        }
        out
    }

    #[test]
    fn every_word_the_extension_asks_for_is_in_the_catalogue() {
        let catalogue: Catalogue = serde_json::from_str(CATALOGUE).expect("words.json parses");
        let calls = calls();
        assert!(calls.len() > 50, "only {} calls found", calls.len());
        for (file, key, names) in calls {
            let words = catalogue
                .words
                .get(&key)
                .unwrap_or_else(|| panic!("{}: \"{}\" is not in web-app/words.json", file, key));
            assert_eq!(
                names.unwrap_or_default(),
                placeholders(words),
                "{}: \"{}\" fills exactly its placeholders",
                file,
                key
            );
        }
    }

    #[test]
    fn fill_replaces_each_placeholder_and_leaves_an_unknown_one_visible() {
        assert_eq!(
            fill!("deadline.days", &[("date", "3 Feb 2027"), ("days", "12")]),
            "2FA will be required from 3 Feb 2027 (12 days left)."
        );
        assert_eq!(
            fill!("deadline.days", &[("date", "x")]),
            "2FA will be required from x ({days} days left)."
        );
        assert_eq!(intl_options("date"), &[("dateStyle", "medium")]);
        assert_eq!(
            intl_options("date_time"),
            &[("dateStyle", "medium"), ("timeStyle", "short")]
        );
    }

    #[test]
    fn skipped_notices_count_the_skips_left() {
        assert_eq!(skipped_notice(None), "Skipped for now.");
        assert_eq!(
            skipped_notice(Some(0)),
            "Skipped for now. That was the last skip."
        );
        assert_eq!(skipped_notice(Some(1)), "Skipped for now. 1 skip left.");
        assert_eq!(skipped_notice(Some(4)), "Skipped for now. 4 skips left.");
    }

    #[test]
    fn codes_file_lists_every_code() {
        let text = codes_file("a@example.com", &["aaaa".into(), "bbbb".into()]);
        assert!(text.contains("a@example.com"));
        assert!(text.ends_with("aaaa\nbbbb\n"));
    }
}
