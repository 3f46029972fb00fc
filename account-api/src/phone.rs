//! Phone numbers: E.164 validation and masking for display.

use crate::error::{ApiError, ApiResult};

/// Accepts `+` then 8 to 15 digits, first digit not 0 (ITU-T E.164).
/// Spaces, dashes, dots and parentheses that people type are removed first;
/// anything else is refused with a message that says what is wrong.
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
        }
    }

    #[test]
    fn masks_all_but_edges() {
        assert_eq!(mask("+14155550123"), "+1••••••0123");
    }
}
