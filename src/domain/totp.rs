//! TOTP as SPEC §5.4 fixes it: 160-bit secret, HMAC-SHA-1, 6 digits, 30-second steps, one step
//! of clock drift either way, and a replay guard: a step at or below the last accepted one is
//! never accepted again. The HMAC itself is `totp-lite`'s.

use totp_lite::{totp_custom, Sha1};

pub const SECRET_BYTES: usize = 20;
pub const DIGITS: u32 = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps of clock drift accepted on either side of the current one.
pub const DRIFT_STEPS: u64 = 1;

/// RFC 4226 HOTP: the code for `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    // TOTP with a one-second step at time T is HOTP with counter T.
    totp_custom::<Sha1>(1, digits, secret, counter)
}

/// The time step that `unix_seconds` falls in.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The 6-digit code of a step.
pub fn code_for_step(secret: &[u8], step: u64) -> String {
    hotp(secret, step, DIGITS)
}

/// The 6-digit code at a time.
pub fn code_at(secret: &[u8], unix_seconds: u64) -> String {
    code_for_step(secret, step_at(unix_seconds))
}

/// A code as people type it: six digits, spaces allowed. Anything else is `None`.
pub fn normalize_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The step whose code `input` is, within the drift window around `now`, if that step is later
/// than `last_step` (the replay guard). The caller stores the answer as the new `last_step`.
pub fn verify(secret: &[u8], input: &str, now: u64, last_step: u64) -> Option<u64> {
    let code = normalize_code(input)?;
    let current = step_at(now);
    let mut accepted = None;
    for step in current.saturating_sub(DRIFT_STEPS)..=current + DRIFT_STEPS {
        // Every candidate is computed and compared in full, so timing says nothing.
        if constant_time_eq(code_for_step(secret, step).as_bytes(), code.as_bytes()) && step > last_step {
            accepted = accepted.or(Some(step));
        }
    }
    accepted
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The URI authenticator apps read from the QR code (Key Uri Format):
/// `otpauth://totp/{issuer}:{account}?secret={base32}&issuer={issuer}`, label and issuer
/// percent-encoded (RFC 3986 unreserved characters only are kept).
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let issuer = percent_encode(issuer);
    format!("otpauth://totp/{issuer}:{}?secret={secret_base32}&issuer={issuer}", percent_encode(account))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_every_rfc_6238_appendix_b_sha1_vector() {
        let vectors = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (time, code) in vectors {
            assert_eq!(hotp(RFC_SECRET, step_at(time), 8), code, "T = {time}");
        }
    }

    #[test]
    fn matches_every_rfc_4226_appendix_d_hotp_vector() {
        let codes =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in codes.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_of_the_eight() {
        assert_eq!(code_at(RFC_SECRET, 59), "287082");
        assert_eq!(code_at(RFC_SECRET, 1111111109), "081804");
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted() {
        let now = 1_700_000_015;
        let step = step_at(now);
        for accepted in [step - 1, step, step + 1] {
            assert_eq!(verify(RFC_SECRET, &code_for_step(RFC_SECRET, accepted), now, 0), Some(accepted));
        }
    }

    #[test]
    fn two_steps_of_drift_are_refused() {
        let now = 1_700_000_015;
        let step = step_at(now);
        for refused in [step - 2, step + 2, step - 3, step + 3] {
            let code = code_for_step(RFC_SECRET, refused);
            // A code can collide with a neighbour's by chance; only a distinct one proves the point.
            if (step - 1..=step + 1).all(|s| code_for_step(RFC_SECRET, s) != code) {
                assert_eq!(verify(RFC_SECRET, &code, now, 0), None, "step {refused}");
            }
        }
    }

    #[test]
    fn a_step_at_or_below_the_last_accepted_one_is_refused() {
        let now = 1_700_000_015;
        let step = step_at(now);
        let code = code_for_step(RFC_SECRET, step);
        assert_eq!(verify(RFC_SECRET, &code, now, step), None);
        assert_eq!(verify(RFC_SECRET, &code, now, step + 1), None);
        assert_eq!(verify(RFC_SECRET, &code, now, step - 1), Some(step));
        let next = code_for_step(RFC_SECRET, step + 1);
        assert_eq!(verify(RFC_SECRET, &next, now, step), Some(step + 1));
    }

    #[test]
    fn codes_may_have_spaces_but_nothing_else() {
        let now = 1_700_000_015;
        let code = code_at(RFC_SECRET, now);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(verify(RFC_SECRET, &spaced, now, 0).is_some());
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "-12345"] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_uri_is_the_key_uri_format_with_an_encoded_label() {
        assert_eq!(
            otpauth_uri("WEMASY", "ada+work@example.com", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "otpauth://totp/WEMASY:ada%2Bwork%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=WEMASY"
        );
        assert_eq!(
            otpauth_uri("We Masy", "a@b.c", "AA"),
            "otpauth://totp/We%20Masy:a%40b.c?secret=AA&issuer=We%20Masy"
        );
    }
}
