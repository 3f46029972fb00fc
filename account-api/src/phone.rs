//! Phone numbers: E.164 validation, the mobile-only rule for SMS
//! destinations, and masking for display.
//!
//! Every text message costs money and can be aimed at a number the sender
//! profits from (SMS pumping: premium-rate and shared-cost ranges), so an SMS
//! destination must be a number that Google's libphonenumber metadata (the
//! `phonenumber` crate) calls valid *and* mobile for its country.

use phonenumber::{Mode, PhoneNumber, Type};

use crate::error::{ApiError, ApiResult};

/// A number that may receive SMS codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileNumber {
    /// Canonical E.164, `+` and digits: the form stored and compared.
    pub e164: String,
    /// The country calling code (1 for all of NANP, 44 for the UK), the unit
    /// of the per-country SMS cap.
    pub country_code: u16,
}

/// Accepts `+` then 8 to 15 digits, first digit not 0 (ITU-T E.164).
/// Spaces, dashes, dots and parentheses that people type are removed first;
/// anything else is refused with a message that says what is wrong.
///
/// This is only the shape; [`mobile`] decides whether a number may receive
/// codes. Platform lines are registered with this alone, as the platform's
/// own lines are often fixed or VoIP lines.
pub fn normalize_e164(input: &str) -> ApiResult<String> {
    let trimmed = input.trim();
    if !trimmed.starts_with('+') {
        return Err(ApiError::InvalidPhone(
            "enter the number in international format, starting with + and the country code (e.g. +14155550123)".into(),
        ));
    }
    let mut digits = String::with_capacity(16);
    for c in trimmed[1..].chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            other => {
                return Err(ApiError::InvalidPhone(format!(
                    "the number may contain only digits after the + (found {other:?})"
                )))
            }
        }
    }
    if digits.starts_with('0') {
        return Err(ApiError::InvalidPhone(
            "the country code cannot start with 0".into(),
        ));
    }
    if digits.len() < 8 || digits.len() > 15 {
        return Err(ApiError::InvalidPhone(format!(
            "an international number has 8 to 15 digits after the +; this one has {}",
            digits.len()
        )));
    }
    Ok(format!("+{digits}"))
}

fn parse(e164: &str) -> Option<PhoneNumber> {
    phonenumber::parse(None, e164).ok()
}

/// A number that may receive SMS codes, or a 400 that says why not.
///
/// Accepted: numbers the metadata types as mobile, and as "fixed line or
/// mobile" (NANP, i.e. the US and Canada, and a few other plans give both
/// the same ranges, so the metadata cannot tell them apart; refusing those
/// would refuse every North American number). Refused: invalid numbers for
/// the country, fixed lines, premium-rate, shared-cost, toll-free,
/// personal, VoIP, pager, UAN and voicemail ranges, and anything the
/// metadata cannot type.
pub fn mobile(input: &str) -> ApiResult<MobileNumber> {
    let shaped = normalize_e164(input)?;
    let number = parse(&shaped).ok_or_else(|| {
        ApiError::InvalidPhone(
            "this is not a phone number: the country code or its length is wrong".into(),
        )
    })?;
    if !phonenumber::is_valid(&number) {
        return Err(ApiError::InvalidPhone(
            "this is not a valid phone number for its country; check the digits".into(),
        ));
    }
    let what = match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile | Type::FixedLineOrMobile => None,
        Type::FixedLine => Some("a landline"),
        Type::PremiumRate => Some("a premium-rate number"),
        Type::SharedCost => Some("a shared-cost number"),
        Type::TollFree => Some("a toll-free number"),
        Type::Voip => Some("an internet (VoIP) number"),
        Type::PersonalNumber => Some("a personal (forwarding) number"),
        Type::Pager => Some("a pager number"),
        Type::Uan => Some("a company (UAN) number"),
        Type::Voicemail => Some("a voicemail number"),
        _ => Some("not a number we can recognise as a mobile"),
    };
    if let Some(what) = what {
        return Err(ApiError::InvalidPhone(format!(
            "this is {what}; codes are only sent to mobile numbers"
        )));
    }
    Ok(MobileNumber {
        e164: number.format().mode(Mode::E164).to_string(),
        country_code: number.code().value(),
    })
}

/// The country calling code of a stored number, for the per-country cap.
/// Numbers stored before the mobile rule may not parse; 0 keeps them
/// countable together instead of uncounted.
pub fn country_code(e164: &str) -> u16 {
    parse(e164).map(|n| n.code().value()).unwrap_or(0)
}

/// `+14155550123` -> `+1••••••0123`: enough to recognise one's own number.
pub fn mask(e164: &str) -> String {
    let chars: Vec<char> = e164.chars().collect();
    if chars.len() <= 6 {
        return "•".repeat(chars.len());
    }
    let keep_tail = 4;
    let keep_head = 2;
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i < keep_head || i >= chars.len() - keep_tail {
            out.push(*c);
        } else {
            out.push('•');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(normalize_e164("+1 (415) 555-0123").unwrap(), "+14155550123");
        assert_eq!(normalize_e164("+442071838750").unwrap(), "+442071838750");
    }

    #[test]
    fn refuses_bad_numbers() {
        for bad in [
            "4155550123",
            "+0123456789",
            "+123",
            "+1234567890123456",
            "+1415abc0123",
            "",
        ] {
            assert!(normalize_e164(bad).is_err(), "{bad}");
            assert!(mobile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mobiles_are_accepted_with_their_country_code() {
        let us = mobile("+1 (415) 555-0123").unwrap();
        assert_eq!(us.e164, "+14155550123");
        assert_eq!(us.country_code, 1);
        let uk = mobile("+44 7400 123456").unwrap();
        assert_eq!(uk.e164, "+447400123456");
        assert_eq!(uk.country_code, 44);
        assert_eq!(mobile("+33 6 12 34 56 78").unwrap().country_code, 33);
    }

    #[test]
    fn non_mobiles_are_refused_saying_what_they_are() {
        for (number, says) in [
            ("+442071838750", "landline"),
            ("+449098765432", "premium-rate"),
            ("+19005550123", "premium-rate"),
            ("+18005550123", "toll-free"),
            ("+15005550001", "personal"),
            ("+447012345678", "personal"),
            ("+33 1 23 45 67 89", "landline"),
        ] {
            let e = mobile(number).unwrap_err().to_string();
            assert!(e.contains(says), "{number}: {e}");
        }
        // Right shape, wrong length for the country.
        let e = mobile("+4474001234").unwrap_err().to_string();
        assert!(e.contains("not a valid phone number"), "{e}");
    }

    #[test]
    fn masks_all_but_edges() {
        assert_eq!(mask("+14155550123"), "+1••••••0123");
    }
}
